// Dead letters in the production runner, against the real broker: a record that fails its stage
// every time (a poison record) and one that is not JSON (kept as text, as the app's capture keeps it)
// end on the dead-letter topic with the error, the stage, the attempts, the origin position and the
// input. The other records flow on, and the sink holds exactly what the app's run writes.
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import type { NewEvent } from '../../shared/events.js';
import { parsePipelineSpec } from '../../shared/pipeline-spec.js';
import { runSpecOnFixtures } from '../../main/engine/pipelines/pipeline-test.js';
import { InProcessScriptExecutor } from '../../main/engine/pipelines/scripts.js';
import { ProductionRunner } from '../../runner/production.js';
import { createTopics, removeTestTopics } from '../support/kafka-topics.js';
import { findKafka } from '../support/services.js';

const brokers = await findKafka();
const id = `${process.pid}-${Date.now().toString(36)}`;
const inputTopic = `eddy-rd-in-${id}`;
const outputTopic = `eddy-rd-out-${id}`;
const deadTopic = `eddy-rd-dead-${id}`;
const group = `eddy-rd-${id}`;
const SCRIPT = `export default function (event) {
  if (event.value.poison) throw new Error('poison record ' + event.value.n);
  return { value: { n: event.value.n, double: event.value.n * 2 } };
}`;
const spec = parsePipelineSpec({
  version: 1,
  name: `runner_dead_${id.replace(/[^A-Za-z0-9_]/g, '_')}`,
  sources: [{ id: 'in', kind: 'kafka', connection: 'cluster', topic: inputTopic, group }],
  stages: [{ id: 'double', kind: 'transform', inputs: ['in'], script: 'double.js' }],
  sinks: [{ id: 'out', kind: 'kafka', inputs: ['double'], connection: 'cluster', topic: outputTopic }],
  retries: { maxAttempts: 2, backoff: '10ms', maxBackoff: '20ms' },
});

describe.runIf(brokers)('production runner: dead letters', () => {
  const kafka = new Kafka({ clientId: 'eddy-runner-dead-test', brokers: brokers ?? [], logLevel: logLevel.NOTHING });
  afterAll(async () => {
    await removeTestTopics(kafka, id, [group]);
  });

  it('sends poison and malformed records to the dead-letter topic and goes on', { timeout: 120_000 }, async () => {
    await createTopics(kafka, [{ topic: inputTopic }, { topic: outputTopic }]);
    const values = Array.from({ length: 200 }, (_, n) => (n === 57 || n === 140 ? { n, poison: true } : { n }));
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: inputTopic,
      acks: -1,
      messages: [...values.slice(0, 100).map((value) => ({ key: `k${value.n}`, value: JSON.stringify(value) })), { key: 'broken', value: '{"n": 1000, "truncated' }, ...values.slice(100).map((value) => ({ key: `k${value.n}`, value: JSON.stringify(value) }))],
    });
    await producer.disconnect();

    const fixtures: NewEvent[] = values.map((value, index) => ({ stream: `kafka:${inputTopic}`, position: `p${index}`, key: `k${value.n}`, value, eventTime: index, ingestTime: index }));
    const inApp = await runSpecOnFixtures(spec, fixtures, { loadScript: async () => SCRIPT });
    const expected = (inApp.sinks.get('out') ?? []).map((row) => JSON.stringify(row.value));
    expect(expected).toHaveLength(198);
    expect(inApp.deadLetters.map((letter) => letter.stage)).toEqual(['double', 'double']);

    const runner = new ProductionRunner({
      spec,
      kafka,
      group,
      inputTopics: [{ source: 'in', topic: inputTopic }],
      changelogTopics: [],
      deadLetterTopic: deadTopic,
      executor: new InProcessScriptExecutor(),
      loadScript: async () => SCRIPT,
      log: () => undefined,
      sessionTimeoutMs: 6000,
    });
    const outputs: string[] = [];
    const letters: { headers: Record<string, string>; value: { stage: string; error: { message: string }; attempts: number; origin: { position: string }; input: { value: unknown } } }[] = [];
    const reader = kafka.consumer({ groupId: `${group}-check`, readUncommitted: false });
    try {
      await runner.start();
      await reader.connect();
      await reader.subscribe({ topics: [outputTopic, deadTopic], fromBeginning: true });
      await reader.run({
        eachMessage: async ({ topic, message }) => {
          if (topic === outputTopic) outputs.push(JSON.stringify(JSON.parse(message.value!.toString('utf8'))));
          else
            letters.push({
              headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)])),
              value: JSON.parse(message.value!.toString('utf8')) as (typeof letters)[number]['value'],
            });
        },
      });
      const deadline = Date.now() + 60_000;
      while ((outputs.length < expected.length || letters.length < 3) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
      await new Promise((resolve) => setTimeout(resolve, 1500));
    } finally {
      await reader.disconnect().catch(() => undefined);
      await runner.shutdown();
    }
    expect(outputs).toEqual(expected);
    expect(letters).toHaveLength(3);
    const byInput = new Map(letters.map((letter) => [JSON.stringify(letter.value.input.value), letter]));
    for (const n of [57, 140]) {
      const letter = byInput.get(JSON.stringify({ n, poison: true }))!;
      expect(letter.value.stage).toBe('double');
      expect(letter.value.error.message).toContain(`poison record ${n}`);
      expect(letter.value.attempts).toBe(2);
      expect(letter.value.origin.position).toMatch(new RegExp(`^kafka:${inputTopic}/0/\\d+$`));
      expect(letter.headers['eddy-stage']).toBe('double');
    }
    // Not JSON: kept as text with a decode note (as the app's capture does), so it reaches the
    // script, whose output (NaN) is not JSON: a dead letter of that stage, at its own position.
    const broken = letters.find((letter) => letter.value.origin.position === `kafka:${inputTopic}/0/100`)!;
    expect(broken.value.input.value).toBe('{"n": 1000, "truncated');
    expect(broken.value.stage).toBe('double');
    expect(broken.value.error.message).toMatch(/not JSON/);
    expect(runner.metrics.deadLetters).toBe(3);
  });
});
