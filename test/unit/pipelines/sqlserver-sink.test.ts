// The SQL Server MERGE sink against a recording executor that answers like SQL Server: the
// statements it sends (OPENJSON typed from the catalog, QUOTENAME-quoted identifiers, one bound
// nvarchar of rows), the transaction with the progress row, skipping an epoch already committed,
// and deletes. The same sink runs against a real server in test/integration when MSSQL_URL is set.
import { describe, expect, it } from 'vitest';
import type { IsolationLevel, SqlExecutor, SqlParams, SqlQueryable, SqlRow } from '../../../main/engine/cdc/sqlserver/executor.js';
import { SqlServerSink } from '../../../main/engine/sinks/sqlserver-sink.js';
import type { SinkRecord } from '../../../main/engine/sinks/sink.js';

class RecordingExecutor implements SqlExecutor {
  readonly statements: { sql: string; params: SqlParams | undefined; inTransaction: boolean }[] = [];
  readonly table = new Map<string, Record<string, unknown>>();
  progress: { run_id: string; checkpoint_id: number } | undefined;
  transactions = 0;
  private inTransaction = false;

  async query(sql: string, params?: SqlParams): Promise<SqlRow[]> {
    this.statements.push({ sql, params, inTransaction: this.inTransaction });
    const name = /\/\* eddy:([a-z_]+) \*\//.exec(sql)?.[1];
    switch (name) {
      case 'sink_columns':
        return [
          { COLUMN_NAME: 'Order ID', DATA_TYPE: 'int', CHARACTER_MAXIMUM_LENGTH: null, NUMERIC_PRECISION: 10, NUMERIC_SCALE: 0, DATETIME_PRECISION: null },
          { COLUMN_NAME: 'Customer]Name', DATA_TYPE: 'nvarchar', CHARACTER_MAXIMUM_LENGTH: 100, NUMERIC_PRECISION: null, NUMERIC_SCALE: null, DATETIME_PRECISION: null },
          { COLUMN_NAME: 'Total', DATA_TYPE: 'decimal', CHARACTER_MAXIMUM_LENGTH: null, NUMERIC_PRECISION: 12, NUMERIC_SCALE: 2, DATETIME_PRECISION: null },
          { COLUMN_NAME: 'PlacedAt', DATA_TYPE: 'datetime2', CHARACTER_MAXIMUM_LENGTH: null, NUMERIC_PRECISION: null, NUMERIC_SCALE: null, DATETIME_PRECISION: 3 },
          { COLUMN_NAME: 'Notes', DATA_TYPE: 'nvarchar', CHARACTER_MAXIMUM_LENGTH: -1, NUMERIC_PRECISION: null, NUMERIC_SCALE: null, DATETIME_PRECISION: null },
        ];
      case 'sink_progress':
        return this.progress ? [this.progress] : [];
      case 'sink_merge':
        for (const row of JSON.parse(String(params!.rows!.value)) as Record<string, unknown>[]) this.table.set(String(row['Order ID']), { ...this.table.get(String(row['Order ID'])), ...row });
        return [];
      case 'sink_delete':
        for (const row of JSON.parse(String(params!.rows!.value)) as Record<string, unknown>[]) this.table.delete(String(row['Order ID']));
        return [];
      case 'sink_progress_write':
        this.progress = { run_id: String(params!.run!.value), checkpoint_id: Number(params!.checkpoint!.value) };
        return [];
      default:
        return [];
    }
  }

  async stream(): Promise<void> {
    throw new Error('not used');
  }

  async transaction<T>(_isolation: IsolationLevel, work: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    this.transactions++;
    const before = { table: new Map(this.table), progress: this.progress };
    this.inTransaction = true;
    try {
      return await work(this);
    } catch (error) {
      this.table.clear();
      for (const [key, value] of before.table) this.table.set(key, value);
      this.progress = before.progress;
      throw error;
    } finally {
      this.inTransaction = false;
    }
  }

  async close(): Promise<void> {}
}

function record(id: number, fields: Record<string, unknown> | null): SinkRecord {
  return {
    event: { stream: 's', position: `p${id}`, key: { 'Order ID': id }, value: fields === null ? null : { 'Order ID': id, ...fields }, headers: [], op: fields === null ? 'd' : 'u', eventTime: 0, ingestTime: 0 },
    origin: { source: 'orders', stream: 's', position: `p${id}` },
    lineage: 'orders',
  };
}

describe('SQL Server MERGE sink', () => {
  it('merges each epoch with its progress row in one transaction, typed by the catalog', async () => {
    const executor = new RecordingExecutor();
    const sink = new SqlServerSink({ id: 'mssql', table: 'sales.Orders', key: ['Order ID'], connect: async () => executor });
    expect(await sink.open({ pipeline: 'orders', runId: 'r1' })).toBe(0);
    await sink.commit(1, [record(1, { 'Customer]Name': 'Ana', Total: 10.5, PlacedAt: '2026-03-02T10:05:00.000Z' }), record(2, { 'Customer]Name': 'Ben', Total: 3 })]);
    const merge = executor.statements.find((statement) => statement.sql.includes('eddy:sink_merge'))!;
    expect(merge.inTransaction).toBe(true);
    expect(merge.sql).toBe(
      '/* eddy:sink_merge */ MERGE INTO [sales].[Orders] WITH (HOLDLOCK) AS t USING (SELECT * FROM OPENJSON(@rows) WITH (' +
        `[Order ID] int '$."Order ID"', [Customer]]Name] nvarchar(100) '$."Customer]Name"', [Total] decimal(12,2) '$."Total"', [PlacedAt] datetime2(3) '$."PlacedAt"', [Notes] nvarchar(max) '$."Notes"'` +
        ')) AS s ON t.[Order ID] = s.[Order ID] WHEN MATCHED THEN UPDATE SET t.[Customer]]Name] = s.[Customer]]Name], t.[Total] = s.[Total], t.[PlacedAt] = s.[PlacedAt], t.[Notes] = s.[Notes]' +
        ' WHEN NOT MATCHED BY TARGET THEN INSERT ([Order ID], [Customer]]Name], [Total], [PlacedAt], [Notes]) VALUES (s.[Order ID], s.[Customer]]Name], s.[Total], s.[PlacedAt], s.[Notes]);',
    );
    expect(merge.params).toEqual({ rows: { type: 'nvarchar', value: expect.any(String) } });
    const progress = executor.statements.filter((statement) => statement.sql.includes('eddy:sink_progress'));
    expect(progress.some((statement) => statement.sql.includes('WITH (UPDLOCK, HOLDLOCK)') && statement.inTransaction)).toBe(true);
    expect(executor.progress).toEqual({ run_id: 'r1', checkpoint_id: 1 });
    expect([...executor.table.keys()]).toEqual(['1', '2']);

    // A delete and an update; then the same epoch again (after a crash) is skipped entirely.
    await sink.commit(2, [record(2, null), record(1, { 'Customer]Name': 'Ana', Total: 11 })]);
    const statements = executor.statements.length;
    await sink.commit(2, [record(3, { 'Customer]Name': 'never', Total: 1 })]);
    expect(executor.statements.slice(statements).map((statement) => /eddy:([a-z_]+)/.exec(statement.sql)?.[1])).toEqual(['sink_progress']);
    expect([...executor.table.entries()]).toEqual([['1', expect.objectContaining({ Total: 11 })]]);
    expect(executor.statements.find((statement) => statement.sql.includes('eddy:sink_delete'))!.sql).toBe(
      `/* eddy:sink_delete */ DELETE t FROM [sales].[Orders] AS t INNER JOIN OPENJSON(@rows) WITH ([Order ID] int '$."Order ID"') AS d ON t.[Order ID] = d.[Order ID];`,
    );
    // A new process of the same run knows where it was; a new lineage starts over.
    expect(await new SqlServerSink({ id: 'mssql', table: 'sales.Orders', key: ['Order ID'], connect: async () => executor }).open({ pipeline: 'orders', runId: 'r1' })).toBe(2);
    expect(await new SqlServerSink({ id: 'mssql', table: 'sales.Orders', key: ['Order ID'], connect: async () => executor }).open({ pipeline: 'orders', runId: 'r2' })).toBe(0);
  });

  it('rejects records without their key instead of failing the epoch', async () => {
    const executor = new RecordingExecutor();
    const sink = new SqlServerSink({ id: 'mssql', table: 'Orders', key: ['Order ID'], connect: async () => executor });
    await sink.open({ pipeline: 'orders', runId: 'r1' });
    const keyless: SinkRecord = { ...record(5, { Total: 1 }), event: { ...record(5, { Total: 1 }).event, key: null, value: { Total: 1 } } };
    const result = await sink.commit(1, [keyless, record(6, { Total: 2 })]);
    expect(result.rejected).toEqual([{ index: 0, message: expect.stringContaining('Key column "Order ID"') }]);
    expect([...executor.table.keys()]).toEqual(['6']);
  });
});
