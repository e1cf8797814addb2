// Tables materialized from CDC streams for lookup joins: the latest row per key plus every earlier
// version, each valid from its change's event time (commit time), so a lookup answers with the row
// as it was when the looked-up event happened. An order placed before a customer's move joins the
// old address, one placed after joins the new one, however late either is processed.
import type { JsonValue, StoredEvent } from '../../../shared/events.js';
import type { LogPort } from './sources/log-port.js';
import type { PipelineEvent, Tables } from './model.js';
import { keyText, readPath, rowImage } from './paths.js';
import { versionAsOf } from '../as-of.js';

interface Version {
  from: number;
  row: JsonValue | null;
}

/** Where a table's change events come from: the event log in the app, a topic in the runner. */
export interface TableFeed {
  /** Up to `max` change events not yet read, oldest first; [] when caught up. */
  read(max: number): Promise<PipelineEvent[]>;
  close?(): Promise<void>;
}

export interface TableDefinition {
  id: string;
  /** Scripts name tables by their CDC stream (`ctx.lookup('sqlserver:shop.dbo.Customers', key)`). */
  stream?: string;
  /** Field path of the key in the table's change events. */
  key: string;
  feed: TableFeed;
}

export class VersionedTable {
  private readonly rows = new Map<string, Version[]>();
  private versionCount = 0;

  apply(event: PipelineEvent, keyPath: string): void {
    const key = keyText(readPath(event, keyPath));
    const { row, deleted } = rowImage(event);
    const version: Version = { from: event.eventTime, row: deleted ? null : row };
    const versions = this.rows.get(key);
    if (!versions) {
      this.rows.set(key, [version]);
      this.versionCount++;
      return;
    }
    // Changes arrive in commit order almost always; keep the list sorted by validity either way.
    let index = versions.length;
    while (index > 0 && versions[index - 1]!.from > version.from) index--;
    versions.splice(index, 0, version);
    this.versionCount++;
  }

  asOf(key: JsonValue, time: number): JsonValue | null {
    const versions = this.rows.get(keyText(key));
    return versions ? (versionAsOf(versions, time)?.row ?? null) : null;
  }

  /** Every version of a key (the UI shows a row's history). */
  history(key: JsonValue): { from: number; row: JsonValue | null }[] {
    return (this.rows.get(keyText(key)) ?? []).map((version) => ({ ...version }));
  }

  get keys(): number {
    return this.rows.size;
  }

  get versions(): number {
    return this.versionCount;
  }
}

export class MaterializedTables implements Tables {
  private readonly tables = new Map<string, { definition: TableDefinition; table: VersionedTable }>();
  private readonly aliases = new Map<string, string>();

  constructor(definitions: TableDefinition[]) {
    for (const definition of definitions) {
      this.tables.set(definition.id, { definition, table: new VersionedTable() });
      if (definition.stream) this.aliases.set(definition.stream, definition.id);
    }
  }

  async sync(): Promise<void> {
    for (const { definition, table } of this.tables.values()) {
      for (;;) {
        const events = await definition.feed.read(5000);
        if (events.length === 0) break;
        for (const event of events) table.apply(event, definition.key);
      }
    }
  }

  asOf(table: string, key: JsonValue, time: number): JsonValue | null | undefined {
    const entry = this.tables.get(table) ?? this.tables.get(this.aliases.get(table) ?? '');
    return entry ? entry.table.asOf(key, time) : undefined;
  }

  table(id: string): VersionedTable | undefined {
    return (this.tables.get(id) ?? this.tables.get(this.aliases.get(id) ?? ''))?.table;
  }

  stats(): { table: string; keys: number; versions: number }[] {
    return [...this.tables.entries()].map(([id, { table }]) => ({ table: id, keys: table.keys, versions: table.versions }));
  }

  async close(): Promise<void> {
    for (const { definition } of this.tables.values()) await definition.feed.close?.();
  }
}

/** A table's change events read from the event log, in log order, remembering where it stopped. */
export class LogTableFeed implements TableFeed {
  private cursor = 0;

  constructor(
    private readonly log: Pick<LogPort, 'replay' | 'lastSeq'>,
    private readonly stream: string,
    private readonly toEvent: (event: StoredEvent) => PipelineEvent,
  ) {}

  async read(max: number): Promise<PipelineEvent[]> {
    if (this.cursor >= this.log.lastSeq) return [];
    const end = this.log.lastSeq;
    const iterator = this.log.replay({ streams: [this.stream], from: { afterSeq: this.cursor }, toSeq: end, batchSize: max });
    try {
      const first = await iterator.next();
      if (first.done || first.value.length === 0) {
        this.cursor = end;
        return [];
      }
      this.cursor = first.value[first.value.length - 1]!.seq;
      return first.value.map(this.toEvent);
    } finally {
      await iterator.return?.();
    }
  }
}
