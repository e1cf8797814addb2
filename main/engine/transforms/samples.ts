// Reading sample events from the event log for previews, type inference and lookup tables. Only
// the log's paged `read` is used, through this narrow interface, so the transforms feature does not
// depend on how the log stores events.
import type { FixtureEvent, FixtureTables } from '../../../shared/contracts/transforms.js';
import type { JsonValue, StoredEvent } from '../../../shared/events.js';
import { canonicalJson, indexTables, lookupAsOf, tableFromEvents, type IndexedTables, type LookupSource } from './tables.js';

export interface SampleReader {
  read(request: {
    stream: string;
    direction: 'newest' | 'oldest';
    limit: number;
    cursor?: string;
    eventTime?: { from?: number; to?: number };
  }): Promise<{ events: StoredEvent[]; nextCursor: string | null }>;
}

export interface SampleWindow {
  stream: string;
  limit: number;
  direction: 'newest' | 'oldest';
  eventTime?: { from?: number; to?: number };
}

/** The window's events in log order (oldest first), whichever end they were taken from. */
export async function readWindow(reader: SampleReader, window: SampleWindow): Promise<FixtureEvent[]> {
  const page = await reader.read({
    stream: window.stream,
    direction: window.direction,
    limit: window.limit,
    ...(window.eventTime ? { eventTime: window.eventTime } : {}),
  });
  const events = page.events.map(toFixture);
  return window.direction === 'newest' ? events.reverse() : events;
}

export function toFixture(event: StoredEvent): FixtureEvent {
  const fixture: FixtureEvent = {
    stream: event.stream,
    position: event.position,
    key: event.key ?? null,
    value: event.value ?? null,
    headers: event.headers ?? [],
    eventTime: event.eventTime,
    ingestTime: event.ingestTime,
  };
  if (event.op !== undefined) fixture.op = event.op;
  if (event.decodeError !== undefined) fixture.decodeError = event.decodeError;
  if (event.valueBytes !== undefined) fixture.valueBytes = event.valueBytes;
  return fixture;
}

/** Reads up to `max` events of a stream, oldest first. */
export async function readStream(reader: SampleReader, stream: string, max: number): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  let cursor: string | undefined;
  while (events.length < max) {
    const page = await reader.read({ stream, direction: 'oldest', limit: Math.min(5000, max - events.length), ...(cursor ? { cursor } : {}) });
    events.push(...page.events);
    if (!page.nextCursor || page.events.length === 0) break;
    cursor = page.nextCursor;
  }
  return events;
}

/**
 * Lookups for previews: a table is a CDC stream of the log, read (up to `maxEvents`) when first
 * asked for and kept for `ttlMs`. Records the keys it answered so a test can pin those rows.
 */
export class LogTables implements LookupSource {
  private readonly cache = new Map<string, { at: number; tables: IndexedTables; versions: FixtureTables[string] }>();
  private readonly used = new Map<string, Set<string>>();

  constructor(
    private readonly reader: SampleReader,
    private readonly options: { maxEvents?: number; ttlMs?: number } = {},
  ) {}

  async asOf(table: string, key: JsonValue, time: number): Promise<JsonValue | null> {
    const loaded = await this.load(table);
    let keys = this.used.get(table);
    if (!keys) this.used.set(table, (keys = new Set()));
    keys.add(canonicalJson(key));
    const row = lookupAsOf(loaded.tables, table, JSON.stringify(key), time);
    return row === null ? null : (JSON.parse(row) as JsonValue);
  }

  /** The versions of every key looked up so far, ready to pin in a test. */
  pinned(): FixtureTables {
    const pinned: FixtureTables = {};
    for (const [table, keys] of this.used) {
      const versions = this.cache.get(table)?.versions.filter((version) => keys.has(canonicalJson(version.key)));
      if (versions && versions.length > 0) pinned[table] = versions;
    }
    return pinned;
  }

  private async load(table: string): Promise<{ tables: IndexedTables; versions: FixtureTables[string] }> {
    const cached = this.cache.get(table);
    if (cached && Date.now() - cached.at < (this.options.ttlMs ?? 10_000)) return cached;
    const events = await readStream(this.reader, table, this.options.maxEvents ?? 100_000);
    if (events.length === 0) throw new Error(`no table "${table}": the log has no events in that stream`);
    const versions = tableFromEvents(events);
    const entry = { at: Date.now(), tables: indexTables({ [table]: versions }), versions };
    this.cache.set(table, entry);
    return entry;
  }
}
