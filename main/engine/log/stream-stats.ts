// Per-stream statistics: one `GroupStats` per (segment, stream), kept in the manifest for sealed
// segments and in snapshots for open ones, so listing streams never loads a segment; and the
// one-minute ingest rate, which is live-only (it restarts at zero after a restart).

export interface GroupStats {
  count: number;
  bytes: number;
  firstSeq: number;
  lastSeq: number;
  minEventTime: number;
  maxEventTime: number;
  minIngestTime: number;
  maxIngestTime: number;
}

export function emptyGroup(): GroupStats {
  return {
    count: 0,
    bytes: 0,
    firstSeq: Infinity,
    lastSeq: -Infinity,
    minEventTime: Infinity,
    maxEventTime: -Infinity,
    minIngestTime: Infinity,
    maxIngestTime: -Infinity,
  };
}

export function addToGroup(group: GroupStats, seq: number, size: number, eventTime: number, ingestTime: number): void {
  group.count++;
  group.bytes += size;
  if (seq < group.firstSeq) group.firstSeq = seq;
  if (seq > group.lastSeq) group.lastSeq = seq;
  if (eventTime < group.minEventTime) group.minEventTime = eventTime;
  if (eventTime > group.maxEventTime) group.maxEventTime = eventTime;
  if (ingestTime < group.minIngestTime) group.minIngestTime = ingestTime;
  if (ingestTime > group.maxIngestTime) group.maxIngestTime = ingestTime;
}

/** Could a group hold events in [from, to)? (Used to skip whole segments on time-range reads.) */
export function groupOverlaps(group: GroupStats, field: 'event' | 'ingest', from: number | undefined, to: number | undefined): boolean {
  const min = field === 'event' ? group.minEventTime : group.minIngestTime;
  const max = field === 'event' ? group.maxEventTime : group.maxIngestTime;
  if (from !== undefined && max < from) return false;
  if (to !== undefined && min >= to) return false;
  return true;
}

export function groupsToJson(groups: Map<string, GroupStats>): Record<string, GroupStats> {
  return Object.fromEntries(groups);
}

/** Events per second over the last minute, from 60 one-second buckets per stream. */
export class RateMeter {
  private readonly buckets = new Map<string, { second: Float64Array; count: Float64Array }>();

  add(stream: string, count: number, nowMs: number): void {
    let entry = this.buckets.get(stream);
    if (!entry) {
      entry = { second: new Float64Array(60).fill(-1), count: new Float64Array(60) };
      this.buckets.set(stream, entry);
    }
    const second = Math.floor(nowMs / 1000);
    const slot = second % 60;
    if (entry.second[slot] !== second) {
      entry.second[slot] = second;
      entry.count[slot] = 0;
    }
    entry.count[slot]! += count;
  }

  rate(stream: string, nowMs: number): number {
    const entry = this.buckets.get(stream);
    if (!entry) return 0;
    const now = Math.floor(nowMs / 1000);
    let total = 0;
    for (let i = 0; i < 60; i++) if (now - entry.second[i]! < 60 && entry.second[i]! >= 0) total += entry.count[i]!;
    return total / 60;
  }

  forget(stream: string): void {
    this.buckets.delete(stream);
  }
}
