// Reading a cluster for the explore views: brokers and topics with message counts, one topic's
// partitions and configs, consumer groups with per-partition lag and time lag.
//
// Lag (per partition) = log-end offset - committed offset, with the log end as a read_committed
// consumer sees it (the last stable offset; a group's consumers cannot read past it).
// Time lag = when the sample is taken - timestamp of the record at the committed offset, i.e. how
// long the oldest record the group has yet to consume has been in the topic. 0 when caught up;
// null without a committed offset. This is what "max lag time" means in Conduktor and Burrow-style
// tools, computed from the record itself rather than estimated from offset rates.
import { AssignerProtocol, type Admin, type ConfigResourceTypes } from 'kafkajs';
import type {
  KafkaCluster,
  KafkaGroupDetail,
  KafkaGroupPartitionLag,
  KafkaGroupSummary,
  KafkaLagSample,
  KafkaTopicDetail,
  KafkaTopicSummary,
} from '../../../shared/contracts/kafka.js';
import { partitionKey, type OffsetTable, type RawCluster } from './cluster-access.js';

export const isInternalTopic = (name: string): boolean => name.startsWith('__');
/** ConfigResourceTypes.TOPIC: kafkajs is CommonJS and Node's ESM loader does not see that export by name. */
export const TOPIC_RESOURCE = 2 as ConfigResourceTypes;

/** Offsets of many topics: in bulk through the raw cluster, else topic by topic through the admin. */
export async function topicOffsets(admin: Admin, raw: RawCluster | undefined, topics: string[]): Promise<OffsetTable> {
  if (raw) {
    try {
      return await raw.offsets(topics);
    } catch {
      // Fall through to the public API, which reports its own errors.
    }
  }
  const table: OffsetTable = new Map();
  const queue = [...topics];
  const worker = async (): Promise<void> => {
    for (let topic = queue.shift(); topic !== undefined; topic = queue.shift()) {
      const offsets = await admin.fetchTopicOffsets(topic);
      table.set(topic, new Map(offsets.map((entry) => [entry.partition, { low: Number(entry.low), high: Number(entry.high) }])));
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, topics.length) }, worker));
  return table;
}

export async function listTopics(admin: Admin, raw: RawCluster | undefined, includeInternal: boolean): Promise<KafkaCluster> {
  const [cluster, metadata] = await Promise.all([admin.describeCluster(), admin.fetchTopicMetadata()]);
  const topics = metadata.topics.filter((topic) => includeInternal || !isInternalTopic(topic.name)).sort((a, b) => a.name.localeCompare(b.name));
  let offsets: OffsetTable | undefined;
  try {
    offsets = await topicOffsets(
      admin,
      raw,
      topics.map((topic) => topic.name),
    );
  } catch {
    offsets = undefined;
  }
  const summaries: KafkaTopicSummary[] = topics.map((topic) => {
    const byPartition = offsets?.get(topic.name);
    let messages: number | null = byPartition ? 0 : null;
    if (byPartition) for (const { low, high } of byPartition.values()) messages! += Math.max(0, high - low);
    return {
      name: topic.name,
      partitions: topic.partitions.length,
      replicationFactor: Math.max(0, ...topic.partitions.map((partition) => partition.replicas.length)),
      internal: isInternalTopic(topic.name),
      underReplicated: topic.partitions.filter((partition) => partition.isr.length < partition.replicas.length).length,
      messages,
    };
  });
  return {
    clusterId: cluster.clusterId ?? null,
    controller: cluster.controller ?? null,
    brokers: cluster.brokers.map((broker) => ({ nodeId: broker.nodeId, host: broker.host, port: broker.port })).sort((a, b) => a.nodeId - b.nodeId),
    topics: summaries,
    at: Date.now(),
  };
}

const CONFIG_SOURCES: Record<number, string> = {
  0: 'unknown',
  1: 'topic',
  2: 'dynamic broker',
  3: 'dynamic default broker',
  4: 'static broker',
  5: 'default',
  6: 'dynamic broker logger',
};

export async function describeTopic(admin: Admin, topic: string): Promise<KafkaTopicDetail> {
  const [metadata, offsets, configs] = await Promise.all([
    admin.fetchTopicMetadata({ topics: [topic] }),
    admin.fetchTopicOffsets(topic),
    admin.describeConfigs({ resources: [{ type: TOPIC_RESOURCE, name: topic }], includeSynonyms: false }),
  ]);
  const meta = metadata.topics[0];
  const byPartition = new Map(offsets.map((entry) => [entry.partition, { low: Number(entry.low), high: Number(entry.high) }]));
  const partitions = (meta?.partitions ?? [])
    .map((partition) => {
      const range = byPartition.get(partition.partitionId) ?? { low: 0, high: 0 };
      return {
        partition: partition.partitionId,
        leader: partition.leader,
        replicas: partition.replicas,
        isr: partition.isr,
        offlineReplicas: partition.offlineReplicas ?? [],
        low: range.low,
        high: range.high,
        messages: Math.max(0, range.high - range.low),
      };
    })
    .sort((a, b) => a.partition - b.partition);
  const entries = configs.resources.flatMap((resource) => resource.configEntries);
  return {
    name: topic,
    internal: isInternalTopic(topic),
    partitions,
    messages: partitions.reduce((sum, partition) => sum + partition.messages, 0),
    configs: entries
      .map((entry) => ({
        name: entry.configName,
        value: entry.isSensitive ? null : (entry.configValue ?? null),
        isDefault: entry.isDefault,
        isSensitive: entry.isSensitive,
        readOnly: entry.readOnly,
        source: CONFIG_SOURCES[entry.configSource as unknown as number] ?? String(entry.configSource),
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    at: Date.now(),
  };
}

interface CommittedOffsets {
  topic: string;
  partitions: { partition: number; offset: string; metadata: string | null }[];
}

/** Per-partition lag of a group from its committed offsets and the log-end offsets. */
function lagRows(committed: CommittedOffsets[], offsets: OffsetTable, owners: Map<string, string>): KafkaGroupPartitionLag[] {
  const rows: KafkaGroupPartitionLag[] = [];
  for (const { topic, partitions } of committed) {
    for (const { partition, offset, metadata } of partitions) {
      const range = offsets.get(topic)?.get(partition) ?? { low: 0, high: 0 };
      const value = Number(offset);
      const committedOffset = Number.isFinite(value) && value >= 0 ? value : null;
      rows.push({
        topic,
        partition,
        committedOffset,
        logStartOffset: range.low,
        logEndOffset: range.high,
        lag: committedOffset === null ? null : Math.max(0, range.high - committedOffset),
        timeLagMs: null,
        nextRecordTime: null,
        metadata,
        memberId: owners.get(partitionKey(topic, partition)) ?? null,
      });
    }
  }
  return rows.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

function sumLag(rows: KafkaGroupPartitionLag[]): number | null {
  const known = rows.filter((row) => row.lag !== null);
  return known.length === 0 ? null : known.reduce((sum, row) => sum + row.lag!, 0);
}

/** Committed offsets of a group, only for partitions it has committed (or all partitions of its topics). */
async function committedOffsets(admin: Admin, groupId: string): Promise<CommittedOffsets[]> {
  const fetched = await admin.fetchOffsets({ groupId });
  return fetched.map(({ topic, partitions }) => ({
    topic,
    partitions: partitions.map((entry) => ({ partition: entry.partition, offset: entry.offset, metadata: entry.metadata ?? null })),
  }));
}

export async function listGroups(admin: Admin, raw: RawCluster | undefined, withLag: boolean): Promise<KafkaGroupSummary[]> {
  const { groups } = await admin.listGroups();
  if (groups.length === 0) return [];
  const { groups: described } = await admin.describeGroups(groups.map((group) => group.groupId));
  const summaries: KafkaGroupSummary[] = described.map((group) => ({
    groupId: group.groupId,
    protocolType: group.protocolType || (groups.find((entry) => entry.groupId === group.groupId)?.protocolType ?? ''),
    state: group.state,
    members: group.members.length,
    totalLag: null,
  }));
  if (withLag) {
    const queue = summaries.filter((summary) => summary.protocolType === 'consumer' || summary.protocolType === '');
    const worker = async (): Promise<void> => {
      for (let summary = queue.shift(); summary !== undefined; summary = queue.shift()) {
        try {
          const committed = await committedOffsets(admin, summary.groupId);
          const offsets = await topicOffsets(
            admin,
            raw,
            committed.map((entry) => entry.topic),
          );
          summary.totalLag = sumLag(lagRows(committed, offsets, new Map()));
        } catch {
          summary.totalLag = null;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, queue.length) }, worker));
  }
  return summaries.sort((a, b) => a.groupId.localeCompare(b.groupId));
}

/** Adds time lag to rows with lag > 0 by reading the record at each committed offset. */
async function addTimeLag(raw: RawCluster | undefined, rows: KafkaGroupPartitionLag[], now: number): Promise<string | undefined> {
  for (const row of rows) if (row.lag === 0) row.timeLagMs = 0;
  const behind = rows.filter((row) => row.lag !== null && row.lag > 0);
  if (behind.length === 0) return undefined;
  if (!raw) return 'Time lag is not available with this kafkajs version (its internal fetch is missing).';
  try {
    const timestamps = await raw.recordTimestamps(behind.map((row) => ({ topic: row.topic, partition: row.partition, offset: Math.max(row.committedOffset!, row.logStartOffset) })));
    for (const row of behind) {
      const timestamp = timestamps.get(partitionKey(row.topic, row.partition));
      if (timestamp === undefined || timestamp === null) continue;
      row.nextRecordTime = timestamp;
      row.timeLagMs = Math.max(0, now - timestamp);
    }
    return undefined;
  } catch (error) {
    return `Time lag could not be read: ${error instanceof Error ? error.message : String(error)}`;
  }
}

export async function describeGroup(admin: Admin, raw: RawCluster | undefined, groupId: string): Promise<KafkaGroupDetail> {
  const { groups } = await admin.describeGroups([groupId]);
  const group = groups[0];
  const owners = new Map<string, string>();
  const members = (group?.members ?? []).map((member) => {
    let assignments: { topic: string; partitions: number[] }[] = [];
    try {
      const decoded = member.memberAssignment?.length ? AssignerProtocol.MemberAssignment.decode(member.memberAssignment) : null;
      assignments = decoded ? Object.entries(decoded.assignment).map(([topic, partitions]) => ({ topic, partitions: [...partitions].sort((a, b) => a - b) })) : [];
    } catch {
      assignments = [];
    }
    for (const { topic, partitions } of assignments) for (const partition of partitions) owners.set(partitionKey(topic, partition), member.memberId);
    return { memberId: member.memberId, clientId: member.clientId, clientHost: member.clientHost, assignments };
  });
  const committed = await committedOffsets(admin, groupId);
  // Assigned partitions without a commit yet still belong in the table.
  for (const member of members) {
    for (const { topic, partitions } of member.assignments) {
      let entry = committed.find((candidate) => candidate.topic === topic);
      if (!entry) committed.push((entry = { topic, partitions: [] }));
      for (const partition of partitions) if (!entry.partitions.some((candidate) => candidate.partition === partition)) entry.partitions.push({ partition, offset: '-1', metadata: null });
    }
  }
  const offsets = await topicOffsets(
    admin,
    raw,
    committed.map((entry) => entry.topic),
  );
  const at = Date.now();
  const rows = lagRows(committed, offsets, owners);
  const note = await addTimeLag(raw, rows, at);
  const timeLags = rows.map((row) => row.timeLagMs).filter((value): value is number => value !== null);
  const detail: KafkaGroupDetail = {
    groupId,
    protocolType: group?.protocolType ?? '',
    protocol: group?.protocol ?? '',
    state: group?.state ?? 'Unknown',
    members,
    partitions: rows,
    totalLag: sumLag(rows),
    maxTimeLagMs: timeLags.length > 0 ? Math.max(...timeLags) : null,
    at,
  };
  const notes = [note, outOfRangeNote(rows)].filter((text): text is string => Boolean(text));
  if (notes.length > 0) detail.note = notes.join(' ');
  return detail;
}

/**
 * Committed offsets outside a partition's log (the topic was truncated, recreated, or retention
 * passed them): their lag reads 0 or misleads, and the group's consumers will not resume there.
 */
export function outOfRangeNote(rows: KafkaGroupPartitionLag[]): string | undefined {
  const out = rows.filter((row) => row.committedOffset !== null && (row.committedOffset > row.logEndOffset || row.committedOffset < row.logStartOffset));
  if (out.length === 0) return undefined;
  const named = out
    .slice(0, 5)
    .map((row) => `${row.topic}/${row.partition} at ${row.committedOffset} (log ${row.logStartOffset}-${row.logEndOffset})`)
    .join(', ');
  return `Committed offsets outside the partition's log: ${named}${out.length > 5 ? ` and ${out.length - 5} more` : ''}. Its consumers will restart from their auto.offset.reset position there, not from the committed offset; reset the offsets to choose.`;
}

/** A chart point from a group description. */
export function lagSampleOf(detail: KafkaGroupDetail): KafkaLagSample {
  const topics = new Map<string, number | null>();
  for (const row of detail.partitions) {
    const previous = topics.get(row.topic);
    topics.set(row.topic, row.lag === null ? (previous ?? null) : (previous ?? 0) + row.lag);
  }
  return {
    at: detail.at,
    totalLag: detail.totalLag,
    maxTimeLagMs: detail.maxTimeLagMs,
    topics: [...topics].map(([topic, lag]) => ({ topic, lag })),
  };
}
