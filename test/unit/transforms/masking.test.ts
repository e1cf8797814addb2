// Masking personal data pinned into tests: suggested from field names, stable pseudonyms.
import { describe, expect, it } from 'vitest';
import { maskEvent, maskTables, suggestMasking } from '../../../main/engine/transforms/masking.js';
import type { FixtureEvent } from '../../../shared/contracts/transforms.js';

const event: FixtureEvent = {
  stream: 'sqlserver:shop.dbo.Customers',
  position: 'p1',
  key: { CustomerID: 1 },
  value: { before: null, after: { CustomerID: 1, Name: 'Ana Silva', Email: 'ana@example.com', Tier: 'gold' }, source: { table: 'Customers' }, op: 'c' },
  headers: [{ key: 'trace', value: 'abc' }],
  eventTime: 1,
  ingestTime: 2,
};

describe('masking', () => {
  it('suggests hashing fields that look personal, for before and after at once', () => {
    expect(suggestMasking([event])).toEqual([
      { path: 'value.*.Email', rule: 'hash' },
      { path: 'value.*.Name', rule: 'hash' },
    ]);
    expect(suggestMasking([], { customers: [{ key: 1, from: 0, row: { Email: 'x', Tier: 'gold' } }] })).toEqual([{ path: 'row.Email', rule: 'hash' }]);
  });

  it('hashes stably, redacts and nulls, leaving other fields alone', () => {
    const masked = maskEvent(event, [
      { path: 'value.*.Email', rule: 'hash' },
      { path: 'value.after.Name', rule: 'redact' },
      { path: 'headers.trace', rule: 'null' },
    ]);
    const after = (masked.value as { after: Record<string, unknown> }).after;
    expect(after.Email).toMatch(/^masked:[0-9a-f]{12}$/);
    expect(after.Email).toBe(maskEvent(event, [{ path: 'value.after.Email', rule: 'hash' }]).value && (maskEvent(event, [{ path: 'value.after.Email', rule: 'hash' }]).value as { after: { Email: string } }).after.Email);
    expect(after.Name).toBe('***');
    expect(after.Tier).toBe('gold');
    expect(masked.headers).toEqual([{ key: 'trace', value: 'null' }]);
    expect((event.value as { after: { Email: string } }).after.Email).toBe('ana@example.com');
    const tables = maskTables({ customers: [{ key: 1, from: 0, row: { Email: 'ana@example.com' } }] }, [{ path: 'row.Email', rule: 'hash' }]);
    expect(tables.customers![0]!.row).toEqual({ Email: after.Email });
  });
});
