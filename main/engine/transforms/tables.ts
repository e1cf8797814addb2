// As-of tables for `ctx.lookup(table, key)`: a table is the row history per key of a CDC stream
// (DESIGN.md 3), and a lookup returns the row as it was at the event's time. Tests and previews use
// fixture tables (versions pinned in the test file, or built here from the log's change events);
// live pipelines plug in the state store through `LookupSource`.
import type { FixtureTables } from '../../../shared/contracts/transforms.js';
import type { JsonValue, StoredEvent } from '../../../shared/events.js';
import { versionAsOf } from '../as-of.js';

/** What the pipeline engine plugs in: the row of `table` with `key` as of `time` (ms), or null. */
export interface LookupSource {
  asOf(table: string, key: JsonValue, time: number): Promise<JsonValue | null> | JsonValue | null;
}

interface Version {
  from: number;
  /** The row as JSON text, or null for a delete. */
  row: string | null;
}

export type IndexedTables = Map<string, Map<string, Version[]>>;

/** JSON with object keys sorted, so `{a,b}` and `{b,a}` name the same key. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const record = value as Record<string, unknown>;
  return `{${Object.keys(record)
    .sort()
    .filter((key) => record[key] !== undefined)
    .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`)
    .join(',')}}`;
}

export function timeOf(value: number | string): number {
  if (typeof value === 'number') return value;
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed)) throw new Error(`not a time: ${value}`);
  return parsed;
}

export function indexTables(tables: FixtureTables): IndexedTables {
  const index: IndexedTables = new Map();
  for (const [name, versions] of Object.entries(tables)) {
    const byKey = new Map<string, Version[]>();
    for (const version of versions) {
      const key = canonicalJson(version.key);
      let list = byKey.get(key);
      if (!list) byKey.set(key, (list = []));
      list.push({ from: timeOf(version.from), row: version.row === null ? null : JSON.stringify(version.row) });
    }
    for (const list of byKey.values()) list.sort((a, b) => a.from - b.from);
    index.set(name, byKey);
  }
  return index;
}

/** The row's JSON as of `time`, or null (no version yet, or deleted). */
export function lookupAsOf(tables: IndexedTables, table: string, keyJson: string, time: number): string | null {
  const versions = tables.get(table)?.get(canonicalJson(JSON.parse(keyJson)));
  return versions ? (versionAsOf(versions, time)?.row ?? null) : null;
}

/**
 * Builds a table from a CDC stream's change events: each event is a version of its key's row from
 * its event time (deletes end the row). Non-CDC values become the row as they are.
 */
export function tableFromEvents(events: readonly Pick<StoredEvent, 'key' | 'value' | 'op' | 'eventTime'>[]): FixtureTables[string] {
  const versions: FixtureTables[string] = [];
  for (const event of events) {
    const value = event.value;
    const envelope = value !== null && typeof value === 'object' && !Array.isArray(value) && ('after' in value || 'before' in value) ? (value as { after?: JsonValue }) : undefined;
    const row = envelope ? (event.op === 'd' ? null : (envelope.after ?? null)) : value;
    versions.push({ key: event.key ?? null, from: event.eventTime, row });
  }
  return versions;
}

/** Picks the versions a run actually read, so a test can pin exactly those rows. */
export function pinVersions(tables: FixtureTables, used: Map<string, Set<string>>): FixtureTables {
  const pinned: FixtureTables = {};
  for (const [table, keys] of used) {
    const versions = tables[table];
    if (!versions) continue;
    const kept = versions.filter((version) => keys.has(canonicalJson(version.key)));
    if (kept.length > 0) pinned[table] = kept;
  }
  return pinned;
}
