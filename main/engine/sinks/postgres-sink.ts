// PostgreSQL table sink: each epoch in one transaction, rows upserted with
// `INSERT ... SELECT FROM jsonb_populate_recordset(...) ON CONFLICT (key) DO UPDATE` (the server
// casts every JSON field to its column's type), deletes by key, and the sink's progress row in
// `eddy_sink_progress` updated in the same transaction. Re-committing an epoch the progress row
// already covers is skipped; replaying any batch again changes nothing besides (keyed upserts).
//
// Connection trouble (refused, reset, server restarting) is a TransientSinkError: the runner waits
// and retries with the same epoch. A row the server refuses for its content (a constraint, a value
// that does not fit) is found by re-running the epoch with a savepoint per row; it is returned as
// rejected (dead-lettered) and the rest of the epoch commits.
import type pg from 'pg';
import { planRows, type RowOperation, type TableSinkShape } from './rows.js';
import { TransientSinkError, type Sink, type SinkCommitResult, type SinkLineage, type SinkRecord } from './sink.js';

export const PROGRESS_TABLE = 'eddy_sink_progress';

export interface PostgresSinkOptions extends TableSinkShape {
  id: string;
  /** `schema.table` or `table`. */
  table: string;
  /** Opens a connected client (profile or URL resolved by the caller). */
  connect: () => Promise<pg.Client>;
  /** Rows per statement (default 2000). */
  chunkRows?: number;
}

const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', '57P01', '57P02', '57P03', '53300', '40001', '40P01', '08000', '08001', '08003', '08004', '08006']);

export function isTransientPgError(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  if (code && (TRANSIENT_CODES.has(code) || code.startsWith('08'))) return true;
  const message = error instanceof Error ? error.message : String(error);
  return /Connection terminated|connection is closed|Client has encountered a connection error|not queryable|timeout/i.test(message);
}

function isDataError(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  return typeof code === 'string' && /^(22|23)/.test(code);
}

/** `"schema"."table"` from `schema.table` / `table`, each part quoted like quote_ident. */
export function quoteQualified(name: string): { quoted: string; schema: string; table: string } {
  const parts = name.split('.');
  if (parts.length > 2 || parts.some((part) => part.length === 0 || part.length > 63)) throw new Error(`"${name}" is not a table name (schema.table or table).`);
  const [schema, table] = parts.length === 2 ? [parts[0]!, parts[1]!] : ['public', parts[0]!];
  return { quoted: `${quoteIdent(schema)}.${quoteIdent(table)}`, schema, table };
}

export function quoteIdent(name: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000]/.test(name)) throw new Error('An identifier with a NUL character was refused.');
  return `"${name.replace(/"/g, '""')}"`;
}

export class PostgresSink implements Sink {
  readonly kind = 'postgres';
  readonly idempotent = true;
  private client: pg.Client | undefined;
  private lineage: SinkLineage | undefined;
  private columns: string[] = [];
  private readonly target: { quoted: string; schema: string; table: string };

  constructor(private readonly options: PostgresSinkOptions) {
    this.target = quoteQualified(options.table);
  }

  get id(): string {
    return this.options.id;
  }

  async open(lineage: SinkLineage): Promise<number> {
    this.lineage = lineage;
    return this.withClient(async (client) => {
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${PROGRESS_TABLE} (pipeline text NOT NULL, sink text NOT NULL, run_id text NOT NULL, checkpoint_id bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (pipeline, sink))`,
      ).catch((error: unknown) => {
        // Two sinks creating the table at once: the loser sees a unique violation on the type.
        if ((error as { code?: string }).code !== '23505' && (error as { code?: string }).code !== '42P07') throw error;
      });
      const columns = await client.query<{ column_name: string }>(
        'SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position',
        [this.target.schema, this.target.table],
      );
      if (columns.rows.length === 0) throw new Error(`PostgreSQL table ${this.target.schema}.${this.target.table} does not exist (the sink writes to an existing table with a unique key on ${this.options.key.join(', ')}).`);
      this.columns = columns.rows.map((row) => row.column_name);
      const missing = this.options.key.filter((column) => !this.columns.includes(column));
      if (missing.length > 0) throw new Error(`Table ${this.target.schema}.${this.target.table} has no column ${missing.join(', ')} (the sink's key).`);
      const progress = await client.query<{ run_id: string; checkpoint_id: string }>(`SELECT run_id, checkpoint_id FROM ${PROGRESS_TABLE} WHERE pipeline = $1 AND sink = $2`, [lineage.pipeline, this.id]);
      const row = progress.rows[0];
      return row && row.run_id === lineage.runId ? Number(row.checkpoint_id) : 0;
    });
  }

  async commit(checkpoint: number, records: SinkRecord[]): Promise<SinkCommitResult> {
    const lineage = this.lineage;
    if (!lineage) throw new Error('The PostgreSQL sink is not open.');
    const plan = planRows(records, this.options);
    return this.withClient(async (client) => {
      try {
        return await this.transaction(client, lineage, checkpoint, plan.operations, plan.rejected, false);
      } catch (error) {
        if (!isDataError(error)) throw error;
        // Find the rows the server refuses, keep the rest.
        return this.transaction(client, lineage, checkpoint, plan.operations, plan.rejected, true);
      }
    });
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async transaction(
    client: pg.Client,
    lineage: SinkLineage,
    checkpoint: number,
    operations: RowOperation[],
    rejected: { index: number; message: string }[],
    rowByRow: boolean,
  ): Promise<SinkCommitResult> {
    const refused = [...rejected];
    await client.query('BEGIN');
    try {
      const progress = await client.query<{ run_id: string; checkpoint_id: string }>(
        `SELECT run_id, checkpoint_id FROM ${PROGRESS_TABLE} WHERE pipeline = $1 AND sink = $2 FOR UPDATE`,
        [lineage.pipeline, this.id],
      );
      const stored = progress.rows[0];
      if (stored && stored.run_id === lineage.runId && Number(stored.checkpoint_id) >= checkpoint) {
        await client.query('ROLLBACK');
        return { rejected: refused };
      }
      if (rowByRow) {
        for (const operation of operations) {
          await client.query('SAVEPOINT eddy_row');
          try {
            await this.apply(client, [operation]);
            await client.query('RELEASE SAVEPOINT eddy_row');
          } catch (error) {
            if (!isDataError(error)) throw error;
            await client.query('ROLLBACK TO SAVEPOINT eddy_row');
            refused.push({ index: operation.index, message: `PostgreSQL refused the row: ${(error as Error).message}` });
          }
        }
      } else {
        await this.apply(client, operations);
      }
      await client.query(
        `INSERT INTO ${PROGRESS_TABLE} (pipeline, sink, run_id, checkpoint_id, updated_at) VALUES ($1, $2, $3, $4, now())
         ON CONFLICT (pipeline, sink) DO UPDATE SET run_id = EXCLUDED.run_id, checkpoint_id = EXCLUDED.checkpoint_id, updated_at = EXCLUDED.updated_at`,
        [lineage.pipeline, this.id, lineage.runId, checkpoint],
      );
      await client.query('COMMIT');
      return { rejected: refused };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  /** Consecutive upserts go in one statement, consecutive deletes in another, keeping their order. */
  private async apply(client: pg.Client, operations: RowOperation[]): Promise<void> {
    const chunk = this.options.chunkRows ?? 2000;
    const keyList = this.options.key.map(quoteIdent).join(', ');
    const columns = this.columns;
    const updates = columns.filter((column) => !this.options.key.includes(column));
    const upsertSql =
      `INSERT INTO ${this.target.quoted} (${columns.map(quoteIdent).join(', ')}) SELECT ${columns.map((column) => `r.${quoteIdent(column)}`).join(', ')} ` +
      `FROM jsonb_populate_recordset(NULL::${this.target.quoted}, $1::jsonb) AS r ON CONFLICT (${keyList}) ` +
      (updates.length > 0 ? `DO UPDATE SET ${updates.map((column) => `${quoteIdent(column)} = EXCLUDED.${quoteIdent(column)}`).join(', ')}` : 'DO NOTHING');
    const deleteSql =
      `DELETE FROM ${this.target.quoted} AS t USING jsonb_populate_recordset(NULL::${this.target.quoted}, $1::jsonb) AS d WHERE ` +
      this.options.key.map((column) => `t.${quoteIdent(column)} = d.${quoteIdent(column)}`).join(' AND ');
    let index = 0;
    while (index < operations.length) {
      const kind = operations[index]!.kind;
      const run: RowOperation[] = [];
      while (index < operations.length && operations[index]!.kind === kind && run.length < chunk) run.push(operations[index++]!);
      const rows = run.map((operation) => (operation.kind === 'upsert' ? operation.row : operation.key));
      await client.query(kind === 'upsert' ? upsertSql : deleteSql, [JSON.stringify(rows)]);
    }
  }

  private async withClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    try {
      if (!this.client) {
        const client = await this.options.connect();
        client.on('error', () => {
          // A dropped connection surfaces on the next query; forget the client so it reconnects.
          if (this.client === client) this.client = undefined;
        });
        this.client = client;
      }
      return await work(this.client);
    } catch (error) {
      if (isTransientPgError(error)) {
        const client = this.client;
        this.client = undefined;
        await client?.end().catch(() => undefined);
        throw new TransientSinkError(`PostgreSQL ${this.target.schema}.${this.target.table}: ${(error as Error).message}`, { cause: error });
      }
      throw error;
    }
  }
}
