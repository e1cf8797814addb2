// LSNs, identifier quoting, update masks and value conversion of the SQL Server connector.
import { describe, expect, it } from 'vitest';
import { changeFunctionName, parseTableName, quoteName } from '../../../main/engine/cdc/sqlserver/identifiers.js';
import { comparePosition, lsnFromBuffer, lsnFromText, lsnToText, positionText } from '../../../main/engine/cdc/sqlserver/lsn.js';
import { changedOrdinals, isColumnChanged, maskFor } from '../../../main/engine/cdc/sqlserver/update-mask.js';
import { converterFor } from '../../../main/engine/cdc/sqlserver/values.js';
import { columnFromRow } from '../../../main/engine/cdc/sqlserver/catalog.js';
import { parseSqlServerUrl, redactUrl } from '../../../main/engine/cdc/sqlserver/connection.js';
import { sqlServerMask } from '../../fixtures/sqlserver/fake-server.js';

describe('SQL Server LSNs', () => {
  it('turns binary(10) Buffers into Debezium text and back', () => {
    const lsn = lsnFromBuffer(Buffer.from('0000002700000758000300'.slice(0, 20), 'hex'));
    expect(lsn).toBe('00000027000007580003');
    expect(lsnToText(lsn!)).toBe('00000027:00000758:0003');
    expect(lsnFromText('00000027:00000758:0003')).toBe(lsn);
    expect(lsnFromText('0x00000027000007580003')).toBe(lsn);
    expect(lsnFromBuffer(null)).toBeNull();
    expect(() => lsnFromBuffer(Buffer.alloc(8))).toThrow(/binary\(10\)/);
    expect(() => lsnFromText('27:758:3')).toThrow(/not a SQL Server LSN/);
  });

  it('orders positions by commit LSN, change LSN, then serial, and prints them as the demo does', () => {
    const a = { commitLsn: '00000027000004420000', changeLsn: '00000027000004320002', serial: 1 };
    const b = { ...a, serial: 2 };
    const c = { ...a, commitLsn: '00000027000004430000', changeLsn: '00000027000004000001' };
    expect(comparePosition(a, b)).toBeLessThan(0);
    expect(comparePosition(b, c)).toBeLessThan(0);
    expect(positionText(a)).toBe('sqlserver:00000027:00000442:0000:00000027:00000432:0002:1');
  });
});

describe('SQL Server identifiers', () => {
  it('bracket-quotes like QUOTENAME, doubling ]', () => {
    expect(quoteName('Orders')).toBe('[Orders]');
    expect(quoteName('abc[]def')).toBe('[abc[]]def]');
    expect(quoteName('x]; DROP TABLE y; --')).toBe('[x]]; DROP TABLE y; --]');
    expect(changeFunctionName('dbo_Odd]Name')).toBe('[cdc].[fn_cdc_get_all_changes_dbo_Odd]]Name]');
  });

  it('refuses names longer than sysname, empty names and control characters', () => {
    expect(() => quoteName('a'.repeat(129))).toThrow(/at most 128/);
    expect(quoteName('a'.repeat(128))).toHaveLength(130);
    expect(() => quoteName('')).toThrow(/empty/);
    expect(() => quoteName('a\u0000b')).toThrow(/control/);
    // 23 characters of prefix leave 105 for the capture instance.
    expect(() => changeFunctionName('i'.repeat(106))).toThrow(/at most 128/);
  });

  it('parses schema.table, bracketed parts and the dbo default', () => {
    expect(parseTableName('dbo.Orders')).toEqual({ schema: 'dbo', table: 'Orders' });
    expect(parseTableName('[sales].[Order.Items]')).toEqual({ schema: 'sales', table: 'Order.Items' });
    expect(parseTableName('[a]]b].c')).toEqual({ schema: 'a]b', table: 'c' });
    expect(parseTableName('Orders')).toEqual({ schema: 'dbo', table: 'Orders' });
    expect(() => parseTableName('a.b.c')).toThrow(/schema\.table/);
    expect(() => parseTableName('[dbo.Orders')).toThrow(/unclosed/);
  });
});

describe('__$update_mask', () => {
  it('is indexed from the end, as sys.fn_cdc_is_bit_set reads it (20 columns: 3 bytes)', () => {
    // Columns 3, 9, 17 and 20 changed: 17 and 20 live in the FIRST byte, 3 in the LAST.
    const mask = Buffer.from('090104', 'hex');
    expect(sqlServerMask([3, 9, 17, 20], 20)).toEqual(mask);
    expect(changedOrdinals(mask, 20)).toEqual([3, 9, 17, 20]);
    expect(maskFor([3, 9, 17, 20], 20)).toEqual(mask);
    // Front-indexing (Debezium's isColumnChanged) would read column 1 and 4 from byte 0x09.
    expect(isColumnChanged(mask, 1)).toBe(false);
    expect(isColumnChanged(mask, 4)).toBe(false);
  });

  it('handles byte boundaries (8, 9, 16, 17) and masks shorter than the column count', () => {
    expect(changedOrdinals(Buffer.from('008080', 'hex'), 20)).toEqual([8, 16]);
    expect(changedOrdinals(Buffer.from('010100', 'hex'), 20)).toEqual([9, 17]);
    expect(changedOrdinals(Buffer.from('ff', 'hex'), 12)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(changedOrdinals(Buffer.alloc(0), 5)).toEqual([]);
  });
});

describe('value conversion', () => {
  const convert = (type: string, value: unknown, extra: Record<string, unknown> = {}): unknown =>
    converterFor(columnFromRow({ column_name: 'x', column_ordinal: 1, column_type: type, max_length: 8, precision: 10, scale: 7, ...extra }))(value);

  it('maps tedious values to Debezium-friendly JSON', () => {
    expect(convert('int', 42)).toBe(42);
    expect(convert('bit', true)).toBe(true);
    expect(convert('bigint', '9007199254740993')).toBe('9007199254740993');
    expect(convert('bigint', '42')).toBe(42);
    expect(convert('decimal', 12.5, { precision: 10 })).toBe(12.5);
    expect(convert('decimal', '1234567890123.4567', { precision: 19 })).toBe('1234567890123.4567');
    expect(convert('varbinary', Buffer.from([1, 2, 3]))).toBe('AQID');
    expect(convert('uniqueidentifier', '6F9619FF-8B86-D011-B42D-00C04FC964FF')).toBe('6F9619FF-8B86-D011-B42D-00C04FC964FF');
    expect(convert('nvarchar', null)).toBeNull();
  });

  it('keeps date/time precision (datetime2(7) nanosecondsDelta) and never shifts wall-clock types', () => {
    const date = new Date('2026-03-02T09:00:00.123Z');
    Object.defineProperty(date, 'nanosecondsDelta', { value: 0.0004567, enumerable: false });
    expect(convert('datetime2', date, { scale: 7 })).toBe('2026-03-02T09:00:00.1234567Z');
    expect(convert('datetime2', date, { scale: 3 })).toBe('2026-03-02T09:00:00.123Z');
    expect(convert('datetime', new Date('2026-03-02T09:00:00.997Z'), { scale: 3 })).toBe('2026-03-02T09:00:00.997Z');
    expect(convert('date', new Date('2026-03-02T00:00:00Z'))).toBe('2026-03-02');
    expect(convert('time', new Date('1970-01-01T13:45:10.500Z'), { scale: 3 })).toBe('13:45:10.500');
    expect(convert('datetimeoffset', new Date('2026-03-02T08:00:00Z'), { scale: 0 })).toBe('2026-03-02T08:00:00Z');
  });
});

describe('mssql:// URLs', () => {
  it('parses host, port, database, flags, and never shows the password', () => {
    const parsed = parseSqlServerUrl('mssql://sa:P%40ss@db.local:14330/shop?encrypt=false&trustServerCertificate=true');
    expect(parsed).toEqual({ host: 'db.local', port: 14330, database: 'shop', user: 'sa', password: 'P@ss', encrypt: false, trustServerCertificate: true });
    expect(parseSqlServerUrl('sqlserver://sa@h/').database).toBe('master');
    expect(redactUrl('mssql://sa:secret@h/db')).not.toContain('secret');
    expect(() => parseSqlServerUrl('postgres://x@h/db')).toThrow(/mssql:\/\//);
  });
});
