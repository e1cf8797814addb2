// Deferred indexing: appends only journal, complete segments are built on a worker thread
// (segment-builder.ts), and the first read of an open segment indexes it on the spot.
import { describe, it, expect, afterAll } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { NewEvent } from '../../../shared/events.js';
import { openEventLog, type EventLog, type EventLogOptions } from '../../../main/engine/log/index.js';
import { SegmentBuilder } from '../../../main/engine/log/segment-builder.js';
import { loadSqlJs } from '../../../main/engine/log/sqljs.js';
import { orderEvent, range, removeTempDirs, replayAll, sleep, tempDir, waitFor } from './helpers.js';

afterAll(removeTempDirs);

/** Small segments, and no snapshot before a segment is complete (a snapshot indexes it). */
const DEFERRED: Partial<EventLogOptions> = { segmentBytes: 192 * 1024, snapshotBytes: 64 * 1024 * 1024, backgroundVerifyDelayMs: null };

function files(dir: string, folder: string, pattern: RegExp): string[] {
  return existsSync(path.join(dir, folder)) ? readdirSync(path.join(dir, folder)).filter((n) => pattern.test(n)) : [];
}

/** Events whose stream, position and values need escaping or are not ASCII (the layout's hard cases). */
function awkward(i: number): NewEvent {
  const stream = i % 2 ? 'kafka:ünïcode "topic"' : 'kafka:plain';
  return orderEvent(i, stream, {
    position: `${i % 3}/${i}\\"é\t`,
    key: { id: i, name: 'Zoë 🚀 "quoted"' },
    value: { after: { id: i, text: 'line\\nnext \u0000 ✓', big: 2 ** 53 - 1 }, op: 'c' },
    headers: [{ key: 'trace', value: `t-${i} ✓` }],
    decodeError: i % 5 === 0 ? 'note: "odd" ✗' : undefined,
    valueBytes: i % 7 === 0 ? Buffer.from(`bytes ${i}`).toString('base64') : undefined,
  });
}

const DUMP = 'SELECT seq, stream, position, key, value, headers, op, event_time, ingest_time, size, decode_error, value_bytes FROM events ORDER BY seq';

async function dump(log: EventLog): Promise<unknown[][]> {
  return (await log.query(DUMP, { maxRows: 100_000, timeoutMs: 30_000 })).rows;
}

/** One segment whatever the test appends: rows stay as bytes until read. */
const ONE_SEGMENT: Partial<EventLogOptions> = { ...DEFERRED, segmentBytes: 64 * 1024 * 1024 };

async function sql(log: EventLog, text: string): Promise<unknown[][]> {
  return (await log.query(text, { maxRows: 100, timeoutMs: 10_000 })).rows;
}

/** A sealed file's schema (sqlite_master) after SQLite's own integrity check. */
async function schemaOf(file: string): Promise<unknown[][]> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database(readFileSync(file));
  try {
    expect(db.exec('PRAGMA integrity_check')[0]!.values).toEqual([['ok']]);
    return db.exec('SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name')[0]!.values;
  } finally {
    db.close();
  }
}

describe('event log: segments built in the background', () => {
  it('builds sealed segments off the event loop; reads, SQL and a restart agree with a log built inline', async () => {
    const builds: string[] = [];
    const backgroundDir = tempDir();
    const inlineDir = tempDir();
    const background = await openEventLog({ dir: backgroundDir, ...DEFERRED, hooks: { at: (point, file) => void (point === 'segment-build' && builds.push(file)) } });
    const inline = await openEventLog({ dir: inlineDir, ...DEFERRED, buildInBackground: false });
    for (let i = 0; i < 3000; i += 150) {
      const batch = [...range(i, i + 100), ...Array.from({ length: 50 }, (_, j) => awkward(i + j))];
      expect(await background.append(batch)).toMatchObject({ appended: 150, duplicates: 0 });
      expect(await inline.append(batch)).toMatchObject({ appended: 150, duplicates: 0 });
    }
    await background.settled();
    expect(builds.length).toBeGreaterThanOrEqual(5);
    expect(files(backgroundDir, 'segments', /\.sqlite$/).length).toBe(builds.length);
    // Only the active segment is left open (its journal); every complete one is sealed.
    expect(files(backgroundDir, 'active', /\.journal$/)).toHaveLength(1);
    expect((await background.checkIntegrity()).ok).toBe(true);
    // Same events, same seqs, same stored text: from sealed segments (read from their files by
    // the query worker), from the open one, and through replay.
    await inline.settled();
    expect(files(inlineDir, 'segments', /\.sqlite$/)).toHaveLength(builds.length);
    // The built files have the inline schema's definitions (the builder makes the indexes after the rows,
    // so their order in sqlite_master and their root pages differ; nothing depends on either).
    const firstSealed = (dir: string): string => path.join(dir, 'segments', files(dir, 'segments', /\.sqlite$/).sort()[0]!);
    const builtSchema = await schemaOf(firstSealed(backgroundDir));
    expect(builtSchema).toEqual(await schemaOf(firstSealed(inlineDir)));
    expect(builtSchema.map((row) => row[1])).toEqual(expect.arrayContaining(['event_rows_stream', 'event_rows_event_time', 'event_rows_ingest_time']));
    const expected = await dump(inline);
    expect(expected).toHaveLength(3000);
    expect(await dump(background)).toEqual(expected);
    expect(await replayAll(background)).toEqual(await replayAll(inline));
    expect(background.problems()).toEqual([]);
    // Duplicates are still recognized in built segments and in the open one.
    expect(await background.append([...range(0, 10), ...range(2940, 2950)])).toMatchObject({ appended: 0, duplicates: 20 });
    await background.close();
    await inline.close();
    const reopened = await openEventLog({ dir: backgroundDir, ...DEFERRED });
    expect(await dump(reopened)).toEqual(expected);
    expect((await reopened.checkIntegrity()).ok).toBe(true);
    await reopened.close();
  }, 60_000);

  it('a read of a segment still waiting as journal bytes indexes it; appends after that are indexed as they come', async () => {
    const dir = tempDir();
    const log = await openEventLog({ dir, ...ONE_SEGMENT });
    await log.append(range(0, 500));
    const page = await log.read({ stream: orderEvent(0).stream, limit: 10 });
    expect(page.events.map((e) => e.position)).toEqual(range(490, 500).map((e) => e.position).reverse());
    await log.append(range(500, 600));
    expect((await log.read({ stream: orderEvent(0).stream, limit: 1 })).events[0]!.position).toBe(orderEvent(599).position);
    expect(await sql(log, 'SELECT count(*) FROM events')).toEqual([[600]]);
    expect((await log.checkIntegrity()).ok).toBe(true);
    await log.close();
    const reopened = await openEventLog({ dir, ...DEFERRED });
    expect((await reopened.streams())[0]).toMatchObject({ count: 600 });
    expect((await replayAll(reopened)).length).toBe(600);
    await reopened.close();
  });

  it('re-appending events waiting as journal bytes finds them there, without indexing the segment', async () => {
    const log = await openEventLog({ dir: tempDir(), ...ONE_SEGMENT });
    const events = Array.from({ length: 1200 }, (_, i) => (i % 3 === 0 ? awkward(i) : orderEvent(i)));
    for (let i = 0; i < events.length; i += 300) expect(await log.append(events.slice(i, i + 300))).toMatchObject({ appended: 300, duplicates: 0 });
    const open = (log as unknown as { openSegments: { deferred: boolean }[] }).openSegments;
    expect(open.at(-1)!.deferred).toBe(true);
    // The same events (escaped and plain streams and positions) are duplicates; a new position is not.
    expect(await log.append(events)).toMatchObject({ appended: 0, duplicates: 1200 });
    expect(await log.append([{ ...events[4]!, position: `${events[4]!.position}-other` }])).toMatchObject({ appended: 1, duplicates: 0 });
    expect(open.at(-1)!.deferred).toBe(true);
    expect(await sql(log, 'SELECT count(*) FROM events')).toEqual([[1201]]);
    await log.close();
  });

  it('a read of a large segment waiting as bytes indexes it in slices, with the event loop free between them', async () => {
    const log = await openEventLog({ dir: tempDir(), ...ONE_SEGMENT });
    for (let i = 0; i < 20_000; i += 1000) await log.append(range(i, i + 1000));
    // Other work keeps getting turns while the read indexes 20,000 rows (1,000 a slice).
    let turns = 0;
    let reading = true;
    const spin = (): void => {
      turns++;
      if (reading) setImmediate(spin);
    };
    setImmediate(spin);
    const [page, again] = await Promise.all([log.read({ stream: orderEvent(0).stream, limit: 5 }), log.read({ stream: orderEvent(0).stream, direction: 'oldest', limit: 5 })]);
    reading = false;
    expect(turns).toBeGreaterThanOrEqual(10);
    expect(page.events.map((e) => e.position)).toEqual(range(19_995, 20_000).map((e) => e.position).reverse());
    expect(again.events.map((e) => e.position)).toEqual(range(0, 5).map((e) => e.position));
    await log.append(range(20_000, 20_100));
    expect(await sql(log, 'SELECT count(*) FROM events')).toEqual([[20_100]]);
    expect((await log.checkIntegrity()).ok).toBe(true);
    await log.close();
  }, 30_000);

  it('deleting a stream from a segment waiting to be built removes exactly its rows', async () => {
    const dir = tempDir();
    const log = await openEventLog({ dir, ...ONE_SEGMENT });
    await log.append([...range(0, 300, 'gone'), ...range(0, 200, 'kept')]);
    await log.deleteStream('gone');
    await log.append(range(200, 300, 'kept'));
    expect((await log.streams()).map((s) => [s.stream, s.count])).toEqual([['kept', 300]]);
    expect(await sql(log, 'SELECT stream, count(*) FROM events GROUP BY stream')).toEqual([['kept', 300]]);
    expect((await log.checkIntegrity()).ok).toBe(true);
    await log.close();
  });

  it('appends wait while complete segments wait for the builder, so memory stays bounded', async () => {
    const dir = tempDir();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let buildsStarted = 0;
    const log = await openEventLog({
      dir,
      ...DEFERRED,
      hooks: {
        at: (point) => {
          if (point !== 'segment-build') return;
          buildsStarted++;
          return gate;
        },
      },
    });
    let appended = 0;
    const appending = (async () => {
      for (let i = 0; i < 4000; i += 100) {
        await log.append(range(i, i + 100));
        appended += 100;
      }
    })();
    await waitFor(() => buildsStarted >= 1, 10_000);
    // The builder is stuck: appends fill the segments that may wait, then stop.
    let stalledAt = -1;
    await waitFor(async () => {
      const before = appended;
      await sleep(300);
      stalledAt = appended;
      return appended === before;
    }, 10_000);
    expect(stalledAt).toBeLessThan(4000);
    // The active segment plus at most three complete ones (one building, two waiting).
    expect(files(dir, 'active', /\.journal$/).length).toBeLessThanOrEqual(4);
    expect(files(dir, 'segments', /\.sqlite$/)).toEqual([]);
    release();
    await appending;
    expect(appended).toBe(4000);
    await waitFor(() => files(dir, 'segments', /\.sqlite$/).length >= 5, 20_000);
    expect((await replayAll(log)).length).toBe(4000);
    expect((await log.checkIntegrity()).ok).toBe(true);
    await log.close();
  }, 60_000);

  it('when a background build fails, the segment is sealed on the engine thread with a warning, and nothing is lost', async () => {
    const dir = tempDir();
    let failures = 0;
    const log = await openEventLog({
      dir,
      ...DEFERRED,
      hooks: {
        at: (point) => {
          if (point === 'segment-build' && failures++ === 0) throw new Error('builder thread crashed');
        },
      },
    });
    for (let i = 0; i < 1500; i += 100) await log.append(range(i, i + 100));
    await waitFor(() => files(dir, 'segments', /\.sqlite$/).length >= 2, 20_000);
    const warnings = log.problems().filter((p) => p.severity === 'warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toMatch(/could not be built in the background \(builder thread crashed\); it is sealed on the engine's thread instead/);
    expect((await replayAll(log)).length).toBe(1500);
    expect((await log.checkIntegrity()).ok).toBe(true);
    await log.close();
  }, 30_000);
});

describe('segment builder', () => {
  it('reports a sql.js that cannot be loaded as an error instead of hanging', async () => {
    const broken = new SegmentBuilder({ sqlJsPath: '/nonexistent/sql.js', pragmas: '', insertOne: '', insertMany: '', rowWidth: 12, rowsPerInsert: 64 }, () => new Uint8Array(0), 100);
    await expect(broken.build({ capacity: 0, chunks: [], batches: [] })).rejects.toThrow(/nonexistent/);
    await broken.close();
  });
});
