// Masking rules for personal data pinned into test files (DESIGN.md 5): values are replaced
// before anything is written, so a test kept in git never holds a real email or address. `hash`
// keeps equal values equal (joins and lookups still match); `redact` and `null` drop the value.
import { createHash } from 'node:crypto';
import type { FixtureEvent, FixtureTables, MaskRule } from '../../../shared/contracts/transforms.js';
import type { JsonValue } from '../../../shared/events.js';

const PERSONAL = /(^|_)(e-?mail|name|first_?name|last_?name|full_?name|phone|mobile|tel|street|address|addr|postcode|post_?code|zip|city|ssn|iban|card|birth|dob|passport|ip_?address)s?$/i;

export function maskValue(value: JsonValue, rule: MaskRule['rule']): JsonValue {
  if (rule === 'null') return null;
  if (rule === 'redact') return '***';
  if (value === null) return null;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return `masked:${createHash('sha256').update(text).digest('hex').slice(0, 12)}`;
}

/** Applies `rule` at `path` (dot segments, `*` matches any key or array item) inside `root`. */
function applyAt(root: JsonValue, segments: string[], rule: MaskRule['rule']): JsonValue {
  if (segments.length === 0) return maskValue(root, rule);
  if (root === null || typeof root !== 'object') return root;
  const [head, ...rest] = segments;
  if (Array.isArray(root)) {
    if (head !== '*' && !/^\d+$/.test(head!)) return root;
    return root.map((item, index) => (head === '*' || Number(head) === index ? applyAt(item, rest, rule) : item));
  }
  const copy: Record<string, JsonValue> = { ...root };
  for (const key of Object.keys(copy)) {
    if (head === '*' || head === key) copy[key] = applyAt(copy[key]!, rest, rule);
  }
  return copy;
}

/** Masks an event's key, value and headers; paths start with `key.`, `value.` or `headers.`. */
export function maskEvent(event: FixtureEvent, rules: readonly MaskRule[]): FixtureEvent {
  let masked: FixtureEvent = { ...event };
  for (const rule of rules) {
    const [field, ...rest] = rule.path.split('.');
    if (field === 'key') masked = { ...masked, key: applyAt(masked.key, rest, rule.rule) };
    else if (field === 'value') masked = { ...masked, value: applyAt(masked.value, rest, rule.rule) };
    else if (field === 'headers') masked = { ...masked, headers: masked.headers.map((header) => (rest[0] === '*' || rest[0] === header.key ? { ...header, value: String(maskValue(header.value, rule.rule)) } : header)) };
  }
  if (masked.valueBytes !== undefined && rules.some((rule) => rule.path.startsWith('value'))) delete masked.valueBytes;
  return masked;
}

/** Masks pinned table rows with rules whose path starts with `row.` (and keys with `key.`). */
export function maskTables(tables: FixtureTables, rules: readonly MaskRule[]): FixtureTables {
  const masked: FixtureTables = {};
  for (const [name, versions] of Object.entries(tables)) {
    masked[name] = versions.map((version) => {
      let { key, row } = version;
      for (const rule of rules) {
        const [field, ...rest] = rule.path.split('.');
        if (field === 'row' && row !== null) row = applyAt(row, rest, rule.rule);
        if (field === 'key') key = applyAt(key, rest, rule.rule);
      }
      return { ...version, key, row };
    });
  }
  return masked;
}

/** Rules for fields whose names look personal, found in the events' values and the tables' rows. */
export function suggestMasking(events: readonly FixtureEvent[], tables: FixtureTables = {}): MaskRule[] {
  const paths = new Set<string>();
  const walk = (value: JsonValue, path: string[], depth: number): void => {
    if (depth > 6 || value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      for (const item of value) walk(item, [...path, '*'], depth + 1);
      return;
    }
    for (const [key, child] of Object.entries(value)) {
      if (PERSONAL.test(key) && (typeof child === 'string' || (typeof child === 'object' && child !== null))) paths.add([...path, key].join('.'));
      else walk(child, [...path, key], depth + 1);
    }
  };
  for (const event of events) {
    const value = event.value;
    // Change events: one rule covers the row before and after.
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && ('after' in value || 'before' in value)) {
      for (const side of ['before', 'after']) if (value[side]) walk(value[side]!, ['value', '*'], 1);
    } else if (value !== null) {
      walk(value, ['value'], 0);
    }
  }
  for (const versions of Object.values(tables)) for (const version of versions) if (version.row !== null) walk(version.row, ['row'], 0);
  return [...paths].sort().map((path) => ({ path, rule: 'hash' as const }));
}
