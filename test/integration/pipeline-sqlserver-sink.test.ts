// The SQL Server MERGE sink against a real server, when MSSQL_URL is set (SQL Server cannot run on
// the build machines; test/unit/pipelines/sqlserver-sink.test.ts covers the same behaviour with a
// recording executor). Needs `mssql` installed and a login that may create tables.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSqlServerUrl } from '../../main/engine/cdc/sqlserver/connection.js';
import { openMssqlExecutor } from '../../main/engine/cdc/sqlserver/mssql-executor.js';
import type { SqlExecutor } from '../../main/engine/cdc/sqlserver/executor.js';
import { SqlServerSink } from '../../main/engine/sinks/sqlserver-sink.js';
import type { SinkRecord } from '../../main/engine/sinks/sink.js';

const url = process.env.MSSQL_URL;
if (!url) process.stderr.write('[skip] sqlserver: MSSQL_URL is not set; the MERGE sink is covered by the recording executor in test/unit.\n');
const table = `eddy_sink_test_${process.pid}`;
let executor: SqlExecutor;

function record(id: number, fields: Record<string, unknown> | null): SinkRecord {
  return {
    event: { stream: 's', position: `p${id}`, key: { id }, value: fields === null ? null : { id, ...fields }, headers: [], op: fields === null ? 'd' : 'c', eventTime: 0, ingestTime: 0 },
    origin: { source: 'orders', stream: 's', position: `p${id}` },
    lineage: 'orders',
  };
}

describe.runIf(url)('SQL Server MERGE sink (real server)', () => {
  const open = async (): Promise<SqlExecutor> => {
    const parsed = parseSqlServerUrl(url!);
    return openMssqlExecutor({ ...parsed });
  };
  beforeAll(async () => {
    executor = await open();
    await executor.query(`IF OBJECT_ID(N'dbo.${table}', N'U') IS NOT NULL DROP TABLE dbo.${table}; CREATE TABLE dbo.${table} (id int PRIMARY KEY, name nvarchar(50) NOT NULL, amount decimal(10,2) NULL, CHECK (amount >= 0));`);
  });
  afterAll(async () => {
    await executor?.query(`DROP TABLE IF EXISTS dbo.${table}; DELETE FROM dbo.eddy_sink_progress WHERE pipeline = 'sink-test';`).catch(() => undefined);
    await executor?.close();
  });

  it('merges, deletes, skips a committed epoch and rejects refused rows', async () => {
    const sink = new SqlServerSink({ id: 'out', table: `dbo.${table}`, key: ['id'], connect: open });
    expect(await sink.open({ pipeline: 'sink-test', runId: 'r1' })).toBe(0);
    await sink.commit(1, [record(1, { name: 'a', amount: 1.5 }), record(2, { name: 'b', amount: 2 }), record(1, { name: 'a2', amount: 3 })]);
    await sink.commit(2, [record(2, null), record(3, { name: 'c', amount: 0 })]);
    await sink.commit(2, [record(9, { name: 'never', amount: 1 })]);
    const result = await sink.commit(3, [record(4, { name: 'negative', amount: -1 }), record(5, { name: 'e', amount: 5 })]);
    expect(result.rejected.map((rejected) => rejected.index)).toEqual([0]);
    const rows = await executor.query(`SELECT id, name, CAST(amount AS float) AS amount FROM dbo.${table} ORDER BY id`);
    expect(rows).toEqual([
      { id: 1, name: 'a2', amount: 3 },
      { id: 3, name: 'c', amount: 0 },
      { id: 5, name: 'e', amount: 5 },
    ]);
    await sink.close();
    expect(await new SqlServerSink({ id: 'out', table: `dbo.${table}`, key: ['id'], connect: open }).open({ pipeline: 'sink-test', runId: 'r1' })).toBe(3);
  });
});
