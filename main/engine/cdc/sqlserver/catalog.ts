// What CDC knows about a database: captured tables, their capture instances (at most two per table,
// research/cdc_streaming.md 1.5), captured columns with their `column_ordinal` (the update-mask
// position) and types, and the key columns. Loaded from cdc.change_tables / cdc.captured_columns,
// which are also the only source of names that ever reach SQL text (identifiers.ts).
import { EddyError } from '../../../../shared/contract.js';
import type { SqlQueryable, SqlRow } from './executor.js';
import { parseTableName, SYSNAME_MAX, tableKey, type TableName } from './identifiers.js';
import { compareLsn, lsnFromBuffer, type Lsn } from './lsn.js';
import { CAPTURED_COLUMNS, CHANGE_TABLES, INDEX_COLUMNS, PRIMARY_KEYS } from './queries.js';

export interface CapturedColumn {
  name: string;
  /** `cdc.captured_columns.column_ordinal`: 1-based, the column's bit in `__$update_mask`. */
  ordinal: number;
  /** Lower-case SQL Server type name (`int`, `nvarchar`, `datetime2`...). */
  type: string;
  /** Bytes; -1 for the (max) types. */
  maxLength: number | null;
  precision: number | null;
  scale: number | null;
  nullable: boolean;
  /** False when the column was dropped from the source table (CDC keeps capturing NULLs). */
  inSource: boolean;
  /** varchar(max)/nvarchar(max)/varbinary(max)/xml/text/ntext/image: NULL in update before-images unless changed. */
  lob: boolean;
  /** text/ntext/image: always NULL in delete and update before-images. */
  legacyLob: boolean;
  /** decimal/numeric wider than 15 digits: projected as text so no digit is lost to a double. */
  asText: boolean;
}

export interface CaptureInstance {
  name: string;
  startLsn: Lsn;
  createDate: number;
  objectId: number;
  columns: CapturedColumn[];
  /** Columns of the unique index the instance was enabled with (cdc.index_columns). */
  indexColumns: string[];
}

export interface CapturedTable extends TableName {
  sourceObjectId: number;
  primaryKey: string[];
  /** The event key: the primary key, else the capture instance's unique index, else none (null keys). */
  keyColumns: string[];
  estimatedRows: number | null;
  /** Oldest first; a second one is the schema change to switch to at its start LSN. */
  instances: CaptureInstance[];
}

export type CdcCatalog = Map<string, CapturedTable>;

const LEGACY_LOB = new Set(['text', 'ntext', 'image']);
const MAX_CAPABLE = new Set(['varchar', 'nvarchar', 'varbinary']);

function num(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const parsed = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(parsed) ? parsed : null;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : String(value ?? '');
}

function dateMs(value: unknown): number {
  return value instanceof Date ? value.getTime() : 0;
}

export function columnFromRow(row: SqlRow): CapturedColumn {
  const type = text(row.column_type).toLowerCase();
  const maxLength = num(row.max_length);
  const precision = num(row.precision);
  const legacyLob = LEGACY_LOB.has(type);
  const lob = legacyLob || type === 'xml' || (MAX_CAPABLE.has(type) && maxLength === -1);
  return {
    name: text(row.column_name),
    ordinal: num(row.column_ordinal) ?? 0,
    type,
    maxLength,
    precision,
    scale: num(row.scale),
    nullable: row.is_nullable === null || row.is_nullable === undefined ? true : Boolean(row.is_nullable),
    inSource: row.in_source === undefined ? true : Boolean(row.in_source),
    lob,
    legacyLob,
    asText: (type === 'decimal' || type === 'numeric') && (precision ?? 38) > 15,
  };
}

/** Reads every CDC-enabled table of the connected database with its capture instances. */
export async function loadCatalog(db: SqlQueryable): Promise<CdcCatalog> {
  const [changeTables, columns, keys, indexColumns] = [
    await db.query(CHANGE_TABLES),
    await db.query(CAPTURED_COLUMNS),
    await db.query(PRIMARY_KEYS),
    await db.query(INDEX_COLUMNS),
  ];
  const columnsByInstance = new Map<string, CapturedColumn[]>();
  for (const row of columns) {
    const instance = text(row.capture_instance);
    const list = columnsByInstance.get(instance) ?? [];
    list.push(columnFromRow(row));
    columnsByInstance.set(instance, list);
  }
  const keysByObject = new Map<number, string[]>();
  for (const row of keys) {
    const id = num(row.source_object_id) ?? 0;
    keysByObject.set(id, [...(keysByObject.get(id) ?? []), text(row.column_name)]);
  }
  const indexByInstance = new Map<string, string[]>();
  for (const row of indexColumns) {
    const instance = text(row.capture_instance);
    indexByInstance.set(instance, [...(indexByInstance.get(instance) ?? []), text(row.column_name)]);
  }

  const catalog: CdcCatalog = new Map();
  for (const row of changeTables) {
    const schema = row.source_schema;
    const table = row.source_table;
    // A source table dropped since (OBJECT_NAME is NULL) has nothing left to capture.
    if (typeof schema !== 'string' || typeof table !== 'string') continue;
    const key = tableKey({ schema, table });
    const sourceObjectId = num(row.source_object_id) ?? 0;
    const entry: CapturedTable = catalog.get(key) ?? {
      schema,
      table,
      sourceObjectId,
      primaryKey: keysByObject.get(sourceObjectId) ?? [],
      keyColumns: [],
      estimatedRows: num(row.estimated_rows),
      instances: [],
    };
    const name = text(row.capture_instance);
    const startLsn = lsnFromBuffer(row.start_lsn);
    if (startLsn === null) continue;
    entry.instances.push({
      name,
      startLsn,
      createDate: dateMs(row.create_date),
      objectId: num(row.object_id) ?? 0,
      columns: (columnsByInstance.get(name) ?? []).sort((a, b) => a.ordinal - b.ordinal),
      indexColumns: indexByInstance.get(name) ?? [],
    });
    catalog.set(key, entry);
  }
  for (const entry of catalog.values()) {
    entry.instances = orderInstances(entry.instances);
    entry.keyColumns = entry.primaryKey.length > 0 ? entry.primaryKey : (entry.instances.at(-1)?.indexColumns ?? []);
  }
  return catalog;
}

/**
 * Oldest first. Cleanup can leave two instances with the same start LSN; then only the newer one
 * (by create_date) is read, as Debezium's GET_CHANGE_TABLES does (ROW_NUMBER ... ORDER BY create_date DESC).
 */
export function orderInstances(instances: CaptureInstance[]): CaptureInstance[] {
  const sorted = [...instances].sort((a, b) => compareLsn(a.startLsn, b.startLsn) || a.createDate - b.createDate);
  const kept: CaptureInstance[] = [];
  for (const instance of sorted) {
    if (kept.length > 0 && kept.at(-1)!.startLsn === instance.startLsn) kept[kept.length - 1] = instance;
    else kept.push(instance);
  }
  return kept;
}

/**
 * Resolves user-typed `schema.table` names against the catalog: an exact match, else the single
 * case-insensitive one (SQL Server's default collations ignore case). Anything else is refused, so
 * a name that is not a captured table never reaches SQL text.
 */
export function resolveTables(catalog: CdcCatalog, names: string[], database: string): CapturedTable[] {
  const resolved: CapturedTable[] = [];
  for (const raw of names) {
    const wanted = parseTableName(raw);
    let found = catalog.get(tableKey(wanted));
    if (!found) {
      const matches = [...catalog.values()].filter(
        (entry) => entry.schema.toLowerCase() === wanted.schema.toLowerCase() && entry.table.toLowerCase() === wanted.table.toLowerCase(),
      );
      if (matches.length === 1) found = matches[0];
    }
    if (!found) {
      const known = [...catalog.keys()].slice(0, 20).join(', ');
      throw new EddyError(
        'NOT_FOUND',
        `${raw.length > SYSNAME_MAX * 2 ? `${raw.slice(0, 60)}…` : raw} is not a CDC-enabled table in database ${database}. ${known ? `Captured tables: ${known}.` : 'No table has CDC enabled (EXEC sys.sp_cdc_enable_table).'}`,
      );
    }
    if (found.instances.length === 0) throw new EddyError('NOT_FOUND', `${tableKey(found)} has no capture instance.`);
    for (const instance of found.instances) {
      const reserved = instance.columns.find((column) => column.name.startsWith('__$'));
      if (reserved) throw new EddyError('VALIDATION', `${tableKey(found)} has a column named ${reserved.name}, which collides with CDC's own __$ columns.`);
    }
    if (!resolved.includes(found)) resolved.push(found);
  }
  return resolved;
}
