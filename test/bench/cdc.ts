// CDC benchmarks: `npm run bench -- cdc [--changes N] [--rounds N] [--sqlserver-changes N]` (rounds: 3 by default; each side's best counts).
//
// Sections (each adds rows to the table and metrics to the last-line JSON, DESIGN.md 7):
//   1. PostgreSQL: capture rate into the event log vs pg_recvlogical on the same kind of slot
//      (pgoutput, proto_version 1, same publication) over the same changes, in the same run.
//   2. SQL Server: mapping rate over recorded pages vs a bare loop that only turns the same rows
//      into plain objects (test/fixtures/sqlserver/bench.ts; `--sqlserver-changes N`).
// A section whose service or peer is missing prints why and reports what it can.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { runPostgresCapture, type CaptureSink } from '../../main/engine/cdc/postgres/capture';
import { pgEndpointFromUrl } from '../../main/engine/cdc/postgres/client';
import { openEventLog } from '../../main/engine/log/index';
import { runSqlServerBench } from '../fixtures/sqlserver/bench';

/** PG_URL, else what `npm run services:up` wrote to test/services/.env, else the default. */
function pgUrl(): string {
  if (process.env.PG_URL) return process.env.PG_URL;
  try {
    const env = readFileSync(path.join(process.cwd(), 'test', 'services', '.env'), 'utf8');
    const match = /^PG_URL=(.+)$/m.exec(env);
    if (match?.[1]) return match[1].trim();
  } catch {
    // No services file: fall through to the default.
  }
  return 'postgres://postgres@127.0.0.1:5432/eddy_test';
}

// ---------------------------------------------------------------------------------------------
// Shared plumbing: arguments, the result table, the JSON line.

interface Metric {
  name: string;
  value: number;
  unit: string;
  peer?: string;
  peer_value?: number;
  ratio?: number;
  goal?: string;
}

interface Row {
  section: string;
  measure: string;
  value: string;
  peer: string;
  ratio: string;
}

const metrics: Metric[] = [];
const rows: Row[] = [];

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : NaN;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

const rate = (count: number, ms: number): number => Math.round((count * 1000) / Math.max(ms, 1));
const format = (value: number, unit: string): string => `${value.toLocaleString('en-US')} ${unit}`;

function printTable(): void {
  const headers: Row = { section: 'section', measure: 'measure', value: 'value', peer: 'peer', ratio: 'ratio' };
  const all = [headers, ...rows];
  const widths = (Object.keys(headers) as (keyof Row)[]).map((key) => Math.max(...all.map((row) => row[key].length)));
  const line = (row: Row): string => (Object.keys(headers) as (keyof Row)[]).map((key, index) => row[key].padEnd(widths[index]!)).join(' | ');
  console.log(line(headers));
  console.log(widths.map((width) => '-'.repeat(width)).join('-|-'));
  for (const row of rows) console.log(line(row));
}

// ---------------------------------------------------------------------------------------------
// 1. PostgreSQL capture vs pg_recvlogical

function findPgRecvlogical(): string | undefined {
  if (spawnSync('pg_recvlogical', ['--version']).status === 0) return 'pg_recvlogical';
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base).sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const candidate = path.join(base, version, 'bin', 'pg_recvlogical');
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Discards events: the capture's own cost (decode, map, envelope) without the log. */
class NullSink implements CaptureSink {
  count = 0;
  // No size limit: nothing to check or fit, so nothing is serialized (the log's own work).
  readonly maxEventBytes = Infinity;
  async append(events: unknown[]): Promise<void> {
    this.count += events.length;
  }
}

async function runPgRecvlogical(binary: string, url: string, slot: string, publication: string, endpos: string, outfile: string): Promise<number> {
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    // Same plugin options as Eddy's START_REPLICATION; output to a file, fsynced at the end.
    const child = spawn(binary, ['-d', url, '--slot', slot, '--start', '--no-loop', '-o', 'proto_version=1', '-o', `publication_names=${publication}`, '--endpos', endpos, '-f', outfile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`pg_recvlogical exited with ${code}: ${errors}`))));
  });
  return performance.now() - started;
}

async function postgresSection(): Promise<void> {
  const url = pgUrl();
  const changes = argument('changes', 100_000);
  const rounds = argument('rounds', 3);
  const admin = new pg.Client({ connectionString: url });
  try {
    await admin.connect();
    const level = (await admin.query<{ wal_level: string }>('SHOW wal_level')).rows[0]?.wal_level;
    if (level !== 'logical') throw new Error(`wal_level is ${level}`);
  } catch (error) {
    console.log(`[postgres] skipped: no usable PostgreSQL at ${url} (${error instanceof Error ? error.message : String(error)}); run npm run services:up`);
    await admin.end().catch(() => undefined);
    return;
  }
  const recvlogical = findPgRecvlogical();
  if (!recvlogical) console.log('[postgres] pg_recvlogical not found: reporting Eddy alone');

  const suffix = randomUUID().replaceAll('-', '').slice(0, 10);
  const table = `eddy_bench_${suffix}`;
  const publication = `eddy_bench_${suffix}`;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'eddy-bench-cdc-'));
  let best = { eddy: 0, peer: 0, bare: 0 };
  try {
    await admin.query(`CREATE TABLE ${table} (id int PRIMARY KEY, version int NOT NULL, amount numeric(12, 2), note text, at timestamptz NOT NULL DEFAULT now())`);
    await admin.query(`CREATE PUBLICATION ${publication} FOR TABLE ${table}`);
    for (let round = 0; round < rounds; round++) {
      const slots = { eddy: `${publication}_e${round}`, peer: `${publication}_p${round}`, bare: `${publication}_n${round}` };
      try {
        await admin.query(`TRUNCATE ${table}`);
        for (const slot of Object.values(slots)) await admin.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);
        // The workload: half inserts, half updates, in transactions of 50 changes.
        const inserts = Math.ceil(changes / 2);
        for (let first = 1; first <= inserts; first += 50) {
          await admin.query(`INSERT INTO ${table} (id, version, amount, note) SELECT g, 1, g * 1.25, md5(g::text) FROM generate_series($1::int, $2::int) g`, [first, Math.min(first + 49, inserts)]);
        }
        for (let first = 1; first <= changes - inserts; first += 50) {
          await admin.query(`UPDATE ${table} SET version = version + 1, amount = amount + 1 WHERE id BETWEEN $1 AND $2`, [first, Math.min(first + 49, changes - inserts)]);
        }
        const endpos = (await admin.query<{ lsn: string }>('SELECT pg_current_wal_flush_lsn()::text AS lsn')).rows[0]!.lsn;

        let peerMs: number | undefined;
        if (recvlogical) {
          const outfile = path.join(dir, `recvlogical-${round}.out`);
          peerMs = await runPgRecvlogical(recvlogical, url, slots.peer, publication, endpos, outfile);
          const size = (await stat(outfile)).size;
          if (size === 0) throw new Error('pg_recvlogical wrote nothing');
        }

        const spec = (slot: string) => ({
          endpoint: pgEndpointFromUrl(url),
          tables: [`public.${table}`],
          slotName: slot,
          publicationName: publication,
          createSlot: false,
          createPublication: false,
          snapshot: false,
          resetSlot: false,
          untilCaughtUp: true,
          batchSize: 5000,
          stateFile: path.join(dir, `${slot}.json`),
          source: { name: 'bench', version: 'bench' },
        });
        const signal = new AbortController().signal;

        const log = await openEventLog({ dir: path.join(dir, `log-${round}`), backgroundVerifyDelayMs: null });
        const eddyStarted = performance.now();
        const eddyCpu = process.cpuUsage();
        const captured = await runPostgresCapture(spec(slots.eddy), log, () => undefined, signal);
        const eddyMs = performance.now() - eddyStarted;
        const eddyCpuUsage = process.cpuUsage(eddyCpu);
        const eddyCpuMs = (eddyCpuUsage.user + eddyCpuUsage.system) / 1000;
        await log.close();
        if (captured.events !== changes) throw new Error(`Eddy captured ${captured.events} events, expected ${changes}`);

        const nullSink = new NullSink();
        const bareStarted = performance.now();
        const bareCpu = process.cpuUsage();
        await runPostgresCapture(spec(slots.bare), nullSink, () => undefined, signal);
        const bareMs = performance.now() - bareStarted;
        const bareCpuUsage = process.cpuUsage(bareCpu);
        const perEvent = (usage: NodeJS.CpuUsage): string => `${((usage.user + usage.system) / changes).toFixed(1)} µs/event`;

        const round_ = { eddy: rate(changes, eddyMs), peer: peerMs === undefined ? 0 : rate(changes, peerMs), bare: rate(nullSink.count, bareMs) };
        console.log(`[postgres] round ${round + 1}: Eddy ${format(round_.eddy, 'events/s')} (${(eddyMs / 1000).toFixed(2)} s, process CPU ${((100 * eddyCpuMs) / eddyMs).toFixed(0)} % of one core, ${perEvent(eddyCpuUsage)}), pg_recvlogical ${format(round_.peer, 'events/s')}${peerMs ? ` (${(peerMs / 1000).toFixed(2)} s)` : ''}, Eddy without the log ${format(round_.bare, 'events/s')} (${perEvent(bareCpuUsage)})`);
        best = { eddy: Math.max(best.eddy, round_.eddy), peer: Math.max(best.peer, round_.peer), bare: Math.max(best.bare, round_.bare) };
      } finally {
        for (const slot of Object.values(slots)) await admin.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]).catch(() => undefined);
      }
    }
  } finally {
    await admin.query(`DROP PUBLICATION IF EXISTS ${publication}`).catch(() => undefined);
    await admin.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await admin.end();
    await rm(dir, { recursive: true, force: true });
  }

  const peerName = 'pg_recvlogical (pgoutput v1, same publication, to a file)';
  if (best.peer > 0) {
    const ratio = Number((best.eddy / best.peer).toFixed(2));
    metrics.push({ name: 'pg_capture_vs_pg_recvlogical', value: best.eddy, unit: 'events/s', peer: peerName, peer_value: best.peer, ratio, goal: '>= 0.5' });
    rows.push({ section: 'postgres', measure: `capture ${changes.toLocaleString('en-US')} changes into the event log`, value: format(best.eddy, 'events/s'), peer: `${peerName}: ${format(best.peer, 'events/s')}`, ratio: ratio.toFixed(2) });
  } else {
    metrics.push({ name: 'pg_capture_into_log', value: best.eddy, unit: 'events/s' });
    rows.push({ section: 'postgres', measure: 'capture into the event log', value: format(best.eddy, 'events/s'), peer: '(pg_recvlogical not found)', ratio: '' });
  }
  metrics.push({ name: 'pg_capture_without_log', value: best.bare, unit: 'events/s' });
  rows.push({ section: 'postgres', measure: 'capture, decode and envelope only (no log)', value: format(best.bare, 'events/s'), peer: '', ratio: '' });
}

// ---------------------------------------------------------------------------------------------
// 2. SQL Server: mapping rate over recorded pages (test/fixtures/sqlserver/bench.ts).

async function sqlServerSection(): Promise<void> {
  const result = await runSqlServerBench({ changes: argument('sqlserver-changes', 100_000), rounds: argument('rounds', 3) });
  metrics.push(...result.metrics);
  rows.push(...result.rows);
}

const sections: { name: string; run: () => Promise<void> }[] = [
  { name: 'postgres', run: postgresSection },
  { name: 'sqlserver', run: sqlServerSection },
];

for (const section of sections) {
  try {
    await section.run();
  } catch (error) {
    console.log(`[${section.name}] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  }
}
printTable();
console.log(JSON.stringify({ bench: 'cdc', metrics }));
