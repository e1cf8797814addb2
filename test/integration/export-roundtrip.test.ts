// Issue 8 item 3, against the real broker: a stateful pipeline (a keyed running total per
// customer) is exported with `eddy export`; two runner processes start from the bundle in one
// consumer group; 100k records are fed; one runner is killed (SIGKILL) mid-way. The sink topic,
// read as read_committed, must end exactly as the in-app run of the same pipeline over the same
// input: the same records per key, in the same order, none lost, none duplicated. The survivor
// must have taken over the killed runner's partitions, restoring their state from the changelog.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import type { NewEvent } from '../../shared/events.js';
import { parsePipelineSpec } from '../../shared/pipeline-spec.js';
import { exportPipeline } from '../../main/engine/export/bundle.js';
import { runSpecOnFixtures } from '../../main/engine/pipelines/pipeline-test.js';
import { SandboxScriptExecutor } from '../../main/engine/pipelines/sandbox-executor.js';
import { createTopics, removeTestTopics } from '../support/kafka-topics.js';
import { findKafka } from '../support/services.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const brokers = await findKafka();
const RECORDS = 100_000;
const KEYS = 400;
const PARTITIONS = 4;
const id = `${process.pid}-${Date.now().toString(36)}`;
const inputTopic = `eddy-rt-orders-${id}`;
const outputTopic = `eddy-rt-totals-${id}`;
const group = `eddy-rt-${id}`;

const SCRIPT = `import type { Transform } from 'eddy';

// A running total and count per customer: keyed state that must survive a runner's death.
const transform: Transform = (event, ctx) => {
  const order = event.value as { seq: number; amount: number };
  const total = (ctx.state.get<number>('total') ?? 0) + order.amount;
  const count = (ctx.state.get<number>('count') ?? 0) + 1;
  ctx.state.put('total', total);
  ctx.state.put('count', count);
  return { key: event.key, value: { customer: event.key, seq: order.seq, total, count } };
};
export default transform;
`;

const specJson = {
  version: 1,
  name: `roundtrip_${id.replace(/[^A-Za-z0-9_]/g, '_')}`,
  sources: [{ id: 'orders', kind: 'kafka', connection: 'cluster', topic: inputTopic, group, startFrom: 'earliest' }],
  stages: [{ id: 'totals', kind: 'keyed', inputs: ['orders'], script: 'transforms/running-total.ts', key: 'key' }],
  sinks: [{ id: 'out', kind: 'kafka', inputs: ['totals'], connection: 'cluster', topic: outputTopic }],
  checkpoint: { interval: '1s', maxRecords: 5000 },
};

interface Runner {
  name: string;
  child: ChildProcess;
  output: string[];
  port: Promise<number>;
  exited: Promise<number | null>;
}

function startRunner(name: string, bundle: string): Runner {
  const child = spawn(process.execPath, [path.join(bundle, 'runner.js')], {
    cwd: bundle,
    env: {
      PATH: process.env.PATH,
      KAFKA_BOOTSTRAP_SERVERS: (brokers ?? []).join(','),
      EDDY_RUNNER_PORT: '0',
      EDDY_RUNNER_HOST: '127.0.0.1',
      EDDY_RUNNER_SESSION_TIMEOUT_MS: '6000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  let announce: (port: number) => void = () => undefined;
  const port = new Promise<number>((resolve) => (announce = resolve));
  const onData = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    output.push(text);
    const match = /Health and metrics on port (\d+)/.exec(text);
    if (match) announce(Number(match[1]));
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { name, child, output, port, exited };
}

async function getJson(port: number, route: string): Promise<{ status: number; body: string }> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${route}`);
    return { status: response.status, body: await response.text() };
  } catch (error) {
    return { status: 0, body: String(error) };
  }
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, runners: Runner[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    const died = runners.find((runner) => runner.child.exitCode !== null && !runner.child.killed);
    if (Date.now() > deadline || died) {
      throw new Error(`${Date.now() > deadline ? 'Timed out' : 'A runner exited'} waiting for ${what}.\n${runners.map((runner) => `--- ${runner.name}:\n${runner.output.join('').slice(-4000)}`).join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe.runIf(brokers)('exported runner: round trip on Kafka consumer groups', () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'eddy-roundtrip-'));
  const kafka = new Kafka({ clientId: 'eddy-roundtrip-test', brokers: brokers ?? [], logLevel: logLevel.NOTHING });
  const runners: Runner[] = [];

  afterAll(async () => {
    for (const runner of runners) if (runner.child.exitCode === null) runner.child.kill('SIGKILL');
    await removeTestTopics(kafka, id, [group]);
    // The runner's dead-letter topic is named after the pipeline, whose name spells the id with underscores.
    await removeTestTopics(kafka, specJson.name, []);
    rmSync(base, { recursive: true, force: true });
  });

  it('two runners, one killed mid-way: the sink equals the in-app run, nothing lost or duplicated', { timeout: 420_000 }, async () => {
    // The workspace and its export.
    const workspace = path.join(base, 'ws');
    await mkdir(path.join(workspace, 'connections'), { recursive: true });
    await mkdir(path.join(workspace, 'transforms'), { recursive: true });
    await mkdir(path.join(workspace, 'pipelines'), { recursive: true });
    await writeFile(path.join(workspace, 'eddy-workspace.json'), JSON.stringify({ name: 'roundtrip' }));
    await writeFile(path.join(workspace, 'connections', 'cluster.json'), JSON.stringify({ id: 'cluster', name: 'Cluster', kind: 'kafka', brokers: brokers ?? [] }));
    await writeFile(path.join(workspace, 'transforms', 'running-total.ts'), SCRIPT);
    await writeFile(path.join(workspace, 'pipelines', 'roundtrip.pipeline.json'), JSON.stringify(specJson, null, 2));
    const bundle = path.join(base, 'bundle');
    const exported = await exportPipeline({ root: workspace, pipeline: 'pipelines/roundtrip.pipeline.json', outDir: bundle });
    expect(exported.consumerGroup).toBe(group);
    expect(exported.files).toEqual(expect.arrayContaining(['runner.js', 'transform-worker.mjs', 'package.json', 'package-lock.json', 'Dockerfile']));
    // What `npm ci` would install from the bundle's lockfile: the same pinned packages as Eddy's.
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(bundle, 'node_modules'), 'dir');

    await createTopics(kafka, [
        { topic: inputTopic, numPartitions: PARTITIONS },
        { topic: outputTopic, numPartitions: PARTITIONS },
      ]);

    // The input, and the in-app run of the same pipeline over it.
    const inputs = Array.from({ length: RECORDS }, (_, seq) => ({ key: `c${(seq * 7919) % KEYS}`, value: { seq, amount: (seq % 97) - 20 } }));
    const fixtures: NewEvent[] = inputs.map((input, index) => ({
      stream: `kafka:${inputTopic}`,
      position: `${inputTopic}/x/${index}`,
      key: input.key,
      value: input.value,
      eventTime: 1_700_000_000_000 + index,
      ingestTime: 1_700_000_000_000 + index,
    }));
    const executor = new SandboxScriptExecutor({ workers: 1, graceMs: 5000 });
    const inApp = await runSpecOnFixtures(parsePipelineSpec(specJson), fixtures, { executor, loadScript: async () => SCRIPT }).finally(() => executor.close());
    const expected = new Map<string, string[]>();
    for (const row of inApp.sinks.get('out') ?? []) {
      const key = String(row.key);
      let list = expected.get(key);
      if (!list) expected.set(key, (list = []));
      list.push(JSON.stringify(row.value));
    }
    expect(inApp.deadLetters).toEqual([]);
    expect([...expected.values()].reduce((sum, list) => sum + list.length, 0)).toBe(RECORDS);

    // The sink as a read_committed reader sees it.
    const actual = new Map<string, string[]>();
    let received = 0;
    const reader = kafka.consumer({ groupId: `${group}-check`, readUncommitted: false });
    await reader.connect();
    await reader.subscribe({ topics: [outputTopic], fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        const key = message.key?.toString('utf8') ?? '';
        let list = actual.get(key);
        if (!list) actual.set(key, (list = []));
        list.push(JSON.stringify(JSON.parse(message.value?.toString('utf8') ?? 'null')));
        received++;
      },
    });

    try {
      const first = startRunner('runner-a', bundle);
      const second = startRunner('runner-b', bundle);
      runners.push(first, second);
      const [portA, portB] = await Promise.all([first.port, second.port]);
      await waitFor(
        'both runners to be healthy with partitions assigned',
        async () => {
          const [a, b] = await Promise.all([getJson(portA, '/health'), getJson(portB, '/health')]);
          if (a.status !== 200 || b.status !== 200) return false;
          const assigned = (body: string): number => Object.values((JSON.parse(body) as { assigned: Record<string, number[]> }).assigned).flat().length;
          return assigned(a.body) > 0 && assigned(b.body) > 0 && assigned(a.body) + assigned(b.body) === PARTITIONS;
        },
        90_000,
        runners,
      );

      const producer = kafka.producer();
      await producer.connect();
      for (let start = 0; start < RECORDS; start += 5000) {
        await producer.send({ topic: inputTopic, acks: -1, messages: inputs.slice(start, start + 5000).map((input) => ({ key: input.key, value: JSON.stringify(input.value) })) });
      }
      await producer.disconnect();

      // Kill one runner while the work is under way, without any chance to clean up.
      await waitFor('a third of the outputs', () => received >= RECORDS / 3, 240_000, runners);
      expect(received).toBeLessThan(RECORDS);
      const killedAt = received;
      first.child.kill('SIGKILL');
      await first.exited;

      await waitFor('every output', () => received >= RECORDS, 300_000, runners);
      // Anything duplicated would arrive after the count is reached: give it time to show.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(received).toBe(RECORDS);
      expect(actual.size).toBe(expected.size);
      for (const [key, list] of expected) expect(actual.get(key), `outputs of ${key}`).toEqual(list);

      // The survivor took over everything, restored the state it had not built itself, and says so.
      const health = await getJson(portB, '/health');
      expect(health.status).toBe(200);
      expect(Object.values((JSON.parse(health.body) as { assigned: Record<string, number[]> }).assigned).flat().sort()).toEqual([0, 1, 2, 3]);
      const metrics = (await getJson(portB, '/metrics')).body;
      expect(metrics).toMatch(/^# TYPE eddy_runner_records_in_total counter$/m);
      const value = (name: string): number => Number(new RegExp(`^${name}\\{[^}]*\\} (\\d+(?:\\.\\d+)?)$`, 'm').exec(metrics)?.[1] ?? NaN);
      expect(value('eddy_runner_state_restores_total')).toBeGreaterThanOrEqual(PARTITIONS / 2);
      expect(value('eddy_runner_restored_records_total')).toBeGreaterThan(0);
      expect(value('eddy_runner_records_in_total')).toBeGreaterThan(0);
      expect(value('eddy_runner_dead_letters_total')).toBe(0);
      console.log(
        `round trip: runner-a killed at ${killedAt}/${RECORDS} outputs; runner-b restored ${value('eddy_runner_state_restores_total')} tasks from ${value('eddy_runner_restored_records_total')} changelog records; ${received} outputs, ${expected.size} keys, all equal to the in-app run`,
      );

      // SIGTERM: a graceful stop, exit code 0.
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
      expect(second.output.join('')).toContain('SIGTERM');
    } finally {
      await reader.disconnect().catch(() => undefined);
    }
  });
});
