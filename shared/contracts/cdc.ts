// The contract's part for CDC sources: SQL Server change data capture and PostgreSQL logical decoding (issue 5).
// Commands and event streams are merged into shared/contract.ts; the engine implements them in
// its feature folder with `HandlersFor<typeof cdcCommands>`.
import { z } from 'zod';
import { ErrorEnvelopeSchema, type CommandTable, type EventTable } from '../contract-kit.js';
import { ConnectionTestResultSchema } from './connections.js';

// ---------------------------------------------------------------------------------------------
// Generic: running captures and their source state, shared by every CDC source kind.

export const CaptureKindSchema = z.enum(['postgres', 'sqlserver']);

export const SourceStateNameSchema = z.enum(['starting', 'snapshotting', 'running', 'caught-up', 'lagging', 'gap-detected', 'error', 'stopped']);
export type SourceStateName = z.infer<typeof SourceStateNameSchema>;

/** What a capture is doing right now, as the UI shows it (pushed on `onSourceState`). */
export const SourceStateSchema = z.object({
  id: z.string(),
  kind: CaptureKindSchema,
  connectionId: z.string().optional(),
  /** e.g. "PostgreSQL shop: public.orders, public.customers". */
  title: z.string(),
  state: SourceStateNameSchema,
  /** The job that runs the capture (progress, rate, cancel). */
  jobId: z.string().optional(),
  /** Event-log streams the capture writes. */
  streams: z.array(z.string()),
  /** Events handed to the log by this run. */
  events: z.number(),
  /** How far behind the source the capture is, in whatever units the source can tell. */
  lagEvents: z.number().optional(),
  lagBytes: z.number().optional(),
  lagMs: z.number().optional(),
  message: z.string().optional(),
  /** What the user should know that did not stop the capture (a change kept without its values, a snapshot not taken); kept while it runs. */
  warnings: z.array(z.string()).optional(),
  /** Set in `gap-detected`: the source positions whose changes can no longer be read. */
  gap: z.object({ from: z.string(), to: z.string(), recommendation: z.string().optional() }).optional(),
  /** The last source position the log has durably stored (PostgreSQL: the slot's confirmed LSN). */
  position: z.string().optional(),
  error: ErrorEnvelopeSchema.optional(),
  /** Once stopped (or failed), `resumeCapture` starts it again from its stored position with the same tables and options. */
  resumable: z.boolean().optional(),
  /** `resnapshotCapture` can start it over (the stored position set aside, a new snapshot): offered after a gap. */
  canResnapshot: z.boolean().optional(),
  startedAt: z.number(),
  updatedAt: z.number(),
});
export type SourceState = z.infer<typeof SourceStateSchema>;

// ---------------------------------------------------------------------------------------------
// PostgreSQL logical decoding (pgoutput).

/** A saved connection profile, or an inline URL (tests, the CLI); exactly one of them. */
const PgTargetFields = {
  connectionId: z.string().min(1).max(63).optional(),
  url: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'a postgres:// URL')
    .max(2048)
    .optional(),
};
const exactlyOneTarget = (value: { connectionId?: string | undefined; url?: string | undefined }): boolean => (value.connectionId === undefined) !== (value.url === undefined);
const targetMessage = { message: 'give either connectionId or url' };

/** `schema.table`, exactly as the catalog spells it (no case folding, no quotes). */
export const PgTableNameSchema = z.string().regex(/^[^.\s"]{1,63}\.[^.\s"]{1,63}$/, 'a table as schema.table, e.g. public.orders (case-sensitive, no quotes)');
/** Slot and publication names: what PostgreSQL allows for slots (lower-case letters, digits, underscore). */
export const PgSlotNameSchema = z.string().regex(/^[a-z0-9_]{1,63}$/, 'lower-case letters, digits and underscores, at most 63');

export const PgTargetSchema = z.object(PgTargetFields).strict().refine(exactlyOneTarget, targetMessage);

export const PgReplicaIdentitySchema = z.enum(['default', 'nothing', 'full', 'index']);

export const PgTableInfoSchema = z.object({
  schema: z.string(),
  name: z.string(),
  primaryKey: z.array(z.string()),
  replicaIdentity: PgReplicaIdentitySchema,
  /** The index used when replicaIdentity is `index`. */
  replicaIdentityIndex: z.string().nullable(),
  /** PostgreSQL's estimate (pg_class.reltuples); -1 while it has none (never analyzed). */
  estimatedRows: z.number(),
  /** Publications that already publish this table. */
  publications: z.array(z.string()),
  /** Why updates or deletes would carry no (or partial) old values; set FULL to fix. */
  warning: z.string().optional(),
});

/**
 * A table PostgreSQL refuses UPDATE and DELETE on once a publication publishes it: no replica
 * identity (NOTHING, or DEFAULT without a primary key). Captures never publish one (the
 * application's writes would fail), and discovery marks it.
 */
export function publishingBlocksWrites(table: { replicaIdentity: string; primaryKey: readonly string[] }): boolean {
  return table.replicaIdentity === 'nothing' || (table.replicaIdentity === 'default' && table.primaryKey.length === 0);
}
export type PgTableInfo = z.infer<typeof PgTableInfoSchema>;

export const PgSlotInfoSchema = z.object({
  name: z.string(),
  plugin: z.string().nullable(),
  slotType: z.string(),
  database: z.string().nullable(),
  active: z.boolean(),
  /** reserved | extended | unreserved | lost (lost: the changes it needed are gone). */
  walStatus: z.string().nullable(),
  confirmedFlushLsn: z.string().nullable(),
  restartLsn: z.string().nullable(),
  /** WAL the slot keeps on the server, in bytes. */
  retainedBytes: z.number().nullable(),
});
export type PgSlotInfo = z.infer<typeof PgSlotInfoSchema>;

export const PgPublicationInfoSchema = z.object({
  name: z.string(),
  allTables: z.boolean(),
  tables: z.array(z.string()),
  insert: z.boolean(),
  update: z.boolean(),
  delete: z.boolean(),
  truncate: z.boolean(),
});

export const PgDiscoverySchema = z.object({
  serverVersion: z.string(),
  database: z.string(),
  user: z.string(),
  walLevel: z.string(),
  /** The user is a superuser or has REPLICATION. */
  canReplicate: z.boolean(),
  maxReplicationSlots: z.number(),
  /** -1 (unlimited) or a size: how much WAL a slot may hold before PostgreSQL invalidates it. */
  maxSlotWalKeepSize: z.string(),
  tables: z.array(PgTableInfoSchema),
  slots: z.array(PgSlotInfoSchema),
  publications: z.array(PgPublicationInfoSchema),
  warnings: z.array(z.string()),
});
export type PgDiscovery = z.infer<typeof PgDiscoverySchema>;

export const PgStartCaptureRequestSchema = z
  .object({
    ...PgTargetFields,
    tables: z.array(PgTableNameSchema).min(1).max(500),
    /** Default: `eddy_<database>_<hash of the table list>`. */
    slotName: PgSlotNameSchema.optional(),
    /** Default: the slot's name. */
    publicationName: PgSlotNameSchema.optional(),
    /** Create the slot when it does not exist (never re-created after a gap unless resetSlot). */
    createSlot: z.boolean().default(true),
    /** Create the publication (FOR TABLE ...) when missing, or add missing tables to it. */
    createPublication: z.boolean().default(true),
    /** Read the current rows as `r` events first, consistent with the new slot's start. */
    snapshot: z.boolean().default(false),
    /** Explicit recovery after a gap: drop the slot, create it anew and re-snapshot. */
    resetSlot: z.boolean().default(false),
    /** Stop after this many events (the transaction that reaches it is finished). */
    maxEvents: z.number().int().min(1).optional(),
    /** Stop once everything committed before the start has been captured. */
    untilCaughtUp: z.boolean().default(false),
    /** Most events per append to the log. */
    batchSize: z.number().int().min(1).max(50_000).default(5000),
  })
  .strict()
  .refine(exactlyOneTarget, targetMessage);

export const PgStartCaptureResponseSchema = z.object({
  captureId: z.string(),
  jobId: z.string(),
  slotName: z.string(),
  publicationName: z.string(),
  streams: z.array(z.string()),
});

export const postgresCdcCommands = {
  /** Connects, then reports the server version, wal_level and whether the user may replicate. */
  pgTestConnection: { request: PgTargetSchema, response: ConnectionTestResultSchema },
  /** Tables with keys and REPLICA IDENTITY, wal_level, slots (with wal_status) and publications. */
  pgDiscover: {
    request: z
      .object({ ...PgTargetFields, schemas: z.array(z.string().min(1).max(63)).max(100).optional() })
      .strict()
      .refine(exactlyOneTarget, targetMessage),
    response: PgDiscoverySchema,
  },
  /** The "offer FULL" fix: `ALTER TABLE ... REPLICA IDENTITY FULL` (or back to DEFAULT). */
  pgSetReplicaIdentity: {
    request: z
      .object({ ...PgTargetFields, table: PgTableNameSchema, identity: z.enum(['full', 'default']).default('full') })
      .strict()
      .refine(exactlyOneTarget, targetMessage),
    response: PgTableInfoSchema,
  },
  /** Starts capturing into the event log as a job; its state appears on `onSourceState`. */
  pgStartCapture: { request: PgStartCaptureRequestSchema, response: PgStartCaptureResponseSchema },
  /** Drops a replication slot (slots pin WAL on the server) and optionally a publication. */
  pgDropSlot: {
    request: z
      .object({ ...PgTargetFields, slotName: PgSlotNameSchema, publicationName: PgSlotNameSchema.optional() })
      .strict()
      .refine(exactlyOneTarget, targetMessage),
    response: z.object({ droppedSlot: z.boolean(), droppedPublication: z.boolean() }),
  },
} as const satisfies CommandTable;

// ---------------------------------------------------------------------------------------------
// SQL Server change data capture (commands prefixed `mssql`; engine: main/engine/cdc/sqlserver/).

/** A saved SQL Server connection profile, or an inline mssql:// URL (tests, the CLI); exactly one of them. */
const MssqlTargetFields = {
  connectionId: z.string().min(1).max(63).optional(),
  url: z
    .string()
    .regex(/^(mssql|sqlserver):\/\//, 'an mssql:// URL')
    .max(2048)
    .optional(),
  /** Another database on the same server (as listed by mssqlDiscover). */
  database: z.string().min(1).max(128).optional(),
};
const exactlyOneMssqlTarget = (value: { connectionId?: string | undefined; url?: string | undefined }): boolean => (value.connectionId === undefined) !== (value.url === undefined);
const mssqlTargetMessage = { message: 'give either connectionId or url' };

/** `schema.table` (or bracket-quoted parts); only ever matched against cdc.change_tables. */
export const MssqlTableNameSchema = z.string().min(1).max(300);

export const MssqlTargetSchema = z.object(MssqlTargetFields).strict().refine(exactlyOneMssqlTarget, mssqlTargetMessage);

export const MssqlColumnInfoSchema = z.object({
  name: z.string(),
  /** The column's bit in `__$update_mask` (cdc.captured_columns.column_ordinal). */
  ordinal: z.number(),
  type: z.string(),
  nullable: z.boolean(),
  /** False once the column was dropped from the table (CDC keeps capturing NULLs for it). */
  inSource: z.boolean(),
});

export const MssqlCaptureInstanceInfoSchema = z.object({
  name: z.string(),
  /** Debezium's LSN text, e.g. `00000027:00000758:0003`. */
  startLsn: z.string(),
  createdAt: z.number(),
  columns: z.array(MssqlColumnInfoSchema),
});

export const MssqlTableInfoSchema = z.object({
  schema: z.string(),
  table: z.string(),
  primaryKey: z.array(z.string()),
  /** The event key: the primary key, else the instance's unique index, else empty (null keys). */
  keyColumns: z.array(z.string()),
  estimatedRows: z.number().nullable(),
  /** Oldest first; two mean a schema change the capture switches over at the newer one's start LSN. */
  captureInstances: z.array(MssqlCaptureInstanceInfoSchema),
  /** Table columns the newest capture instance does not capture (added after CDC was enabled). */
  uncapturedColumns: z.array(z.string()),
  warnings: z.array(z.string()),
});
export type MssqlTableInfo = z.infer<typeof MssqlTableInfoSchema>;

export const MssqlDiscoverySchema = z.object({
  serverVersion: z.string(),
  edition: z.string(),
  database: z.string(),
  login: z.string(),
  cdcEnabled: z.boolean(),
  /** ALLOW_SNAPSHOT_ISOLATION is ON (the non-blocking initial snapshot needs it). */
  snapshotIsolation: z.boolean(),
  /** Minutes the server's local time is ahead of UTC (commit times are converted with it). */
  timeZoneOffsetMinutes: z.number(),
  agent: z.object({ state: z.enum(['running', 'stopped', 'unknown', 'not-needed']), message: z.string() }),
  /** The CDC cleanup job's retention, when msdb is readable. */
  retentionMinutes: z.number().nullable(),
  databases: z.array(z.object({ name: z.string(), cdcEnabled: z.boolean() })),
  tables: z.array(MssqlTableInfoSchema),
  warnings: z.array(z.string()),
});
export type MssqlDiscovery = z.infer<typeof MssqlDiscoverySchema>;

export const MssqlSnapshotIsolationSchema = z.enum(['snapshot', 'tablock']);

export const MssqlStartCaptureRequestSchema = z
  .object({
    ...MssqlTargetFields,
    tables: z.array(MssqlTableNameSchema).min(1).max(500),
    /** Names the stored position (`.eddy/cdc/sqlserver/<name>.json`); default `<database>-<hash of the tables>`. Same name = resume. */
    name: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/, 'letters, digits, dot, dash and underscore')
      .optional(),
    /** `source.name` (Debezium's topic.prefix); default: the database name. */
    serverName: z.string().min(1).max(128).optional(),
    /** Read the current rows as `r` events first, then stream from the snapshot's LSN. */
    snapshot: z.boolean().default(false),
    /** Set the stored position aside first (kept beside it); with `snapshot` this is the re-snapshot after a gap. */
    resetPosition: z.boolean().default(false),
    /** `snapshot` never blocks writers (needs ALLOW_SNAPSHOT_ISOLATION); `tablock` is exact but blocks writers while it reads. */
    isolation: MssqlSnapshotIsolationSchema.default('snapshot'),
    /** Without a snapshot or a stored position: from now on, or every change CDC still retains. */
    startAt: z.enum(['now', 'earliest']).default('now'),
    /** Most transactions per poll (Debezium's max.iteration.transactions). */
    maxTransactionsPerPoll: z.number().int().min(1).max(100_000).default(500),
    pollIntervalMs: z.number().int().min(50).max(60_000).default(500),
    /** Rows per change-query page. */
    pageSize: z.number().int().min(10).max(100_000).default(5000),
    /** Most events per append to the log. */
    batchSize: z.number().int().min(1).max(50_000).default(2000),
    /** Stop after this many events (the stored position lets a later run continue exactly there). */
    maxEvents: z.number().int().min(1).optional(),
    /** Stop once everything CDC had recorded at the start has been captured. */
    untilCaughtUp: z.boolean().default(false),
  })
  .strict()
  .refine(exactlyOneMssqlTarget, mssqlTargetMessage);
export type MssqlStartCaptureRequest = z.input<typeof MssqlStartCaptureRequestSchema>;

export const MssqlStartCaptureResponseSchema = z.object({
  captureId: z.string(),
  jobId: z.string(),
  streams: z.array(z.string()),
  /** The stored position the capture resumes after (event-log position text), or null for a fresh start. */
  resumedFrom: z.string().nullable(),
  snapshot: z.boolean(),
});

export const sqlServerCdcCommands = {
  /** Connects, then reports version, whether CDC is on and whether the SQL Server Agent runs, in plain words. */
  mssqlTestConnection: { request: MssqlTargetSchema, response: ConnectionTestResultSchema },
  /** CDC databases, captured tables with their capture instances (at most two), columns, keys, and warnings. */
  mssqlDiscover: { request: MssqlTargetSchema, response: MssqlDiscoverySchema },
  /** Starts capturing into the event log as a job; its state appears on `onSourceState`. */
  mssqlStartCapture: { request: MssqlStartCaptureRequestSchema, response: MssqlStartCaptureResponseSchema },
  /** After a gap (or to start over): sets the stored position aside and starts the capture again with a snapshot. */
  mssqlResnapshot: {
    request: z
      .object({ captureId: z.string().min(1), isolation: MssqlSnapshotIsolationSchema.optional() })
      .strict(),
    response: MssqlStartCaptureResponseSchema,
  },
} as const satisfies CommandTable;

export const cdcCommands = {
  /** Every capture this engine has run since it started, with its current state. */
  listCaptures: { request: z.object({}).strict(), response: z.array(SourceStateSchema) },
  /** Stops a capture cleanly (its job ends as cancelled; everything stored stays acknowledged). */
  stopCapture: { request: z.object({ id: z.string().min(1) }).strict(), response: SourceStateSchema },
  /**
   * Starts a stopped or failed capture again with its tables and options, from where the log's
   * stored position is (never with a new snapshot, never from a new slot): the state of the new run.
   */
  resumeCapture: { request: z.object({ id: z.string().min(1) }).strict(), response: SourceStateSchema },
  /** Starts a stopped capture over: its stored position set aside (PostgreSQL: the slot dropped and created anew), the tables read again as a snapshot, then streaming. The recovery after a gap. */
  resnapshotCapture: { request: z.object({ id: z.string().min(1) }).strict(), response: SourceStateSchema },
  ...postgresCdcCommands,
  ...sqlServerCdcCommands,
} as const satisfies CommandTable;

export const cdcEvents = {
  /** A capture's state changed (and, while it runs, its counters: at most a few times a second). */
  onSourceState: SourceStateSchema,
} as const satisfies EventTable;
