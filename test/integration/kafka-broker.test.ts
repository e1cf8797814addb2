// Proves the test broker is a real, working Kafka that kafkajs 2.2.4 can use end to end:
// topic creation, a keyed message with a header, and a fresh consumer group reading it back.
// Every other Kafka integration test leans on this, so when it fails, look here first.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, Partitioners, type EachMessagePayload } from 'kafkajs';
import { findKafka } from '../support/services.js';

const brokers = await findKafka();

describe.runIf(brokers)('kafka broker', () => {
  const kafka = new Kafka({
    clientId: 'eddy-integration-test',
    brokers: brokers ?? [],
    logLevel: logLevel.ERROR,
  });
  const admin = kafka.admin();
  const topic = `eddy-test-${randomUUID()}`;

  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('round-trips a keyed message with a header through a fresh consumer group', async () => {
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
      waitForLeaders: true,
    });

    const producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    try {
      await producer.send({
        topic,
        messages: [
          {
            key: 'order-42',
            value: '{"total":12.5}',
            headers: { 'eddy-trace': 'trace-1' },
          },
        ],
      });
    } finally {
      await producer.disconnect();
    }

    const consumer = kafka.consumer({
      groupId: `eddy-test-group-${randomUUID()}`,
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      const received = await new Promise<EachMessagePayload>((resolve, reject) => {
        consumer.run({ eachMessage: async (payload) => resolve(payload) }).catch(reject);
      });
      expect(received.topic).toBe(topic);
      expect(received.message.key?.toString()).toBe('order-42');
      expect(received.message.value?.toString()).toBe('{"total":12.5}');
      expect(received.message.headers?.['eddy-trace']?.toString()).toBe('trace-1');
    } finally {
      await consumer.disconnect();
    }
  }, 60_000);
});
