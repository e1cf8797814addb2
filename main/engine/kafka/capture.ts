// Capturing Kafka records into the event log.
//
// How it reads. kafkajs has no `assign()`, so a capture uses a consumer in a throwaway group
// (`eddy-capture-<uuid>`, deleted afterwards) that commits nothing: the capture tracks the next
// offset of every partition itself. After every group join (the first one, a rebalance, or the
// restart that follows a lost broker) it seeks each selected partition to that tracked offset and
// pauses the partitions it does not want. Records below the tracked offset (a batch fetched just
// before a seek) are skipped; anything appended twice anyway is stored once, because the log
// deduplicates by position.
//
// Flow and memory. `eachBatch` decodes a batch, hands it to a bounded appender queue, then
// resolves the batch's offsets with kafkajs so the next fetch starts after it; the tracked offsets
// advance with it. Nothing is committed to Kafka: the log is the only record of what was captured,
// and the durable count (what the progress bar shows) advances as the log acknowledges appends.
// When the queue is full, `eachBatch` waits (heartbeating), and kafkajs does not fetch meanwhile.
// Given the log's encoder (`encoder`), each record is encoded for it as soon as it is
// decoded: the queue then holds journal bytes and a few fields per event, not decoded values,
// which would live long enough to be promoted and traced by V8's collector (it took about half of
// the capture's CPU before).
//
// Losing the broker. kafkajs retries, then "crashes" the consumer and restarts it; the capture
// shows "reconnecting" with the reason, and on the next group join seeks back to its tracked
// offsets. Nothing queued is lost (the appender keeps going) and nothing is duplicated.
import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { EddyError } from '../../../shared/contract.js';
import type { KafkaCaptureStatus, KafkaStart, KafkaStop } from '../../../shared/contracts/kafka.js';
import type { NewEvent } from '../../../shared/events.js';
import { errorChain } from '../connections/diagnose.js';
import { LogAppender, DEFAULT_APPENDER_LIMITS, type AppenderLimits } from './appender.js';
import { partitionKey } from './cluster-access.js';
import { decodeRecord } from './decode.js';
import { startPositions } from './positions.js';
import type { EventEncoder, LogInput } from '../log/index.js';

export interface PlannedPartition {
  topic: string;
  partition: number;
  startOffset: number;
  /** Exclusive end (the last stable offset when the capture started), or null to follow. */
  endOffset: number | null;
  low: number;
  high: number;
}

export interface CapturePlan {
  partitions: PlannedPartition[];
  /** Adjustments worth telling the user (an offset before the log start, a timestamp after the end). */
  notes: string[];
  /** Records expected when the capture stops at the end offsets (an upper bound with compaction). */
  expected: number | null;
}

export interface CaptureTopicSelection {
  topic: string;
  partitions?: number[] | undefined;
}

/** Works out where each selected partition starts and ends. Throws NOT_FOUND/VALIDATION for a bad selection. */
export async function planCapture(admin: Admin, topics: CaptureTopicSelection[], start: KafkaStart, stop: KafkaStop): Promise<CapturePlan> {
  const names = [...new Set(topics.map((entry) => entry.topic))];
  const existing = new Set(await admin.listTopics());
  const missing = names.filter((name) => !existing.has(name));
  if (missing.length > 0) throw new EddyError('NOT_FOUND', `No topic named ${missing.map((name) => `"${name}"`).join(', ')} on this cluster.`);
  const plan: CapturePlan = { partitions: [], notes: [], expected: 0 };
  for (const selection of topics) {
    for (const { partition, low, high, offset } of await startPositions(admin, selection.topic, selection.partitions, start)) {
      if (start.kind === 'offset' && start.offset < low) plan.notes.push(`${selection.topic}/${partition}: offset ${start.offset} is before the log start (${low}); starting at ${low}.`);
      if (start.kind === 'offset' && start.offset > high) plan.notes.push(`${selection.topic}/${partition}: offset ${start.offset} is after the end (${high}); starting at the end.`);
      plan.partitions.push({ topic: selection.topic, partition, startOffset: offset, endOffset: stop.follow ? null : high, low, high });
    }
  }
  plan.expected = stop.follow ? null : plan.partitions.reduce((sum, entry) => sum + Math.max(0, (entry.endOffset ?? 0) - entry.startOffset), 0);
  if (plan.expected !== null && stop.maxMessages !== undefined) plan.expected = Math.min(plan.expected, stop.maxMessages);
  return plan;
}

interface CaptureOptionsBase {
  kafka: Kafka;
  plan: CapturePlan;
  stop: KafkaStop;
  maxEventBytes: number;
  signal: AbortSignal;
  /** Called as the log acknowledges appends (durable counts) and when the status changes. */
  onProgress?: (status: KafkaCaptureStatus) => void;
  /** Called with a sentence when the broker is lost or comes back (for the problems list). */
  onIncident?: (severity: 'warning' | 'info', message: string) => void;
  /** Give up when no broker answers for this long (default: keep trying until cancelled). */
  giveUpAfterMs?: number;
  appenderLimits?: AppenderLimits;
  /** Consumer fetch sizes (the benchmark's bare consumer uses the same). */
  fetch?: { maxBytes?: number; maxBytesPerPartition?: number; maxWaitTimeInMs?: number };
  jobId?: string;
  /** Deletes the capture's throwaway groups afterwards (best effort; they expire anyway). */
  deleteGroups?: (groupIds: string[]) => Promise<unknown>;
}

/**
 * `append` appends to the log and resolves when durable, with how many were already there. Given
 * the log's `encoder` (`EventLog.encoder()`), it is handed events encoded for that log
 * (`EncodedEvent`s, made as each record is decoded, so the queue between the consumer and the log
 * holds bytes, not decoded objects), as the PostgreSQL capture does for a sink with an encoder.
 */
export type CaptureOptions = CaptureOptionsBase &
  ({ encoder?: undefined; append: (events: NewEvent[]) => Promise<{ duplicates: number } | void> } | { encoder: EventEncoder; append: (events: LogInput[]) => Promise<{ duplicates: number } | void> });

export type CaptureEnd = 'end' | 'maxMessages' | 'maxBytes' | 'untilTime' | 'cancelled';

export interface CaptureResult {
  status: KafkaCaptureStatus;
  reason: CaptureEnd;
  elapsedMs: number;
  peakQueuedBytes: number;
}

interface PartitionState {
  topic: string;
  partition: number;
  startOffset: number;
  nextOffset: number;
  endOffset: number | null;
  captured: number;
  done: boolean;
}

export const CAPTURE_FETCH_DEFAULTS = { maxBytes: 16 * 1024 * 1024, maxBytesPerPartition: 4 * 1024 * 1024, maxWaitTimeInMs: 500 };

function errorText(error: unknown): string {
  const parts: string[] = [];
  for (const current of errorChain(error, 4)) if (current instanceof Error && !parts.includes(current.message)) parts.push(current.message);
  return parts.join(': ') || String(error);
}

/**
 * Whether a consumer crash is a broker still coming back. kafkajs calls some of those failures
 * non-retriable: a restarted broker that has not yet loaded its group coordinator answers "Failed
 * to find group coordinator" (seen in CI: the capture stopped in the middle of a broker restart).
 */
function brokerComingBack(error: unknown): boolean {
  return errorChain(error, 4).some((current) => {
    const { name, retriable } = current as { name?: unknown; retriable?: unknown };
    return retriable === true || (typeof name === 'string' && TRANSIENT_ERRORS.has(name));
  });
}

const TRANSIENT_ERRORS = new Set(['KafkaJSGroupCoordinatorNotFound', 'KafkaJSConnectionError', 'KafkaJSBrokerNotFound', 'KafkaJSRequestTimeoutError', 'KafkaJSNumberOfRetriesExceeded']);

/** Runs a planned capture to its end; resolves with what was captured (rejects only when the log or the topic fails for good). */
export async function runCapture(options: CaptureOptions): Promise<CaptureResult> {
  const { kafka, plan, stop, signal } = options;
  const started = Date.now();
  const states = new Map<string, PartitionState>();
  for (const entry of plan.partitions) {
    const state: PartitionState = { ...entry, nextOffset: entry.startOffset, captured: 0, done: false };
    if (state.endOffset !== null && state.nextOffset >= state.endOffset) state.done = true;
    states.set(partitionKey(entry.topic, entry.partition), state);
  }
  const status: KafkaCaptureStatus = {
    jobId: options.jobId ?? '',
    state: 'starting',
    captured: 0,
    alreadyInLog: 0,
    bytes: 0,
    withNotes: 0,
    oversized: 0,
    reconnects: 0,
    lastError: null,
    partitions: [],
  };
  const snapshot = (): KafkaCaptureStatus => ({
    ...status,
    partitions: [...states.values()].map((state) => ({
      topic: state.topic,
      partition: state.partition,
      startOffset: state.startOffset,
      nextOffset: state.nextOffset,
      endOffset: state.endOffset,
      captured: state.captured,
      done: state.done,
    })),
  });
  const report = (): void => options.onProgress?.(snapshot());

  // Handed-over counts (limits apply to these) and durable counts (progress shows these).
  let handed = 0;
  let handedBytes = 0;
  let finished = false;
  let reason: CaptureEnd = 'end';
  let fatal: unknown;
  let resolveFinished!: () => void;
  const finishedPromise = new Promise<void>((resolve) => (resolveFinished = resolve));
  const finish = (why: CaptureEnd, error?: unknown): void => {
    if (finished) return;
    finished = true;
    reason = why;
    if (error !== undefined) fatal = error;
    resolveFinished();
  };

  const appender = new LogAppender<LogInput>(
    async (events) => {
      // Encoded events only reach an append that came with the encoder.
      const result = await (options.append as (events: LogInput[]) => Promise<{ duplicates: number } | void>)(events);
      if (result) status.alreadyInLog += result.duplicates;
    },
    (events, _bytes) => {
      status.captured += events.length;
      for (const event of events) {
        if (event.decodeError) status.withNotes++;
      }
      report();
    },
    options.appenderLimits ?? DEFAULT_APPENDER_LIMITS,
  );

  const allDone = (): boolean => [...states.values()].every((state) => state.done);
  if (allDone()) finish('end');

  const onAbort = (): void => finish('cancelled');
  if (signal.aborted) finish('cancelled');
  signal.addEventListener('abort', onAbort, { once: true });

  // A live capture bounded by time ends when the clock passes the end, even if no record comes.
  let untilTimer: ReturnType<typeof setTimeout> | undefined;
  if (stop.follow && stop.untilTime !== undefined) {
    untilTimer = setTimeout(() => finish('untilTime'), Math.max(0, stop.untilTime - Date.now() + 1000));
  }

  const fetch = { ...CAPTURE_FETCH_DEFAULTS, ...options.fetch };
  let lostSince: number | undefined;
  let consumer: Consumer | undefined;
  let generation = 0;
  const groups: string[] = [];
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  let reconnectPending = false;
  let backoffMs = 500;
  const removers: (() => void)[] = [];

  const pausePartition = (state: PartitionState): void => {
    try {
      consumer?.pause([{ topic: state.topic, partitions: [state.partition] }]);
    } catch {
      // Not running (between restarts): the next group join pauses it.
    }
  };
  const markDone = (state: PartitionState, why: CaptureEnd = 'end'): void => {
    if (state.done) return;
    state.done = true;
    pausePartition(state);
    if (allDone()) finish(why);
  };

  // Losing the broker: instead of letting kafkajs restart the same consumer (whose group would
  // then wait a whole session timeout for the dead member of the previous generation), start a
  // fresh consumer in a fresh throwaway group; it seeks to the tracked offsets on joining.
  const scheduleReconnect = (error: unknown): void => {
    if (finished || reconnectPending) return;
    reconnectPending = true;
    status.lastError = errorText(error);
    if (status.state !== 'reconnecting') {
      lostSince ??= Date.now();
      status.state = 'reconnecting';
      status.reconnects++;
      options.onIncident?.('warning', `Lost the connection to the broker (${status.lastError}). Retrying; nothing captured so far is lost.`);
    }
    report();
    if (options.giveUpAfterMs !== undefined && lostSince !== undefined && Date.now() - lostSince > options.giveUpAfterMs) {
      finish('end', new EddyError('UNAVAILABLE', `No broker answered for ${Math.round((Date.now() - lostSince) / 1000)} s; giving up. Last error: ${status.lastError}`, { captured: status.captured }));
      return;
    }
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      void (async () => {
        const old = consumer;
        consumer = undefined;
        await old?.disconnect().catch(() => undefined);
        reconnectPending = false;
        if (finished) return;
        try {
          await openConsumer();
          backoffMs = 500;
        } catch (failure) {
          backoffMs = Math.min(backoffMs * 2, 5000);
          scheduleReconnect(failure);
        }
      })();
    }, backoffMs);
  };

  const openConsumer = async (): Promise<void> => {
    const mine = ++generation;
    const groupId = `eddy-capture-${randomUUID()}`;
    groups.push(groupId);
    const current = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      readUncommitted: false,
      sessionTimeout: 30_000,
      heartbeatInterval: 3000,
      maxBytes: fetch.maxBytes,
      maxBytesPerPartition: fetch.maxBytesPerPartition,
      maxWaitTimeInMs: fetch.maxWaitTimeInMs,
      retry: {
        initialRetryTime: 300,
        maxRetryTime: 2000,
        retries: 3,
        // Called only for retriable failures (lost broker, timeouts): reconnect our own way.
        restartOnFailure: async (error) => {
          if (mine === generation) scheduleReconnect(error);
          return false;
        },
      },
    });
    consumer = current;
    const stale = (): boolean => mine !== generation || finished;
    removers.push(
      current.on(current.events.GROUP_JOIN, (event) => {
        if (stale()) return;
        const assigned = event.payload.memberAssignment as Record<string, number[]>;
        for (const [topic, partitions] of Object.entries(assigned)) {
          const idle: number[] = [];
          for (const partition of partitions) {
            const state = states.get(partitionKey(topic, partition));
            if (!state || state.done) idle.push(partition);
            else current.seek({ topic, partition, offset: String(state.nextOffset) });
          }
          if (idle.length > 0) current.pause([{ topic, partitions: idle }]);
        }
        if (status.state === 'reconnecting') {
          options.onIncident?.('info', `Reconnected to the broker after ${Math.round((Date.now() - (lostSince ?? Date.now())) / 1000)} s; resuming from the stored positions.`);
        }
        lostSince = undefined;
        status.state = 'running';
        status.lastError = null;
        report();
      }),
    );
    removers.push(
      current.on(current.events.CRASH, (event) => {
        // Retriable crashes were handed to scheduleReconnect by restartOnFailure already.
        if (stale() || reconnectPending) return;
        if (brokerComingBack(event.payload.error)) {
          scheduleReconnect(event.payload.error);
          return;
        }
        finish('end', new EddyError('UNAVAILABLE', `The capture stopped: ${errorText(event.payload.error)}`, { captured: status.captured }));
      }),
    );
    // Batches made only of transaction markers or aborted records never reach eachBatch, but the
    // partition still moved on: follow it here, so a partition ending in a marker is seen as done.
    // (Only for such batches: a batch eachBatch left early must not move the tracked offset.)
    removers.push(
      current.on(current.events.END_BATCH_PROCESS, (event) => {
        if (stale()) return;
        const { topic, partition, lastOffset, batchSize } = event.payload as { topic: string; partition: number; lastOffset: string; batchSize: number };
        if (batchSize !== 0) return;
        const state = states.get(partitionKey(topic, partition));
        if (!state || state.done) return;
        const next = Number(lastOffset) + 1;
        if (next > state.nextOffset) state.nextOffset = next;
        if (state.endOffset !== null && state.nextOffset >= state.endOffset) markDone(state);
      }),
    );
    await current.connect();
    await current.subscribe({ topics: [...new Set(plan.partitions.map((entry) => entry.topic))], fromBeginning: true });
    await current.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 1, eachBatch });
  };

  const eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> => {
    const state = states.get(partitionKey(batch.topic, batch.partition));
    if (!state || state.done || finished) return;
    const events: LogInput[] = [];
    let bytes = 0;
    let lastHanded: string | undefined;
    let complete = true;
    const ingestTime = Date.now();
    for (const message of batch.messages) {
      if (finished || state.done || !isRunning() || isStale()) {
        complete = false;
        break;
      }
      const offset = Number(message.offset);
      if (offset < state.nextOffset) continue;
      if (state.endOffset !== null && offset >= state.endOffset) {
        markDone(state);
        complete = false;
        break;
      }
      if (stop.untilTime !== undefined && Number(message.timestamp) >= stop.untilTime) {
        markDone(state, 'untilTime');
        complete = false;
        break;
      }
      const decoded = decodeRecord(batch.topic, batch.partition, message, { maxEventBytes: options.maxEventBytes, ingestTime });
      events.push(options.encoder ? options.encoder.encode(decoded.event) : decoded.event);
      bytes += decoded.storedBytes;
      if (decoded.oversized) status.oversized++;
      handed++;
      handedBytes += decoded.recordBytes;
      state.captured++;
      state.nextOffset = offset + 1;
      lastHanded = message.offset;
      if (stop.maxMessages !== undefined && handed >= stop.maxMessages) finish('maxMessages');
      else if (stop.maxBytes !== undefined && handedBytes >= stop.maxBytes) finish('maxBytes');
    }
    status.bytes = handedBytes;
    if (complete && !finished) {
      // The whole batch is handed over, including any transaction marker after its last record
      // (kafkajs never shows markers): move past all of it.
      const last = batch.lastOffset();
      resolveOffset(last);
      if (Number(last) + 1 > state.nextOffset) state.nextOffset = Number(last) + 1;
    } else if (lastHanded !== undefined) {
      resolveOffset(lastHanded);
    }
    if (state.endOffset !== null && state.nextOffset >= state.endOffset) markDone(state);
    await appender.push(events, bytes, heartbeat);
  };

  let result: CaptureResult | undefined;
  try {
    if (!finished) {
      try {
        await openConsumer();
      } catch (error) {
        scheduleReconnect(error);
      }
      // An appender failure surfaces on the next push; make sure it also ends a quiet capture.
      const appenderWatch = setInterval(() => {
        if (appender.failed) finish('end', appender.failed);
      }, 250);
      try {
        await finishedPromise;
      } finally {
        clearInterval(appenderWatch);
      }
    }
    status.state = 'finishing';
    report();
  } finally {
    signal.removeEventListener('abort', onAbort);
    if (untilTimer) clearTimeout(untilTimer);
    if (reconnectTimer) clearTimeout(reconnectTimer);
    for (const remove of removers) remove();
    finished = true;
    await consumer?.disconnect().catch(() => undefined);
    if (options.deleteGroups) await options.deleteGroups(groups).catch(() => undefined);
    // Whatever was handed over is appended before the capture reports its end (cancel included).
    try {
      await appender.drain();
    } catch (error) {
      fatal ??= error;
    }
    status.state = 'done';
    report();
    result = { status: snapshot(), reason, elapsedMs: Date.now() - started, peakQueuedBytes: appender.peakQueuedBytes };
  }
  if (fatal !== undefined) {
    if (fatal instanceof EddyError) throw fatal;
    throw new EddyError('UNAVAILABLE', `The capture stopped: ${errorText(fatal)}`, { captured: result.status.captured });
  }
  return result;
}

/** A one-line summary of a finished capture. */
export function describeCapture(result: CaptureResult): string {
  const { status } = result;
  const topics = [...new Set(status.partitions.map((entry) => entry.topic))];
  const why: Record<CaptureEnd, string> = {
    end: 'reached the end offsets',
    maxMessages: 'reached the message limit',
    maxBytes: 'reached the byte limit',
    untilTime: 'reached the end of the time range',
    cancelled: 'cancelled',
  };
  const parts = [`Captured ${status.captured.toLocaleString('en')} events from ${topics.join(', ')} (${status.partitions.length} partition(s)) in ${(result.elapsedMs / 1000).toFixed(1)} s; ${why[result.reason]}.`];
  if (status.withNotes > 0) parts.push(`${status.withNotes.toLocaleString('en')} stored with a decode note.`);
  if (status.oversized > 0) parts.push(`${status.oversized.toLocaleString('en')} over the size limit (kept as metadata).`);
  if (status.reconnects > 0) parts.push(`Reconnected ${status.reconnects} time(s).`);
  return parts.join(' ');
}
