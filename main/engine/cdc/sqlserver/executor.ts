// The connector talks to SQL Server only through this small interface, so that tests can inject an
// executor that answers with result pages shaped exactly like SQL Server's (binary(10) LSNs as
// Buffers, datetime values as Dates the way tedious returns them with useUTC, masks as Buffers),
// and the real one (mssql-executor.ts) wraps an `mssql` ConnectionPool. Every value — LSNs,
// capture-instance names passed to functions, page sizes — travels as a typed, bound parameter.
import { lsnToBuffer, type Lsn } from './lsn.js';

export type SqlParamType = 'binary10' | 'int' | 'nvarchar' | 'datetime2';

export interface SqlParam {
  type: SqlParamType;
  value: Buffer | number | string | Date | null;
}

export type SqlParams = Record<string, SqlParam>;

/** One result row, keyed by column name, values as tedious returns them. */
export type SqlRow = Record<string, unknown>;

export interface SqlQueryable {
  query(text: string, params?: SqlParams): Promise<SqlRow[]>;
  /** Reads a large result in batches; the next batch is not read until `onBatch` resolves. */
  stream(text: string, params: SqlParams, batchSize: number, onBatch: (rows: SqlRow[]) => Promise<void>): Promise<void>;
}

export type IsolationLevel = 'snapshot' | 'read-committed';

export interface SqlExecutor extends SqlQueryable {
  /** Runs `work` inside one transaction on one connection; commits when it resolves, rolls back when it throws. */
  transaction<T>(isolation: IsolationLevel, work: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export const param = {
  lsn: (lsn: Lsn | null): SqlParam => ({ type: 'binary10', value: lsn === null ? null : lsnToBuffer(lsn) }),
  int: (value: number): SqlParam => ({ type: 'int', value }),
  nvarchar: (value: string): SqlParam => ({ type: 'nvarchar', value }),
  datetime2: (value: Date): SqlParam => ({ type: 'datetime2', value }),
};

/** Every statement starts with `/* eddy:<name> *\/`: harmless to SQL Server, and the test executor dispatches on it. */
export function queryName(text: string): string | undefined {
  return /^\s*\/\* eddy:([a-z_]+) \*\//.exec(text)?.[1];
}
