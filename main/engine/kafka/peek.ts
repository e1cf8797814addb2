// Peek at a topic: read a few messages to look at them, as Kafka GUIs' message browsers do,
// without a consumer group (one-off read_committed fetches, cluster-access.ts) and without
// storing anything. Records are decoded exactly as a capture would decode them (decode.ts), so
// what the table shows is what a capture would store.
import type { Admin } from 'kafkajs';
import { EddyError } from '../../../shared/contract-kit.js';
import type { KafkaPeekMessage, KafkaPeekResult, KafkaStart } from '../../../shared/contracts/kafka.js';
import type { JsonValue } from '../../../shared/events.js';
import type { RawCluster } from './cluster-access.js';
import { decodeRecord } from './decode.js';
import { startPositions } from './positions.js';

/** A value above this is shown as metadata with a note (the table is a preview, not the log). */
export const PEEK_MAX_MESSAGE_BYTES = 256 * 1024;
/** What one peek may return in all (keys, values and headers as sent to the UI). */
const PEEK_MAX_TOTAL_BYTES = 8 * 1024 * 1024;
/** Fetches per partition before giving up on reaching `limit` (compacted or sparse partitions). */
const MAX_FETCHES = 20;

export interface PeekRequest {
  topic: string;
  partitions?: number[] | undefined;
  start: KafkaStart;
  limit: number;
}

export async function peekTopic(admin: Admin, raw: RawCluster | undefined, request: PeekRequest): Promise<KafkaPeekResult> {
  if (!raw) throw new EddyError('UNAVAILABLE', 'Reading messages needs kafkajs internals this build does not have; capture the topic instead.');
  if (!(await admin.listTopics()).includes(request.topic)) throw new EddyError('NOT_FOUND', `No topic named "${request.topic}".`);
  const { start, limit } = request;
  const newest = start.kind === 'newest' || start.kind === 'last';
  // "Newest" shows the last `limit` messages of each partition (then the newest of them overall).
  const from = newest ? { kind: 'last' as const, count: start.kind === 'last' ? Math.min(start.count, limit) : limit } : start;
  // Read-committed end offsets, from the same cluster handle that fetches the records.
  const bounds = (await raw.offsets([request.topic])).get(request.topic) ?? new Map<number, { low: number; high: number }>();
  const positions = await startPositions(admin, request.topic, request.partitions, from, 'NOT_FOUND', bounds);
  const ingestTime = Date.now();
  const messages: KafkaPeekMessage[] = [];
  let notes: string[] = [];

  await Promise.all(
    positions.map(async ({ partition, high, offset: first }) => {
      let offset = first;
      let taken = 0;
      for (let fetches = 0; offset < high && taken < request.limit && fetches < MAX_FETCHES; fetches++) {
        const fetched = await raw.fetchCommitted(request.topic, partition, offset);
        if (fetched.next === offset) break; // nothing more to read here (end, or only markers)
        for (const record of fetched.records) {
          if (taken >= request.limit || Number(record.offset) >= high) break;
          const decoded = decodeRecord(request.topic, partition, record, { maxEventBytes: PEEK_MAX_MESSAGE_BYTES, ingestTime });
          const event = decoded.event;
          const message: KafkaPeekMessage = {
            partition,
            offset: Number(record.offset),
            timestamp: Number(record.timestamp),
            key: (event.key ?? null) as JsonValue,
            value: (event.value ?? null) as JsonValue,
            headers: event.headers ?? [],
            size: decoded.recordBytes,
          };
          if (event.valueBytes !== undefined) message.valueBytes = event.valueBytes;
          if (event.decodeError !== undefined) message.decodeError = event.decodeError;
          if (event.op !== undefined) message.op = event.op;
          messages.push(message);
          taken++;
        }
        offset = fetched.next;
      }
      if (offset < high && taken < request.limit) notes.push(`partition ${partition} stopped at offset ${offset} of ${high}`);
    }),
  );

  // Newest first for the latest messages; otherwise in time order from the start point.
  messages.sort((a, b) => (newest ? b.timestamp - a.timestamp || b.offset - a.offset : a.timestamp - b.timestamp || a.offset - b.offset));
  const shown = messages.slice(0, request.limit);
  // Keep the answer to a size the UI can take at once.
  let total = 0;
  let cut = shown.length;
  for (let index = 0; index < shown.length; index++) {
    total += shown[index]!.size;
    if (total > PEEK_MAX_TOTAL_BYTES) {
      cut = index;
      break;
    }
  }
  if (cut < shown.length) notes = [`the first ${cut} message(s) only: the rest would pass ${PEEK_MAX_TOTAL_BYTES / 1024 / 1024} MB`, ...notes];
  const result: KafkaPeekResult = { topic: request.topic, messages: shown.slice(0, cut), at: Date.now() };
  if (notes.length > 0) result.note = `Showing ${notes.join('; ')}.`;
  return result;
}
