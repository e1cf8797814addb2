// The append path's direct binding (raw-insert.ts) and the open segment's deferred indexes
// (segment-schema.ts): both must store exactly what sql.js's own binding and schema would.
import { describe, it, expect, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { bindRow, prepareEvent, ROW_COLUMNS, ROW_WIDTH, type PreparedEvent } from '../../../main/engine/log/event-codec.js';
import { openEventLog } from '../../../main/engine/log/index.js';
import { RawInserter } from '../../../main/engine/log/raw-insert.js';
import { SEGMENT_MIGRATIONS, SEGMENT_SECONDARY_INDEXES, dropSecondaryIndexes, migrate } from '../../../main/engine/log/segment-schema.js';
import { loadSqlJs, queryRows, sqlJsMemory, type SqlValue } from '../../../main/engine/log/sqljs.js';
import { orderEvent, range, removeTempDirs, tempDir, waitFor } from './helpers.js';

afterAll(removeTempDirs);

const one = `(${new Array(ROW_WIDTH).fill('?').join(',')})`;
const insertSql = (rows: number): string => `INSERT INTO event_rows (${ROW_COLUMNS}) VALUES ${new Array(rows).fill(one).join(',')}`;

function prepared(inputs: unknown[]): PreparedEvent[] {
  return inputs.map((input, i) => {
    const result = prepareEvent(input, 64 * 1024 * 1024);
    if (!result.ok) throw new Error(result.reason);
    result.event.seq = i + 1;
    return result.event;
  });
}

async function segmentDb() {
  const SQL = await loadSqlJs();
  const db = new SQL.Database();
  migrate(db, SEGMENT_MIGRATIONS, 'test');
  return { SQL, db };
}

describe('event log: direct binding of inserts', () => {
  it('stores the same rows as sql.js binding: text of every kind, NULLs, small and large numbers, big rows', async () => {
    const inputs = [
      orderEvent(1),
      { ...orderEvent(2), key: 'é€😀 text key', value: { text: 'ünïcödé \u2028 😀', nested: [1, -2.5, 1e300, null, true] }, headers: [{ key: 'h', value: 'v€' }] },
      { ...orderEvent(3), key: null, value: null, op: undefined, valueBytes: Buffer.from([0, 1, 2, 250]).toString('base64'), decodeError: 'a note' },
      { ...orderEvent(4), position: 'pos "quoted" \\ back', eventTime: -5, ingestTime: 2 ** 45 + 0.5 },
      { ...orderEvent(5), value: { big: 'x'.repeat(1200 * 1024) } },
      { ...orderEvent(6), value: '' },
    ];
    // Enough rows for whole multi-row statements, a remainder, and statements too big for one step.
    const all: unknown[] = [];
    for (let i = 0; i < 140; i++) all.push({ ...inputs[i % inputs.length]!, position: `${(inputs[i % inputs.length] as { position: string }).position}#${i}` });
    const events = prepared(all);

    const plain = await segmentDb();
    const single = plain.db.prepare(insertSql(1));
    for (const event of events) {
      const row: SqlValue[] = new Array(ROW_WIDTH);
      bindRow(row, 0, event);
      single.run(row);
    }
    single.free();

    const direct = await segmentDb();
    expect(sqlJsMemory()).not.toBeNull();
    const manyStatement = direct.db.prepare(insertSql(64));
    const oneStatement = direct.db.prepare(insertSql(1));
    const many = RawInserter.create(direct.SQL, direct.db, manyStatement, insertSql(64), 64)!;
    const single2 = RawInserter.create(direct.SQL, direct.db, oneStatement, insertSql(1), 1)!;
    expect(many).not.toBeNull();
    expect(single2).not.toBeNull();
    let i = 0;
    let fellBack = false;
    for (; i + 64 <= events.length; i += 64) {
      if (!many.insert(events, i)) {
        fellBack = true;
        for (let j = 0; j < 64; j++) single2.insert(events, i + j);
      }
    }
    for (; i < events.length; i++) single2.insert(events, i);
    expect(fellBack).toBe(true); // 1.2 MB values: a 64-row statement would be over its limit

    const select = `SELECT ${ROW_COLUMNS}, typeof(seq), typeof(event_time), typeof(ingest_time) FROM event_rows ORDER BY seq`;
    expect(queryRows(direct.db, select)).toEqual(queryRows(plain.db, select));
    expect(queryRows(direct.db, 'SELECT count(*) FROM event_rows')[0]![0]).toBe(140);
    plain.db.close();
    direct.db.close();
  });

  it('reports SQLite errors (a duplicate seq) and leaves the statement usable', async () => {
    const { SQL, db } = await segmentDb();
    const statement = db.prepare(insertSql(1));
    const inserter = RawInserter.create(SQL, db, statement, insertSql(1), 1)!;
    const events = prepared([orderEvent(1), orderEvent(2)]);
    inserter.insert(events, 0);
    expect(() => inserter.insert(events, 0)).toThrow(/UNIQUE|constraint/i);
    inserter.insert(events, 1);
    expect(queryRows(db, 'SELECT count(*) FROM event_rows')[0]![0]).toBe(2);
    db.close();
  });

  it('declines statements it cannot bind directly (sql.js binds them instead)', async () => {
    const { SQL, db } = await segmentDb();
    expect(RawInserter.create(SQL, db, {}, insertSql(1), 1)).toBeNull();
    const statement = db.prepare(insertSql(1));
    expect(RawInserter.create(SQL, db, statement, 'SELECT 1', 1)).toBeNull();
    db.close();
  });
});

describe('event log: secondary indexes built at seal time', () => {
  it('keeps the open segment without them, writes every sealed segment with them, and reads by time either way', async () => {
    const dir = tempDir();
    const log = await openEventLog({ dir, segmentBytes: 192 * 1024, snapshotBytes: 64 * 1024, backgroundVerifyDelayMs: null });
    for (let i = 0; i < 2000; i += 200) await log.append(range(i, i + 200));
    await waitFor(() => readdirSync(path.join(dir, 'segments')).some((name) => name.endsWith('.sqlite')));
    const SQL = await loadSqlJs();
    const names = SEGMENT_SECONDARY_INDEXES.map((index) => index.name).sort();
    for (const file of readdirSync(path.join(dir, 'segments')).filter((name) => name.endsWith('.sqlite'))) {
      const db = new SQL.Database(readFileSync(path.join(dir, 'segments', file)));
      const indexes = queryRows(db, "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'event_rows_%' ORDER BY name").map((row) => row[0]);
      expect(indexes).toEqual(names);
      expect(queryRows(db, 'PRAGMA integrity_check')[0]![0]).toBe('ok');
      db.close();
    }
    // Time-range reads over sealed and open segments alike.
    const from = orderEvent(1500).eventTime;
    const page = await log.read({ stream: orderEvent(0).stream, direction: 'oldest', limit: 1000, eventTime: { from, to: from + 400 * 1000 } });
    expect(page.events.map((event) => (event.key as { id: number }).id)).toEqual(Array.from({ length: 400 }, (_, i) => 1500 + i));
    const byIngest = await log.read({ stream: orderEvent(0).stream, direction: 'newest', limit: 5, ingestTime: { from: orderEvent(10).ingestTime } });
    expect(byIngest.events.map((event) => (event.key as { id: number }).id)).toEqual([1999, 1998, 1997, 1996, 1995]);
    expect((await log.checkIntegrity()).ok).toBe(true);
    await log.close();
    // After a restart (open segments recovered from snapshots and journals) nothing changed.
    const reopened = await openEventLog({ dir, segmentBytes: 192 * 1024, snapshotBytes: 64 * 1024, backgroundVerifyDelayMs: null });
    expect((await reopened.read({ stream: orderEvent(0).stream, direction: 'oldest', limit: 1000, eventTime: { from, to: from + 400 * 1000 } })).events).toHaveLength(400);
    await reopened.close();
  });

  it('drops them from a database that has them (an open segment recovered from an older snapshot)', async () => {
    const { db } = await segmentDb();
    const count = (): number => queryRows(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'event_rows_%'")[0]![0] as number;
    expect(count()).toBe(3);
    dropSecondaryIndexes(db);
    expect(count()).toBe(0);
    for (const index of SEGMENT_SECONDARY_INDEXES) db.run(index.sql);
    expect(count()).toBe(3);
    db.close();
  });
});

describe('event log: the index worker', () => {
  it('indexes a copy of a segment image in a worker thread, and refuses a wrong result', async () => {
    const { buildIndexesOffThread } = await import('../../../main/engine/log/index-worker.js');
    const { sqlJsModulePath } = await import('../../../main/engine/log/sqljs.js');
    const { SQL, db } = await segmentDb();
    dropSecondaryIndexes(db);
    const statement = db.prepare(insertSql(1));
    const inserter = RawInserter.create(SQL, db, statement, insertSql(1), 1)!;
    const events = prepared(range(0, 300));
    for (let i = 0; i < events.length; i++) inserter.insert(events, i);
    const statements = SEGMENT_SECONDARY_INDEXES.map((index) => index.sql);
    const { image: indexed, sha256, crc32: crc } = await buildIndexesOffThread(db.export(), statements, sqlJsModulePath(), 300);
    expect(sha256).toBe(createHash('sha256').update(indexed).digest('hex'));
    expect(crc).toBe(crc32(indexed));
    const copy = new SQL.Database(indexed);
    expect(queryRows(copy, "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'event_rows_%' ORDER BY name").map((row) => row[0])).toEqual(
      SEGMENT_SECONDARY_INDEXES.map((index) => index.name).sort(),
    );
    expect(queryRows(copy, `SELECT ${ROW_COLUMNS} FROM event_rows ORDER BY seq`)).toEqual(queryRows(db, `SELECT ${ROW_COLUMNS} FROM event_rows ORDER BY seq`));
    expect(queryRows(copy, 'PRAGMA integrity_check')[0]![0]).toBe('ok');
    copy.close();
    await expect(buildIndexesOffThread(db.export(), statements, sqlJsModulePath(), 299)).rejects.toThrow(/300 rows/);
    await expect(buildIndexesOffThread(db.export(), ['CREATE INDEX broken ON nowhere(x)'], sqlJsModulePath(), 300)).rejects.toThrow(/nowhere/);
    db.close();
  });
});
