// Events in the Debezium PostgreSQL envelope from decoded changes: ops, keys, before/after,
// primary-key changes, unchanged TOAST, positions that sort in commit order, transaction
// metadata, truncates and snapshot rows.
import { describe, expect, it } from 'vitest';
import type { NewEvent } from '../../../shared/events';
import { changeEvents, changePosition, keyIndexes, markSnapshotLast, shapeFromRelation, snapshotEvent, snapshotPosition, transactionContext, truncateEvent, type TableShape } from '../../../main/engine/cdc/postgres/envelope';
import { UNCHANGED_TOAST, type Relation } from '../../../main/engine/cdc/postgres/pgoutput';
import { builtinTypes, UNAVAILABLE_VALUE } from '../../../main/engine/cdc/postgres/values';

const types = builtinTypes();
const relation: Relation = {
  oid: 16384,
  schema: 'public',
  name: 'orders',
  replicaIdentity: 'default',
  columns: [
    { name: 'id', isKey: true, typeOid: 23, typeModifier: -1 },
    { name: 'total', isKey: false, typeOid: 1700, typeModifier: -1 },
    { name: 'note', isKey: false, typeOid: 25, typeModifier: -1 },
  ],
};
const shape: TableShape = shapeFromRelation('shop', relation, (oid) => types.get(oid)!, ['id']);
const source = { name: 'shop-db', version: '1.2.3' };
const commitMicros = 1_767_225_600_123_456n; // 2026-01-01T00:00:00.123456Z
const value = (event: NewEvent) => event.value as Record<string, unknown> & { before: unknown; after: unknown; source: Record<string, unknown>; transaction: Record<string, unknown> };

describe('change events', () => {
  it('builds an insert in the Debezium envelope, keyed by the primary key, timed at the commit', () => {
    const txn = transactionContext(771, 0x16b374d848n, commitMicros);
    const [event] = changeEvents(shape, { tag: 'insert', newTuple: ['1', '10.50', 'hi'] }, 0x16b374d800n, txn, source, 1_767_225_601_000);
    // (Object.entries: the event's own fields, without the JSON text attached for the log.)
    expect(Object.fromEntries(Object.entries(event!))).toEqual({
      stream: 'pg:shop.public.orders',
      position: 'pg:00000016B374D848:00000016B374D800:0000000000',
      key: { id: 1 },
      op: 'c',
      headers: [],
      eventTime: 1_767_225_600_123,
      ingestTime: 1_767_225_601_000,
      value: {
        before: null,
        after: { id: 1, total: '10.50', note: 'hi' },
        source: {
          version: '1.2.3',
          connector: 'postgresql',
          name: 'shop-db',
          ts_ms: 1_767_225_600_123,
          ts_us: 1_767_225_600_123_456,
          snapshot: 'false',
          db: 'shop',
          sequence: `["${0x16b374d848n}","${0x16b374d800n}"]`,
          schema: 'public',
          table: 'orders',
          txId: 771,
          lsn: 0x16b374d800,
          xmin: null,
        },
        op: 'c',
        ts_ms: 1_767_225_601_000,
        transaction: { id: `771:${0x16b374d848n}`, total_order: 1, data_collection_order: 1 },
      },
    });
  });

  it('numbers events within a transaction, so positions are unique even when changes share an LSN', () => {
    const txn = transactionContext(5, 0x200n, commitMicros);
    const first = changeEvents(shape, { tag: 'insert', newTuple: ['1', '1', 'a'] }, 0x100n, txn, source);
    const second = changeEvents(shape, { tag: 'insert', newTuple: ['2', '1', 'a'] }, 0x100n, txn, source);
    expect(first[0]!.position).not.toBe(second[0]!.position);
    expect(value(second[0]!).transaction).toMatchObject({ total_order: 2, data_collection_order: 2 });
    const later = changeEvents(shape, { tag: 'insert', newTuple: ['3', '1', 'a'] }, 0x50n, transactionContext(6, 0x300n, commitMicros), source);
    expect([later[0]!.position, second[0]!.position, first[0]!.position].sort()).toEqual([first[0]!.position, second[0]!.position, later[0]!.position]);
  });

  it('updates: no before under DEFAULT, full before under FULL, unchanged TOAST marked or filled', () => {
    const txn = transactionContext(5, 0x200n, commitMicros);
    const [plain] = changeEvents(shape, { tag: 'update', keyTuple: null, oldTuple: null, newTuple: ['1', '2', UNCHANGED_TOAST] }, 0x100n, txn, source);
    expect(plain!.op).toBe('u');
    expect(value(plain!).before).toBeNull();
    expect(value(plain!).after).toEqual({ id: 1, total: '2', note: UNAVAILABLE_VALUE });
    const [full] = changeEvents(shape, { tag: 'update', keyTuple: null, oldTuple: ['1', '1', 'long text'], newTuple: ['1', '2', UNCHANGED_TOAST] }, 0x101n, txn, source);
    expect(value(full!).before).toEqual({ id: 1, total: '1', note: 'long text' });
    expect(value(full!).after).toEqual({ id: 1, total: '2', note: 'long text' });
  });

  it('turns a primary-key change into a delete and a create with Debezium headers', () => {
    const txn = transactionContext(5, 0x200n, commitMicros);
    const events = changeEvents(shape, { tag: 'update', keyTuple: ['1', null, null], oldTuple: null, newTuple: ['2', '5', 'x'] }, 0x100n, txn, source);
    expect(events.map((event) => [event.op, event.key])).toEqual([
      ['d', { id: 1 }],
      ['c', { id: 2 }],
    ]);
    expect(events[0]!.headers).toEqual([{ key: '__debezium.newkey', value: '{"id":2}' }]);
    expect(events[1]!.headers).toEqual([{ key: '__debezium.oldkey', value: '{"id":1}' }]);
    expect(value(events[0]!).after).toBeNull();
    expect(events[0]!.position < events[1]!.position).toBe(true);
  });

  it('deletes carry the old key (DEFAULT) or the whole old row (FULL)', () => {
    const txn = transactionContext(5, 0x200n, commitMicros);
    const [keyOnly] = changeEvents(shape, { tag: 'delete', keyTuple: ['1', null, null], oldTuple: null }, 0x100n, txn, source);
    expect(keyOnly).toMatchObject({ op: 'd', key: { id: 1 } });
    expect(value(keyOnly!).before).toEqual({ id: 1, total: null, note: null });
    const [whole] = changeEvents(shape, { tag: 'delete', keyTuple: null, oldTuple: ['1', '3', 'n'] }, 0x101n, txn, source);
    expect(value(whole!).before).toEqual({ id: 1, total: '3', note: 'n' });
  });

  it('has a null key without a primary key, and for truncates', () => {
    const keyless = shapeFromRelation('shop', relation, (oid) => types.get(oid)!, []);
    const txn = transactionContext(5, 0x200n, commitMicros);
    expect(changeEvents(keyless, { tag: 'insert', newTuple: ['1', '1', 'a'] }, 0x100n, txn, source)[0]!.key).toBeNull();
    const truncate = truncateEvent(shape, 0x101n, txn, source);
    expect(truncate.key).toBeNull();
    expect(truncate.op).toBeUndefined();
    expect(value(truncate).op).toBe('t');
    expect(keyIndexes(shape.columns, ['id', 'missing'])).toEqual([]);
  });
});

describe('snapshot events', () => {
  it('are `r` events at the slot consistent point, sorting before anything streamed after it', () => {
    const event = snapshotEvent(shape, ['1', '2.00', null], 0x500n, 0, 'first', 1_767_225_600_000, source);
    expect(event).toMatchObject({ op: 'r', key: { id: 1 }, position: snapshotPosition(0x500n, 0), eventTime: 1_767_225_600_000 });
    expect(value(event).source).toMatchObject({ snapshot: 'first', lsn: 0x500, txId: null, sequence: null });
    expect(value(event).transaction).toBeNull();
    expect(snapshotPosition(0x500n, 99) < changePosition(0x500n, 0x400n, 0)).toBe(true);
    expect(snapshotPosition(0x500n, 99) < changePosition(0x600n, 0x10n, 0)).toBe(true);
  });
});

/** The value's JSON text attached for the log (attachValueJson), if any. */
function attachedText(event: NewEvent): unknown {
  const symbol = Object.getOwnPropertySymbols(event).find((entry) => entry.description === 'eddy.valueJson');
  return symbol === undefined ? undefined : (event as unknown as Record<symbol, unknown>)[symbol];
}

describe('the JSON text stored for each event', () => {
  it('is exactly JSON.stringify of its envelope, for every kind of event and awkward names and values', () => {
    const awkward: Relation = {
      oid: 1,
      schema: 'sché"ma',
      name: 'ta\\ble\u2028',
      replicaIdentity: 'full',
      columns: [
        { name: 'id', isKey: true, typeOid: 20, typeModifier: -1 },
        { name: 'quote"d', isKey: false, typeOid: 25, typeModifier: -1 },
        { name: 'doc', isKey: false, typeOid: 3802, typeModifier: -1 },
        { name: 'tags', isKey: false, typeOid: 1009, typeModifier: -1 },
        { name: 'ok', isKey: false, typeOid: 16, typeModifier: -1 },
        { name: 'ratio', isKey: false, typeOid: 701, typeModifier: -1 },
        { name: 'at', isKey: false, typeOid: 1184, typeModifier: -1 },
      ],
    };
    const awkwardShape = shapeFromRelation('d"b', awkward, (oid) => types.get(oid)!, ['id']);
    const odd = { name: 'na"me\n', version: 'ünï 1' };
    const tuple = (id: string, text: string | null): (string | null)[] => [id, text, '{"a":[1,{"b":"ü\\n"}],"c":null}', '{x,"y z",NULL}', 't', 'NaN', '2026-01-01 00:00:00.123456+02'];
    const txn = transactionContext(4_294_967_295, 0xffffffff00000010n, commitMicros);
    const other = transactionContext(7, 0x20n, commitMicros + 1000n);
    const events: NewEvent[] = [
      ...changeEvents(awkwardShape, { tag: 'insert', newTuple: tuple('9007199254740993', 'line\nbreak "q" \u0000') }, 0x1n, txn, odd),
      ...changeEvents(awkwardShape, { tag: 'update', keyTuple: null, oldTuple: tuple('1', 'old'), newTuple: [...tuple('1', null).slice(0, 1), UNCHANGED_TOAST, ...tuple('1', null).slice(2)] }, 0x2n, txn, odd),
      ...changeEvents(awkwardShape, { tag: 'update', keyTuple: null, oldTuple: tuple('1', 'a'), newTuple: tuple('2', 'b') }, 0x3n, txn, odd),
      ...changeEvents(awkwardShape, { tag: 'delete', keyTuple: ['5', null, null, null, null, null, null], oldTuple: null }, 0x4n, txn, odd),
      // Another transaction, table and source in between: the kept texts must follow.
      ...changeEvents(shape, { tag: 'update', keyTuple: null, oldTuple: null, newTuple: ['1', '2', 'x'] }, 0x5n, txn, source, Number.NaN),
      // Same table, source and commit time, another transaction.
      ...changeEvents(shape, { tag: 'insert', newTuple: ['4', '5', 'w'] }, 0x31n, transactionContext(8, 0x30n, commitMicros), source),
      ...changeEvents(shape, { tag: 'insert', newTuple: ['3', '4', 'y'] }, 0x21n, other, source),
      ...changeEvents(awkwardShape, { tag: 'insert', newTuple: tuple('6', 'z') }, 0x22n, other, odd),
      truncateEvent(awkwardShape, 0x6n, txn, odd),
      snapshotEvent(awkwardShape, tuple('7', 'snap'), 0x500n, 0, 'first', 1_767_225_600_000, odd),
      snapshotEvent(awkwardShape, tuple('8', 'snap'), 0x500n, 1, 'true', 1_767_225_600_000, odd),
      snapshotEvent(shape, ['8', '1.00', null], 0x500n, 1, 'true', 1_767_225_600_000, source),
    ];
    const last = snapshotEvent(shape, ['9', '1.00', null], 0x500n, 2, 'true', 1_767_225_600_000, source);
    markSnapshotLast(last);
    events.push(last);
    expect(value(last).source.snapshot).toBe('last');
    expect(events.map((event) => event.op ?? 't')).toEqual(['c', 'u', 'd', 'c', 'd', 'u', 'c', 'c', 'c', 't', 'r', 'r', 'r', 'r']);
    for (const event of events) {
      expect(attachedText(event)).toBe(JSON.stringify(event.value));
    }
  });
});

