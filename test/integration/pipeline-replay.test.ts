// Replay from a point in time into a dry run reproduces the outputs the live run wrote from that
// point on (issue 7), through the real engine: event log on disk, file checkpoints, the local
// warehouse, the sandbox, the pipeline commands. Also: step-through of one record, the dead-letter
// view, and a live run resuming from its checkpoint after a restart.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../main/engine/engine.js';
import type { EventPayloadOf, EventStreamName } from '../../shared/contract.js';
import type { NewEvent } from '../../shared/events.js';

let root: string;
let engine: Engine;
const statuses: { pipeline: string; state: string }[] = [];
const T0 = Date.UTC(2026, 2, 2, 8, 0, 0);
const MINUTE = 60_000;

function orders(from: number, to: number): NewEvent[] {
  return Array.from({ length: to - from }, (_, offset) => {
    const index = from + offset;
    const poison = index === 57;
    return {
      stream: 'test:orders',
      position: `orders/${index}`,
      key: `c${index % 5}`,
      value: poison ? { orderId: index, poison: true } : { orderId: index, customer: `c${index % 5}`, amount: index % 13 },
      eventTime: T0 + index * MINUTE,
      ingestTime: T0 + index * MINUTE + 500,
    };
  });
}

async function openEngine(): Promise<Engine> {
  return createEngine(
    { host: 'cli', version: 'test', workspace: root, dataDir: path.join(root, '.data'), resourcesDir: process.cwd() },
    ((stream: EventStreamName, payload: EventPayloadOf<EventStreamName>) => {
      if (stream === 'onPipelineStatus') statuses.push(payload as { pipeline: string; state: string });
    }) as never,
    async () => {
      throw new Error('no secrets in this test');
    },
  );
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  const result = await engine.handlers.queryWarehouse({ sql, maxRows: 10_000 });
  return result.rows.map((row) => Object.fromEntries(result.columns.map((column, index) => [column, row[index]])));
}

describe('replay, dry run, step-through', () => {
  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'eddy-replay-'));
    mkdirSync(path.join(root, 'pipelines', 'scripts'), { recursive: true });
    writeFileSync(path.join(root, 'eddy-workspace.json'), JSON.stringify({ name: 'replay test', version: 1, samples: [] }));
    writeFileSync(
      path.join(root, 'pipelines', 'scripts', 'total.ts'),
      `import type { Transform } from 'eddy';
const transform: Transform = (event, ctx) => {
  const order = event.value as { orderId: number; customer: string; amount: number; poison?: boolean };
  if (order.poison) throw new Error('poison order ' + order.orderId);
  const total = (ctx.state.get<number>('total') ?? 0) + order.amount;
  ctx.state.put('total', total);
  return { key: order.orderId, value: { orderId: order.orderId, customer: order.customer, amount: order.amount, total } };
};
export default transform;
`,
    );
    writeFileSync(
      path.join(root, 'pipelines', 'totals.pipeline.json'),
      JSON.stringify({
        version: 1,
        name: 'totals',
        sources: [{ id: 'orders', kind: 'log', stream: 'test:orders' }],
        stages: [{ id: 'total', kind: 'keyed', inputs: ['orders'], script: 'pipelines/scripts/total.ts', key: 'key' }],
        sinks: [
          { id: 'table', kind: 'warehouse', inputs: ['total'], table: 'order_totals', key: ['orderId'] },
          { id: 'stream', kind: 'log', inputs: ['total'], stream: 'pipeline:totals' },
        ],
        checkpoint: { interval: '200ms', maxRecords: 25 },
      }),
    );
    engine = await openEngine();
  });

  afterAll(async () => {
    await engine?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('runs live, resumes from its checkpoint after a restart, and dead-letters the poison record', async () => {
    await engine.context.log.append(orders(0, 40));
    await engine.handlers.startPipeline({ path: 'pipelines/totals.pipeline.json', mode: 'live', dryRun: false, follow: false });
    await waitFor(async () => (await rows('SELECT count(*) AS n FROM order_totals').catch(() => [{ n: 0 }]))[0]!.n === 40);
    await engine.handlers.stopPipeline({ pipeline: 'totals' });
    await engine.close();
    // A new engine (a restarted app) continues where the checkpoint says.
    engine = await openEngine();
    await engine.context.log.append(orders(40, 100));
    await engine.handlers.startPipeline({ path: 'pipelines/totals.pipeline.json', mode: 'live', dryRun: false, follow: false });
    await waitFor(async () => (await rows('SELECT count(*) AS n FROM order_totals'))[0]!.n === 99);
    // Metrics are published a few times a second: the count may trail the sink by one update.
    await waitFor(async () => (await engine.handlers.getPipelineMetrics({ pipeline: 'totals' }))?.records.in === 100);
    const metrics = await engine.handlers.getPipelineMetrics({ pipeline: 'totals' });
    expect(metrics?.records.in).toBe(100);
    await engine.handlers.stopPipeline({ pipeline: 'totals' });
    const totals = await rows('SELECT orderId, total FROM order_totals ORDER BY orderId');
    let running = new Map<string, number>();
    for (const event of orders(0, 100)) {
      const value = event.value as { orderId: number; amount?: number; poison?: boolean };
      if (value.poison) continue;
      running.set(event.key as string, (running.get(event.key as string) ?? 0) + value.amount!);
      expect(totals.find((row) => row.orderId === value.orderId)?.total).toBe(running.get(event.key as string));
    }
    running = new Map();
    const letters = await engine.handlers.listDeadLetters({ pipeline: 'totals', limit: 100 });
    expect(letters.letters.map((letter) => [letter.stage, letter.origin.position, letter.error.message])).toEqual([['total', 'orders/57', 'poison order 57']]);
    expect(letters.letters[0]!.input.value).toEqual({ orderId: 57, poison: true });
    expect(statuses.filter((status) => status.pipeline === 'totals').map((status) => status.state)).toContain('stopped');
  });

  it('replays from a point in time into a dry run with the same outputs the live run wrote', async () => {
    const from = T0 + 60 * MINUTE;
    const status = await engine.handlers.startPipeline({ path: 'pipelines/totals.pipeline.json', mode: 'replay', replay: { from: 'time', time: from }, dryRun: true, follow: false });
    expect(status.dryRun).toBe(true);
    await waitFor(async () => (await engine.handlers.listPipelineRuns({})).some((run) => run.pipeline === 'totals' && run.state === 'completed'));
    const run = (await engine.handlers.listPipelineRuns({})).find((entry) => entry.pipeline === 'totals')!;
    const shadow = run.shadowTables!;
    // The warehouse sink's shadow table: exactly the live rows written from that time on.
    const live = await rows(`SELECT orderId, customer, amount, total FROM order_totals WHERE orderId >= 60 ORDER BY orderId`);
    const dry = await rows(`SELECT orderId, customer, amount, total FROM ${shadow.table} ORDER BY orderId`);
    expect(dry.length).toBe(40);
    expect(dry).toEqual(live);
    // The log sink's shadow: the same records the live run appended to its stream from then on.
    const appended: string[] = [];
    for await (const batch of engine.context.log.replay({ streams: ['pipeline:totals'] })) for (const event of batch) if (event.eventTime >= from) appended.push(JSON.stringify([event.key, event.value]));
    const shadowed = (await rows(`SELECT key, value FROM ${shadow.stream} ORDER BY rowid`)).map((row) => JSON.stringify([JSON.parse(String(row.key)), JSON.parse(String(row.value))]));
    expect(shadowed).toEqual(appended);
    // Nothing external was written: the live stream did not grow, and no dead letter was added.
    expect((await engine.handlers.listDeadLetters({ pipeline: 'totals', limit: 100 })).letters.length).toBe(1);
  });

  it('steps one record through the pipeline, showing state and outputs, writing nothing', async () => {
    const step = await engine.handlers.stepPipeline({ path: 'pipelines/totals.pipeline.json', stream: 'test:orders', position: 'orders/10', withState: true });
    expect(step.stages).toHaveLength(1);
    const stage = step.stages[0]!;
    expect(stage.outcome).toBe('changed');
    expect(stage.notes.some((note) => note.kind === 'state-write')).toBe(true);
    expect(step.sinks.map((sink) => [sink.sink, sink.records.length])).toEqual([
      ['table', 1],
      ['stream', 1],
    ]);
    const poison = await engine.handlers.stepPipeline({ path: 'pipelines/totals.pipeline.json', stream: 'test:orders', position: 'orders/57', withState: false });
    expect(poison.stages[0]!.outcome).toBe('error');
    expect(poison.stages[0]!.error?.message).toBe('poison order 57');
    expect(poison.stages[0]!.error?.line).toBe(4);
  });
});
