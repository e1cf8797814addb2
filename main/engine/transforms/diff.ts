// Field-level differences between two JSON values, for the preview (input row against output),
// version comparison (base against candidate output) and readable test failures.
import type { FieldChange } from '../../../shared/contracts/transforms.js';
import type { JsonValue } from '../../../shared/events.js';

function isObject(value: unknown): value is Record<string, JsonValue> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Leaf values by path (`a.b`, `list[0].x`); empty objects and arrays are leaves. */
export function flatten(value: JsonValue | undefined, prefix = '', into = new Map<string, JsonValue>()): Map<string, JsonValue> {
  if (value === undefined) return into;
  if (isObject(value) && Object.keys(value).length > 0) {
    for (const key of Object.keys(value)) flatten(value[key], prefix ? `${prefix}.${key}` : key, into);
  } else if (Array.isArray(value) && value.length > 0) {
    value.forEach((item, index) => flatten(item, `${prefix}[${index}]`, into));
  } else {
    into.set(prefix, value);
  }
  return into;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((item, index) => deepEqual(item, other[index]));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  return keys.length === Object.keys(right).length && keys.every((key) => Object.prototype.hasOwnProperty.call(right, key) && deepEqual(left[key], right[key]));
}

/** What changed from `before` to `after`, field by field, in a stable order. */
export function diffFields(before: JsonValue | undefined, after: JsonValue | undefined, prefix = ''): FieldChange[] {
  const left = flatten(before, prefix);
  const right = flatten(after, prefix);
  const changes: FieldChange[] = [];
  for (const [path, value] of left) {
    if (!right.has(path)) changes.push({ path, kind: 'removed', before: value });
    else if (!deepEqual(value, right.get(path))) changes.push({ path, kind: 'changed', before: value, after: right.get(path)! });
  }
  for (const [path, value] of right) if (!left.has(path)) changes.push({ path, kind: 'added', after: value });
  return changes;
}

export function show(value: unknown): string {
  if (value === undefined) return '(missing)';
  const text = JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/**
 * Partial match: every field in `expected` must equal the actual one (objects recursively; arrays
 * element by element and of the same length). Returns one readable line per mismatch.
 */
export function partialMismatches(expected: unknown, actual: unknown, path = ''): string[] {
  const here = path || '(value)';
  if (isObject(expected)) {
    if (!isObject(actual)) return [`${here}: expected an object, got ${show(actual)}`];
    return Object.keys(expected).flatMap((key) =>
      Object.prototype.hasOwnProperty.call(actual, key) ? partialMismatches(expected[key], actual[key], path ? `${path}.${key}` : key) : [`${path ? `${path}.${key}` : key}: expected ${show(expected[key])}, got (missing)`],
    );
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${here}: expected an array, got ${show(actual)}`];
    if (expected.length !== actual.length) return [`${here}: expected ${expected.length} item(s) ${show(expected)}, got ${actual.length} ${show(actual)}`];
    return expected.flatMap((item, index) => partialMismatches(item, actual[index], `${path}[${index}]`));
  }
  return deepEqual(expected, actual) ? [] : [`${here}: expected ${show(expected)}, got ${show(actual)}`];
}
