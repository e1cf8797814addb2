import { describe, it, expect, afterAll } from 'vitest';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { EddyError } from '../../../shared/contract.js';
import type { NewEvent, StoredEvent } from '../../../shared/events.js';
import { openEventLog, type EventLog, type EventLogOptions } from '../../../main/engine/log/index.js';
import { orderEvent, range, removeTempDirs, tempDir, waitFor } from './helpers.js';

afterAll(removeTempDirs);

/** Small segments so a few thousand events span several sealed segments. */
const SMALL: Partial<EventLogOptions> = { segmentBytes: 192 * 1024, snapshotBytes: 64 * 1024, backgroundVerifyDelayMs: null };

async function small(dir = tempDir(), extra: Partial<EventLogOptions> = {}): Promise<EventLog> {
  return openEventLog({ dir, ...SMALL, ...extra });
}

async function sealedCount(dir: string): Promise<number> {
  return readdirSync(path.join(dir, 'segments')).filter((n) => n.endsWith('.sqlite')).length;
}

async function readAll(log: EventLog, stream: string, direction: 'newest' | 'oldest', limit: number): Promise<StoredEvent[]> {
  const all: StoredEvent[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await log.read({ stream, direction, limit, cursor });
    all.push(...page.events);
    expect(page.events.length).toBeLessThanOrEqual(limit);
    if (!page.nextCursor) return all;
    cursor = page.nextCursor;
  }
}

describe('event log: append and read', () => {
  it('pages through a stream newest or oldest first across sealed and open segments', async () => {
    const dir = tempDir();
    const log = await small(dir);
    for (let i = 0; i < 3000; i += 250) {
      const result = await log.append([...range(i, i + 250, 'a'), ...range(i, i + 250, 'b')]);
      expect(result).toEqual({ appended: 500, duplicates: 0, rejected: [] });
    }
    await waitFor(async () => (await sealedCount(dir)) >= 3);
    const newest = await readAll(log, 'a', 'newest', 170);
    expect(newest).toHaveLength(3000);
    expect(newest.map((e) => e.position)).toEqual(range(0, 3000, 'a').map((e) => e.position).reverse());
    const oldest = await readAll(log, 'b', 'oldest', 999);
    expect(oldest.map((e) => e.position)).toEqual(range(0, 3000, 'b').map((e) => e.position));
    const seqs = oldest.map((e) => e.seq);
    expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
    const first = oldest[0]!;
    expect(first).toMatchObject({ stream: 'b', key: { id: 0 }, op: 'c', headers: [], eventTime: orderEvent(0).eventTime });
    expect(first.size).toBeGreaterThan(200);
    expect((first.value as { after: { id: number } }).after.id).toBe(0);
    await log.close();
  });

  it('filters by event time and ingest time ranges (from inclusive, to exclusive) with keyset paging', async () => {
    const log = await small();
    await log.append(range(0, 2000));
    const base = orderEvent(0).eventTime;
    const byEvent = await readAll(log, orderEvent(0).stream, 'oldest', 100);
    expect(byEvent).toHaveLength(2000);
    const page = await log.read({ stream: orderEvent(0).stream, direction: 'oldest', limit: 5000, eventTime: { from: base + 100_000, to: base + 200_000 } });
    expect(page.events.map((e) => e.key)).toEqual(Array.from({ length: 100 }, (_, i) => ({ id: 100 + i })));
    const ingest = await log.read({ stream: orderEvent(0).stream, limit: 3, ingestTime: { to: base + 10_005 } });
    expect(ingest.events.map((e) => (e.key as { id: number }).id)).toEqual([9, 8, 7]);
    expect(ingest.nextCursor).not.toBeNull();
    const rest = await log.read({ stream: orderEvent(0).stream, limit: 100, ingestTime: { to: base + 10_005 }, cursor: ingest.nextCursor! });
    expect(rest.events.map((e) => (e.key as { id: number }).id)).toEqual([6, 5, 4, 3, 2, 1, 0]);
    expect(rest.nextCursor).toBeNull();
    await expect(log.read({ stream: 'x', cursor: 'garbage' })).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(log.read({ stream: 'x', direction: 'oldest', cursor: ingest.nextCursor! })).rejects.toMatchObject({ code: 'VALIDATION' });
    expect(await log.read({ stream: 'no-such-stream' })).toEqual({ events: [], nextCursor: null });
    await log.close();
  });

  it('stores a position once: within a batch, across batches, across sealed segments and restarts', async () => {
    const dir = tempDir();
    const log = await small(dir);
    const batch = range(0, 1000);
    expect(await log.append([...batch, ...batch.slice(0, 10)])).toMatchObject({ appended: 1000, duplicates: 10 });
    expect(await log.append(batch.slice(500, 700))).toMatchObject({ appended: 0, duplicates: 200 });
    for (let i = 1000; i < 4000; i += 250) await log.append(range(i, i + 250));
    await waitFor(async () => (await sealedCount(dir)) >= 4);
    // Concurrent appends of overlapping positions: each stored once.
    const results = await Promise.all([log.append(range(3500, 4500)), log.append(range(4000, 5000)), log.append(range(0, 100))]);
    expect(results.reduce((sum, r) => sum + r.appended, 0)).toBe(1000);
    expect(results[2]!.duplicates).toBe(100);
    expect(await log.findPosition(orderEvent(5).stream, orderEvent(5).position)).toBe(6);
    expect(await log.findPosition(orderEvent(5).stream, 'nope')).toBeNull();
    await log.close();
    const reopened = await small(dir);
    expect(await reopened.append(range(0, 5000))).toMatchObject({ appended: 0, duplicates: 5000 });
    expect(await reopened.append(range(4990, 5010))).toMatchObject({ appended: 10, duplicates: 10 });
    const stats = await reopened.streams();
    expect(stats[0]!.count).toBe(5010);
    // The same position in another stream is another event.
    expect(await reopened.append([{ ...orderEvent(1), stream: 'other' }])).toMatchObject({ appended: 1 });
    await reopened.close();
  });

  it('stores every column exactly: rows are inserted straight from their journal bytes, whatever the text', async () => {
    // Each row's columns are bound by their byte ranges in the journal record (the row layout):
    // odd text in every column (quotes, escapes, non-ASCII before and inside a token) must land
    // exactly, in open and sealed segments, and after a restart (snapshot and journal replay).
    const odd = (i: number): NewEvent => ({
      stream: i % 2 ? 'odd "stream" \\ ü' : 'plain',
      position: `p/${i}/"quoted"/é/😀/\n`,
      key: i % 3 ? { id: i, name: 'Zoë "Z"' } : null,
      value: i % 5 === 0 ? null : { text: `línea ${i}\u2028 "x" \\ 中文 😀`, n: i / 3, nested: [1, { a: null }] },
      valueBytes: i % 5 === 0 ? Buffer.from([0xff, i & 0xff]).toString('base64') : undefined,
      decodeError: i % 5 === 0 ? `not "UTF-8" at byte ${i}\ttab` : undefined,
      headers: i % 2 ? [{ key: 'trace "id"', value: `t-${i}-ß` }] : [],
      op: (['c', 'u', 'd', 'r'] as const)[i % 4],
      eventTime: 1_700_000_000_000 + i * 7,
      ingestTime: 1_700_000_000_500 + i,
    });
    const dir = tempDir();
    const log = await small(dir, { segmentBytes: 64 * 1024 });
    const inputs = Array.from({ length: 1200 }, (_, i) => odd(i));
    for (let i = 0; i < inputs.length; i += 100) await log.append(inputs.slice(i, i + 100));
    await waitFor(async () => (await sealedCount(dir)) >= 2);
    const expectSame = async (where: EventLog) => {
      for (const stream of ['plain', 'odd "stream" \\ ü']) {
        const stored = await readAll(where, stream, 'oldest', 500);
        const wanted = inputs.filter((e) => e.stream === stream);
        expect(stored.map((e) => ({ stream: e.stream, position: e.position, key: e.key, value: e.value, valueBytes: e.valueBytes, decodeError: e.decodeError, headers: e.headers, op: e.op, eventTime: e.eventTime, ingestTime: e.ingestTime }))).toEqual(
          wanted.map((e) => ({ ...e, key: e.key ?? null, value: e.value ?? null })),
        );
      }
      // SQL (one result row per segment) sees the same text in sealed and open segments.
      const perSegment = (await where.query('SELECT count(*), sum(length(value)) FROM events WHERE decode_error IS NULL', { maxRows: 100, timeoutMs: 10_000 })).rows;
      expect(perSegment.length).toBeGreaterThanOrEqual(3);
      // More segments than one statement can join (10): it ran per segment, and says so.
      expect((await where.query('SELECT count(*) FROM events', { maxRows: 100, timeoutMs: 10_000 })).perSegment).toBe(true);
      const clean = inputs.filter((e) => !e.decodeError);
      expect(perSegment.reduce((sum, row) => sum + (row[0] as number), 0)).toBe(clean.length);
      expect(perSegment.reduce((sum, row) => sum + ((row[1] as number | null) ?? 0), 0)).toBe(clean.reduce((sum, e) => sum + [...JSON.stringify(e.value)].length, 0));
    };
    await expectSame(log);
    // Appending the same positions again stores nothing.
    expect((await log.append(inputs.slice(1100))).duplicates).toBe(100);
    await log.close();
    const reopened = await small(dir, { segmentBytes: 64 * 1024 });
    await expectSame(reopened);
    expect((await reopened.append(inputs.slice(0, 300))).duplicates).toBe(300);
    await reopened.close();
  });

  it('refuses invalid and oversized events one by one, recording position and size', async () => {
    const problems: string[] = [];
    const log = await small(tempDir(), { maxEventBytes: 10_000, onProblem: (p) => problems.push(p.message) });
    const big = orderEvent(2, undefined, { value: { blob: 'x'.repeat(50_000) } });
    const result = await log.append([
      orderEvent(1),
      big,
      { ...orderEvent(3), eventTime: Number.NaN },
      { ...orderEvent(4), op: 'x' as never },
      { ...orderEvent(5), stream: '' },
      { ...orderEvent(6), headers: [{ key: 'k', value: 1 as never }] },
      orderEvent(7),
    ]);
    expect(result.appended).toBe(2);
    expect(result.rejected).toHaveLength(5);
    expect(result.rejected[0]).toMatchObject({ position: big.position, stream: big.stream, reason: expect.stringContaining('over the 10000-byte limit') });
    expect(result.rejected[0]!.size).toBeGreaterThan(50_000);
    expect(result.rejected.map((r) => r.reason).join('\n')).toMatch(/eventTime[\s\S]*op must be[\s\S]*stream must be[\s\S]*headers/);
    expect(problems.some((p) => p.includes(big.position) && p.includes('KiB'))).toBe(true);
    expect(log.problems().some((p) => p.severity === 'warning' && p.message.includes(big.position))).toBe(true);
    await expect(log.append('nope' as never)).rejects.toBeInstanceOf(EddyError);
    await log.close();
  });

  it('splits a very large append into several journal records and segments, durable as a whole', async () => {
    const dir = tempDir();
    const log = await small(dir, { segmentBytes: 4 * 1024 * 1024 });
    const big = Array.from({ length: 70 }, (_, i) => orderEvent(i, 'blobs', { value: { blob: String(i % 10).repeat(300_000) } }));
    expect(await log.append(big)).toMatchObject({ appended: 70, duplicates: 0 });
    expect(readdirSync(path.join(dir, 'active')).filter((n) => n.endsWith('.journal')).length + (await sealedCount(dir))).toBeGreaterThan(1);
    await log.close();
    const reopened = await small(dir, { segmentBytes: 4 * 1024 * 1024 });
    const seen: number[] = [];
    for await (const batch of reopened.replay({ batchSize: 7 })) seen.push(...batch.map((e) => (e.key as { id: number }).id));
    expect(seen).toEqual(Array.from({ length: 70 }, (_, i) => i));
    expect(await reopened.append(big.slice(0, 5))).toMatchObject({ duplicates: 5 });
    await reopened.close();
  });

  it('keeps undecodable values as bytes with their decode error', async () => {
    const log = await small();
    await log.append([{ ...orderEvent(1), value: null, valueBytes: Buffer.from([0xff, 0, 1]).toString('base64'), decodeError: 'not UTF-8', headers: [{ key: 'h', value: 'v' }] }]);
    const [event] = (await log.read({ stream: orderEvent(1).stream })).events;
    expect(event).toMatchObject({ value: null, valueBytes: '/wAB', decodeError: 'not UTF-8', headers: [{ key: 'h', value: 'v' }] });
    await log.close();
  });

  it('tails durable events per stream or all, and stops after unsubscribe', async () => {
    const log = await small();
    const seenA: StoredEvent[] = [];
    const seenAll: StoredEvent[] = [];
    const stopA = log.tail('a', (events) => seenA.push(...events));
    const stopAll = log.tail(undefined, (events) => seenAll.push(...events));
    log.tail(undefined, () => {
      throw new Error('listener bug');
    });
    await log.append([...range(0, 5, 'a'), ...range(0, 3, 'b')]);
    expect(seenA.map((e) => e.position)).toEqual(range(0, 5, 'a').map((e) => e.position));
    expect(seenAll).toHaveLength(8);
    expect(seenAll[0]).toMatchObject({ seq: 1, key: { id: 0 } });
    stopA();
    stopAll();
    await log.append(range(5, 10, 'a'));
    expect(seenA).toHaveLength(5);
    expect(log.problems().some((p) => p.message.includes('listener bug'))).toBe(true);
    await log.close();
  });

  it('reports per-stream stats: count, bytes, first/last times and the rate over the last minute', async () => {
    let now = 1_000_000;
    const log = await small(tempDir(), { now: () => now });
    await log.append(range(0, 120, 'a'));
    await log.append(range(0, 30, 'b'));
    const [a, b] = await log.streams();
    expect(a).toMatchObject({ stream: 'a', count: 120, firstEventTime: orderEvent(0).eventTime, lastEventTime: orderEvent(119).eventTime, firstIngestTime: orderEvent(0).ingestTime, rate: 2 });
    expect(a!.bytes).toBeGreaterThan(120 * 200);
    expect(b).toMatchObject({ stream: 'b', count: 30, rate: 0.5 });
    now += 61_000;
    expect((await log.streams())[0]!.rate).toBe(0);
    await log.close();
  });

  it('replays in log order from the start, a seq, a position or a time, across streams and segments', async () => {
    const dir = tempDir();
    const log = await small(dir);
    for (let i = 0; i < 2000; i += 100) await log.append([...range(i, i + 100, 'a'), ...range(i, i + 50, 'b')]);
    await waitFor(async () => (await sealedCount(dir)) >= 2);
    const collect = async (options: Parameters<EventLog['replay']>[0]): Promise<StoredEvent[]> => {
      const out: StoredEvent[] = [];
      for await (const batch of log.replay(options)) {
        expect(batch.length).toBeLessThanOrEqual(options?.batchSize ?? 1000);
        out.push(...batch);
      }
      return out;
    };
    const all = await collect({ batchSize: 333 });
    expect(all).toHaveLength(3000);
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: 3000 }, (_, i) => i + 1));
    const onlyB = await collect({ streams: ['b'] });
    expect(onlyB.map((e) => e.position)).toEqual(Array.from({ length: 20 }, (_, k) => range(k * 100, k * 100 + 50, 'b').map((e) => e.position)).flat());
    expect((await collect({ from: { seq: 2990 } })).map((e) => e.seq)).toEqual([2990, 2991, 2992, 2993, 2994, 2995, 2996, 2997, 2998, 2999, 3000]);
    expect((await collect({ from: { afterSeq: 2998 } })).map((e) => e.seq)).toEqual([2999, 3000]);
    const fromPosition = await collect({ from: { stream: 'a', position: orderEvent(1990, 'a').position }, streams: ['a'] });
    expect(fromPosition.map((e) => (e.key as { id: number }).id)).toEqual(Array.from({ length: 10 }, (_, i) => 1990 + i));
    const fromTime = await collect({ from: { eventTime: orderEvent(1995, 'a').eventTime }, streams: ['a'], toSeq: 3000 });
    expect(fromTime.map((e) => (e.key as { id: number }).id)).toEqual([1995, 1996, 1997, 1998, 1999]);
    expect(await collect({ from: { ingestTime: Number.MAX_SAFE_INTEGER } })).toEqual([]);
    await expect(collect({ from: { stream: 'a', position: 'missing' } })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const controller = new AbortController();
    const iterator = log.replay({ batchSize: 10, signal: controller.signal });
    await iterator.next();
    controller.abort();
    await expect(iterator.next()).rejects.toMatchObject({ code: 'CANCELLED' });
    // A replay started before later appends stops at the end it saw.
    const snapshotEnd = log.lastSeq;
    const iterating = log.replay({ from: { seq: snapshotEnd - 5 } });
    await log.append(range(5000, 5010, 'a'));
    let count = 0;
    for await (const batch of iterating) count += batch.length;
    expect(count).toBe(6);
    await log.close();
  });
});

describe('event log: SQL', () => {
  it('answers read-only SQL with json_extract across segments, newest segment first, with a row cap', async () => {
    const dir = tempDir();
    const log = await small(dir);
    for (let i = 0; i < 3000; i += 500) await log.append(range(i, i + 500));
    await waitFor(async () => (await sealedCount(dir)) >= 2);
    const result = await log.query("SELECT seq, json_extract(value, '$.after.id') AS id, op FROM events WHERE json_extract(value, '$.after.customer_id') = 5", {
      maxRows: 1000,
      timeoutMs: 10_000,
    });
    expect(result.columns).toEqual(['seq', 'id', 'op']);
    const expected = range(0, 3000).filter((e) => (e.value as { after: { customer_id: number } }).after.customer_id === 5);
    expect(result.rows).toHaveLength(expected.length);
    expect(new Set(result.rows.map((r) => r[1]))).toEqual(new Set(expected.map((e) => (e.key as { id: number }).id)));
    expect(result.rows[0]![0]).toBeGreaterThan(result.rows[result.rows.length - 1]![0] as number);
    expect(result.truncated).toBe(false);
    expect(result.elapsedMs).toBeGreaterThan(0);
    const capped = await log.query('SELECT * FROM events', { maxRows: 10, timeoutMs: 10_000 });
    expect(capped.rows).toHaveLength(10);
    expect(capped.truncated).toBe(true);
    expect(capped.columns).toEqual(['seq', 'stream', 'position', 'key', 'value', 'headers', 'op', 'event_time', 'ingest_time', 'size', 'decode_error', 'value_bytes']);
    // A few segments are joined into one statement: aggregates, GROUP BY and ORDER BY span them all.
    const counts = await log.query('SELECT count(*) FROM events', { maxRows: 1000, timeoutMs: 10_000 });
    expect(counts.rows).toEqual([[3000]]);
    expect(counts.perSegment).toBe(false);
    const ordered = await log.query('SELECT seq FROM events ORDER BY seq LIMIT 3', { maxRows: 1000, timeoutMs: 10_000 });
    const seqs = (await log.query('SELECT seq FROM events', { maxRows: 5000, timeoutMs: 10_000 })).rows.map((row) => row[0] as number).sort((a, b) => a - b);
    expect(ordered.rows).toEqual(seqs.slice(0, 3).map((seq) => [seq]));
    const grouped = await log.query("SELECT json_extract(value, '$.after.customer_id') % 2 AS parity, count(*) FROM events GROUP BY parity ORDER BY parity", { maxRows: 1000, timeoutMs: 10_000 });
    expect(grouped.rows).toEqual([
      [0, range(0, 3000).filter((e) => (e.value as { after: { customer_id: number } }).after.customer_id % 2 === 0).length],
      [1, range(0, 3000).filter((e) => (e.value as { after: { customer_id: number } }).after.customer_id % 2 === 1).length],
    ]);
    await log.close();
  });

  it('refuses writes, reports SQL errors, and stops a query at its time limit without blocking the engine', async () => {
    const log = await small();
    await log.append(range(0, 100));
    await expect(log.query('DELETE FROM event_rows', { maxRows: 10, timeoutMs: 1000 })).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(log.query('SELECT nope FROM events', { maxRows: 10, timeoutMs: 1000 })).rejects.toMatchObject({ code: 'VALIDATION', message: expect.stringContaining('no such column') });
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    const started = Date.now();
    await expect(
      log.query('WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r', { maxRows: 10, timeoutMs: 300 }),
    ).rejects.toMatchObject({ code: 'LIMIT' });
    clearInterval(ticker);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(ticks).toBeGreaterThan(10);
    // The worker is replaced after being stopped.
    expect((await log.query('SELECT count(*) FROM events', { maxRows: 10, timeoutMs: 5000 })).rows).toEqual([[100]]);
    expect((await log.read({ stream: orderEvent(0).stream, limit: 1 })).events).toHaveLength(1);
    await log.close();
  });

  it('cancels a running query at once through its signal, and the next query runs', async () => {
    const log = await small();
    await log.append(range(0, 50));
    const controller = new AbortController();
    const started = Date.now();
    const pending = log.query('WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r', { maxRows: 10, timeoutMs: 60_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    await expect(pending).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(Date.now() - started).toBeLessThan(5000);
    await expect(log.query('SELECT 1', { maxRows: 1, timeoutMs: 1000, signal: controller.signal })).rejects.toMatchObject({ code: 'CANCELLED' });
    expect((await log.query('SELECT count(*) FROM events', { maxRows: 10, timeoutMs: 5000 })).rows).toEqual([[50]]);
    await log.close();
  });
});
