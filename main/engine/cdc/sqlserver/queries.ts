// Every statement the SQL Server connector sends, in one place. The fixed ones are constants; the
// two that must name a table or a capture-instance function are built from catalog names through
// quoteName (identifiers.ts). Each starts with a `/* eddy:<name> *\/` tag (see executor.ts).
// Shapes follow Debezium's SqlServerConnection (research/cdc_streaming.md 1.2).
import { changeFunctionName, quoteName } from './identifiers.js';

export const SERVER_INFO = `/* eddy:server_info */
SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS product_version,
       CAST(SERVERPROPERTY('Edition') AS nvarchar(128)) AS edition,
       CAST(SERVERPROPERTY('EngineEdition') AS int) AS engine_edition,
       DB_NAME() AS database_name,
       SUSER_SNAME() AS login_name,
       d.is_cdc_enabled,
       CAST(d.snapshot_isolation_state AS int) AS snapshot_isolation_state,
       DATEPART(TZOFFSET, SYSDATETIMEOFFSET()) AS tz_offset_minutes
FROM sys.databases AS d
WHERE d.database_id = DB_ID()`;

export const DATABASES = `/* eddy:databases */
SELECT name, is_cdc_enabled FROM sys.databases WHERE HAS_DBACCESS(name) = 1 ORDER BY name`;

/** Needs VIEW SERVER STATE; a failure means "unknown", not "stopped" (Debezium's isAgentRunning). */
export const AGENT_STATUS = `/* eddy:agent_status */
SELECT TOP (1) servicename, status_desc FROM sys.dm_server_services WHERE servicename LIKE N'SQL Server Agent%'`;

/** Needs access to msdb; optional (it only adds the retention to the discovery). */
export const CDC_JOBS = `/* eddy:cdc_jobs */
SELECT job_type, pollinginterval, retention FROM msdb.dbo.cdc_jobs WHERE database_id = DB_ID()`;

export const CHANGE_TABLES = `/* eddy:change_tables */
SELECT OBJECT_SCHEMA_NAME(ct.source_object_id) AS source_schema,
       OBJECT_NAME(ct.source_object_id) AS source_table,
       ct.source_object_id, ct.object_id, ct.capture_instance, ct.start_lsn, ct.create_date,
       ct.supports_net_changes, ct.role_name, ct.index_name,
       (SELECT SUM(p.rows) FROM sys.partitions AS p WHERE p.object_id = ct.source_object_id AND p.index_id IN (0, 1)) AS estimated_rows
FROM cdc.change_tables AS ct
ORDER BY source_schema, source_table, ct.start_lsn, ct.create_date`;

/** Cheap per-window check for capture instances created or dropped (the full catalog is read only then). */
export const INSTANCES = `/* eddy:instances */
SELECT capture_instance, start_lsn, source_object_id FROM cdc.change_tables`;

/** Column types come from the change table itself (it mirrors the captured source columns). */
export const CAPTURED_COLUMNS = `/* eddy:captured_columns */
SELECT ct.capture_instance, cc.column_name, cc.column_ordinal, cc.column_type,
       CAST(c.max_length AS int) AS max_length, CAST(c.precision AS int) AS precision, CAST(c.scale AS int) AS scale,
       s.is_nullable, CASE WHEN s.column_id IS NULL THEN 0 ELSE 1 END AS in_source
FROM cdc.captured_columns AS cc
JOIN cdc.change_tables AS ct ON ct.object_id = cc.object_id
LEFT JOIN sys.columns AS c ON c.object_id = ct.object_id AND c.name = cc.column_name
LEFT JOIN sys.columns AS s ON s.object_id = ct.source_object_id AND s.name = cc.column_name
ORDER BY ct.capture_instance, cc.column_ordinal`;

export const PRIMARY_KEYS = `/* eddy:primary_keys */
SELECT i.object_id AS source_object_id, c.name AS column_name, ic.key_ordinal
FROM sys.indexes AS i
JOIN sys.index_columns AS ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id
JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
WHERE i.is_primary_key = 1 AND i.object_id IN (SELECT source_object_id FROM cdc.change_tables)
ORDER BY i.object_id, ic.key_ordinal`;

/** Every column of the captured source tables, to spot columns added after CDC was enabled. */
export const SOURCE_COLUMNS = `/* eddy:source_columns */
SELECT c.object_id AS source_object_id, c.name AS column_name
FROM sys.columns AS c
WHERE c.object_id IN (SELECT source_object_id FROM cdc.change_tables) AND c.is_computed = 0
ORDER BY c.object_id, c.column_id`;

/** The unique index a capture instance was enabled with (@index_name), for tables without a PK. */
export const INDEX_COLUMNS = `/* eddy:index_columns */
SELECT ct.capture_instance, ixc.column_name, ixc.index_ordinal
FROM cdc.index_columns AS ixc
JOIN cdc.change_tables AS ct ON ct.object_id = ixc.object_id
ORDER BY ct.capture_instance, ixc.index_ordinal`;

/** Once per poll: the newest LSN CDC has harvested, the first LSN after the last one read, and the server's clock. */
export const POLL_HEAD = `/* eddy:poll_head */
SELECT sys.fn_cdc_get_max_lsn() AS max_lsn,
       sys.fn_cdc_increment_lsn(@after_lsn) AS next_lsn,
       DATEPART(TZOFFSET, SYSDATETIMEOFFSET()) AS tz_offset_minutes,
       SYSUTCDATETIME() AS server_utc_now`;

/** The commit LSN of the N-th real transaction from @from_lsn (tran_id 0x00 rows are the capture job's markers). */
export const WINDOW_END = `/* eddy:window_end */
SELECT MAX(start_lsn) AS to_lsn, COUNT(*) AS transactions
FROM (SELECT TOP (@max_transactions) start_lsn FROM cdc.lsn_time_mapping
      WHERE start_lsn >= @from_lsn AND tran_id <> 0x00 ORDER BY start_lsn) AS next_lsns`;

export const PENDING_TRANSACTIONS = `/* eddy:pending_transactions */
SELECT COUNT(*) AS pending FROM cdc.lsn_time_mapping WHERE start_lsn > @after_lsn AND start_lsn <= @max_lsn AND tran_id <> 0x00`;

/** 0x00… means the instance does not exist or the login may not read it: an error, never "from the start". */
export const MIN_LSN = `/* eddy:min_lsn */
SELECT sys.fn_cdc_get_min_lsn(@capture_instance) AS min_lsn`;

export const MAX_LSN = `/* eddy:max_lsn */
SELECT sys.fn_cdc_get_max_lsn() AS max_lsn, SYSUTCDATETIME() AS server_utc_now, SYSDATETIME() AS server_local_now`;

/** Whether the capture job has harvested everything committed before @since (server-local time). */
export const CAPTURE_CAUGHT_UP = `/* eddy:capture_caught_up */
SELECT CASE WHEN sys.fn_cdc_map_lsn_to_time(sys.fn_cdc_get_max_lsn()) >= @since THEN 1 ELSE 0 END AS caught_up`;

/** How a captured column is projected: decimals wider than a double's 15 digits travel as text. */
export interface ProjectedColumn {
  name: string;
  asText: boolean;
}

function projection(columns: ProjectedColumn[]): string {
  return columns.map((column) => (column.asText ? `CONVERT(nvarchar(80), ${quoteName(column.name)}) AS ${quoteName(column.name)}` : quoteName(column.name))).join(', ');
}

/**
 * One page of a capture instance's changes in [@from_lsn, @to_lsn] (function mode), after the keyset
 * (@after_commit_lsn, @after_change_lsn), ordered by commit LSN, change LSN, operation. The commit
 * time is server-local `datetime` from sys.fn_cdc_map_lsn_to_time.
 */
export function changesQuery(captureInstance: string, columns: ProjectedColumn[]): string {
  const data = columns.length > 0 ? `, ${projection(columns)}` : '';
  return `/* eddy:changes */
SELECT TOP (@page_size) [__$start_lsn], [__$seqval], [__$operation], [__$update_mask]${data},
       sys.fn_cdc_map_lsn_to_time([__$start_lsn]) AS [__$commit_time]
FROM ${changeFunctionName(captureInstance)}(@from_lsn, @to_lsn, N'all update old')
WHERE [__$start_lsn] > @after_commit_lsn OR ([__$start_lsn] = @after_commit_lsn AND [__$seqval] > @after_change_lsn)
ORDER BY [__$start_lsn], [__$seqval], [__$operation]`;
}

/** Takes (and, inside the snapshot transaction, keeps) a shared table lock: writers wait until commit. */
export function snapshotLockQuery(schema: string, table: string): string {
  return `/* eddy:snapshot_lock */
SELECT TOP (1) 1 AS locked FROM ${quoteName(schema)}.${quoteName(table)} WITH (TABLOCK, HOLDLOCK)`;
}

export function snapshotRowsQuery(schema: string, table: string, columns: ProjectedColumn[], orderBy: string[], tablock: boolean): string {
  const order = orderBy.length > 0 ? `\nORDER BY ${orderBy.map(quoteName).join(', ')}` : '';
  return `/* eddy:snapshot_rows */
SELECT ${projection(columns)} FROM ${quoteName(schema)}.${quoteName(table)}${tablock ? ' WITH (TABLOCK, HOLDLOCK)' : ''}${order}`;
}
