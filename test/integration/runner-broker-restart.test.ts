// The production runner across a broker restart: a keyed running count over 60k records, the
// broker restarted (test/services/kafka.sh restart) while the runner is mid-stream. The runner must
// come back by itself, and a read_committed reader of the sink must see exactly what the app's run
// of the same pipeline produces: nothing lost, nothing duplicated, per-key order kept.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import type { NewEvent } from '../../shared/events.js';
import { parsePipelineSpec } from '../../shared/pipeline-spec.js';
import { runSpecOnFixtures } from '../../main/engine/pipelines/pipeline-test.js';
import { InProcessScriptExecutor } from '../../main/engine/pipelines/scripts.js';
import { ProductionRunner } from '../../runner/production.js';
import { createTopics, removeTestTopics } from '../support/kafka-topics.js';
import { findKafka } from '../support/services.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const brokers = await findKafka();
const HALF = 30_000;
const KEYS = 100;
const id = `${process.pid}-${Date.now().toString(36)}`;
const inputTopic = `eddy-rb-in-${id}`;
const outputTopic = `eddy-rb-out-${id}`;
const group = `eddy-rb-${id}`;
const SCRIPT = `export default function (event, ctx) {
  const count = (ctx.state.get('count') ?? 0) + 1;
  ctx.state.put('count', count);
  return { key: event.key, value: { seq: event.value.seq, count } };
}`;
const spec = parsePipelineSpec({
  version: 1,
  name: `runner_restart_${id.replace(/[^A-Za-z0-9_]/g, '_')}`,
  sources: [{ id: 'in', kind: 'kafka', connection: 'cluster', topic: inputTopic, group }],
  stages: [{ id: 'count', kind: 'keyed', inputs: ['in'], script: 'count.js', key: 'key' }],
  sinks: [{ id: 'out', kind: 'kafka', inputs: ['count'], connection: 'cluster', topic: outputTopic }],
});

describe.runIf(brokers)('production runner: a broker restart mid-stream', () => {
  const kafka = new Kafka({ clientId: 'eddy-runner-restart-test', brokers: brokers ?? [], logLevel: logLevel.NOTHING, retry: { retries: 20, maxRetryTime: 5000 } });
  afterAll(async () => {
    await removeTestTopics(kafka, id, [group]);
  });

  it('comes back by itself and the sink holds every output exactly once, in order per key', { timeout: 400_000 }, async () => {
    await createTopics(kafka, [
        { topic: inputTopic, numPartitions: 2 },
        { topic: outputTopic, numPartitions: 2 },
      ]);
    const inputs = Array.from({ length: 2 * HALF }, (_, seq) => ({ key: `k${(seq * 31) % KEYS}`, value: { seq } }));
    const produce = async (from: number, to: number): Promise<void> => {
      const producer = kafka.producer();
      await producer.connect();
      for (let start = from; start < to; start += 5000) {
        await producer.send({ topic: inputTopic, acks: -1, messages: inputs.slice(start, Math.min(to, start + 5000)).map((input) => ({ key: input.key, value: JSON.stringify(input.value) })) });
      }
      await producer.disconnect();
    };

    const fixtures: NewEvent[] = inputs.map((input, index) => ({ stream: `kafka:${inputTopic}`, position: `p${index}`, key: input.key, value: input.value, eventTime: index, ingestTime: index }));
    const inApp = await runSpecOnFixtures(spec, fixtures, { loadScript: async () => SCRIPT });
    const expected = new Map<string, string[]>();
    for (const row of inApp.sinks.get('out') ?? []) {
      const list = expected.get(String(row.key)) ?? [];
      list.push(JSON.stringify(row.value));
      expected.set(String(row.key), list);
    }

    const logs: string[] = [];
    const runner = new ProductionRunner({
      spec,
      kafka,
      group,
      inputTopics: [{ source: 'in', topic: inputTopic }],
      changelogTopics: [{ stage: 'count', topic: `${group}.count.changelog` }],
      deadLetterTopic: `eddy-rb-dead-${id}`,
      executor: new InProcessScriptExecutor(),
      loadScript: async () => SCRIPT,
      log: (level, message) => void logs.push(`${level}: ${message}`),
      sessionTimeoutMs: 10_000,
    });
    const actual = new Map<string, string[]>();
    let received = 0;
    const reader = kafka.consumer({ groupId: `${group}-check`, readUncommitted: false });
    const waitFor = async (what: string, check: () => boolean, timeoutMs: number): Promise<void> => {
      const deadline = Date.now() + timeoutMs;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what} (${received} outputs, runner ${runner.state}).\n${logs.slice(-30).join('\n')}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };
    try {
      await produce(0, HALF);
      await runner.start();
      await reader.connect();
      await reader.subscribe({ topics: [outputTopic], fromBeginning: true });
      await reader.run({
        eachMessage: async ({ message }) => {
          const key = message.key!.toString('utf8');
          const list = actual.get(key) ?? [];
          list.push(JSON.stringify(JSON.parse(message.value!.toString('utf8'))));
          actual.set(key, list);
          received++;
        },
      });
      await waitFor('the first outputs', () => received >= HALF / 3, 120_000);
      const restart = spawnSync('bash', [path.join(ROOT, 'test', 'services', 'kafka.sh'), 'restart'], { encoding: 'utf8', timeout: 180_000 });
      if (restart.status !== 0) {
        const again = spawnSync('bash', [path.join(ROOT, 'test', 'services', 'kafka.sh'), 'start'], { encoding: 'utf8', timeout: 180_000 });
        expect(again.status, `${restart.stderr.slice(-2000)}\n${again.stderr.slice(-2000)}`).toBe(0);
      }
      await produce(HALF, 2 * HALF);
      await waitFor('every output', () => received >= 2 * HALF, 240_000);
      await new Promise((resolve) => setTimeout(resolve, 3000));
    } finally {
      await reader.disconnect().catch(() => undefined);
      await runner.shutdown();
    }
    expect(received).toBe(2 * HALF);
    expect(actual.size).toBe(KEYS);
    for (const [key, list] of expected) expect(actual.get(key), `outputs of ${key}`).toEqual(list);
    expect(runner.state).toBe('stopped');
    console.log(`broker restart: ${runner.metrics.transactions} transactions, ${runner.metrics.abortedTransactions} failed batches read again, ${runner.metrics.restores} task restores; runner said:\n  ${logs.filter((line) => !line.startsWith('info: Task')).slice(-8).join('\n  ')}`);
  });
});
