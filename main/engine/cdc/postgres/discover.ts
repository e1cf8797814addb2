// Discovery for PostgreSQL capture: tables with their primary keys and REPLICA IDENTITY (and a
// warning when updates or deletes would carry no old values), wal_level, replication slots with
// wal_status and retained WAL, and publications. Also the "offer FULL" fix.
import type pg from 'pg';
import { EddyError } from '../../../../shared/contract.js';
import type { PgDiscovery, PgSlotInfo, PgTableInfo } from '../../../../shared/contracts/cdc.js';
import { captureWarnings, quoteIdent, serverFacts } from './client.js';

const IDENTITY: Record<string, PgTableInfo['replicaIdentity']> = { d: 'default', n: 'nothing', f: 'full', i: 'index' };

/** Why a table's updates and deletes would reach a capture without (enough) old values. */
export function identityWarning(table: Pick<PgTableInfo, 'primaryKey' | 'replicaIdentity'>): string | undefined {
  switch (table.replicaIdentity) {
    case 'full':
      return undefined;
    case 'nothing':
      return 'REPLICA IDENTITY NOTHING: updates and deletes carry no old values (and PostgreSQL refuses them once the table is published for update/delete). Set REPLICA IDENTITY FULL.';
    case 'index':
      return 'REPLICA IDENTITY USING INDEX: deletes and updates carry only the index columns as old values. Set FULL for complete `before` images.';
    case 'default':
      return table.primaryKey.length === 0
        ? 'No primary key and REPLICA IDENTITY DEFAULT: PostgreSQL refuses updates and deletes on this table once it is published, and events get a null key. Add a primary key or set REPLICA IDENTITY FULL.'
        : 'REPLICA IDENTITY DEFAULT: updates carry no `before` image and deletes only the primary key. Set FULL if transforms need old values.';
  }
}

interface TableRow {
  oid: number;
  schema: string;
  name: string;
  relreplident: string;
  identity_index: string | null;
  estimated_rows: string;
  primary_key: string[] | null;
  publications: string[] | null;
}

const TABLES_SQL = `
  SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name, c.relreplident,
         (SELECT i.indexrelid::regclass::text FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident) AS identity_index,
         c.reltuples::bigint::text AS estimated_rows,
         (SELECT array_agg(a.attname::text ORDER BY k.ord)
            FROM pg_index i
            CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
           WHERE i.indrelid = c.oid AND i.indisprimary) AS primary_key,
         (SELECT array_agg(p.pubname::text ORDER BY p.pubname)
            FROM pg_publication p
           WHERE p.puballtables OR EXISTS (SELECT 1 FROM pg_publication_rel pr WHERE pr.prpubid = p.oid AND pr.prrelid = c.oid)) AS publications
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p')
     AND NOT c.relispartition
     AND n.nspname NOT IN ('pg_catalog', 'information_schema')
     AND n.nspname NOT LIKE 'pg_toast%'
     AND n.nspname NOT LIKE 'pg_temp%'`;

function tableInfo(row: TableRow): PgTableInfo {
  const info: PgTableInfo = {
    schema: row.schema,
    name: row.name,
    primaryKey: row.primary_key ?? [],
    replicaIdentity: IDENTITY[row.relreplident] ?? 'default',
    replicaIdentityIndex: row.identity_index,
    // -1: never vacuumed or analyzed, so PostgreSQL has no estimate yet.
    estimatedRows: Math.max(-1, Number(row.estimated_rows)),
    publications: row.publications ?? [],
  };
  const warning = identityWarning(info);
  if (warning) info.warning = warning;
  return info;
}

export async function listTables(client: pg.Client, filter: { schemas?: string[]; tables?: { schema: string; table: string }[] } = {}): Promise<(PgTableInfo & { oid: number })[]> {
  const conditions: string[] = [];
  const values: unknown[] = [];
  if (filter.schemas?.length) {
    values.push(filter.schemas);
    conditions.push(`n.nspname = ANY($${values.length}::text[])`);
  }
  if (filter.tables?.length) {
    values.push(filter.tables.map((table) => table.schema));
    values.push(filter.tables.map((table) => table.table));
    conditions.push(`(n.nspname, c.relname) IN (SELECT * FROM unnest($${values.length - 1}::text[], $${values.length}::text[]))`);
  }
  const sql = `${TABLES_SQL}${conditions.map((condition) => ` AND ${condition}`).join('')} ORDER BY 2, 3 LIMIT 5000`;
  const result = await client.query<TableRow>(sql, values);
  return result.rows.map((row) => ({ ...tableInfo(row), oid: row.oid }));
}

interface SlotRow {
  slot_name: string;
  plugin: string | null;
  slot_type: string;
  database: string | null;
  active: boolean;
  active_pid: number | null;
  wal_status: string | null;
  confirmed_flush_lsn: string | null;
  restart_lsn: string | null;
  retained_bytes: string | null;
}

const SLOTS_SQL = `
  SELECT slot_name, plugin, slot_type, database, active, active_pid, wal_status,
         confirmed_flush_lsn::text, restart_lsn::text,
         CASE WHEN restart_lsn IS NULL THEN NULL ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint::text END AS retained_bytes
    FROM pg_replication_slots`;

export interface SlotState extends PgSlotInfo {
  activePid: number | null;
}

function slotInfo(row: SlotRow): SlotState {
  return {
    name: row.slot_name,
    plugin: row.plugin,
    slotType: row.slot_type,
    database: row.database,
    active: row.active,
    activePid: row.active_pid,
    walStatus: row.wal_status,
    confirmedFlushLsn: row.confirmed_flush_lsn,
    restartLsn: row.restart_lsn,
    retainedBytes: row.retained_bytes === null ? null : Number(row.retained_bytes),
  };
}

export async function listSlots(client: pg.Client): Promise<SlotState[]> {
  const result = await client.query<SlotRow>(`${SLOTS_SQL} ORDER BY slot_name`);
  return result.rows.map(slotInfo);
}

export async function readSlot(client: pg.Client, name: string): Promise<SlotState | undefined> {
  const result = await client.query<SlotRow>(`${SLOTS_SQL} WHERE slot_name = $1`, [name]);
  return result.rows[0] ? slotInfo(result.rows[0]) : undefined;
}

export async function listPublications(client: pg.Client): Promise<PgDiscovery['publications']> {
  const result = await client.query<{ pubname: string; puballtables: boolean; pubinsert: boolean; pubupdate: boolean; pubdelete: boolean; pubtruncate: boolean; tables: string[] | null }>(
    `SELECT p.pubname, p.puballtables, p.pubinsert, p.pubupdate, p.pubdelete, p.pubtruncate,
            (SELECT array_agg((t.schemaname || '.' || t.tablename)::text ORDER BY 1) FROM pg_publication_tables t WHERE t.pubname = p.pubname) AS tables
       FROM pg_publication p ORDER BY p.pubname`,
  );
  return result.rows.map((row) => ({
    name: row.pubname,
    allTables: row.puballtables,
    tables: row.tables ?? [],
    insert: row.pubinsert,
    update: row.pubupdate,
    delete: row.pubdelete,
    truncate: row.pubtruncate,
  }));
}

export async function discoverPostgres(client: pg.Client, schemas?: string[]): Promise<PgDiscovery> {
  const facts = await serverFacts(client);
  const settings = await client.query<{ name: string; setting: string; unit: string | null }>(
    `SELECT name, setting, unit FROM pg_settings WHERE name IN ('max_replication_slots', 'max_slot_wal_keep_size')`,
  );
  const setting = (name: string): string => settings.rows.find((row) => row.name === name)?.setting ?? '';
  const keepRaw = setting('max_slot_wal_keep_size');
  const tables = (await listTables(client, schemas ? { schemas } : {})).map(({ oid: _oid, ...table }) => table);
  const slots = (await listSlots(client)).map(({ activePid: _pid, ...slot }) => slot);
  const warnings = captureWarnings(facts);
  for (const slot of slots) {
    if (slot.walStatus === 'lost') warnings.push(`Slot ${slot.name} is invalidated (wal_status = lost): the changes it needed are gone. Captures on it stop with "gap detected"; re-snapshot to recover.`);
    else if (!slot.active && (slot.retainedBytes ?? 0) > 1024 ** 3) warnings.push(`Slot ${slot.name} is inactive and holds ${(slot.retainedBytes! / 1024 ** 3).toFixed(1)} GB of WAL on the server; drop it if nothing will read it.`);
  }
  return {
    serverVersion: facts.serverVersion,
    database: facts.database,
    user: facts.user,
    walLevel: facts.walLevel,
    canReplicate: facts.canReplicate,
    maxReplicationSlots: Number(setting('max_replication_slots')),
    maxSlotWalKeepSize: keepRaw === '-1' || keepRaw === '' ? '-1' : `${keepRaw} MB`,
    tables,
    slots,
    publications: await listPublications(client),
    warnings,
  };
}

/** The "offer FULL" fix (or back to DEFAULT), then the table as discovery now sees it. */
export async function setReplicaIdentity(client: pg.Client, schema: string, table: string, identity: 'full' | 'default'): Promise<PgTableInfo> {
  const [found] = await listTables(client, { tables: [{ schema, table }] });
  if (!found) throw new EddyError('NOT_FOUND', `There is no table ${schema}.${table} in this database.`);
  await client.query(`ALTER TABLE ${quoteIdent(schema)}.${quoteIdent(table)} REPLICA IDENTITY ${identity === 'full' ? 'FULL' : 'DEFAULT'}`);
  const [after] = await listTables(client, { tables: [{ schema, table }] });
  const { oid: _oid, ...info } = after!;
  return info;
}
