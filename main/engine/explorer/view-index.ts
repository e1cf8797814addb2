// Row addressing for the explorer's virtualized grid: "row N of this stream (with this filter),
// oldest first", for any N of a multi-million-event stream, without OFFSET scans and without
// holding the rows. A view keeps anchors, the seq of every K-th row (K chosen so a view has at most
// 50,000 anchors; K = 1 keeps every matching seq of a sparse filter). A row is read by replaying
// the stream from the nearest anchor (at most K rows to skip), a sparse view's rows by their seqs.
//
// Building a view is one scan in the log's query worker. The log runs SQL per segment, so the scan
// returns, per segment, a summary row (its last seq, the stream's events in it) and the anchors
// within it (row_number over the segment); the segments are put back in seq order here. After
// that the view follows the log's tail: each new event of the stream moves the counts and adds an
// anchor every K rows, so a live view never scans again.
import { EddyError } from '../../../shared/contract.js';
import type { ExplorerFilter } from '../../../shared/contracts/explorer.js';
import type { StoredEvent, StreamStats } from '../../../shared/events.js';
import type { AppendedEvent, EventLog } from '../log/index.js';
import { compileFilter, filterKey, filterSql, sqlString } from './filter.js';

export type ViewLog = Pick<EventLog, 'query' | 'replay' | 'findPosition' | 'streams' | 'onAppended'>;

export const MAX_ANCHORS = 50_000;
const BUILD_TIMEOUT_MS = 120_000;
const MAX_VIEWS = 16;
/** A view whose counts disagree with the log's stats for this long is rebuilt. */
const MISMATCH_GRACE_MS = 3000;
/** Fewer events than the view counted (retention) must show twice, this far apart. */
const SHRINK_GRACE_MS = 1000;

/** A growable array of doubles. */
class Numbers {
  data = new Float64Array(1024);
  length = 0;
  push(value: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = value;
  }
  get(index: number): number {
    return this.data[index]!;
  }
  /** Largest index whose value is <= target, or -1. The values must be ascending. */
  floor(target: number): number {
    let low = 0;
    let high = this.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if (this.data[middle]! <= target) {
        found = middle;
        low = middle + 1;
      } else high = middle - 1;
    }
    return found;
  }
}

export class ViewIndex {
  readonly match: ((event: StoredEvent) => boolean) | undefined;
  readonly filtered: boolean;
  step = 1;
  /** Row index and seq of each anchor, both ascending. */
  readonly anchorRows = new Numbers();
  readonly anchorSeqs = new Numbers();
  count = 0;
  /** Events of the stream (unfiltered) the view has seen. */
  streamCount = 0;
  /** Every event with a seq up to here is accounted for. */
  coveredSeq = 0;
  elapsedMs = 0;
  usedAt = Date.now();
  /** When the log's stats first showed more events than the view, and how many. */
  mismatch: { since: number; actual: number } | null = null;
  ready: Promise<void>;
  private lastAnchorRow = -Infinity;
  building = true;
  /** Tail events that arrived while building: seq, and whether it matched (1/0). */
  private pending: Numbers | null = new Numbers();

  constructor(
    private readonly log: ViewLog,
    readonly stream: string,
    readonly filter: ExplorerFilter | undefined,
    streamCountHint: number,
    private readonly maxAnchors = MAX_ANCHORS,
  ) {
    this.match = compileFilter(filter);
    this.filtered = this.match !== undefined;
    this.ready = this.build(streamCountHint);
  }

  private async build(streamCountHint: number): Promise<void> {
    const started = performance.now();
    try {
      const where = `stream = ${sqlString(this.stream)} AND (${filterSql(this.filter)})`;
      let expected = streamCountHint;
      if (this.filtered && streamCountHint > this.maxAnchors) {
        const counted = await this.log.query(`SELECT count(*) FROM events WHERE ${where}`, { maxRows: 100_000, timeoutMs: BUILD_TIMEOUT_MS });
        expected = counted.rows.reduce((sum, row) => sum + Number(row[0] ?? 0), 0);
      }
      let step = Math.max(1, Math.ceil(expected / this.maxAnchors));
      for (let attempt = 0; ; attempt++) {
        const result = await this.log.query(
          `SELECT seq, rn, total, last, kind FROM (` +
            `SELECT seq, rn, total, 0 AS last, 0 AS kind FROM (SELECT seq, row_number() OVER (ORDER BY seq) AS rn, count(*) OVER () AS total FROM events WHERE ${where}) WHERE (rn - 1) % ${step} = 0 ` +
            `UNION ALL SELECT 0, 0, (SELECT count(*) FROM events WHERE stream = ${sqlString(this.stream)}), (SELECT coalesce(max(seq), 0) FROM events), 1` +
            `) ORDER BY kind DESC, seq`,
          { maxRows: 100_000, timeoutMs: BUILD_TIMEOUT_MS },
        );
        if (result.truncated) {
          if (attempt >= 3) throw new EddyError('LIMIT', `The stream ${this.stream} grew too fast to index; try again.`);
          step *= 4;
          continue;
        }
        this.applyScan(result.rows as number[][], step);
        break;
      }
      this.elapsedMs = Math.round(performance.now() - started);
    } finally {
      this.building = false;
    }
    const pending = this.pending!;
    this.pending = null;
    for (let i = 0; i < pending.length; i += 2) this.add(pending.get(i), pending.get(i + 1) === 1);
  }

  private applyScan(rows: number[][], step: number): void {
    // Per segment: one summary row (kind 1) followed by its anchors (kind 0) in seq order.
    const segments: { last: number; streamCount: number; total: number; anchors: [number, number][] }[] = [];
    for (const row of rows) {
      const [seq, rn, total, last, kind] = row as [number, number, number, number, number];
      if (kind === 1) segments.push({ last, streamCount: total, total: 0, anchors: [] });
      else {
        const segment = segments[segments.length - 1];
        if (!segment) throw new EddyError('INTERNAL', 'The view scan returned rows out of order.');
        segment.total = total;
        segment.anchors.push([rn, seq]);
      }
    }
    const withRows = segments.filter((segment) => segment.anchors.length > 0).sort((a, b) => a.anchors[0]![1] - b.anchors[0]![1]);
    this.step = step;
    let base = 0;
    let lastAnchor = -Infinity;
    for (const segment of withRows) {
      for (const [rn, seq] of segment.anchors) {
        this.anchorRows.push(base + rn - 1);
        this.anchorSeqs.push(seq);
        lastAnchor = base + rn - 1;
      }
      base += segment.total;
    }
    this.count = base;
    this.lastAnchorRow = lastAnchor;
    this.streamCount = segments.reduce((sum, segment) => sum + segment.streamCount, 0);
    this.coveredSeq = segments.reduce((max, segment) => Math.max(max, segment.last), 0);
  }

  /** A new durable event of this stream, in seq order. */
  add(seq: number, matched: boolean): void {
    if (this.building) {
      this.pending!.push(seq);
      this.pending!.push(matched ? 1 : 0);
      return;
    }
    if (seq <= this.coveredSeq) return;
    this.coveredSeq = seq;
    this.streamCount++;
    if (!matched) return;
    const row = this.count++;
    if (row - this.lastAnchorRow >= this.step) {
      this.anchorRows.push(row);
      this.anchorSeqs.push(seq);
      this.lastAnchorRow = row;
      if (this.anchorRows.length > 2 * this.maxAnchors) this.compact();
    }
  }

  /** A view that grew live keeps every other anchor and doubles K, so its memory stays bounded. */
  private compact(): void {
    const rows = this.anchorRows;
    const seqs = this.anchorSeqs;
    let kept = 0;
    for (let i = 0; i < rows.length; i += 2) {
      rows.data[kept] = rows.data[i]!;
      seqs.data[kept] = seqs.data[i]!;
      kept++;
    }
    rows.length = kept;
    seqs.length = kept;
    this.step *= 2;
    this.lastAnchorRow = rows.get(kept - 1);
  }

  /** Rows [from, from + limit) oldest first. */
  async read(from: number, limit: number, signal?: AbortSignal): Promise<StoredEvent[]> {
    await this.ready;
    this.usedAt = Date.now();
    const end = Math.min(this.count, from + limit);
    if (from >= end) return [];
    if (this.filtered && this.step === 1) return this.readExact(from, end, signal);
    const anchor = this.anchorRows.floor(from);
    if (anchor < 0) return [];
    let skip = from - this.anchorRows.get(anchor);
    const wanted = end - from;
    const out: StoredEvent[] = [];
    const batchSize = this.filtered ? 1000 : Math.min(5000, skip + wanted);
    const iterator = this.log.replay({ streams: [this.stream], from: { seq: this.anchorSeqs.get(anchor) }, batchSize, ...(signal ? { signal } : {}) });
    try {
      for await (const batch of iterator) {
        for (const event of batch) {
          if (this.match && !this.match(event)) continue;
          if (skip > 0) {
            skip--;
            continue;
          }
          out.push(event);
          if (out.length === wanted) return out;
        }
      }
    } finally {
      await iterator.return?.(undefined);
    }
    return out;
  }

  /** A sparse view keeps every matching seq: read them in runs of nearby seqs. */
  private async readExact(from: number, end: number, signal?: AbortSignal): Promise<StoredEvent[]> {
    const out: StoredEvent[] = [];
    let i = from;
    while (i < end) {
      const first = this.anchorSeqs.get(i);
      let j = i + 1;
      while (j < end && this.anchorSeqs.get(j) - this.anchorSeqs.get(j - 1) <= 64) j++;
      const last = this.anchorSeqs.get(j - 1);
      const wanted = new Set<number>();
      for (let k = i; k < j; k++) wanted.add(this.anchorSeqs.get(k));
      const iterator = this.log.replay({ streams: [this.stream], from: { seq: first }, toSeq: last, batchSize: Math.min(5000, last - first + 1), ...(signal ? { signal } : {}) });
      try {
        for await (const batch of iterator) for (const event of batch) if (wanted.has(event.seq)) out.push(event);
      } finally {
        await iterator.return?.(undefined);
      }
      i = j;
    }
    return out;
  }

  /** The row index of the event with this seq, or null when the filter hides it (event undefined: no such event). */
  async locate(seq: number): Promise<{ index: number | null; event: StoredEvent | undefined }> {
    await this.ready;
    const event = await this.eventAt(seq);
    if (!event) return { index: null, event: undefined };
    if (this.match && !this.match(event)) return { index: null, event };
    const anchor = this.anchorSeqs.floor(seq);
    if (anchor < 0) return { index: null, event };
    let index = this.anchorRows.get(anchor);
    const iterator = this.log.replay({ streams: [this.stream], from: { seq: this.anchorSeqs.get(anchor) }, toSeq: seq, batchSize: 2000 });
    try {
      for await (const batch of iterator) {
        for (const candidate of batch) {
          if (candidate.seq === seq) return { index, event };
          if (!this.match || this.match(candidate)) index++;
        }
      }
    } finally {
      await iterator.return?.(undefined);
    }
    return { index: null, event };
  }

  private async eventAt(seq: number): Promise<StoredEvent | undefined> {
    const iterator = this.log.replay({ streams: [this.stream], from: { seq }, toSeq: seq, batchSize: 1 });
    try {
      for await (const batch of iterator) return batch.find((event) => event.seq === seq);
    } finally {
      await iterator.return?.(undefined);
    }
    return undefined;
  }
}

/** The views the explorer has open, kept current from the log's tail. */
export class ViewManager {
  private readonly views = new Map<string, ViewIndex>();
  private readonly stopTail: () => void;

  constructor(
    private readonly log: ViewLog,
    private readonly maxAnchors = MAX_ANCHORS,
  ) {
    this.stopTail = log.onAppended((events) => this.route(events));
  }

  private route(events: readonly AppendedEvent[]): void {
    if (this.views.size === 0) return;
    for (const event of events) {
      for (const view of this.views.values()) {
        if (view.stream !== event.stream) continue;
        // Only a filtered view reads the event itself.
        view.add(event.seq, !view.match || view.match(event.event()));
      }
    }
  }

  private static key(stream: string, filter: ExplorerFilter | undefined): string {
    return `${stream}\u0000${filterKey(filter)}`;
  }

  /** The view, built if needed and rebuilt when the log's stats show it went stale (retention, deletion). */
  async get(stream: string, filter: ExplorerFilter | undefined): Promise<ViewIndex> {
    const key = ViewManager.key(stream, filter);
    let view = this.views.get(key);
    if (view) {
      await view.ready.catch(() => undefined);
      if (this.views.get(key) !== view) return this.get(stream, filter);
      // Read the stats and the view's count in the same tick, after any build finished, so the
      // two describe the same moment of the log.
      const seen = view.streamCount;
      const actual = (await this.streamStats(stream))?.count ?? 0;
      if (this.isStale(view, seen, actual)) view = undefined;
    }
    if (!view) {
      const stats = await this.streamStats(stream);
      const existing = this.views.get(key);
      // Another request may have started the same build meanwhile: share it.
      if (existing && existing.building) view = existing;
      else {
        view = new ViewIndex(this.log, stream, filter, stats?.count ?? 0, this.maxAnchors);
        this.views.set(key, view);
        this.evict(key);
        const building = view;
        building.ready.catch(() => {
          if (this.views.get(key) === building) this.views.delete(key);
        });
      }
    }
    await view.ready;
    view.usedAt = Date.now();
    return view;
  }

  /**
   * Stats run a moment ahead of the tail while events pour in, so a difference alone proves
   * nothing: a view is stale when the stream is gone, or when a difference outlives the moment.
   */
  private isStale(view: ViewIndex, seen: number, actual: number): boolean {
    const now = Date.now();
    if (actual === seen) {
      view.mismatch = null;
      return false;
    }
    if (actual === 0) return true;
    if (view.mismatch && (actual > seen ? seen >= view.mismatch.actual : actual !== view.mismatch.actual)) view.mismatch = null;
    view.mismatch ??= { since: now, actual };
    return now - view.mismatch.since > (actual > seen ? MISMATCH_GRACE_MS : SHRINK_GRACE_MS);
  }

  private async streamStats(stream: string): Promise<StreamStats | undefined> {
    return (await this.log.streams()).find((stats) => stats.stream === stream);
  }

  private evict(keep: string): void {
    if (this.views.size <= MAX_VIEWS) return;
    const oldest = [...this.views.entries()].filter(([key]) => key !== keep).sort((a, b) => a[1].usedAt - b[1].usedAt);
    for (const [key] of oldest.slice(0, this.views.size - MAX_VIEWS)) this.views.delete(key);
  }

  close(): void {
    this.stopTail();
    this.views.clear();
  }
}
