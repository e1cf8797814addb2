// Field discovery: the JSON paths present in a sample of a stream's newest events, with their JSON
// types, how often they appear and an example. Feeds SQL completion, JSON-path columns and the
// field picker of the distribution chart.
import type { FieldInfo } from '../../../shared/contracts/explorer.js';
import type { JsonValue, StoredEvent } from '../../../shared/events.js';
import type { EventLog } from '../log/index.js';

const MAX_DEPTH = 6;
const MAX_FIELDS = 400;
const NAME = /^[A-Za-z_][A-Za-z0-9_$-]*$/;

function typeOf(value: JsonValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Adds every path of `value` under `prefix`; arrays contribute their first element as `[0]`. */
function walk(value: JsonValue, prefix: string, depth: number, seen: Map<string, { types: Set<string>; count: number; example?: JsonValue }>, counted: Set<string>): void {
  if (prefix !== '') {
    let entry = seen.get(prefix);
    if (!entry) {
      if (seen.size >= MAX_FIELDS) return;
      entry = { types: new Set(), count: 0 };
      seen.set(prefix, entry);
    }
    entry.types.add(typeOf(value));
    if (!counted.has(prefix)) {
      entry.count++;
      counted.add(prefix);
    }
    if (entry.example === undefined && value !== null && typeof value !== 'object') entry.example = value;
  }
  if (depth >= MAX_DEPTH || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    if (value.length > 0) walk(value[0]!, `${prefix}[0]`, depth + 1, seen, counted);
    return;
  }
  for (const [name, child] of Object.entries(value)) {
    if (!NAME.test(name)) continue;
    walk(child, prefix === '' ? name : `${prefix}.${name}`, depth + 1, seen, counted);
  }
}

export function describeEvents(events: StoredEvent[]): FieldInfo[] {
  const seen = new Map<string, { types: Set<string>; count: number; example?: JsonValue }>();
  for (const event of events) {
    const counted = new Set<string>();
    if (event.value !== null) walk(event.value, '', 0, seen, counted);
    if (event.key !== null) {
      if (typeof event.key === 'object') walk(event.key, 'key', 0, seen, counted);
      else walk(event.key, 'key', MAX_DEPTH, seen, counted);
    }
  }
  return [...seen.entries()]
    .map(([path, entry]) => ({ path, types: [...entry.types].sort(), count: entry.count, ...(entry.example !== undefined ? { example: entry.example } : {}) }))
    .sort((a, b) => (a.path.startsWith('key') === b.path.startsWith('key') ? 0 : a.path.startsWith('key') ? 1 : -1) || a.path.localeCompare(b.path));
}

export async function describeFields(log: Pick<EventLog, 'read'>, stream: string, sample: number) {
  const page = await log.read({ stream, direction: 'newest', limit: sample });
  return { stream, sampled: page.events.length, fields: describeEvents(page.events) };
}
