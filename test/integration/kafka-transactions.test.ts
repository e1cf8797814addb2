// The Kafka sink's transactional mode, verified rather than assumed: an aborted transaction leaves
// nothing for a read_committed consumer and no committed source offset; consume-transform-produce
// commits outputs and offsets together so every output is seen exactly once; a zombie producer
// with the same transactional id is fenced. The idempotent mode's batched writes are acked.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka, Message } from 'kafkajs';
import { consumeTransformProduce, KafkaSink } from '../../main/engine/kafka/sink.js';
import { findKafka } from '../support/services.js';
import { consumeAll, createTopic, deleteTopics, produceAll, sleep, testKafka, uniqueTopic } from './kafka-helpers.js';

const brokers = await findKafka();

async function committedOffsets(kafka: Kafka, groupId: string, topic: string): Promise<Record<number, string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Object.fromEntries((entry?.partitions ?? []).map((partition) => [partition.partition, partition.offset]));
  } finally {
    await admin.disconnect();
  }
}

describe.runIf(brokers)('kafka sink', () => {
  const kafka = testKafka(brokers ?? []);
  const topics: string[] = [];
  const source = uniqueTopic('tx-src');
  const RECORDS = 100;

  beforeAll(async () => {
    topics.push(source);
    await createTopic(kafka, source, 2);
    const messages: Message[] = Array.from({ length: RECORDS }, (_, index) => ({ partition: index % 2, key: `k-${index}`, value: JSON.stringify({ index, name: `item ${index}` }) }));
    await produceAll(kafka, source, messages);
  });
  afterAll(async () => {
    await deleteTopics(kafka, topics);
  });

  it('aborts: a read_committed consumer sees nothing and the source offsets are not committed', async () => {
    const output = uniqueTopic('tx-abort');
    topics.push(output);
    await createTopic(kafka, output, 1);
    const groupId = `eddy-test-tx-${randomUUID()}`;
    const sink = new KafkaSink(kafka, { topic: output, mode: 'transactional', transactionalId: `eddy-test-${randomUUID()}` });
    await sink.open();
    const inputs = await consumeAll(kafka, source, { expected: RECORDS });
    const outputs = inputs.map((message) => ({ key: message.key, value: message.value!.toString().toUpperCase(), headers: { 'source-offset': `${message.partition}/${message.offset}` } }));
    await expect(
      sink.writeTransaction(
        outputs,
        { groupId, topics: [{ topic: source, partitions: [0, 1].map((partition) => ({ partition, offset: RECORDS / 2 })) }] },
        {
          beforeCommit: () => {
            throw new Error('the pipeline failed before the commit');
          },
        },
      ),
    ).rejects.toThrow(/failed before the commit/);
    await sink.close();

    // Written, then aborted: read_uncommitted sees the records, read_committed none of them.
    expect(await consumeAll(kafka, output, { readUncommitted: true, expected: RECORDS })).toHaveLength(RECORDS);
    expect(await consumeAll(kafka, output, { idleMs: 2000 })).toHaveLength(0);
    const offsets = await committedOffsets(kafka, groupId, source);
    expect(Object.values(offsets).every((offset) => Number(offset) < 0)).toBe(true);
  });

  it('consume-transform-produce commits outputs with offsets: every output exactly once', async () => {
    const output = uniqueTopic('tx-commit');
    topics.push(output);
    await createTopic(kafka, output, 2);
    const groupId = `eddy-test-ctp-${randomUUID()}`;
    const sink = new KafkaSink(kafka, { topic: output, mode: 'transactional', transactionalId: `eddy-test-${randomUUID()}`, maxBatchMessages: 7 });
    await sink.open();
    let failures = 1;
    let committedInputs = 0;
    const loop = await consumeTransformProduce({
      kafka,
      groupId,
      sourceTopics: [source],
      sink,
      transform: (message) => {
        // The first attempt fails halfway: its transaction is aborted and the batch read again.
        if (failures > 0 && message.offset === '10') {
          failures--;
          throw new Error('a transform failed once');
        }
        const value = JSON.parse(message.value!.toString()) as { index: number; name: string };
        return [{ key: message.key, value: JSON.stringify({ ...value, name: value.name.toUpperCase() }), headers: { 'source-offset': `${message.partition}/${message.offset}` } }];
      },
      onCommitted: (batch) => (committedInputs += batch.inputs),
    });
    for (let waited = 0; waited < 60_000; waited += 200) {
      const offsets = await committedOffsets(kafka, groupId, source);
      if (offsets[0] === String(RECORDS / 2) && offsets[1] === String(RECORDS / 2)) break;
      await sleep(200);
    }
    await loop.stop();
    await sink.close();

    expect(await committedOffsets(kafka, groupId, source)).toEqual({ 0: String(RECORDS / 2), 1: String(RECORDS / 2) });
    expect(committedInputs).toBe(RECORDS);
    const committed = await consumeAll(kafka, output, { expected: RECORDS });
    const origins = committed.map((message) => String(message.headers['source-offset']));
    expect(committed).toHaveLength(RECORDS);
    expect(new Set(origins).size).toBe(RECORDS);
    expect(committed.every((message) => /ITEM \d+/.test(message.value!.toString()))).toBe(true);
    // The failed attempt left aborted records behind, invisible to read_committed readers.
    expect((await consumeAll(kafka, output, { readUncommitted: true, expected: RECORDS + 1 })).length).toBeGreaterThanOrEqual(RECORDS);
  });

  it('fences a zombie: a new instance with the same transactional id aborts what the old one left open', async () => {
    const output = uniqueTopic('tx-fence');
    topics.push(output);
    await createTopic(kafka, output, 1);
    const transactionalId = `eddy-test-${randomUUID()}`;
    const zombie = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
    await zombie.connect();
    const open = await zombie.transaction();
    await open.send({ topic: output, messages: Array.from({ length: 10 }, (_, index) => ({ value: `zombie-${index}` })) });

    const sink = new KafkaSink(kafka, { topic: output, mode: 'transactional', transactionalId });
    await sink.open();
    await sink.writeTransaction(Array.from({ length: 5 }, (_, index) => ({ key: null, value: `fresh-${index}` })));
    await expect(open.commit()).rejects.toThrow();
    await zombie.disconnect().catch(() => undefined);
    await sink.close();
    const seen = await consumeAll(kafka, output, { expected: 5 });
    expect(seen.map((message) => message.value?.toString())).toEqual(['fresh-0', 'fresh-1', 'fresh-2', 'fresh-3', 'fresh-4']);
  });

  it('writes batches with the idempotent producer and resolves after the acks', async () => {
    const output = uniqueTopic('idem');
    topics.push(output);
    await createTopic(kafka, output, 3);
    const sink = new KafkaSink(kafka, { topic: output, mode: 'idempotent', maxBatchMessages: 300 });
    await sink.open();
    const result = await sink.write(Array.from({ length: 1000 }, (_, index) => ({ key: `k-${index % 10}`, value: String(index), headers: { n: String(index) } })));
    expect(result.written).toBe(1000);
    await sink.close();
    const read = await consumeAll(kafka, output, { expected: 1000 });
    expect(read).toHaveLength(1000);
    expect(new Set(read.map((message) => message.value?.toString())).size).toBe(1000);
    expect(() => new KafkaSink(kafka, { topic: output, mode: 'transactional' })).toThrow(/transactionalId/);
  });
});
