// Kafka at the edges of a pipeline in the app.
//
// Sources: a live run captures each Kafka source's topic into the event log (the kafka feature's
// runCapture), and the pipeline reads the log stream, so every record a live run saw can be
// replayed. Where to resume: the capture itself commits nothing, so this keeps, per partition, the
// next offset of records the log has made durable (`capture-offsets.json`, written after durable
// appends only). After a crash it restarts there; anything captured twice is stored once (the log
// deduplicates by position).
//
// Sinks: the kafka feature's KafkaSink in transactional mode. Each epoch's records and a progress
// marker (pipeline, sink, run, checkpoint id) go to the topic and to the compacted
// `__eddy_sink_progress` topic in one transaction, so after a crash the sink knows which epoch it
// already committed and skips it: exactly once for read_committed consumers. With
// `transactional: false`, an idempotent producer: at least once.
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { Kafka } from 'kafkajs';
import type { NewEvent } from '../../../shared/events.js';
import type { SinkSpec } from '../../../shared/pipeline-spec.js';
import { planCapture, runCapture } from '../kafka/capture.js';
import { kafkaStream, parseKafkaPosition } from '../kafka/decode.js';
import { eventsToSinkMessages, KafkaSink, type SinkMessage } from '../kafka/sink.js';
import { TransientSinkError, type Sink, type SinkCommitResult, type SinkLineage, type SinkRecord } from '../sinks/sink.js';
import type { LogPort } from './sources/log-port.js';

export interface EmbeddedCapture {
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

export interface CaptureIntoLogOptions {
  kafka: Kafka;
  topic: string;
  /** The log stream (default `kafka:<topic>`). */
  stream?: string | undefined;
  startFrom: 'earliest' | 'latest';
  log: Pick<LogPort, 'append'>;
  offsetsFile: string;
  maxEventBytes?: number;
  onIncident?: (severity: 'warning' | 'info', message: string) => void;
}

async function readOffsets(file: string): Promise<Record<string, number>> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Record<string, number>;
  } catch {
    return {};
  }
}

export async function captureIntoLog(options: CaptureIntoLogOptions): Promise<EmbeddedCapture> {
  const admin = options.kafka.admin();
  await admin.connect();
  const controller = new AbortController();
  const saved = await readOffsets(options.offsetsFile);
  const durable = new Map<number, number>(Object.entries(saved).map(([partition, offset]) => [Number(partition), offset]));
  let plan;
  try {
    plan = await planCapture(admin, [{ topic: options.topic }], { kind: options.startFrom === 'latest' && durable.size === 0 ? 'newest' : 'oldest' }, { follow: true });
  } catch (error) {
    await admin.disconnect().catch(() => undefined);
    throw error;
  }
  for (const partition of plan.partitions) {
    const resume = durable.get(partition.partition);
    if (resume !== undefined) partition.startOffset = Math.min(Math.max(resume, partition.low), partition.high);
  }
  const stream = options.stream;
  let dirty = false;
  let writing: Promise<void> = Promise.resolve();
  const persist = (): void => {
    if (!dirty) return;
    dirty = false;
    const snapshot = JSON.stringify(Object.fromEntries(durable));
    writing = writing.then(async () => {
      const temp = `${options.offsetsFile}.tmp`;
      await writeFile(temp, snapshot);
      await rename(temp, options.offsetsFile);
    });
  };
  const timer = setInterval(persist, 500);
  const append = async (events: NewEvent[]): Promise<{ duplicates: number }> => {
    const renamed = stream && stream !== kafkaStream(options.topic) ? events.map((event) => ({ ...event, stream })) : events;
    const result = await options.log.append(renamed);
    for (const event of events) {
      const parsed = parseKafkaPosition(event.position);
      if (parsed && parsed.offset + 1 > (durable.get(parsed.partition) ?? 0)) durable.set(parsed.partition, parsed.offset + 1);
    }
    dirty = true;
    return { duplicates: result.duplicates };
  };
  const done = runCapture({
    kafka: options.kafka,
    plan,
    stop: { follow: true },
    append,
    maxEventBytes: options.maxEventBytes ?? 16 * 1024 * 1024,
    signal: controller.signal,
    onIncident: options.onIncident,
  })
    .then(() => undefined)
    .finally(async () => {
      clearInterval(timer);
      persist();
      await writing.catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    });
  return {
    done,
    async stop() {
      controller.abort();
      await done.catch(() => undefined);
    },
  };
}

// ---------------------------------------------------------------------------------------------

export const KAFKA_PROGRESS_TOPIC = '__eddy_sink_progress';

type KafkaSinkSpec = Extract<SinkSpec, { kind: 'kafka' }>;

function toMessages(records: SinkRecord[]): SinkMessage[] {
  const { messages } = eventsToSinkMessages(
    records.map((record) => ({
      position: record.event.position,
      key: record.event.key,
      value: record.event.value,
      headers: [...record.event.headers, { key: 'eddy.origin', value: `${record.origin.stream}@${record.origin.position}/${record.lineage}` }],
      eventTime: record.event.eventTime,
    })),
  );
  return messages.map((message, index) => ({ ...message, timestamp: String(records[index]!.event.eventTime) }));
}

export class KafkaPipelineSink implements Sink {
  readonly kind = 'kafka';
  private sink: KafkaSink | undefined;
  private lineage: SinkLineage | undefined;
  private progress = 0;

  constructor(
    private readonly spec: KafkaSinkSpec,
    private readonly kafka: Kafka,
    private readonly pipeline: string,
  ) {}

  get id(): string {
    return this.spec.id;
  }

  private get progressKey(): string {
    return `${this.pipeline}/${this.spec.id}`;
  }

  async open(lineage: SinkLineage): Promise<number> {
    this.lineage = lineage;
    try {
      this.sink = new KafkaSink(this.kafka, {
        topic: this.spec.topic,
        mode: this.spec.transactional ? 'transactional' : 'idempotent',
        ...(this.spec.transactional ? { transactionalId: `eddy-${this.pipeline}-${this.spec.id}` } : {}),
      });
      await this.sink.open();
      this.progress = this.spec.transactional ? await this.readProgress(lineage) : 0;
      return this.progress;
    } catch (error) {
      throw new TransientSinkError(`Kafka topic ${this.spec.topic}: ${(error as Error).message}`, { cause: error });
    }
  }

  async commit(checkpoint: number, records: SinkRecord[]): Promise<SinkCommitResult> {
    const sink = this.sink;
    const lineage = this.lineage;
    if (!sink || !lineage) throw new Error('The Kafka sink is not open.');
    if (checkpoint <= this.progress) return { rejected: [] };
    const messages = toMessages(records);
    try {
      if (this.spec.transactional) {
        messages.push({ topic: KAFKA_PROGRESS_TOPIC, key: this.progressKey, value: JSON.stringify({ runId: lineage.runId, checkpoint }) });
        await sink.writeTransaction(messages);
      } else {
        await sink.write(messages);
      }
      this.progress = checkpoint;
      return { rejected: [] };
    } catch (error) {
      throw new TransientSinkError(`Kafka topic ${this.spec.topic}: ${(error as Error).message}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    await this.sink?.close().catch(() => undefined);
    this.sink = undefined;
  }

  /** The last committed progress marker for this sink (read_committed), 0 when another run wrote it. */
  private async readProgress(lineage: SinkLineage): Promise<number> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const topics = await admin.listTopics();
      if (!topics.includes(KAFKA_PROGRESS_TOPIC)) {
        await admin.createTopics({ topics: [{ topic: KAFKA_PROGRESS_TOPIC, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] }).catch(() => undefined);
        return 0;
      }
      const offsets = await admin.fetchTopicOffsets(KAFKA_PROGRESS_TOPIC);
      const end = new Map(offsets.map((entry) => [entry.partition, Number(entry.high)]));
      if (offsets.every((entry) => Number(entry.high) <= Number(entry.low))) return 0;
      const groupId = `eddy-progress-${lineage.runId}-${Date.now()}`;
      const consumer = this.kafka.consumer({ groupId, readUncommitted: false });
      let found = 0;
      await consumer.connect();
      try {
        await consumer.subscribe({ topic: KAFKA_PROGRESS_TOPIC, fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
          const remaining = new Set([...end.entries()].filter(([, high]) => high > 0).map(([partition]) => partition));
          const timer = setTimeout(() => reject(new Error('timed out reading the sink progress topic')), 30_000);
          void consumer
            .run({
              eachMessage: async ({ partition, message }) => {
                if (message.key?.toString() === this.progressKey && message.value) {
                  const marker = JSON.parse(message.value.toString()) as { runId: string; checkpoint: number };
                  found = marker.runId === lineage.runId ? marker.checkpoint : 0;
                }
                // Transaction markers take offsets too: stop at the last offset before the end.
                if (Number(message.offset) + 2 >= (end.get(partition) ?? 0)) remaining.delete(partition);
                if (remaining.size === 0) {
                  clearTimeout(timer);
                  resolve();
                }
              },
            })
            .catch(reject);
          if (remaining.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        });
      } finally {
        await consumer.disconnect().catch(() => undefined);
        await admin.deleteGroups([groupId]).catch(() => undefined);
      }
      return found;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}
