// Benchmark of the transform sandbox (issue 6): a filter-and-project transform over 1M Debezium
// change events (about 700 bytes of JSON each) through the sandbox (V8 isolates through
// isolated-vm in worker threads, the default engine) against the same function called directly in
// this process on the same events:
//   1. throughput, JSON batch in -> JSON outputs out, both sides (the log stores JSON and sinks
//      write it): sandbox pool vs direct (goal >= 0.5x); one worker reported as well;
//   2. the same function on already-parsed objects (what an unsandboxed engine would call),
//      node:vm (not a security boundary) and the QuickJS engine (the fallback where isolated-vm
//      cannot load) for scale: reported only;
//   3. per-batch overhead: the round trip of a one-event batch, and cost per event by batch size.
//
//   npm run bench -- transform [--quick] [--workers N]     (--quick: 100k events)
// Prints a table, and as its last line one JSON object (DESIGN.md 7).
import os from 'node:os';
import vm from 'node:vm';
import { compileTransform } from '../../main/engine/transforms/compile.js';
import { TransformPool, type Session } from '../../main/engine/transforms/sandbox/pool.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const workersArg = args.indexOf('--workers');
const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
const WORKERS = workersArg >= 0 ? Number(args[workersArg + 1]) : Math.max(1, Math.min(2, cores));
const TOTAL = quick ? 100_000 : 1_000_000;
const BATCH = 1000;
const DISTINCT_BATCHES = 100;
const BASE_TIME = 1_772_438_400_000;

const SOURCE = `import type { Transform } from 'eddy';
const t: Transform<'sqlserver:shop.dbo.Orders'> = (event) => {
  const order = event.after;
  if (!order || order.Status !== 'paid') return null;
  return { key: order.OrderID, value: { id: order.OrderID, customer: order.CustomerID, sku: order.Sku, total: order.Amount * order.Quantity, at: event.eventTime } };
};
export default t;
`;

function event(i: number): Record<string, unknown> {
  const lsn = `${(39 + (i >> 16)).toString(16).padStart(8, '0')}:${(i & 0xffff).toString(16).padStart(8, '0')}:0002`;
  return {
    stream: 'sqlserver:shop.dbo.Orders',
    position: `sqlserver:${lsn}:${lsn}:${i}`,
    key: { OrderID: 50000 + i },
    value: {
      before: null,
      after: { OrderID: 50000 + i, CustomerID: 1000 + (i % 20), Sku: `SKU-100${i % 5}`, Quantity: 1 + (i % 4), Amount: (i % 7) * 13.5, Status: i % 3 ? 'paid' : 'placed', PlacedAt: '2026-03-02T08:02:54.590Z' },
      source: { version: '2.7.0.Final', connector: 'sqlserver', name: 'shop', ts_ms: BASE_TIME + i, snapshot: 'false', db: 'shop', schema: 'dbo', table: 'Orders', change_lsn: lsn, commit_lsn: lsn, event_serial_no: 1 },
      op: 'c',
      ts_ms: BASE_TIME + i + 40,
      transaction: null,
    },
    headers: [],
    op: 'c',
    eventTime: BASE_TIME + i,
    ingestTime: BASE_TIME + i + 300,
  };
}

interface Metric {
  name: string;
  value: number;
  unit: string;
  peer?: string;
  peer_value?: number;
  ratio?: number;
  goal?: string;
}

const round = (value: number, digits = 0): number => Math.round(value * 10 ** digits) / 10 ** digits;

async function main(): Promise<void> {
  const records: { e: Record<string, unknown>; n: number }[][] = [];
  const batches: string[] = [];
  for (let b = 0; b < DISTINCT_BATCHES; b++) {
    const batch = [];
    for (let j = 0; j < BATCH; j++) {
      const e = event(b * BATCH + j);
      batch.push({ e, n: (e.ingestTime as number) + 1 });
    }
    records.push(batch);
    batches.push(JSON.stringify(batch));
  }
  const bytesPerEvent = batches[0]!.length / BATCH;
  const rounds = TOTAL / (BATCH * DISTINCT_BATCHES);

  const compiled = await compileTransform(SOURCE, 'transforms/bench.ts');
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.diagnostics));

  // The same compiled module, called directly in this process.
  const direct = (await import(`data:text/javascript;base64,${Buffer.from(compiled.code).toString('base64')}`)).default as (event: unknown, ctx: unknown) => unknown;
  const ctx = { now: () => 0 };
  // The transform API puts a change event's before/after/source on the event itself (the sandbox's
  // runner does this for every record); the direct paths must hand the function the same event.
  const lift = (event: Record<string, unknown>): Record<string, unknown> => {
    const value = event.value as Record<string, unknown> | null;
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && ('after' in value || 'before' in value) && 'op' in value) {
      event.before = value.before ?? null;
      event.after = value.after ?? null;
      event.source = value.source;
    }
    return event;
  };
  const directJson = (json: string): string => {
    const batch = JSON.parse(json) as { e: Record<string, unknown> }[];
    const out: unknown[] = [];
    for (let i = 0; i < batch.length; i++) {
      try {
        const result = direct(lift(batch[i]!.e), ctx);
        if (result !== null && result !== undefined) out.push({ i, o: result });
      } catch (error) {
        out.push({ i, e: String(error) });
      }
    }
    return JSON.stringify(out);
  };
  const timeIt = (work: () => void): number => {
    const started = performance.now();
    work();
    return performance.now() - started;
  };
  let checksum = 0;
  directJson(batches[0]!);
  const directMs = timeIt(() => {
    for (let r = 0; r < rounds; r++) for (const batch of batches) checksum += directJson(batch).length;
  });
  for (const batch of records) for (const record of batch) lift(record.e);
  const objectsMs = timeIt(() => {
    for (let r = 0; r < rounds; r++) for (const batch of records) for (const record of batch) checksum += direct(record.e, ctx) ? 1 : 0;
  });

  // node:vm, for scale only: the function compiled in a context, JSON in and out inside it.
  const context = vm.createContext({});
  vm.runInContext(
    `${compiled.code.replace(/export\s*\{\s*(\w+)\s+as\s+default\s*\};?/, 'globalThis.transform = $1;').replace(/export default\s+/, 'globalThis.transform = ')}
     const lift = ${lift.toString()};
     globalThis.run = (json) => { const batch = JSON.parse(json); const out = []; for (let i = 0; i < batch.length; i++) { try { const r = transform(lift(batch[i].e), {}); if (r != null) out.push({ i, o: r }); } catch (e) { out.push({ i, e: String(e) }); } } return JSON.stringify(out); };`,
    context,
  );
  const vmRun = vm.runInContext('run', context) as (json: string) => string;
  vmRun(batches[0]!);
  const vmMs = timeIt(() => {
    for (let r = 0; r < rounds; r++) for (const batch of batches) checksum += vmRun(batch).length;
  });

  // The sandbox: one session per worker (like partitioned tasks), two batches in flight each.
  const pool = new TransformPool({ workers: WORKERS, engine: 'isolate' });
  const engineName = await pool.engineDescription();
  const sandboxRun = async (sessions: Session[]): Promise<number> => {
    // Warm up: let V8 tier QuickJS's WebAssembly up from its baseline compiler before timing.
    await Promise.all(sessions.map(async (session) => {
      for (let i = 0; i < 20; i++) await session.runBatchJson(batches[i]!);
    }));
    const started = performance.now();
    let next = 0;
    const total = rounds * DISTINCT_BATCHES;
    const lane = async (session: Session): Promise<void> => {
      while (next < total) {
        const index = next++;
        checksum += (await session.runBatchJson(batches[index % DISTINCT_BATCHES]!)).length;
      }
    };
    await Promise.all(sessions.flatMap((session) => [lane(session), lane(session)]));
    return performance.now() - started;
  };
  const open = () => pool.open({ code: compiled.code, filename: compiled.filename });
  const sessions = await Promise.all(Array.from({ length: WORKERS }, open));
  // Both sides must do the same work: the same outputs for the same batch.
  const sandboxOutputs = (JSON.parse(await sessions[0]!.runBatchJson(batches[0]!)) as { o?: unknown }[]).filter((entry) => entry.o !== undefined).map((entry) => entry.o);
  const directOutputs = (JSON.parse(directJson(batches[0]!)) as { o: unknown }[]).map((entry) => entry.o);
  if (sandboxOutputs.length === 0 || JSON.stringify(sandboxOutputs) !== JSON.stringify(directOutputs)) {
    throw new Error(`the sandbox and the direct call disagree on batch 0 (${sandboxOutputs.length} vs ${directOutputs.length} outputs)`);
  }
  const poolMs = await sandboxRun(sessions);
  const singleMs = WORKERS > 1 ? await sandboxRun([sessions[0]!]) : poolMs;

  // Per-batch overhead: a one-event batch's round trip, and the cost per event by batch size.
  const one = JSON.stringify(records[0]!.slice(0, 1));
  for (let i = 0; i < 50; i++) await sessions[0]!.runBatchJson(one);
  const trips: number[] = [];
  for (let i = 0; i < 300; i++) {
    const started = performance.now();
    await sessions[0]!.runBatchJson(one);
    trips.push(performance.now() - started);
  }
  trips.sort((a, b) => a - b);
  const tripMs = trips[Math.floor(trips.length / 2)]!;
  const bySize: Record<number, number> = {};
  for (const size of [1, 10, 100, 1000]) {
    const json = JSON.stringify(records[1]!.slice(0, size));
    const repeat = Math.max(5, Math.floor(20_000 / size));
    const started = performance.now();
    for (let i = 0; i < repeat; i++) await sessions[0]!.runBatchJson(json);
    bySize[size] = ((performance.now() - started) * 1e6) / (repeat * size);
  }
  for (const session of sessions) session.close();
  await pool.close();

  // The QuickJS engine on the same batches, for scale.
  const quickPool = new TransformPool({ workers: WORKERS, engine: 'quickjs' });
  const quickSessions = await Promise.all(Array.from({ length: WORKERS }, () => quickPool.open({ code: compiled.code, filename: compiled.filename })));
  const quickMs = await sandboxRun(quickSessions);
  for (const session of quickSessions) session.close();
  await quickPool.close();

  const rate = (ms: number): number => (TOTAL / ms) * 1000;
  const metrics: Metric[] = [
    { name: 'sandbox_vs_direct_json', value: round(rate(poolMs)), unit: 'events/s', peer: 'direct call, same process, JSON in/out', peer_value: round(rate(directMs)), ratio: round(rate(poolMs) / rate(directMs), 3), goal: '>= 0.5' },
    { name: 'sandbox_one_worker_vs_direct_json', value: round(rate(singleMs)), unit: 'events/s', peer: 'direct call, same process, JSON in/out', peer_value: round(rate(directMs)), ratio: round(rate(singleMs) / rate(directMs), 3) },
    { name: 'sandbox_vs_direct_objects', value: round(rate(poolMs)), unit: 'events/s', peer: 'direct call on parsed objects', peer_value: round(rate(objectsMs)), ratio: round(rate(poolMs) / rate(objectsMs), 4) },
    { name: 'quickjs_vs_direct_json', value: round(rate(quickMs)), unit: 'events/s', peer: 'direct call, same process, JSON in/out', peer_value: round(rate(directMs)), ratio: round(rate(quickMs) / rate(directMs), 3) },
    { name: 'node_vm_json', value: round(rate(vmMs)), unit: 'events/s', peer: 'direct call, same process, JSON in/out', peer_value: round(rate(directMs)), ratio: round(rate(vmMs) / rate(directMs), 3) },
    { name: 'batch_round_trip_1_event', value: round(tripMs * 1000), unit: 'µs' },
    ...[1, 10, 100, 1000].map((size) => ({ name: `sandbox_cost_per_event_batch_${size}`, value: round(bySize[size]!), unit: 'ns/event' })),
  ];

  console.log(`transform bench: ${TOTAL.toLocaleString('en')} events of ${round(bytesPerEvent)} bytes, batches of ${BATCH}, ${WORKERS} worker(s) on ${cores} core(s), node ${process.version}`);
  console.log(`sandbox engine: ${engineName}`);
  console.log('');
  const rows = [
    ['path', 'events/s', 'ns/event', 'vs direct JSON'],
    ['direct call, JSON in/out (peer)', round(rate(directMs)).toLocaleString('en'), round((directMs * 1e6) / TOTAL).toLocaleString('en'), '1.00'],
    ['direct call on parsed objects', round(rate(objectsMs)).toLocaleString('en'), round((objectsMs * 1e6) / TOTAL).toLocaleString('en'), (directMs / objectsMs).toFixed(2)],
    ['node:vm, JSON in/out (no boundary)', round(rate(vmMs)).toLocaleString('en'), round((vmMs * 1e6) / TOTAL).toLocaleString('en'), (directMs / vmMs).toFixed(2)],
    [`V8-isolate sandbox, ${WORKERS} worker(s)`, round(rate(poolMs)).toLocaleString('en'), round((poolMs * 1e6) / TOTAL).toLocaleString('en'), (directMs / poolMs).toFixed(2)],
    ['V8-isolate sandbox, 1 worker', round(rate(singleMs)).toLocaleString('en'), round((singleMs * 1e6) / TOTAL).toLocaleString('en'), (directMs / singleMs).toFixed(2)],
    [`QuickJS sandbox, ${WORKERS} worker(s)`, round(rate(quickMs)).toLocaleString('en'), round((quickMs * 1e6) / TOTAL).toLocaleString('en'), (directMs / quickMs).toFixed(2)],
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => String(row[column]).length)));
  for (const row of rows) console.log(row.map((cell, column) => (column === 0 ? String(cell).padEnd(widths[column]!) : String(cell).padStart(widths[column]!))).join('  '));
  console.log('');
  console.log(`per-batch overhead: one-event round trip ${round(tripMs * 1000)} µs (median of 300); per event by batch size: ${[1, 10, 100, 1000].map((size) => `${size}: ${round(bySize[size]!).toLocaleString('en')} ns`).join(', ')}`);
  console.log(`(checksum ${checksum})`);
  console.log('');
  console.log(JSON.stringify({ bench: 'transform', metrics }));
}

await main();
