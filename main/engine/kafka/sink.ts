// The Kafka sink for pipelines (DESIGN.md 6): writes batches of messages to a topic and resolves
// only when the broker has acknowledged them (acks=all), so a pipeline checkpoints after the ack.
//
// - `idempotent` mode: an idempotent producer (no duplicates from the producer's own retries);
//   a pipeline restarted from its last checkpoint may still resend the batch it was writing, so
//   downstream sees at-least-once.
// - `transactional` mode, for Kafka-to-Kafka pipelines: each batch is written in one transaction
//   together with the source offsets (`sendOffsets` to the source's consumer group), and committed
//   as one. read_committed consumers then see every output exactly once, and a crash or abort leaves
//   neither output nor offset behind. `consumeTransformProduce` is that loop, ready to use.
import { CompressionTypes, Partitioners, type Consumer, type Kafka, type Message, type Producer } from 'kafkajs';
import { EddyError } from '../../../shared/contract.js';
import { eventToMessage, unsendableReason, type EventLike, type KafkaOutMessage } from './decode.js';

export interface SinkMessage {
  /** Overrides the sink's topic for this message. */
  topic?: string;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: KafkaOutMessage['headers'];
  partition?: number;
  timestamp?: string;
}

export interface SinkOffsets {
  /** The source's consumer group whose offsets commit with the output. */
  groupId: string;
  /** Next offsets to consume (last processed + 1), per source partition. */
  topics: { topic: string; partitions: { partition: number; offset: string | number }[] }[];
}

export interface KafkaSinkOptions {
  topic: string;
  mode: 'idempotent' | 'transactional';
  /** Required in transactional mode; one per pipeline instance (it fences the previous instance). */
  transactionalId?: string;
  /** Messages per produce request (default 1000) and their approximate bytes (default 900 KB). */
  maxBatchMessages?: number;
  maxBatchBytes?: number;
  compression?: 'none' | 'gzip';
  /** Broker-side transaction timeout (default 60 s). */
  transactionTimeoutMs?: number;
}

function approximateSize(message: SinkMessage): number {
  const size = (part: Buffer | string | null | undefined): number => (part === null || part === undefined ? 0 : typeof part === 'string' ? part.length * 1.2 : part.length);
  let headers = 0;
  for (const [key, value] of Object.entries(message.headers ?? {})) {
    for (const entry of Array.isArray(value) ? value : [value]) headers += key.length + size(entry);
  }
  return 70 + size(message.key) + size(message.value) + headers;
}

/** Splits messages into produce requests of bounded count and size, grouped by topic. */
export function chunkMessages(messages: SinkMessage[], defaultTopic: string, maxMessages: number, maxBytes: number): { topic: string; messages: Message[] }[][] {
  const chunks: { topic: string; messages: Message[] }[][] = [];
  let current = new Map<string, Message[]>();
  let count = 0;
  let bytes = 0;
  const flush = (): void => {
    if (count === 0) return;
    chunks.push([...current].map(([topic, list]) => ({ topic, messages: list })));
    current = new Map();
    count = 0;
    bytes = 0;
  };
  for (const message of messages) {
    const size = approximateSize(message);
    if (count > 0 && (count + 1 > maxMessages || bytes + size > maxBytes)) flush();
    const topic = message.topic ?? defaultTopic;
    let list = current.get(topic);
    if (!list) current.set(topic, (list = []));
    const out: Message = { key: message.key, value: message.value, headers: message.headers ?? {} };
    if (message.partition !== undefined) out.partition = message.partition;
    if (message.timestamp !== undefined) out.timestamp = message.timestamp;
    list.push(out);
    count++;
    bytes += size;
  }
  flush();
  return chunks;
}

/** Log events as sink messages; events that cannot be sent (value not stored) are returned apart. */
export function eventsToSinkMessages(events: EventLike[]): { messages: SinkMessage[]; skipped: { position: string | undefined; reason: string }[] } {
  const messages: SinkMessage[] = [];
  const skipped: { position: string | undefined; reason: string }[] = [];
  for (const event of events) {
    const reason = unsendableReason(event);
    if (reason) skipped.push({ position: event.position, reason });
    else messages.push(eventToMessage(event));
  }
  return { messages, skipped };
}

export class KafkaSink {
  private producer: Producer | undefined;
  private readonly maxMessages: number;
  private readonly maxBytes: number;
  private readonly compression: CompressionTypes;
  /** One transaction at a time: kafkajs allows a single open transaction per producer. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly kafka: Kafka,
    private readonly options: KafkaSinkOptions,
  ) {
    if (options.mode === 'transactional' && !options.transactionalId) throw new EddyError('VALIDATION', 'A transactional Kafka sink needs a transactionalId.');
    this.maxMessages = options.maxBatchMessages ?? 1000;
    this.maxBytes = options.maxBatchBytes ?? 900 * 1024;
    this.compression = options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
  }

  async open(): Promise<void> {
    if (this.producer) return;
    const transactional = this.options.mode === 'transactional';
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: transactional ? 1 : 5,
      createPartitioner: Partitioners.DefaultPartitioner,
      ...(transactional ? { transactionalId: this.options.transactionalId, transactionTimeout: this.options.transactionTimeoutMs ?? 60_000 } : {}),
    });
    await producer.connect();
    this.producer = producer;
  }

  private ready(): Producer {
    if (!this.producer) throw new EddyError('UNAVAILABLE', 'The Kafka sink is not open.');
    return this.producer;
  }

  /** Writes messages (idempotent mode); resolves once all are acknowledged by all in-sync replicas. */
  async write(messages: SinkMessage[]): Promise<{ written: number }> {
    if (this.options.mode !== 'idempotent') throw new EddyError('VALIDATION', 'Use writeTransaction with a transactional Kafka sink.');
    const producer = this.ready();
    for (const chunk of chunkMessages(messages, this.options.topic, this.maxMessages, this.maxBytes)) {
      await producer.sendBatch({ topicMessages: chunk, acks: -1, compression: this.compression });
    }
    return { written: messages.length };
  }

  /**
   * Writes messages and, when given, the source offsets in one transaction, then commits it. Any
   * failure aborts the transaction (nothing of it becomes visible to read_committed consumers) and
   * is rethrown. `beforeCommit` exists for tests that prove the abort path.
   */
  writeTransaction(messages: SinkMessage[], offsets?: SinkOffsets, hooks: { beforeCommit?: () => Promise<void> | void } = {}): Promise<{ written: number }> {
    if (this.options.mode !== 'transactional') return Promise.reject(new EddyError('VALIDATION', 'writeTransaction needs a transactional Kafka sink.'));
    const run = this.queue.then(async () => {
      const producer = this.ready();
      const transaction = await producer.transaction();
      try {
        for (const chunk of chunkMessages(messages, this.options.topic, this.maxMessages, this.maxBytes)) {
          await transaction.sendBatch({ topicMessages: chunk, acks: -1, compression: this.compression });
        }
        if (offsets && offsets.topics.length > 0) {
          await transaction.sendOffsets({
            consumerGroupId: offsets.groupId,
            topics: offsets.topics.map(({ topic, partitions }) => ({ topic, partitions: partitions.map(({ partition, offset }) => ({ partition, offset: String(offset) })) })),
          });
        }
        await hooks.beforeCommit?.();
        await transaction.commit();
        return { written: messages.length };
      } catch (error) {
        if (transaction.isActive()) await transaction.abort().catch(() => undefined);
        throw error;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Transactional mode: registers the transactional id now (InitProducerId), which fences any
   * earlier producer with the same id and aborts its open transaction, before state is restored.
   */
  async fence(): Promise<void> {
    if (this.options.mode !== 'transactional') return;
    const transaction = await this.ready().transaction();
    await transaction.abort();
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await this.queue;
    await producer?.disconnect();
  }
}

export interface ConsumeTransformProduceOptions {
  kafka: Kafka;
  /** The source's consumer group: its offsets are committed inside each output transaction. */
  groupId: string;
  sourceTopics: string[];
  fromBeginning?: boolean;
  /** A transactional sink. */
  sink: KafkaSink;
  transform: (message: { topic: string; partition: number; offset: string; key: Buffer | null; value: Buffer | null; headers: Record<string, unknown>; timestamp: string }) => SinkMessage[] | Promise<SinkMessage[]>;
  /** Called after each committed transaction. */
  onCommitted?: (batch: { topic: string; partition: number; inputs: number; outputs: number; nextOffset: string }) => void;
}

/**
 * Reads the source topics in a consumer group and, per fetched batch, writes the transformed
 * outputs and the batch's next offsets in one transaction. A failed transaction is aborted and
 * the batch is read again from the last committed offset (kafkajs retries it, then restarts the
 * consumer), so outputs are exactly once for read_committed readers.
 */
export async function consumeTransformProduce(options: ConsumeTransformProduceOptions): Promise<{ consumer: Consumer; stop: () => Promise<void> }> {
  const consumer = options.kafka.consumer({ groupId: options.groupId, readUncommitted: false, allowAutoTopicCreation: false });
  await consumer.connect();
  await consumer.subscribe({ topics: options.sourceTopics, fromBeginning: options.fromBeginning ?? true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      if (!isRunning() || isStale() || batch.messages.length === 0) return;
      const outputs: SinkMessage[] = [];
      for (const message of batch.messages) {
        outputs.push(
          ...(await options.transform({
            topic: batch.topic,
            partition: batch.partition,
            offset: message.offset,
            key: message.key,
            value: message.value,
            headers: message.headers ?? {},
            timestamp: message.timestamp,
          })),
        );
      }
      const lastOffset = batch.lastOffset();
      const nextOffset = String(Number(lastOffset) + 1);
      await options.sink.writeTransaction(outputs, { groupId: options.groupId, topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: nextOffset }] }] });
      resolveOffset(lastOffset);
      options.onCommitted?.({ topic: batch.topic, partition: batch.partition, inputs: batch.messages.length, outputs: outputs.length, nextOffset });
      await heartbeat();
    },
  });
  return {
    consumer,
    stop: async () => {
      await consumer.disconnect();
    },
  };
}
