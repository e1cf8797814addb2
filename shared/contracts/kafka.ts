// The contract's part for Kafka (issue 4): explore a cluster (topics, consumer groups, lag and its
// history), capture records into the event log, produce one message, replay log events to a topic,
// bulk produce from JSONL. Commands and event streams are merged into shared/contract.ts; the engine
// implements them in main/engine/kafka/ with `HandlersFor<typeof kafkaCommands>`.
//
// Every command names its cluster with `connection`: either the id of a saved connection profile
// (`connections/<id>.json`, TLS/SASL with secret references) or an inline quick profile such as
// `{ "brokers": ["127.0.0.1:9092"] }` for tests, the CLI and a first look.
import { z } from 'zod';
import type { CommandTable, EventTable } from '../contract-kit.js';
import { KafkaProfileSchema } from './connections.js';
import { HeaderSchema, JsonValueSchema } from '../events.js';

// ---------------------------------------------------------------------------------------------
// Connections

/** An inline profile: the Kafka fields of a connection profile without its id, name and label. */
export const KafkaInlineConnectionSchema = KafkaProfileSchema.pick({ brokers: true, clientId: true, tls: true, sasl: true });
export type KafkaInlineConnection = z.infer<typeof KafkaInlineConnectionSchema>;

export const KafkaConnectionSchema = z.union([
  z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a saved connection id (lowercase letters, digits and dashes)'),
  KafkaInlineConnectionSchema,
]);
export type KafkaConnection = z.input<typeof KafkaConnectionSchema>;

const TopicName = z
  .string()
  .min(1)
  .max(249)
  .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, underscore and dash');
const GroupId = z.string().min(1).max(255);

// ---------------------------------------------------------------------------------------------
// Explore

export const KafkaBrokerSchema = z.object({ nodeId: z.number(), host: z.string(), port: z.number() });

export const KafkaTopicSummarySchema = z.object({
  name: z.string(),
  partitions: z.number(),
  replicationFactor: z.number(),
  internal: z.boolean(),
  /** Partitions whose in-sync replicas are fewer than their replicas. */
  underReplicated: z.number(),
  /**
   * Sum over partitions of high watermark minus log start offset: an upper bound of the records a
   * consumer would read (compaction gaps and transaction markers are counted). Null if offsets
   * could not be read.
   */
  messages: z.number().nullable(),
});
export type KafkaTopicSummary = z.infer<typeof KafkaTopicSummarySchema>;

export const KafkaClusterSchema = z.object({
  clusterId: z.string().nullable(),
  controller: z.number().nullable(),
  brokers: z.array(KafkaBrokerSchema),
  topics: z.array(KafkaTopicSummarySchema),
  at: z.number(),
});
export type KafkaCluster = z.infer<typeof KafkaClusterSchema>;

export const KafkaPartitionInfoSchema = z.object({
  partition: z.number(),
  leader: z.number(),
  replicas: z.array(z.number()),
  isr: z.array(z.number()),
  offlineReplicas: z.array(z.number()),
  /** Log start offset (earliest available). */
  low: z.number(),
  /** High watermark as a read_committed client sees it (the last stable offset). */
  high: z.number(),
  messages: z.number(),
});

export const KafkaConfigEntrySchema = z.object({
  name: z.string(),
  value: z.string().nullable(),
  isDefault: z.boolean(),
  isSensitive: z.boolean(),
  readOnly: z.boolean(),
  source: z.string(),
});

export const KafkaTopicDetailSchema = z.object({
  name: z.string(),
  internal: z.boolean(),
  partitions: z.array(KafkaPartitionInfoSchema),
  messages: z.number(),
  configs: z.array(KafkaConfigEntrySchema),
  at: z.number(),
});
export type KafkaTopicDetail = z.infer<typeof KafkaTopicDetailSchema>;

export const KafkaGroupSummarySchema = z.object({
  groupId: z.string(),
  protocolType: z.string(),
  /** Stable, Empty, PreparingRebalance, CompletingRebalance, Dead, Unknown. */
  state: z.string(),
  members: z.number(),
  /** Sum of partition lags; null when the group has no committed offsets or they could not be read. */
  totalLag: z.number().nullable(),
});
export type KafkaGroupSummary = z.infer<typeof KafkaGroupSummarySchema>;

export const KafkaGroupMemberSchema = z.object({
  memberId: z.string(),
  clientId: z.string(),
  clientHost: z.string(),
  assignments: z.array(z.object({ topic: z.string(), partitions: z.array(z.number()) })),
});

/**
 * One partition of a group. `lag` = log-end offset (read_committed, as the group's consumers see it)
 * minus the committed offset. `timeLagMs` = the time the sample was taken minus the timestamp of the
 * record at the committed offset, i.e. how long the oldest record the group has not yet consumed has
 * been waiting (0 when the lag is 0; null when there is no committed offset or that record could not
 * be read). It uses the record timestamp, so on CreateTime topics it trusts the producers' clocks.
 */
export const KafkaGroupPartitionLagSchema = z.object({
  topic: z.string(),
  partition: z.number(),
  committedOffset: z.number().nullable(),
  logStartOffset: z.number(),
  logEndOffset: z.number(),
  lag: z.number().nullable(),
  timeLagMs: z.number().nullable(),
  /** Timestamp of the next record the group will read (the one at the committed offset). */
  nextRecordTime: z.number().nullable(),
  metadata: z.string().nullable(),
  /** The member currently assigned this partition, when the group is active. */
  memberId: z.string().nullable(),
});
export type KafkaGroupPartitionLag = z.infer<typeof KafkaGroupPartitionLagSchema>;

export const KafkaGroupDetailSchema = z.object({
  groupId: z.string(),
  protocolType: z.string(),
  protocol: z.string(),
  state: z.string(),
  members: z.array(KafkaGroupMemberSchema),
  partitions: z.array(KafkaGroupPartitionLagSchema),
  totalLag: z.number().nullable(),
  maxTimeLagMs: z.number().nullable(),
  /** Why time lag is missing, when it is. */
  note: z.string().optional(),
  at: z.number(),
});
export type KafkaGroupDetail = z.infer<typeof KafkaGroupDetailSchema>;

/** One point of the lag-over-time chart. */
export const KafkaLagSampleSchema = z.object({
  at: z.number(),
  totalLag: z.number().nullable(),
  maxTimeLagMs: z.number().nullable(),
  topics: z.array(z.object({ topic: z.string(), lag: z.number().nullable() })),
  /** Set when this sample failed (broker unreachable...): the chart shows a gap. */
  error: z.string().optional(),
});
export type KafkaLagSample = z.infer<typeof KafkaLagSampleSchema>;

// ---------------------------------------------------------------------------------------------
// Capture

/** Where each selected partition starts. `last` = the last N records of each partition. */
export const KafkaStartSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('oldest') }).strict(),
  z.object({ kind: z.literal('newest') }).strict(),
  z.object({ kind: z.literal('offset'), offset: z.number().int().min(0) }).strict(),
  z.object({ kind: z.literal('timestamp'), timestamp: z.number().int().min(0) }).strict(),
  z.object({ kind: z.literal('last'), count: z.number().int().min(1).max(10_000_000) }).strict(),
]);
export type KafkaStart = z.infer<typeof KafkaStartSchema>;

/**
 * When the capture ends; the first limit reached wins. `follow: false` also stops each partition at
 * the end offset it had when the capture started (like `kcat -e`); `follow: true` with no limit is a
 * live tail that runs until cancelled.
 */
export const KafkaStopSchema = z
  .object({
    follow: z.boolean().default(false),
    maxMessages: z.number().int().min(1).optional(),
    maxBytes: z.number().int().min(1).optional(),
    /** Exclusive end of the time range (record timestamps): a partition stops at its first record at or after it. */
    untilTime: z.number().int().min(0).optional(),
  })
  .strict();
export type KafkaStop = z.infer<typeof KafkaStopSchema>;

export const KafkaCaptureRequestSchema = z
  .object({
    connection: KafkaConnectionSchema,
    topics: z
      .array(z.object({ topic: TopicName, partitions: z.array(z.number().int().min(0)).min(1).optional() }).strict())
      .min(1)
      .max(100),
    start: KafkaStartSchema.default({ kind: 'oldest' }),
    stop: KafkaStopSchema.default({ follow: false }),
    /** Fail when no broker answers for this long (default: keep retrying, with a clear status, until cancelled). */
    giveUpAfterMs: z.number().int().min(1000).optional(),
  })
  .strict();
export type KafkaCaptureRequest = z.input<typeof KafkaCaptureRequestSchema>;

export const KafkaCapturePartitionSchema = z.object({
  topic: z.string(),
  partition: z.number(),
  startOffset: z.number(),
  /** The next offset to read. */
  nextOffset: z.number(),
  /** Where the partition stops (null when following). */
  endOffset: z.number().nullable(),
  captured: z.number(),
  done: z.boolean(),
});

export const KafkaCaptureStatusSchema = z.object({
  jobId: z.string(),
  state: z.enum(['starting', 'running', 'reconnecting', 'finishing', 'done']),
  /** Events the log has acknowledged (durable). */
  captured: z.number(),
  /** Of those, events the log already held (same position): stored once. */
  alreadyInLog: z.number(),
  bytes: z.number(),
  /** Events stored with a decode note (not JSON, invalid UTF-8, over the size limit...). */
  withNotes: z.number(),
  oversized: z.number(),
  reconnects: z.number(),
  lastError: z.string().nullable(),
  partitions: z.array(KafkaCapturePartitionSchema),
});
export type KafkaCaptureStatus = z.infer<typeof KafkaCaptureStatusSchema>;

// ---------------------------------------------------------------------------------------------
// Produce and replay

export const KafkaProduceRequestSchema = z
  .object({
    connection: KafkaConnectionSchema,
    topic: TopicName,
    partition: z.number().int().min(0).optional(),
    key: z.string().max(1_000_000).nullable().default(null),
    /** The value as typed; `json` values must parse (the error names line and column). Null = tombstone. */
    value: z.string().max(16 * 1024 * 1024).nullable(),
    format: z.enum(['json', 'text']).default('json'),
    headers: z.array(HeaderSchema).max(1000).default([]),
    /** Create the topic when it does not exist (the broker's default partitions and replication); otherwise a missing topic is an error, never auto-created. */
    createTopic: z.boolean().default(false),
  })
  .strict();

export const KafkaProduceResultSchema = z.object({
  topic: z.string(),
  partition: z.number(),
  offset: z.number(),
});

export const KafkaReplayRequestSchema = z
  .object({
    connection: KafkaConnectionSchema,
    stream: z.string().min(1),
    topic: TopicName,
    /** Only these events (positions from the explorer's selection); otherwise the whole range below. */
    positions: z.array(z.string().min(1)).max(100_000).optional(),
    eventTime: z.object({ from: z.number().optional(), to: z.number().optional() }).strict().optional(),
    maxEvents: z.number().int().min(1).optional(),
    /** Send each event to its original partition number (else the key decides, as in Kafka). */
    keepPartitions: z.boolean().default(false),
    /** Send the original record timestamps (beware topic retention with old timestamps). */
    keepTimestamps: z.boolean().default(false),
    /** Create the topic when it does not exist (the broker's default partitions and replication); otherwise a missing topic is an error, never auto-created. */
    createTopic: z.boolean().default(false),
  })
  .strict();

export const KafkaProduceFileRequestSchema = z
  .object({
    connection: KafkaConnectionSchema,
    topic: TopicName,
    /**
     * JSONL, one record per line: `{"key": ..., "value": ..., "headers": {...} | [{key,value}], "partition": n,
     * "timestamp": ms}` (kcat -J lines, with `payload`, work too); with `lines: "values"` each line is the value.
     */
    path: z.string().min(1).optional(),
    text: z.string().max(8 * 1024 * 1024).optional(),
    lines: z.enum(['records', 'values']).default('records'),
    /** Skip bad lines (reported with their numbers) or stop at the first one. */
    onBadLine: z.enum(['skip', 'fail']).default('skip'),
    /** Create the topic when it does not exist (the broker's default partitions and replication); otherwise a missing topic is an error, never auto-created. */
    createTopic: z.boolean().default(false),
  })
  .strict()
  .refine((request) => (request.path === undefined) !== (request.text === undefined), 'give exactly one of path and text');

// ---------------------------------------------------------------------------------------------
// Peek: read a topic's messages to look at them, without a consumer group and without storing them

export const KafkaPeekRequestSchema = z
  .object({
    connection: KafkaConnectionSchema,
    topic: TopicName,
    /** Only these partitions (all when absent or empty). */
    partitions: z.array(z.number().int().min(0)).max(10_000).optional(),
    /** Where to read from: `newest` (and `last`) show the latest messages, the others read forward from there. */
    start: KafkaStartSchema.default({ kind: 'newest' }),
    limit: z.number().int().min(1).max(500).default(50),
  })
  .strict();

export const KafkaPeekMessageSchema = z.object({
  partition: z.number(),
  offset: z.number(),
  timestamp: z.number(),
  /** Decoded as a capture decodes it (decode.ts): text, JSON or base64 with a note. */
  key: JsonValueSchema.nullable(),
  value: JsonValueSchema.nullable(),
  valueBytes: z.string().optional(),
  headers: z.array(HeaderSchema),
  /** Bytes of key, value and headers as they are in Kafka. */
  size: z.number(),
  decodeError: z.string().optional(),
  op: z.string().optional(),
});
export type KafkaPeekMessage = z.infer<typeof KafkaPeekMessageSchema>;

export const KafkaPeekResultSchema = z.object({
  topic: z.string(),
  messages: z.array(KafkaPeekMessageSchema),
  /** Why fewer messages than asked came back, when it is not simply the end of the partitions. */
  note: z.string().optional(),
  at: z.number(),
});
export type KafkaPeekResult = z.infer<typeof KafkaPeekResultSchema>;

// ---------------------------------------------------------------------------------------------
// Consumer group administration (Kafka allows both only while the group has no active member)

export const KafkaResetTargetSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('earliest') }).strict(),
  z.object({ kind: z.literal('latest') }).strict(),
  z.object({ kind: z.literal('offset'), offset: z.number().int().min(0) }).strict(),
  z.object({ kind: z.literal('timestamp'), timestamp: z.number().int().min(0) }).strict(),
]);

export const KafkaResetOffsetsRequestSchema = z
  .object({
    connection: KafkaConnectionSchema,
    groupId: GroupId,
    topic: TopicName,
    /** Only these partitions (all of the topic's when absent or empty). */
    partitions: z.array(z.number().int().min(0)).max(10_000).optional(),
    to: KafkaResetTargetSchema,
  })
  .strict();

export const KafkaResetOffsetsResultSchema = z.object({
  groupId: z.string(),
  topic: z.string(),
  /** Per partition: the committed offset before (null: none) and after. */
  partitions: z.array(z.object({ partition: z.number(), from: z.number().nullable(), to: z.number() })),
});

export const KafkaCreateTopicRequestSchema = z
  .object({
    connection: KafkaConnectionSchema,
    topic: TopicName,
    partitions: z.number().int().min(1).max(10_000).default(1),
    replicationFactor: z.number().int().min(1).max(10).default(1),
    configs: z.record(z.string(), z.string()).default({}),
  })
  .strict();

/** A topic config's name as Kafka spells them (`retention.ms`, `cleanup.policy`). */
const ConfigName = z.string().min(1).max(255).regex(/^[a-z0-9._-]+$/, 'a config name such as retention.ms');

export const KafkaAlterTopicConfigsRequestSchema = z
  .object({
    connection: KafkaConnectionSchema,
    topic: TopicName,
    /** Configs to set on the topic, by name. */
    set: z.record(ConfigName, z.string().max(100_000)).default({}),
    /** Configs to return to their defaults (their topic-level override removed). */
    reset: z.array(ConfigName).max(1000).default([]),
  })
  .strict();

/** The job a command started (the core Job shape; shared/contract.ts imports this file, so it is restated here). */
const JobRef = z.object({
  id: z.string(),
  kind: z.string(),
  title: z.string(),
  state: z.enum(['running', 'succeeded', 'failed', 'cancelled']),
  done: z.number(),
  total: z.number().nullable(),
  unit: z.string(),
  rate: z.number(),
  message: z.string().optional(),
  startedAt: z.number(),
});

// ---------------------------------------------------------------------------------------------

export const kafkaCommands = {
  /** Brokers and topics with partition counts and message counts. */
  listKafkaTopics: {
    request: z.object({ connection: KafkaConnectionSchema, includeInternal: z.boolean().default(false) }).strict(),
    response: KafkaClusterSchema,
  },
  /** One topic: partitions (leaders, replicas, ISR, watermarks) and its configs. */
  describeKafkaTopic: {
    request: z.object({ connection: KafkaConnectionSchema, topic: TopicName }).strict(),
    response: KafkaTopicDetailSchema,
  },
  createKafkaTopic: { request: KafkaCreateTopicRequestSchema, response: z.object({ created: z.boolean() }) },
  /** Sets topic configs and returns others to their defaults, keeping every other override; answers the topic as it is then. */
  alterKafkaTopicConfigs: { request: KafkaAlterTopicConfigsRequestSchema, response: KafkaTopicDetailSchema },
  /** Raises a topic's partition count (Kafka cannot lower it); answers the topic as it is then. */
  addKafkaPartitions: {
    request: z.object({ connection: KafkaConnectionSchema, topic: TopicName, partitions: z.number().int().min(2).max(10_000) }).strict(),
    response: KafkaTopicDetailSchema,
  },
  /** Deletes a topic and every message in it (Kafka's internal topics are refused). */
  deleteKafkaTopic: { request: z.object({ connection: KafkaConnectionSchema, topic: TopicName }).strict(), response: z.object({ deleted: z.boolean() }) },
  /** Moves an empty group's committed offsets on a topic (earliest, latest, an offset or a time); refused while the group has members. */
  resetKafkaGroupOffsets: { request: KafkaResetOffsetsRequestSchema, response: KafkaResetOffsetsResultSchema },
  /** Deletes an empty group (its committed offsets); refused while it has members. */
  deleteKafkaGroup: { request: z.object({ connection: KafkaConnectionSchema, groupId: GroupId }).strict(), response: z.object({ deleted: z.boolean() }) },
  /** Reads up to `limit` messages of a topic to show them (no group, nothing stored); read_committed. */
  peekKafkaTopic: { request: KafkaPeekRequestSchema, response: KafkaPeekResultSchema },
  listKafkaGroups: {
    request: z.object({ connection: KafkaConnectionSchema, withLag: z.boolean().default(true) }).strict(),
    response: z.object({ groups: z.array(KafkaGroupSummarySchema), at: z.number() }),
  },
  /** Members and per-partition committed offset, lag and time lag. */
  describeKafkaGroup: {
    request: z.object({ connection: KafkaConnectionSchema, groupId: GroupId }).strict(),
    response: KafkaGroupDetailSchema,
  },
  /**
   * Samples a group's lag in the engine every `intervalMs` and pushes each sample on
   * `onKafkaLagSample`. The sampler lives while it is renewed (a view renews it every 20 s while
   * open) and stops 60 s after the last renewal or at `stopKafkaLagSampling`. Returns the history
   * the engine already holds for that group, so a reopened chart is not empty.
   */
  startKafkaLagSampling: {
    request: z.object({ connection: KafkaConnectionSchema, groupId: GroupId, intervalMs: z.number().int().min(1000).max(300_000).default(5000) }).strict(),
    response: z.object({ samplerId: z.string(), intervalMs: z.number(), history: z.array(KafkaLagSampleSchema) }),
  },
  renewKafkaLagSampling: { request: z.object({ samplerId: z.string() }).strict(), response: z.object({ renewed: z.boolean() }) },
  stopKafkaLagSampling: { request: z.object({ samplerId: z.string() }).strict(), response: z.object({ stopped: z.boolean() }) },
  /** Starts a capture job (progress on onJobProgress, cancel with cancelJob). */
  startKafkaCapture: { request: KafkaCaptureRequestSchema, response: JobRef },
  /** Per-partition positions and connection state of a capture job. */
  getKafkaCaptureStatus: { request: z.object({ jobId: z.string() }).strict(), response: KafkaCaptureStatusSchema },
  produceKafkaMessage: { request: KafkaProduceRequestSchema, response: KafkaProduceResultSchema },
  /** Produces events of a log stream to a topic (keys, headers, original bytes of non-JSON values) as a job. */
  replayToKafka: { request: KafkaReplayRequestSchema, response: JobRef },
  /** Produces a JSONL file (or pasted JSONL text) to a topic as a job. */
  produceKafkaFile: { request: KafkaProduceFileRequestSchema, response: JobRef },
} as const satisfies CommandTable;

export const kafkaEvents = {
  /** A lag sample from a running sampler (startKafkaLagSampling). */
  onKafkaLagSample: z.object({ samplerId: z.string(), groupId: z.string(), sample: KafkaLagSampleSchema }),
} as const satisfies EventTable;
