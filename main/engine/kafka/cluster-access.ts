// Two things kafkajs' public API cannot do without a consumer group, done through its internal
// cluster object (kafkajs is pinned at 2.2.4 and no longer changes; `rawClusterOf` returns
// undefined if the internals ever move, and callers fall back or report a note):
//
// - list offsets of many topics in one ListOffsets request per broker (the admin API sends two
//   requests per topic, which is slow on clusters with thousands of topics);
// - read the record at a given offset of a partition (a one-off Fetch, no group join), used for a
//   group's time lag: the timestamp of the next record the group has not consumed.
import type { Kafka } from 'kafkajs';

const READ_UNCOMMITTED = 0;
const READ_COMMITTED = 1;

/** A record as kafkajs' protocol layer decodes it (internal shape, kafkajs 2.2.4). */
export interface RawRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | Buffer[] | undefined>;
  isControlRecord?: boolean;
  batchContext?: { producerId: string; inTransaction: boolean };
}

interface RawBroker {
  fetch(request: {
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
  }): Promise<{
    responses: {
      topicName: string;
      partitions: { partition: number; errorCode: number; abortedTransactions?: { producerId: string; firstOffset: string }[] | null; messages: RawRecord[] }[];
    }[];
  }>;
}

interface RawClusterInternals {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  isConnected(): boolean;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  refreshMetadataIfNecessary(): Promise<void>;
  findTopicPartitionMetadata(topic: string): { partitionId: number }[];
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(node: { nodeId: string | number }): Promise<RawBroker>;
  fetchTopicsOffset(
    topics: ({ topic: string; partitions: { partition: number }[] } & ({ fromBeginning: boolean } | { fromTimestamp: number }))[],
  ): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
}

export interface PartitionOffsets {
  low: number;
  high: number;
}

export type OffsetTable = Map<string, Map<number, PartitionOffsets>>;

export const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** A thin handle on kafkajs' internal cluster (read_committed offsets, one-off fetches). */
export class RawCluster {
  private connected: Promise<void> | undefined;

  constructor(private readonly cluster: RawClusterInternals) {}

  private async ready(topics: string[]): Promise<void> {
    if (!this.connected || !this.cluster.isConnected()) {
      this.connected = this.cluster.connect();
      this.connected.catch(() => (this.connected = undefined));
    }
    await this.connected;
    if (topics.length > 0) await this.cluster.addMultipleTargetTopics(topics);
    await this.cluster.refreshMetadataIfNecessary();
  }

  /** Log start and end (last stable) offsets of every partition of `topics`, in bulk. */
  async offsets(topics: string[]): Promise<OffsetTable> {
    const table: OffsetTable = new Map();
    if (topics.length === 0) return table;
    await this.ready(topics);
    const request = topics.map((topic) => ({ topic, partitions: this.cluster.findTopicPartitionMetadata(topic).map((meta) => ({ partition: meta.partitionId })) }));
    const [lows, highs] = await Promise.all([
      this.cluster.fetchTopicsOffset(request.map((entry) => ({ ...entry, fromBeginning: true }))),
      this.cluster.fetchTopicsOffset(request.map((entry) => ({ ...entry, fromBeginning: false }))),
    ]);
    for (const { topic, partitions } of lows) {
      const byPartition = new Map<number, PartitionOffsets>();
      for (const { partition, offset } of partitions) byPartition.set(partition, { low: Number(offset), high: Number(offset) });
      table.set(topic, byPartition);
    }
    for (const { topic, partitions } of highs) {
      const byPartition = table.get(topic) ?? new Map<number, PartitionOffsets>();
      for (const { partition, offset } of partitions) {
        const entry = byPartition.get(partition);
        if (entry) entry.high = Number(offset);
        else byPartition.set(partition, { low: 0, high: Number(offset) });
      }
      table.set(topic, byPartition);
    }
    return table;
  }

  /**
   * The timestamp of the first data record at or after each wanted offset (null when there is
   * none yet, or only transaction markers). Records are read uncommitted, since this is about what
   * is waiting. One Fetch per leader for all its partitions (64 KB each); a partition whose first
   * record batch is bigger comes back empty (the broker only oversteps the limit for the first
   * partition of a response), so it is fetched again on its own, where one whole batch always comes.
   */
  async recordTimestamps(wanted: { topic: string; partition: number; offset: number }[]): Promise<Map<string, number | null>> {
    const result = new Map<string, number | null>();
    if (wanted.length === 0) return result;
    const topics = [...new Set(wanted.map((entry) => entry.topic))];
    await this.ready(topics);
    const retry: { topic: string; partition: number; offset: number }[] = [];
    await Promise.all(
      [...this.byLeader(wanted)].map(async ([nodeId, entries]) => {
        const found = await this.fetchFirst(nodeId, entries, 64 * 1024);
        for (const entry of entries) {
          const timestamp = found.get(partitionKey(entry.topic, entry.partition));
          if (timestamp === undefined) retry.push(entry);
          else result.set(partitionKey(entry.topic, entry.partition), timestamp);
        }
      }),
    );
    for (const [nodeId, entries] of this.byLeader(retry)) {
      for (const entry of entries) {
        const found = await this.fetchFirst(nodeId, [entry], 1);
        result.set(partitionKey(entry.topic, entry.partition), found.get(partitionKey(entry.topic, entry.partition)) ?? null);
      }
    }
    return result;
  }

  private byLeader(entries: { topic: string; partition: number; offset: number }[]): Map<string, { topic: string; partition: number; offset: number }[]> {
    const byLeader = new Map<string, { topic: string; partition: number; offset: number }[]>();
    for (const topic of new Set(entries.map((entry) => entry.topic))) {
      const forTopic = entries.filter((entry) => entry.topic === topic);
      const leaders = this.cluster.findLeaderForPartitions(
        topic,
        forTopic.map((entry) => entry.partition),
      );
      for (const [nodeId, partitions] of Object.entries(leaders)) {
        const list = byLeader.get(nodeId) ?? [];
        list.push(...forTopic.filter((entry) => partitions.includes(entry.partition)));
        byLeader.set(nodeId, list);
      }
    }
    return byLeader;
  }

  /** Timestamps of the first data record per partition; a partition with no whole batch back is absent. */
  private async fetchFirst(nodeId: string, entries: { topic: string; partition: number; offset: number }[], partitionMaxBytes: number): Promise<Map<string, number | null>> {
    const broker = await this.cluster.findBroker({ nodeId });
    const requested = new Map<string, number>();
    const topics = [...new Set(entries.map((entry) => entry.topic))].map((topic) => ({
      topic,
      partitions: entries
        .filter((entry) => entry.topic === topic)
        .map((entry) => {
          requested.set(partitionKey(topic, entry.partition), entry.offset);
          return { partition: entry.partition, fetchOffset: String(entry.offset), maxBytes: partitionMaxBytes };
        }),
    }));
    const { responses } = await broker.fetch({ isolationLevel: READ_UNCOMMITTED, maxWaitTime: 0, minBytes: 0, maxBytes: 4 * 1024 * 1024, topics });
    const found = new Map<string, number | null>();
    for (const { topicName, partitions } of responses) {
      for (const { partition, messages } of partitions) {
        const key = partitionKey(topicName, partition);
        const from = requested.get(key) ?? 0;
        const data = messages.filter((message) => Number(message.offset) >= from);
        const first = data.find((message) => !message.isControlRecord);
        if (first) found.set(key, Number(first.timestamp));
        else if (data.length > 0) found.set(key, null);
      }
    }
    return found;
  }

  /**
   * Reads one partition from its start up to its last stable offset as a read_committed consumer
   * would (aborted transactions and markers left out), without a consumer group. Used to restore
   * keyed state from a compacted changelog partition. Returns the records handed to `onRecords`.
   */
  async readCommitted(topic: string, partition: number, onRecords: (records: RawRecord[]) => void | Promise<void>, signal?: AbortSignal): Promise<number> {
    await this.ready([topic]);
    const bounds = (await this.offsets([topic])).get(topic)?.get(partition);
    if (!bounds) return 0;
    let offset = bounds.low;
    let read = 0;
    let emptyFetches = 0;
    while (offset < bounds.high) {
      if (signal?.aborted) throw new Error(`Stopped while reading ${topic}/${partition}.`);
      const fetched = await this.fetchCommitted(topic, partition, offset);
      if (fetched.next === offset) {
        // Compaction or retention may have moved the start past `offset`: look again.
        if (++emptyFetches >= 20) throw new Error(`Reading ${topic}/${partition} stalled at offset ${offset} (end ${bounds.high}).`);
        const moved = (await this.offsets([topic])).get(topic)?.get(partition);
        if (moved && moved.low > offset) offset = moved.low;
        continue;
      }
      emptyFetches = 0;
      if (fetched.records.length > 0) await onRecords(fetched.records);
      read += fetched.records.length;
      offset = fetched.next;
    }
    return read;
  }

  /**
   * One read_committed fetch of a partition from `offset` (at most ~8 MB): the committed data
   * records, and the offset to fetch next (`offset` itself when nothing came back).
   */
  async fetchCommitted(topic: string, partition: number, offset: number): Promise<{ records: RawRecord[]; next: number }> {
    await this.ready([topic]);
    const leaders = this.cluster.findLeaderForPartitions(topic, [partition]);
    const nodeId = Object.keys(leaders)[0];
    if (nodeId === undefined) throw new Error(`No leader for ${topic}/${partition}.`);
    const broker = await this.cluster.findBroker({ nodeId });
    const { responses } = await broker.fetch({
      isolationLevel: READ_COMMITTED,
      maxWaitTime: 200,
      minBytes: 1,
      maxBytes: 16 * 1024 * 1024,
      topics: [{ topic, partitions: [{ partition, fetchOffset: String(offset), maxBytes: 8 * 1024 * 1024 }] }],
    });
    const data = responses.find((entry) => entry.topicName === topic)?.partitions.find((entry) => entry.partition === partition);
    if (!data) throw new Error(`No fetch response for ${topic}/${partition}.`);
    if (data.errorCode !== 0) throw new Error(`Fetching ${topic}/${partition} failed with Kafka error code ${data.errorCode}.`);
    const within = data.messages.filter((record) => Number(record.offset) >= offset);
    if (within.length === 0) return { records: [], next: offset };
    const records = withoutAborted(within, data.abortedTransactions ?? []).filter((record) => !record.isControlRecord);
    return { records, next: Number(within[within.length - 1]!.offset) + 1 };
  }

  async disconnect(): Promise<void> {
    this.connected = undefined;
    await this.cluster.disconnect().catch(() => undefined);
  }
}

const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]);

/**
 * Drops the records of aborted transactions, as a read_committed consumer does: a transaction
 * listed in `aborted` starts at its first offset and ends at its producer's abort marker.
 */
export function withoutAborted(records: RawRecord[], aborted: { producerId: string; firstOffset: string }[]): RawRecord[] {
  if (aborted.length === 0) return records;
  const pending = [...aborted].sort((a, b) => Number(a.firstOffset) - Number(b.firstOffset));
  const open = new Set<string>();
  return records.filter((record) => {
    while (pending.length > 0 && Number(record.offset) >= Number(pending[0]!.firstOffset)) open.add(String(pending.shift()!.producerId));
    const producer = String(record.batchContext?.producerId ?? '');
    if (record.isControlRecord && record.key && Buffer.from(record.key).equals(ABORT_MARKER_KEY)) {
      open.delete(producer);
      return false;
    }
    return !(open.has(producer) && record.batchContext?.inTransaction === true);
  });
}

/** kafkajs' internal cluster for `kafka`, or undefined if this kafkajs does not have one where 2.2.4 does. */
export function rawClusterOf(kafka: Kafka): RawCluster | undefined {
  const symbol = Object.getOwnPropertySymbols(kafka).find((candidate) => candidate.description === 'private:Kafka:createCluster');
  if (!symbol) return undefined;
  const create = (kafka as unknown as Record<symbol, unknown>)[symbol];
  if (typeof create !== 'function') return undefined;
  const cluster = (create as (options: object) => RawClusterInternals)({ allowAutoTopicCreation: false, isolationLevel: READ_COMMITTED });
  for (const method of ['connect', 'disconnect', 'isConnected', 'addMultipleTargetTopics', 'refreshMetadataIfNecessary', 'findTopicPartitionMetadata', 'findLeaderForPartitions', 'findBroker', 'fetchTopicsOffset'] as const) {
    if (typeof (cluster as unknown as Record<string, unknown>)[method] !== 'function') return undefined;
  }
  return new RawCluster(cluster);
}
