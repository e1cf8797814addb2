// PostgreSQL text values -> JSON: numeric without float loss, int8 beyond 2^53 as text,
// timestamptz as ISO 8601 UTC, jsonb as JSON, bytea as base64, arrays (nested, quoted, NULL),
// and user types (domains, enums, arrays of them) resolved through pg_type rows.
import { describe, expect, it } from 'vitest';
import { builtinTypes, byteaToBase64, isoTimestamp, mapValue, parseArray, TypeRegistry, type PgTypeRow } from '../../../main/engine/cdc/postgres/values';

const types = builtinTypes();
const type = (oid: number) => types.get(oid)!;

describe('mapValue', () => {
  it('keeps numbers exact: numeric as text, int8 as a number only while it is safe, NaN and infinities as text', () => {
    expect(mapValue('12345678901234567890.12345678901234567890', type(1700))).toBe('12345678901234567890.12345678901234567890');
    expect(mapValue('NaN', type(1700))).toBe('NaN');
    expect(mapValue('9007199254740991', type(20))).toBe(9007199254740991);
    expect(mapValue('9007199254740993', type(20))).toBe('9007199254740993');
    expect(mapValue('-42', type(23))).toBe(-42);
    expect(mapValue('0.1', type(701))).toBe(0.1);
    expect(mapValue('-Infinity', type(701))).toBe('-Infinity');
    expect(mapValue('NaN', type(700))).toBe('NaN');
  });

  it('maps booleans, json/jsonb, bytea and text-like types', () => {
    expect(mapValue('t', type(16))).toBe(true);
    expect(mapValue('f', type(16))).toBe(false);
    expect(mapValue('{"a": [1, {"b": null}]}', type(3802))).toEqual({ a: [1, { b: null }] });
    expect(mapValue('"just a string"', type(114))).toBe('just a string');
    expect(mapValue('\\x00ff', type(17))).toBe('AP8=');
    expect(mapValue('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', type(2950))).toBe('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
    expect(mapValue('1 day 02:03:04', type(1186))).toBe('1 day 02:03:04');
    expect(mapValue('$1,234.50', type(790))).toBe('$1,234.50');
    expect(mapValue('anything', { oid: 99999, name: 'mystery', kind: 'text' })).toBe('anything');
  });

  it('writes timestamps as ISO 8601, keeping every fractional digit', () => {
    expect(mapValue('2026-03-04 03:06:07.123456+00', type(1184))).toBe('2026-03-04T03:06:07.123456Z');
    expect(mapValue('2026-03-04 03:06:07+00', type(1184))).toBe('2026-03-04T03:06:07Z');
    expect(mapValue('2026-03-04 05:06:07.5', type(1114))).toBe('2026-03-04T05:06:07.5');
    expect(isoTimestamp('2026-03-04 08:36:07+05:30', true)).toBe('2026-03-04T08:36:07+05:30');
    expect(isoTimestamp('2026-03-04 01:06:07-02', true)).toBe('2026-03-04T01:06:07-02:00');
    expect(isoTimestamp('1901-01-01 00:00:00+00:19:32', true)).toBe('1901-01-01T00:00:00+00:19:32');
    expect(isoTimestamp('infinity', true)).toBe('infinity');
    expect(isoTimestamp('0044-03-15 12:00:00+00 BC', true)).toBe('0044-03-15 12:00:00+00 BC');
    expect(mapValue('2026-03-04', type(1082))).toBe('2026-03-04');
  });
});

describe('bytea', () => {
  it('decodes the hex and the old escape output formats', () => {
    expect(byteaToBase64('\\x')).toBe('');
    expect(byteaToBase64('\\x48656c6c6f')).toBe(Buffer.from('Hello').toString('base64'));
    expect(byteaToBase64('a\\\\b\\001')).toBe(Buffer.from([0x61, 0x5c, 0x62, 0x01]).toString('base64'));
  });
});

describe('arrays', () => {
  it('parses quoting, escapes, NULL, empty strings, nesting and explicit bounds', () => {
    expect(mapValue('{1,NULL,3}', type(1007))).toEqual([1, null, 3]);
    expect(mapValue('{"a b","c\\"d",NULL,"NULL","e,f",""}', type(1009))).toEqual(['a b', 'c"d', null, 'NULL', 'e,f', '']);
    expect(mapValue('{{1,2},{3,4}}', type(1007))).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(mapValue('{}', type(1007))).toEqual([]);
    expect(mapValue('[0:1]={7,8}', type(1007))).toEqual([7, 8]);
    expect(mapValue('{1.10,2.000}', type(1231))).toEqual(['1.10', '2.000']);
    expect(mapValue('{"2026-01-01 00:00:00+00"}', type(1185))).toEqual(['2026-01-01T00:00:00Z']);
    expect(mapValue('{"\\\\x0102"}', type(1001))).toEqual(['AQI=']);
    expect(mapValue('{"{\\"a\\": 1}"}', type(3807))).toEqual([{ a: 1 }]);
  });

  it('uses the type delimiter and keeps malformed literals as text', () => {
    expect(parseArray('{(1,1),(0,0);(2,2),(1,1)}', { oid: 603, name: 'box', kind: 'text' }, ';')).toEqual(['(1,1),(0,0)', '(2,2),(1,1)']);
    expect(parseArray('{1,2', type(23))).toBe('{1,2');
  });
});

describe('TypeRegistry', () => {
  it('resolves domains to their base type, enums to text, and arrays of user types, in one lookup round per level', async () => {
    const rows: Record<number, PgTypeRow> = {
      90001: { oid: 90001, name: 'money_amount', type: 'd', elementOid: 0, baseTypeOid: 1700, delimiter: ',' },
      90002: { oid: 90002, name: 'mood', type: 'e', elementOid: 0, baseTypeOid: 0, delimiter: ',' },
      90003: { oid: 90003, name: '_mood', type: 'b', elementOid: 90002, baseTypeOid: 0, delimiter: ',' },
      90004: { oid: 90004, name: 'positive_ints', type: 'd', elementOid: 0, baseTypeOid: 1007, delimiter: ',' },
    };
    const asked: number[][] = [];
    const registry = new TypeRegistry(async (oids) => {
      asked.push(oids);
      return oids.map((oid) => rows[oid]).filter((row): row is PgTypeRow => row !== undefined);
    });
    await registry.ensure([23, 90001, 90003, 90004, 95555]);
    expect(asked[0]).toEqual([90001, 90003, 90004, 95555]);
    expect(mapValue('12.3400', registry.get(90001))).toBe('12.3400');
    expect(registry.get(90001).kind).toBe('numeric');
    expect(mapValue('{happy,sad}', registry.get(90003))).toEqual(['happy', 'sad']);
    expect(mapValue('{1,2}', registry.get(90004))).toEqual([1, 2]);
    expect(registry.get(95555).kind).toBe('text');
    await registry.ensure([90001]);
    expect(asked.length).toBe(2);
  });
});
