// A slot PostgreSQL really invalidates (wal_status = lost, research/reliability.md C6): the
// capture stops in "gap detected" with the lost LSN range, never re-creates the slot by itself,
// and recovers only on the explicit reset with a fresh snapshot.
//
// Invalidating a slot needs max_slot_wal_keep_size, a server-wide setting that would endanger
// every other suite's slots on the shared server, so this test runs its own small private
// cluster (initdb with 1 MB WAL segments) and removes it afterwards.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { NewEvent } from '../../shared/events';
import { requireService } from '../support/services';
import { GapDetectedError, runPostgresCapture, type CaptureUpdate, type PostgresCaptureSpec } from '../../main/engine/cdc/postgres/capture';
import { pgEndpointFromUrl } from '../../main/engine/cdc/postgres/client';

function serverBinaries(): string | undefined {
  if (process.env.PG_BIN && existsSync(path.join(process.env.PG_BIN, 'initdb'))) return process.env.PG_BIN;
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const newest = readdirSync(base)
    .filter((version) => existsSync(path.join(base, version, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a))[0];
  return newest ? path.join(base, newest, 'bin') : undefined;
}

/** PostgreSQL refuses to run as root: run its binaries as the postgres user then. */
function asOwner(command: string, args: string[]): { status: number | null; output: string } {
  const result =
    process.getuid?.() === 0 ? spawnSync('runuser', ['-u', 'postgres', '--', command, ...args], { encoding: 'utf8' }) : spawnSync(command, args, { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

const bin = serverBinaries();
const canRunAsOwner = process.getuid?.() !== 0 || spawnSync('id', ['postgres']).status === 0;
const available = requireService('postgres', bin !== undefined && canRunAsOwner, bin ? 'no "postgres" user to run a private cluster as' : 'no initdb found for a private test cluster (set PG_BIN)');

describe.runIf(available)('postgres cdc: an invalidated slot', () => {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let dataDir = '';
  let work = '';
  let admin: pg.Client;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'eddy-pg-gap-'));
    dataDir = path.join(work, 'data');
    if (process.getuid?.() === 0) {
      const owner = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
      const group = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
      await chown(work, Number(owner.stdout), Number(group.stdout));
    }
    await chmod(work, 0o700);
    const init = asOwner(path.join(bin!, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--wal-segsize=1', '--no-instructions', '--no-sync']);
    expect(init.status, init.output).toBe(0);
    await appendFile(
      path.join(dataDir, 'postgresql.conf'),
      [
        '',
        `port = ${port}`,
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${work}'`,
        'wal_level = logical',
        'max_replication_slots = 4',
        'max_wal_senders = 4',
        'max_slot_wal_keep_size = 2MB',
        'min_wal_size = 2MB',
        'max_wal_size = 8MB',
        'fsync = off',
        'synchronous_commit = off',
        '',
      ].join('\n'),
    );
    const start = asOwner(path.join(bin!, 'pg_ctl'), ['-D', dataDir, '-l', path.join(work, 'server.log'), '-w', '-t', '60', 'start']);
    expect(start.status, start.output).toBe(0);
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
  }, 120_000);

  afterAll(async () => {
    await admin?.end().catch(() => undefined);
    if (dataDir) asOwner(path.join(bin!, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('stops in "gap detected" naming the lost range, keeps the slot, and recovers only on an explicit reset', async () => {
    await admin.query('CREATE TABLE items (id int PRIMARY KEY, filler text)');
    const events: NewEvent[] = [];
    const sink = { append: async (batch: NewEvent[]) => void events.push(...batch) };
    const spec = (overrides: Partial<PostgresCaptureSpec> = {}): PostgresCaptureSpec => ({
      endpoint: pgEndpointFromUrl(url),
      tables: ['public.items'],
      slotName: 'eddy_gap',
      publicationName: 'eddy_gap',
      createSlot: true,
      createPublication: true,
      snapshot: false,
      resetSlot: false,
      untilCaughtUp: true,
      batchSize: 1000,
      stateFile: path.join(work, 'state.json'),
      source: { name: 'gap', version: 'test' },
      pollIntervalMs: 200,
      ...overrides,
    });
    const run = (overrides: Partial<PostgresCaptureSpec> = {}, updates: CaptureUpdate[] = []) => runPostgresCapture(spec(overrides), sink, (update) => updates.push(update), new AbortController().signal);

    await run();
    await admin.query('INSERT INTO items VALUES (1, NULL)');
    const first = await run();
    expect(events.map((event) => event.key)).toEqual([{ id: 1 }]);

    // The capture is away while the server writes more WAL than the slot may keep.
    for (let round = 0; round < 8; round++) {
      await admin.query(`INSERT INTO items SELECT g, repeat('x', 500) FROM generate_series(${round * 1000 + 2}, ${round * 1000 + 1001}) g`);
      await admin.query('SELECT pg_switch_wal()');
    }
    await admin.query('CHECKPOINT');
    const slot = await admin.query<{ wal_status: string }>("SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'eddy_gap'");
    expect(slot.rows[0]?.wal_status).toBe('lost');

    const updates: CaptureUpdate[] = [];
    const failure = await run({}, updates).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(GapDetectedError);
    const gap = updates.find((update) => update.state === 'gap-detected');
    expect(gap?.gap?.from).toBe(first.ackedLsn);
    expect(gap?.gap?.to).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(gap?.message).toMatch(/wal_status = lost/);
    // Nothing was re-created behind the user's back, and nothing more was captured.
    expect((await admin.query("SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'eddy_gap'")).rows).toEqual([{ wal_status: 'lost' }]);
    expect(events.length).toBe(1);

    // Asking again changes nothing: the gap is still reported.
    await expect(run()).rejects.toBeInstanceOf(GapDetectedError);

    // The explicit recovery: a new slot and a snapshot of what the table holds now.
    const recovered = await run({ resetSlot: true, snapshot: true });
    expect(recovered.snapshotRows).toBe(8001);
    expect((await admin.query("SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'eddy_gap'")).rows[0]?.wal_status).not.toBe('lost');
    await admin.query('INSERT INTO items VALUES (100000, NULL)');
    await run();
    expect(events.at(-1)).toMatchObject({ key: { id: 100000 }, op: 'c' });
  }, 120_000);
});
