// SQL Server table sink: each epoch in one transaction, rows merged with
// `MERGE ... USING OPENJSON(@rows) WITH (<column types from the catalog>)` (one bound nvarchar
// parameter carries the rows; identifiers are QUOTENAME-quoted, never data), deletes by key, and
// the sink's progress row in dbo.eddy_sink_progress updated in the same transaction. It talks to
// the server through the CDC connector's SqlExecutor (main/engine/cdc/sqlserver/executor.ts), so
// tests drive it with a recording executor and, when MSSQL_URL is set, with a real server.
import type { SqlExecutor, SqlQueryable, SqlRow } from '../cdc/sqlserver/executor.js';
import { quoteName } from '../cdc/sqlserver/identifiers.js';
import { planRows, type RowOperation, type TableSinkShape } from './rows.js';
import { TransientSinkError, type Sink, type SinkCommitResult, type SinkLineage, type SinkRecord } from './sink.js';

export const SQLSERVER_PROGRESS_TABLE = '[dbo].[eddy_sink_progress]';

export interface SqlServerSinkOptions extends TableSinkShape {
  id: string;
  /** `schema.table` or `table` (dbo). */
  table: string;
  connect: () => Promise<SqlExecutor>;
  chunkRows?: number;
}

interface ColumnInfo {
  name: string;
  type: string;
}

const TRANSIENT_NUMBERS = new Set([1205, 40613, 40197, 40501, 49918, 49919, 49920, 4060, 233, 10053, 10054, 10060, -2]);
const DATA_NUMBERS = new Set([2627, 2601, 547, 515, 8114, 245, 8115, 2628, 8152, 241, 242, 9413]);

export function isTransientSqlServerError(error: unknown): boolean {
  const shaped = error as { number?: number; code?: string; originalError?: { number?: number; code?: string } } | undefined;
  const number = shaped?.number ?? shaped?.originalError?.number;
  const code = shaped?.code ?? shaped?.originalError?.code;
  if (number !== undefined && TRANSIENT_NUMBERS.has(number)) return true;
  if (code && ['ESOCKET', 'ETIMEOUT', 'ECONNCLOSED', 'ECONNRESET', 'ECONNREFUSED', 'ENOTOPEN', 'ELOGIN'].includes(code)) return code !== 'ELOGIN';
  return false;
}

function isDataError(error: unknown): boolean {
  const shaped = error as { number?: number; originalError?: { number?: number } } | undefined;
  const number = shaped?.number ?? shaped?.originalError?.number;
  return number !== undefined && DATA_NUMBERS.has(number);
}

export function splitTableName(name: string): { schema: string; table: string } {
  const parts = name.split('.');
  if (parts.length === 1) return { schema: 'dbo', table: parts[0]! };
  if (parts.length === 2 && parts[0] && parts[1]) return { schema: parts[0], table: parts[1] };
  throw new Error(`"${name}" is not schema.table.`);
}

/** A column's type as OPENJSON's WITH clause needs it, from INFORMATION_SCHEMA.COLUMNS. */
export function openJsonType(row: SqlRow): string {
  const type = String(row.DATA_TYPE).toLowerCase();
  const length = row.CHARACTER_MAXIMUM_LENGTH as number | null;
  const precision = row.NUMERIC_PRECISION as number | null;
  const scale = row.NUMERIC_SCALE as number | null;
  const datetimePrecision = row.DATETIME_PRECISION as number | null;
  switch (type) {
    case 'char':
    case 'varchar':
    case 'nchar':
    case 'nvarchar':
    case 'binary':
    case 'varbinary':
      return length === -1 || length === null ? `${type}(max)` : `${type}(${length})`;
    case 'decimal':
    case 'numeric':
      return `${type}(${precision ?? 18},${scale ?? 0})`;
    case 'datetime2':
    case 'datetimeoffset':
    case 'time':
      return datetimePrecision === null ? type : `${type}(${datetimePrecision})`;
    case 'text':
    case 'ntext':
    case 'xml':
    case 'image':
    case 'sql_variant':
    case 'geography':
    case 'geometry':
    case 'hierarchyid':
      return 'nvarchar(max)';
    default:
      return type;
  }
}

function jsonPath(column: string): string {
  return `'$."${column.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/'/g, "''")}"'`;
}

export class SqlServerSink implements Sink {
  readonly kind = 'sqlserver';
  readonly idempotent = true;
  private executor: SqlExecutor | undefined;
  private lineage: SinkLineage | undefined;
  private columns: ColumnInfo[] = [];
  private readonly schema: string;
  private readonly table: string;
  private readonly quoted: string;

  constructor(private readonly options: SqlServerSinkOptions) {
    const { schema, table } = splitTableName(options.table);
    this.schema = schema;
    this.table = table;
    this.quoted = `${quoteName(schema)}.${quoteName(table)}`;
  }

  get id(): string {
    return this.options.id;
  }

  async open(lineage: SinkLineage): Promise<number> {
    this.lineage = lineage;
    return this.withExecutor(async (executor) => {
      await executor.query(
        `/* eddy:sink_progress_table */ IF OBJECT_ID(N'dbo.eddy_sink_progress', N'U') IS NULL CREATE TABLE ${SQLSERVER_PROGRESS_TABLE} (pipeline nvarchar(200) NOT NULL, sink nvarchar(200) NOT NULL, run_id nvarchar(100) NOT NULL, checkpoint_id bigint NOT NULL, updated_at datetime2(3) NOT NULL, CONSTRAINT PK_eddy_sink_progress PRIMARY KEY (pipeline, sink))`,
      );
      const rows = await executor.query(
        '/* eddy:sink_columns */ SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = @schema AND TABLE_NAME = @table ORDER BY ORDINAL_POSITION',
        { schema: { type: 'nvarchar', value: this.schema }, table: { type: 'nvarchar', value: this.table } },
      );
      if (rows.length === 0) throw new Error(`SQL Server table ${this.schema}.${this.table} does not exist.`);
      this.columns = rows.map((row) => ({ name: String(row.COLUMN_NAME), type: openJsonType(row) }));
      const missing = this.options.key.filter((column) => !this.columns.some((info) => info.name === column));
      if (missing.length > 0) throw new Error(`Table ${this.schema}.${this.table} has no column ${missing.join(', ')} (the sink's key).`);
      const progress = await this.readProgress(executor, lineage, false);
      return progress;
    });
  }

  async commit(checkpoint: number, records: SinkRecord[]): Promise<SinkCommitResult> {
    const lineage = this.lineage;
    if (!lineage) throw new Error('The SQL Server sink is not open.');
    const plan = planRows(records, this.options);
    return this.withExecutor(async (executor) => {
      try {
        return await executor.transaction('read-committed', (tx) => this.transaction(tx, lineage, checkpoint, plan.operations, plan.rejected, false));
      } catch (error) {
        if (!isDataError(error)) throw error;
        return executor.transaction('read-committed', (tx) => this.transaction(tx, lineage, checkpoint, plan.operations, plan.rejected, true));
      }
    });
  }

  async close(): Promise<void> {
    const executor = this.executor;
    this.executor = undefined;
    await executor?.close().catch(() => undefined);
  }

  /** The MERGE for a batch of rows (exported for the recording tests). */
  mergeSql(): string {
    const keys = this.options.key;
    const columns = this.columns;
    const updates = columns.filter((column) => !keys.includes(column.name));
    const withClause = columns.map((column) => `${quoteName(column.name)} ${column.type} ${jsonPath(column.name)}`).join(', ');
    return (
      `/* eddy:sink_merge */ MERGE INTO ${this.quoted} WITH (HOLDLOCK) AS t USING (SELECT * FROM OPENJSON(@rows) WITH (${withClause})) AS s ON ` +
      keys.map((key) => `t.${quoteName(key)} = s.${quoteName(key)}`).join(' AND ') +
      (updates.length > 0 ? ` WHEN MATCHED THEN UPDATE SET ${updates.map((column) => `t.${quoteName(column.name)} = s.${quoteName(column.name)}`).join(', ')}` : '') +
      ` WHEN NOT MATCHED BY TARGET THEN INSERT (${columns.map((column) => quoteName(column.name)).join(', ')}) VALUES (${columns.map((column) => `s.${quoteName(column.name)}`).join(', ')});`
    );
  }

  deleteSql(): string {
    const keys = this.options.key;
    const withClause = keys
      .map((key) => {
        const column = this.columns.find((info) => info.name === key)!;
        return `${quoteName(key)} ${column.type} ${jsonPath(key)}`;
      })
      .join(', ');
    return (
      `/* eddy:sink_delete */ DELETE t FROM ${this.quoted} AS t INNER JOIN OPENJSON(@rows) WITH (${withClause}) AS d ON ` +
      keys.map((key) => `t.${quoteName(key)} = d.${quoteName(key)}`).join(' AND ') +
      ';'
    );
  }

  private async readProgress(tx: SqlQueryable, lineage: SinkLineage, lock: boolean): Promise<number> {
    const rows = await tx.query(
      `/* eddy:sink_progress */ SELECT run_id, checkpoint_id FROM ${SQLSERVER_PROGRESS_TABLE}${lock ? ' WITH (UPDLOCK, HOLDLOCK)' : ''} WHERE pipeline = @pipeline AND sink = @sink`,
      { pipeline: { type: 'nvarchar', value: lineage.pipeline }, sink: { type: 'nvarchar', value: this.id } },
    );
    const row = rows[0];
    return row && String(row.run_id) === lineage.runId ? Number(row.checkpoint_id) : 0;
  }

  private async transaction(
    tx: SqlQueryable,
    lineage: SinkLineage,
    checkpoint: number,
    operations: RowOperation[],
    rejected: { index: number; message: string }[],
    rowByRow: boolean,
  ): Promise<SinkCommitResult> {
    const refused = [...rejected];
    if ((await this.readProgress(tx, lineage, true)) >= checkpoint) return { rejected: refused };
    if (rowByRow) {
      for (const operation of operations) {
        await tx.query('/* eddy:sink_savepoint */ SAVE TRANSACTION eddy_row;');
        try {
          await this.apply(tx, [operation]);
        } catch (error) {
          if (!isDataError(error)) throw error;
          await tx.query('/* eddy:sink_rollback_row */ ROLLBACK TRANSACTION eddy_row;');
          refused.push({ index: operation.index, message: `SQL Server refused the row: ${(error as Error).message}` });
        }
      }
    } else {
      await this.apply(tx, operations);
    }
    await tx.query(
      `/* eddy:sink_progress_write */ MERGE INTO ${SQLSERVER_PROGRESS_TABLE} WITH (HOLDLOCK) AS t USING (SELECT @pipeline AS pipeline, @sink AS sink) AS s ON t.pipeline = s.pipeline AND t.sink = s.sink ` +
        'WHEN MATCHED THEN UPDATE SET run_id = @run, checkpoint_id = @checkpoint, updated_at = SYSUTCDATETIME() ' +
        'WHEN NOT MATCHED THEN INSERT (pipeline, sink, run_id, checkpoint_id, updated_at) VALUES (@pipeline, @sink, @run, @checkpoint, SYSUTCDATETIME());',
      {
        pipeline: { type: 'nvarchar', value: lineage.pipeline },
        sink: { type: 'nvarchar', value: this.id },
        run: { type: 'nvarchar', value: lineage.runId },
        checkpoint: { type: 'int', value: checkpoint },
      },
    );
    return { rejected: refused };
  }

  private async apply(tx: SqlQueryable, operations: RowOperation[]): Promise<void> {
    const chunk = this.options.chunkRows ?? 1000;
    let index = 0;
    while (index < operations.length) {
      const kind = operations[index]!.kind;
      const run: RowOperation[] = [];
      while (index < operations.length && operations[index]!.kind === kind && run.length < chunk) run.push(operations[index++]!);
      const rows = run.map((operation) => (operation.kind === 'upsert' ? operation.row : operation.key));
      await tx.query(kind === 'upsert' ? this.mergeSql() : this.deleteSql(), { rows: { type: 'nvarchar', value: JSON.stringify(rows) } });
    }
  }

  private async withExecutor<T>(work: (executor: SqlExecutor) => Promise<T>): Promise<T> {
    try {
      this.executor ??= await this.options.connect();
      return await work(this.executor);
    } catch (error) {
      if (isTransientSqlServerError(error)) {
        const executor = this.executor;
        this.executor = undefined;
        await executor?.close().catch(() => undefined);
        throw new TransientSinkError(`SQL Server ${this.schema}.${this.table}: ${(error as Error).message}`, { cause: error });
      }
      throw error;
    }
  }
}
