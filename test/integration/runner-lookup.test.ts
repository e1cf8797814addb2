// The production runner's lookup tables against the real broker: a customers table read from its
// Debezium topic (created, moved, deleted) joins orders from another Debezium topic as of each
// order's time, exactly as the app's run of the same spec over the same change events does.
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import type { JsonValue, NewEvent } from '../../shared/events.js';
import { parsePipelineSpec } from '../../shared/pipeline-spec.js';
import { runSpecOnFixtures } from '../../main/engine/pipelines/pipeline-test.js';
import { InProcessScriptExecutor } from '../../main/engine/pipelines/scripts.js';
import { ProductionRunner } from '../../runner/production.js';
import { createTopics, removeTestTopics } from '../support/kafka-topics.js';
import { findKafka } from '../support/services.js';

const brokers = await findKafka();
const id = `${process.pid}-${Date.now().toString(36)}`;
const customersTopic = `eddy-rl-customers-${id}`;
const ordersTopic = `eddy-rl-orders-${id}`;
const outputTopic = `eddy-rl-out-${id}`;
const group = `eddy-rl-${id}`;
const T = 1_767_225_600_000; // 2026-01-01T00:00:00Z

const spec = parsePipelineSpec({
  version: 1,
  name: `runner_lookup_${id.replace(/[^A-Za-z0-9_]/g, '_')}`,
  sources: [
    { id: 'orders', kind: 'cdc', connection: 'shop', table: 'dbo.Orders', stream: 'sqlserver:shop.dbo.Orders' },
    { id: 'customers-cdc', kind: 'cdc', connection: 'shop', table: 'dbo.Customers', stream: 'sqlserver:shop.dbo.Customers' },
  ],
  tables: [{ id: 'customers', source: 'customers-cdc', key: 'key.CustomerID' }],
  stages: [{ id: 'with-customer', kind: 'lookup', inputs: ['orders'], table: 'customers', key: 'value.after.CustomerID', as: 'customer' }],
  sinks: [{ id: 'out', kind: 'kafka', inputs: ['with-customer'], connection: 'cluster', topic: outputTopic }],
});

/** A Debezium change event as the SQL Server connector writes it (JsonConverter, schemas off). */
function change(op: 'c' | 'u' | 'd', before: Record<string, JsonValue> | null, after: Record<string, JsonValue> | null, at: number, table: string): Record<string, JsonValue> {
  return { before, after, op, ts_ms: at, source: { connector: 'sqlserver', db: 'shop', schema: 'dbo', table, ts_ms: at, snapshot: 'false' } };
}

const customerChanges = [
  { key: { CustomerID: 1 }, at: T + 1000, value: change('c', null, { CustomerID: 1, Street: 'Old St' }, T + 1000, 'Customers') },
  { key: { CustomerID: 2 }, at: T + 1000, value: change('c', null, { CustomerID: 2, Street: 'Elm St' }, T + 1000, 'Customers') },
  { key: { CustomerID: 1 }, at: T + 5000, value: change('u', { CustomerID: 1, Street: 'Old St' }, { CustomerID: 1, Street: 'New St' }, T + 5000, 'Customers') },
  { key: { CustomerID: 2 }, at: T + 6000, value: change('d', { CustomerID: 2, Street: 'Elm St' }, null, T + 6000, 'Customers') },
];
const orders = [
  { key: { OrderID: 10 }, at: T + 2000, value: change('c', null, { OrderID: 10, CustomerID: 1 }, T + 2000, 'Orders') },
  { key: { OrderID: 11 }, at: T + 6000, value: change('c', null, { OrderID: 11, CustomerID: 1 }, T + 6000, 'Orders') },
  { key: { OrderID: 12 }, at: T + 3000, value: change('c', null, { OrderID: 12, CustomerID: 2 }, T + 3000, 'Orders') },
  { key: { OrderID: 13 }, at: T + 7000, value: change('c', null, { OrderID: 13, CustomerID: 2 }, T + 7000, 'Orders') },
];

describe.runIf(brokers)('production runner: lookup tables from Debezium topics', () => {
  const kafka = new Kafka({ clientId: 'eddy-runner-lookup-test', brokers: brokers ?? [], logLevel: logLevel.NOTHING });
  afterAll(async () => {
    await removeTestTopics(kafka, id, [group]);
  });

  it('joins each order with the customer row valid at its time, as the app does', { timeout: 120_000 }, async () => {
    await createTopics(kafka, [
        { topic: customersTopic, numPartitions: 1 },
        { topic: ordersTopic, numPartitions: 2 },
        { topic: outputTopic, numPartitions: 1 },
      ]);
    const producer = kafka.producer();
    await producer.connect();
    const send = (topic: string, records: { key: Record<string, JsonValue>; at: number; value: Record<string, JsonValue> }[], tombstones = false) =>
      producer.send({
        topic,
        acks: -1,
        messages: records.flatMap((record) => [
          { key: JSON.stringify(record.key), value: JSON.stringify(record.value), timestamp: String(record.at) },
          ...(tombstones && record.value.op === 'd' ? [{ key: JSON.stringify(record.key), value: null, timestamp: String(record.at) }] : []),
        ]),
      });
    await send(customersTopic, customerChanges, true);
    await send(ordersTopic, orders);
    await producer.disconnect();

    // The app's run over the same change events (as its CDC capture stores them).
    const fixtures: NewEvent[] = [
      ...customerChanges.map((record, index) => ({ stream: 'sqlserver:shop.dbo.Customers', position: `c${index}`, key: record.key, value: record.value, op: record.value.op as 'c' | 'u' | 'd', eventTime: record.at, ingestTime: record.at })),
      ...orders.map((record, index) => ({ stream: 'sqlserver:shop.dbo.Orders', position: `o${index}`, key: record.key, value: record.value, op: 'c' as const, eventTime: record.at, ingestTime: record.at })),
    ];
    const inApp = await runSpecOnFixtures(spec, fixtures, { loadScript: async () => '' });
    const expected = new Map((inApp.sinks.get('out') ?? []).map((row) => [JSON.stringify(row.key), JSON.stringify(row.value)]));
    expect(expected.size).toBe(orders.length);

    const runner = new ProductionRunner({
      spec,
      kafka,
      group,
      inputTopics: [
        { source: 'orders', topic: ordersTopic },
        { source: 'customers-cdc', topic: customersTopic },
      ],
      changelogTopics: [],
      deadLetterTopic: `eddy-rl-dead-${id}`,
      executor: new InProcessScriptExecutor(),
      loadScript: async () => '',
      log: () => undefined,
      sessionTimeoutMs: 6000,
    });
    const actual = new Map<string, string>();
    const reader = kafka.consumer({ groupId: `${group}-check`, readUncommitted: false });
    try {
      await runner.start();
      await reader.connect();
      await reader.subscribe({ topics: [outputTopic], fromBeginning: true });
      await reader.run({
        eachMessage: async ({ message }) => {
          actual.set(JSON.stringify(JSON.parse(message.key!.toString('utf8'))), JSON.stringify(JSON.parse(message.value!.toString('utf8'))));
        },
      });
      const deadline = Date.now() + 60_000;
      while (actual.size < orders.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      await reader.disconnect().catch(() => undefined);
      await runner.shutdown();
    }
    expect(actual).toEqual(expected);
    // And what that means: the address valid at each order's time, nothing for a deleted customer.
    const street = (order: number): string | null => {
      const value = JSON.parse(actual.get(JSON.stringify({ OrderID: order }))!) as { customer: { Street: string } | null };
      return value.customer?.Street ?? null;
    };
    expect([street(10), street(11), street(12), street(13)]).toEqual(['Old St', 'New St', 'Elm St', null]);
    expect(runner.metrics.recordsIn).toBe(orders.length);
  });
});
