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

async function startOffsets(admin: Admin, topic: string, start: KafkaStart, bounds: Map<number, { low: number; high: number }>, limit: number): Promise<Map<number, number>> {
  const from = new Map<number, number>();
  if (start.kind === 'timestamp') {
    for (const { partition, offset } of await admin.fetchTopicOffsetsByTimestamp(topic, start.timestamp)) {
      const range = bounds.get(partition);
      if (!range) continue;
      const at = Number(offset);
      from.set(partition, at < 0 ? range.high : Math.max(range.low, Math.min(at, range.high)));
    }
    return from;
  }
  for (const [partition, range] of bounds) {
    if (start.kind === 'oldest') from.set(partition, range.low);
    else if (start.kind === 'offset') from.set(partition, Math.max(range.low, Math.min(start.offset, range.high)));
    else from.set(partition, Math.max(range.low, range.high - (start.kind === 'last' ? Math.min(start.count, limit) : limit)));
  }
  return from;
}

export async function peekTopic(admin: Admin, raw: RawCluster | undefined, request: PeekRequest): Promise<KafkaPeekResult> {
  if (!raw) throw new EddyError('UNAVAILABLE', 'Reading messages needs kafkajs internals this build does not have; capture the topic instead.');
  if (!(await admin.listTopics()).includes(request.topic)) throw new EddyError('NOT_FOUND', `No topic named "${request.topic}".`);
  const all = (await raw.offsets([request.topic])).get(request.topic) ?? new Map<number, { low: number; high: number }>();
  const wanted = request.partitions && request.partitions.length > 0 ? new Set(request.partitions) : undefined;
  const missing = wanted ? [...wanted].filter((partition) => !all.has(partition)) : [];
  if (missing.length > 0) throw new EddyError('NOT_FOUND', `Topic "${request.topic}" has no partition ${missing.join(', ')} (it has ${all.size}).`);
  const bounds = new Map([...all].filter(([partition]) => !wanted || wanted.has(partition)));
  const from = await startOffsets(admin, request.topic, request.start, bounds, request.limit);
  const newest = request.start.kind === 'newest' || request.start.kind === 'last';
  const ingestTime = Date.now();
  const messages: KafkaPeekMessage[] = [];
  let notes: string[] = [];

  await Promise.all(
    [...from].map(async ([partition, first]) => {
      const high = bounds.get(partition)!.high;
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
