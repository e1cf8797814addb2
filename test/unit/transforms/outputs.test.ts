// What a transform returns becomes events: validated, with key and event time from the input.
import { describe, expect, it } from 'vitest';
import { normalizeOutputs } from '../../../main/engine/transforms/run.js';
import { indexTables, lookupAsOf, tableFromEvents, canonicalJson } from '../../../main/engine/transforms/tables.js';
import type { FixtureEvent } from '../../../shared/contracts/transforms.js';

const input: FixtureEvent = { stream: 's', position: 'p', key: { id: 1 }, value: null, headers: [], eventTime: 42, ingestTime: 43 };

describe('normalizeOutputs', () => {
  it('accepts nothing, one event or many, and fills defaults', () => {
    expect(normalizeOutputs(null, input)).toEqual([]);
    expect(normalizeOutputs([], input)).toEqual([]);
    expect(normalizeOutputs({ value: 1 }, input)).toEqual([{ key: { id: 1 }, value: 1, headers: [], eventTime: 42 }]);
    expect(normalizeOutputs([{ value: 1, key: 'k', eventTime: 7, headers: { a: 'b' } }, { value: null }], input)).toEqual([
      { key: 'k', value: 1, headers: [{ key: 'a', value: 'b' }], eventTime: 7 },
      { key: { id: 1 }, value: null, headers: [], eventTime: 42 },
    ]);
  });

  it('explains what is wrong with anything else', () => {
    expect(normalizeOutputs({ id: 1, total: 2 }, input)).toMatch(/needs a `value` \(got an object with id, total\)/);
    expect(normalizeOutputs({ value: 1, topic: 'x' }, input)).toMatch(/unknown field\(s\) topic/);
    expect(normalizeOutputs(5, input)).toMatch(/returns events as/);
    expect(normalizeOutputs([{ value: 1 }, 'x'], input)).toMatch(/^output #2: /);
    expect(normalizeOutputs({ value: 1, eventTime: 'now' }, input)).toMatch(/eventTime must be a number/);
  });
});

describe('as-of tables', () => {
  it('answers the row as it was at a time, keys compared canonically', () => {
    const versions = tableFromEvents([
      { key: { b: 2, a: 1 }, value: { before: null, after: { tier: 'silver' }, op: 'c' }, op: 'c', eventTime: 100 },
      { key: { a: 1, b: 2 }, value: { before: { tier: 'silver' }, after: { tier: 'gold' }, op: 'u' }, op: 'u', eventTime: 200 },
      { key: { a: 1, b: 2 }, value: { before: { tier: 'gold' }, after: null, op: 'd' }, op: 'd', eventTime: 300 },
    ]);
    const tables = indexTables({ t: versions });
    const at = (time: number) => lookupAsOf(tables, 't', JSON.stringify({ a: 1, b: 2 }), time);
    expect([at(50), at(100), at(250), at(300)]).toEqual([null, '{"tier":"silver"}', '{"tier":"gold"}', null]);
    expect(canonicalJson({ b: [{ d: 1, c: 2 }], a: null })).toBe('{"a":null,"b":[{"c":2,"d":1}]}');
  });
});
