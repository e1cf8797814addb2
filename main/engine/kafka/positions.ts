// Where a KafkaStart (oldest, newest, the last N, an offset, a time) puts a reader in each partition
// of a topic, clamped to what the partition holds: the one reading of it shared by captures
// (capture.ts), peeks (peek.ts) and group offset resets (group-admin.ts).
import type { Admin } from 'kafkajs';
import { EddyError, type ErrorCode } from '../../../shared/contract-kit.js';
import type { KafkaStart } from '../../../shared/contracts/kafka.js';

export interface PartitionPosition {
  partition: number;
  /** Log start and end offsets. */
  low: number;
  high: number;
  /** Where `start` lands, within [low, high]. */
  offset: number;
}

/**
 * The chosen partitions of `topic` (all when none are named, sorted), each with its offsets and
 * the offset `start` lands on. A partition the topic does not have is refused with `code`.
 * `known`: the topic's offsets when the caller has them already (the admin is asked otherwise).
 */
export async function startPositions(
  admin: Admin,
  topic: string,
  partitions: readonly number[] | undefined,
  start: KafkaStart,
  code: ErrorCode = 'VALIDATION',
  known?: ReadonlyMap<number, { low: number; high: number }>,
): Promise<PartitionPosition[]> {
  const offsets = known ?? new Map((await admin.fetchTopicOffsets(topic)).map((entry) => [entry.partition, { low: Number(entry.low), high: Number(entry.high) }]));
  const available = [...offsets.keys()].sort((a, b) => a - b);
  const wanted = partitions && partitions.length > 0 ? [...new Set(partitions)].sort((a, b) => a - b) : available;
  const unknown = wanted.filter((partition) => !offsets.has(partition));
  if (unknown.length > 0) throw new EddyError(code, `Topic "${topic}" has partitions ${available.join(', ')}; there is no partition ${unknown.join(', ')}.`);
  // kafkajs answers the end offset for a partition with no record at or after the time.
  const byTime = start.kind === 'timestamp' ? new Map((await admin.fetchTopicOffsetsByTimestamp(topic, start.timestamp)).map((entry) => [entry.partition, Number(entry.offset)])) : undefined;
  return wanted.map((partition) => {
    const { low, high } = offsets.get(partition)!;
    let at: number;
    switch (start.kind) {
      case 'oldest':
        at = low;
        break;
      case 'newest':
        at = high;
        break;
      case 'last':
        at = high - start.count;
        break;
      case 'offset':
        at = start.offset;
        break;
      case 'timestamp': {
        const found = byTime!.get(partition) ?? -1;
        at = found < 0 ? high : found;
        break;
      }
    }
    return { partition, low, high, offset: Math.min(Math.max(at, low), high) };
  });
}
