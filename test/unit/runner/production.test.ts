// The production runner's pure parts: what a read_committed reader keeps of a fetched partition,
// what the runner refuses to run, and the keys it writes.
import { describe, expect, it } from 'vitest';
import { parsePipelineSpec } from '../../../shared/pipeline-spec.js';
import { withoutAborted, type RawRecord } from '../../../main/engine/kafka/cluster-access.js';
import { AssignerProtocol } from 'kafkajs';
import { changelogKey, consumedSources, coPartitionedAssigner, debeziumKey, statefulStagesNotOnRecordKey, unsupportedParts } from '../../../runner/production.js';

const ABORT = Buffer.from([0, 0, 0, 0]);
const COMMIT = Buffer.from([0, 0, 0, 1]);

function record(offset: number, producerId: string, inTransaction: boolean, control?: 'abort' | 'commit'): RawRecord {
  return {
    offset: String(offset),
    timestamp: '0',
    key: control === 'abort' ? ABORT : control === 'commit' ? COMMIT : Buffer.from(`k${offset}`),
    value: control ? null : Buffer.from(`v${offset}`),
    isControlRecord: control !== undefined,
    batchContext: { producerId, inTransaction },
  };
}

describe('withoutAborted', () => {
  it('drops the records of aborted transactions up to their abort marker, keeps the rest', () => {
    const records = [
      record(0, '7', true), // aborted transaction of producer 7 starts here
      record(1, '8', true), // producer 8, committed later
      record(2, '7', true),
      record(3, '7', true, 'abort'),
      record(4, '8', true, 'commit'),
      record(5, '9', false), // not transactional
      record(6, '7', true), // a new, committed transaction of producer 7
      record(7, '7', true, 'commit'),
    ];
    const kept = withoutAborted(records, [{ producerId: '7', firstOffset: '0' }]).filter((entry) => !entry.isControlRecord);
    expect(kept.map((entry) => entry.offset)).toEqual(['1', '5', '6']);
  });

  it('keeps everything when nothing was aborted', () => {
    const records = [record(0, '1', true), record(1, '1', true, 'commit')];
    expect(withoutAborted(records, [])).toBe(records);
  });
});

describe('what the runner runs', () => {
  const spec = parsePipelineSpec({
    version: 1,
    name: 'p',
    sources: [
      { id: 'orders', kind: 'kafka', connection: 'k', topic: 'orders' },
      { id: 'customers-cdc', kind: 'cdc', connection: 's', table: 'dbo.Customers', stream: 'sqlserver:shop.dbo.Customers' },
      { id: 'notes', kind: 'log', stream: 'notes' },
    ],
    tables: [{ id: 'customers', source: 'customers-cdc', key: 'key.CustomerID' }],
    stages: [{ id: 'join', kind: 'lookup', inputs: ['orders'], table: 'customers', key: 'value.customer', as: 'customer' }],
    sinks: [
      { id: 'out', kind: 'kafka', inputs: ['join'], connection: 'k', topic: 'out' },
      { id: 'local', kind: 'warehouse', inputs: ['join'], table: 'facts', key: ['id'] },
      { id: 'notes-out', kind: 'null', inputs: ['notes'] },
    ],
  });

  it('consumes only sources that feed stages or sinks (a table-only source is read as a table)', () => {
    expect(consumedSources(spec).map((source) => source.id)).toEqual(['orders', 'notes']);
  });

  it('names every part it cannot run outside the app', () => {
    const problems = unsupportedParts(spec, [
      { source: 'orders', topic: 'orders' },
      { source: 'customers-cdc', topic: 'shop.dbo.Customers' },
    ]);
    expect(problems).toEqual([expect.stringContaining('source "notes" (log) has no Kafka topic'), expect.stringContaining('sink "local" writes to the app\'s local warehouse')]);
  });

  it('parses Debezium JSON keys and leaves other keys alone', () => {
    expect(debeziumKey('{"CustomerID":1}')).toEqual({ CustomerID: 1 });
    expect(debeziumKey('plain')).toBe('plain');
    expect(debeziumKey('{broken')).toBe('{broken');
    expect(debeziumKey(null)).toBeNull();
  });

  it('keys changelog records by namespace and key, so compaction keeps one per state entry', () => {
    expect(changelogKey({ namespace: 'script:totals', key: 'c1\u0000total' })).toBe('["script:totals","c1\\u0000total"]');
    expect(changelogKey({ namespace: 'a', key: 'b' })).not.toBe(changelogKey({ namespace: 'a:b', key: '' }));
  });
});

describe('co-partitioned tasks', () => {
  it('gives one member partition p of every input topic', async () => {
    const partitions: Record<string, number> = { orders: 3, payments: 3 };
    const cluster = { findTopicPartitionMetadata: (topic: string) => Array.from({ length: partitions[topic]! }, (_, partitionId) => ({ partitionId })) };
    const assigner = coPartitionedAssigner({ cluster } as never);
    const result = await assigner.assign({ members: [{ memberId: 'm-b' }, { memberId: 'm-a' }] as never, topics: ['orders', 'payments'] });
    const decoded = Object.fromEntries(result.map((entry) => [entry.memberId, AssignerProtocol.MemberAssignment.decode(entry.memberAssignment)!.assignment]));
    expect(decoded).toEqual({ 'm-a': { orders: [0, 2], payments: [0, 2] }, 'm-b': { orders: [1], payments: [1] } });
  });

  it('finds stateful stages whose state is not keyed by the source records\' key', () => {
    const spec = parsePipelineSpec({
      version: 1,
      name: 'p',
      sources: [{ id: 'in', kind: 'kafka', connection: 'k', topic: 'in' }],
      stages: [
        { id: 'by-record-key', kind: 'keyed', inputs: ['in'], script: 's.js', key: 'key' },
        { id: 'by-field', kind: 'keyed', inputs: ['in'], script: 's.js', key: 'value.customer' },
        { id: 'shaped', kind: 'transform', inputs: ['in'], script: 't.js' },
        { id: 'after-transform', kind: 'keyed', inputs: ['shaped'], script: 's.js', key: 'key' },
      ],
      sinks: [{ id: 'out', kind: 'null', inputs: ['by-record-key', 'by-field', 'after-transform'] }],
    });
    expect(statefulStagesNotOnRecordKey(spec)).toEqual(['by-field', 'after-transform']);
  });

  it('refuses pipelines that span Kafka clusters', () => {
    const spec = parsePipelineSpec({
      version: 1,
      name: 'p',
      sources: [{ id: 'in', kind: 'kafka', connection: 'east', topic: 'in' }],
      sinks: [{ id: 'out', kind: 'kafka', inputs: ['in'], connection: 'west', topic: 'out' }],
    });
    expect(unsupportedParts(spec, [{ source: 'in', topic: 'in' }])).toEqual([expect.stringContaining('several Kafka connections (east, west)')]);
  });
});

