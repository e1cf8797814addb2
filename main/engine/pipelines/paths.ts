// Field paths of the spec (`value.after.CustomerID`, `headers.source`) evaluated against an event,
// and the canonical text of a key, so the same key found in two places (a Debezium key object and a
// field of another stream) compares equal.
import type { JsonValue } from '../../../shared/events.js';
import type { PipelineEvent } from './model.js';

export function readPath(event: PipelineEvent, path: string): JsonValue | undefined {
  const [head, ...rest] = path.split('.');
  let current: JsonValue | undefined;
  switch (head) {
    case 'key':
      current = event.key;
      break;
    case 'value':
      current = event.value;
      break;
    case 'eventTime':
      current = event.eventTime;
      break;
    case 'ingestTime':
      current = event.ingestTime;
      break;
    case 'op':
      current = event.op ?? null;
      break;
    case 'stream':
      current = event.stream;
      break;
    case 'position':
      current = event.position;
      break;
    case 'headers': {
      if (rest.length === 0) return event.headers.map((header) => ({ key: header.key, value: header.value }));
      const name = rest.join('.');
      return event.headers.find((header) => header.key === name)?.value;
    }
    default:
      return undefined;
  }
  for (const part of rest) {
    if (current === null || current === undefined || typeof current !== 'object' || Array.isArray(current)) {
      if (Array.isArray(current) && /^\d+$/.test(part)) {
        current = current[Number(part)];
        continue;
      }
      return undefined;
    }
    current = Object.prototype.hasOwnProperty.call(current, part) ? current[part] : undefined;
  }
  return current;
}

/**
 * The canonical text of a key: scalars as themselves (so 1001 and "1001" differ, as in SQL), objects
 * with sorted fields, and a one-field object (a Debezium key such as {"CustomerID":1001}) as its
 * single value, so it matches the same id read from another stream's field.
 */
export function keyText(key: JsonValue | undefined): string {
  if (key === undefined || key === null) return 'null';
  if (typeof key === 'object' && !Array.isArray(key)) {
    const fields = Object.keys(key).sort();
    if (fields.length === 1) return keyText(key[fields[0]!]);
    return `{${fields.map((field) => `${JSON.stringify(field)}:${keyText(key[field])}`).join(',')}}`;
  }
  if (Array.isArray(key)) return `[${key.map((item) => keyText(item)).join(',')}]`;
  return typeof key === 'string' ? JSON.stringify(key) : String(key);
}

/** The row image of an event for table sinks and tables: a Debezium envelope's `after`, else the value. */
export function rowImage(event: PipelineEvent): { row: Record<string, JsonValue> | null; deleted: boolean } {
  const value = event.value;
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && ('after' in value || 'before' in value) && 'op' in value) {
    const after = value.after;
    if (event.op === 'd' || value.op === 'd' || after === null || after === undefined) {
      const before = value.before;
      return { row: before !== null && typeof before === 'object' && !Array.isArray(before) ? before : null, deleted: true };
    }
    return { row: typeof after === 'object' && !Array.isArray(after) ? after : { value: after }, deleted: false };
  }
  if (event.op === 'd' || value === null) return { row: null, deleted: true };
  if (typeof value === 'object' && !Array.isArray(value)) return { row: value, deleted: false };
  return { row: { value }, deleted: false };
}

/** A deep copy of plain JSON (state handed to scripts must not alias the store). */
export function cloneJson<T extends JsonValue | undefined>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}
