// Builds log events in Debezium's SQL Server change-event envelope (research/cdc_streaming.md 1.7),
// field for field, so a transform tested on these events runs unchanged on Debezium topics:
//   value = { before, after, source: { version, connector: 'sqlserver', name, ts_ms, snapshot, db,
//             sequence, schema, table, change_lsn, commit_lsn, event_serial_no }, op, ts_ms, transaction }
//   key   = the primary-key columns (null for a table without a key, as Debezium does).
// What Debezium's envelope has no field for travels in headers, leaving the envelope untouched:
//   `eddy.changedFields`  JSON array of the column names `__$update_mask` flags on an update;
//   `__debezium.newkey` / `__debezium.oldkey` on the delete/create pair of a primary-key change
//   (the header names Debezium's relational emitter uses).
// Unchanged LOB values in an update's before-image are `__debezium_unavailable_value` (Debezium's
// default unavailable.value.placeholder), not a misleading NULL.
import type { Header, JsonValue, NewEvent, Op } from '../../../../shared/events.js';
import type { CapturedColumn, CapturedTable, CaptureInstance } from './catalog.js';
import { lsnToText, positionText, type ChangePosition } from './lsn.js';
import { isColumnChanged } from './update-mask.js';
import { converterFor, type Converter } from './values.js';

export const UNAVAILABLE_VALUE = '__debezium_unavailable_value';
export const CHANGED_FIELDS_HEADER = 'eddy.changedFields';

export type Row = Record<string, JsonValue>;
export type SnapshotMarker = 'true' | 'first' | 'first_in_data_collection' | 'last_in_data_collection' | 'last' | 'false';

export interface EnvelopeSettings {
  /** `source.name`: Debezium's topic.prefix (the logical server name). */
  serverName: string;
  /** `source.db`. */
  database: string;
  /** `source.version`. */
  version: string;
}

export function streamName(settings: EnvelopeSettings, table: { schema: string; table: string }): string {
  return `sqlserver:${settings.database}.${table.schema}.${table.table}`;
}

/** Debezium's schema-change topic is `<topic.prefix>`; so is this stream. */
export function schemaStreamName(settings: EnvelopeSettings): string {
  return `sqlserver:${settings.serverName}`;
}

/** Row conversion for one capture instance, prepared once (the hot path of the connector). */
export class InstanceMapper {
  readonly columns: CapturedColumn[];
  private readonly converters: Converter[];
  private readonly names: string[];
  private readonly byOrdinal = new Map<number, string>();
  readonly hasLob: boolean;
  readonly keyColumns: string[];

  constructor(
    readonly table: CapturedTable,
    readonly instance: CaptureInstance,
    /** The event-log stream of the table. */
    readonly stream: string = '',
  ) {
    this.columns = instance.columns;
    this.converters = this.columns.map(converterFor);
    this.names = this.columns.map((column) => column.name);
    for (const column of this.columns) this.byOrdinal.set(column.ordinal, column.name);
    this.hasLob = this.columns.some((column) => column.lob);
    const captured = new Set(this.names);
    this.keyColumns = table.keyColumns.filter((name) => captured.has(name));
  }

  /** `raw` as tedious returns it -> the envelope's row. `lobMode` says which LOB NULLs mean "not captured". */
  row(raw: Record<string, unknown>, lobMode: 'none' | 'delete' | 'update-before' = 'none', mask?: Uint8Array): Row {
    const row: Row = {};
    const names = this.names;
    const converters = this.converters;
    for (let index = 0; index < names.length; index++) {
      const name = names[index]!;
      row[name] = converters[index]!(raw[name]);
    }
    if (lobMode !== 'none' && this.hasLob) {
      for (const column of this.columns) {
        if (!column.lob || row[column.name] !== null) continue;
        const notCaptured = column.legacyLob || (lobMode === 'update-before' && mask !== undefined && !isColumnChanged(mask, column.ordinal));
        if (notCaptured) row[column.name] = UNAVAILABLE_VALUE;
      }
    }
    return row;
  }

  key(row: Row | null): Row | null {
    if (row === null || this.keyColumns.length === 0) return null;
    const key: Row = {};
    for (const name of this.keyColumns) key[name] = row[name] ?? null;
    return key;
  }

  changedFields(mask: Uint8Array): string[] {
    const fields: string[] = [];
    for (const column of this.columns) if (isColumnChanged(mask, column.ordinal)) fields.push(column.name);
    return fields;
  }
}

export interface TransactionInfo {
  id: string;
  totalOrder: number;
  dataCollectionOrder: number;
}

export interface ChangeEventInput {
  settings: EnvelopeSettings;
  table: { schema: string; table: string };
  stream: string;
  op: Op;
  key: Row | null;
  before: Row | null;
  after: Row | null;
  /** Null for snapshot rows (they have no change LSN; Debezium leaves change_lsn and event_serial_no null). */
  position: ChangePosition | null;
  /** The log position text (snapshot rows get theirs from snapshot.ts). */
  logPosition: string;
  /** Debezium text of the commit LSN (`source.commit_lsn`, `transaction.id`). */
  commitText: string;
  /** Debezium text of the change LSN; null for snapshot rows. */
  changeText: string | null;
  /** Commit time (UTC ms): the event time and `source.ts_ms`. */
  eventTime: number;
  /** Processing time (UTC ms): top-level `ts_ms`. */
  processedAt: number;
  snapshot: SnapshotMarker;
  transaction: TransactionInfo | null;
  headers?: Header[];
}

export function changeEvent(input: ChangeEventInput): NewEvent {
  const source = {
    version: input.settings.version,
    connector: 'sqlserver',
    name: input.settings.serverName,
    ts_ms: input.eventTime,
    snapshot: input.snapshot,
    db: input.settings.database,
    sequence: null,
    schema: input.table.schema,
    table: input.table.table,
    change_lsn: input.changeText,
    commit_lsn: input.commitText,
    event_serial_no: input.position ? input.position.serial : null,
  };
  return {
    stream: input.stream,
    position: input.logPosition,
    key: input.key,
    value: {
      before: input.before,
      after: input.after,
      source,
      op: input.op,
      ts_ms: input.processedAt,
      transaction: input.transaction
        ? { id: input.transaction.id, total_order: input.transaction.totalOrder, data_collection_order: input.transaction.dataCollectionOrder }
        : null,
    },
    headers: input.headers ?? [],
    op: input.op,
    eventTime: input.eventTime,
    ingestTime: input.processedAt,
  };
}

export function streamingPosition(position: ChangePosition): string {
  return positionText(position);
}

/** A Debezium-style schema change event (type ALTER) for a capture-instance switch. */
export function schemaChangeEvent(
  settings: EnvelopeSettings,
  table: CapturedTable,
  instance: CaptureInstance,
  previous: CaptureInstance,
  eventTime: number,
  processedAt: number,
): NewEvent {
  const columns = instance.columns.map((column, index) => ({
    name: column.name,
    typeName: column.type,
    typeExpression: column.type,
    length: column.maxLength,
    scale: column.scale,
    position: index + 1,
    optional: column.nullable,
    autoIncremented: false,
    generated: false,
  }));
  const added = instance.columns.filter((column) => !previous.columns.some((old) => old.name === column.name)).map((column) => column.name);
  const removed = previous.columns.filter((column) => !instance.columns.some((next) => next.name === column.name)).map((column) => column.name);
  return {
    stream: schemaStreamName(settings),
    position: `sqlserver:${lsnToText(instance.startLsn)}:schema:${instance.name}`,
    key: { databaseName: settings.database },
    value: {
      source: {
        version: settings.version,
        connector: 'sqlserver',
        name: settings.serverName,
        ts_ms: eventTime,
        snapshot: 'false',
        db: settings.database,
        sequence: null,
        schema: table.schema,
        table: table.table,
        change_lsn: null,
        commit_lsn: lsnToText(instance.startLsn),
        event_serial_no: null,
      },
      ts_ms: processedAt,
      databaseName: settings.database,
      schemaName: table.schema,
      ddl: null,
      tableChanges: [
        {
          type: 'ALTER',
          id: `"${settings.database}"."${table.schema}"."${table.table}"`,
          table: { defaultCharsetName: null, primaryKeyColumnNames: table.keyColumns, columns },
        },
      ],
    },
    headers: [
      { key: 'eddy.captureInstance', value: instance.name },
      { key: 'eddy.previousCaptureInstance', value: previous.name },
      { key: 'eddy.addedColumns', value: JSON.stringify(added) },
      { key: 'eddy.removedColumns', value: JSON.stringify(removed) },
    ],
    eventTime,
    ingestTime: processedAt,
  };
}
