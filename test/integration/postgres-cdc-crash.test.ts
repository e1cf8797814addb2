// Crash safety of the PostgreSQL capture (issue 5, PostgreSQL 6; research/reliability.md C5):
// `eddy capture postgres` runs as a child process and is killed with SIGKILL at random points
// while 100k changes stream (inserts and updates over two tables, in transactions of random size),
// and PostgreSQL itself is restarted once. Afterwards every committed change is in the event log
// exactly once, and in commit order per table.
//
// The check needs no history of what was sent: every row carries a version that each update
// bumps, so the final table says exactly which events must exist (version 1 as `c`, then every
// later version as `u`, in order).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { build } from 'esbuild';
import { findPostgres } from '../support/services';
import { openEventLog } from '../../main/engine/log/index';

const url = await findPostgres();
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const TARGET_CHANGES = Number(process.env.EDDY_PG_CRASH_CHANGES ?? 100_000);
const SEED = Number(process.env.EDDY_PG_CRASH_SEED ?? Date.now() % 1_000_000);

/** mulberry32: a small seeded PRNG, so a failing run can be replayed with EDDY_PG_CRASH_SEED. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The local pg_ctlcluster cluster serving this port, if the server is one (Debian/Ubuntu). */
function localCluster(port: string): string | undefined {
  const listed = spawnSync('pg_lsclusters', ['--no-header'], { encoding: 'utf8' });
  if (listed.status !== 0) return undefined;
  for (const line of listed.stdout.split('\n')) {
    const [version, name, clusterPort, status] = line.trim().split(/\s+/);
    if (clusterPort === port && status?.startsWith('online')) return `${version} ${name}`;
  }
  return undefined;
}

describe.runIf(url)('postgres cdc under SIGKILL and a server restart', () => {
  const suffix = randomUUID().replaceAll('-', '').slice(0, 10);
  const slot = `eddy_crash_${suffix}`;
  const tableA = `eddy_crash_a_${suffix}`;
  const tableB = `eddy_crash_b_${suffix}`;
  const admin = new pg.Client({ connectionString: url });
  admin.on('error', () => undefined);
  let workspace = '';
  let cli = '';
  let database = '';

  beforeAll(async () => {
    // Our own build of the CLI, so a parallel `npm run build` never swaps it mid-test.
    cli = path.join(repoRoot, 'node_modules', '.cache', 'eddy-test', `cli-${suffix}.mjs`);
    await build({
      entryPoints: [path.join(repoRoot, 'main', 'cli', 'eddy.ts')],
      outfile: cli,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      packages: 'external',
      define: { __EDDY_VERSION__: '"0.0.0-test"' },
      logLevel: 'warning',
      absWorkingDir: repoRoot,
    });
    workspace = await mkdtemp(path.join(os.tmpdir(), 'eddy-pg-crash-'));
    await admin.connect();
    database = (await admin.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
    for (const table of [tableA, tableB]) await admin.query(`CREATE TABLE ${table} (id int PRIMARY KEY, version int NOT NULL, payload text)`);
  });

  afterAll(async () => {
    const cleanup = new pg.Client({ connectionString: url });
    cleanup.on('error', () => undefined);
    await cleanup.connect();
    for (let attempt = 0; attempt < 20; attempt++) {
      const result = await cleanup.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active', [slot]).catch(() => undefined);
      const left = await cleanup.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot]);
      if (result && left.rowCount === 0) break;
      await sleep(250);
    }
    await cleanup.query(`DROP PUBLICATION IF EXISTS ${slot}`).catch(() => undefined);
    for (const table of [tableA, tableB]) await cleanup.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await cleanup.end();
    await admin.end().catch(() => undefined);
    await rm(workspace, { recursive: true, force: true });
    await rm(cli, { force: true });
    await rm(`${cli}.map`, { force: true });
  });

  it(
    `keeps every change exactly once and in commit order (${TARGET_CHANGES} changes, seed ${SEED})`,
    async () => {
      const rand = random(SEED);
      const startedAt = Date.now();
      const captureArgs = [cli, 'capture', 'postgres', '--url', url!, '--tables', `public.${tableA},public.${tableB}`, '--slot', slot, '--workspace', workspace, '--batch', '2000'];
      const output: string[] = [];
      const startChild = (extra: string[] = []): ChildProcess & { capturing: Promise<void> } => {
        const child = spawn(process.execPath, [...captureArgs, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
        let started: () => void = () => undefined;
        const capturing = new Promise<void>((resolve) => (started = resolve));
        child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
        child.stderr!.on('data', (chunk: Buffer) => {
          output.push(chunk.toString());
          if (chunk.toString().includes('Capturing ')) started();
        });
        return Object.assign(child, { capturing });
      };
      const exited = (child: ChildProcess): Promise<number | null> =>
        new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));

      // The first run creates the publication and the slot, then stops: nothing is lost before it.
      const setup = startChild(['--until-caught-up']);
      expect(await exited(setup), output.join('')).toBe(0);

      // The writer: transactions of 1-80 changes, inserts and updates over both tables.
      let changes = 0;
      let writing = true;
      let nextId = 1;
      const known: Record<string, number[]> = { [tableA]: [], [tableB]: [] };
      let writerErrors = 0;
      const writer = (async () => {
        let client: pg.Client | undefined;
        while (changes < TARGET_CHANGES) {
          try {
            if (!client) {
              client = new pg.Client({ connectionString: url });
              client.on('error', () => undefined);
              await client.connect();
            }
            const size = 1 + Math.floor(rand() * 80);
            const inserted: Record<string, number[]> = { [tableA]: [], [tableB]: [] };
            const updated: Record<string, Set<number>> = { [tableA]: new Set(), [tableB]: new Set() };
            for (let index = 0; index < size; index++) {
              const table = rand() < 0.5 ? tableA : tableB;
              const pool = known[table]!;
              if (pool.length < 50 || rand() < 0.25) inserted[table]!.push(nextId++);
              else updated[table]!.add(pool[Math.floor(rand() * pool.length)]!);
            }
            await client.query('BEGIN');
            for (const table of [tableA, tableB]) {
              if (inserted[table]!.length) await client.query(`INSERT INTO ${table} SELECT unnest($1::int[]), 1, md5(random()::text)`, [inserted[table]]);
              if (updated[table]!.size) await client.query(`UPDATE ${table} SET version = version + 1, payload = md5(random()::text) WHERE id = ANY($1::int[])`, [[...updated[table]!]]);
            }
            await client.query('COMMIT');
            for (const table of [tableA, tableB]) {
              known[table]!.push(...inserted[table]!);
              changes += inserted[table]!.length + updated[table]!.size;
            }
          } catch {
            // The server restarting: reconnect and go on (an unclear commit is fine, the check reads the tables).
            writerErrors++;
            await client?.end().catch(() => undefined);
            client = undefined;
            await sleep(200);
          }
        }
        await client?.end().catch(() => undefined);
        writing = false;
      })();

      // The capture, killed with SIGKILL at random points; PostgreSQL restarted once half-way.
      const cluster = localCluster(new URL(url!).port || '5432');
      let kills = 0;
      let killsAfterProgress = 0;
      let restarted = false;
      const statePath = path.join(workspace, '.eddy', 'cdc', 'postgres', `${slot}.json`);
      const ackedLsn = async (): Promise<string | undefined> => (await readFile(statePath, 'utf8').then((text) => JSON.parse(text) as { ackedLsn?: string }, () => undefined))?.ackedLsn;
      // On a quiet machine the writer can finish before three kills have landed; the capture is
      // then still catching up (it only stops when killed), so the kills go on until there are three.
      while (writing || kills < 3) {
        const before = await ackedLsn();
        const child = startChild();
        // Killed at a random point after it started capturing (opening the workspace's log takes a while).
        const lifetime = 500 + Math.floor(rand() * 5500);
        const stopped = await Promise.race([exited(child).then(() => true), child.capturing.then(() => sleep(lifetime)).then(() => false)]);
        if (!restarted && cluster && changes >= TARGET_CHANGES * 0.4) {
          restarted = true;
          const result = spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', ...cluster.split(' '), 'restart'], { encoding: 'utf8' });
          expect(result.status, result.stderr).toBe(0);
          await sleep(500 + Math.floor(rand() * 1500));
        }
        if (!stopped) {
          child.kill('SIGKILL');
          kills++;
          if ((await ackedLsn()) !== before) killsAfterProgress++;
        }
        const code = await exited(child);
        if (stopped) throw new Error(`the capture exited by itself (code ${code}):\n${output.join('').slice(-3000)}`);
      }
      await writer;
      process.stderr.write(`[postgres crash] writer done in ${((Date.now() - startedAt) / 1000).toFixed(1)} s\n`);
      const writtenAt = Date.now();

      // Let it finish: everything committed is stored, then it exits 0.
      const final = startChild(['--until-caught-up']);
      const finalOutput = output.length;
      const code = await Promise.race([exited(final), sleep(180_000).then(() => 'timeout')]);
      expect(code, output.join('').slice(-3000)).toBe(0);
      const leftForLastRun = /Caught up: (\d+) events/.exec(output.slice(finalOutput).join(''))?.[1] ?? '?';
      const catchUpSeconds = ((Date.now() - writtenAt) / 1000).toFixed(1);

      // What the tables say must exist...
      const expected = new Map<string, Map<number, number>>();
      let expectedTotal = 0;
      // A fresh connection: the restart ended the first one.
      const reader = new pg.Client({ connectionString: url });
      await reader.connect();
      for (const table of [tableA, tableB]) {
        const rows = await reader.query<{ id: number; version: number }>(`SELECT id, version FROM ${table}`);
        expected.set(`pg:${database}.public.${table}`, new Map(rows.rows.map((row) => [row.id, row.version])));
        for (const row of rows.rows) expectedTotal += row.version;
      }
      await reader.end();
      expect(expectedTotal).toBeGreaterThanOrEqual(TARGET_CHANGES);

      // ...against what the log holds.
      const log = await openEventLog({ dir: path.join(workspace, '.eddy', 'log'), backgroundVerifyDelayMs: null });
      const seen = new Map<string, Map<number, number>>();
      const lastPosition = new Map<string, string>();
      const problems: string[] = [];
      let total = 0;
      try {
        for await (const batch of log.replay()) {
          for (const event of batch) {
            const versions = seen.get(event.stream) ?? new Map<number, number>();
            seen.set(event.stream, versions);
            total++;
            const previous = lastPosition.get(event.stream);
            if (previous !== undefined && event.position <= previous) problems.push(`${event.stream}: position ${event.position} after ${previous} (out of commit order)`);
            lastPosition.set(event.stream, event.position);
            const id = (event.key as { id: number }).id;
            const after = (event.value as { after: { version: number } }).after;
            const last = versions.get(id) ?? 0;
            if (after.version !== last + 1) problems.push(`${event.stream} id ${id}: version ${after.version} after ${last} (${after.version <= last ? 'duplicate' : 'lost change'})`);
            if ((after.version === 1) !== (event.op === 'c')) problems.push(`${event.stream} id ${id}: op ${event.op} for version ${after.version}`);
            versions.set(id, after.version);
          }
        }
      } finally {
        await log.close();
      }
      for (const [stream, rows] of expected) {
        const got = seen.get(stream) ?? new Map<number, number>();
        for (const [id, version] of rows) if (got.get(id) !== version) problems.push(`${stream} id ${id}: log ends at version ${got.get(id) ?? 'none'}, table has ${version}`);
        if (got.size !== rows.size) problems.push(`${stream}: ${got.size} keys in the log, ${rows.size} rows in the table`);
      }
      process.stderr.write(
        `[postgres crash] seed ${SEED}: ${total} events for ${expectedTotal} committed changes; ${kills} SIGKILLs (${killsAfterProgress} after the run had stored something); PostgreSQL restarted: ${restarted ? 'yes' : 'no (not a local pg_ctlcluster cluster)'}; ` +
          `writer retries ${writerErrors}; the last run captured ${leftForLastRun} in ${catchUpSeconds} s\n`,
      );
      expect(problems.slice(0, 20)).toEqual([]);
      expect(total).toBe(expectedTotal);
      expect(kills).toBeGreaterThanOrEqual(3);
      if (cluster) expect(restarted).toBe(true);
    },
    600_000,
  );
});
