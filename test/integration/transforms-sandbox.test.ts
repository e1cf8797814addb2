// The sandbox's stops and guarantees in the real worker pool: endless loops (sync and through
// promises) stopped within a second, memory bombs stopped at the configured limit, a worker that
// stops answering replaced, one failing record never stopping the others, deterministic output,
// per-record state commits and as-of lookups — while the engine's own event loop keeps answering.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileTransform } from '../../main/engine/transforms/compile.js';
import { runTransform, type RunOutcome } from '../../main/engine/transforms/run.js';
import { TransformPool } from '../../main/engine/transforms/sandbox/pool.js';
import type { FixtureEvent, FixtureTables } from '../../shared/contracts/transforms.js';
import type { SandboxEngine } from '../../main/engine/transforms/sandbox/protocol.js';
import { sandboxEnginesUnderTest } from '../support/sandbox-engines.js';

let pool: TransformPool;
const ENGINES = await sandboxEnginesUnderTest();

/** One pool per engine, for the describe block that calls this. */
function usePool(engine: SandboxEngine): void {
  beforeAll(async () => {
    pool = new TransformPool({ workers: 2, graceMs: 1000, engine });
    expect(await pool.engine()).toBe(engine);
    // Start both workers, so timings below measure the sandbox and not a worker's start-up.
    const compiled = await compileTransform('export default () => null;', 'transforms/warm.ts');
    const sessions = await Promise.all([pool.open({ code: compiled.code, filename: compiled.filename }), pool.open({ code: compiled.code, filename: compiled.filename })]);
    for (const session of sessions) session.close();
  }, 60_000);
  afterAll(async () => {
    await pool?.close();
  });
}

function events(count: number, make: (index: number) => Partial<FixtureEvent> = () => ({})): FixtureEvent[] {
  return Array.from({ length: count }, (_, index) => ({
    stream: 'test:orders',
    position: `test:orders/0/${index}`,
    key: { id: index },
    value: { before: null, after: { id: index, amount: index * 10, status: index % 2 ? 'paid' : 'placed' }, op: 'c', source: { table: 'orders' } },
    headers: [],
    op: 'c' as const,
    eventTime: 1_772_438_400_000 + index * 1000,
    ingestTime: 1_772_438_400_500 + index * 1000,
    ...make(index),
  }));
}

async function run(source: string, input: FixtureEvent[], options: Partial<Parameters<typeof runTransform>[1]> = {}): Promise<RunOutcome> {
  const compiled = await compileTransform(source, 'transforms/test.ts');
  expect(compiled.diagnostics.filter((item) => item.severity === 'error')).toEqual([]);
  return runTransform(pool, { compiled, events: input, ...options });
}

/** Measures the worst delay of a 10 ms timer on this (the engine's) event loop while `work` runs. */
async function withLag<T>(work: () => Promise<T>): Promise<{ result: T; maxLagMs: number }> {
  let last = Date.now();
  let maxLagMs = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    maxLagMs = Math.max(maxLagMs, now - last - 10);
    last = now;
  }, 10);
  try {
    return { result: await work(), maxLagMs };
  } finally {
    clearInterval(timer);
  }
}

describe.each(ENGINES)('the transform sandbox (%s)', (engine) => {
  usePool(engine);

  it('isolates a failing record: the others still produce their outputs, the error has its source line', async () => {
    const source = [
      "import type { Transform } from 'eddy';",
      "const t: Transform = (event) => {",
      '  const row = event.after!;',
      "  if (row.id === 2) throw new Error('bad row ' + row.id);",
      '  return { value: { id: row.id } };',
      '};',
      'export default t;',
    ].join('\n');
    const outcome = await run(source, events(5));
    expect(outcome.records.map((record) => record.outputs.length)).toEqual([1, 1, 0, 1, 1]);
    const failed = outcome.records[2]!.error!;
    expect(failed).toMatchObject({ kind: 'error', name: 'Error', message: 'bad row 2', line: 4 });
    expect(failed.stack).toContain('transforms/test.ts:4');
  });

  it('stops an endless synchronous loop within about a second and goes on with the next record', async () => {
    const source = "export default function (event) { if (event.key.id === 1) { for (;;) {} } return { value: event.key.id }; }";
    const { result, maxLagMs } = await withLag(() => run(source, events(3)));
    expect(result.records[1]!.error).toMatchObject({ kind: 'timeout' });
    expect(result.records[0]!.outputs[0]!.value).toBe(0);
    expect(result.records[2]!.outputs[0]!.value).toBe(2);
    expect(result.elapsedMs).toBeLessThan(1000);
    expect(maxLagMs).toBeLessThan(100);
  });

  it('stops endless loops through promises', async () => {
    for (const body of [
      'return (async () => { for (;;) await 0; })();',
      'const again = () => Promise.resolve().then(again); return again();',
      "const again = () => Promise.reject(new Error('x')).catch(again); return again();",
      'return new Promise(() => { for (;;) {} });',
    ]) {
      const started = Date.now();
      const outcome = await run(`export default function (event) { ${body} }`, events(1));
      // A chain that re-schedules itself (then or catch) also grows the job queue: it can reach the
      // memory limit before the deadline. Either way it is stopped and reported in time.
      const allowed = body.includes('const again') ? ['timeout', 'memory'] : ['timeout'];
      expect(allowed, body).toContain(outcome.records[0]!.error?.kind);
      expect(Date.now() - started, body).toBeLessThan(1800);
    }
  });

  it('reports a promise that never settles', async () => {
    const outcome = await run('export default function () { return new Promise(() => {}); }', events(1));
    expect(outcome.records[0]!.error?.message).toMatch(/never settled/);
  });

  it('stops memory bombs at the configured limit and recovers', async () => {
    for (const body of [
      "const chunk = 'x'.repeat(65536); const list = []; for (;;) list.push(chunk + list.length);",
      'const list = []; for (;;) list.push(new Array(100000).fill(1));',
      'let text = "xy"; for (;;) text = text + text;',
      'return { value: new ArrayBuffer(512 * 1024 * 1024).byteLength };',
      'globalThis.keep = []; for (;;) globalThis.keep.push({ a: [1, 2, 3], b: "some text" });',
    ]) {
      const { result, maxLagMs } = await withLag(() => run(`export default function (event) { ${body} }`, events(2), { limits: { memoryLimitBytes: 32 * 1024 * 1024 } }));
      // Stopped by the memory cap or, for slow growth, by the deadline: either way stopped and reported.
      for (const record of result.records) {
        // V8 also has its own ceilings (string length, array buffer size) that a bomb can hit first.
        const stopped = record.error?.kind === 'memory' || record.error?.kind === 'timeout' || /memory|too long|Invalid (array buffer|string) length|allocation failed/i.test(record.error?.message ?? '');
        expect(stopped, `${body}: ${JSON.stringify(record.error)}`).toBe(true);
      }
      expect(result.elapsedMs).toBeLessThan(2 * 1500);
      expect(maxLagMs).toBeLessThan(100);
    }
    // The limit is the session's: 40 MB fits under 64 MB but not under 16 MB.
    const allocate = 'export default function () { const bytes = new Uint8Array(40 * 1024 * 1024); bytes[1] = 1; return { value: bytes.length }; }';
    expect((await run(allocate, events(1), { limits: { memoryLimitBytes: 64 * 1024 * 1024 } })).records[0]!.outputs[0]?.value).toBe(40 * 1024 * 1024);
    expect((await run(allocate, events(1), { limits: { memoryLimitBytes: 16 * 1024 * 1024 } })).records[0]!.error).toBeTruthy();
  });

  it('terminates a worker that stops answering, reports it, and keeps serving', async () => {
    // Freeing a 100k-deep object graph runs inside QuickJS's C code, where no interrupt is checked.
    const hang = 'export default function () { let value = {}; for (let i = 0; i < 100000; i++) value = { inner: value }; return { value }; }';
    const before = pool.restarts;
    const outcome = await run(hang, events(2));
    if (engine === 'isolate') {
      // V8 serializes the graph with a bounded stack: the record fails on its own, nothing hangs.
      expect(outcome.records[0]!.error).toMatchObject({ kind: 'error', name: 'RangeError' });
      expect(outcome.records[0]!.error!.message).toMatch(/call stack/i);
      const after = await run('export default function (event) { return { value: event.key.id }; }', events(3));
      expect(after.records.map((record) => record.outputs[0]?.value)).toEqual([0, 1, 2]);
      return;
    }
    expect(outcome.records[0]!.error?.kind).toBe('crash');
    // Depending on the machine's stack, the worker either hangs in C (the watchdog terminates it:
    // "stopped answering") or fails inside QuickJS and dies while freeing the graph (reported as a
    // sandbox failure). Either way the record gets a crash error and the worker is replaced.
    const message = outcome.records[0]!.error?.message ?? '';
    expect(message).toMatch(/stopped answering|the sandbox failed/);
    if (/stopped answering/.test(message)) expect(pool.restarts).toBeGreaterThan(before);
    const after = await run('export default function (event) { return { value: event.key.id }; }', events(3));
    expect(after.records.map((record) => record.outputs[0]?.value)).toEqual([0, 1, 2]);
  });

  it('is deterministic: the same batch gives byte-identical outputs every time', async () => {
    const source = [
      'export default function (event, ctx) {',
      '  return { value: { random: Math.random(), again: Math.random(), now: Date.now(), date: new Date().toISOString(), ctxNow: ctx.now(), explicit: new Date(0).toISOString() } };',
      '}',
    ].join('\n');
    const input = events(20);
    const first = JSON.stringify((await run(source, input)).records.map((record) => record.outputs));
    for (let replay = 0; replay < 20; replay++) expect(JSON.stringify((await run(source, input)).records.map((record) => record.outputs))).toBe(first);
    const values = JSON.parse(first) as { value: { random: number; now: number; ctxNow: number; date: string } }[][];
    expect(values[0]![0]!.value.now).toBe(input[0]!.ingestTime);
    expect(values[0]![0]!.value.random).not.toBe(values[1]![0]!.value.random);
    // Controlled time: tests fix "now".
    const fixed = await run(source, input.slice(0, 2), { time: { now: '2026-03-02T12:00:00Z', stepMs: 1000 } });
    expect(fixed.records.map((record) => (record.outputs[0]!.value as { ctxNow: number }).ctxNow)).toEqual([Date.parse('2026-03-02T12:00:00Z'), Date.parse('2026-03-02T12:00:01Z')]);
  });

  it('keeps state writes only for records that succeed', async () => {
    const source = [
      'export default function (event, ctx) {',
      "  const total = (ctx.state.get('total') ?? 0) + event.after.amount;",
      "  ctx.state.put('total', total);",
      "  if (event.key.id === 2) throw new Error('after writing');",
      '  return { value: total };',
      '}',
    ].join('\n');
    const outcome = await run(source, events(4), { initialState: { total: 1000 } });
    expect(outcome.records.map((record) => record.outputs[0]?.value ?? null)).toEqual([1000, 1010, null, 1040]);
    expect(outcome.finalState).toEqual({ total: 1040 });
  });

  it('a record stopped for memory mid-batch keeps the results and state of the records around it', async () => {
    const source = [
      'export default function (event, ctx) {',
      "  const total = (ctx.state.get('total') ?? 0) + event.after.amount;",
      "  ctx.state.put('total', total);",
      '  if (event.key.id === 3) { const list = []; for (;;) list.push({ a: [1, 2, 3], b: "text" + list.length }); }',
      '  return { value: total };',
      '}',
    ].join('\n');
    const outcome = await run(source, events(6), { initialState: { total: 1000 }, limits: { memoryLimitBytes: 32 * 1024 * 1024 } });
    expect(outcome.records.map((record) => record.outputs[0]?.value ?? null)).toEqual([1000, 1010, 1030, null, 1070, 1120]);
    expect(['memory', 'timeout']).toContain(outcome.records[3]!.error?.kind);
    expect(outcome.finalState).toEqual({ total: 1120 });
  });

  it('two records stopped for memory in one batch: the state carried between them stays whole', async () => {
    const source = [
      'export default function (event, ctx) {',
      "  const total = (ctx.state.get('total') ?? 0) + event.after.amount;",
      "  ctx.state.put('total', total);",
      '  if (event.key.id === 3 || event.key.id === 6) { const list = []; for (;;) list.push({ a: [1, 2, 3], b: "text" + list.length }); }',
      '  return { value: total };',
      '}',
    ].join('\n');
    const outcome = await run(source, events(8), { limits: { memoryLimitBytes: 32 * 1024 * 1024 } });
    // amounts are 0, 10, 20, ...: records 3 and 6 commit nothing.
    expect(outcome.records.map((record) => record.outputs[0]?.value ?? null)).toEqual([0, 10, 30, null, 70, 120, null, 190]);
    expect(outcome.finalState).toEqual({ total: 190 });
  });

  it('gives every slow record its own full deadline, however late in a batch it starts', async () => {
    // About 150-250 ms per record on V8 (QuickJS, 40x slower, gets a tenth of the work): a batch
    // of eight takes well past one deadline, yet no record is over it.
    const iterations = engine === 'isolate' ? 60_000_000 : 1_500_000;
    const source = `export default function (event) { let x = 0; for (let i = 0; i < ${iterations}; i++) x = (x + i * 7) % 1000003; return { value: event.key.id }; }`;
    const outcome = await run(source, events(8));
    expect(outcome.records.map((record) => record.error)).toEqual(new Array(8).fill(null));
    expect(outcome.records.map((record) => record.outputs[0]?.value)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('answers lookups as of the event time, from fixture tables and from the engine', async () => {
    const tables: FixtureTables = {
      customers: [
        { key: { id: 7 }, from: 1_772_438_400_000, row: { tier: 'standard' } },
        { key: { id: 7 }, from: 1_772_438_402_000, row: { tier: 'gold' } },
        { key: { id: 7 }, from: 1_772_438_403_500, row: null },
      ],
    };
    const source = "export default function (event, ctx) { return { value: { tier: ctx.lookup('customers', { id: 7 })?.tier ?? null, remote: ctx.lookup('remote', event.key) } }; }";
    const asked: unknown[] = [];
    const outcome = await run(source, events(5), {
      tables,
      lookupSource: {
        asOf: async (table, key, time) => {
          asked.push([table, key, time]);
          await new Promise((resolve) => setTimeout(resolve, 5));
          return { echo: key };
        },
      },
    });
    expect(outcome.records.map((record) => (record.outputs[0]!.value as { tier: string | null }).tier)).toEqual(['standard', 'standard', 'gold', 'gold', null]);
    expect((outcome.records[3]!.outputs[0]!.value as { remote: unknown }).remote).toEqual({ echo: { id: 3 } });
    expect(asked).toHaveLength(5);
  });

  it('runs batches off the engine thread: the event loop stays responsive under load', async () => {
    const source = 'export default function (event) { let x = 0; for (let i = 0; i < 2000; i++) x += i; return { value: x + event.key.id }; }';
    const { result, maxLagMs } = await withLag(() => run(source, events(2000)));
    expect(result.records).toHaveLength(2000);
    expect(maxLagMs).toBeLessThan(100);
  });
});
