// The local warehouse: one sql.js database per workspace (`.eddy/warehouse/warehouse.sqlite`)
// holding pipeline sink tables and dry-run shadow tables, queryable read-only from the UI. Each
// sink commit is one SQLite transaction (rows + the sink's progress row) followed by a crash-safe
// image write (temp file, fsync, rename, fsync dir), so the sink is durable when the runner's
// checkpoint follows. Tables and columns are created as records arrive (SQLite is dynamically
// typed): numbers stay numbers, objects and arrays are stored as JSON text.
import path from 'node:path';
import { mkdir, readFile } from 'node:fs/promises';
import type { JsonValue } from '../../../shared/events.js';
import { writeFileAtomic } from '../log/atomic-file.js';
import { nodeFs } from '../log/fs-layer.js';
import { checkReadOnlySql } from '../log/query-guard.js';
import { inTransaction, loadSqlJs, queryRows, type Database, type SqlValue } from '../log/sqljs.js';
import { planRows, type TableSinkShape } from './rows.js';
import { recordIdentity, type Row, type Sink, type SinkCommitResult, type SinkLineage, type SinkRecord } from './sink.js';

export const WAREHOUSE_PROGRESS = '_eddy_sink_progress';

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A safe table name: letters, digits and underscores, at most 63 characters. */
export function warehouseName(...parts: string[]): string {
  return parts
    .join('_')
    .replace(/[^A-Za-z0-9_]/g, '_')
    .replace(/^([^A-Za-z_])/, '_$1')
    .slice(0, 63);
}

function cell(value: JsonValue | undefined): SqlValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'object') return JSON.stringify(value);
  return value;
}

export class Warehouse {
  private static readonly registry = new Map<string, Promise<Warehouse>>();
  private queue: Promise<unknown> = Promise.resolve();
  private references = 0;
  private readonly columns = new Map<string, Set<string>>();

  private constructor(
    private readonly db: Database,
    readonly file: string | undefined,
  ) {}

  /** The workspace's warehouse (shared by every pipeline of the engine); in memory when `file` is undefined. */
  static async openShared(file: string | undefined): Promise<Warehouse> {
    if (file === undefined) return Warehouse.create(undefined);
    let opening = Warehouse.registry.get(file);
    if (!opening) {
      opening = Warehouse.create(file);
      Warehouse.registry.set(file, opening);
      opening.catch(() => Warehouse.registry.delete(file));
    }
    const warehouse = await opening;
    warehouse.references++;
    return warehouse;
  }

  private static async create(file: string | undefined): Promise<Warehouse> {
    const SQL = await loadSqlJs();
    let image: Uint8Array | undefined;
    if (file) {
      await mkdir(path.dirname(file), { recursive: true });
      try {
        image = await readFile(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    const db = new SQL.Database(image);
    db.run('PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF;');
    db.run(`CREATE TABLE IF NOT EXISTS ${WAREHOUSE_PROGRESS} (pipeline TEXT NOT NULL, sink TEXT NOT NULL, run_id TEXT NOT NULL, checkpoint_id INTEGER NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (pipeline, sink))`);
    return new Warehouse(db, file);
  }

  /** One writer at a time: commits are serialized across the pipelines sharing this warehouse. */
  exclusive<T>(work: () => Promise<T> | T): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  progress(pipeline: string, sink: string, runId: string): number {
    const rows = queryRows(this.db, `SELECT run_id, checkpoint_id FROM ${WAREHOUSE_PROGRESS} WHERE pipeline = ? AND sink = ?`, [pipeline, sink]);
    const row = rows[0];
    return row && row[0] === runId ? Number(row[1]) : 0;
  }

  /** Rows of one epoch and the sink's progress, in one transaction, then the image is persisted. */
  async commit(work: (db: Database) => void): Promise<void> {
    await this.exclusive(async () => {
      inTransaction(this.db, () => work(this.db));
      await this.persist();
    });
  }

  ensureTable(table: string, key: string[], columns: Iterable<string>): void {
    let known = this.columns.get(table);
    if (!known) {
      const existing = queryRows(this.db, `SELECT name FROM pragma_table_info(?)`, [table]).map((row) => String(row[0]));
      if (existing.length === 0) {
        this.db.run(`CREATE TABLE ${quote(table)} (${key.map(quote).join(', ')})`);
        this.db.run(`CREATE UNIQUE INDEX ${quote(`${table}__key`)} ON ${quote(table)} (${key.map(quote).join(', ')})`);
        existing.push(...key);
      }
      known = new Set(existing);
      this.columns.set(table, known);
    }
    for (const column of columns) {
      if (known.has(column)) continue;
      this.db.run(`ALTER TABLE ${quote(table)} ADD COLUMN ${quote(column)}`);
      known.add(column);
    }
  }

  upsert(db: Database, table: string, key: string[], row: Row): void {
    const columns = Object.keys(row);
    const updates = columns.filter((column) => !key.includes(column));
    db.run(
      `INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ON CONFLICT (${key.map(quote).join(', ')}) ` +
        (updates.length > 0 ? `DO UPDATE SET ${updates.map((column) => `${quote(column)} = excluded.${quote(column)}`).join(', ')}` : 'DO NOTHING'),
      columns.map((column) => cell(row[column])),
    );
  }

  remove(db: Database, table: string, key: string[], values: Row): void {
    db.run(`DELETE FROM ${quote(table)} WHERE ${key.map((column) => `${quote(column)} = ?`).join(' AND ')}`, key.map((column) => cell(values[column])));
  }

  setProgress(db: Database, pipeline: string, sink: string, runId: string, checkpoint: number): void {
    db.run(
      `INSERT INTO ${WAREHOUSE_PROGRESS} (pipeline, sink, run_id, checkpoint_id, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (pipeline, sink) DO UPDATE SET run_id = excluded.run_id, checkpoint_id = excluded.checkpoint_id, updated_at = excluded.updated_at`,
      [pipeline, sink, runId, checkpoint, Date.now()],
    );
  }

  async dropTable(table: string): Promise<void> {
    await this.exclusive(async () => {
      this.db.run(`DROP TABLE IF EXISTS ${quote(table)}`);
      this.db.run(`DELETE FROM ${WAREHOUSE_PROGRESS} WHERE sink = ? OR sink LIKE ?`, [table, `${table}:%`]);
      this.columns.delete(table);
      await this.persist();
    });
  }

  query(sql: string, maxRows: number): { columns: string[]; rows: JsonValue[][]; truncated: boolean; elapsedMs: number } {
    const started = performance.now();
    const statement = this.db.prepare(checkReadOnlySql(sql));
    try {
      const columns = statement.getColumnNames();
      const rows: JsonValue[][] = [];
      let truncated = false;
      while (statement.step()) {
        if (rows.length >= maxRows) {
          truncated = true;
          break;
        }
        rows.push(statement.get().map((value) => (value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value)));
      }
      return { columns, rows, truncated, elapsedMs: performance.now() - started };
    } finally {
      statement.free();
    }
  }

  tables(): { name: string; rows: number; columns: string[] }[] {
    return queryRows(this.db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).map((row) => {
      const name = String(row[0]);
      return {
        name,
        rows: Number(queryRows(this.db, `SELECT count(*) FROM ${quote(name)}`)[0]?.[0] ?? 0),
        columns: queryRows(this.db, `SELECT name FROM pragma_table_info(?)`, [name]).map((column) => String(column[0])),
      };
    });
  }

  async close(): Promise<void> {
    if (this.file === undefined) {
      this.db.close();
      return;
    }
    if (--this.references > 0) return;
    Warehouse.registry.delete(this.file);
    await this.queue;
    this.db.close();
  }

  private async persist(): Promise<void> {
    if (!this.file) return;
    await writeFileAtomic(nodeFs, this.file, [this.db.export()]);
    // export() closes and reopens the connection: the pragmas are reset.
    this.db.run('PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF;');
  }
}

export interface WarehouseSinkOptions {
  id: string;
  table: string;
  /** `table`: rows by key (like the PostgreSQL sink); `records`: one row per record (log, Kafka, null sinks in a dry run). */
  mode: 'table' | 'records';
  shape?: TableSinkShape;
  warehouse: Warehouse;
  /** The progress row's sink name (shadow sinks use their shadow table's). */
  progressName?: string;
}

export class WarehouseSink implements Sink {
  readonly kind = 'warehouse';
  readonly idempotent = true;
  private lineage: SinkLineage | undefined;

  constructor(private readonly options: WarehouseSinkOptions) {}

  get id(): string {
    return this.options.id;
  }

  get table(): string {
    return this.options.table;
  }

  async open(lineage: SinkLineage): Promise<number> {
    this.lineage = lineage;
    return this.options.warehouse.progress(lineage.pipeline, this.progressName, lineage.runId);
  }

  async commit(checkpoint: number, records: SinkRecord[]): Promise<SinkCommitResult> {
    const lineage = this.lineage;
    if (!lineage) throw new Error('The warehouse sink is not open.');
    const warehouse = this.options.warehouse;
    const table = this.options.table;
    if (this.options.mode === 'records') {
      const rows = records.map((record) => ({
        _id: recordIdentity(this.id, lineage.pipeline, record),
        key: record.event.key,
        value: record.event.value,
        op: record.event.op ?? null,
        event_time: record.event.eventTime,
        origin_stream: record.origin.stream,
        origin_position: record.origin.position,
        origin_seq: record.origin.seq ?? null,
      }));
      await warehouse.commit((db) => {
        if (warehouse.progress(lineage.pipeline, this.progressName, lineage.runId) >= checkpoint) return;
        warehouse.ensureTable(table, ['_id'], ['key', 'value', 'op', 'event_time', 'origin_stream', 'origin_position', 'origin_seq']);
        for (const row of rows) warehouse.upsert(db, table, ['_id'], row as Row);
        warehouse.setProgress(db, lineage.pipeline, this.progressName, lineage.runId, checkpoint);
      });
      return { rejected: [] };
    }
    const shape = this.options.shape!;
    const plan = planRows(records, shape);
    const columns = new Set<string>();
    for (const operation of plan.operations) if (operation.kind === 'upsert') for (const column of Object.keys(operation.row)) columns.add(column);
    await warehouse.commit((db) => {
      if (warehouse.progress(lineage.pipeline, this.progressName, lineage.runId) >= checkpoint) return;
      warehouse.ensureTable(table, shape.key, columns);
      for (const operation of plan.operations) {
        if (operation.kind === 'upsert') warehouse.upsert(db, table, shape.key, operation.row);
        else warehouse.remove(db, table, shape.key, operation.key);
      }
      warehouse.setProgress(db, lineage.pipeline, this.progressName, lineage.runId, checkpoint);
    });
    return { rejected: plan.rejected };
  }

  async close(): Promise<void> {}

  private get progressName(): string {
    return this.options.progressName ?? this.id;
  }
}

/** For tests and comparisons: a table's rows as objects, ordered by its key. */
export function warehouseRows(warehouse: Warehouse, table: string, orderBy?: string[]): Record<string, JsonValue>[] {
  const result = warehouse.query(`SELECT * FROM ${quote(table)}${orderBy && orderBy.length > 0 ? ` ORDER BY ${orderBy.map(quote).join(', ')}` : ''}`, 10_000_000);
  return result.rows.map((row) => Object.fromEntries(result.columns.map((column, index) => [column, row[index] ?? null])));
}

