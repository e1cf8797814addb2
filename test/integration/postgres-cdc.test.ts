// PostgreSQL capture against the real server (issue 5, PostgreSQL 1-6): discovery, pgoutput
// streaming of inserts, updates, deletes and multi-statement transactions in the Debezium
// envelope, faithful types (numeric, int8, timestamptz, jsonb, bytea, arrays, NULL, unchanged
// TOAST), a table without a primary key, REPLICA IDENTITY FULL, truncate, resume with
// acknowledge-after-append, gaps, and the consistent initial snapshot.
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { JsonValue, NewEvent } from '../../shared/events';
import { findPostgres } from '../support/services';
import { GapDetectedError, runPostgresCapture, type CaptureSink, type CaptureUpdate, type PostgresCaptureSpec } from '../../main/engine/cdc/postgres/capture';
import { pgEndpointFromUrl, testPostgresEndpoint } from '../../main/engine/cdc/postgres/client';
import { discoverPostgres, setReplicaIdentity } from '../../main/engine/cdc/postgres/discover';
import { readCaptureState } from '../../main/engine/cdc/postgres/capture-state';
import { UNAVAILABLE_VALUE } from '../../main/engine/cdc/postgres/values';
import { dropSlotWhenFree } from './pg-helpers';

const url = await findPostgres();

type Envelope = {
  before: Record<string, JsonValue> | null;
  after: Record<string, JsonValue> | null;
  op: string;
  source: Record<string, JsonValue>;
  transaction: { id: string; total_order: number; data_collection_order: number } | null;
};

/** The log's contract in memory: one event per (stream, position), in append order. */
class MemorySink implements CaptureSink {
  readonly events: NewEvent[] = [];
  readonly seen = new Set<string>();
  duplicates = 0;
  appends = 0;
  failNext = false;
  failAfterNext = false;
  async append(events: NewEvent[]): Promise<{ duplicates: number }> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full (simulated)');
    }
    if (this.failAfterNext) {
      this.failAfterNext = false;
      await this.append(events);
      throw new Error('killed after append (simulated)');
    }
    this.appends++;
    let duplicates = 0;
    for (const event of events) {
      const id = `${event.stream}\u0000${event.position}`;
      if (this.seen.has(id)) {
        duplicates++;
        continue;
      }
      this.seen.add(id);
      this.events.push(event);
    }
    this.duplicates += duplicates;
    return { duplicates };
  }
  of(stream: string): NewEvent[] {
    return this.events.filter((event) => event.stream === stream);
  }
}

const envelope = (event: NewEvent): Envelope => event.value as unknown as Envelope;

describe.runIf(url)('postgres cdc', () => {
  const admin = new pg.Client({ connectionString: url });
  const suffix = randomUUID().replaceAll('-', '').slice(0, 10);
  const slots: string[] = [];
  const publications: string[] = [];
  const tables: string[] = [];
  let dir = '';
  let database = '';

  const name = (base: string): string => `eddy_cdc_${base}_${suffix}`;
  const newSlot = (base: string): string => {
    const slot = name(base);
    slots.push(slot);
    publications.push(slot);
    return slot;
  };
  const table = async (base: string, ddl: string): Promise<string> => {
    const full = name(base);
    tables.push(full);
    await admin.query(`CREATE TABLE ${full} ${ddl}`);
    return full;
  };
  const spec = (slot: string, capture: string[], overrides: Partial<PostgresCaptureSpec> = {}): PostgresCaptureSpec => ({
    endpoint: pgEndpointFromUrl(url!),
    tables: capture.map((entry) => `public.${entry}`),
    slotName: slot,
    publicationName: slot,
    createSlot: true,
    createPublication: true,
    snapshot: false,
    resetSlot: false,
    untilCaughtUp: true,
    batchSize: 500,
    stateFile: path.join(dir, `${slot}.json`),
    source: { name: 'test', version: '0.0.0-test' },
    pollIntervalMs: 200,
    reconnectDelayMs: { initial: 100, max: 1000 },
    ...overrides,
  });
  const capture = async (options: PostgresCaptureSpec, sink: CaptureSink, updates: CaptureUpdate[] = [], signal = new AbortController().signal) =>
    runPostgresCapture(options, sink, (update) => updates.push(update), signal);
  const streamOf = (tableName: string): string => `pg:${database}.public.${tableName}`;
  const dropSlot = (slot: string): Promise<void> => dropSlotWhenFree(admin, slot);
  const confirmedFlush = async (slot: string): Promise<string | null> =>
    (await admin.query<{ lsn: string | null }>('SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1', [slot])).rows[0]?.lsn ?? null;

  beforeAll(async () => {
    await admin.connect();
    database = (await admin.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
    dir = await mkdtemp(path.join(os.tmpdir(), 'eddy-pg-cdc-'));
  });

  // The server has few slots and other suites need them too: drop each test's slots after it.
  afterEach(async () => {
    for (const slot of slots.splice(0)) await dropSlot(slot);
  });

  afterAll(async () => {
    // Slots pin WAL on a shared server: always drop them.
    for (const slot of slots) await dropSlot(slot);
    for (const publication of publications) await admin.query(`DROP PUBLICATION IF EXISTS ${publication}`).catch(() => undefined);
    for (const entry of tables) await admin.query(`DROP TABLE IF EXISTS ${entry} CASCADE`).catch(() => undefined);
    await admin.query(`DROP TYPE IF EXISTS ${name('mood')}`).catch(() => undefined);
    await admin.query(`DROP DOMAIN IF EXISTS ${name('money')}`).catch(() => undefined);
    await admin.end();
    await rm(dir, { recursive: true, force: true });
  });

  it('tests the connection and reports wal_level and replication rights', async () => {
    const result = await testPostgresEndpoint(pgEndpointFromUrl(url!));
    expect(result.ok).toBe(true);
    expect(result.details).toMatchObject({ walLevel: 'logical', canReplicate: true });
    const refused = await testPostgresEndpoint(pgEndpointFromUrl('postgres://postgres@127.0.0.1:1/none'));
    expect(refused).toMatchObject({ ok: false, stage: 'connect' });
    // A database that does not exist is named as such, at the config stage, not as a connection failure.
    const missing = new URL(url!);
    missing.pathname = `/eddy_missing_${randomUUID().slice(0, 8)}`;
    const noDatabase = await testPostgresEndpoint(pgEndpointFromUrl(missing.toString()));
    expect(noDatabase).toMatchObject({ ok: false, stage: 'config' });
    expect(noDatabase.message).toContain(`database "${missing.pathname.slice(1)}" does not exist`);
    expect(noDatabase.message).toContain('check the database name');
    // A capture that cannot connect ends with the same diagnosis (never an "unexpected" error) and stores nothing.
    const sink = new MemorySink();
    const failed = await capture({ ...spec(newSlot('nodb'), ['t']), endpoint: pgEndpointFromUrl(missing.toString()) }, sink).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failed).toMatchObject({ code: 'UNAVAILABLE', details: { stage: 'config' } });
    expect((failed as Error).message).toContain('check the database name');
    const refusedCapture = await capture({ ...spec(newSlot('refused'), ['t']), endpoint: pgEndpointFromUrl('postgres://postgres@127.0.0.1:1/none') }, sink).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusedCapture).toMatchObject({ code: 'UNAVAILABLE', details: { stage: 'connect' } });
    expect((refusedCapture as Error).message).toContain('Connection refused by');
    expect(sink.events).toHaveLength(0);
  });

  it('discovers tables, keys, replica identity (with warnings), slots and publications, and offers FULL', async () => {
    const keyed = await table('disc_keyed', '(id int PRIMARY KEY, b text)');
    const keyless = await table('disc_keyless', '(a int, b text)');
    const slot = newSlot('disc');
    await admin.query(`CREATE PUBLICATION ${slot} FOR TABLE ${keyed}`);
    await admin.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const found = await discoverPostgres(client, ['public']);
      expect(found.walLevel).toBe('logical');
      expect(found.canReplicate).toBe(true);
      const keyedInfo = found.tables.find((entry) => entry.name === keyed)!;
      expect(keyedInfo).toMatchObject({ schema: 'public', primaryKey: ['id'], replicaIdentity: 'default', publications: [slot] });
      expect(keyedInfo.warning).toMatch(/no `before` image/);
      const keylessInfo = found.tables.find((entry) => entry.name === keyless)!;
      expect(keylessInfo.primaryKey).toEqual([]);
      expect(keylessInfo.warning).toMatch(/No primary key/);
      expect(found.slots.find((entry) => entry.name === slot)).toMatchObject({ plugin: 'pgoutput', walStatus: 'reserved', active: false });
      expect(found.publications.find((entry) => entry.name === slot)).toMatchObject({ tables: [`public.${keyed}`], allTables: false });

      const fixed = await setReplicaIdentity(client, 'public', keyless, 'full');
      expect(fixed.replicaIdentity).toBe('full');
      expect(fixed.warning).toBeUndefined();
    } finally {
      await client.end();
    }
  });

  it('streams inserts, updates, deletes and multi-statement transactions in the Debezium envelope', async () => {
    const orders = await table('orders', '(id int PRIMARY KEY, item text NOT NULL, qty int)');
    const slot = newSlot('basic');
    const sink = new MemorySink();
    // First run creates the publication and the slot; nothing to capture yet.
    expect((await capture(spec(slot, [orders]), sink)).events).toBe(0);

    await admin.query('BEGIN');
    await admin.query(`INSERT INTO ${orders} VALUES (1, 'apple', 1), (2, 'pear', 2)`);
    await admin.query(`INSERT INTO ${orders} VALUES (3, 'plum', 3)`);
    await admin.query('COMMIT');
    await admin.query(`UPDATE ${orders} SET qty = 10 WHERE id = 1`);
    await admin.query(`DELETE FROM ${orders} WHERE id = 2`);
    await admin.query(`UPDATE ${orders} SET id = 30 WHERE id = 3`);

    const result = await capture(spec(slot, [orders]), sink);
    expect(result.reason).toBe('caught-up');
    const events = sink.of(streamOf(orders));
    expect(events.map((event) => event.op)).toEqual(['c', 'c', 'c', 'u', 'd', 'd', 'c']);
    const [first, second, third, update, deleted, pkDelete, pkCreate] = events.map(envelope);
    expect(first!.after).toEqual({ id: 1, item: 'apple', qty: 1 });
    expect(events[0]!.key).toEqual({ id: 1 });
    expect(first!.source).toMatchObject({ connector: 'postgresql', db: database, schema: 'public', table: orders, snapshot: 'false', name: 'test' });
    expect(typeof first!.source.txId).toBe('number');
    expect(typeof first!.source.lsn).toBe('number');
    // One transaction: same commit LSN in the positions, same txId, total_order 1..3.
    const commitOf = (event: NewEvent): string => event.position.split(':')[1]!;
    expect(new Set(events.slice(0, 3).map(commitOf)).size).toBe(1);
    expect([first, second, third].map((value) => value!.transaction!.total_order)).toEqual([1, 2, 3]);
    expect(new Set([first, second, third].map((value) => value!.source.txId)).size).toBe(1);
    // Event time is the commit time, the same for the whole transaction.
    expect(new Set(events.slice(0, 3).map((event) => event.eventTime)).size).toBe(1);
    expect(Math.abs(events[0]!.eventTime - Date.now())).toBeLessThan(60_000);
    expect(first!.source.ts_ms).toBe(events[0]!.eventTime);
    // REPLICA IDENTITY DEFAULT: an update has no before image, a delete only the key.
    expect(update!.before).toBeNull();
    expect(update!.after).toEqual({ id: 1, item: 'apple', qty: 10 });
    expect(deleted!.before).toEqual({ id: 2, item: null, qty: null });
    expect(events[4]!.key).toEqual({ id: 2 });
    // A primary-key change is a delete under the old key and a create under the new one.
    expect(events[5]!.key).toEqual({ id: 3 });
    expect(events[6]!.key).toEqual({ id: 30 });
    expect(pkCreate!.after).toEqual({ id: 30, item: 'plum', qty: 3 });
    expect(pkDelete!.after).toBeNull();
    expect(events[5]!.headers).toEqual([{ key: '__debezium.newkey', value: '{"id":30}' }]);
    expect(events[6]!.headers).toEqual([{ key: '__debezium.oldkey', value: '{"id":3}' }]);
    // Positions sort in commit order.
    const positions = events.map((event) => event.position);
    expect([...positions].sort()).toEqual(positions);
    expect(new Set(positions).size).toBe(positions.length);
    // The slot is confirmed exactly where the capture says everything is stored.
    const state = await readCaptureState(path.join(dir, `${slot}.json`));
    expect(state?.streamed).toBe(true);
    expect(await confirmedFlush(slot)).toBe(state?.ackedLsn);
    expect(result.ackedLsn).toBe(state?.ackedLsn);
  });

  it('maps types faithfully: numeric, int8, floats, timestamptz, jsonb, bytea, arrays, enums, domains, NULL', async () => {
    await admin.query(`CREATE TYPE ${name('mood')} AS ENUM ('happy', 'sad')`);
    await admin.query(`CREATE DOMAIN ${name('money')} AS numeric(20, 4)`);
    const typed = await table(
      'types',
      `(id int PRIMARY KEY, n numeric(40, 20), big int8, small int2, f8 float8, f4 float4, nan float8, yes bool,
        tstz timestamptz, ts timestamp, d date, t time, iv interval, j jsonb, js json, b bytea, tags text[], nums int4[],
        decimals numeric[], matrix int4[][], u uuid, mood ${name('mood')}, price ${name('money')}, moods ${name('mood')}[],
        quoted text, nothing text, ip inet, tstzs timestamptz[])`,
    );
    const slot = newSlot('types');
    const sink = new MemorySink();
    await capture(spec(slot, [typed]), sink);
    await admin.query(
      `INSERT INTO ${typed} VALUES (1, '12345678901234567890.12345678901234567890', 9007199254740993, 7, 0.1, 1.5, 'NaN', true,
        '2026-03-04 05:06:07.123456+02', '2026-03-04 05:06:07.5', '2026-03-04', '05:06:07.000001', '1 day 02:03:04',
        '{"a": [1, 2.5, "x"], "b": {"c": null}, "n": 1.10}', '{"raw": true}', '\\x00ff10', ARRAY['a b', 'c"d', NULL, 'e,f', ''],
        ARRAY[1, NULL, 3], ARRAY[1.10, 2.000]::numeric[], ARRAY[[1, 2], [3, 4]], 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'sad', 12.3456,
        ARRAY['happy', 'sad']::${name('mood')}[], E'it''s "quoted" \\\\ ünïcödé', NULL, '10.0.0.1/8', ARRAY['2026-01-01 00:00:00+00']::timestamptz[])`,
    );
    await capture(spec(slot, [typed]), sink);
    const [event] = sink.of(streamOf(typed));
    expect(event).toBeDefined();
    expect(envelope(event!).after).toEqual({
      id: 1,
      n: '12345678901234567890.12345678901234567890',
      big: '9007199254740993',
      small: 7,
      f8: 0.1,
      f4: 1.5,
      nan: 'NaN',
      yes: true,
      tstz: '2026-03-04T03:06:07.123456Z',
      ts: '2026-03-04T05:06:07.5',
      d: '2026-03-04',
      t: '05:06:07.000001',
      iv: '1 day 02:03:04',
      j: { a: [1, 2.5, 'x'], b: { c: null }, n: 1.1 },
      js: { raw: true },
      b: Buffer.from([0, 255, 16]).toString('base64'),
      tags: ['a b', 'c"d', null, 'e,f', ''],
      nums: [1, null, 3],
      decimals: ['1.10', '2.000'],
      matrix: [
        [1, 2],
        [3, 4],
      ],
      u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      mood: 'sad',
      price: '12.3456',
      moods: ['happy', 'sad'],
      quoted: 'it\'s "quoted" \\ ünïcödé',
      nothing: null,
      ip: '10.0.0.1/8',
      tstzs: ['2026-01-01T00:00:00Z'],
    });
  });

  it('marks unchanged TOASTed values as unavailable (never NULL), and fills them under REPLICA IDENTITY FULL', async () => {
    const docs = await table('toast', '(id int PRIMARY KEY, body text, counter int)');
    const full = await table('toast_full', '(id int PRIMARY KEY, body text, counter int)');
    await admin.query(`ALTER TABLE ${full} REPLICA IDENTITY FULL`);
    const slot = newSlot('toast');
    const sink = new MemorySink();
    await capture(spec(slot, [docs, full]), sink);
    // Random text does not compress: it is stored out of line (TOASTed).
    const body = randomBytes(60_000).toString('base64');
    for (const target of [docs, full]) {
      await admin.query(`INSERT INTO ${target} VALUES (1, $1, 0)`, [body]);
      await admin.query(`UPDATE ${target} SET counter = 1 WHERE id = 1`);
      await admin.query(`UPDATE ${target} SET body = NULL, counter = 2 WHERE id = 1`);
    }
    await capture(spec(slot, [docs, full]), sink);
    const plain = sink.of(streamOf(docs)).map(envelope);
    expect(plain.map((value) => value.op)).toEqual(['c', 'u', 'u']);
    expect(plain[0]!.after!.body).toBe(body);
    expect(plain[1]!.after).toEqual({ id: 1, body: UNAVAILABLE_VALUE, counter: 1 });
    expect(plain[2]!.after).toEqual({ id: 1, body: null, counter: 2 });
    const withFull = sink.of(streamOf(full)).map(envelope);
    expect(withFull[1]!.before).toEqual({ id: 1, body, counter: 0 });
    expect(withFull[1]!.after).toEqual({ id: 1, body, counter: 1 });
    expect(withFull[2]!.before).toEqual({ id: 1, body, counter: 1 });
  });

  it('captures a table without a primary key (null keys) and REPLICA IDENTITY FULL updates and deletes', async () => {
    const keyless = await table('keyless', '(a int, b text)');
    const slot = newSlot('keyless');
    const sink = new MemorySink();
    // Without a replica identity, publishing the table would make PostgreSQL refuse its updates
    // and deletes (the application's too): the capture refuses to publish it and says why.
    await expect(capture(spec(slot, [keyless]), sink)).rejects.toMatchObject({ code: 'VALIDATION', message: expect.stringMatching(/no replica identity.*refuses UPDATE and DELETE.*REPLICA IDENTITY FULL/) });
    expect((await admin.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [slot])).rowCount).toBe(0);
    await admin.query(`UPDATE ${keyless} SET b = b`); // still writable
    await admin.query(`ALTER TABLE ${keyless} REPLICA IDENTITY FULL`);
    await capture(spec(slot, [keyless]), sink);
    await admin.query(`INSERT INTO ${keyless} VALUES (1, 'x'), (1, 'x')`);
    await admin.query(`UPDATE ${keyless} SET b = 'y' WHERE ctid = (SELECT ctid FROM ${keyless} LIMIT 1)`);
    await admin.query(`DELETE FROM ${keyless}`);
    await capture(spec(slot, [keyless]), sink);
    const events = sink.of(streamOf(keyless));
    expect(events.map((event) => event.op)).toEqual(['c', 'c', 'u', 'd', 'd']);
    expect(events.every((event) => event.key === null)).toBe(true);
    expect(envelope(events[2]!)).toMatchObject({ before: { a: 1, b: 'x' }, after: { a: 1, b: 'y' } });
    expect(envelope(events[3]!).before).toMatchObject({ a: 1 });
    // Two identical rows inserted by one statement still get two positions.
    expect(events[0]!.position).not.toBe(events[1]!.position);
  });

  it('emits truncates as `t` envelopes with a null key', async () => {
    const items = await table('trunc', '(id int PRIMARY KEY)');
    const slot = newSlot('trunc');
    const sink = new MemorySink();
    await capture(spec(slot, [items]), sink);
    await admin.query(`INSERT INTO ${items} VALUES (1)`);
    await admin.query(`TRUNCATE ${items}`);
    await capture(spec(slot, [items]), sink);
    const events = sink.of(streamOf(items));
    expect(events.map((event) => envelope(event).op)).toEqual(['c', 't']);
    expect(events[1]!.key).toBeNull();
    expect(events[1]!.op).toBeUndefined();
  });

  it('acknowledges only what the log stored: a failed append is re-read, re-sent changes are dropped by position', async () => {
    const rows = await table('resume', '(id int PRIMARY KEY, v int)');
    const slot = newSlot('resume');
    const sink = new MemorySink();
    await capture(spec(slot, [rows]), sink);
    const before = await confirmedFlush(slot);
    await admin.query(`INSERT INTO ${rows} SELECT g, 0 FROM generate_series(1, 300) g`);
    for (let index = 0; index < 20; index++) await admin.query(`UPDATE ${rows} SET v = v + 1 WHERE id <= 10`);

    // The log fails: the capture fails, and the slot does not move.
    sink.failNext = true;
    await expect(capture(spec(slot, [rows]), sink)).rejects.toThrow(/disk full/);
    expect(await confirmedFlush(slot)).toBe(before);

    // Stop after a few events (the transaction that reaches the limit is finished)...
    const partial = await capture(spec(slot, [rows], { maxEvents: 50, untilCaughtUp: false, batchSize: 40 }), sink);
    expect(partial.reason).toBe('max-events');
    expect(sink.events.length).toBe(300);
    const state = await readCaptureState(path.join(dir, `${slot}.json`));
    expect(await confirmedFlush(slot)).toBe(state!.ackedLsn);

    // ...then resume: everything exactly once, in commit order.
    const rest = await capture(spec(slot, [rows]), sink);
    expect(rest.reason).toBe('caught-up');
    const events = sink.of(streamOf(rows));
    expect(events.length).toBe(300 + 20 * 10);
    expect(new Set(events.map((event) => event.position)).size).toBe(events.length);
    const positions = events.map((event) => event.position);
    expect([...positions].sort()).toEqual(positions);
    const versions = events.filter((event) => (event.key as { id: number }).id === 1).map((event) => (envelope(event).after as { v: number }).v);
    expect(versions).toEqual(Array.from({ length: 21 }, (_, index) => index));

    // Killed after the log stored a batch but before the acknowledgement: the server sends those
    // transactions again, and they land on the same positions, stored once.
    const acked = await confirmedFlush(slot);
    for (let id = 1000; id < 1010; id++) await admin.query(`INSERT INTO ${rows} VALUES ($1, 1)`, [id]);
    sink.failAfterNext = true;
    await expect(capture(spec(slot, [rows]), sink)).rejects.toThrow(/killed after append/);
    expect(await confirmedFlush(slot)).toBe(acked);
    const storedUnacknowledged = sink.of(streamOf(rows)).length - events.length;
    expect(storedUnacknowledged).toBeGreaterThan(0);
    const again = await capture(spec(slot, [rows]), sink);
    expect(again.duplicates).toBe(storedUnacknowledged);
    expect(sink.of(streamOf(rows)).length).toBe(events.length + 10);
  });

  it('stores a change over the event size limit without its row values, in its place, and says so on the capture', async () => {
    const docs = await table('docs', '(id int PRIMARY KEY, body text)');
    const slot = newSlot('oversized');
    // A log that takes 4 KiB events: a 20,000-character body is over it.
    const sink = Object.assign(new MemorySink(), { maxEventBytes: 4096 });
    await admin.query(`INSERT INTO ${docs} VALUES (10, repeat('s', 20000))`);
    const updates: CaptureUpdate[] = [];
    // The snapshot reads the big row too.
    expect((await capture(spec(slot, [docs], { snapshot: true }), sink, updates)).events).toBe(1);
    await admin.query('BEGIN');
    await admin.query(`INSERT INTO ${docs} VALUES (1, 'small')`);
    await admin.query(`INSERT INTO ${docs} VALUES (2, repeat('x', 20000))`);
    await admin.query(`INSERT INTO ${docs} VALUES (3, 'small too')`);
    await admin.query('COMMIT');
    const result = await capture(spec(slot, [docs]), sink, updates);
    expect(result.reason).toBe('caught-up');
    const events = sink.of(streamOf(docs));
    expect(events.map((event) => event.key)).toEqual([{ id: 10 }, { id: 1 }, { id: 2 }, { id: 3 }]);
    for (const big of [events[0]!, events[2]!]) {
      expect(big.decodeError).toMatch(/^over the event size limit \(\d+\.\d KB; the limit is 4\.0 KB\): the row values were not stored$/);
      expect(envelope(big).after).toBeNull();
      expect(envelope(big).source.table).toBe(docs);
    }
    expect(events[0]!.op).toBe('r');
    expect(events[2]!.op).toBe('c');
    expect(envelope(events[1]!).after).toEqual({ id: 1, body: 'small' });
    expect(events[1]!.decodeError ?? null).toBeNull();
    const warnings = updates.flatMap((update) => update.warnings ?? []);
    expect(warnings.some((warning) => /^1 change\(s\) over the event size limit \(4\.0 KB\) were kept without their row values/.test(warning))).toBe(true);
    // The slot moved past it: nothing is left to re-read, and nothing was lost from the stream.
    const state = await readCaptureState(path.join(dir, `${slot}.json`));
    expect(await confirmedFlush(slot)).toBe(state?.ackedLsn);
  });

  it('says, and keeps saying, that no snapshot could be taken on a slot that already existed', async () => {
    const items = await table('items', '(id int PRIMARY KEY)');
    const slot = newSlot('existing');
    const sink = new MemorySink();
    await capture(spec(slot, [items]), sink);
    await admin.query(`INSERT INTO ${items} VALUES (1)`);
    rmSync(path.join(dir, `${slot}.json`), { force: true });
    const updates: CaptureUpdate[] = [];
    await capture(spec(slot, [items], { snapshot: true }), sink, updates);
    const last = [...updates].reverse().find((update) => update.warnings);
    expect(last?.warnings?.[0]).toMatch(/^Slot \S+ already existed, so no consistent snapshot could be taken on it: the current rows were not read/);
    expect(sink.of(streamOf(items)).every((event) => event.op !== 'r')).toBe(true);
  });

  it('keeps a large transaction together in order and acknowledges it only at its commit', async () => {
    const rows = await table('bigtx', '(id int PRIMARY KEY)');
    const slot = newSlot('bigtx');
    const sink = new MemorySink();
    await capture(spec(slot, [rows]), sink);
    await admin.query(`INSERT INTO ${rows} SELECT generate_series(1, 5000)`);
    await admin.query(`INSERT INTO ${rows} VALUES (5001)`);
    await capture(spec(slot, [rows], { batchSize: 1000 }), sink);
    const events = sink.of(streamOf(rows));
    expect(events.length).toBe(5001);
    expect(events.slice(0, 5000).map((event) => envelope(event).transaction!.total_order)).toEqual(Array.from({ length: 5000 }, (_, index) => index + 1));
    // Small transactions share appends; the big one went in pieces of at most a batch.
    expect(sink.appends).toBeLessThanOrEqual(8);
  });

  it('takes an initial snapshot consistent with the slot: no gap and no duplicate while writes continue', async () => {
    const rows = await table('snap', '(id int PRIMARY KEY, v text)');
    await admin.query(`INSERT INTO ${rows} SELECT g, 'before' FROM generate_series(1, 20000) g`);
    const slot = newSlot('snap');
    const sink = new MemorySink();
    // Keep writing while the slot is created and the snapshot is read.
    const writer = new pg.Client({ connectionString: url });
    await writer.connect();
    let writing = true;
    let next = 20001;
    const writes = (async () => {
      while (writing) {
        await writer.query(`INSERT INTO ${rows} SELECT g, 'during' FROM generate_series($1::int, $1::int + 49) g`, [next]);
        await writer.query(`UPDATE ${rows} SET v = 'updated' WHERE id = $1`, [next - 20000]);
        next += 50;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const updates: CaptureUpdate[] = [];
    const started = capture(spec(slot, [rows], { snapshot: true, untilCaughtUp: false, maxEvents: 1 }), sink, updates);
    const first = await started;
    writing = false;
    await writes;
    await writer.end();
    expect(first.snapshotRows).toBeGreaterThanOrEqual(20000);
    expect(updates.some((update) => update.state === 'snapshotting')).toBe(true);
    await capture(spec(slot, [rows]), sink);

    const events = sink.of(streamOf(rows));
    const snapshot = events.filter((event) => event.op === 'r');
    expect(envelope(snapshot[0]!).source.snapshot).toBe('first');
    expect(envelope(snapshot.at(-1)!).source.snapshot).toBe('last');
    // Replaying the log's events over an empty table gives exactly the table as it is now.
    const replayed = new Map<number, JsonValue>();
    for (const event of events) {
      const id = (event.key as { id: number }).id;
      const value = envelope(event);
      if (event.op === 'r' || event.op === 'c') expect(replayed.has(id)).toBe(false);
      if (event.op === 'u') expect(replayed.has(id)).toBe(true);
      replayed.set(id, value.after!.v!);
    }
    const table_ = await admin.query<{ id: number; v: string }>(`SELECT id, v FROM ${rows}`);
    expect(replayed.size).toBe(table_.rows.length);
    for (const row of table_.rows) expect(replayed.get(row.id)).toBe(row.v);
  });

  it('stops in "gap detected" when its slot vanished, never re-creates it silently, and recovers on an explicit reset', async () => {
    const rows = await table('gap', '(id int PRIMARY KEY)');
    const slot = newSlot('gap');
    const sink = new MemorySink();
    await capture(spec(slot, [rows]), sink);
    await admin.query(`INSERT INTO ${rows} VALUES (1)`);
    await capture(spec(slot, [rows]), sink);
    await dropSlot(slot);
    await admin.query(`INSERT INTO ${rows} VALUES (2)`);

    const updates: CaptureUpdate[] = [];
    const failure = await capture(spec(slot, [rows]), sink, updates).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(GapDetectedError);
    const gapUpdate = updates.find((update) => update.state === 'gap-detected');
    expect(gapUpdate?.gap?.from).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(gapUpdate?.gap?.to).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect((await admin.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot])).rowCount).toBe(0);

    const recovered = await capture(spec(slot, [rows], { resetSlot: true, snapshot: true }), sink);
    expect(recovered.snapshotRows).toBe(2);
    const ids = sink.of(streamOf(rows)).filter((event) => event.op === 'r').map((event) => (event.key as { id: number }).id);
    expect(ids.sort()).toEqual([1, 2]);
  });

  it('can be cancelled, storing and acknowledging what it has read', async () => {
    const rows = await table('cancel', '(id int PRIMARY KEY)');
    const slot = newSlot('cancel');
    const sink = new MemorySink();
    await capture(spec(slot, [rows]), sink);
    await admin.query(`INSERT INTO ${rows} SELECT generate_series(1, 100)`);
    const controller = new AbortController();
    const updates: CaptureUpdate[] = [];
    const running = capture(spec(slot, [rows], { untilCaughtUp: false }), sink, updates, controller.signal);
    for (let wait = 0; wait < 100 && sink.events.length < 100; wait++) await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    const result = await running;
    expect(result.reason).toBe('cancelled');
    expect(sink.events.length).toBe(100);
    expect(await confirmedFlush(slot)).toBe(result.ackedLsn);
    expect(updates.some((update) => update.state === 'caught-up')).toBe(true);
  });
});
