// The engine's implementation of the Kafka part of the contract (shared/contracts/kafka.ts):
// explore, lag sampling, capture jobs, produce, replay and bulk produce. Connections name a saved
// profile (connections/<id>.json) or an inline quick profile; clients are cached per profile.
import { EddyError, type HandlersFor } from '../../../shared/contract-kit.js';
import type { KafkaCaptureStatus, kafkaCommands } from '../../../shared/contracts/kafka.js';
import type { NewEvent } from '../../../shared/events.js';
import { getConnectionProfile } from '../connections/store.js';
import type { EngineContext } from '../context.js';
import type { JobHandle } from '../jobs.js';
import { describeCapture, planCapture, runCapture } from './capture.js';
import type { LogInput } from '../log/index.js';
import { KafkaClientCache, toKafkaError } from './client-cache.js';
import { kafkaStream, NOTE_OVER_LIMIT } from './decode.js';
import { describeGroup, describeTopic, listGroups, listTopics } from './explore.js';
import { LagSamplers } from './lag-sampler.js';
import { deleteGroup, resetGroupOffsets } from './group-admin.js';
import { peekTopic } from './peek.js';
import { addPartitions, alterTopicConfigs, deleteTopic } from './topic-admin.js';
import { produceFile, produceOne, replayToTopic, requirePartition } from './produce.js';
import { Partitioners, type Admin } from 'kafkajs';

/** The event log's default limit (main/engine/log); records above it are stored as metadata. */
export const LOG_MAX_EVENT_BYTES = 16 * 1024 * 1024;
const KEEP_CAPTURE_STATUS = 50;

/**
 * Producing never creates a topic (a mistyped name would otherwise make one on brokers with
 * auto.create.topics.enable): the topic must exist, or the user creates it on purpose.
 */
async function requireTopic(admin: Admin, topic: string, target: string, create = false): Promise<void> {
  if ((await admin.listTopics()).includes(topic)) return;
  if (!create) throw new EddyError('NOT_FOUND', `No topic named "${topic}" on ${target}. Check the name, or create the topic first (Topics → New topic).`);
  // -1: the broker's num.partitions and default.replication.factor.
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: -1, replicationFactor: -1 }] });
}

/**
 * Where the reading stands, apart from what is stored: partitions read to their end offsets
 * (their records may still be on the way to the log), or followed when the capture is a live tail.
 */
export function partitionProgress(status: Pick<KafkaCaptureStatus, 'partitions'>): string {
  const total = status.partitions.length;
  const bounded = status.partitions.filter((entry) => entry.endOffset !== null);
  const following = total - bounded.length;
  const read = bounded.filter((entry) => entry.done).length;
  if (bounded.length === 0) return `following ${total} partition(s)`;
  const readText = read === bounded.length ? `all ${bounded.length} partition(s) read to their end` : `${read}/${bounded.length} partition(s) read to their end`;
  return following > 0 ? `${readText}; following ${following}` : readText;
}

function captureMessage(status: KafkaCaptureStatus, expected: number | null): string {
  const count = `${status.captured.toLocaleString('en')}${expected !== null ? ` / ${expected.toLocaleString('en')}` : ''} events`;
  if (status.state === 'reconnecting') return `Broker unreachable, retrying (${status.lastError ?? 'no answer'}). ${count} safe in the log.`;
  if (status.state === 'starting') return 'Joining the cluster…';
  return `${count} stored; ${partitionProgress(status)}${status.withNotes > 0 ? `; ${status.withNotes.toLocaleString('en')} with decode notes` : ''}.`;
}

/** Appends to the log; an event the log still refuses (size) is stored again as metadata with the reason. */
function appendWithFallback(context: EngineContext): (events: LogInput[]) => Promise<{ duplicates: number }> {
  return async (events) => {
    const result = await context.log.append(events);
    let duplicates = result.duplicates;
    if (result.rejected.length > 0) {
      const byPosition = new Map(events.map((event) => [event.position, event]));
      const replacements: NewEvent[] = result.rejected.map((rejected) => {
        const original = byPosition.get(rejected.position);
        return {
          stream: rejected.stream,
          position: rejected.position,
          key: null,
          value: null,
          headers: [],
          decodeError: `${NOTE_OVER_LIMIT} (refused by the log: ${rejected.reason})`,
          eventTime: original?.eventTime ?? Date.now(),
          ingestTime: original?.ingestTime ?? Date.now(),
        };
      });
      const second = await context.log.append(replacements);
      duplicates += second.duplicates;
      if (second.rejected.length > 0) throw new EddyError('INTERNAL', `The event log refused ${second.rejected.length} event(s) even without their values: ${second.rejected[0]!.reason}`);
    }
    return { duplicates };
  };
}

export function createKafkaHandlers(context: EngineContext): HandlersFor<typeof kafkaCommands> {
  const clients = new KafkaClientCache(context.resolveSecret, (id) => getConnectionProfile(context, id));
  const samplers = new LagSamplers(clients, context.emit);
  const captures = new Map<string, KafkaCaptureStatus>();
  const running = new Set<Promise<unknown>>();

  context.onClose(async () => {
    samplers.close();
    // Jobs were cancelled just before; let captures flush what they already decoded into the log.
    if (running.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([Promise.allSettled([...running]), new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))]);
      clearTimeout(timer);
    }
    await clients.closeAll();
  });

  const remember = (jobId: string, status: KafkaCaptureStatus): void => {
    captures.delete(jobId);
    captures.set(jobId, { ...status, jobId });
    while (captures.size > KEEP_CAPTURE_STATUS) captures.delete(captures.keys().next().value!);
  };

  /** Runs job work with kafkajs errors turned into plain-words envelopes, tracked for a clean close. */
  const jobWork =
    (target: string, what: string, work: (handle: JobHandle) => Promise<string>) =>
    async (handle: JobHandle): Promise<string> => {
      const promise = work(handle);
      running.add(promise);
      try {
        return await promise;
      } catch (error) {
        throw toKafkaError(error, target, what);
      } finally {
        running.delete(promise);
      }
    };

  /** Partitions a captured Kafka stream came from (the highest in its positions, plus one). */
  async function capturedPartitions(stream: string): Promise<number | undefined> {
    if (!stream.startsWith('kafka:')) return undefined;
    const from = `${stream}/`.length + 1;
    const rest = `substr(position, ${from})`;
    const result = await context.log.query(
      `SELECT max(CAST(substr(${rest}, 1, instr(${rest}, '/') - 1) AS INTEGER)) FROM events WHERE stream = '${stream.replaceAll("'", "''")}'`,
      { maxRows: 1000, timeoutMs: 30_000 },
    );
    const highest = Math.max(-1, ...result.rows.map((row) => Number(row[0] ?? -1)));
    return highest >= 0 ? highest + 1 : undefined;
  }

  return {
    listKafkaTopics: ({ connection, includeInternal }) => clients.use(connection, 'Listing topics', async (handle) => listTopics(await handle.admin(), handle.raw(), includeInternal)),

    describeKafkaTopic: ({ connection, topic }) =>
      clients.use(connection, `Describing topic "${topic}"`, async (handle) => {
        const admin = await handle.admin();
        await requireTopic(admin, topic, handle.target);
        return describeTopic(admin, topic);
      }),

    createKafkaTopic: ({ connection, topic, partitions, replicationFactor, configs }) =>
      clients.use(connection, `Creating topic "${topic}"`, async (handle) => {
        const created = await (
          await handle.admin()
        ).createTopics({
          waitForLeaders: true,
          topics: [{ topic, numPartitions: partitions, replicationFactor, configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })) }],
        });
        return { created };
      }),

    alterKafkaTopicConfigs: ({ connection, topic, set, reset }) =>
      clients.use(connection, `Changing the configs of topic "${topic}"`, async (handle) => {
        const admin = await handle.admin();
        await requireTopic(admin, topic, handle.target);
        return alterTopicConfigs(admin, topic, set, reset);
      }),

    addKafkaPartitions: ({ connection, topic, partitions }) =>
      clients.use(connection, `Adding partitions to topic "${topic}"`, async (handle) => {
        const admin = await handle.admin();
        await requireTopic(admin, topic, handle.target);
        return addPartitions(admin, topic, partitions);
      }),

    deleteKafkaTopic: ({ connection, topic }) =>
      clients.use(connection, `Deleting topic "${topic}"`, async (handle) => {
        const admin = await handle.admin();
        await requireTopic(admin, topic, handle.target);
        return deleteTopic(admin, topic);
      }),

    resetKafkaGroupOffsets: ({ connection, ...request }) =>
      clients.use(connection, `Resetting the offsets of group "${request.groupId}"`, async (handle) => resetGroupOffsets(await handle.admin(), request)),

    deleteKafkaGroup: ({ connection, groupId }) => clients.use(connection, `Deleting group "${groupId}"`, async (handle) => deleteGroup(await handle.admin(), groupId)),

    peekKafkaTopic: ({ connection, topic, partitions, start, limit }) =>
      clients.use(connection, `Reading messages of "${topic}"`, async (handle) => peekTopic(await handle.admin(), handle.raw(), { topic, partitions, start, limit })),

    listKafkaGroups: ({ connection, withLag }) =>
      clients.use(connection, 'Listing consumer groups', async (handle) => ({ groups: await listGroups(await handle.admin(), handle.raw(), withLag), at: Date.now() })),

    describeKafkaGroup: ({ connection, groupId }) =>
      clients.use(connection, `Describing group "${groupId}"`, async (handle) => {
        const admin = await handle.admin();
        const { groups } = await admin.listGroups();
        if (!groups.some((group) => group.groupId === groupId)) {
          // Groups with committed offsets but no members are still listed; anything else does not exist.
          throw new EddyError('NOT_FOUND', `No consumer group "${groupId}" on ${handle.target}.`);
        }
        return describeGroup(admin, handle.raw(), groupId);
      }),

    startKafkaLagSampling: ({ connection, groupId, intervalMs }) => samplers.start(connection, groupId, intervalMs),
    renewKafkaLagSampling: async ({ samplerId }) => ({ renewed: samplers.renew(samplerId) }),
    stopKafkaLagSampling: async ({ samplerId }) => ({ stopped: samplers.stop(samplerId) }),

    startKafkaCapture: async (request) => {
      const { plan, kafka, target } = await clients.use(request.connection, 'Preparing the capture', async (handle) => ({
        plan: await planCapture(await handle.admin(), request.topics, request.start, request.stop),
        kafka: handle.kafka,
        target: handle.target,
      }));
      const topics = [...new Set(request.topics.map((entry) => entry.topic))];
      const title = `Capture ${topics.join(', ')}`;
      return context.jobs.start(
        { kind: 'kafka-capture', title, unit: 'events', total: plan.expected, streams: topics.map(kafkaStream) },
        jobWork(target, title, async (handle) => {
          const result = await runCapture({
            kafka,
            plan,
            stop: request.stop,
            append: appendWithFallback(context),
            encoder: context.log.encoder(),
            maxEventBytes: LOG_MAX_EVENT_BYTES,
            signal: handle.signal,
            jobId: handle.id,
            deleteGroups: (groups) => clients.use(request.connection, 'Removing the capture groups', async (client) => (await client.admin()).deleteGroups(groups)),
            ...(request.giveUpAfterMs !== undefined ? { giveUpAfterMs: request.giveUpAfterMs } : {}),
            onProgress: (status) => {
              remember(handle.id, status);
              handle.progress(status.captured, { total: plan.expected, message: captureMessage(status, plan.expected) });
            },
            onIncident: (severity, message) => context.report(severity, 'kafka', `${title}: ${message}`),
          });
          remember(handle.id, result.status);
          return [describeCapture(result), ...plan.notes].join(' ');
        }),
      );
    },

    getKafkaCaptureStatus: async ({ jobId }) => {
      const status = captures.get(jobId);
      if (!status) throw new EddyError('NOT_FOUND', `No Kafka capture with job id ${jobId}.`);
      return status;
    },

    produceKafkaMessage: (request) =>
      clients.use(request.connection, `Producing to "${request.topic}"`, async (handle) => {
        const admin = await handle.admin();
        await requireTopic(admin, request.topic, handle.target, request.createTopic);
        await requirePartition(admin, request.topic, request.partition);
        return produceOne(await handle.producer(), request);
      }),

    replayToKafka: async (request) => {
      const stats = (await context.log.streams()).find((entry) => entry.stream === request.stream);
      if (!stats) throw new EddyError('NOT_FOUND', `The event log has no stream "${request.stream}".`);
      const { kafka, target } = await clients.use(request.connection, 'Preparing the replay', async (handle) => {
        const admin = await handle.admin();
        if (request.keepPartitions && request.createTopic && !(await admin.listTopics()).includes(request.topic)) {
          // Keeping partitions needs as many as the captured topic had: the broker's default may be fewer.
          const partitions = await capturedPartitions(request.stream);
          if (partitions !== undefined) await admin.createTopics({ waitForLeaders: true, topics: [{ topic: request.topic, numPartitions: partitions, replicationFactor: -1 }] });
        }
        await requireTopic(admin, request.topic, handle.target, request.createTopic);
        return { kafka: handle.kafka, target: handle.target };
      });
      const title = `Replay ${request.stream} → ${request.topic}`;
      return context.jobs.start(
        { kind: 'kafka-replay', title, unit: 'events', total: request.positions?.length ?? stats.count },
        jobWork(target, title, async (handle) => {
          const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
          const admin = kafka.admin();
          await Promise.all([producer.connect(), admin.connect()]);
          try {
            return await replayToTopic({ log: context.log, producer, admin, ...request }, handle);
          } finally {
            await Promise.all([producer.disconnect().catch(() => undefined), admin.disconnect().catch(() => undefined)]);
          }
        }),
      );
    },

    produceKafkaFile: async (request) => {
      const { kafka, target, partitions } = await clients.use(request.connection, 'Preparing the bulk produce', async (handle) => {
        const admin = await handle.admin();
        await requireTopic(admin, request.topic, handle.target, request.createTopic);
        return { kafka: handle.kafka, target: handle.target, partitions: await requirePartition(admin, request.topic, undefined) };
      });
      const title = `Produce ${request.path ?? 'pasted JSONL'} → ${request.topic}`;
      return context.jobs.start(
        { kind: 'kafka-produce-file', title, unit: 'messages' },
        jobWork(target, title, async (handle) => {
          const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
          await producer.connect();
          try {
            return await produceFile({ producer, topic: request.topic, path: request.path, text: request.text, baseDir: context.workspace.root, lines: request.lines, onBadLine: request.onBadLine, partitions }, handle);
          } finally {
            await producer.disconnect().catch(() => undefined);
          }
        }),
      );
    },
  };
}
