// A PostgreSQL capture: from a publication and a logical slot (pgoutput) into the event log.
//
// Correctness rules (research/cdc_streaming.md 1.8, reliability.md 1.5-1.7):
// - Positions: every event's position comes from (commit LSN, change LSN, index in transaction),
//   so a transaction the server sends again after a restart lands on the same positions and the
//   log stores it once. Transactions already acknowledged are dropped before they reach the log.
// - Acknowledge after append: the slot's confirmed_flush_lsn moves only to the end of a
//   transaction (or an idle keep-alive position) whose events the log has durably stored.
// - Transactions stay together: a transaction's events go to the log in one append when they fit
//   in a batch; larger ones go in order, and nothing of them is acknowledged before the commit.
// - Gaps are never silent: an invalidated slot (wal_status = lost) or a slot that vanished after
//   Eddy streamed from it stops the capture in "gap detected" with the lost LSN range. The slot is
//   re-created only on an explicit request (resetSlot), which also re-reads the tables.
// - Initial snapshot: the slot is created with EXPORT_SNAPSHOT, the rows are read in a REPEATABLE
//   READ transaction on that snapshot, then streaming starts at the slot's consistent point: every
//   change is either in the snapshot or in the stream, never both, never neither.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { EddyError } from '../../../../shared/contract.js';
import { publishingBlocksWrites } from '../../../../shared/contracts/cdc.js';
import type { NewEvent } from '../../../../shared/events.js';
import { connectFailure, connectPg, quoteIdent, redactUrl, serverFacts, splitTableName, type PgEndpoint } from './client.js';
import { readCaptureState, writeCaptureState, type CaptureStateFile } from './capture-state.js';
import { listTables, readSlot, type SlotState } from './discover.js';
import { changeEvents, keyIndexes, markSnapshotLast, shapeFromRelation, snapshotEvent, streamName, transactionContext, truncateEvent, type SourceInfo, type TableShape, type TransactionContext } from './envelope.js';
import { formatLsn, lsnDistance, maxLsn, parseLsn, ZERO_LSN, type Lsn } from './lsn.js';
import { decodePgoutput, type PgoutputMessage, type Relation, type ReplicationFrame } from './pgoutput.js';
import { ReplicationConnection } from './replication-stream.js';
import { TypeRegistry, type PgTypeRow } from './values.js';
import { DEFAULT_MAX_EVENT_BYTES, type EventEncoder, type LogInput } from '../../log/index.js';
import { SizeGuard } from '../oversized.js';

/** Where captured events go: the engine's event log (append resolves once they are durable). */
export interface CaptureSink {
  append(events: LogInput[]): Promise<{ duplicates?: number } | void>;
  /**
   * An encoder for the sink's event log (`EventLog.encoder`): streamed changes are then encoded as
   * they are decoded, and what waits for the log is bytes rather than decoded objects.
   */
  encoder?(): EventEncoder;
  /** The log's largest event in bytes (default DEFAULT_MAX_EVENT_BYTES): bigger changes are stored without their row values. */
  maxEventBytes?: number;
}

export type CaptureStateName = 'starting' | 'snapshotting' | 'running' | 'caught-up' | 'lagging' | 'gap-detected' | 'error' | 'stopped';

export interface CaptureUpdate {
  state?: CaptureStateName;
  message?: string;
  events?: number;
  lagBytes?: number;
  lagMs?: number;
  position?: string;
  gap?: { from: string; to: string; recommendation?: string };
  warnings?: string[];
}

export interface PostgresCaptureSpec {
  endpoint: PgEndpoint;
  /** `schema.table`, exactly as the catalog spells them. */
  tables: string[];
  slotName: string;
  publicationName: string;
  createSlot: boolean;
  createPublication: boolean;
  snapshot: boolean;
  resetSlot: boolean;
  maxEvents?: number;
  untilCaughtUp: boolean;
  batchSize: number;
  stateFile: string;
  source: SourceInfo;
  /** Tuning for tests: poll interval of the slot's state, reconnect back-off. */
  pollIntervalMs?: number;
  reconnectDelayMs?: { initial: number; max: number };
}

export interface CaptureResult {
  events: number;
  transactions: number;
  snapshotRows: number;
  /** Events the log already had (re-sent after a restart) and stored only once. */
  duplicates: number;
  ackedLsn: string;
  reason: 'max-events' | 'caught-up' | 'cancelled';
}

/** Thrown (after the state is set to gap-detected) when changes can no longer be read. */
export class GapDetectedError extends EddyError {
  constructor(message: string, gap: { from: string; to: string; recommendation: string }) {
    super('CONFLICT', message, { gap });
  }
}

const RESNAPSHOT_ADVICE = 'Re-snapshot the capture (its button in the Captures list, or start it again with resetSlot): that drops the slot, creates a new one and reads the tables\' current rows.';

const SNAPSHOT_FETCH_ROWS = 2000;
/** Pause the socket when this much decoded-but-unprocessed data is waiting. */
const QUEUE_HIGH_FRAMES = 20_000;
const QUEUE_HIGH_BYTES = 64 * 1024 * 1024;
const IDLE_PING_MS = 300;
const MAX_INFLIGHT = 2;
const STATUS_INTERVAL_MS = 10_000;
const LAGGING_BYTES = 64 * 1024 * 1024;
const CAUGHT_UP_BYTES = 1024 * 1024;

/** Returns every value as PostgreSQL's text: values.ts does the mapping. */
const RAW_TEXT = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

export function defaultSlotName(database: string, tables: readonly string[]): string {
  const hash = createHash('sha256').update([...tables].sort().join('\n')).digest('hex').slice(0, 8);
  const base = database.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 63 - 'eddy__'.length - hash.length);
  return `eddy_${base}_${hash}`;
}

function abortError(): EddyError {
  return new EddyError('CANCELLED', 'Capture cancelled.');
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006', '55006']);

/** Worth reconnecting for: the server restarted, the network dropped, the old walsender still holds the slot. */
export function isTransient(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
  const message = error instanceof Error ? error.message : String(error);
  return /Connection terminated|terminating connection|connection ended|the database system is (starting up|shutting down|in recovery)|ended unexpectedly|socket hang up|is active for PID|stream ended/i.test(message);
}

/** The server's way of saying the slot's changes are gone. */
export function isSlotLost(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /has been invalidated|can no longer get changes from replication slot|requested WAL segment .* has already been removed|replication slot .* does not exist/i.test(message);
}

interface CaptureTable {
  name: string;
  schema: string;
  table: string;
  oid: number;
  primaryKey: string[];
  replicaIdentity: string;
}

/** Refuses to publish tables without a replica identity (publishingBlocksWrites): that would break the application's writes, not just the capture. */
function refuseIdentityless(tables: CaptureTable[]): void {
  const unsafe = tables.filter(publishingBlocksWrites);
  if (unsafe.length === 0) return;
  const names = unsafe.map((table) => table.name).join(', ');
  throw new EddyError(
    'VALIDATION',
    `${names} ${unsafe.length === 1 ? 'has' : 'have'} no replica identity (no primary key and REPLICA IDENTITY DEFAULT, or NOTHING): once published, PostgreSQL refuses UPDATE and DELETE on ${unsafe.length === 1 ? 'it' : 'them'}, your application's included. Set REPLICA IDENTITY FULL ("Set FULL") or add a primary key, then start again.`,
    { tables: unsafe.map((table) => table.name) },
  );
}

async function loadTypes(client: pg.Client, oids: number[]): Promise<PgTypeRow[]> {
  const result = await client.query<{ oid: number; typname: string; typtype: string; typelem: number; typbasetype: number; typdelim: string }>(
    'SELECT oid::int AS oid, typname, typtype, typelem::int AS typelem, typbasetype::int AS typbasetype, typdelim FROM pg_type WHERE oid = ANY($1::oid[])',
    [oids],
  );
  return result.rows.map((row) => ({ oid: row.oid, name: row.typname, type: row.typtype, elementOid: row.typelem, baseTypeOid: row.typbasetype, delimiter: row.typdelim }));
}

async function primaryKeyOf(client: pg.Client, relationOid: number): Promise<string[]> {
  const result = await client.query<{ attname: string }>(
    `SELECT a.attname
       FROM pg_index i
       CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1 AND i.indisprimary
      ORDER BY k.ord`,
    [relationOid],
  );
  return result.rows.map((row) => row.attname);
}

async function ensurePublication(client: pg.Client, name: string, tables: CaptureTable[], create: boolean): Promise<void> {
  const list = tables.map((table) => `${quoteIdent(table.schema)}.${quoteIdent(table.table)}`).join(', ');
  const existing = await client.query<{ puballtables: boolean }>('SELECT puballtables FROM pg_publication WHERE pubname = $1', [name]);
  if (existing.rows.length === 0) {
    if (!create) throw new EddyError('NOT_FOUND', `The publication ${name} does not exist (and creating it was not requested).`);
    refuseIdentityless(tables);
    try {
      await client.query(`CREATE PUBLICATION ${quoteIdent(name)} FOR TABLE ${list}`);
      return;
    } catch (error) {
      // Another capture created it meanwhile: check what it covers below.
      if ((error as { code?: string }).code !== '42710') throw error;
    }
  }
  if ((await client.query<{ puballtables: boolean }>('SELECT puballtables FROM pg_publication WHERE pubname = $1', [name])).rows[0]?.puballtables) return;
  const covered = await client.query<{ schemaname: string; tablename: string }>('SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1', [name]);
  const have = new Set(covered.rows.map((row) => `${row.schemaname}.${row.tablename}`));
  const missing = tables.filter((table) => !have.has(table.name));
  if (missing.length === 0) return;
  if (!create) throw new EddyError('CONFLICT', `The publication ${name} does not publish ${missing.map((table) => table.name).join(', ')}.`);
  refuseIdentityless(missing);
  await client.query(`ALTER PUBLICATION ${quoteIdent(name)} ADD TABLE ${missing.map((table) => `${quoteIdent(table.schema)}.${quoteIdent(table.table)}`).join(', ')}`);
}

async function dropSlotIfExists(client: pg.Client, name: string): Promise<void> {
  await client.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [name]);
}

/**
 * Where the server's WAL ends: the insert position, so that a commit made with
 * synchronous_commit = off (written but not yet flushed) still counts as "before now".
 */
async function currentWalLsn(client: pg.Client): Promise<Lsn> {
  const result = await client.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
  return parseLsn(result.rows[0]!.lsn);
}

/** Runs a capture until it reaches maxEvents, catches up (untilCaughtUp), is cancelled, or fails. */
export async function runPostgresCapture(spec: PostgresCaptureSpec, sink: CaptureSink, report: (update: CaptureUpdate) => void, signal: AbortSignal): Promise<CaptureResult> {
  const capture = new PostgresCapture(spec, sink, report, signal);
  try {
    return await capture.run();
  } finally {
    await capture.close();
  }
}

class PostgresCapture {
  private meta: pg.Client | undefined;
  private replication: ReplicationConnection | undefined;
  private state!: CaptureStateFile;
  private readonly types: TypeRegistry;
  private tables: CaptureTable[] = [];
  private readonly wanted: Set<string>;
  private events = 0;
  private transactions = 0;
  private snapshotRows = 0;
  private duplicates = 0;
  private acked: Lsn = ZERO_LSN;
  private serverLabel: string;
  private readonly sizeGuard: SizeGuard;
  private readonly warnings = new Map<string, string>();

  constructor(
    private readonly spec: PostgresCaptureSpec,
    private readonly sink: CaptureSink,
    private readonly report: (update: CaptureUpdate) => void,
    private readonly signal: AbortSignal,
  ) {
    this.types = new TypeRegistry((oids) => loadTypes(this.requireMeta(), oids));
    const encoder = sink.encoder?.();
    this.encode = encoder ? (event) => encoder.encode(event) : (event) => event;
    this.wanted = new Set(spec.tables);
    this.serverLabel = spec.endpoint.label;
    // Streamed events come encoded already; the guard encodes the rest (snapshot rows) itself.
    this.sizeGuard = new SizeGuard(sink.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES, encoder, (warning) => this.warn('oversized', warning));
  }

  /** Streamed events as they are queued for the sink. */
  readonly encode: (event: NewEvent) => LogInput;

  private async append(events: LogInput[]): Promise<void> {
    // An event the encoder refused may be over the log's size limit: it is stored without its row
    // values, in its place, rather than refused and lost behind a confirmed slot.
    const result = await this.sink.append(this.sizeGuard.fit(events));
    this.duplicates += result?.duplicates ?? 0;
  }

  /** Keeps `text` among the capture's warnings (one per kind, the newest wording). */
  warn(kind: string, text: string): void {
    this.warnings.set(kind, text);
    this.report({ warnings: [...this.warnings.values()] });
  }

  private requireMeta(): pg.Client {
    if (!this.meta) throw new EddyError('UNAVAILABLE', 'Not connected to PostgreSQL.');
    return this.meta;
  }

  async close(): Promise<void> {
    await this.replication?.close();
    this.replication = undefined;
    await this.meta?.end().catch(() => undefined);
    this.meta = undefined;
  }

  private async saveState(sync = false): Promise<void> {
    await writeCaptureState(this.spec.stateFile, this.state, sync);
  }

  private async connectMeta(): Promise<pg.Client> {
    await this.meta?.end().catch(() => undefined);
    this.meta = await connectPg(this.spec.endpoint, { applicationName: 'eddy-capture' });
    return this.meta;
  }

  private async gap(message: string, from: string, to: string): Promise<never> {
    const gap = { from, to, recommendation: RESNAPSHOT_ADVICE };
    this.report({ state: 'gap-detected', message, gap });
    throw new GapDetectedError(message, gap);
  }

  async run(): Promise<CaptureResult> {
    const { spec } = this;
    this.report({ state: 'starting', message: `Connecting to ${this.serverLabel}` });
    const meta = await this.connectMeta().catch((error: unknown) => {
      throw connectFailure(error, spec.endpoint);
    });
    const facts = await serverFacts(meta);
    if (facts.walLevel !== 'logical') {
      throw new EddyError('CONFLICT', `wal_level is "${facts.walLevel}" on ${this.serverLabel}: logical decoding needs wal_level = logical (ALTER SYSTEM SET wal_level = 'logical', then restart PostgreSQL).`);
    }
    this.serverLabel = `${this.serverLabel} (${facts.database})`;
    await this.resolveTables(meta);

    const previous = await readCaptureState(spec.stateFile);
    const fresh = (): CaptureStateFile => ({
      version: 1,
      server: spec.endpoint.label,
      database: spec.endpoint.database,
      slotName: spec.slotName,
      publicationName: spec.publicationName,
      tables: [...spec.tables],
      createdSlot: false,
      snapshot: 'none',
      streamed: false,
      updatedAt: Date.now(),
    });
    // A state file for the same slot name on another server is not ours.
    this.state = previous && previous.server === spec.endpoint.label && previous.database === spec.endpoint.database ? previous : fresh();

    this.state.tables = [...spec.tables];
    let slot = await readSlot(meta, spec.slotName);
    if (spec.resetSlot) {
      if (slot?.active) throw new EddyError('CONFLICT', `Slot ${spec.slotName} is in use by process ${slot.activePid}; stop that reader first.`);
      if (slot) await dropSlotIfExists(meta, spec.slotName);
      this.state = fresh();
      slot = undefined;
    }
    // Consumed before: streamed from it, or created it and finished (or skipped) the snapshot.
    const consumed = this.state.streamed || (this.state.createdSlot && this.state.snapshot !== 'running');
    if (slot) slot = await this.checkExistingSlot(meta, slot);
    else if (consumed) {
      const from = this.state.ackedLsn ?? '0/0';
      await this.gap(
        `Slot ${spec.slotName} no longer exists, but this capture streamed from it up to ${from}: changes after that may be lost. The slot is not re-created silently.`,
        from,
        formatLsn(await currentWalLsn(meta)),
      );
    } else if (!spec.createSlot) {
      throw new EddyError('NOT_FOUND', `The replication slot ${spec.slotName} does not exist (and creating it was not requested).`);
    }

    await ensurePublication(meta, spec.publicationName, this.tables, spec.createPublication);

    let start: Lsn;
    let note: string | undefined;
    if (!slot) {
      start = await this.createSlotAndSnapshot();
    } else {
      start = maxLsn(this.state.ackedLsn ? parseLsn(this.state.ackedLsn) : ZERO_LSN, slot.confirmedFlushLsn ? parseLsn(slot.confirmedFlushLsn) : ZERO_LSN);
      if (spec.snapshot && this.state.snapshot !== 'done') {
        note = `Slot ${spec.slotName} already existed, so no consistent snapshot could be taken on it: the current rows were not read, only changes from ${formatLsn(start)} on. For a snapshot, start the capture on a new slot name.`;
        this.warn('snapshot', note);
      }
    }
    this.acked = start;
    if (this.state.ackedLsn === undefined || parseLsn(this.state.ackedLsn) < start) this.state.ackedLsn = formatLsn(start);
    await this.saveState(true);
    this.report({ state: 'running', position: formatLsn(start), ...(note ? { message: note } : { message: `Streaming from ${formatLsn(start)}` }) });
    return this.streamWithReconnects();
  }

  private async resolveTables(meta: pg.Client): Promise<void> {
    const refs = this.spec.tables.map((name) => ({ name, ...splitTableName(name) }));
    const found = await listTables(meta, { tables: refs.map(({ schema, table }) => ({ schema, table })) });
    const missing = refs.filter((ref) => !found.some((table) => table.schema === ref.schema && table.name === ref.table));
    if (missing.length) throw new EddyError('NOT_FOUND', `No such table in ${this.serverLabel}: ${missing.map((ref) => ref.name).join(', ')} (names are case-sensitive: schema.table).`);
    this.tables = refs.map((ref) => {
      const table = found.find((candidate) => candidate.schema === ref.schema && candidate.name === ref.table)!;
      return { name: ref.name, schema: ref.schema, table: ref.table, oid: table.oid, primaryKey: table.primaryKey, replicaIdentity: table.replicaIdentity };
    });
  }

  private async checkExistingSlot(meta: pg.Client, slot: SlotState): Promise<SlotState | undefined> {
    const { spec } = this;
    if (slot.slotType !== 'logical' || slot.plugin !== 'pgoutput') {
      throw new EddyError('CONFLICT', `Slot ${slot.name} exists but is a ${slot.slotType} slot for ${slot.plugin ?? 'no plugin'}; Eddy needs a logical pgoutput slot. Choose another slot name.`);
    }
    if (slot.database !== spec.endpoint.database) {
      throw new EddyError('CONFLICT', `Slot ${slot.name} belongs to database ${slot.database ?? '?'}, not ${spec.endpoint.database}.`);
    }
    if (slot.walStatus === 'lost') {
      await this.gap(
        `Slot ${slot.name} was invalidated by PostgreSQL (wal_status = lost, max_slot_wal_keep_size exceeded): the changes after ${this.state.ackedLsn ?? slot.confirmedFlushLsn ?? '?'} are gone.`,
        this.state.ackedLsn ?? slot.confirmedFlushLsn ?? '0/0',
        formatLsn(await currentWalLsn(meta)),
      );
    }
    if (this.state.snapshot === 'running' && this.state.createdSlot && !this.state.streamed) {
      // The exported snapshot died with the run that took it; nothing was streamed from the
      // slot yet, so dropping it and starting over loses nothing.
      if (slot.active) throw new EddyError('CONFLICT', `Slot ${slot.name} is in use by process ${slot.activePid}.`);
      this.report({ message: `The previous snapshot was interrupted; starting it again on a new slot ${slot.name}.` });
      await dropSlotIfExists(meta, slot.name);
      this.state.snapshot = 'none';
      this.state.createdSlot = false;
      return undefined;
    }
    return slot;
  }

  private async createSlotAndSnapshot(): Promise<Lsn> {
    const { spec } = this;
    const replication = new ReplicationConnection(await connectPg(spec.endpoint, { applicationName: 'eddy-capture-replication', replication: true }));
    this.replication = replication;
    const created = await replication.createSlot(spec.slotName, spec.snapshot);
    this.state.createdSlot = true;
    this.state.consistentPoint = formatLsn(created.consistentPoint);
    this.state.ackedLsn = formatLsn(created.consistentPoint);
    this.state.snapshot = spec.snapshot ? 'running' : 'none';
    await this.saveState(true);
    if (spec.snapshot && created.snapshotName) {
      await this.snapshot(created.snapshotName, created.consistentPoint);
      this.state.snapshot = 'done';
      await this.saveState(true);
    }
    return created.consistentPoint;
  }

  /** Reads every table's rows in the slot's exported snapshot, as `r` events. */
  private async snapshot(snapshotName: string, consistentPoint: Lsn): Promise<void> {
    if (!/^[0-9A-Fa-f-]+$/.test(snapshotName)) throw new EddyError('INTERNAL', `Unexpected snapshot name "${snapshotName}".`);
    const { spec } = this;
    const client = await connectPg(spec.endpoint, { applicationName: 'eddy-snapshot' });
    const startedMs = Date.now();
    let held: NewEvent | undefined;
    let index = 0;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await client.query(`SET TRANSACTION SNAPSHOT '${snapshotName}'`);
      for (const table of this.tables) {
        this.report({ state: 'snapshotting', message: `Snapshot of ${table.name}`, events: this.events });
        await client.query(`DECLARE eddy_snapshot NO SCROLL CURSOR FOR SELECT * FROM ${quoteIdent(table.schema)}.${quoteIdent(table.table)}`);
        let shape: TableShape | undefined;
        for (;;) {
          if (this.signal.aborted) throw abortError();
          const page = await client.query<(string | null)[]>({ text: `FETCH FORWARD ${SNAPSHOT_FETCH_ROWS} FROM eddy_snapshot`, rowMode: 'array', types: RAW_TEXT });
          if (!shape) {
            await this.types.ensure(page.fields.map((field) => field.dataTypeID));
            const columns = page.fields.map((field) => ({ name: field.name, type: this.types.get(field.dataTypeID) }));
            shape = { database: spec.endpoint.database, schema: table.schema, table: table.table, stream: streamName(spec.endpoint.database, table.schema, table.table), columns, keyIndexes: keyIndexes(columns, table.primaryKey) };
          }
          const batch: NewEvent[] = [];
          for (const row of page.rows) {
            const event = snapshotEvent(shape, row, consistentPoint, index, index === 0 ? 'first' : 'true', startedMs, spec.source);
            index++;
            // Hold the newest back so the very last row of the snapshot can be marked `last`.
            if (held) batch.push(held);
            held = event;
          }
          if (batch.length) {
            await this.append(batch);
            this.events += batch.length;
            this.snapshotRows += batch.length;
            this.report({ state: 'snapshotting', events: this.events });
          }
          if (page.rows.length < SNAPSHOT_FETCH_ROWS) break;
        }
        await client.query('CLOSE eddy_snapshot');
      }
      if (held) {
        if (index > 1) markSnapshotLast(held);
        await this.append([held]);
        this.events += 1;
        this.snapshotRows += 1;
      }
      await client.query('COMMIT');
    } finally {
      await client.end().catch(() => undefined);
    }
    this.report({ state: 'snapshotting', events: this.events, message: `Snapshot done: ${this.snapshotRows} rows` });
  }

  private async streamWithReconnects(): Promise<CaptureResult> {
    const delays = this.spec.reconnectDelayMs ?? { initial: 500, max: 15_000 };
    let delay = delays.initial;
    for (;;) {
      if (this.signal.aborted) return this.result('cancelled');
      const session = new StreamSession(this);
      try {
        const reason = await session.run();
        return this.result(reason);
      } catch (error) {
        if (this.signal.aborted) return this.result('cancelled');
        if (error instanceof GapDetectedError) throw error;
        if (isSlotLost(error)) {
          const meta = this.meta ? this.meta : await this.connectMeta().catch(() => undefined);
          const to = meta ? await currentWalLsn(meta).then(formatLsn, () => '?') : '?';
          await this.gap(`Slot ${this.spec.slotName} can no longer be read: ${error instanceof Error ? error.message : String(error)}`, formatLsn(this.acked), to);
        }
        if (!isTransient(error)) throw error;
        const reason = redactUrl(error instanceof Error ? error.message : String(error));
        this.report({ state: 'error', message: `Connection lost (${reason}); reconnecting in ${(delay / 1000).toFixed(1)} s. Everything up to ${formatLsn(this.acked)} is stored.` });
        await this.replication?.close();
        this.replication = undefined;
        await sleep(delay, this.signal);
        delay = session.progressed ? delays.initial : Math.min(delay * 2, delays.max);
        if (this.signal.aborted) return this.result('cancelled');
        await this.meta?.end().catch(() => undefined);
        this.meta = undefined;
      }
    }
  }

  private result(reason: CaptureResult['reason']): CaptureResult {
    return { events: this.events, transactions: this.transactions, snapshotRows: this.snapshotRows, duplicates: this.duplicates, ackedLsn: formatLsn(this.acked), reason };
  }

  // --- what StreamSession needs from the capture -------------------------------------------

  get specification(): PostgresCaptureSpec {
    return this.spec;
  }
  get abortSignal(): AbortSignal {
    return this.signal;
  }
  get ackedLsn(): Lsn {
    return this.acked;
  }
  wants(relation: Relation): boolean {
    return this.wanted.has(`${relation.schema}.${relation.name}`);
  }
  async shapeOf(relation: Relation): Promise<TableShape> {
    await this.types.ensure(relation.columns.map((column) => column.typeOid));
    const primaryKey = await primaryKeyOf(this.requireMeta(), relation.oid);
    return shapeFromRelation(this.spec.endpoint.database, relation, (oid) => this.types.get(oid), primaryKey);
  }
  async openReplication(): Promise<ReplicationConnection> {
    if (!this.replication) this.replication = new ReplicationConnection(await connectPg(this.spec.endpoint, { applicationName: 'eddy-capture-replication', replication: true }));
    return this.replication;
  }
  metaClient(): pg.Client | undefined {
    return this.meta;
  }
  async ensureMeta(): Promise<pg.Client> {
    return this.meta ?? (await this.connectMeta());
  }
  /** Appends in call order; resolves once the log has them durably. */
  async appendEvents(events: LogInput[]): Promise<void> {
    await this.append(events);
    this.events += events.length;
  }
  /** Everything before `ackTo` is stored: confirm it to the slot. */
  async acknowledge(ackTo: Lsn, transactions: number): Promise<void> {
    this.transactions += transactions;
    if (ackTo > this.acked) {
      this.acked = ackTo;
      this.state.ackedLsn = formatLsn(ackTo);
      const first = !this.state.streamed;
      this.state.streamed = true;
      await this.saveState(first);
      this.replication?.sendStatus(ackTo);
    }
  }
  get counters(): { events: number } {
    return { events: this.events };
  }
  update(update: CaptureUpdate): void {
    this.report(update);
  }
  async gapFromPoll(slot: { walStatus: string | null } | undefined, flush: Lsn): Promise<void> {
    if (!slot) await this.gap(`Slot ${this.spec.slotName} was dropped while the capture was running.`, formatLsn(this.acked), formatLsn(flush));
    if (slot?.walStatus === 'lost') await this.gap(`Slot ${this.spec.slotName} was invalidated by PostgreSQL (wal_status = lost).`, formatLsn(this.acked), formatLsn(flush));
  }
}

type QueuedFrame = Exclude<ReplicationFrame, { kind: 'xlog' }> | { kind: 'change'; start: Lsn; message: PgoutputMessage };

interface OpenTransaction extends TransactionContext {
  /** Already acknowledged (a re-send after a restart): its changes are dropped. */
  skip: boolean;
  events: LogInput[];
}

/** One START_REPLICATION session; a reconnect makes a new one that resumes at the acked LSN. */
class StreamSession {
  progressed = false;
  private readonly relations = new Map<number, TableShape | null>();
  private incoming: QueuedFrame[] = [];
  private incomingBytes = 0;
  private paused = false;
  private wake: (() => void) | undefined;
  private failure: unknown;
  private ended = false;
  private txn: OpenTransaction | undefined;
  private pending: LogInput[] = [];
  private pendingTransactions = 0;
  /** Appends started but not yet acknowledged, oldest first (their acks go out in this order). */
  private inflight: { done: Promise<void>; ackTo: Lsn; transactions: number; events: number }[] = [];
  private inflightEvents = 0;
  private pendingAck: Lsn;
  private lastFrameAt = Date.now();
  private lastPingAt = 0;
  private lastStatusAt = Date.now();
  private lastPollAt = 0;
  private lastKeepaliveEnd: Lsn | undefined;
  private quietPings = 0;
  private target: Lsn = ZERO_LSN;
  private serverFlush: Lsn = ZERO_LSN;
  private lastCommitMicros: bigint | undefined;
  private caughtUpOnce = false;
  private shownState: CaptureStateName | undefined;

  constructor(private readonly capture: PostgresCapture) {
    this.pendingAck = capture.ackedLsn;
  }

  private push = (frame: ReplicationFrame): void => {
    // Decode now: pg reuses its receive buffer, so the frame's bytes are only valid during this call.
    if (frame.kind === 'xlog') {
      let message: PgoutputMessage;
      try {
        message = decodePgoutput(frame.payload);
      } catch (error) {
        // Inside pg's socket handler: report through the loop, never throw here.
        this.failure ??= error;
        this.wake?.();
        return;
      }
      this.incoming.push({ kind: 'change', start: frame.start, message });
      this.incomingBytes += frame.payload.length;
    } else {
      this.incoming.push(frame);
    }
    if (!this.paused && (this.incoming.length >= QUEUE_HIGH_FRAMES || this.incomingBytes >= QUEUE_HIGH_BYTES)) {
      this.paused = true;
      this.replication?.pause();
    }
    this.wake?.();
  };

  private replication: ReplicationConnection | undefined;

  async run(): Promise<CaptureResult['reason']> {
    const spec = this.capture.specification;
    const signal = this.capture.abortSignal;
    const meta = await this.capture.ensureMeta();
    this.target = await currentWalLsn(meta);
    this.serverFlush = this.target;
    const replication = await this.capture.openReplication();
    this.replication = replication;
    const from = this.capture.ackedLsn;
    replication.start(spec.slotName, from, spec.publicationName, this.push).then(
      () => {
        this.ended = true;
        this.wake?.();
      },
      (error: unknown) => {
        this.failure = error;
        this.wake?.();
      },
    );
    const onAbort = (): void => this.wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      return await this.loop();
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  private async loop(): Promise<CaptureResult['reason']> {
    const spec = this.capture.specification;
    const signal = this.capture.abortSignal;
    for (;;) {
      if (this.failure) throw this.failure;
      if (signal.aborted) {
        await this.flush();
        await this.drain();
        return 'cancelled';
      }
      if (this.incoming.length > 0) {
        const frames = this.incoming;
        this.incoming = [];
        this.incomingBytes = 0;
        if (this.paused) {
          this.paused = false;
          this.replication?.resume();
        }
        for (const frame of frames) {
          await this.process(frame);
          if (this.pending.length >= spec.batchSize) await this.flush();
          // Frames left unprocessed were never acknowledged: the next run receives them again.
          if (spec.maxEvents !== undefined && !this.txn && this.capture.counters.events + this.inflightEvents + this.pending.length >= spec.maxEvents) {
            await this.flush();
            await this.drain();
            return 'max-events';
          }
        }
        continue;
      }
      // Nothing queued: store what is complete, then decide whether we are caught up.
      await this.flush();
      await this.drain();
      if (this.ended) throw new Error('The server ended the replication stream (stream ended).');
      if (spec.maxEvents !== undefined && !this.txn && this.capture.counters.events >= spec.maxEvents) return 'max-events';
      const now = Date.now();
      if (now - this.lastPollAt >= (spec.pollIntervalMs ?? 2000)) await this.poll();
      const caughtUp = this.isCaughtUp();
      this.showState(caughtUp);
      if (caughtUp && spec.untilCaughtUp) return 'caught-up';
      if (!this.txn && now - this.lastFrameAt >= IDLE_PING_MS && now - this.lastPingAt >= IDLE_PING_MS) {
        // Ask for a keep-alive: its position lets an idle capture confirm WAL nobody here needs.
        this.lastPingAt = now;
        this.replication?.sendStatus(this.capture.ackedLsn, true);
        this.lastStatusAt = now;
      } else if (now - this.lastStatusAt >= STATUS_INTERVAL_MS) {
        this.replication?.sendStatus(this.capture.ackedLsn);
        this.lastStatusAt = now;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, IDLE_PING_MS);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.wake = done;
      });
      this.wake = undefined;
    }
  }

  private isCaughtUp(): boolean {
    if (this.txn || this.pending.length > 0 || this.inflight.length > 0) return false;
    const acked = this.capture.ackedLsn;
    // Everything flushed on the server when this session started is stored and acknowledged, or
    // the server has had nothing new for us for several keep-alives in a row.
    return acked >= this.target || this.quietPings >= 3;
  }

  private showState(caughtUp: boolean): void {
    const lagBytes = lsnDistance(this.serverFlush, this.capture.ackedLsn);
    let state: CaptureStateName = 'running';
    if (caughtUp && (lagBytes <= CAUGHT_UP_BYTES || this.quietPings >= 3)) state = 'caught-up';
    else if (lagBytes >= LAGGING_BYTES) state = 'lagging';
    if (state === 'caught-up') this.caughtUpOnce = true;
    const lagMs = state === 'caught-up' || this.lastCommitMicros === undefined ? 0 : Math.max(0, Date.now() - Number(this.lastCommitMicros / 1000n));
    const message =
      state === 'caught-up'
        ? 'Caught up: every committed change is in the log.'
        : state === 'lagging'
          ? `Behind the server by ${(lagBytes / 1024 / 1024).toFixed(1)} MB of WAL.`
          : this.caughtUpOnce
            ? 'Streaming changes.'
            : 'Catching up with the server.';
    if (state !== this.shownState) this.capture.update({ state, message, lagBytes, lagMs, position: formatLsn(this.capture.ackedLsn) });
    else this.capture.update({ lagBytes, lagMs, position: formatLsn(this.capture.ackedLsn) });
    this.shownState = state;
  }

  private async poll(): Promise<void> {
    this.lastPollAt = Date.now();
    const meta = this.capture.metaClient();
    if (!meta) return;
    const result = await meta.query<{ flush: string; wal_status: string | null; present: boolean }>(
      `SELECT pg_current_wal_insert_lsn()::text AS flush, s.wal_status, s.slot_name IS NOT NULL AS present
         FROM (SELECT 1) AS one LEFT JOIN pg_replication_slots s ON s.slot_name = $1`,
      [this.capture.specification.slotName],
    );
    const row = result.rows[0]!;
    this.serverFlush = parseLsn(row.flush);
    await this.capture.gapFromPoll(row.present ? { walStatus: row.wal_status } : undefined, this.serverFlush);
  }

  /**
   * Starts appending what is pending. Up to MAX_INFLIGHT appends overlap (the log syncs one while
   * admitting the next); acknowledgements still go out strictly in order, each only after its
   * own append and every earlier one are durable.
   */
  private async flush(): Promise<void> {
    const ackTo = this.pendingAck;
    const queuedAck = this.inflight.at(-1)?.ackTo ?? this.capture.ackedLsn;
    if (this.pending.length === 0 && ackTo <= queuedAck) return;
    const batch = this.pending;
    const transactions = this.pendingTransactions;
    this.pending = [];
    this.pendingTransactions = 0;
    const done = batch.length ? this.capture.appendEvents(batch) : Promise.resolve();
    // Awaited in completeOldest; this only keeps an early failure from being "unhandled".
    done.catch(() => undefined);
    this.inflight.push({ done, ackTo, transactions, events: batch.length });
    this.inflightEvents += batch.length;
    while (this.inflight.length > MAX_INFLIGHT) await this.completeOldest();
  }

  private async completeOldest(): Promise<void> {
    const head = this.inflight.shift()!;
    this.inflightEvents -= head.events;
    await head.done;
    await this.capture.acknowledge(head.ackTo, head.transactions);
    this.lastStatusAt = Date.now();
    this.capture.update({ events: this.capture.counters.events, position: formatLsn(this.capture.ackedLsn) });
  }

  /** Waits until everything started is stored and acknowledged. */
  private async drain(): Promise<void> {
    while (this.inflight.length > 0) await this.completeOldest();
  }

  private async process(frame: QueuedFrame): Promise<void> {
    if (frame.kind === 'keepalive') {
      if (frame.walEnd > this.serverFlush) this.serverFlush = frame.walEnd;
      if (!this.txn) {
        // No transaction is open: everything that committed before walEnd has been sent to us.
        this.quietPings = this.lastKeepaliveEnd === frame.walEnd ? this.quietPings + 1 : 0;
        this.pendingAck = maxLsn(this.pendingAck, frame.walEnd);
      }
      this.lastKeepaliveEnd = frame.walEnd;
      if (frame.replyRequested) {
        this.replication?.sendStatus(this.capture.ackedLsn);
        this.lastStatusAt = Date.now();
      }
      return;
    }
    this.lastFrameAt = Date.now();
    this.quietPings = 0;
    await this.handle(frame.message, frame.start);
  }

  private async handle(message: PgoutputMessage, lsn: Lsn): Promise<void> {
    const spec = this.capture.specification;
    switch (message.tag) {
      case 'begin':
        this.txn = {
          ...transactionContext(message.xid, message.finalLsn, message.commitTimeMicros),
          // The server skips commits before the start position too; this guards re-sends anyway.
          skip: message.finalLsn < this.capture.ackedLsn,
          events: [],
        };
        return;
      case 'commit': {
        const txn = this.txn;
        this.txn = undefined;
        if (txn && !txn.skip) for (const event of txn.events) this.pending.push(event);
        this.pendingTransactions++;
        this.pendingAck = maxLsn(this.pendingAck, message.endLsn);
        this.lastCommitMicros = message.commitTimeMicros;
        this.progressed = true;
        return;
      }
      case 'relation':
        this.relations.set(message.relation.oid, this.capture.wants(message.relation) ? await this.capture.shapeOf(message.relation) : null);
        return;
      case 'insert':
      case 'update':
      case 'delete': {
        const txn = this.txn;
        if (!txn || txn.skip) return;
        const shape = this.relations.get(message.relationOid);
        if (!shape) return;
        const events = changeEvents(shape, message, lsn, txn, spec.source);
        for (const event of events) txn.events.push(this.capture.encode(event));
        if (txn.events.length >= spec.batchSize) {
          // A transaction larger than a batch goes in order, in pieces; none of it is acknowledged
          // before its commit, so a crash in between re-reads it whole.
          for (const event of txn.events) this.pending.push(event);
          txn.events = [];
          await this.flush();
        }
        return;
      }
      case 'truncate': {
        const txn = this.txn;
        if (!txn || txn.skip) return;
        for (const oid of message.relationOids) {
          const shape = this.relations.get(oid);
          if (shape) txn.events.push(this.capture.encode(truncateEvent(shape, lsn, txn, spec.source)));
        }
        return;
      }
      default:
        return;
    }
  }
}
