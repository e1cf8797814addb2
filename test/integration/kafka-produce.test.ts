// Producing with a real broker: one message with JSON validation; a replay of captured events to a
// new topic that reproduces keys, values (bytes included) and headers; bulk produce from JSONL.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from 'kafkajs';
import { findKafka } from '../support/services.js';
import { consumeAll, createTopic, deleteTopics, produceAll, startTestEngine, testKafka, uniqueTopic, type TestEngine } from './kafka-helpers.js';

const brokers = await findKafka();

function headerText(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(headerText);
  return Buffer.isBuffer(value) ? value.toString('base64') : value;
}

describe.runIf(brokers)('kafka produce, replay and bulk produce', () => {
  const kafka = testKafka(brokers ?? []);
  const connection = { brokers: brokers ?? [] };
  const topics: string[] = [];
  let engine: TestEngine;

  beforeAll(async () => {
    engine = await startTestEngine();
  });
  afterAll(async () => {
    await engine?.close();
    await deleteTopics(kafka, topics);
  });

  it('produces one message with key and headers, and refuses invalid JSON with its line and column', async () => {
    const topic = uniqueTopic('one');
    topics.push(topic);
    await createTopic(kafka, topic, 1);
    await expect(engine.call('produceKafkaMessage', { connection, topic, key: 'k', value: '{\n  "a": 1,\n  "b": \n}' })).rejects.toMatchObject({
      code: 'VALIDATION',
      message: expect.stringMatching(/line 4, column 1/),
    });
    // A partition the topic does not have is refused: the producer would drop the message and call it sent.
    await expect(engine.call('produceKafkaMessage', { connection, topic, partition: 7, key: 'k', value: '{}' })).rejects.toMatchObject({
      code: 'VALIDATION',
      message: `Topic "${topic}" has partitions 0 to 0; there is no partition 7.`,
    });
    const first = await engine.call('produceKafkaMessage', { connection, topic, key: 'order-1', value: '{ "total": 12.5 }', headers: [{ key: 'trace', value: 't-1' }] });
    expect(first).toEqual({ topic, partition: 0, offset: 0 });
    await engine.call('produceKafkaMessage', { connection, topic, key: 'order-2', value: 'not json at all', format: 'text' });
    await engine.call('produceKafkaMessage', { connection, topic, key: 'order-1', value: null });
    const read = await consumeAll(kafka, topic, { expected: 3 });
    expect(read.map((message) => [message.key?.toString(), message.value?.toString() ?? null])).toEqual([
      ['order-1', '{"total":12.5}'],
      ['order-2', 'not json at all'],
      ['order-1', null],
    ]);
    expect(read[0]!.headers.trace?.toString()).toBe('t-1');
  });

  it('never creates a topic by producing to it unless asked to (the broker auto-creates topics)', async () => {
    const typo = uniqueTopic('typo');
    topics.push(typo);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const refusal = { code: 'NOT_FOUND', message: expect.stringContaining(`No topic named "${typo}"`) };
      await expect(engine.call('produceKafkaMessage', { connection, topic: typo, key: 'k', value: '{"a":1}' })).rejects.toMatchObject(refusal);
      await expect(engine.call('produceKafkaFile', { connection, topic: typo, text: '{"key":"a","value":1}' })).rejects.toMatchObject(refusal);
      const source = uniqueTopic('typo-src');
      topics.push(source);
      await createTopic(kafka, source, 1);
      await produceAll(kafka, source, [{ key: 'x', value: '{"n":1}' }]);
      await engine.waitJob((await engine.call('startKafkaCapture', { connection, topics: [{ topic: source }] })).id);
      await expect(engine.call('replayToKafka', { connection, stream: `kafka:${source}`, topic: typo })).rejects.toMatchObject(refusal);
      expect(await admin.listTopics()).not.toContain(typo);
      // Asked to, it creates the topic with the broker's defaults and sends.
      const sent = await engine.call('produceKafkaMessage', { connection, topic: typo, key: 'k', value: '{"a":1}', createTopic: true });
      expect(sent).toMatchObject({ topic: typo, offset: 0 });
      expect(await admin.listTopics()).toContain(typo);
      const read = await consumeAll(kafka, typo, { expected: 1 });
      expect(read.map((message) => message.value?.toString())).toEqual(['{"a":1}']);
    } finally {
      await admin.disconnect();
    }
  });

  it('replays captured events to a new topic with the same keys, values and headers', async () => {
    const source = uniqueTopic('replay-src');
    const target = uniqueTopic('replay-dst');
    topics.push(source, target);
    await createTopic(kafka, source, 3);
    await createTopic(kafka, target, 3);
    const messages: Message[] = [];
    for (let index = 0; index < 300; index++) {
      const kind = index % 6;
      const message: Message = { key: `key-${index % 40}`, value: JSON.stringify({ index, nested: { ok: true } }), headers: { seq: String(index), origin: 'test' } };
      if (kind === 1) message.value = `plain text line ${index}`;
      if (kind === 2) message.value = Buffer.from([0, 1, 2, 0xff, index % 256]);
      if (kind === 3) message.value = null;
      if (kind === 4) message.value = Buffer.alloc(0);
      if (kind === 5) {
        message.key = Buffer.from([0xfe, 0xff, index % 256]);
        message.headers = { bin: Buffer.from([0xc0, index % 256]), seq: [String(index), 'again'] };
      }
      messages.push(message);
    }
    await produceAll(kafka, source, messages);
    const captured = await engine.call('startKafkaCapture', { connection, topics: [{ topic: source }] });
    expect((await engine.waitJob(captured.id)).done).toBe(300);

    const replay = await engine.call('replayToKafka', { connection, stream: `kafka:${source}`, topic: target, keepPartitions: true });
    const done = await engine.waitJob(replay.id);
    expect(done.state, done.message).toBe('succeeded');
    expect(done.message).toMatch(/Replayed 300 event/);

    const original = await consumeAll(kafka, source, { expected: 300 });
    const replayed = await consumeAll(kafka, target, { expected: 300 });
    expect(replayed).toHaveLength(300);
    const describe = (message: (typeof original)[number]) =>
      JSON.stringify([
        message.partition,
        message.key?.toString('base64') ?? null,
        message.value?.toString('base64') ?? null,
        Object.fromEntries(Object.entries(message.headers).map(([key, value]) => [key, headerText(value)])),
      ]);
    // Same records, and within each partition the same order.
    const byPartition = (list: typeof original) => [0, 1, 2].map((partition) => list.filter((message) => message.partition === partition).map(describe));
    expect(byPartition(replayed)).toEqual(byPartition(original));
    // Tombstones stay tombstones and empty values stay empty.
    expect(replayed.filter((message) => message.value === null)).toHaveLength(50);
    expect(replayed.filter((message) => message.value?.length === 0)).toHaveLength(50);

    // Keeping partitions into a topic created for it: created with the 3 partitions the events came from.
    const created = uniqueTopic('replay-new');
    topics.push(created);
    const into = await engine.call('replayToKafka', { connection, stream: `kafka:${source}`, topic: created, keepPartitions: true, createTopic: true });
    const intoDone = await engine.waitJob(into.id);
    expect(intoDone.state, intoDone.message).toBe('succeeded');
    expect((await engine.call('describeKafkaTopic', { connection, topic: created })).partitions).toHaveLength(3);
    expect(byPartition(await consumeAll(kafka, created, { expected: 300 }))).toEqual(byPartition(original));
  });

  it('replays a selection of events only', async () => {
    const source = uniqueTopic('sel-src');
    const target = uniqueTopic('sel-dst');
    topics.push(source, target);
    await createTopic(kafka, source, 1);
    await createTopic(kafka, target, 1);
    await produceAll(
      kafka,
      source,
      Array.from({ length: 50 }, (_, index) => ({ key: String(index), value: JSON.stringify({ index }) })),
    );
    await engine.waitJob((await engine.call('startKafkaCapture', { connection, topics: [{ topic: source }] })).id);
    const positions = [3, 17, 42].map((offset) => `kafka:${source}/0/${offset}`);
    const job = await engine.call('replayToKafka', { connection, stream: `kafka:${source}`, topic: target, positions });
    expect((await engine.waitJob(job.id)).message).toMatch(/Replayed 3 event/);
    const read = await consumeAll(kafka, target, { expected: 3 });
    expect(read.map((message) => message.key?.toString())).toEqual(['3', '17', '42']);
  });

  it('bulk produces JSONL from pasted text and from a workspace file, skipping bad lines', async () => {
    const topic = uniqueTopic('bulk');
    topics.push(topic);
    await createTopic(kafka, topic, 1);
    const lines = [
      JSON.stringify({ key: 'a', value: { n: 1 }, headers: { h: 'x' } }),
      '{"key": "b", "value": "text value"}',
      '{"key": "c", "value": {"n": ',
      JSON.stringify({ topic: 'ignored', partition: 0, offset: 9, tstype: 'create', ts: 1_700_000_000_000, key: 'd', payload: '{"from":"kcat"}', headers: ['h1', 'v1', 'h2', 'v2'] }),
      '',
      JSON.stringify({ key: 'e', value: { base64: Buffer.from([1, 2, 3]).toString('base64') } }),
      JSON.stringify({ key: 'f', value: 'to a partition that does not exist', partition: 9 }),
    ];
    const pasted = await engine.call('produceKafkaFile', { connection, topic, text: lines.join('\n') });
    const done = await engine.waitJob(pasted.id);
    expect(done.state).toBe('succeeded');
    expect(done.message).toMatch(/Produced 4 message/);
    expect(done.message).toMatch(/Skipped 2 bad line\(s\) \(line 3: not valid JSON/);
    expect(done.message).toMatch(/line 7: "partition" 9 does not exist/);

    writeFileSync(path.join(engine.workspace, 'orders.jsonl'), Array.from({ length: 2500 }, (_, index) => JSON.stringify({ key: `o-${index}`, value: { index } })).join('\n') + '\n');
    const file = await engine.call('produceKafkaFile', { connection, topic, path: 'orders.jsonl' });
    expect((await engine.waitJob(file.id)).message).toMatch(/Produced 2,500 message/);

    const read = await consumeAll(kafka, topic, { expected: 2504 });
    expect(read).toHaveLength(2504);
    expect(read.slice(0, 4).map((message) => [message.key?.toString(), message.value?.toString('base64')])).toEqual([
      ['a', Buffer.from('{"n":1}').toString('base64')],
      ['b', Buffer.from('text value').toString('base64')],
      ['d', Buffer.from('{"from":"kcat"}').toString('base64')],
      ['e', Buffer.from([1, 2, 3]).toString('base64')],
    ]);
    expect(read[2]!.timestamp).toBe('1700000000000');
    expect(read[2]!.headers.h2?.toString()).toBe('v2');

    const strict = await engine.call('produceKafkaFile', { connection, topic, text: 'nope\n', onBadLine: 'fail' });
    const failed = await engine.waitJob(strict.id);
    expect(failed.state).toBe('failed');
    expect(failed.error?.message).toMatch(/Line 1 of the pasted lines: not valid JSON/);
    await expect(engine.call('produceKafkaFile', { connection, topic, path: 'missing.jsonl' }).then((job) => engine.waitJob(job.id))).resolves.toMatchObject({ state: 'failed', error: { code: 'NOT_FOUND' } });
  });
});
