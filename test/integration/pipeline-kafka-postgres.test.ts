// Kafka -> keyed running total -> PostgreSQL, 200k records, through `eddy run` in a child process:
// the engine is killed with SIGKILL twice and the broker restarted once during the run. Afterwards
// the table equals the expected final state exactly (no lost, no duplicated, no wrong running
// total) and the dead-letter stream holds exactly the poison records injected (issue 7).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import pg from 'pg';
import { findKafka, findPostgres } from '../support/services.js';
import { ensureBuilt, repoRoot } from '../support/web-app.js';
import { openEventLog } from '../../main/engine/log/index.js';

const RECORDS = Number(process.env.EDDY_PIPELINE_RECORDS ?? 200_000);
const CUSTOMERS = 1000;
const PARTITIONS = 4;
const brokers = await findKafka();
const pgUrl = brokers ? await findPostgres() : undefined;
const enabled = Boolean(brokers && pgUrl);

const suffix = `${process.pid}_${Date.now().toString(36)}`;
const topic = `eddy-pipeline-orders-${suffix}`;
const table = `pipeline_orders_${suffix}`;
let workspace: string;
let dataDir: string;
let admin: pg.Client;
let child: ChildProcess | undefined;
let output = '';

interface Expected {
  rows: Map<number, { customer: string; amount: number; total: number }>;
  poison: Set<number>;
}

function makeWorkspace(): void {
  workspace = mkdtempSync(path.join(os.tmpdir(), 'eddy-pipeline-ws-'));
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'eddy-pipeline-data-'));
  mkdirSync(path.join(workspace, 'connections'));
  mkdirSync(path.join(workspace, 'pipelines', 'scripts'), { recursive: true });
  writeFileSync(path.join(workspace, 'eddy-workspace.json'), JSON.stringify({ name: 'pipeline crash test', version: 1, samples: [] }));
  writeFileSync(path.join(workspace, 'connections', 'local-kafka.json'), JSON.stringify({ id: 'local-kafka', name: 'test broker', kind: 'kafka', brokers }));
  const url = new URL(pgUrl!);
  writeFileSync(
    path.join(workspace, 'connections', 'test-pg.json'),
    JSON.stringify({
      id: 'test-pg',
      name: 'test database',
      kind: 'postgres',
      host: url.hostname,
      port: Number(url.port || 5432),
      database: decodeURIComponent(url.pathname.slice(1)) || 'postgres',
      user: decodeURIComponent(url.username) || 'postgres',
      ...(url.password ? { password: '${env:EDDY_TEST_PG_PASSWORD}' } : {}),
      ssl: 'disable',
    }),
  );
  writeFileSync(
    path.join(workspace, 'pipelines', 'scripts', 'running-total.js'),
    `export default function (event, ctx) {
  const order = event.value;
  if (order === null || typeof order !== 'object') throw new Error('not an order: ' + String(order).slice(0, 40));
  if (order.poison) throw new Error('poison order ' + order.orderId);
  const total = (ctx.state.get('total') ?? 0) + order.amount;
  ctx.state.put('total', total);
  return { key: order.orderId, value: { order_id: order.orderId, customer_id: order.customerId, amount: order.amount, running_total: total } };
}
`,
  );
  writeFileSync(
    path.join(workspace, 'pipelines', 'orders.pipeline.json'),
    JSON.stringify(
      {
        version: 1,
        name: 'orders-to-pg',
        sources: [{ id: 'orders', kind: 'kafka', connection: 'local-kafka', topic, startFrom: 'earliest' }],
        stages: [{ id: 'running-total', kind: 'keyed', inputs: ['orders'], script: 'pipelines/scripts/running-total.js', key: 'key' }],
        sinks: [{ id: 'pg', kind: 'postgres', inputs: ['running-total'], connection: 'test-pg', table: `public.${table}`, key: ['order_id'] }],
        retries: { maxAttempts: 2, backoff: '10ms', maxBackoff: '200ms' },
        checkpoint: { interval: '1s', maxRecords: 10_000 },
      },
      null,
      2,
    ),
  );
}

interface Produced extends Expected {
  /** Sends records [from, to) of the planned sequence. */
  send(from: number, to: number): Promise<void>;
}

async function produce(): Promise<Produced> {
  const kafka = new Kafka({ clientId: 'eddy-pipeline-test', brokers: brokers!, logLevel: logLevel.NOTHING });
  const kafkaAdmin = kafka.admin();
  await kafkaAdmin.connect();
  await kafkaAdmin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  await kafkaAdmin.disconnect();
  const expected: Expected = { rows: new Map(), poison: new Set() };
  const totals = new Map<string, number>();
  const planned: { key: string; value: string }[] = [];
  // Poison: every 8000th record makes the script throw; every 40000th is truncated JSON.
  for (let index = 0; index < RECORDS; index++) {
    const orderId = 1_000_000 + index;
    const customer = `c${(index * 7919) % CUSTOMERS}`;
    const amount = (index % 97) + 1;
    let value: string;
    if (index % 8000 === 4321) {
      value = JSON.stringify({ orderId, customerId: customer, poison: true });
      expected.poison.add(orderId);
    } else if (index % 40000 === 777) {
      value = `{"orderId": ${orderId}, "customerId": "${customer}", "amou`;
      expected.poison.add(orderId);
    } else {
      value = JSON.stringify({ orderId, customerId: customer, amount });
      const total = (totals.get(customer) ?? 0) + amount;
      totals.set(customer, total);
      expected.rows.set(orderId, { customer, amount, total });
    }
    planned.push({ key: customer, value });
  }
  return {
    ...expected,
    async send(from, to) {
      const producer = new Kafka({ clientId: 'eddy-pipeline-test', brokers: brokers!, logLevel: logLevel.NOTHING }).producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
      await producer.connect();
      for (let index = from; index < to; index += 5000) await producer.send({ topic, messages: planned.slice(index, Math.min(to, index + 5000)), acks: -1 });
      await producer.disconnect();
    },
  };
}

function startEngine(): ChildProcess {
  const started = spawn(process.execPath, [path.join(repoRoot, 'bin', 'eddy.mjs'), 'run', 'pipelines/orders.pipeline.json', '--workspace', workspace], {
    cwd: workspace,
    env: { ...process.env, EDDY_DATA_DIR: dataDir, EDDY_TEST_PG_PASSWORD: new URL(pgUrl!).password ? decodeURIComponent(new URL(pgUrl!).password) : '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  started.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return started;
}

/** The shared server may be restarted by another suite: reconnect whenever the client is lost. */
async function connectAdmin(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: pgUrl });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

async function query<T>(sql: string): Promise<T[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await admin.query(sql)).rows as T[];
    } catch (error) {
      if (attempt >= 30) throw error;
      await admin.end().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      admin = await connectAdmin().catch(() => admin);
    }
  }
}

async function count(): Promise<number> {
  return Number((await query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0]!.n);
}

async function waitForRows(atLeast: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await count();
    if (rows >= atLeast) return rows;
    if (Date.now() > deadline) throw new Error(`only ${rows} of ${atLeast} rows after ${timeoutMs} ms\n${output.slice(-4000)}`);
    if (child && child.exitCode !== null) throw new Error(`eddy run exited with ${child.exitCode}\n${output.slice(-4000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function kill(signal: NodeJS.Signals): Promise<void> {
  const target = child!;
  return new Promise((resolve) => {
    if (target.exitCode !== null || target.signalCode !== null) return resolve();
    target.once('exit', () => resolve());
    target.kill(signal);
  });
}

describe.runIf(enabled)('Kafka to PostgreSQL through a stateful pipeline, with crashes', () => {
  beforeAll(async () => {
    ensureBuilt(false);
    admin = await connectAdmin();
    await admin.query(`CREATE TABLE ${table} (order_id bigint PRIMARY KEY, customer_id text NOT NULL, amount bigint NOT NULL, running_total bigint NOT NULL)`);
    makeWorkspace();
  });

  afterAll(async () => {
    if (child) await kill('SIGKILL');
    await admin?.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await admin?.query(`DELETE FROM eddy_sink_progress WHERE pipeline = 'orders-to-pg'`).catch(() => undefined);
    await admin?.end();
    const kafka = new Kafka({ clientId: 'eddy-pipeline-test', brokers: brokers!, logLevel: logLevel.NOTHING }).admin();
    await kafka.connect().then(() => kafka.deleteTopics({ topics: [topic] })).catch(() => undefined);
    await kafka.disconnect().catch(() => undefined);
    if (workspace) rmSync(workspace, { recursive: true, force: true });
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it(
    `${RECORDS} records: SIGKILL twice, broker restart once; the table is exact and the dead letters are the poison`,
    async () => {
      const started = Date.now();
      const expected = await produce();
      const total = expected.rows.size;
      const half = Math.floor(RECORDS / 2);
      await expected.send(0, half);
      const timeline: string[] = [`produced ${half} in ${Date.now() - started} ms`];

      child = startEngine();
      timeline.push(`kill 1 at ${await waitForRows(Math.floor(total * 0.2), 120_000)} rows`);
      await kill('SIGKILL');
      child = startEngine();

      timeline.push(`broker restart at ${await waitForRows(Math.floor(total * 0.45), 120_000)} rows`);
      const script = path.join(repoRoot, 'test', 'services', 'kafka.sh');
      const restart = spawnSync('bash', [script, 'restart'], { encoding: 'utf8', timeout: 120_000 });
      if (restart.status !== 0) {
        // The broker is shared: another suite may have restarted it at the same moment. What
        // matters is that it went away and came back; make sure it is up.
        const again = spawnSync('bash', [script, 'start'], { encoding: 'utf8', timeout: 120_000 });
        expect(again.status, `${restart.stderr.slice(-2000)}\n${again.stderr.slice(-2000)}`).toBe(0);
      }
      timeline.push(`broker back after ${Date.now() - started} ms`);
      // The second half only exists after the restart: the capture must have come back to read it.
      await expected.send(half, RECORDS);
      timeline.push(`produced the rest by ${Date.now() - started} ms`);

      const second = await waitForRows(Math.floor(total * 0.7), 120_000);
      timeline.push(`kill 2 at ${second} rows`);
      expect(second).toBeLessThan(total);
      await kill('SIGKILL');
      child = startEngine();

      await waitForRows(total, 150_000);
      timeline.push(`all ${total} rows after ${Date.now() - started} ms`);
      // Let the last epoch checkpoint, then stop gracefully.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await kill('SIGTERM');
      child = undefined;
      console.log(timeline.join('\n'));

      const rows = await query<{ order_id: string; customer_id: string; amount: string; running_total: string }>(`SELECT order_id, customer_id, amount, running_total FROM ${table}`);
      expect(rows.length).toBe(total);
      let wrong = 0;
      for (const row of rows) {
        const want = expected.rows.get(Number(row.order_id));
        if (!want || want.customer !== row.customer_id || want.amount !== Number(row.amount) || want.total !== Number(row.running_total)) wrong++;
      }
      expect(wrong).toBe(0);

      const log = await openEventLog({ dir: path.join(workspace, '.eddy', 'log'), backgroundVerifyDelayMs: null });
      try {
        const letters: { stage: string; orderId: number }[] = [];
        for await (const batch of log.replay({ streams: ['dead-letters:orders-to-pg'] })) {
          for (const event of batch) {
            const value = event.value as { stage: string; input: { value: unknown } };
            const match = /orderId\\?":\s*(\d+)/.exec(JSON.stringify(value.input.value) ?? '');
            letters.push({ stage: value.stage, orderId: match ? Number(match[1]) : -1 });
          }
        }
        expect(letters.length).toBe(expected.poison.size);
        expect(new Set(letters.map((letter) => letter.orderId))).toEqual(expected.poison);
        expect(new Set(letters.map((letter) => letter.stage))).toEqual(new Set(['running-total']));
      } finally {
        await log.close();
      }
      expect(Date.now() - started).toBeLessThan(240_000);
    },
    300_000,
  );
});
