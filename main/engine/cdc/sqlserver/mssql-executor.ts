// The real executor: an `mssql` (tedious) ConnectionPool. `mssql` is loaded on first use, so the
// rest of the connector (and its tests) never needs it. useUTC stays on: tedious then returns
// datetime/datetime2 wall-clock values as if they were UTC, and the reader shifts commit times by
// the server's offset itself (reader.ts).
import { EddyError } from '../../../../shared/contract.js';
import type { IsolationLevel, SqlExecutor, SqlParam, SqlParams, SqlQueryable, SqlRow } from './executor.js';

export interface SqlServerConnectionConfig {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string | undefined;
  encrypt: boolean;
  trustServerCertificate: boolean;
  connectTimeoutMs?: number;
  /** Debezium's database.query.timeout.ms default: 10 minutes. */
  requestTimeoutMs?: number;
}

// The slice of the mssql API this module uses (the package ships no type definitions).
interface MssqlType {
  readonly name?: string;
}
interface MssqlRequest {
  stream: boolean;
  input(name: string, type: unknown, value: unknown): MssqlRequest;
  query(text: string): Promise<{ recordset?: SqlRow[] }>;
  on(event: 'row', listener: (row: SqlRow) => void): MssqlRequest;
  on(event: 'error', listener: (error: unknown) => void): MssqlRequest;
  on(event: 'done', listener: () => void): MssqlRequest;
  pause(): boolean;
  resume(): boolean;
  cancel(): void;
}
interface MssqlPool {
  connect(): Promise<MssqlPool>;
  close(): Promise<void>;
  on(event: 'error', listener: (error: unknown) => void): void;
}
interface MssqlTransaction {
  begin(isolation: number): Promise<MssqlTransaction>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}
export interface MssqlModule {
  ConnectionPool: new (config: Record<string, unknown>) => MssqlPool;
  Request: new (parent: MssqlPool | MssqlTransaction) => MssqlRequest;
  Transaction: new (pool: MssqlPool) => MssqlTransaction;
  ISOLATION_LEVEL: { READ_COMMITTED: number; SNAPSHOT: number };
  Binary: (length: number) => MssqlType;
  Int: MssqlType;
  NVarChar: (length: number) => MssqlType;
  DateTime2: (scale: number) => MssqlType;
}

let loaded: Promise<MssqlModule> | undefined;

export function loadMssql(): Promise<MssqlModule> {
  // A computed specifier keeps bundlers and the type checker from requiring the package at build time.
  const specifier = ['ms', 'sql'].join('');
  loaded ??= import(specifier).then(
    (module: { default?: MssqlModule } & MssqlModule) => module.default ?? module,
    (error: unknown) => {
      loaded = undefined;
      throw new EddyError('UNAVAILABLE', `The SQL Server driver (the "mssql" npm package) is not installed: run npm install mssql. (${error instanceof Error ? error.message : String(error)})`);
    },
  );
  return loaded;
}

function typeOf(mssql: MssqlModule, parameter: SqlParam): unknown {
  switch (parameter.type) {
    case 'binary10':
      return mssql.Binary(10);
    case 'int':
      return mssql.Int;
    case 'nvarchar':
      return mssql.NVarChar(4000);
    case 'datetime2':
      return mssql.DateTime2(7);
  }
}

function request(mssql: MssqlModule, parent: MssqlPool | MssqlTransaction, params: SqlParams = {}): MssqlRequest {
  const created = new mssql.Request(parent);
  for (const [name, parameter] of Object.entries(params)) created.input(name, typeOf(mssql, parameter), parameter.value);
  return created;
}

function queryable(mssql: MssqlModule, parent: MssqlPool | MssqlTransaction): SqlQueryable {
  return {
    async query(text, params) {
      const result = await request(mssql, parent, params).query(text);
      return result.recordset ?? [];
    },
    stream(text, params, batchSize, onBatch) {
      return new Promise<void>((resolve, reject) => {
        const created = request(mssql, parent, params);
        created.stream = true;
        let buffer: SqlRow[] = [];
        let failed = false;
        let chain: Promise<void> = Promise.resolve();
        const fail = (error: unknown): void => {
          if (failed) return;
          failed = true;
          reject(error);
        };
        created.on('row', (row) => {
          if (failed) return;
          buffer.push(row);
          if (buffer.length < batchSize) return;
          const rows = buffer;
          buffer = [];
          created.pause();
          chain = chain.then(() => onBatch(rows)).then(
            () => void created.resume(),
            (error: unknown) => {
              fail(error);
              created.cancel();
            },
          );
        });
        created.on('error', fail);
        created.on('done', () => {
          chain
            .then(async () => {
              if (failed) return;
              if (buffer.length > 0) await onBatch(buffer);
              resolve();
            })
            .catch(fail);
        });
        void created.query(text);
      });
    },
  };
}

export function mssqlConfig(config: SqlServerConnectionConfig): Record<string, unknown> {
  return {
    server: config.host,
    port: config.port,
    database: config.database,
    user: config.user,
    password: config.password,
    connectionTimeout: config.connectTimeoutMs ?? 15_000,
    requestTimeout: config.requestTimeoutMs ?? 600_000,
    pool: { max: 4, min: 0, idleTimeoutMillis: 30_000 },
    options: {
      encrypt: config.encrypt,
      trustServerCertificate: config.trustServerCertificate,
      useUTC: true,
      appName: 'Eddy',
    },
  };
}

export async function openMssqlExecutor(config: SqlServerConnectionConfig): Promise<SqlExecutor> {
  const mssql = await loadMssql();
  const pool = new mssql.ConnectionPool(mssqlConfig(config));
  // A connection dropping later surfaces on the next query; it must not crash the engine.
  pool.on('error', () => undefined);
  await pool.connect();
  const base = queryable(mssql, pool);
  return {
    ...base,
    async transaction<T>(isolation: IsolationLevel, work: (tx: SqlQueryable) => Promise<T>): Promise<T> {
      const tx = new mssql.Transaction(pool);
      await tx.begin(isolation === 'snapshot' ? mssql.ISOLATION_LEVEL.SNAPSHOT : mssql.ISOLATION_LEVEL.READ_COMMITTED);
      try {
        const result = await work(queryable(mssql, tx));
        await tx.commit();
        return result;
      } catch (error) {
        await tx.rollback().catch(() => undefined);
        throw error;
      }
    },
    async close() {
      await pool.close();
    },
  };
}
