// The SQL Server change reader on recorded pages: global commit order across interleaved tables,
// update pairs, primary-key changes, commit times with the server's offset, paging inside a
// transaction, windows of one transaction, restarts at every point of the stream, gaps, an all-zero
// minimum LSN, a capture-instance switch and a 20-column table.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { JsonValue, NewEvent } from '../../../shared/events.js';
import { CdcGapError } from '../../../main/engine/cdc/sqlserver/reader.js';
import { loadCatalog, resolveTables } from '../../../main/engine/cdc/sqlserver/catalog.js';
import { UNAVAILABLE_VALUE } from '../../../main/engine/cdc/sqlserver/envelope.js';
import { FakeSqlServer, incrementLsn, sqlServerMask } from '../../fixtures/sqlserver/fake-server.js';
import { drain, order, readerFor, shopServer } from '../../fixtures/sqlserver/scenarios.js';

type Envelope = {
  before: Record<string, JsonValue> | null;
  after: Record<string, JsonValue> | null;
  op: string;
  source: Record<string, JsonValue>;
  transaction: { id: string; total_order: number; data_collection_order: number } | null;
};
const value = (event: NewEvent): Envelope => event.value as unknown as Envelope;
const summary = (event: NewEvent): string => `${event.op} ${event.stream.split('.').at(-1)} ${JSON.stringify(event.key)}`;
const header = (event: NewEvent, key: string): string | undefined => event.headers?.find((item) => item.key === key)?.value;

describe('SQL Server change reader', () => {
  it('merges interleaved tables in commit order and maps every row to the Debezium envelope', async () => {
    const server = shopServer();
    const { events } = await drain(await readerFor(server, ['dbo.Orders', 'dbo.Customers']));
    expect(events.map(summary)).toEqual([
      'c Customers {"CustomerID":1001}',
      'c Orders {"OrderID":50001}',
      'c Customers {"CustomerID":1002}',
      'c Orders {"OrderID":50002}',
      'u Orders {"OrderID":50001}',
      'u Customers {"CustomerID":1001}',
      'd Orders {"OrderID":50002}',
      'c Orders {"OrderID":50003}',
      'd Customers {"CustomerID":1002}',
      'c Customers {"CustomerID":1003}',
      'd Orders {"OrderID":50001}',
      ...Array.from({ length: 12 }, (_, index) => `c Orders {"OrderID":${50010 + index}}`),
      ...Array.from({ length: 3 }, (_, index) => `u Orders {"OrderID":${50010 + index}}`),
    ]);
    // Positions rise strictly and are unique: the log's identity.
    const positions = events.map((event) => event.position);
    expect(new Set(positions).size).toBe(positions.length);

    const first = events[0]!;
    expect(first.stream).toBe('sqlserver:shop.dbo.Customers');
    // Committed at 10:00:00 server-local time on a UTC+1 server.
    expect(first.eventTime).toBe(Date.parse('2026-03-02T09:00:00.000Z'));
    const source = value(first).source;
    expect(source).toMatchObject({ connector: 'sqlserver', name: 'shop', db: 'shop', schema: 'dbo', table: 'Customers', snapshot: 'false', sequence: null, event_serial_no: 1 });
    expect(source.ts_ms).toBe(first.eventTime);
    expect(first.position).toBe(`sqlserver:${source.commit_lsn}:${source.change_lsn}:1`);
    expect(value(first).after).toMatchObject({ CustomerID: 1001, UpdatedAt: '2026-03-02T09:00:00.0001234Z', Notes: 'notes of 1001' });
    expect(value(events[1]!).after).toMatchObject({ Amount: 12.5, Total: '1234567890123.4567', PlacedAt: '2026-03-02T09:30:00.125Z' });

    // The two-table transaction: one transaction id, total order across tables, per-table order.
    const [c1002, o50002] = [value(events[2]!), value(events[3]!)];
    expect(c1002.transaction!.id).toBe(o50002.transaction!.id);
    expect([c1002.transaction!.total_order, o50002.transaction!.total_order]).toEqual([1, 2]);
    expect([c1002.transaction!.data_collection_order, o50002.transaction!.data_collection_order]).toEqual([1, 1]);
  });

  it('pairs update images into one u with the changed fields, and marks LOBs it did not capture', async () => {
    const { events } = await drain(await readerFor(shopServer(), ['dbo.Orders', 'dbo.Customers']));
    const orderUpdate = events[4]!;
    expect(value(orderUpdate).before).toMatchObject({ OrderID: 50001, Status: 'placed' });
    expect(value(orderUpdate).after).toMatchObject({ OrderID: 50001, Status: 'paid' });
    expect(value(orderUpdate).source.event_serial_no).toBe(2); // the two images count, as in Debezium
    expect(JSON.parse(header(orderUpdate, 'eddy.changedFields')!)).toEqual(['Status']);
    const customerUpdate = events[5]!;
    expect(JSON.parse(header(customerUpdate, 'eddy.changedFields')!)).toEqual(['Tier']);
    // nvarchar(max) not changed: NULL in the before-image means "not captured", not "was NULL".
    expect(value(customerUpdate).before!.Notes).toBe(UNAVAILABLE_VALUE);
    expect(value(customerUpdate).after!.Notes).toBe('notes of 1001');
  });

  it('turns a primary-key change into a delete of the old key and a create of the new one', async () => {
    const { events } = await drain(await readerFor(shopServer(), ['dbo.Orders', 'dbo.Customers']));
    // Written by SQL Server as delete + insert sharing a change LSN (split update).
    const [splitDelete, splitCreate] = [events[6]!, events[7]!];
    expect([value(splitDelete).source.event_serial_no, value(splitCreate).source.event_serial_no]).toEqual([1, 2]);
    expect(value(splitDelete).source.change_lsn).toBe(value(splitCreate).source.change_lsn);
    expect(value(splitDelete).before).toMatchObject({ OrderID: 50002 });
    expect(value(splitCreate).after).toMatchObject({ OrderID: 50003 });
    // Written as an update pair whose key changed.
    const [pairDelete, pairCreate] = [events[8]!, events[9]!];
    expect([pairDelete.op, pairCreate.op]).toEqual(['d', 'c']);
    expect(JSON.parse(header(pairDelete, '__debezium.newkey')!)).toEqual({ CustomerID: 1003 });
    expect(JSON.parse(header(pairCreate, '__debezium.oldkey')!)).toEqual({ CustomerID: 1002 });
    expect([value(pairDelete).source.event_serial_no, value(pairCreate).source.event_serial_no]).toEqual([1, 2]);
  });

  it('gives the same events with tiny pages (a transaction split across pages) and one transaction per poll', async () => {
    const reference = (await drain(await readerFor(shopServer(), ['dbo.Orders', 'dbo.Customers']))).events;
    const server = shopServer();
    const { events, windows } = await drain(await readerFor(server, ['dbo.Orders', 'dbo.Customers'], undefined, { pageSize: 4, maxTransactionsPerPoll: 1, batchSize: 3 }));
    expect(events).toEqual(reference);
    expect(windows.filter((window) => window.kind === 'read' && window.lagging).length).toBeGreaterThan(5);
    // Keyset pages: several change queries per instance for the 15-change transaction.
    expect(server.queries.filter((query) => query.name === 'changes').length).toBeGreaterThan(8);
  });

  it('resumes after a crash at every point without losing or repeating an event (restart mid-transaction)', async () => {
    const reference = (await drain(await readerFor(shopServer(), ['dbo.Orders', 'dbo.Customers']))).events.map((event) => event.position);
    for (let stored = 0; stored <= reference.length; stored++) {
      const server = shopServer();
      // First run: the log acknowledged `stored` events, one per batch, then the process died.
      const first = await readerFor(server, ['dbo.Orders', 'dbo.Customers'], undefined, { batchSize: 1, maxTransactionsPerPoll: 2 });
      const kept: string[] = [];
      outer: for (;;) {
        const window = first.readWindow();
        for (;;) {
          const step = await window.next();
          if (step.done) {
            if (step.value.kind !== 'read') break outer;
            break;
          }
          if (kept.length + step.value.events.length > stored) break outer;
          kept.push(...step.value.events.map((event) => event.position));
          first.acknowledge(step.value);
        }
      }
      const checkpoint = first.state;
      const second = await readerFor(server, ['dbo.Orders', 'dbo.Customers'], checkpoint, { batchSize: 2, maxTransactionsPerPoll: 3 }, 'stored');
      const rest = (await drain(second)).events.map((event) => event.position);
      expect([...kept, ...rest], `crash after ${stored} events`).toEqual(reference);
    }
  });

  it('stops with a gap naming the lost LSN range when cleanup removed unread changes, before reading any', async () => {
    const server = shopServer();
    const reader = await readerFor(server, ['dbo.Orders', 'dbo.Customers'], undefined, { maxTransactionsPerPoll: 3 });
    const window = reader.readWindow();
    for (let step = await window.next(); !step.done; step = await window.next()) reader.acknowledge(step.value);
    const scannedTo = reader.state.scannedTo!;
    // The capture stops; the cleanup job runs past what it had read.
    const cleanedTo = server.lsnTimeMapping.map((entry) => entry.start).sort().at(-2)!;
    server.cleanup(cleanedTo);
    const changeQueries = server.queries.filter((query) => query.name === 'changes').length;
    const restarted = await readerFor(server, ['dbo.Orders', 'dbo.Customers'], reader.state, {}, 'stored');
    const error = await drain(restarted).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(CdcGapError);
    const gap = (error as CdcGapError).gap;
    expect(gap.from).toBe(`${incrementLsn(scannedTo).slice(0, 8)}:${incrementLsn(scannedTo).slice(8, 16)}:${incrementLsn(scannedTo).slice(16)}`);
    expect(gap.to).toBe(`${cleanedTo.slice(0, 8)}:${cleanedTo.slice(8, 16)}:${cleanedTo.slice(16)}`);
    expect((error as Error).message).toMatch(/Gap detected on dbo\.(Orders|Customers)/);
    // Never a change query against the cleaned range (that would be SQL Server's error 313).
    expect(server.queries.filter((query) => query.name === 'changes').length).toBe(changeQueries);
  });

  it('treats an all-zero minimum LSN as an error, never as "start from the beginning"', async () => {
    const server = shopServer();
    server.instances.get('dbo_Orders')!.forbidden = true;
    const error = await drain(await readerFor(server, ['dbo.Orders'], undefined, {}, 'earliest')).catch((failure: unknown) => failure);
    expect((error as Error).message).toMatch(/returned 0x00000000000000000000/);
    expect((error as { code?: string }).code).toBe('FORBIDDEN');
    expect(server.queries.some((query) => query.name === 'changes')).toBe(false);
  });

  it('switches to the second capture instance at its start LSN, with the new columns, emitting nothing twice', async () => {
    const build = (): FakeSqlServer => {
      const server = new FakeSqlServer();
      server.createTable('dbo.Orders', [
        { name: 'OrderID', type: 'int' },
        { name: 'Status', type: 'varchar' },
        { name: 'Amount', type: 'decimal', precision: 10, scale: 2 },
      ], ['OrderID']);
      server.enableCdc('dbo.Orders');
      server.commit('2026-03-02T10:00:00.000', { table: 'dbo.Orders', op: 'c', after: { OrderID: 1, Status: 'placed', Amount: 10 } });
      server.commit('2026-03-02T10:00:01.000', { table: 'dbo.Orders', op: 'u', before: { OrderID: 1 }, after: { Status: 'paid' } });
      // ALTER TABLE ADD Channel; an update touching only Channel is not captured by the old instance.
      server.addColumn('dbo.Orders', { name: 'Channel', type: 'varchar' });
      server.commit('2026-03-02T10:00:02.000', { table: 'dbo.Orders', op: 'u', before: { OrderID: 1 }, after: { Channel: 'lost-before-v2' } });
      server.enableCdc('dbo.Orders', 'dbo_Orders_v2');
      server.commit('2026-03-02T10:00:03.000', { table: 'dbo.Orders', op: 'c', after: { OrderID: 2, Status: 'placed', Amount: 5, Channel: 'web' } });
      server.commit('2026-03-02T10:00:04.000', { table: 'dbo.Orders', op: 'u', before: { OrderID: 1 }, after: { Channel: 'app' } });
      return server;
    };
    for (const maxTransactionsPerPoll of [1, 2, 500]) {
      const server = build();
      const { events, windows } = await drain(await readerFor(server, ['dbo.Orders'], undefined, { maxTransactionsPerPoll }));
      expect(events.map((event) => `${event.stream} ${event.op ?? 'schema'} ${JSON.stringify(value(event).after ?? null)}`)).toEqual([
        'sqlserver:shop.dbo.Orders c {"OrderID":1,"Status":"placed","Amount":10}',
        'sqlserver:shop.dbo.Orders u {"OrderID":1,"Status":"paid","Amount":10}',
        'sqlserver:shop schema null',
        'sqlserver:shop.dbo.Orders c {"OrderID":2,"Status":"placed","Amount":5,"Channel":"web"}',
        'sqlserver:shop.dbo.Orders u {"OrderID":1,"Status":"paid","Amount":10,"Channel":"app"}',
      ]);
      const schema = events[2]!.value as { tableChanges: { type: string; table: { columns: { name: string }[] } }[] };
      expect(schema.tableChanges[0]!.type).toBe('ALTER');
      expect(schema.tableChanges[0]!.table.columns.map((column) => column.name)).toEqual(['OrderID', 'Status', 'Amount', 'Channel']);
      expect(header(events[2]!, 'eddy.addedColumns')).toBe('["Channel"]');
      expect(windows.some((window) => window.kind === 'read' && window.switched.includes('dbo_Orders_v2'))).toBe(true);
    }

    // The DBA drops the old instance once the capture has passed the switch: reading goes on.
    const server = build();
    const reader = await readerFor(server, ['dbo.Orders']);
    await drain(reader);
    server.dropInstance('dbo_Orders');
    server.commit('2026-03-02T10:00:05.000', { table: 'dbo.Orders', op: 'd', before: { OrderID: 2 } });
    expect((await drain(reader)).events.map((event) => event.op)).toEqual(['d']);

    // Dropped before the capture got there: the changes between are gone, which is a gap.
    const early = build();
    const stalled = await readerFor(early, ['dbo.Orders'], undefined, { maxTransactionsPerPoll: 1 });
    const first = stalled.readWindow();
    for (let step = await first.next(); !step.done; step = await first.next()) stalled.acknowledge(step.value);
    early.dropInstance('dbo_Orders');
    await expect(drain(stalled)).rejects.toBeInstanceOf(CdcGapError);
  });

  it('decodes the update mask of a 20-column table (changes in the first, middle and last mask bytes)', async () => {
    const server = new FakeSqlServer();
    const columns = Array.from({ length: 20 }, (_, index) => ({ name: `c${index + 1}`, type: 'int' }));
    server.createTable('dbo.Wide', columns, ['c1']);
    server.enableCdc('dbo.Wide');
    const row = Object.fromEntries(columns.map((column, index) => [column.name, index]));
    server.commit('2026-03-02T10:00:00.000', { table: 'dbo.Wide', op: 'c', after: row });
    server.commit('2026-03-02T10:00:01.000', { table: 'dbo.Wide', op: 'u', before: { c1: 0 }, after: { c3: 300, c9: 900, c17: 1700, c20: 2000 } });
    server.commit('2026-03-02T10:00:02.000', { table: 'dbo.Wide', op: 'u', before: { c1: 0 }, after: { c8: 800, c16: 1600 } });
    // The recorded page holds the mask exactly as SQL Server writes it.
    const updates = server.instances.get('dbo_Wide')!.rows.filter((change) => change.op === 4);
    expect(updates.map((change) => change.mask.toString('hex'))).toEqual(['090104', '008080']);
    expect(sqlServerMask([1], 20).toString('hex')).toBe('000001');
    const { events } = await drain(await readerFor(server, ['dbo.Wide']));
    const changed = events.filter((event) => event.op === 'u').map((event) => JSON.parse(header(event, 'eddy.changedFields')!));
    expect(changed).toEqual([['c3', 'c9', 'c17', 'c20'], ['c8', 'c16']]);
  });

  it('refuses a hostile table name before any SQL is built from it', async () => {
    const server = shopServer();
    const catalog = await loadCatalog(server);
    const before = server.queries.length;
    expect(() => resolveTables(catalog, ['dbo.Orders]; DROP TABLE dbo.Customers; --'], 'shop')).toThrow(/is not schema\.table|is not a CDC-enabled table/);
    expect(() => resolveTables(catalog, ['dbo.[Orders]]; DROP TABLE Customers; --]'], 'shop')).toThrow(/is not a CDC-enabled table/);
    expect(() => resolveTables(catalog, ["dbo.Orders'; EXEC xp_cmdshell 'dir'; --"], 'shop')).toThrow(/is not a CDC-enabled table/);
    expect(() => resolveTables(catalog, [`dbo.${'x'.repeat(200)}`], 'shop')).toThrow(/1-128 characters/);
    expect(server.queries.length).toBe(before);
    expect(server.queries.some((query) => /DROP|xp_cmdshell/.test(query.text))).toBe(false);
  });

  it('quotes a capture instance whose catalog name contains ] and binds every LSN', async () => {
    const server = new FakeSqlServer();
    server.createTable('dbo.Odd]Name', [{ name: 'Id', type: 'int' }, { name: 'Val]ue', type: 'nvarchar' }], ['Id']);
    server.enableCdc('dbo.Odd]Name', 'dbo_Odd]Name');
    server.commit('2026-03-02T10:00:00.000', { table: 'dbo.Odd]Name', op: 'c', after: { Id: 1, 'Val]ue': 'x' } });
    const { events } = await drain(await readerFor(server, ['[dbo].[Odd]]Name]']));
    expect(value(events[0]!).after).toEqual({ Id: 1, 'Val]ue': 'x' });
    const change = server.queries.find((query) => query.name === 'changes')!;
    expect(change.text).toContain('[cdc].[fn_cdc_get_all_changes_dbo_Odd]]Name](@from_lsn, @to_lsn');
    expect(change.text).toContain('[Val]]ue]');
    for (const query of server.queries) {
      // No LSN literal ever appears in SQL text; they are binary(10) parameters.
      expect(query.text).not.toMatch(/0x0000002/);
      for (const [name, parameter] of Object.entries(query.params)) if (/lsn/.test(name)) expect(parameter.type).toBe('binary10');
    }
  });

  it('reads recorded pages from a JSON fixture exactly like the live fake', async () => {
    const live = (await drain(await readerFor(shopServer(), ['dbo.Orders', 'dbo.Customers']))).events;
    const recording = JSON.parse(readFileSync(new URL('../../fixtures/sqlserver/shop.recording.json', import.meta.url), 'utf8')) as unknown;
    const replayed = (await drain(await readerFor(FakeSqlServer.fromRecording(recording), ['dbo.Orders', 'dbo.Customers']))).events;
    expect(replayed).toEqual(live);
    // And the fixture round-trips: what the fake records is what the fixture holds.
    expect(JSON.parse(JSON.stringify(shopServer().toRecording()))).toEqual(recording);
  });

  it('never reads part of a transaction the capture job is still harvesting (a transaction split across polls)', async () => {
    const server = shopServer();
    const reader = await readerFor(server, ['dbo.Orders', 'dbo.Customers']);
    const before = (await drain(reader)).events.length;
    // The capture job wrote half of a transaction's change rows; its lsn_time_mapping row (and so
    // fn_cdc_get_max_lsn) comes with the rest.
    const instance = server.instances.get('dbo_Orders')!;
    const seqs = [server.nextLsn(), server.nextLsn(), server.nextLsn()];
    const start = server.nextLsn();
    const all = sqlServerMask([1, 2, 3, 4, 5, 6, 7, 8], 8);
    instance.rows.push({ start, seq: seqs[0]!, op: 2, commandId: 1, mask: all, values: order(70001, 1) });
    expect((await drain(reader)).events).toHaveLength(0);
    instance.rows.push({ start, seq: seqs[1]!, op: 2, commandId: 2, mask: all, values: order(70002, 1) }, { start, seq: seqs[2]!, op: 2, commandId: 3, mask: all, values: order(70003, 1) });
    server.lsnTimeMapping.push({ start, tranId: Buffer.from(start, 'hex'), endTime: new Date('2026-03-02T10:00:09.000Z') });
    const { events } = await drain(reader);
    expect(events.map(summary)).toEqual(['c Orders {"OrderID":70001}', 'c Orders {"OrderID":70002}', 'c Orders {"OrderID":70003}']);
    expect(before).toBe(26);
  });

  it('starts from the stored window end when the last event was fully read', async () => {
    const server = shopServer();
    const reader = await readerFor(server, ['dbo.Orders', 'dbo.Customers']);
    const all = (await drain(reader)).events;
    server.commit('2026-03-02T10:00:09.000', { table: 'dbo.Orders', op: 'c', after: order(60000, 1001) });
    const resumed = await readerFor(server, ['dbo.Orders', 'dbo.Customers'], reader.state, {}, 'stored');
    const more = (await drain(resumed)).events;
    expect(more.map(summary)).toEqual(['c Orders {"OrderID":60000}']);
    expect(all.length).toBe(26);
  });
});

describe('SQL Server change reader: update images logged apart', () => {
  const build = (): FakeSqlServer => {
    const server = new FakeSqlServer();
    server.createTable('dbo.Orders', [{ name: 'OrderID', type: 'int' }, { name: 'Status', type: 'varchar' }], ['OrderID']);
    const instance = server.enableCdc('dbo.Orders');
    server.commit('2026-03-02T10:00:00.000', { table: 'dbo.Orders', op: 'c', after: { OrderID: 1, Status: 'a' } }, { table: 'dbo.Orders', op: 'c', after: { OrderID: 2, Status: 'a' } });
    // One statement updating two rows, logged as deletes then inserts: 3(1) 3(2) 4(1) 4(2), each with its own change LSN.
    const seqs = [server.nextLsn(), server.nextLsn(), server.nextLsn(), server.nextLsn()];
    const start = server.nextLsn();
    server.lsnTimeMapping.push({ start, tranId: Buffer.from(start, 'hex'), endTime: new Date('2026-03-02T10:00:01.000Z') });
    const mask = sqlServerMask([2], 2);
    instance.rows.push(
      { start, seq: seqs[0]!, op: 3, commandId: 1, mask, values: { OrderID: 1, Status: 'a' } },
      { start, seq: seqs[1]!, op: 3, commandId: 2, mask, values: { OrderID: 2, Status: 'a' } },
      { start, seq: seqs[2]!, op: 4, commandId: 1, mask, values: { OrderID: 1, Status: 'b' } },
      { start, seq: seqs[3]!, op: 4, commandId: 2, mask, values: { OrderID: 2, Status: 'b' } },
    );
    return server;
  };

  it('pairs them by key within the transaction, across pages, and emits each update once at its after-image', async () => {
    for (const pageSize of [1, 2, 100]) {
      const { events } = await drain(await readerFor(build(), ['dbo.Orders'], undefined, { pageSize }));
      expect(events.map((event) => `${event.op} ${JSON.stringify(event.key)} ${JSON.stringify(value(event).before?.Status ?? null)}->${JSON.stringify(value(event).after?.Status ?? null)}`)).toEqual([
        'c {"OrderID":1} null->"a"',
        'c {"OrderID":2} null->"a"',
        'u {"OrderID":1} "a"->"b"',
        'u {"OrderID":2} "a"->"b"',
      ]);
    }
  });

  it('refuses a before-image that never gets its after-image', async () => {
    const server = build();
    server.instances.get('dbo_Orders')!.rows.pop();
    await expect(drain(await readerFor(server, ['dbo.Orders']))).rejects.toThrow(/without a counterpart/);
  });
});
