// From sink records to table operations: the row image of each record (its `columns` mapping, or
// the value / Debezium `after`), upsert or delete by key, and the collapse of one epoch to the last
// operation per key, which is what a keyed upsert of the whole epoch amounts to. Shared by the
// PostgreSQL, SQL Server and warehouse sinks so the three agree on what a record means.
import type { JsonValue } from '../../../shared/events.js';
import { keyText, readPath, rowImage } from '../pipelines/paths.js';
import type { Row, SinkRecord } from './sink.js';

export interface TableSinkShape {
  key: string[];
  columns?: Record<string, string> | undefined;
}

export type RowOperation = { kind: 'upsert'; row: Row; index: number } | { kind: 'delete'; key: Row; index: number };

export interface PlannedRows {
  /** The last operation per key, in the order of their last record. */
  operations: RowOperation[];
  /** Records that cannot become a row (a key column missing): dead-lettered by the runner. */
  rejected: { index: number; message: string }[];
}

export function recordRow(record: SinkRecord, shape: TableSinkShape): { row: Row | null; deleted: boolean } {
  if (shape.columns) {
    const row: Row = {};
    for (const [column, path] of Object.entries(shape.columns)) {
      const value = readPath(record.event, path);
      row[column] = value === undefined ? null : value;
    }
    const deleted = record.event.op === 'd' || record.event.value === null;
    return { row, deleted };
  }
  const image = rowImage(record.event);
  return { row: image.row, deleted: image.deleted };
}

export function planRows(records: SinkRecord[], shape: TableSinkShape): PlannedRows {
  const latest = new Map<string, RowOperation>();
  const rejected: { index: number; message: string }[] = [];
  records.forEach((record, index) => {
    const { row, deleted } = recordRow(record, shape);
    // A delete may carry only the key (a tombstone): take it from the event key then.
    const source: Row = row ?? (record.event.key !== null && typeof record.event.key === 'object' && !Array.isArray(record.event.key) ? record.event.key : {});
    const key: Row = {};
    for (const column of shape.key) {
      let value: JsonValue | undefined = source[column];
      if ((value === undefined || value === null) && shape.key.length === 1 && record.event.key !== null && typeof record.event.key !== 'object') value = record.event.key;
      if (value === undefined || value === null) {
        rejected.push({ index, message: `Key column "${column}" is missing or null in the record (key columns: ${shape.key.join(', ')}).` });
        return;
      }
      key[column] = value;
    }
    const id = shape.key.map((column) => keyText(key[column])).join('\u0000');
    latest.delete(id);
    latest.set(id, deleted || row === null ? { kind: 'delete', key, index } : { kind: 'upsert', row: { ...row, ...key }, index });
  });
  return { operations: [...latest.values()], rejected };
}

/** Plain scalars for SQL drivers: objects and arrays as JSON text, booleans kept. */
export function sqlValue(value: JsonValue | undefined): string | number | boolean | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'object') return JSON.stringify(value);
  return value;
}
