// Discovery and "test connection" for SQL Server CDC: the server and database, whether CDC is
// enabled, whether the SQL Server Agent runs (without it the capture job harvests nothing and a
// capture sees no change at all), the captured tables with their capture instances, columns and
// keys, and warnings in plain words.
import { EddyError } from '../../../../shared/contract.js';
import type { ConnectionTestResult, SqlServerProfile } from '../../../../shared/contracts/connections.js';
import type { MssqlDiscovery, MssqlTableInfo } from '../../../../shared/contracts/cdc.js';
import { diagnoseConnectionError } from '../../connections/diagnose.js';
import type { SecretResolver } from '../../secrets.js';
import { loadCatalog, type CapturedTable } from './catalog.js';
import type { SqlExecutor, SqlQueryable } from './executor.js';
import { lsnToText } from './lsn.js';
import { openMssqlExecutor, type SqlServerConnectionConfig } from './mssql-executor.js';
import { AGENT_STATUS, CDC_JOBS, DATABASES, SERVER_INFO, SOURCE_COLUMNS } from './queries.js';

export interface ServerInfo {
  productVersion: string;
  edition: string;
  engineEdition: number;
  database: string;
  login: string;
  cdcEnabled: boolean;
  snapshotIsolation: boolean;
  tzOffsetMinutes: number;
}

export type AgentState = MssqlDiscovery['agent'];

export async function readServerInfo(db: SqlQueryable): Promise<ServerInfo> {
  const [row] = await db.query(SERVER_INFO);
  return {
    productVersion: String(row?.product_version ?? ''),
    edition: String(row?.edition ?? ''),
    engineEdition: Number(row?.engine_edition ?? 0),
    database: String(row?.database_name ?? ''),
    login: String(row?.login_name ?? ''),
    cdcEnabled: Boolean(row?.is_cdc_enabled),
    snapshotIsolation: Number(row?.snapshot_isolation_state ?? 0) === 1,
    tzOffsetMinutes: Number(row?.tz_offset_minutes ?? 0),
  };
}

/** EngineEdition 5 is Azure SQL Database: CDC runs on its own scheduler there, no Agent. */
export async function readAgentState(db: SqlQueryable, engineEdition: number): Promise<AgentState> {
  if (engineEdition === 5) return { state: 'not-needed', message: 'Azure SQL Database runs the CDC capture on its own scheduler; no SQL Server Agent is needed.' };
  try {
    const [row] = await db.query(AGENT_STATUS);
    if (!row) return { state: 'unknown', message: 'The SQL Server Agent service is not listed in sys.dm_server_services; make sure it runs, or the capture job records no changes.' };
    const status = String(row.status_desc ?? '');
    if (/^running$/i.test(status)) return { state: 'running', message: 'The SQL Server Agent is running, so the CDC capture job can harvest changes.' };
    return {
      state: 'stopped',
      message: `The SQL Server Agent is ${status.toLowerCase() || 'not running'}: the CDC capture job harvests nothing while it is stopped, so captures will see no new changes. Start the SQL Server Agent service.`,
    };
  } catch {
    return {
      state: 'unknown',
      message: 'Could not check whether the SQL Server Agent runs (that needs VIEW SERVER STATE). If it does not, the CDC capture job records no changes.',
    };
  }
}

function tableWarnings(table: CapturedTable, uncaptured: string[]): string[] {
  const warnings: string[] = [];
  if (table.keyColumns.length === 0) warnings.push('No primary key or unique index: its events will have null keys (as with Debezium).');
  if (table.instances.length > 1) {
    const next = table.instances.at(-1)!;
    warnings.push(`Two capture instances: a capture switches to ${next.name} at LSN ${lsnToText(next.startLsn)}; drop ${table.instances[0]!.name} once it has passed that point.`);
  }
  const dropped = table.instances.at(-1)!.columns.filter((column) => !column.inSource).map((column) => column.name);
  if (dropped.length > 0) warnings.push(`Captured column(s) ${dropped.join(', ')} no longer exist in the table; CDC records NULL for them.`);
  if (uncaptured.length > 0) {
    warnings.push(`Column(s) ${uncaptured.join(', ')} are not captured (added after CDC was enabled): create a new capture instance (sys.sp_cdc_enable_table with another @capture_instance) to capture them.`);
  }
  return warnings;
}

export async function discover(db: SqlQueryable): Promise<MssqlDiscovery> {
  const info = await readServerInfo(db);
  const warnings: string[] = [];
  const databases = (await db.query(DATABASES)).map((row) => ({ name: String(row.name), cdcEnabled: Boolean(row.is_cdc_enabled) }));
  const agent = await readAgentState(db, info.engineEdition);
  if (agent.state === 'stopped' || agent.state === 'unknown') warnings.push(agent.message);
  if (info.engineEdition === 4) warnings.push('SQL Server Express does not support change data capture.');
  let retentionMinutes: number | null = null;
  try {
    const cleanup = (await db.query(CDC_JOBS)).find((row) => String(row.job_type) === 'cleanup');
    if (cleanup && cleanup.retention !== null && cleanup.retention !== undefined) retentionMinutes = Number(cleanup.retention);
  } catch {
    // msdb is not readable for this login; the retention is only informative.
  }
  let tables: MssqlTableInfo[] = [];
  if (!info.cdcEnabled) {
    warnings.push(`CDC is not enabled on database ${info.database}: EXEC sys.sp_cdc_enable_db, then sys.sp_cdc_enable_table for each table.`);
  } else {
    try {
      const catalog = await loadCatalog(db);
      const sourceColumns = new Map<number, string[]>();
      for (const row of await db.query(SOURCE_COLUMNS)) {
        const id = Number(row.source_object_id);
        sourceColumns.set(id, [...(sourceColumns.get(id) ?? []), String(row.column_name)]);
      }
      tables = [...catalog.values()].map((table) => {
        const newest = table.instances.at(-1)!;
        const uncaptured = (sourceColumns.get(table.sourceObjectId) ?? []).filter((name) => !newest.columns.some((column) => column.name === name));
        return {
          schema: table.schema,
          table: table.table,
          primaryKey: table.primaryKey,
          keyColumns: table.keyColumns,
          estimatedRows: table.estimatedRows,
          captureInstances: table.instances.map((instance) => ({
            name: instance.name,
            startLsn: lsnToText(instance.startLsn),
            createdAt: instance.createDate,
            columns: instance.columns.map((column) => ({ name: column.name, ordinal: column.ordinal, type: column.type, nullable: column.nullable, inSource: column.inSource })),
          })),
          uncapturedColumns: uncaptured,
          warnings: tableWarnings(table, uncaptured),
        };
      });
      if (tables.length === 0) warnings.push(`CDC is enabled on ${info.database} but no table is captured yet: EXEC sys.sp_cdc_enable_table @source_schema, @source_name, @role_name = NULL.`);
    } catch (error) {
      warnings.push(`Could not read the CDC catalog (cdc.change_tables): ${error instanceof Error ? error.message : String(error)}. The login needs SELECT on the cdc schema (db_owner, or a grant).`);
    }
  }
  if (!info.snapshotIsolation) warnings.push('ALLOW_SNAPSHOT_ISOLATION is OFF: an initial snapshot needs it, or the "tablock" snapshot, which blocks writers while it reads.');
  return {
    serverVersion: info.productVersion,
    edition: info.edition,
    database: info.database,
    login: info.login,
    cdcEnabled: info.cdcEnabled,
    snapshotIsolation: info.snapshotIsolation,
    timeZoneOffsetMinutes: info.tzOffsetMinutes,
    agent,
    retentionMinutes,
    databases,
    tables,
    warnings,
  };
}

const SOCKET_CODES = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET'];

/**
 * tedious wraps the socket error two ConnectionErrors deep, inside an AggregateError (one per
 * address tried), and says ETIMEOUT where Node says ETIMEDOUT: surface the code that says what
 * happened, so diagnoseConnectionError can name the stage.
 */
export function normalizeDriverError(error: unknown): unknown {
  const found: string[] = [];
  const walk = (current: unknown, depth: number): void => {
    if (!current || typeof current !== 'object' || depth > 6) return;
    const record = current as { code?: unknown; originalError?: unknown; cause?: unknown; errors?: unknown };
    if (typeof record.code === 'string') found.push(record.code);
    walk(record.originalError, depth + 1);
    walk(record.cause, depth + 1);
    if (Array.isArray(record.errors)) for (const inner of record.errors) walk(inner, depth + 1);
  };
  walk(error, 0);
  const message = error instanceof Error ? error.message : String(error);
  const socket = SOCKET_CODES.find((code) => found.includes(code));
  if (socket) return Object.assign(new Error(message), { code: socket, cause: error });
  if (found.includes('ETIMEOUT')) return Object.assign(new Error(message), { code: 'ETIMEDOUT', cause: error });
  return error;
}

export type ExecutorOpener = (config: SqlServerConnectionConfig) => Promise<SqlExecutor>;

/** Opens a connection for a command; a failure becomes an EddyError saying where and why, in plain words. */
export async function openOrExplain(config: SqlServerConnectionConfig, open: ExecutorOpener): Promise<SqlExecutor> {
  try {
    return await open(config);
  } catch (error) {
    if (error instanceof EddyError) throw error;
    const diagnosis = diagnoseConnectionError(normalizeDriverError(error), `SQL Server ${config.host}:${config.port} (database ${config.database})`);
    throw new EddyError(diagnosis.stage === 'auth' || diagnosis.stage === 'permission' ? 'FORBIDDEN' : 'UNAVAILABLE', diagnosis.message, { stage: diagnosis.stage });
  }
}

/** Opens a connection; failures become an EddyError-free diagnosis (stage + plain words). */
export async function connectForTest(config: SqlServerConnectionConfig, open: ExecutorOpener): Promise<{ db: SqlExecutor } | { failure: Pick<ConnectionTestResult, 'stage' | 'message'> }> {
  try {
    return { db: await open(config) };
  } catch (error) {
    if ((error as { code?: unknown })?.code === 'UNAVAILABLE') return { failure: { stage: 'config', message: error instanceof Error ? error.message : String(error) } };
    return { failure: diagnoseConnectionError(normalizeDriverError(error), `SQL Server ${config.host}:${config.port}`) };
  }
}

/** "Test connection" for a SQL Server profile: connect, then check CDC and the Agent, in plain words. */
export async function testSqlServerConnection(
  profile: SqlServerProfile,
  resolveSecret: SecretResolver,
  open: ExecutorOpener = openMssqlExecutor,
): Promise<ConnectionTestResult> {
  const started = Date.now();
  let password: string | undefined;
  try {
    password = profile.password === undefined ? undefined : await resolveSecret(profile.password);
  } catch (error) {
    return { ok: false, stage: 'secret', message: error instanceof Error ? error.message : String(error), elapsedMs: Date.now() - started };
  }
  const config: SqlServerConnectionConfig = {
    host: profile.host,
    port: profile.port,
    database: profile.database,
    user: profile.user,
    password,
    encrypt: profile.encrypt,
    trustServerCertificate: profile.trustServerCertificate,
  };
  return testWithConfig(config, open, started);
}

export async function testWithConfig(config: SqlServerConnectionConfig, open: ExecutorOpener, started = Date.now()): Promise<ConnectionTestResult> {
  const connected = await connectForTest(config, open);
  if ('failure' in connected) return { ok: false, ...connected.failure, elapsedMs: Date.now() - started };
  const db = connected.db;
  try {
    let info: ServerInfo;
    try {
      info = await readServerInfo(db);
    } catch (error) {
      const diagnosis = diagnoseConnectionError(error, `SQL Server ${config.host}:${config.port}`);
      return { ok: false, stage: diagnosis.stage === 'connect' ? 'permission' : diagnosis.stage, message: diagnosis.message, elapsedMs: Date.now() - started };
    }
    const agent = await readAgentState(db, info.engineEdition);
    const parts = [`Connected to SQL Server ${info.productVersion} (${info.edition}) as ${info.login}, database ${info.database}.`];
    let captured: number | null = null;
    if (!info.cdcEnabled) {
      parts.push(`CDC is NOT enabled on ${info.database} (EXEC sys.sp_cdc_enable_db), so there is nothing to capture yet.`);
    } else {
      try {
        captured = (await loadCatalog(db)).size;
        parts.push(captured === 0 ? 'CDC is enabled, but no table is captured yet (sys.sp_cdc_enable_table).' : `CDC is enabled; ${captured} table(s) captured.`);
      } catch {
        parts.push('CDC is enabled, but this login cannot read cdc.change_tables (it needs db_owner or SELECT on the cdc schema).');
      }
    }
    parts.push(agent.message);
    return {
      ok: true,
      stage: 'ok',
      message: parts.join(' '),
      elapsedMs: Date.now() - started,
      details: { version: info.productVersion, edition: info.edition, database: info.database, cdcEnabled: info.cdcEnabled, capturedTables: captured, agent: agent.state },
    };
  } finally {
    await db.close().catch(() => undefined);
  }
}
