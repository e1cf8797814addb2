// Benchmark of pipelines (issue 7), against peers run in the same process and run:
//   1. replay of a log stream through a stateless transform to a null sink, the whole runner
//      (log source, stage batches, epochs with a durable checkpoint every 20k records) with the transform run
//      in-process, vs a bare scan of the same log (its replay iterator: rows + JSON.parse) calling
//      the same function (goal >= 0.8x);
//   2. the same replay with the transform in the QuickJS sandbox (reported: the sandbox's cost);
//   3. Kafka -> keyed stage -> PostgreSQL end to end vs capture-only on the same topic (reported;
//      needs the test broker and database, skipped with a reason otherwise).
//
//   npm run bench -- pipeline [--quick]      (--quick: 1/10 of the sizes)
// Prints a table, and as its last line one JSON object (DESIGN.md 7).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import pg from 'pg';
import type { NewEvent } from '../../shared/events.js';
import { parsePipelineSpec, type PipelineSpec } from '../../shared/pipeline-spec.js';
import { openEventLog, type EventLog } from '../../main/engine/log/index.js';
import { buildPipeline } from '../../main/engine/pipelines/build.js';
import { FileCheckpointStore } from '../../main/engine/pipelines/checkpoint-store.js';
import { captureIntoLog } from '../../main/engine/pipelines/kafka-bridge.js';
import { PipelineRunner } from '../../main/engine/pipelines/runner.js';
import { InProcessScriptExecutor, type ScriptExecutor } from '../../main/engine/pipelines/scripts.js';
import { SandboxScriptExecutor } from '../../main/engine/pipelines/sandbox-executor.js';
import { PostgresSink } from '../../main/engine/sinks/postgres-sink.js';
import { Warehouse } from '../../main/engine/sinks/warehouse.js';
import { kafkaBrokers, pgUrl, probeKafka, probePostgres } from '../support/services.js';

const quick = process.argv.includes('--quick');
const REPLAY_EVENTS = quick ? 20_000 : 200_000;
const KAFKA_EVENTS = quick ? 10_000 : 100_000;
const STREAM = 'sqlserver:shop.dbo.Orders';
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const temp: string[] = [];
const dir = (name: string): string => {
  const made = mkdtempSync(path.join(os.tmpdir(), `eddy-bench-pipeline-${name}-`));
  temp.push(made);
  return made;
};

interface Metric {
  name: string;
  value: number;
  unit: string;
  peer?: string;
  peer_value?: number;
  ratio?: number;
  goal?: string;
}

/** A Debezium-shaped order change (about 450 bytes of JSON). */
function orderEvent(i: number): NewEvent {
  const ts = 1_772_438_400_000 + i * 7;
  return {
    stream: STREAM,
    position: `sqlserver:${i.toString(16).padStart(8, '0')}:2`,
    key: { OrderID: 100000 + i },
    value: {
      before: null,
      after: { OrderID: 100000 + i, CustomerID: 1000 + (i % 5000), Sku: `SKU-${1000 + (i % 7)}`, Quantity: 1 + (i % 3), Amount: (i % 97) + 0.5, Status: i % 10 === 0 ? 'cancelled' : 'placed', PlacedAt: new Date(ts).toISOString() },
      source: { version: '2.7.0.Final', connector: 'sqlserver', name: 'shop', ts_ms: ts, snapshot: 'false', db: 'shop', schema: 'dbo', table: 'Orders', change_lsn: null, commit_lsn: null, event_serial_no: 1 },
      op: 'c',
      ts_ms: ts + 40,
      transaction: null,
    },
    headers: [],
    op: 'c',
    eventTime: ts,
    ingestTime: ts + 60,
  };
}

// The stateless transform: filter + projection, as in research/performance.md 4.2.
const TRANSFORM_SOURCE = `export default function (event) {
  const order = event.value.after;
  if (order.Status === 'cancelled') return null;
  return { key: order.OrderID, value: { id: order.OrderID, customer: order.CustomerID, total: order.Amount * order.Quantity, sku: order.Sku.toUpperCase(), at: event.eventTime } };
}`;

function peerTransform(event: { value: unknown; eventTime: number }): unknown {
  const order = (event.value as { after: { OrderID: number; CustomerID: number; Amount: number; Quantity: number; Sku: string; Status: string } }).after;
  if (order.Status === 'cancelled') return null;
  return { key: order.OrderID, value: { id: order.OrderID, customer: order.CustomerID, total: order.Amount * order.Quantity, sku: order.Sku.toUpperCase(), at: event.eventTime } };
}

const replaySpec: PipelineSpec = parsePipelineSpec({
  version: 1,
  name: 'bench-replay',
  sources: [{ id: 'orders', kind: 'log', stream: STREAM }],
  stages: [{ id: 'project', kind: 'transform', inputs: ['orders'], script: 'project.js' }],
  sinks: [{ id: 'out', kind: 'null', inputs: ['project'] }],
  // A replay-sized epoch: a durable checkpoint every 20k records (the default 5k suits live runs).
  checkpoint: { interval: '5s', maxRecords: 20_000 },
});

async function peerScan(log: EventLog): Promise<number> {
  const started = performance.now();
  let count = 0;
  let kept = 0;
  for await (const batch of log.replay({ streams: [STREAM], batchSize: 1000 })) {
    for (const event of batch) if (peerTransform(event) !== null) kept++;
    count += batch.length;
  }
  if (kept === 0) throw new Error('nothing kept');
  return count / ((performance.now() - started) / 1000);
}

async function pipelineReplay(log: EventLog, executor: ScriptExecutor): Promise<number> {
  const checkpoints = new FileCheckpointStore({ dir: dir('checkpoints') });
  const built = await buildPipeline(
    { spec: replaySpec, mode: 'replay', replay: { from: 'beginning' }, dryRun: false, checkpoints },
    { log, executor, loadScript: async () => TRANSFORM_SOURCE, warehouse: () => Warehouse.openShared(undefined) },
  );
  const started = performance.now();
  const runner = new PipelineRunner(built.runner);
  const outcome = await runner.run(new AbortController().signal);
  const elapsed = (performance.now() - started) / 1000;
  await built.close();
  if (outcome.state !== 'completed' || runner.metrics.recordsIn !== REPLAY_EVENTS) throw new Error(`replay ${outcome.state} (${outcome.reason}) after ${runner.metrics.recordsIn} records`);
  return REPLAY_EVENTS / elapsed;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function replayBench(metrics: Metric[]): Promise<void> {
  const log = await openEventLog({ dir: dir('log'), backgroundVerifyDelayMs: null });
  try {
    for (let i = 0; i < REPLAY_EVENTS; i += 1000) {
      const batch: NewEvent[] = [];
      for (let j = i; j < Math.min(REPLAY_EVENTS, i + 1000); j++) batch.push(orderEvent(j));
      await log.append(batch);
    }
    const inProcess = new InProcessScriptExecutor();
    await peerScan(log);
    await pipelineReplay(log, inProcess);
    const peers: number[] = [];
    const ours: number[] = [];
    for (let round = 0; round < 3; round++) {
      gc();
      peers.push(await peerScan(log));
      gc();
      ours.push(await pipelineReplay(log, inProcess));
      console.log(`  replay round ${round + 1}: pipeline ${Math.round(ours[round]!)}/s, bare scan ${Math.round(peers[round]!)}/s`);
    }
    metrics.push({ name: 'replay_transform_null_sink', value: Math.round(median(ours)), unit: 'events/s', peer: 'bare log scan + JSON.parse + same function', peer_value: Math.round(median(peers)), ratio: median(ours) / median(peers), goal: '>= 0.8' });
    const sandbox = new SandboxScriptExecutor({ workers: 1 });
    try {
      gc();
      const sandboxed = await pipelineReplay(log, sandbox);
      console.log(`  replay in the QuickJS sandbox: ${Math.round(sandboxed)}/s`);
      metrics.push({ name: 'replay_sandboxed_transform', value: Math.round(sandboxed), unit: 'events/s', peer: 'bare log scan + JSON.parse + same function', peer_value: Math.round(median(peers)), ratio: sandboxed / median(peers) });
    } finally {
      await sandbox.close();
    }
  } finally {
    await log.close();
  }
}

async function kafkaBench(metrics: Metric[]): Promise<void> {
  const brokers = kafkaBrokers() ?? ['127.0.0.1:9092'];
  const url = pgUrl() ?? 'postgres://postgres@127.0.0.1:5432/eddy_test';
  if (!(await probeKafka(brokers)) || !(await probePostgres(url))) {
    console.log(`  [skip] Kafka -> PostgreSQL: no broker at ${brokers.join(',')} or no database at ${url.replace(/:[^:@/]*@/, ':***@')} (npm run services:up)`);
    return;
  }
  const kafka = new Kafka({ clientId: 'eddy-bench-pipeline', brokers, logLevel: logLevel.NOTHING });
  const topic = `eddy-bench-pipeline-${process.pid}`;
  const table = `bench_pipeline_${process.pid}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  for (let i = 0; i < KAFKA_EVENTS; i += 5000) {
    const messages = [];
    for (let j = i; j < Math.min(KAFKA_EVENTS, i + 5000); j++) messages.push({ key: `c${j % 1000}`, value: JSON.stringify({ orderId: j, customerId: `c${j % 1000}`, amount: (j % 97) + 1 }) });
    await producer.send({ topic, messages });
  }
  await producer.disconnect();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`CREATE TABLE ${table} (order_id bigint PRIMARY KEY, customer_id text, amount bigint, running_total bigint)`);
  try {
    // Capture only: the topic into a fresh log, until every record is durable.
    const captureLog = await openEventLog({ dir: dir('capture'), backgroundVerifyDelayMs: null });
    let captured = 0;
    const startedCapture = performance.now();
    const capture = await captureIntoLog({
      kafka,
      topic,
      startFrom: 'earliest',
      offsetsFile: path.join(dir('offsets'), 'offsets.json'),
      log: { append: async (events) => ((captured += events.length), captureLog.append(events)) },
    });
    while (captured < KAFKA_EVENTS) await new Promise((resolve) => setTimeout(resolve, 20));
    const captureRate = KAFKA_EVENTS / ((performance.now() - startedCapture) / 1000);
    await capture.stop();
    await captureLog.close();

    // End to end: capture + keyed running total + PostgreSQL upserts, until the table is complete.
    const log = await openEventLog({ dir: dir('e2e'), backgroundVerifyDelayMs: null });
    const spec = parsePipelineSpec({
      version: 1,
      name: 'bench-kafka-pg',
      sources: [{ id: 'orders', kind: 'kafka', connection: 'bench', topic }],
      stages: [{ id: 'total', kind: 'keyed', inputs: ['orders'], script: 'total.js', key: 'key' }],
      sinks: [{ id: 'pg', kind: 'postgres', inputs: ['total'], connection: 'bench', table, key: ['order_id'] }],
      checkpoint: { interval: '1s', maxRecords: 10_000 },
    });
    const executor = new SandboxScriptExecutor({ workers: 1 });
    const started = performance.now();
    const e2eCapture = await captureIntoLog({ kafka, topic, startFrom: 'earliest', offsetsFile: path.join(dir('offsets2'), 'offsets.json'), log });
    const built = await buildPipeline(
      { spec, mode: 'live', dryRun: false, checkpoints: new FileCheckpointStore({ dir: dir('e2e-checkpoints') }) },
      {
        log,
        executor,
        warehouse: () => Warehouse.openShared(undefined),
        loadScript: async () =>
          `export default function (event, ctx) { const o = event.value; const total = (ctx.state.get('total') ?? 0) + o.amount; ctx.state.put('total', total); return { key: o.orderId, value: { order_id: o.orderId, customer_id: o.customerId, amount: o.amount, running_total: total } }; }`,
        connectPostgres: async () => {
          const sinkClient = new pg.Client({ connectionString: url });
          await sinkClient.connect();
          return sinkClient;
        },
      },
    );
    void PostgresSink;
    const runner = new PipelineRunner(built.runner);
    const controller = new AbortController();
    const running = runner.run(controller.signal);
    for (;;) {
      const rows = Number((await client.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
      if (rows >= KAFKA_EVENTS) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const e2eRate = KAFKA_EVENTS / ((performance.now() - started) / 1000);
    controller.abort();
    await running;
    await e2eCapture.stop();
    await built.close();
    await executor.close();
    await log.close();
    console.log(`  Kafka -> PostgreSQL: end to end ${Math.round(e2eRate)}/s, capture only ${Math.round(captureRate)}/s`);
    metrics.push({ name: 'kafka_to_postgres_e2e', value: Math.round(e2eRate), unit: 'events/s', peer: 'capture only (same topic, into the log)', peer_value: Math.round(captureRate), ratio: e2eRate / captureRate });
  } finally {
    await client.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await client.query(`DELETE FROM eddy_sink_progress WHERE pipeline = 'bench-kafka-pg'`).catch(() => undefined);
    await client.end();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

const metrics: Metric[] = [];
console.log(`pipeline benchmark: ${REPLAY_EVENTS} events replayed, ${KAFKA_EVENTS} through Kafka -> PostgreSQL${quick ? ' (quick)' : ''}`);
try {
  await replayBench(metrics);
  await kafkaBench(metrics);
} finally {
  for (const made of temp) rmSync(made, { recursive: true, force: true });
}
const rows = metrics.map((metric) => [metric.name, `${metric.value} ${metric.unit}`, metric.peer ?? '', metric.peer_value !== undefined ? String(metric.peer_value) : '', metric.ratio !== undefined ? metric.ratio.toFixed(2) : '', metric.goal ?? '']);
const header = ['metric', 'value', 'peer', 'peer value', 'ratio', 'goal'];
const widths = header.map((title, index) => Math.max(title.length, ...rows.map((row) => row[index]!.length)));
const format = (row: string[]): string => row.map((cell, index) => cell.padEnd(widths[index]!)).join('  ');
console.log(format(header));
console.log(widths.map((width) => '-'.repeat(width)).join('  '));
for (const row of rows) console.log(format(row));
console.log(JSON.stringify({ bench: 'pipeline', metrics: metrics.map((metric) => ({ ...metric, ratio: metric.ratio === undefined ? undefined : Math.round(metric.ratio * 100) / 100 })) }));
