// Aggregates for the explorer's charts, computed where the data is: one GROUP BY per chart in the
// log's query worker, never rows shipped to the renderer. The log runs SQL per segment, so every
// aggregate here is one that merges exactly across segments (counts and sums add, minimums and
// maximums combine); top values are merged from each segment's top 1,000, which is exact for all
// but very long tails.
import { EddyError } from '../../../shared/contract.js';
import type { ExplorerFilter } from '../../../shared/contracts/explorer.js';
import type { JsonValue, StreamStats } from '../../../shared/events.js';
import type { EventLog } from '../log/index.js';
import { filterSql, parsePath, sqlNumber, sqlString } from './filter.js';

type ChartLog = Pick<EventLog, 'query' | 'streams'>;

const QUERY = { maxRows: 100_000, timeoutMs: 60_000 };
const MAX_BUCKETS = 200_000;
const STEPS = [1, 5, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000, 172_800_000, 604_800_000, 2_592_000_000];

/** A round bucket width so `span` covers about `target` buckets. */
export function niceBucket(span: number, target = 2000): number {
  const raw = Math.max(1, span / target);
  return STEPS.find((step) => step >= raw) ?? STEPS[STEPS.length - 1]!;
}

function column(time: 'event' | 'ingest'): string {
  return time === 'event' ? 'event_time' : 'ingest_time';
}

function tooManyBuckets(buckets: number): EddyError {
  return new EddyError('LIMIT', `That makes about ${Math.round(buckets).toLocaleString('en')} buckets; the limit is ${MAX_BUCKETS.toLocaleString('en')}. Choose a larger bucket or a shorter time range.`, { buckets });
}

function rangeOf(stats: StreamStats[], time: 'event' | 'ingest'): { from: number; to: number } | null {
  let from = Infinity;
  let to = -Infinity;
  for (const item of stats) {
    const first = time === 'event' ? item.firstEventTime : item.firstIngestTime;
    const last = time === 'event' ? item.lastEventTime : item.lastIngestTime;
    if (first !== null) from = Math.min(from, first);
    if (last !== null) to = Math.max(to, last);
  }
  return Number.isFinite(from) && Number.isFinite(to) ? { from, to } : null;
}

export interface RateRequest {
  streams?: string[] | undefined;
  time: 'event' | 'ingest';
  bucketMs?: number | undefined;
  from?: number | undefined;
  to?: number | undefined;
  filter?: ExplorerFilter | undefined;
}

export async function eventRate(log: ChartLog, request: RateRequest) {
  const started = performance.now();
  const all = await log.streams();
  const chosen = request.streams ? all.filter((item) => request.streams!.includes(item.stream)) : all;
  const known = rangeOf(chosen, request.time);
  const from = request.from ?? known?.from ?? null;
  const to = request.to ?? (known ? known.to + 1 : null);
  if (from === null || to === null || chosen.length === 0) return { bucketMs: request.bucketMs ?? 1000, from, to, series: [], elapsedMs: 0 };
  // Few events spread thin read better in fewer, fuller buckets: about one bucket per 5 events, 60 to 2,000.
  const events = chosen.reduce((sum, item) => sum + item.count, 0);
  const bucket = request.bucketMs ?? niceBucket(to - from, Math.max(60, Math.min(2000, Math.round(events / 5))));
  const buckets = Math.ceil((to - from) / bucket) + 1;
  if (buckets * chosen.length > MAX_BUCKETS) throw tooManyBuckets(buckets * chosen.length);
  const time = column(request.time);
  const conditions = [`${time} >= ${sqlNumber(from)}`, `${time} < ${sqlNumber(to)}`, `(${filterSql(request.filter)})`];
  if (request.streams) conditions.push(`stream IN (${chosen.map((item) => sqlString(item.stream)).join(',') || "''"})`);
  const result = await log.query(`SELECT stream, (${time} / ${bucket}) * ${bucket} AS t, count(*) FROM events WHERE ${conditions.join(' AND ')} GROUP BY stream, t`, QUERY);
  if (result.truncated) throw tooManyBuckets(result.rows.length);
  const byStream = new Map<string, Map<number, number>>();
  for (const [stream, t, n] of result.rows as [string, number, number][]) {
    let points = byStream.get(stream);
    if (!points) byStream.set(stream, (points = new Map()));
    points.set(t, (points.get(t) ?? 0) + n);
  }
  const first = Math.floor(from / bucket) * bucket;
  const series = chosen
    .filter((item) => byStream.has(item.stream))
    .map((item) => {
      const points = byStream.get(item.stream)!;
      const filled: [number, number][] = [];
      let total = 0;
      // Zero-filled so a quiet period reads as zero rather than a line across the gap.
      for (let t = first; t < to; t += bucket) {
        const n = points.get(t) ?? 0;
        total += n;
        filled.push([t, n]);
      }
      return { stream: item.stream, points: filled, total };
    });
  return { bucketMs: bucket, from, to, series, elapsedMs: Math.round(performance.now() - started) };
}

export async function timeSkew(log: ChartLog, request: { stream: string; filter?: ExplorerFilter | undefined; bucketMs?: number | undefined }) {
  const started = performance.now();
  const stats = (await log.streams()).find((item) => item.stream === request.stream);
  if (!stats || stats.firstEventTime === null || stats.lastEventTime === null) return { bucketMs: request.bucketMs ?? 1000, points: [], elapsedMs: 0 };
  const bucket = request.bucketMs ?? niceBucket(stats.lastEventTime - stats.firstEventTime + 1, Math.max(60, Math.min(2000, Math.round(stats.count / 5))));
  const buckets = (stats.lastEventTime - stats.firstEventTime) / bucket;
  if (buckets > MAX_BUCKETS) throw tooManyBuckets(buckets);
  const skew = '(ingest_time - event_time)';
  const result = await log.query(
    `SELECT (event_time / ${bucket}) * ${bucket} AS t, min(${skew}), sum(${skew}), max(${skew}), count(*) FROM events WHERE stream = ${sqlString(request.stream)} AND (${filterSql(request.filter)}) GROUP BY t`,
    QUERY,
  );
  if (result.truncated) throw tooManyBuckets(result.rows.length);
  const merged = new Map<number, [number, number, number, number]>();
  for (const [t, min, sum, max, n] of result.rows as [number, number, number, number, number][]) {
    const entry = merged.get(t);
    if (!entry) merged.set(t, [min, sum, max, n]);
    else merged.set(t, [Math.min(entry[0], min), entry[1] + sum, Math.max(entry[2], max), entry[3] + n]);
  }
  const points = [...merged.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([t, [min, sum, max, n]]) => [t, min, Math.round((sum / n) * 10) / 10, max, n] as [number, number, number, number, number]);
  return { bucketMs: bucket, points, elapsedMs: Math.round(performance.now() - started) };
}

function decode(type: string, value: unknown): JsonValue {
  switch (type) {
    case 'true':
      return true;
    case 'false':
      return false;
    case 'null':
      return null;
    case 'object':
    case 'array':
      try {
        return JSON.parse(String(value)) as JsonValue;
      } catch {
        return String(value);
      }
    default:
      return value as JsonValue;
  }
}

export async function fieldDistribution(
  log: ChartLog,
  request: { stream: string; filter?: ExplorerFilter | undefined; path: string; limit: number; bins: number },
) {
  const started = performance.now();
  const path = parsePath(request.path);
  const type = `json_type(${path.column}, ${sqlString(path.jsonPath)})`;
  const value = `json_extract(${path.column}, ${sqlString(path.jsonPath)})`;
  const where = `stream = ${sqlString(request.stream)} AND (${filterSql(request.filter)})`;
  const result = await log.query(
    `SELECT * FROM (SELECT 0 AS kind, ty, v, count(*) AS n, NULL AS lo, NULL AS hi FROM (SELECT ${type} AS ty, ${value} AS v FROM events WHERE ${where}) WHERE ty IS NOT NULL GROUP BY ty, v ORDER BY n DESC LIMIT 1000) ` +
      `UNION ALL SELECT 1, ty, NULL, count(*), min(CASE WHEN ty IN ('integer','real') THEN v END), max(CASE WHEN ty IN ('integer','real') THEN v END) FROM (SELECT ${type} AS ty, ${value} AS v FROM events WHERE ${where}) GROUP BY ty`,
    QUERY,
  );
  const counts = new Map<string, { type: string; value: JsonValue; count: number }>();
  let total = 0;
  let missing = 0;
  let numeric = 0;
  let low = Infinity;
  let high = -Infinity;
  let partial = false;
  let segmentTop = 0;
  for (const [kind, ty, v, n, lo, hi] of result.rows as [number, string | null, unknown, number, number | null, number | null][]) {
    if (kind === 1) {
      total += n;
      if (ty === null) missing += n;
      if (ty === 'integer' || ty === 'real') {
        numeric += n;
        if (lo !== null) low = Math.min(low, lo);
        if (hi !== null) high = Math.max(high, hi);
      }
      continue;
    }
    segmentTop++;
    const decoded = decode(ty ?? 'null', v);
    const key = `${ty}:${JSON.stringify(decoded)}`;
    const entry = counts.get(key);
    if (entry) entry.count += n;
    else counts.set(key, { type: ty ?? 'null', value: decoded, count: n });
  }
  if (segmentTop >= 1000) partial = true;
  const present = total - missing;
  const sorted = [...counts.values()].sort((a, b) => b.count - a.count);
  const elapsed = (): number => Math.round(performance.now() - started);
  if (present === 0) return { path: path.text, kind: 'empty' as const, total, missing, values: [], other: 0, distinct: 0, bins: [], elapsedMs: elapsed() };
  const top = sorted.slice(0, request.limit);
  const shownCount = top.reduce((sum, entry) => sum + entry.count, 0);
  const values = top.map((entry) => ({ value: entry.value, count: entry.count }));
  const base = { path: path.text, total, missing, values, other: Math.max(0, present - shownCount), distinct: partial ? Math.max(sorted.length, 1000) : sorted.length };
  // Many distinct numbers read better as a histogram than as a long tail of single values.
  if (numeric >= present * 0.8 && sorted.length > request.limit && Number.isFinite(low) && Number.isFinite(high)) {
    const bins = high > low ? request.bins : 1;
    const width = high > low ? (high - low) / bins : 1;
    const histogram = await log.query(
      `SELECT min(${bins - 1}, CAST((v - ${sqlNumber(low)}) / ${sqlNumber(width)} AS INTEGER)) AS b, count(*) FROM (SELECT ${value} AS v, ${type} AS ty FROM events WHERE ${where}) WHERE ty IN ('integer','real') GROUP BY b`,
      QUERY,
    );
    const binCounts = new Array<number>(bins).fill(0);
    for (const [b, n] of histogram.rows as [number, number][]) binCounts[Math.max(0, Math.min(bins - 1, b))]! += n;
    return {
      ...base,
      kind: 'numeric' as const,
      bins: binCounts.map((count, index) => ({ from: low + index * width, to: index === bins - 1 ? high : low + (index + 1) * width, count })),
      elapsedMs: elapsed(),
    };
  }
  return { ...base, kind: 'categorical' as const, bins: [], elapsedMs: elapsed() };
}
