// The explorer's UI logic that needs no browser: field paths, selections, filter values, the
// command palette's matching and shortcuts, event links, and restoring the saved layout.
import { describe, expect, it } from 'vitest';
import { evaluatePath, formatPath, isValidPath, parsePath, pathFromSegments } from '../../../renderer/features/explorer/json-path.js';
import { clampSelection, extendTo, isSelected, selectAll, selectedCount, single, toggle } from '../../../renderer/features/explorer/selection.js';
import { formatConditionValue, parseConditionValue } from '../../../renderer/features/explorer/filter-bar-values.js';
import { fuzzyScore, matchKeys } from '../../../renderer/features/palette/matching.js';
import { eventLink, parseEventLink } from '../../../renderer/features/explorer/event-link.js';
import { hexDump } from '../../../renderer/features/explorer/hex.js';
import { defaultUiState, loadUiState } from '../../../renderer/app/ui-layout.js';
import { isDeadLetterStream } from '../../../renderer/features/explorer/dead-letters.js';
import { keyPreview } from '../../../renderer/features/explorer/format.js';
import { changeSummary, connectorOf } from '../../../renderer/features/explorer/change-summary.js';
import { configInWords } from '../../../renderer/features/kafka/config-values.js';
import { MIN_WINDOW_MS, timeWindow } from '../../../renderer/features/kafka/lag-window.js';

describe('field paths', () => {
  it('parses, prints and evaluates value and key paths', () => {
    expect(parsePath('after.City')).toEqual({ root: 'value', segments: ['after', 'City'] });
    expect(parsePath('$.items[2].sku')).toEqual({ root: 'value', segments: ['items', 2, 'sku'] });
    expect(parsePath('key.CustomerID')).toEqual({ root: 'key', segments: ['CustomerID'] });
    expect(parsePath('after city')).toBeNull();
    expect(isValidPath('a..b')).toBe(false);
    expect(formatPath({ root: 'key', segments: ['id'] })).toBe('key.id');
    expect(pathFromSegments('value', ['items', 0, 'sku'])).toBe('items[0].sku');
    expect(pathFromSegments('value', ['with space'])).toBeNull();
    const event = { key: { CustomerID: 7 }, value: { after: { City: 'Lyon' }, items: [{ sku: 'A' }, { sku: 'B' }] } };
    expect(evaluatePath(event, parsePath('after.City')!)).toBe('Lyon');
    expect(evaluatePath(event, parsePath('items[1].sku')!)).toBe('B');
    expect(evaluatePath(event, parsePath('key.CustomerID')!)).toBe(7);
    expect(evaluatePath(event, parsePath('after.Nope')!)).toBeUndefined();
  });
});

describe('grid selection', () => {
  it('selects, extends, toggles and clamps ranges of rows', () => {
    let selection = single(5);
    expect(selectedCount(selection)).toBe(1);
    selection = extendTo(selection, 9);
    expect(selection.ranges).toEqual([{ from: 5, to: 10 }]);
    selection = extendTo(selection, 2);
    expect(selection.ranges).toEqual([{ from: 2, to: 6 }]);
    selection = toggle(selection, 4);
    expect(selection.ranges).toEqual([
      { from: 2, to: 4 },
      { from: 5, to: 6 },
    ]);
    expect(isSelected(selection, 4)).toBe(false);
    selection = toggle(selection, 4);
    expect(selection.ranges).toEqual([{ from: 2, to: 6 }]);
    expect(selectedCount(selectAll(1_000_000))).toBe(1_000_000);
    expect(clampSelection(selectAll(10), 4).ranges).toEqual([{ from: 0, to: 4 }]);
    expect(clampSelection(single(8), 4).focus).toBeNull();
  });
});

describe('filter values', () => {
  it('reads numbers, booleans, null and quoted strings', () => {
    expect(parseConditionValue('42')).toBe(42);
    expect(parseConditionValue('-1.5')).toBe(-1.5);
    expect(parseConditionValue('true')).toBe(true);
    expect(parseConditionValue('null')).toBeNull();
    expect(parseConditionValue('"42"')).toBe('42');
    expect(parseConditionValue('Lyon')).toBe('Lyon');
    for (const value of [42, true, null, '42', 'Lyon', 'true']) expect(parseConditionValue(formatConditionValue(value))).toEqual(value);
  });
});

describe('command palette', () => {
  it('ranks direct and word-start matches first', () => {
    const titles = ['View: Toggle the bottom panel', 'Preferences: Dark theme', 'Explorer: New SQL query', 'Help: Start the guided tour'];
    const rank = (query: string): string[] =>
      titles
        .map((title) => ({ title, score: fuzzyScore(query, title) }))
        .filter((item) => item.score !== null)
        .sort((a, b) => b.score! - a.score!)
        .map((item) => item.title);
    expect(rank('dark')[0]).toBe('Preferences: Dark theme');
    expect(rank('nsq')[0]).toBe('Explorer: New SQL query');
    expect(rank('zzz')).toEqual([]);
  });

  it('matches shortcuts by key and modifiers', () => {
    const press = (key: string, code: string, modifiers: Partial<Record<'ctrlKey' | 'metaKey' | 'shiftKey' | 'altKey', boolean>> = {}) => ({ key, code, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...modifiers });
    expect(matchKeys(press('P', 'KeyP', { ctrlKey: true, shiftKey: true }), 'Mod+Shift+P', false)).toBe(true);
    expect(matchKeys(press('p', 'KeyP', { ctrlKey: true }), 'Mod+Shift+P', false)).toBe(false);
    expect(matchKeys(press('¡', 'Digit1', { altKey: true }), 'Alt+1', false)).toBe(true);
    expect(matchKeys(press('1', 'Digit1', { altKey: true, ctrlKey: true }), 'Alt+1', false)).toBe(false);
    expect(matchKeys(press('F1', 'F1'), 'F1', false)).toBe(true);
  });
});

describe('event links and raw bytes', () => {
  it('round-trips a link to an event', () => {
    const link = eventLink('sqlserver:shop.dbo.Orders', 'sqlserver:0000:00a&b');
    expect(link).toBe('eddy://event?stream=sqlserver%3Ashop.dbo.Orders&position=sqlserver%3A0000%3A00a%26b');
    expect(parseEventLink(link)).toEqual({ stream: 'sqlserver:shop.dbo.Orders', position: 'sqlserver:0000:00a&b' });
    expect(parseEventLink('#event?stream=a&position=b')).toEqual({ stream: 'a', position: 'b' });
    expect(parseEventLink('not a link')).toBeNull();
  });

  it('dumps bytes as offset, hex and printable text', () => {
    const dump = hexDump(new TextEncoder().encode('{"a":1}\n'));
    expect(dump).toBe('00000000  7b 22 61 22 3a 31 7d 0a                          {"a":1}.');
  });

  it('recognises dead-letter streams', () => {
    expect(isDeadLetterStream('dead-letters:customer-activity')).toBe(true);
    expect(isDeadLetterStream('kafka:orders.dlq')).toBe(true);
    expect(isDeadLetterStream('kafka:deadline-events')).toBe(false);
  });
});

describe('saved layout', () => {
  const storage = (value: unknown) => ({ getItem: () => (typeof value === 'string' ? value : JSON.stringify(value)) });

  it('restores what makes sense and drops the rest', () => {
    const restored = loadUiState(
      storage({
        activity: 'transforms',
        sideWidth: 5000,
        theme: 'dark',
        tabs: [{ id: 's1', kind: 'stream', stream: 'kafka:calls' }, { id: 'bad', kind: 'nope' }, { id: 'q1', kind: 'sql', title: 'Query 1', sql: 'SELECT 1' }],
        activeTab: 'bad',
        bottomTab: 'jobs',
        tourDone: true,
      }),
    );
    expect(restored.activity).toBe('transforms');
    expect(restored.sideWidth).toBe(700);
    expect(restored.theme).toBe('dark');
    expect(restored.tabs.map((tab) => tab.id)).toEqual(['s1', 'q1']);
    expect(restored.activeTab).toBe('s1');
    expect(restored.bottomTab).toBe('jobs');
    expect(restored.tourDone).toBe(true);
  });

  it('starts fresh from damaged or missing state', () => {
    expect(loadUiState(storage('{not json'))).toEqual(defaultUiState);
    expect(loadUiState(undefined)).toEqual(defaultUiState);
  });
});

describe('key previews in the grid', () => {
  it('shows a flat key object as name=value pairs, anything else as its JSON preview', () => {
    expect(keyPreview({ CustomerID: 1003 })).toBe('CustomerID=1003');
    expect(keyPreview({ OrderID: 7, Line: 2, Code: 'x', Gone: null })).toBe('OrderID=7 · Line=2 · Code=x · Gone=null');
    expect(keyPreview({ nested: { a: 1 } })).toBe('{"nested":{"a":1}}');
    expect(keyPreview('plain')).toBe('plain');
    expect(keyPreview(null)).toBe('');
    expect(keyPreview({ id: 'y'.repeat(100) }, 20)).toBe(`id=${'y'.repeat(16)}…`);
  });
});

describe('change event summaries', () => {
  const pg = 'postgresql';
  it('names an update without a before image as an update, with the replica identity advice for PostgreSQL', () => {
    const summary = changeSummary({ before: null, after: { id: 1, name: 'b' }, op: 'u', connector: pg, eventKey: { id: 1 } });
    expect(summary.text).toMatch(/^Updated row: the source sent no before image/);
    expect(summary.text).toContain('REPLICA IDENTITY FULL');
    expect(changeSummary({ before: null, after: { id: 1 }, op: 'u', connector: 'sqlserver' }).text).not.toContain('REPLICA IDENTITY');
    expect(changeSummary({ before: null, after: { id: 1 }, op: 'c' }).text).toBe('Inserted row (no before image).');
    expect(changeSummary({ before: null, after: { id: 1 }, op: 'r' }).text).toBe('Row read by the snapshot (no before image).');
  });

  it('marks a PostgreSQL delete that carried only its key, and nothing else', () => {
    const keyOnly = changeSummary({ before: { id: 4, name: null, city: null }, after: null, op: 'd', connector: pg, eventKey: { id: 4 } });
    expect(keyOnly.keyOnlyBefore).toBe(true);
    expect(keyOnly.text).toContain('only its key was sent');
    const full = changeSummary({ before: { id: 4, name: 'x', city: null }, after: null, op: 'd', connector: pg, eventKey: { id: 4 } });
    expect(full).toEqual({ text: 'Deleted row (no after image).', keyOnlyBefore: false });
    expect(changeSummary({ before: { id: 4, name: null }, after: null, op: 'd', connector: 'sqlserver', eventKey: { id: 4 } }).keyOnlyBefore).toBe(false);
    expect(changeSummary({ before: { id: 1, a: 1 }, after: { id: 1, a: 2 }, op: 'u' }).text).toBe('1 of 2 fields changed.');
    expect(connectorOf({ source: { connector: 'postgresql' } })).toBe('postgresql');
    expect(connectorOf({ source: null })).toBeUndefined();
  });
});

describe('Kafka config values in words', () => {
  it('reads milliseconds and bytes, and the unlimited markers', () => {
    expect(configInWords('retention.ms', '604800000')).toBe('7 d');
    expect(configInWords('segment.ms', '43200000')).toBe('12 h');
    expect(configInWords('retention.ms', '90000')).toBe('1.5 min');
    expect(configInWords('retention.ms', '-1')).toBe('forever');
    expect(configInWords('local.retention.ms', '9223372036854775807')).toBe('forever');
    expect(configInWords('retention.bytes', '-1')).toBe('unlimited');
    expect(configInWords('segment.bytes', '16777216')).toBe('16 MiB');
    expect(configInWords('max.message.bytes', '1048588')).toBe('1.0 MiB');
    expect(configInWords('flush.ms', '500')).toBeUndefined();
    expect(configInWords('cleanup.policy', 'delete')).toBeUndefined();
    expect(configInWords('min.insync.replicas', '2')).toBeUndefined();
    expect(configInWords('retention.ms', null)).toBeUndefined();
  });
});

describe('lag chart time window', () => {
  it('spans at least a minute from the first sample, whatever the number of samples', () => {
    expect(timeWindow([{ at: 1_000_000 }])).toEqual({ min: 1_000_000, max: 1_000_000 + MIN_WINDOW_MS });
    expect(timeWindow([{ at: 1_000_000 }, { at: 1_010_000 }])).toEqual({ min: 1_000_000, max: 1_000_000 + MIN_WINDOW_MS });
    expect(timeWindow([{ at: 1_000_000 }, { at: 1_500_000 }])).toEqual({ min: 1_000_000, max: 1_500_000 });
    expect(timeWindow([], 5_000_000)).toEqual({ min: 5_000_000 - MIN_WINDOW_MS, max: 5_000_000 });
  });
});
