// The event log: the one writer of the workspace's events (DESIGN.md 3 and 4).
//
// Layout of the log folder:
//   manifest.json(.prev)              sealed segments, their checksums and stats; stream settings
//   segments/NNNNNNNN.sqlite          sealed segments: immutable plain SQLite files
//   segments/NNNNNNNN.idx             their position index (Bloom filter + sorted hashes)
//   active/NNNNNNNN-GGGGGG.journal    journals of the open segments, one file per generation
//   active/NNNNNNNN.snapshot(.prev)   the open segments' latest snapshots
//   quarantine/                       anything found damaged, with a note saying why
//
// Write path: `append` validates, deduplicates and assigns seqs (admissions are serialized, so two
// appends never race on the same position), then queues a journal record. One writer loop takes
// the queued records as a group (group commit) and writes + fdatasyncs them; readers see events
// only up to `durableSeq`, so nothing is visible, counted or acknowledged before it is durable.
//
// Indexing is deferred: a new segment keeps its durable rows as journal bytes with their row
// layout (a RowStore in shared memory), not in its sql.js database, so the capture's thread only
// journals. When the segment is complete, a worker thread builds its database from those bytes
// (segment-builder.ts) and the log writes that image as the sealed file. The first read of an open
// segment (or a snapshot, a deletion, an integrity check) inserts its rows here instead
// (`indexNow`; reads do it in slices, `indexInSlices`, so a read during a capture does not stall
// the engine; a duplicate check reads the one row it needs from the bytes), and from then on the
// writer inserts each group's rows while its write is in flight, as a recovered segment's always are. Appends wait when two
// complete segments wait for the builder, so memory stays bounded whatever the capture rate.
//
// An open segment becomes "sealing" once it reaches `segmentBytes`: new appends go to a fresh
// segment while the old one is built (or exported), written as a sealed file, and listed in the
// manifest.
// Snapshots rotate the journal to a new generation, so recovery is "latest good snapshot, then
// the journals from its generation on"; the previous snapshot and the journals it needs are kept,
// so a damaged snapshot costs nothing either.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { EddyError } from '../../../shared/contract.js';
import type { JsonValue, StoredEvent, StreamStats } from '../../../shared/events.js';
import { isTempFile, quarantineFile, sleep, writeFileAtomic, type DurabilityHooks } from './atomic-file.js';
import {
  ROW_COLUMNS,
  ROW_WIDTH,
  bindRow,
  encodeJournalLines,
  journalPrefixBytes,
  newRowLayout,
  parseJournalLine,
  prepareInput,
  EventEncoder,
  type LogInput,
  preparedToEvent,
  rowToEvent,
  type PreparedEvent,
} from './event-codec.js';
import { errorMessage, isNoSpace, nodeFs, type LogFs } from './fs-layer.js';
import { JournalWriter, scanJournal } from './journal.js';
import { acquireLogLock } from './log-lock.js';
import { MANIFEST_FILE, emptyManifest, readManifestFile, writeManifestFile, type Manifest, type RetentionPolicy, type SealedSegmentInfo } from './manifest.js';
import {
  OpenPositionMap,
  PositionIndexError,
  encodePositionIndex,
  lookupPositionIndex,
  positionHash,
  readPositionIndexHead,
  type PositionIndexHead,
} from './position-index.js';
import { QueryRunner, type WorkerSegment } from './query-worker.js';
import { checkReadOnlySql } from './query-guard.js';
import { SEGMENT_MIGRATIONS, migrate } from './segment-schema.js';
import { RowStore, SegmentBuilder, type BuiltSegment } from './segment-builder.js';
import { SegmentCache } from './segment-cache.js';
import { decodeSnapshot, encodeSnapshot, sha256Hex, snapshotImageOffset } from './snapshot-file.js';
import { readVerified, type VerifiedRead } from './verified-read.js';
import { fastStatement, insertLaidOutRows, type FastStatement, type RowLayout } from './fast-insert.js';
import { MEMORY_PRAGMAS, applyMemoryPragmas, databaseBytes, loadSqlJs, inTransaction, loadedSqlJs, queryRows, sqlJsModulePath, type Database, type SqlValue } from './sqljs.js';
import { addToGroup, emptyGroup, groupOverlaps, RateMeter, type GroupStats } from './stream-stats.js';

// ---------------------------------------------------------------------------------------------
// Public types

export type ProblemSeverity = 'error' | 'warning' | 'info';

export interface LogProblem {
  id: string;
  severity: ProblemSeverity;
  source: string;
  message: string;
  at: number;
}

export interface EventLogOptions {
  /** The log's folder (created if missing). */
  dir: string;
  /** Who holds the log's lock, named to a second process that tries to open it (default "an Eddy engine"). */
  holder?: string;
  /** Larger events are refused, with their position and size reported (default 16 MiB). */
  maxEventBytes?: number;
  /** Seal the active segment once its database passes this size (default 32 MiB). */
  segmentBytes?: number;
  /**
   * Snapshot an open segment after this many journal bytes since its last snapshot (default: twice
   * `segmentBytes`). A segment's journal holds less than its database, so with the default a
   * segment filled by appends seals (one export) before it would need a snapshot (another whole
   * export): a crash then replays at most one segment's journal. Closing always snapshots.
   */
  snapshotBytes?: number;
  /** Memory for sealed segments loaded for reads (default 32 MiB). */
  cacheBytes?: number;
  /**
   * Appends only journal; a worker thread builds each sealed segment's database (default true).
   * False: every append also inserts its rows into the open segment's database, as reads do once
   * a segment is read.
   */
  buildInBackground?: boolean;
  /** While appends are paused (disk full), how much may wait before new appends are refused (default 64 MiB). */
  maxPendingBytes?: number;
  /** How often retention runs (default 60 s). */
  retentionIntervalMs?: number;
  /** Re-hash every sealed segment in the background this long after opening (default 10 s; null: never). */
  backgroundVerifyDelayMs?: number | null;
  onProblem?: (problem: { severity: ProblemSeverity; source: string; message: string }) => void;
  /** File layer (tests inject failures here). */
  fs?: LogFs;
  /** Crash-test pause points. */
  hooks?: DurabilityHooks;
  /** Clock for retention and rates (tests). */
  now?: () => number;
}

export interface RejectedEvent {
  position: string;
  stream: string;
  size: number;
  reason: string;
}

export interface AppendResult {
  appended: number;
  duplicates: number;
  rejected: RejectedEvent[];
}

export interface ReadRequest {
  stream: string;
  direction?: 'newest' | 'oldest';
  limit?: number;
  cursor?: string | undefined;
  eventTime?: { from?: number | undefined; to?: number | undefined } | undefined;
  ingestTime?: { from?: number | undefined; to?: number | undefined } | undefined;
}

export interface EventPage {
  events: StoredEvent[];
  nextCursor: string | null;
}

/** Where a replay starts (inclusive). Event and ingest time start at the first event, in log order, at or after that time. */
export type ReplayStart = { seq: number } | { afterSeq: number } | { stream: string; position: string } | { eventTime: number } | { ingestTime: number };

export interface ReplayOptions {
  /** Streams to replay, merged in log order (default: all). */
  streams?: string[];
  from?: ReplayStart;
  /** Last seq to include (default: the last durable event when the replay starts, so it ends). */
  toSeq?: number;
  /** Events per yielded batch (default 1000). */
  batchSize?: number;
  signal?: AbortSignal;
}

export interface QueryOptions {
  maxRows: number;
  timeoutMs: number;
  /** Aborting stops the query (its worker is terminated) with a CANCELLED error. */
  signal?: AbortSignal | undefined;
}

export interface QueryResult {
  columns: string[];
  rows: JsonValue[][];
  truncated: boolean;
  elapsedMs: number;
  /** The log had too many segments to join: the statement ran per segment (see `query`). */
  perSegment: boolean;
}

export interface IntegrityReport {
  ok: boolean;
  issues: string[];
  checked: { sealedSegments: number; openSegments: number; journals: number; events: number };
}

export interface EventLog {
  /** Resolves once every accepted event is durable (journal written and synced). */
  append(events: readonly LogInput[]): Promise<AppendResult>;
  /** The largest event it stores, in bytes (serialized key, value, headers and metadata). */
  readonly maxEventBytes: number;
  /** Encodes events for `append` ahead of it, with this log's size limit (see EncodedEvent). */
  encoder(): EventEncoder;
  /** One page of a stream, newest or oldest first, keyset-paged by seq. */
  read(request: ReadRequest): Promise<EventPage>;
  /** Events in log order, in batches, for replay. */
  replay(options?: ReplayOptions): AsyncIterableIterator<StoredEvent[]>;
  /** The seq of a stored (stream, position), or null. */
  findPosition(stream: string, position: string): Promise<number | null>;
  /** Live events as they become durable. Returns the unsubscribe function. */
  tail(stream: string | undefined, listener: (events: StoredEvent[]) => void): () => void;
  /**
   * The stream and seq of each event as it becomes durable, in log order, with the whole event on
   * request: for counters and indexes, which then cost nothing per event they do not read. (An
   * event encoded ahead keeps no decoded copy; `tail` reads each one back from its bytes.)
   */
  onAppended(listener: (appended: readonly AppendedEvent[]) => void): () => void;
  /**
   * Read-only SQL (SELECT, WITH or EXPLAIN) over the `events` view: seq, stream, position, key,
   * value, headers, op, event_time, ingest_time, size, decode_error, value_bytes; key, value and
   * headers are JSON text (`json_extract(value, '$.after.id')`). The statement runs once per
   * segment, newest segment first, and rows are concatenated up to `maxRows`: filters and
   * projections mean what they say over the whole log, while ORDER BY, LIMIT, GROUP BY and
   * aggregates apply within each segment (merge partial aggregates, e.g. sum the counts). It runs
   * in a worker thread on copies of the segments, so the time limit is real (LIMIT error) and the
   * engine's event loop is never blocked. Bad SQL or a write attempt is a VALIDATION error.
   */
  query(sql: string, options: QueryOptions): Promise<QueryResult>;
  streams(): Promise<StreamStats[]>;
  setRetention(stream: string, policy: RetentionPolicy): Promise<void>;
  deleteStream(stream: string): Promise<void>;
  problems(): LogProblem[];
  /** Full verification: checksums and SQLite integrity of every file. Slow on big logs. */
  checkIntegrity(): Promise<IntegrityReport>;
  /**
   * Resolves once no background work is left: every accepted append is written and every
   * complete segment sealed (a seal that failed and waits for its retry does not count).
   */
  settled(): Promise<void>;
  /** The last seq made durable (0 when empty). */
  readonly lastSeq: number;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Internal structures

const MiB = 1024 * 1024;
const JOURNAL_RECORD_EVENTS = 1;
/** Rows per multi-row INSERT: fewer WASM crossings (+19 % measured, research/performance.md 2.3). */
const ROWS_PER_INSERT = 64;
/** Rows inserted before yielding to the event loop while applying a large group. */
const ROWS_PER_SLICE = 1000;
/** Events validated and serialized before admission yields to the event loop. */
const EVENTS_PER_SLICE = 1000;
/** Database bytes per event byte, to estimate a segment's size before its rows are inserted. */
const ROW_OVERHEAD = 1.5;
/** Complete deferred segments that may wait for the builder before appends wait for it. */
const MAX_UNBUILT_SEGMENTS = 2;
/** Largest journal record an append builds; bigger appends are split into several records. */
const RECORD_BYTES = 16 * MiB;

const INSERT_ONE = `INSERT INTO event_rows (${ROW_COLUMNS}) VALUES (${new Array(ROW_WIDTH).fill('?').join(',')})`;
const INSERT_MANY = `INSERT INTO event_rows (${ROW_COLUMNS}) VALUES ${new Array(ROWS_PER_INSERT).fill(`(${new Array(ROW_WIDTH).fill('?').join(',')})`).join(',')}`;

interface OpenSegment {
  kind: 'open';
  id: number;
  db: Database;
  state: 'active' | 'sealing';
  positions: OpenPositionMap;
  positionsReady: boolean;
  groups: Map<string, GroupStats>;
  firstSeq: number;
  lastSeq: number;
  count: number;
  bytes: number;
  journal: JournalWriter | null;
  journalGen: number;
  journalBytesSinceSnapshot: number;
  /** Journal generation the current / previous snapshot resumes from (null: none). */
  snapshotGen: number | null;
  prevSnapshotGen: number | null;
  snapshotSeq: number;
  snapshotting: boolean;
  /** Damaged journals already copied to quarantine, deleted once a snapshot covers them. */
  damagedJournals: string[];
  pending: number;
  measuredBytes: number;
  admittedBytes: number;
  insert: { one: FastStatement; many: FastStatement } | null;
  sealing: boolean;
  sealRetryAt: number;
  /** Rows were deleted (deleteStream): the position map has entries for rows that are gone. */
  rowsDeleted: boolean;
  /** Bumped on every change: the query worker's copy is reused while it matches. */
  version: number;
  /**
   * Durable rows are not in `db` yet but in `unindexed` (journal bytes and layouts): appends only
   * journal, and the sealed database is built off the event loop (segment-builder.ts). The first
   * read of the segment inserts them (`indexNow`) and the segment stays indexed from then on.
   */
  deferred: boolean;
  unindexed: RowStore;
  /** Reads indexing the segment in slices (indexInSlices), shared by concurrent reads. */
  indexing: Promise<void> | null;
}

interface SealedSegment {
  kind: 'sealed';
  id: number;
  info: SealedSegmentInfo;
  head: PositionIndexHead | null;
}

type Segment = OpenSegment | SealedSegment;

interface Batch {
  segment: OpenSegment;
  /** Rows are in the segment's database (not necessarily durable yet). */
  inserted: boolean;
  events: PreparedEvent[];
  originals: unknown[];
  payload: Buffer;
  /** Where each row's columns lie in `payload`: rows are inserted straight from those bytes. */
  layout: RowLayout;
  result: AppendResult;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

interface TailListener {
  stream: string | undefined;
  listener: (events: StoredEvent[]) => void;
}

/** An event just made durable, as `onAppended` reports it. */
export interface AppendedEvent {
  readonly stream: string;
  readonly seq: number;
  /** The whole event, read back once for every listener that asks. */
  event(): StoredEvent;
}

/** A durable batch's events as StoredEvents, each made on first request and shared. */
class DurableBatchEvents {
  private readonly made: (StoredEvent | undefined)[];
  constructor(private readonly batch: Batch) {
    this.made = new Array<StoredEvent | undefined>(batch.events.length);
  }
  at(index: number): StoredEvent {
    return (this.made[index] ??= preparedToEvent(this.batch.events[index]!, this.batch.originals[index] as Partial<StoredEvent>));
  }
}

class AppendedRef implements AppendedEvent {
  constructor(
    readonly stream: string,
    readonly seq: number,
    private readonly events: DurableBatchEvents,
    private readonly index: number,
  ) {}
  event(): StoredEvent {
    return this.events.at(this.index);
  }
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');
/** Version > 0: the segment rewritten without deleted events (compaction); a new name, published atomically. */
const segmentFile = (id: number, version = 0): string => `segments/${pad(id, 8)}${version > 0 ? `.v${version}` : ''}.sqlite`;
const indexFile = (id: number, version = 0): string => `segments/${pad(id, 8)}${version > 0 ? `.v${version}` : ''}.idx`;
const journalFile = (id: number, gen: number): string => `active/${pad(id, 8)}-${pad(gen, 6)}.journal`;
const snapshotFile = (id: number): string => `active/${pad(id, 8)}.snapshot`;
const JOURNAL_NAME = /^(\d{8})-(\d{6})\.journal$/;
const SNAPSHOT_NAME = /^(\d{8})\.snapshot(\.prev)?$/;
const SEGMENT_NAME = /^(\d{8})(?:\.v(\d+))?\.(sqlite|idx)$/;
/** Rewrite a sealed segment once at least this share of its bytes belongs to deleted events. */
const COMPACT_HIDDEN_SHARE = 0.5;

function bytesText(bytes: number): string {
  return bytes >= MiB ? `${(bytes / MiB).toFixed(1)} MiB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} bytes`;
}

function encodeCursor(direction: 'newest' | 'oldest', seq: number): string {
  return Buffer.from(`${direction === 'newest' ? 'n' : 'o'}:${seq}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string, direction: 'newest' | 'oldest'): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^([no]):(\d{1,16})$/.exec(text);
  if (!match) throw new EddyError('VALIDATION', 'The cursor is not one this log issued.');
  if ((match[1] === 'n') !== (direction === 'newest')) throw new EddyError('VALIDATION', 'The cursor was issued for the other direction.');
  return Number(match[2]);
}

// ---------------------------------------------------------------------------------------------

/** The default largest event: 16 MiB. */
export const DEFAULT_MAX_EVENT_BYTES = 16 * MiB;

export async function openEventLog(options: EventLogOptions): Promise<EventLog> {
  const log = new SegmentedEventLog(options);
  await log.open();
  return log;
}

class SegmentedEventLog implements EventLog {
  private readonly fs: LogFs;
  private readonly dir: string;
  readonly maxEventBytes: number;
  private readonly segmentBytes: number;
  private readonly snapshotBytes: number;
  private readonly maxPendingBytes: number;
  private readonly now: () => number;
  private readonly hooks: DurabilityHooks | undefined;
  private readonly holder: string;
  private releaseLock: () => Promise<void> = async () => undefined;

  private manifest: Manifest = emptyManifest();
  private manifestWrite: Promise<unknown> = Promise.resolve();
  private sealed: SealedSegment[] = [];
  private openSegments: OpenSegment[] = [];
  private cache: SegmentCache;
  private queryRunner: QueryRunner;

  private nextSeq = 1;
  private durableSeq = 0;
  private nextSegmentId = 1;
  private admission: Promise<unknown> = Promise.resolve();
  private readonly pendingBySeq = new Map<number, PreparedEvent>();
  /** Waiting for the writer's next durable group (see appendsBreathe). */
  private breathers: (() => void)[] = [];
  private queue: Batch[] = [];
  private queuedBytes = 0;
  private writer: Promise<void> | null = null;
  private paused: { since: number; reason: string } | null = null;
  private wakeWriter: (() => void) | null = null;
  private broken: Error | null = null;
  private closing = false;
  private closed = false;

  /** Snapshot reads started early in `open` (file -> read), taken by recovery. */
  private snapshotReads = new Map<string, Promise<VerifiedRead>>();
  private positionsLoading: Promise<void> | null = null;
  private compacting = false;
  private readonly rates = new RateMeter();
  private readonly tails = new Set<TailListener>();
  private readonly appendWatchers = new Set<(appended: readonly AppendedEvent[]) => void>();
  private readonly problemList: LogProblem[] = [];
  private problemCounter = 0;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly background = new Set<Promise<unknown>>();
  /** Seals and snapshot publications in flight (a subset of `background`). */
  private readonly fileWork = new Set<Promise<unknown>>();
  private readonly onProblem: EventLogOptions['onProblem'];
  private readonly retentionIntervalMs: number;
  private readonly verifyDelayMs: number | null;
  /** Builds sealed segments of deferred rows (null: appends insert their rows themselves). */
  private readonly builder: SegmentBuilder | null;
  /** Waiting for a seal to finish (appends, when too many deferred segments wait to be built). */
  private sealWaiters: (() => void)[] = [];
  private builderFailed = false;

  constructor(options: EventLogOptions) {
    this.fs = options.fs ?? nodeFs;
    this.dir = path.resolve(options.dir);
    this.maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    this.segmentBytes = options.segmentBytes ?? 32 * MiB;
    this.holder = options.holder ?? 'an Eddy engine';
    this.snapshotBytes = options.snapshotBytes ?? 2 * this.segmentBytes;
    this.maxPendingBytes = options.maxPendingBytes ?? 64 * MiB;
    this.retentionIntervalMs = options.retentionIntervalMs ?? 60_000;
    this.verifyDelayMs = options.backgroundVerifyDelayMs === undefined ? 10_000 : options.backgroundVerifyDelayMs;
    this.now = options.now ?? Date.now;
    this.hooks = options.hooks;
    this.onProblem = options.onProblem;
    this.cache = new SegmentCache(options.cacheBytes ?? 32 * MiB, (id) => this.loadSealed(id));
    const sqlJsPath = sqlJsModulePath();
    this.builder =
      options.buildInBackground === false
        ? null
        : new SegmentBuilder({ sqlJsPath, pragmas: MEMORY_PRAGMAS, insertOne: INSERT_ONE, insertMany: INSERT_MANY, rowWidth: ROW_WIDTH, rowsPerInsert: ROWS_PER_INSERT }, emptySegmentImage);
    this.queryRunner = new QueryRunner({
      sqlJsPath,
      cacheBytes: options.cacheBytes ?? 32 * MiB,
      idleMs: 60_000,
      onCorruptFile: (file, reason) => {
        const segment = this.sealed.find((s) => path.join(this.dir, s.info.file) === file);
        if (segment) this.track(this.quarantineSealed(segment, reason));
      },
    });
  }

  get lastSeq(): number {
    return this.durableSeq;
  }

  // -------------------------------------------------------------------------------------------
  // Problems

  private report(severity: ProblemSeverity, message: string): void {
    const problem: LogProblem = { id: `log-${++this.problemCounter}`, severity, source: 'event-log', message, at: Date.now() };
    this.problemList.push(problem);
    if (this.problemList.length > 200) this.problemList.shift();
    try {
      this.onProblem?.({ severity, source: problem.source, message });
    } catch {
      // A faulty listener must not break the log.
    }
  }

  problems(): LogProblem[] {
    return [...this.problemList];
  }

  private track<T>(promise: Promise<T>, fileWork = false): Promise<T> {
    this.background.add(promise);
    if (fileWork) this.fileWork.add(promise);
    void promise
      .finally(() => {
        this.background.delete(promise);
        this.fileWork.delete(promise);
      })
      .catch(() => undefined);
    return promise;
  }

  private timer(ms: number, action: () => void): void {
    const handle = setTimeout(() => {
      this.timers.delete(handle);
      if (!this.closing) action();
    }, ms);
    handle.unref();
    this.timers.add(handle);
  }

  private file(relative: string): string {
    return path.join(this.dir, relative);
  }

  private hiddenBelow(stream: string): number {
    return this.manifest.streams[stream]?.hiddenBelow ?? 0;
  }

  // -------------------------------------------------------------------------------------------
  // Opening and recovery

  async open(): Promise<void> {
    // Independent file operations run together: each is a thread-pool round trip.
    await this.fs.mkdir(this.dir);
    // One writer per log, whatever the process (log-lock.ts): before anything is read or removed.
    this.releaseLock = await acquireLogLock(this.fs, this.file('LOCK'), this.holder);
    try {
      await this.openLocked();
    } catch (error) {
      await this.releaseLock();
      throw error;
    }
  }

  private async openLocked(): Promise<void> {
    await Promise.all([this.fs.mkdir(this.file('segments')), this.fs.mkdir(this.file('active'))]);
    // The newest open segment's snapshot is the biggest read on the way to the first page: start
    // reading (and hashing) it now, while the manifest and the sealed files are checked.
    this.snapshotReads = await this.startSnapshotRead();
    try {
      // Independent: temp files are never the manifest itself.
      await Promise.all([loadSqlJs(), this.removeTempFiles(), this.loadManifest()]);
      await this.checkSealedFiles();
      await this.recoverOpenSegments();
    } finally {
      // Reads nobody took (the segment turned out sealed): settle them quietly.
      for (const pending of this.snapshotReads.values()) pending.catch(() => undefined);
      this.snapshotReads.clear();
    }
    let maxSeq = this.manifest.seqFloor - 1;
    for (const segment of this.sealed) maxSeq = Math.max(maxSeq, segment.info.lastSeq);
    for (const segment of this.openSegments) maxSeq = Math.max(maxSeq, segment.lastSeq);
    for (const settings of Object.values(this.manifest.streams)) maxSeq = Math.max(maxSeq, (settings.hiddenBelow ?? 1) - 1);
    this.nextSeq = maxSeq + 1;
    this.durableSeq = maxSeq;
    let maxId = this.manifest.nextSegmentId - 1;
    for (const segment of [...this.sealed, ...this.openSegments]) maxId = Math.max(maxId, segment.id);
    this.nextSegmentId = maxId + 1;
    if (this.openSegments.length === 0 || this.openSegments[this.openSegments.length - 1]!.state !== 'active') {
      this.openSegments.push(await this.newOpenSegment(this.nextSegmentId++, undefined, this.builder !== null));
    }
    // Positions (Bloom filters, open maps) are only needed to append: loaded on the first append, or
    // shortly after opening, so they stay off the path to the first page a user sees.
    this.timer(250, () => void this.ensurePositions().catch(() => undefined));
    this.startDueSeals();
    this.timer(this.retentionIntervalMs, () => this.retentionTick());
    if (this.verifyDelayMs !== null) this.timer(this.verifyDelayMs, () => void this.track(this.verifySealedInBackground()));
  }

  private async startSnapshotRead(): Promise<Map<string, Promise<VerifiedRead>>> {
    const reads = new Map<string, Promise<VerifiedRead>>();
    let newest = -1;
    for (const name of await this.fs.readdir(this.file('active'))) {
      const match = SNAPSHOT_NAME.exec(name);
      if (match && !match[2]) newest = Math.max(newest, Number(match[1]));
    }
    if (newest >= 0) {
      const file = this.file(snapshotFile(newest));
      const read = readVerified(this.fs, file, 'crc32', snapshotImageOffset);
      read.catch(() => undefined);
      reads.set(file, read);
    }
    return reads;
  }

  private async removeTempFiles(): Promise<void> {
    const listings = await Promise.all(['', 'segments', 'active'].map(async (folder) => ({ folder, names: await this.fs.readdir(this.file(folder)) })));
    for (const { folder, names } of listings) {
      for (const name of names) {
        if (isTempFile(name)) await this.fs.unlink(this.file(path.join(folder, name))).catch(() => undefined);
      }
    }
  }

  private async loadManifest(): Promise<void> {
    const main = this.file(MANIFEST_FILE);
    const current = await readManifestFile(this.fs, main);
    if (current.ok === true) {
      this.manifest = current.manifest;
    } else {
      const previous = await readManifestFile(this.fs, `${main}.prev`);
      if (current.ok === false) {
        const movedTo = await quarantineFile(this.fs, this.dir, main, `Manifest damaged: ${current.reason}`);
        this.report('error', `The event log's manifest was damaged (${current.reason}) and was moved to ${movedTo}.`);
      }
      if (previous.ok === true) {
        this.manifest = previous.manifest;
        if (current.ok === false) this.report('warning', 'The event log continues from the previous manifest; segments it does not list are re-adopted from their files.');
      } else {
        if (previous.ok === false) {
          const movedTo = await quarantineFile(this.fs, this.dir, `${main}.prev`, `Previous manifest damaged: ${previous.reason}`);
          this.report('error', `The previous manifest was damaged too (${previous.reason}; moved to ${movedTo}): sealed segments are re-adopted from their files, stream settings (retention, deletions) are lost.`);
        }
        this.manifest = emptyManifest();
      }
    }
    this.sealed = this.manifest.segments.map((info) => ({ kind: 'sealed', id: info.id, info, head: null }));
  }

  private liveSealed(): SealedSegment[] {
    return this.sealed.filter((s) => !s.info.quarantined);
  }

  /** Sealed files present with the right size; orphans (not in the manifest) adopted or removed. */
  private async checkSealedFiles(): Promise<void> {
    const names = await this.fs.readdir(this.file('segments'));
    const activeIds = new Set<number>();
    for (const name of await this.fs.readdir(this.file('active'))) {
      const match = JOURNAL_NAME.exec(name) ?? SNAPSHOT_NAME.exec(name);
      if (match) activeIds.add(Number(match[1]));
    }
    let changed = false;
    const live = this.liveSealed();
    const sizes = await Promise.all(live.map((segment) => this.fs.sizeOf(this.file(segment.info.file))));
    for (const [i, segment] of live.entries()) {
      const size = sizes[i]!;
      if (size === segment.info.bytes) continue;
      if (size === null) {
        segment.info.quarantined = { at: this.now(), reason: 'file missing', movedTo: '' };
        this.report('error', `Segment ${segment.id} (events ${segment.info.firstSeq}-${segment.info.lastSeq}) is missing from ${this.dir}; its events are unavailable.`);
      } else {
        await this.quarantineSealedNow(segment, `size is ${size} bytes, the manifest says ${segment.info.bytes}`);
      }
      changed = true;
    }
    const orphans: { id: number; version: number; name: string }[] = [];
    for (const name of names) {
      const match = SEGMENT_NAME.exec(name);
      if (!match) continue;
      const id = Number(match[1]);
      const listed = this.sealed.find((s) => s.id === id);
      if (listed) {
        // Another version of a listed segment: the leftover of a compaction (before or after its commit).
        if (path.join('segments', name) !== listed.info.file && path.join('segments', name) !== listed.info.index) {
          await this.fs.unlink(this.file(path.join('segments', name))).catch(() => undefined);
        }
        continue;
      }
      if (match[3] === 'sqlite') orphans.push({ id, version: Number(match[2] ?? 0), name });
      else if (!names.includes(name.replace(/\.idx$/, '.sqlite'))) await this.fs.unlink(this.file(path.join('segments', name))).catch(() => undefined);
    }
    for (const orphan of orphans.sort((a, b) => a.id - b.id || b.version - a.version)) {
      if (activeIds.has(orphan.id) || this.sealed.some((s) => s.id === orphan.id)) {
        // A seal interrupted before the manifest listed it (the journal is still the truth), or an older version.
        await this.fs.unlink(this.file(path.join('segments', orphan.name))).catch(() => undefined);
        await this.fs.unlink(this.file(indexFile(orphan.id, orphan.version))).catch(() => undefined);
        continue;
      }
      if (await this.adoptOrphan(orphan.id, orphan.version)) changed = true;
    }
    if (changed) {
      this.sealed.sort((a, b) => a.id - b.id);
      await this.commitManifest(() => undefined);
    }
  }

  /** A sealed file the manifest does not list (the manifest was restored from `.prev`): verify and re-list it. */
  private async adoptOrphan(id: number, version: number): Promise<boolean> {
    const file = this.file(segmentFile(id, version));
    try {
      const bytes = await this.fs.readFile(file);
      const SQL = await loadSqlJs();
      const db = new SQL.Database(bytes);
      try {
        const check = queryRows(db, 'PRAGMA quick_check')[0]?.[0];
        if (check !== 'ok') throw new Error(`SQLite quick_check: ${String(check)}`);
        migrate(db, SEGMENT_MIGRATIONS, `Segment ${id}`);
        const info: SealedSegmentInfo = {
          id,
          file: segmentFile(id, version),
          index: indexFile(id, version),
          bytes: bytes.length,
          sha256: sha256Hex(bytes),
          crc32: crc32(bytes),
          firstSeq: Infinity,
          lastSeq: -Infinity,
          count: 0,
          streams: {},
        };
        const rows = queryRows(
          db,
          'SELECT stream, count(*), sum(size), min(seq), max(seq), min(event_time), max(event_time), min(ingest_time), max(ingest_time) FROM event_rows GROUP BY stream',
        );
        for (const row of rows) {
          const [stream, count, size, firstSeq, lastSeq, minEventTime, maxEventTime, minIngestTime, maxIngestTime] = row as [string, ...number[]];
          info.streams[stream] = { count: count!, bytes: size!, firstSeq: firstSeq!, lastSeq: lastSeq!, minEventTime: minEventTime!, maxEventTime: maxEventTime!, minIngestTime: minIngestTime!, maxIngestTime: maxIngestTime! };
          info.count += count!;
          info.firstSeq = Math.min(info.firstSeq, firstSeq!);
          info.lastSeq = Math.max(info.lastSeq, lastSeq!);
        }
        if (info.count === 0) return false;
        if (version > 0) info.version = version;
        await this.writeIndexFor(info.index, db);
        this.sealed.push({ kind: 'sealed', id, info, head: null });
        this.report('info', `Re-adopted sealed segment ${id} (${info.count} events) that the manifest did not list.`);
        return true;
      } finally {
        db.close();
      }
    } catch (error) {
      const movedTo = await quarantineFile(this.fs, this.dir, file, `Unlisted segment that could not be verified: ${errorMessage(error)}`);
      this.report('error', `An unlisted segment file could not be verified (${errorMessage(error)}); it was moved to ${movedTo}.`);
      return false;
    }
  }

  private positionEntriesOf(db: Database): { hashes: Float64Array; seqs: Float64Array } {
    const rows = queryRows(db, 'SELECT seq, stream, position FROM event_rows');
    const hashes = new Float64Array(rows.length);
    const seqs = new Float64Array(rows.length);
    rows.forEach((row, i) => {
      seqs[i] = row[0] as number;
      hashes[i] = positionHash(row[1] as string, row[2] as string);
    });
    return { hashes, seqs };
  }

  private async writeIndexFor(relative: string, db: Database): Promise<PositionIndexHead> {
    const { hashes, seqs } = this.positionEntriesOf(db);
    await writeFileAtomic(this.fs, this.file(relative), [encodePositionIndex(hashes, seqs)], { hooks: this.hooks });
    return readPositionIndexHead(this.fs, this.file(relative));
  }

  /** A segment for appends (`deferred`: rows wait as journal bytes) or for recovery (given `db`). */
  private async newOpenSegment(id: number, db?: Database, deferred = false): Promise<OpenSegment> {
    const SQL = await loadSqlJs();
    const database = db ?? new SQL.Database();
    applyMemoryPragmas(database);
    migrate(database, SEGMENT_MIGRATIONS, `Segment ${id}`);
    return {
      kind: 'open',
      id,
      db: database,
      state: 'active',
      positions: new OpenPositionMap(),
      positionsReady: !db,
      groups: new Map(),
      firstSeq: Infinity,
      lastSeq: 0,
      count: 0,
      bytes: 0,
      journal: null,
      journalGen: 0,
      journalBytesSinceSnapshot: 0,
      snapshotGen: null,
      prevSnapshotGen: null,
      snapshotSeq: 0,
      snapshotting: false,
      damagedJournals: [],
      pending: 0,
      measuredBytes: databaseBytes(database),
      admittedBytes: 0,
      insert: null,
      sealing: false,
      sealRetryAt: 0,
      rowsDeleted: false,
      version: 0,
      deferred: deferred && !db,
      unindexed: new RowStore(),
      indexing: null,
    };
  }

  private async recoverOpenSegments(): Promise<void> {
    const byId = new Map<number, { journals: { gen: number; name: string }[]; snapshot: boolean; prev: boolean }>();
    for (const name of await this.fs.readdir(this.file('active'))) {
      const journal = JOURNAL_NAME.exec(name);
      const snapshot = SNAPSHOT_NAME.exec(name);
      const id = Number((journal ?? snapshot)?.[1] ?? NaN);
      if (Number.isNaN(id)) continue;
      const entry = byId.get(id) ?? { journals: [], snapshot: false, prev: false };
      byId.set(id, entry);
      if (journal) entry.journals.push({ gen: Number(journal[2]), name });
      else if (snapshot?.[2]) entry.prev = true;
      else entry.snapshot = true;
    }
    const sealedIds = new Set(this.sealed.map((s) => s.id));
    const ids = [...byId.keys()].sort((a, b) => a - b);
    const newestJournal = (() => {
      for (let i = ids.length - 1; i >= 0; i--) {
        const entry = byId.get(ids[i]!)!;
        if (sealedIds.has(ids[i]!) || entry.journals.length === 0) continue;
        const gen = Math.max(...entry.journals.map((j) => j.gen));
        return journalFile(ids[i]!, gen);
      }
      return null;
    })();
    for (const id of ids) {
      const entry = byId.get(id)!;
      if (sealedIds.has(id)) {
        // Leftovers of a seal whose manifest commit finished: the sealed file is the truth now.
        for (const journal of entry.journals) await this.fs.unlink(this.file(path.join('active', journal.name))).catch(() => undefined);
        await this.fs.unlink(this.file(snapshotFile(id))).catch(() => undefined);
        await this.fs.unlink(this.file(`${snapshotFile(id)}.prev`)).catch(() => undefined);
        continue;
      }
      const segment = await this.recoverSegment(id, entry.journals.sort((a, b) => a.gen - b.gen), newestJournal);
      if (segment) this.openSegments.push(segment);
    }
    // Every open segment but the newest is complete: it gets sealed in the background.
    for (let i = 0; i < this.openSegments.length - 1; i++) this.openSegments[i]!.state = 'sealing';
  }

  private async recoverSegment(id: number, journals: { gen: number; name: string }[], newestJournal: string | null): Promise<OpenSegment | null> {
    const SQL = await loadSqlJs();
    let header: Record<string, unknown> | null = null;
    let db: Database | undefined;
    let usedPrev = false;
    for (const candidate of [snapshotFile(id), `${snapshotFile(id)}.prev`]) {
      const file = this.file(candidate);
      if ((await this.fs.sizeOf(file)) === null) continue;
      // Read and hashed in one pass; a header larger than the first chunk is hashed afterwards.
      const started = this.snapshotReads.get(file);
      this.snapshotReads.delete(file);
      const read = (started ? await started.catch(() => null) : null) ?? (await readVerified(this.fs, file, 'crc32', snapshotImageOffset));
      const imageCrc32 = read.hashFrom === snapshotImageOffset(read.bytes) ? Number(read.digest) : undefined;
      const decoded = await decodeSnapshot(read.bytes, 'log-segment', imageCrc32);
      if (decoded.ok) {
        header = decoded.header;
        db = new SQL.Database(decoded.image);
        usedPrev = candidate.endsWith('.prev');
        break;
      }
      const reason = decoded.reason;
      const movedTo = await quarantineFile(this.fs, this.dir, file, `Snapshot damaged: ${reason}`, 'copy');
      await this.fs.unlink(file);
      this.report('warning', `A snapshot of segment ${id} was damaged (${reason}); copied to ${movedTo}. Recovering from the journal instead.`);
    }
    const startGen = header ? Number(header.journalGen) : 0;
    const segment = await this.newOpenSegment(id, db);
    // Rebuilt from the database once recovery is done (snapshot rows and replayed rows alike).
    segment.positionsReady = false;
    if (header) {
      segment.snapshotGen = startGen;
      segment.prevSnapshotGen = usedPrev ? null : startGen;
      segment.firstSeq = Number(header.firstSeq);
      segment.lastSeq = Number(header.lastSeq);
      segment.snapshotSeq = segment.lastSeq;
      segment.count = Number(header.count);
      segment.bytes = Number(header.bytes);
      for (const [stream, group] of Object.entries(header.groups as Record<string, GroupStats>)) segment.groups.set(stream, group);
    }
    const needed = journals.filter((j) => j.gen >= startGen);
    if (!header && journals.length > 0 && journals[0]!.gen > 0) {
      this.report('error', `Segment ${id}: its snapshots were damaged and the journals before generation ${journals[0]!.gen} are gone; some of its events could not be recovered.`);
    }
    if (!header && needed.length === 0) {
      segment.db.close();
      return null;
    }
    let lastGen = startGen;
    let writerEnd = 0;
    for (const journal of needed) {
      const relative = path.join('active', journal.name);
      const file = this.file(relative);
      const buffer = await this.fs.readFile(file);
      const scan = scanJournal(buffer);
      const isNewest = relative === newestJournal;
      if (scan.corrupt.length > 0 || (scan.tornTail && !isNewest)) {
        const damaged = scan.corrupt.reduce((sum, c) => sum + c.bytes, 0) + (scan.tornTail && !isNewest ? scan.tornTail.bytes : 0);
        const movedTo = await quarantineFile(this.fs, this.dir, file, `Journal damaged: ${damaged} bytes in ${scan.corrupt.length} range(s) fail their checksum.`, 'copy');
        this.report(
          scan.corrupt.length > 0 ? 'error' : 'warning',
          `Journal ${journal.name} had ${bytesText(damaged)} of damaged records; the good records were recovered and a copy was moved to ${movedTo}.`,
        );
        segment.damagedJournals.push(relative);
      } else if (scan.tornTail) {
        this.report('info', `Dropped an incomplete final journal record (${bytesText(scan.tornTail.bytes)}) left by an interrupted write; it was never acknowledged.`);
      }
      for (const record of scan.records) {
        if (record.type !== JOURNAL_RECORD_EVENTS) continue;
        const lines = record.payload.toString('utf8').split('\n');
        const events: PreparedEvent[] = [];
        for (const line of lines) {
          if (line.length === 0) continue;
          const event = parseJournalLine(line);
          if (event.seq <= segment.snapshotSeq || event.seq < this.hiddenBelow(event.stream)) continue;
          events.push(event);
        }
        this.insertRows(segment, events);
        this.recordApplied(segment, events);
      }
      lastGen = journal.gen;
      writerEnd = isNewest ? scan.validEnd : buffer.length;
      segment.journalBytesSinceSnapshot += scan.validEnd;
    }
    // Rows of streams deleted after the snapshot was taken.
    for (const [stream, settings] of Object.entries(this.manifest.streams)) {
      if ((settings.hiddenBelow ?? 0) > 0 && segment.groups.has(stream)) this.deleteRowsOf(segment, stream);
    }
    if (segment.damagedJournals.length === 0 && needed.length > 0) {
      segment.journalGen = lastGen;
      const last = needed[needed.length - 1]!;
      segment.journal = await JournalWriter.open(this.fs, this.file(path.join('active', last.name)), {
        validEnd: writerEnd,
        hooks: this.hooks,
      });
    } else if (needed.length === 0) {
      segment.journalGen = startGen;
    } else {
      // Damaged journals are never appended to: the next snapshot covers them and a new generation starts.
      segment.journalGen = lastGen + 1;
      if (segment.damagedJournals.length > 0) segment.journalBytesSinceSnapshot = Infinity;
    }
    segment.measuredBytes = databaseBytes(segment.db);
    return segment;
  }

  // -------------------------------------------------------------------------------------------
  // Position index (deduplication)

  private async loadPositions(): Promise<void> {
    for (const segment of this.liveSealed()) {
      if (segment.head || this.closing) continue;
      await this.loadHead(segment);
    }
    for (const segment of this.openSegments) this.rebuildOpenPositions(segment);
  }

  private rebuildOpenPositions(segment: OpenSegment): void {
    if (segment.positionsReady) return;
    const statement = segment.db.prepare('SELECT seq, stream, position FROM event_rows');
    try {
      while (statement.step()) {
        const row = statement.get();
        segment.positions.add(positionHash(row[1] as string, row[2] as string), row[0] as number);
      }
    } finally {
      statement.free();
    }
    segment.positionsReady = true;
  }

  private async loadHead(segment: SealedSegment): Promise<void> {
    const file = this.file(segment.info.index);
    try {
      const head = await readPositionIndexHead(this.fs, file);
      if (head.count !== segment.info.count) throw new PositionIndexError(`lists ${head.count} events, the segment has ${segment.info.count}`);
      segment.head = head;
      return;
    } catch (error) {
      if ((await this.fs.sizeOf(file)) !== null) {
        const movedTo = await quarantineFile(this.fs, this.dir, file, `Position index unreadable: ${errorMessage(error)}`);
        this.report('warning', `The position index of segment ${segment.id} was damaged (${errorMessage(error)}); moved to ${movedTo} and rebuilt.`);
      }
    }
    const lease = await this.cache.acquire(segment.id).catch(() => null);
    if (!lease) return; // the segment itself is damaged: it has been quarantined
    try {
      const current = this.sealed.find((s) => s.id === segment.id) ?? segment;
      const head = await this.writeIndexFor(current.info.index, lease.db);
      segment.head = head;
      current.head = head;
    } finally {
      lease.release();
    }
  }

  private async ensurePositions(): Promise<void> {
    this.positionsLoading ??= this.track(
      this.loadPositions().catch((error: unknown) => {
        this.positionsLoading = null; // the next append tries again
        throw error;
      }),
    );
    await this.positionsLoading;
    for (const segment of this.openSegments) this.rebuildOpenPositions(segment);
    for (const segment of this.liveSealed()) if (!segment.head) await this.loadHead(segment);
  }

  private identityOf(segment: OpenSegment, seq: number): { stream: string; position: string } | null {
    const pending = this.pendingBySeq.get(seq);
    if (pending) return pending;
    // Rows still waiting as journal bytes are read there: a re-capture's duplicate checks do not
    // index the whole open segment on the engine's thread.
    const stored = segment.deferred ? segment.unindexed.identityOf(seq) : null;
    if (stored) return stored;
    this.indexNow(segment);
    const row = queryRows(segment.db, 'SELECT stream, position FROM event_rows WHERE seq = ?', [seq])[0];
    return row ? { stream: row[0] as string, position: row[1] as string } : null;
  }

  private inOpenSegments(event: { stream: string; position: string; hash: number }): number | null {
    const hidden = this.hiddenBelow(event.stream);
    for (const segment of this.openSegments) {
      const found = segment.positions.lookup(event.hash);
      if (found === undefined) continue;
      for (const seq of typeof found === 'number' ? [found] : found) {
        if (seq < hidden) continue;
        const identity = this.identityOf(segment, seq);
        if (identity && identity.stream === event.stream && identity.position === event.position) return seq;
      }
    }
    return null;
  }

  private sealedCandidates(event: { stream: string; hash: number }): SealedSegment[] {
    const hidden = this.hiddenBelow(event.stream);
    const candidates: SealedSegment[] = [];
    for (let i = this.sealed.length - 1; i >= 0; i--) {
      const segment = this.sealed[i]!;
      const group = segment.info.streams[event.stream];
      if (!group || group.lastSeq < hidden || segment.info.quarantined || !segment.head) continue;
      if (segment.head.bloom.has(event.hash)) candidates.push(segment);
    }
    return candidates;
  }

  private async inSealed(event: { stream: string; position: string; hash: number }, candidates: SealedSegment[]): Promise<number | null> {
    const hidden = this.hiddenBelow(event.stream);
    for (const segment of candidates) {
      if (!segment.head || segment.info.quarantined) continue;
      let seqs: number[];
      try {
        seqs = (await lookupPositionIndex(this.fs, this.file(segment.info.index), segment.head, event.hash)).filter((s) => s >= hidden);
      } catch (error) {
        segment.head = null;
        await this.loadHead(segment);
        if (!segment.head) continue;
        seqs = (await lookupPositionIndex(this.fs, this.file(segment.info.index), segment.head, event.hash).catch(() => [] as number[])).filter((s) => s >= hidden);
        void error;
      }
      if (seqs.length === 0) continue;
      const lease = await this.cache.acquire(segment.id).catch(() => null);
      if (!lease) continue;
      try {
        const rows = queryRows(lease.db, `SELECT seq, stream, position FROM event_rows WHERE seq IN (${seqs.map(() => '?').join(',')})`, seqs);
        for (const row of rows) if (row[1] === event.stream && row[2] === event.position) return row[0] as number;
      } finally {
        lease.release();
      }
    }
    return null;
  }

  async findPosition(stream: string, position: string): Promise<number | null> {
    this.assertOpen();
    await this.ensurePositions();
    const event = { stream, position, hash: positionHash(stream, position) };
    return this.inOpenSegments(event) ?? (await this.inSealed(event, this.sealedCandidates(event)));
  }

  // -------------------------------------------------------------------------------------------
  // Append

  private assertOpen(): void {
    if (this.closing || this.closed) throw new EddyError('UNAVAILABLE', 'The event log is closed.');
  }

  private assertWritable(): void {
    this.assertOpen();
    if (this.broken) throw new EddyError('INTERNAL', `The event log stopped accepting appends after an internal error (${this.broken.message}); restart Eddy to recover from the journal.`);
  }

  /** Runs `task` after every earlier admission or administrative change (one writer of state). */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.admission.then(task);
    this.admission = run.catch(() => undefined);
    return run;
  }

  encoder(): EventEncoder {
    return new EventEncoder(this.maxEventBytes);
  }

  async append(events: readonly LogInput[]): Promise<AppendResult> {
    this.assertWritable();
    if (!Array.isArray(events)) throw new EddyError('VALIDATION', 'append expects an array of events.');
    const admitted = await this.exclusive(() => this.admit(events));
    // Durability is awaited outside the admission lock, so the next batch is admitted meanwhile.
    return admitted.durable ?? admitted.result;
  }

  private async admit(inputs: unknown[]): Promise<{ result: AppendResult; durable: Promise<AppendResult> | null }> {
    this.assertWritable();
    await this.ensurePositions();
    if (this.paused && this.queuedBytes > this.maxPendingBytes) {
      throw new EddyError('UNAVAILABLE', `Appends are paused (${this.paused.reason}) and ${bytesText(this.queuedBytes)} are already waiting; try again when the disk has room.`);
    }
    const result: AppendResult = { appended: 0, duplicates: 0, rejected: [] };
    const accepted: { event: PreparedEvent; original: unknown }[] = [];
    const inBatch = new Map<number, PreparedEvent[]>();
    const candidates: { index: number; segments: SealedSegment[] }[] = [];
    let sliceEnd = EVENTS_PER_SLICE;
    for (let n = 0; n < inputs.length; n++) {
      if (n === sliceEnd) {
        // Appends are serialized, so yielding here cannot let another append race this one.
        await yieldToEventLoop();
        sliceEnd += EVENTS_PER_SLICE;
      }
      const input = inputs[n];
      const prepared = prepareInput(input, this.maxEventBytes);
      if (!prepared.ok) {
        result.rejected.push({ position: prepared.position, stream: prepared.stream, size: prepared.size, reason: prepared.reason });
        if (prepared.size > this.maxEventBytes) {
          this.report('warning', `Refused event at position ${prepared.position} of ${prepared.stream}: ${bytesText(prepared.size)}, over the ${bytesText(this.maxEventBytes)} limit.`);
        }
        continue;
      }
      const event = prepared.event;
      const same = inBatch.get(event.hash);
      if (same?.some((e) => e.stream === event.stream && e.position === event.position)) {
        result.duplicates++;
        continue;
      }
      if (same) same.push(event);
      else inBatch.set(event.hash, [event]);
      if (this.inOpenSegments(event) !== null) {
        result.duplicates++;
        continue;
      }
      const sealed = this.sealedCandidates(event);
      if (sealed.length > 0) candidates.push({ index: accepted.length, segments: sealed });
      accepted.push({ event, original: input });
    }
    // Bloom hits: check the sidecar blocks (and confirm in the segment) before deciding.
    const duplicateIndexes = new Set<number>();
    for (const candidate of candidates) {
      if ((await this.inSealed(accepted[candidate.index]!.event, candidate.segments)) !== null) duplicateIndexes.add(candidate.index);
    }
    const fresh = duplicateIndexes.size === 0 ? accepted : accepted.filter((_, i) => !duplicateIndexes.has(i));
    result.duplicates += duplicateIndexes.size;
    if (fresh.length === 0) return { result, durable: null };
    this.assertWritable();

    // One journal record per slice of at most RECORD_BYTES: a huge append never builds a string
    // past V8's limit, and the append resolves only when every slice is durable. Each slice goes
    // to the segment that is active when it is admitted, so segments stay near their size.
    const slices: Promise<AppendResult>[] = [];
    for (let from = 0; from < fresh.length; ) {
      let to = from;
      let sliceBytes = 0;
      while (to < fresh.length && (to === from || sliceBytes + fresh[to]!.event.size <= RECORD_BYTES)) sliceBytes += fresh[to++]!.event.size;
      let segment = this.openSegments[this.openSegments.length - 1]!;
      const estimate = estimatedBytes(segment, sliceBytes);
      if (segment.count + segment.pending > 0 && estimate > this.segmentBytes) segment = await this.rotate();
      const count = to - from;
      const events: PreparedEvent[] = new Array(count);
      const originals: unknown[] = new Array(count);
      let payloadBytes = count - 1;
      for (let i = 0; i < count; i++) {
        const event = fresh[from + i]!.event;
        event.seq = this.nextSeq++;
        segment.positions.add(event.hash, event.seq);
        this.pendingBySeq.set(event.seq, event);
        events[i] = event;
        originals[i] = fresh[from + i]!.original;
        payloadBytes += journalPrefixBytes(event.seq) + event.size;
      }
      const layout = newRowLayout(count);
      const payload = encodeJournalLines(events, payloadBytes, layout);
      segment.pending++;
      segment.admittedBytes += sliceBytes;
      slices.push(
        new Promise<AppendResult>((resolve, reject) => {
          this.queue.push({ segment, events, originals, payload, layout, result, resolve, reject, inserted: false });
        }),
      );
      this.queuedBytes += payload.length;
      from = to;
    }
    result.appended = fresh.length;
    this.kickWriter();
    const durable = slices.length === 1 ? slices[0]! : Promise.all(slices).then(() => result);
    // A slice that fails makes the append fail; the others must not surface as unhandled.
    for (const slice of slices) slice.catch(() => undefined);
    return { result, durable };
  }

  private async rotate(): Promise<OpenSegment> {
    const previous = this.openSegments[this.openSegments.length - 1]!;
    previous.state = 'sealing';
    // Deferred segments wait for the builder as bytes in memory: when appends outrun it, they wait.
    while (!this.closing && this.openSegments.filter((s) => s.state === 'sealing' && s.deferred).length > MAX_UNBUILT_SEGMENTS) {
      this.startDueSeals();
      await untilCalled(this.sealWaiters, 100);
    }
    const next = await this.newOpenSegment(this.nextSegmentId++, undefined, this.builder !== null);
    this.openSegments.push(next);
    return next;
  }

  // -------------------------------------------------------------------------------------------
  // The writer: group commit, then apply

  private kickWriter(): void {
    if (this.wakeWriter) {
      const wake = this.wakeWriter;
      this.wakeWriter = null;
      wake();
    }
    if (this.writer) return;
    this.writer = this.runWriter().finally(() => {
      this.writer = null;
      this.releaseBreathers();
      if (this.queue.length > 0 && !this.closed) this.kickWriter();
    });
  }

  private takeGroup(): Batch[] | null {
    const first = this.queue[0];
    if (!first) return null;
    const group: Batch[] = [];
    let bytes = 0;
    while (this.queue.length > 0 && this.queue[0]!.segment === first.segment && (group.length === 0 || bytes < 16 * MiB)) {
      const batch = this.queue.shift()!;
      bytes += batch.payload.length;
      group.push(batch);
    }
    return group;
  }

  private async writeGroup(group: Batch[]): Promise<void> {
    const segment = group[0]!.segment;
    segment.journal ??= await JournalWriter.open(this.fs, this.file(journalFile(segment.id, segment.journalGen)), {
      hooks: this.hooks,
      syncDir: this.file('active'),
    });
    await segment.journal.append(group.map((batch) => ({ type: JOURNAL_RECORD_EVENTS, payload: batch.payload })));
  }

  /**
   * One group at a time: start its journal write, insert its rows into sql.js while the write and
   * fdatasync are in flight (readers see rows only up to `durableSeq`, so nothing is visible before
   * it is durable), then mark it durable and resolve the appends. Snapshots and seals are started
   * between groups, when no write is in flight and every inserted row is durable.
   */
  private async runWriter(): Promise<void> {
    for (;;) {
      if (this.broken) {
        this.failBatches(this.queue.splice(0), this.broken);
        return;
      }
      await this.maintain();
      const group = this.takeGroup();
      if (!group) return;
      if (this.closed) {
        this.failBatches(group, new EddyError('UNAVAILABLE', 'The event log closed before these events were written.'));
        continue;
      }
      const io = this.writeGroup(group).then(
        () => null,
        (error: unknown) => error,
      );
      let insertError: unknown = null;
      try {
        await this.insertGroup(group);
      } catch (error) {
        insertError = error;
      }
      const error = await io;
      if (insertError !== null) {
        this.indexingFailed(insertError);
        this.failBatches(group, new EddyError('INTERNAL', 'The events could not be indexed; restart Eddy (the journal is replayed at start).'));
        continue;
      }
      if (error === null) {
        if (this.paused) {
          const seconds = Math.round((Date.now() - this.paused.since) / 1000);
          this.paused = null;
          this.report('info', `Appends resumed after ${seconds} s; nothing acknowledged was lost.`);
        }
        this.markDurable(group);
        continue;
      }
      this.queue.unshift(...group);
      if (this.closing) {
        this.failBatches(this.queue.splice(0), new EddyError('UNAVAILABLE', `The event log closed while appends were paused (${errorMessage(error)}).`));
        return;
      }
      await this.pause(error);
    }
  }

  /** The database is behind the journal: appends stop until a restart replays the journal. */
  private indexingFailed(error: unknown): void {
    this.broken = error instanceof Error ? error : new Error(String(error));
    this.report('error', `The event log could not index events in its database (${errorMessage(error)}); appends are stopped. Restart Eddy to recover from the journal.`);
  }

  private async pause(error: unknown): Promise<void> {
    const reason = isNoSpace(error) ? 'the disk is full' : `the journal cannot be written: ${errorMessage(error)}`;
    if (!this.paused) {
      this.paused = { since: Date.now(), reason };
      this.report(
        'error',
        `Appends are paused: ${reason}. Nothing acknowledged is lost; captures wait, and appends resume by themselves once the disk accepts writes again.`,
      );
    }
    const waited = Date.now() - this.paused.since;
    const delay = waited < 2_000 ? 250 : waited < 30_000 ? 1_000 : 5_000;
    await new Promise<void>((resolve) => {
      const handle = setTimeout(() => {
        this.wakeWriter = null;
        resolve();
      }, delay);
      this.wakeWriter = () => {
        clearTimeout(handle);
        resolve();
      };
    });
  }

  private failBatches(batches: Batch[], error: unknown): void {
    for (const batch of batches) {
      this.queuedBytes -= batch.payload.length;
      batch.segment.pending--;
      if (batch.inserted && batch.events.length > 0 && !this.closed) {
        // Inserted while its write was in flight, never made durable: take the rows back out.
        batch.segment.db.run('DELETE FROM event_rows WHERE seq >= ? AND seq <= ?', [batch.events[0]!.seq, batch.events[batch.events.length - 1]!.seq]);
        batch.segment.version++;
      }
      for (const event of batch.events) {
        this.pendingBySeq.delete(event.seq);
        batch.segment.positions.remove(event.hash, event.seq);
      }
      batch.reject(error);
    }
  }

  private insertStatements(segment: OpenSegment): NonNullable<OpenSegment['insert']> {
    segment.insert ??= {
      one: fastStatement(loadedSqlJs(), segment.db, segment.db.prepare(INSERT_ONE), ROW_WIDTH),
      many: fastStatement(loadedSqlJs(), segment.db, segment.db.prepare(INSERT_MANY), ROWS_PER_INSERT * ROW_WIDTH),
    };
    return segment.insert;
  }

  /** Inserts rows `[from, to)` of a batch straight from its journal bytes, in one transaction. */
  private insertLaidOut(segment: OpenSegment, batch: Batch, skip: ((row: number) => boolean) | null, from: number, to: number): void {
    const statements = this.insertStatements(segment);
    inTransaction(segment.db, () => insertLaidOutRows(statements.many, statements.one, batch.payload, batch.layout, skip, from, to));
  }

  /** Inserts prepared events (replaying journals at start) with the bound-values path. */
  private insertRows(segment: OpenSegment, events: PreparedEvent[], from = 0, to = events.length): void {
    if (to <= from) return;
    const statements = this.insertStatements(segment);
    const many: SqlValue[] = new Array(ROWS_PER_INSERT * ROW_WIDTH);
    const one: SqlValue[] = new Array(ROW_WIDTH);
    inTransaction(segment.db, () => {
      let i = from;
      for (; i + ROWS_PER_INSERT <= to; i += ROWS_PER_INSERT) {
        for (let j = 0; j < ROWS_PER_INSERT; j++) bindRow(many, j * ROW_WIDTH, events[i + j]!);
        statements.many.run(many);
      }
      for (; i < to; i++) {
        bindRow(one, 0, events[i]!);
        statements.one.run(one);
      }
    });
  }

  private recordApplied(segment: OpenSegment, events: PreparedEvent[]): void {
    for (const event of events) {
      let group = segment.groups.get(event.stream);
      if (!group) {
        group = emptyGroup();
        segment.groups.set(event.stream, group);
      }
      addToGroup(group, event.seq, event.size, event.eventTime, event.ingestTime);
      segment.count++;
      segment.bytes += event.size;
      if (event.seq < segment.firstSeq) segment.firstSeq = event.seq;
      if (event.seq > segment.lastSeq) segment.lastSeq = event.seq;
    }
    segment.version++;
  }

  /** Rows of a stream deleted meanwhile stay out: which rows of the batch to leave out, if any. */
  private hiddenRows(batch: Batch): ((row: number) => boolean) | null {
    return batch.events.some((e) => e.seq < this.hiddenBelow(e.stream)) ? (row: number) => batch.events[row]!.seq < this.hiddenBelow(batch.events[row]!.stream) : null;
  }

  /** Rows holding `bytes` of events are now in the segment's database. */
  private accountInserted(segment: OpenSegment, bytes: number): void {
    segment.version++;
    segment.measuredBytes = databaseBytes(segment.db);
    segment.admittedBytes = Math.max(0, segment.admittedBytes - bytes);
  }

  /**
   * Inserts a group's rows (invisible to readers until `markDurable`), in slices so other work is
   * not starved. Deferred segments are left alone: `markDurable` keeps their rows as bytes.
   */
  private async insertGroup(group: Batch[]): Promise<void> {
    for (const batch of group) {
      if (batch.inserted || batch.segment.deferred) continue;
      const segment = batch.segment;
      const skip = this.hiddenRows(batch);
      for (let from = 0; from < batch.events.length; from += ROWS_PER_SLICE) {
        if (from > 0) await yieldToEventLoop();
        this.insertLaidOut(segment, batch, skip, from, Math.min(batch.events.length, from + ROWS_PER_SLICE));
      }
      batch.inserted = true;
      this.accountInserted(segment, batchBytes(batch));
    }
  }

  /**
   * A durable batch the writer did not insert: a deferred segment keeps its bytes (unless some rows
   * must stay out: a stream deleted meanwhile); otherwise its rows go into the database now.
   */
  private applyUninserted(batch: Batch): void {
    const segment = batch.segment;
    const skip = this.hiddenRows(batch);
    if (segment.deferred && !skip) {
      segment.unindexed.add(batch.payload, batch.layout, batchBytes(batch));
      return;
    }
    this.indexNow(segment);
    this.insertLaidOut(segment, batch, skip, 0, batch.events.length);
    batch.inserted = true;
    this.accountInserted(segment, batchBytes(batch));
  }

  /** Inserts up to about `rows` of a deferred segment's waiting rows, in one transaction. */
  private indexSome(segment: OpenSegment, rows: number): void {
    const taken = segment.unindexed.take(rows);
    if (taken.batches.length === 0) return;
    const statements = this.insertStatements(segment);
    try {
      inTransaction(segment.db, () => {
        for (const batch of taken.batches) insertLaidOutRows(statements.many, statements.one, batch.payload, batch.layout, null, 0, batch.layout.count);
      });
    } catch (error) {
      // Rolled back: those rows are still only bytes, as before.
      segment.unindexed.untake(taken.batches.length);
      throw error;
    }
    this.accountInserted(segment, taken.bytes);
  }

  /**
   * Inserts a deferred segment's rows into its database, which then takes every later row as it
   * comes: the first read of a segment (or a snapshot, a deletion, an integrity check) pays once.
   */
  private indexNow(segment: OpenSegment): void {
    if (!segment.deferred) return;
    this.indexSome(segment, Infinity);
    segment.deferred = false;
    segment.unindexed = new RowStore();
  }

  /**
   * The same for reads, in slices with the event loop free between them: a read during a capture
   * does not stall the engine (a full segment is tens of thousands of rows). Stops if the segment
   * is sealed meanwhile; the caller looks again.
   */
  private indexInSlices(segment: OpenSegment): Promise<void> {
    segment.indexing ??= (async () => {
      try {
        while (segment.deferred && this.openSegments.includes(segment)) {
          if (segment.unindexed.pending === 0) {
            this.indexNow(segment);
            return;
          }
          this.indexSome(segment, ROWS_PER_SLICE);
          await yieldToEventLoop();
        }
      } finally {
        segment.indexing = null;
      }
    })();
    return segment.indexing;
  }

  /** The group is in the journal and synced: account for it, make it visible, resolve the appends. */
  private markDurable(group: Batch[]): void {
    const now = this.now();
    for (const batch of group) {
      const segment = batch.segment;
      if (!batch.inserted && !this.broken) {
        try {
          this.applyUninserted(batch);
        } catch (error) {
          // Durable in the journal, so the append stands; the database is behind it from here.
          this.indexingFailed(error);
        }
      }
      this.queuedBytes -= batch.payload.length;
      // A stream deleted meanwhile: its rows are gone from the database, keep them out of the stats.
      this.recordApplied(segment, batch.events.filter((e) => e.seq >= this.hiddenBelow(e.stream)));
      segment.pending--;
      segment.journalBytesSinceSnapshot += batch.payload.length + 16;
      const perStream = new Map<string, number>();
      for (const event of batch.events) {
        this.pendingBySeq.delete(event.seq);
        if (event.seq > this.durableSeq) this.durableSeq = event.seq;
        perStream.set(event.stream, (perStream.get(event.stream) ?? 0) + 1);
      }
      for (const [stream, count] of perStream) this.rates.add(stream, count, now);
      batch.resolve(batch.result);
      if (this.tails.size > 0 || this.appendWatchers.size > 0) this.notifyTails(batch);
    }
    this.releaseBreathers();
  }

  private releaseBreathers(): void {
    if (this.breathers.length === 0) return;
    const waiting = this.breathers;
    this.breathers = [];
    // After the appends just resolved have run their continuations (setImmediate follows them).
    setImmediate(() => {
      for (const done of waiting) done();
    });
  }

  private notifyTails(batch: Batch): void {
    const events = new DurableBatchEvents(batch);
    if (this.appendWatchers.size > 0) {
      const appended = batch.events.map((event, i) => new AppendedRef(event.stream, event.seq, events, i));
      for (const watcher of this.appendWatchers) {
        try {
          watcher(appended);
        } catch (error) {
          this.report('warning', `A live view of the log failed: ${errorMessage(error)}`);
        }
      }
    }
    for (const tail of this.tails) {
      const selected: StoredEvent[] = [];
      for (let i = 0; i < batch.events.length; i++) if (tail.stream === undefined || batch.events[i]!.stream === tail.stream) selected.push(events.at(i));
      if (selected.length === 0) continue;
      try {
        tail.listener(selected);
      } catch (error) {
        this.report('warning', `A live view of the log failed: ${errorMessage(error)}`);
      }
    }
  }

  tail(stream: string | undefined, listener: (events: StoredEvent[]) => void): () => void {
    const entry: TailListener = { stream, listener };
    this.tails.add(entry);
    return () => {
      this.tails.delete(entry);
    };
  }

  onAppended(listener: (appended: readonly AppendedEvent[]) => void): () => void {
    // A wrapper, so the same function subscribed twice is two subscriptions.
    const watcher = (appended: readonly AppendedEvent[]): void => listener(appended);
    this.appendWatchers.add(watcher);
    return () => {
      this.appendWatchers.delete(watcher);
    };
  }

  // -------------------------------------------------------------------------------------------
  // Snapshots and sealing

  private snapshotDue(segment: OpenSegment): boolean {
    // A deferred segment is indexed for it (exportImage): with the default `snapshotBytes` a segment
    // filled by appends rotates before that, and its journal is its record until it is sealed.
    return segment.state === 'active' && !segment.snapshotting && segment.journalBytesSinceSnapshot >= this.snapshotBytes;
  }

  /**
   * Snapshots what is due. Only the writer calls this, between groups: no journal write is in
   * flight and every inserted row is durable, so the image matches the journal exactly. Batches
   * still queued are fine: they will be written to the new journal generation.
   */
  private async maintain(): Promise<void> {
    for (const segment of this.openSegments) {
      if (this.closing) return;
      if (this.snapshotDue(segment)) await this.snapshot(segment, false);
    }
    this.startDueSeals();
  }

  /** Seals segments that are complete. Safe from anywhere: a sealing segment receives no writes. */
  private startDueSeals(): void {
    for (const segment of this.openSegments) {
      if (this.closing) return;
      if (segment.state === 'sealing' && segment.pending === 0 && !segment.sealing && Date.now() >= segment.sealRetryAt) {
        segment.sealing = true;
        this.track(this.seal(segment), true);
      }
    }
  }

  private exportImage(segment: OpenSegment): Uint8Array {
    this.indexNow(segment);
    const image = segment.db.export();
    // sql.js before 1.10 closed and reopened the connection in export() (statements gone, pragmas
    // reset); 1.16 exports through SQLite's backup API. Statements are prepared afresh either way.
    segment.insert = null;
    applyMemoryPragmas(segment.db);
    return image;
  }

  /**
   * Exports the segment and rotates its journal (synchronously, so nothing slips between), then
   * publishes the snapshot. `wait` makes the caller wait for the file (close does).
   */
  private async snapshot(segment: OpenSegment, wait: boolean): Promise<void> {
    if (segment.snapshotting) return;
    segment.snapshotting = true;
    const image = this.exportImage(segment);
    const gen = segment.journalGen + 1;
    const meta = {
      segmentId: segment.id,
      journalGen: gen,
      firstSeq: segment.firstSeq === Infinity ? 0 : segment.firstSeq,
      lastSeq: segment.lastSeq,
      count: segment.count,
      bytes: segment.bytes,
      groups: Object.fromEntries(segment.groups),
    };
    const journal = segment.journal;
    segment.journal = null;
    segment.journalGen = gen;
    const coveredBytes = segment.journalBytesSinceSnapshot;
    segment.journalBytesSinceSnapshot = 0;
    const publish = async (): Promise<void> => {
      try {
        await journal?.close();
        const chunks = await encodeSnapshot('log-segment', image, meta);
        await writeFileAtomic(this.fs, this.file(snapshotFile(segment.id)), chunks, { keepPrevious: true, hooks: this.hooks });
        segment.prevSnapshotGen = segment.snapshotGen;
        segment.snapshotGen = gen;
        segment.snapshotSeq = meta.lastSeq;
        // Keep every journal the previous snapshot needs: it is the fallback if this one is ever damaged.
        const keepFrom = segment.prevSnapshotGen ?? 0;
        for (const name of await this.fs.readdir(this.file('active'))) {
          const match = JOURNAL_NAME.exec(name);
          if (match && Number(match[1]) === segment.id && Number(match[2]) < keepFrom) {
            await this.fs.unlink(this.file(path.join('active', name))).catch(() => undefined);
          }
        }
        for (const damaged of segment.damagedJournals.splice(0)) await this.fs.unlink(this.file(damaged)).catch(() => undefined);
      } catch (error) {
        // Nothing is lost: the journals are all still there. Try again after more appends.
        segment.journalBytesSinceSnapshot += coveredBytes;
        this.report('warning', `Could not write a snapshot of segment ${segment.id} (${errorMessage(error)}); the journal still has everything.`);
      } finally {
        segment.snapshotting = false;
      }
    };
    const done = this.track(publish(), true);
    if (wait) await done;
  }

  private async seal(segment: OpenSegment): Promise<void> {
    try {
      if (segment.count === 0) {
        await this.removeOpenFiles(segment);
        this.openSegments = this.openSegments.filter((s) => s !== segment);
        segment.db.close();
        return;
      }
      await this.ensurePositions();
      const built = await this.buildInBackground(segment);
      // Everything describing the image is captured in the same synchronous step as the export.
      const image = built?.image ?? this.exportImage(segment);
      const entries = segment.rowsDeleted ? this.positionEntriesOf(segment.db) : segment.positions.entries();
      const stats = {
        firstSeq: segment.firstSeq,
        lastSeq: segment.lastSeq,
        count: segment.count,
        streams: structuredClone(Object.fromEntries(segment.groups)),
      };
      // Export, index and checksum each take tens of milliseconds: between them, let appends in
      // flight complete, so no append waits for more than one of these steps.
      await this.appendsBreathe();
      const index = encodePositionIndex(entries.hashes, entries.seqs, segment.rowsDeleted ? undefined : segment.positions);
      await this.appendsBreathe();
      const { sha256, crc } = built ? { sha256: built.sha256, crc: built.crc32 } : await checksumsInSlices(image);
      await writeFileAtomic(this.fs, this.file(segmentFile(segment.id)), [image], { hooks: this.hooks });
      await writeFileAtomic(this.fs, this.file(indexFile(segment.id)), [index], { hooks: this.hooks });
      const head = await readPositionIndexHead(this.fs, this.file(indexFile(segment.id)));
      await this.hooks?.at('seal-commit', segmentFile(segment.id));
      const info: SealedSegmentInfo = { id: segment.id, file: segmentFile(segment.id), index: indexFile(segment.id), bytes: image.length, sha256, crc32: crc, ...stats };
      await this.commitManifest(
        (manifest) => {
          manifest.nextSegmentId = Math.max(manifest.nextSegmentId, segment.id + 1);
          manifest.seqFloor = Math.max(manifest.seqFloor, segment.lastSeq + 1);
          return { add: info };
        },
        () => {
          // In the same tick as the manifest switch, so no reader ever sees the segment twice or not at all.
          this.openSegments = this.openSegments.filter((s) => s !== segment);
          const sealed = this.sealed.find((s) => s.id === segment.id);
          if (sealed) sealed.head = head;
          // Not kept in the read cache: in streaming use nobody reads it soon, and memory must stay flat.
          segment.db.close();
          segment.unindexed = new RowStore();
        },
      );
      await segment.journal?.close().catch(() => undefined);
      segment.journal = null;
      await this.removeOpenFiles(segment);
      this.track(this.enforceRetention());
    } catch (error) {
      segment.sealing = false;
      segment.sealRetryAt = Date.now() + 5_000;
      if (!this.closing) {
        this.report('warning', `Could not seal segment ${segment.id} (${errorMessage(error)}); it stays open and is retried shortly. Nothing is lost.`);
        this.timer(5_000, () => this.startDueSeals());
      }
    } finally {
      const waiters = this.sealWaiters;
      this.sealWaiters = [];
      for (const done of waiters) done();
    }
  }

  /**
   * The sealed image of a deferred segment, built by the worker from the rows' journal bytes; null
   * when the segment is indexed here already (it was read), or the build failed or disagrees with
   * the segment (then it is exported from its database here, as every segment once was).
   */
  private async buildInBackground(segment: OpenSegment): Promise<BuiltSegment | null> {
    if (!this.builder || !segment.deferred || segment.unindexed.size === 0) return null;
    const request = segment.unindexed.request(Math.ceil(estimatedBytes(segment) * 1.1) + MiB);
    let built: BuiltSegment;
    try {
      await this.hooks?.at('segment-build', segmentFile(segment.id));
      built = await this.builder.build(request);
    } catch (error) {
      if (!this.builderFailed && !this.closing) {
        this.builderFailed = true;
        this.report('warning', `Segment ${segment.id} could not be built in the background (${errorMessage(error)}); it is sealed on the engine's thread instead, which slows appends while it runs.`);
      }
      return null;
    }
    // Rows deleted meanwhile (a stream deleted while the image was built): the image has them.
    if (segment.rowsDeleted) return null;
    if (built.rows !== segment.count) {
      this.report('warning', `Segment ${segment.id} was built in the background with ${built.rows} rows instead of ${segment.count}; it is sealed on the engine's thread instead.`);
      return null;
    }
    return built;
  }

  /**
   * Resolves once the writer has made the group in flight durable (or at once when it is idle, or
   * after 100 ms at most): background work that blocks the event loop in steps (a seal) calls this
   * between steps, so an append waits for one step at most, never for all of them in a row.
   */
  private appendsBreathe(): Promise<void> {
    if (!this.writer || this.closing) return yieldToEventLoop();
    return untilCalled(this.breathers, 100);
  }

  private async removeOpenFiles(segment: OpenSegment): Promise<void> {
    for (const name of await this.fs.readdir(this.file('active'))) {
      const match = JOURNAL_NAME.exec(name) ?? SNAPSHOT_NAME.exec(name);
      if (match && Number(match[1]) === segment.id) await this.fs.unlink(this.file(path.join('active', name))).catch(() => undefined);
    }
  }

  /** Serialized manifest changes; `change` edits the draft and may add a sealed segment. */
  private commitManifest(change: (draft: Manifest) => { add?: SealedSegmentInfo } | void, committed?: () => void): Promise<void> {
    const run = this.manifestWrite.then(async () => {
      const draft: Manifest = structuredClone({ ...this.manifest, segments: this.sealed.map((s) => s.info) });
      const outcome = change(draft) ?? {};
      if (outcome.add) {
        draft.segments = [...draft.segments.filter((s) => s.id !== outcome.add!.id), outcome.add].sort((a, b) => a.id - b.id);
      }
      draft.generation++;
      await writeManifestFile(this.fs, this.dir, draft, this.hooks);
      this.manifest = draft;
      const heads = new Map(this.sealed.map((s) => [s.id, s.head]));
      this.sealed = draft.segments.map((info) => ({ kind: 'sealed', id: info.id, info, head: heads.get(info.id) ?? null }));
      committed?.();
    });
    this.manifestWrite = run.catch(() => undefined);
    return run;
  }

  // -------------------------------------------------------------------------------------------
  // Loading sealed segments

  private async loadSealed(id: number, attempt = 1): Promise<{ db: Database; bytes: number }> {
    const segment = this.sealed.find((s) => s.id === id);
    if (!segment || segment.info.quarantined) throw new EddyError('NOT_FOUND', `Segment ${id} is not available.`);
    const file = this.file(segment.info.file);
    let bytes: Buffer;
    let intact: boolean;
    try {
      const expectedCrc = segment.info.crc32;
      const read = await readVerified(this.fs, file, expectedCrc === undefined ? 'sha256' : 'crc32');
      bytes = read.bytes;
      intact = read.digest === (expectedCrc === undefined ? segment.info.sha256 : String(expectedCrc));
    } catch (error) {
      // Compacted meanwhile (a new file name): load the current version instead.
      const current = this.sealed.find((s) => s.id === id);
      if (attempt < 3 && current && current.info.file !== segment.info.file) return this.loadSealed(id, attempt + 1);
      throw new EddyError('UNAVAILABLE', `Segment ${id} could not be read: ${errorMessage(error)}`);
    }
    const SQL = await loadSqlJs();
    if (bytes.length !== segment.info.bytes || !intact) {
      await this.quarantineSealed(segment, 'its contents do not match the checksum in the manifest');
      throw new EddyError('UNAVAILABLE', `Segment ${id} is damaged and was quarantined.`);
    }
    const db = new SQL.Database(bytes);
    try {
      migrate(db, SEGMENT_MIGRATIONS, `Segment ${id}`);
      db.run('PRAGMA query_only = 1');
    } catch (error) {
      db.close();
      throw error;
    }
    return { db, bytes: bytes.length };
  }

  private async quarantineSealedNow(segment: SealedSegment, reason: string): Promise<void> {
    if (segment.info.quarantined) return;
    const file = this.file(segment.info.file);
    let movedTo = '';
    if ((await this.fs.sizeOf(file)) !== null) movedTo = await quarantineFile(this.fs, this.dir, file, `Sealed segment damaged: ${reason}`);
    segment.info.quarantined = { at: this.now(), reason, movedTo };
    segment.head = null;
    this.cache.drop(segment.id);
    const streams = Object.keys(segment.info.streams).join(', ');
    this.report(
      'error',
      `Segment ${segment.id} is damaged (${reason}) and was moved to ${movedTo || 'quarantine'}; its ${segment.info.count} events (seq ${segment.info.firstSeq}-${segment.info.lastSeq}, streams ${streams}) are unavailable.`,
    );
  }

  private async quarantineSealed(segment: SealedSegment, reason: string): Promise<void> {
    if (segment.info.quarantined) return;
    await this.quarantineSealedNow(segment, reason);
    await this.commitManifest((draft) => {
      const target = draft.segments.find((s) => s.id === segment.id);
      if (target) target.quarantined = segment.info.quarantined;
    });
  }

  private async verifySealedInBackground(): Promise<void> {
    for (const segment of this.liveSealed()) {
      if (this.closing) return;
      try {
        const { bytes, digest } = await readVerified(this.fs, this.file(segment.info.file), 'sha256');
        if (bytes.length !== segment.info.bytes || digest !== segment.info.sha256) {
          await this.quarantineSealed(segment, 'its contents do not match the checksum in the manifest');
        }
      } catch (error) {
        this.report('warning', `Could not verify segment ${segment.id}: ${errorMessage(error)}`);
      }
      await sleep(20);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  /**
   * Every readable segment in seq order. Seq ranges grow with the segment id, but seals can finish
   * out of order (a later segment sealed while an earlier one's seal is retried), so sort by id
   * rather than assume "sealed, then open".
   */
  private segmentsInOrder(): Segment[] {
    return [...this.liveSealed(), ...this.openSegments].sort((a, b) => a.id - b.id);
  }

  private groupOf(segment: Segment, stream: string): GroupStats | undefined {
    return segment.kind === 'open' ? segment.groups.get(stream) : segment.info.streams[stream];
  }

  private async withDb<T>(segment: Segment, action: (db: Database) => T): Promise<T> {
    if (segment.kind === 'open') {
      // Sealed meanwhile? Its database now lives in the cache.
      if (segment.deferred) await this.indexInSlices(segment);
      if (this.openSegments.includes(segment)) {
        this.indexNow(segment);
        return action(segment.db);
      }
      const sealed = this.sealed.find((s) => s.id === segment.id);
      if (!sealed) throw new EddyError('NOT_FOUND', `Segment ${segment.id} is gone.`);
      return this.withDb(sealed, action);
    }
    const lease = await this.cache.acquire(segment.id);
    try {
      return action(lease.db);
    } finally {
      lease.release();
    }
  }

  /**
   * Like withDb, but a sealed segment found damaged on the way (and so quarantined and reported)
   * reads as empty: its events are lost, the rest of the log stays readable.
   */
  private async withDbOrSkip<T>(segment: Segment, action: (db: Database) => T, empty: T): Promise<T> {
    try {
      return await this.withDb(segment, action);
    } catch (error) {
      const sealed = segment.kind === 'sealed' ? segment : this.sealed.find((s) => s.id === segment.id);
      if (sealed?.info.quarantined) return empty;
      throw error;
    }
  }

  async read(request: ReadRequest): Promise<EventPage> {
    this.assertOpen();
    const direction = request.direction ?? 'newest';
    const limit = Math.max(1, Math.min(request.limit ?? 200, 5000));
    const stream = request.stream;
    const cursor = request.cursor ? decodeCursor(request.cursor, direction) : null;
    const hidden = this.hiddenBelow(stream);
    // Rows of a write still in flight are in the open segment already: show only durable ones.
    const conditions = ['stream = ?', 'seq >= ?', 'seq <= ?'];
    const params: SqlValue[] = [stream, hidden, this.durableSeq];
    if (cursor !== null) {
      conditions.push(direction === 'newest' ? 'seq < ?' : 'seq > ?');
      params.push(cursor);
    }
    const ranges: ['event' | 'ingest', { from?: number | undefined; to?: number | undefined } | undefined][] = [
      ['event', request.eventTime],
      ['ingest', request.ingestTime],
    ];
    for (const [field, range] of ranges) {
      const column = field === 'event' ? 'event_time' : 'ingest_time';
      if (range?.from !== undefined) {
        conditions.push(`${column} >= ?`);
        params.push(range.from);
      }
      if (range?.to !== undefined) {
        conditions.push(`${column} < ?`);
        params.push(range.to);
      }
    }
    const sql = `SELECT ${ROW_COLUMNS} FROM event_rows WHERE ${conditions.join(' AND ')} ORDER BY seq ${direction === 'newest' ? 'DESC' : 'ASC'} LIMIT ?`;
    let segments = this.segmentsInOrder().filter((segment) => {
      const group = this.groupOf(segment, stream);
      if (!group || group.count === 0 || group.lastSeq < hidden) return false;
      if (cursor !== null && (direction === 'newest' ? group.firstSeq >= cursor : group.lastSeq <= cursor)) return false;
      return ranges.every(([field, range]) => !range || groupOverlaps(group, field, range.from, range.to));
    });
    if (direction === 'newest') segments = segments.reverse();
    const events: StoredEvent[] = [];
    let more = false;
    for (const segment of segments) {
      const wanted = limit + 1 - events.length;
      const rows = await this.withDbOrSkip(segment, (db) => queryRows(db, sql, [...params, wanted]), []);
      for (const row of rows) {
        if (events.length === limit) {
          more = true;
          break;
        }
        events.push(rowToEvent(row));
      }
      if (more) break;
    }
    const last = events[events.length - 1];
    return { events, nextCursor: more && last ? encodeCursor(direction, last.seq) : null };
  }

  private async resolveStart(from: ReplayStart | undefined, streams: Set<string> | null): Promise<number> {
    if (!from) return 1;
    if ('seq' in from) return from.seq;
    if ('afterSeq' in from) return from.afterSeq + 1;
    if ('position' in from) {
      const seq = await this.findPosition(from.stream, from.position);
      if (seq === null) throw new EddyError('NOT_FOUND', `No event at position ${from.position} in ${from.stream}.`);
      return seq;
    }
    const field = 'eventTime' in from ? 'event' : 'ingest';
    const time = 'eventTime' in from ? from.eventTime : from.ingestTime;
    const column = field === 'event' ? 'event_time' : 'ingest_time';
    for (const segment of this.segmentsInOrder()) {
      const groups = [...(segment.kind === 'open' ? segment.groups : new Map(Object.entries(segment.info.streams)))].filter(
        ([stream, group]) => (!streams || streams.has(stream)) && group.lastSeq >= this.hiddenBelow(stream) && groupOverlaps(group, field, time, undefined),
      );
      if (groups.length === 0) continue;
      const names = groups.map(([stream]) => stream);
      const found = await this.withDbOrSkip(segment, (db) =>
        queryValue0(db, `SELECT min(seq) FROM event_rows WHERE stream IN (${names.map(() => '?').join(',')}) AND ${column} >= ? AND seq <= ?`, [
          ...names,
          time,
          this.durableSeq,
        ]),
        null,
      );
      if (typeof found === 'number') return found;
    }
    return this.nextSeq;
  }

  replay(options: ReplayOptions = {}): AsyncIterableIterator<StoredEvent[]> {
    this.assertOpen();
    // The end is fixed now, not at the first next(): a replay sees the log as it was when asked.
    return this.replayBatches(options, options.toSeq ?? this.durableSeq);
  }

  private async *replayBatches(options: ReplayOptions, toSeq: number): AsyncIterableIterator<StoredEvent[]> {
    const streams = options.streams ? new Set(options.streams) : null;
    const batchSize = Math.max(1, Math.min(options.batchSize ?? 1000, 100_000));
    let seq = await this.resolveStart(options.from, streams);
    const streamList = streams ? [...streams] : [];
    const streamFilter = streams ? ` AND stream IN (${streamList.map(() => '?').join(',')})` : '';
    const sql = `SELECT ${ROW_COLUMNS} FROM event_rows WHERE seq >= ? AND seq <= ?${streamFilter} ORDER BY seq LIMIT ?`;
    const relevant = (segment: Segment): boolean => {
      const groups = segment.kind === 'open' ? [...segment.groups] : Object.entries(segment.info.streams);
      return groups.some(([stream, group]) => (!streams || streams.has(stream)) && group.lastSeq >= this.hiddenBelow(stream) && group.lastSeq >= seq);
    };
    while (seq <= toSeq) {
      if (options.signal?.aborted) throw new EddyError('CANCELLED', 'The replay was cancelled.');
      this.assertOpen();
      const ordered = this.segmentsInOrder();
      const index = ordered.findIndex((segment) => (segment.kind === 'open' ? segment.lastSeq : segment.info.lastSeq) >= seq && relevant(segment));
      if (index === -1) return;
      const segment = ordered[index]!;
      const next = ordered.slice(index + 1).find((s) => s.kind === 'sealed' && relevant(s));
      if (next) this.cache.prefetch(next.id);
      const rows = await this.withDbOrSkip(segment, (db) => queryRows(db, sql, [seq, toSeq, ...streamList, batchSize]), []);
      if (rows.length === 0) {
        seq = (segment.kind === 'open' ? segment.lastSeq : segment.info.lastSeq) + 1;
        continue;
      }
      const firstRow = rows[0]![0] as number;
      seq = (rows[rows.length - 1]![0] as number) + 1;
      // Deleted events are usually far behind a replay: skip the per-row check when none can be hidden.
      const mayHide = Object.values(this.manifest.streams).some((settings) => (settings.hiddenBelow ?? 0) > firstRow);
      const events: StoredEvent[] = [];
      for (const row of rows) if (!mayHide || (row[0] as number) >= this.hiddenBelow(row[1] as string)) events.push(rowToEvent(row));
      if (events.length > 0) yield events;
    }
  }

  // -------------------------------------------------------------------------------------------
  // SQL

  /**
   * Read-only SQL over the `events` view, in the query worker. Up to MAX_JOINED_SEGMENTS (10, the
   * attach limit of sql.js' SQLite) segments and MAX_JOINED_BYTES (256 MB, held at once), the statement runs once over all of them joined (a
   * view over their union, the worker's cached copies attached as they are), so it means what it
   * says over the whole log. A bigger log runs it once per segment, newest first, rows
   * concatenated up to `maxRows` (`perSegment`): filters and projections still mean the whole log,
   * ORDER BY, LIMIT, GROUP BY and aggregates then apply within each segment (callers that
   * aggregate merge partial results, e.g. sum the counts). Filter by `stream` and time first on
   * big logs.
   */
  async query(sql: string, options: QueryOptions): Promise<QueryResult> {
    this.assertOpen();
    const statement = checkReadOnlySql(sql);
    const maxRows = Math.max(1, Math.min(options.maxRows, 100_000));
    const timeoutMs = Math.max(10, Math.min(options.timeoutMs, 120_000));
    const started = performance.now();
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await this.queryRunner.run(statement, maxRows, Math.max(10, timeoutMs - (performance.now() - started)), () => this.workerSegments(), options.signal);
        return { ...outcome, elapsedMs: Math.round((performance.now() - started) * 10) / 10 };
      } catch (error) {
        // A segment was compacted or dropped between listing and reading it: list again.
        const missing = error instanceof EddyError && (error.details as { missingFile?: string } | undefined)?.missingFile;
        if (!missing || attempt >= 3) throw error;
      }
    }
  }

  private hiddenFor(streams: Iterable<string>): [string, number][] {
    const hidden: [string, number][] = [];
    for (const stream of streams) {
      const below = this.hiddenBelow(stream);
      if (below > 0) hidden.push([stream, below]);
    }
    return hidden;
  }

  /** Newest first, open segments' images ahead of files (the worker may evict an image after use, never before). */
  private workerSegments(): WorkerSegment[] {
    const images: WorkerSegment[] = [];
    const files: WorkerSegment[] = [];
    for (const segment of this.segmentsInOrder().reverse()) {
      if (segment.kind === 'open') {
        if (segment.count === 0) continue;
        const key = `open:${segment.id}:${segment.version}:${this.durableSeq}`;
        images.push({
          key,
          kind: 'image',
          image: this.queryRunner.has(key) ? undefined : this.exportImage(segment),
          hidden: this.hiddenFor(segment.groups.keys()),
          maxSeq: this.durableSeq,
        });
        continue;
      }
      const streams = Object.entries(segment.info.streams);
      if (streams.every(([stream, group]) => group.lastSeq < this.hiddenBelow(stream))) continue;
      const hidden = this.hiddenFor(Object.keys(segment.info.streams));
      files.push({ key: `file:${segment.id}:${segment.info.sha256}`, kind: 'file', path: this.file(segment.info.file), sha256: segment.info.sha256, bytes: segment.info.bytes, hidden });
    }
    return [...images, ...files];
  }

  // -------------------------------------------------------------------------------------------
  // Stats, retention, deletion

  async streams(): Promise<StreamStats[]> {
    this.assertOpen();
    const totals = new Map<string, GroupStats>();
    for (const segment of this.segmentsInOrder()) {
      const groups = segment.kind === 'open' ? [...segment.groups] : Object.entries(segment.info.streams);
      for (const [stream, group] of groups) {
        if (group.count === 0 || group.lastSeq < this.hiddenBelow(stream)) continue;
        const total = totals.get(stream) ?? emptyGroup();
        totals.set(stream, total);
        total.count += group.count;
        total.bytes += group.bytes;
        total.minEventTime = Math.min(total.minEventTime, group.minEventTime);
        total.maxEventTime = Math.max(total.maxEventTime, group.maxEventTime);
        total.minIngestTime = Math.min(total.minIngestTime, group.minIngestTime);
        total.maxIngestTime = Math.max(total.maxIngestTime, group.maxIngestTime);
      }
    }
    const now = this.now();
    return [...totals]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([stream, total]) => ({
        stream,
        count: total.count,
        bytes: total.bytes,
        firstEventTime: Number.isFinite(total.minEventTime) ? total.minEventTime : null,
        lastEventTime: Number.isFinite(total.maxEventTime) ? total.maxEventTime : null,
        firstIngestTime: Number.isFinite(total.minIngestTime) ? total.minIngestTime : null,
        lastIngestTime: Number.isFinite(total.maxIngestTime) ? total.maxIngestTime : null,
        rate: Math.round(this.rates.rate(stream, now) * 100) / 100,
      }));
  }

  async setRetention(stream: string, policy: RetentionPolicy): Promise<void> {
    this.assertWritable();
    for (const [name, value] of Object.entries(policy)) {
      if (!['maxBytes', 'maxAgeMs'].includes(name)) throw new EddyError('VALIDATION', `Unknown retention setting ${name}.`);
      if (value !== undefined && (typeof value !== 'number' || !(value >= 0))) throw new EddyError('VALIDATION', `${name} must be a non-negative number.`);
    }
    await this.exclusive(async () => {
      await this.commitManifest((draft) => {
        const settings = (draft.streams[stream] ??= {});
        if (policy.maxBytes === undefined && policy.maxAgeMs === undefined) delete settings.retention;
        else settings.retention = { ...(policy.maxBytes !== undefined ? { maxBytes: policy.maxBytes } : {}), ...(policy.maxAgeMs !== undefined ? { maxAgeMs: policy.maxAgeMs } : {}) };
      });
    });
    await this.enforceRetention();
  }

  private retentionTick(): void {
    void this.track(this.enforceRetention()).finally(() => this.timer(this.retentionIntervalMs, () => this.retentionTick()));
  }

  /**
   * Retention works on whole sealed segments, like Kafka's: a stream's events in a sealed segment
   * go together once that segment is entirely past the limit (so a stream keeps at least
   * `maxBytes`, and events at least `maxAgeMs` old by ingest time). The open segment is never
   * trimmed. Deleted events become invisible at once; a segment's file is removed when nothing in
   * it is visible any more.
   */
  enforceRetention(): Promise<void> {
    if (this.closing) return Promise.resolve();
    return this.exclusive(async () => {
      const now = this.now();
      const updates = new Map<string, number>();
      for (const [stream, settings] of Object.entries(this.manifest.streams)) {
        const policy = settings.retention;
        if (!policy) continue;
        const hidden = settings.hiddenBelow ?? 0;
        // In seq order; only a prefix of sealed segments can go (never an open one, nor anything after it).
        const groups = this.segmentsInOrder()
          .map((segment) => ({ open: segment.kind === 'open', group: this.groupOf(segment, stream) }))
          .filter((entry): entry is { open: boolean; group: GroupStats } => !!entry.group && entry.group.count > 0 && entry.group.lastSeq >= hidden);
        let firstOpen = groups.findIndex((entry) => entry.open);
        if (firstOpen === -1) firstOpen = groups.length;
        let dropThrough = -1;
        if (policy.maxAgeMs !== undefined) {
          for (let i = 0; i < firstOpen; i++) {
            if (groups[i]!.group.maxIngestTime < now - policy.maxAgeMs) dropThrough = i;
            else break;
          }
        }
        if (policy.maxBytes !== undefined) {
          let newer = 0;
          for (let i = groups.length - 1; i >= 0; i--) {
            if (newer >= policy.maxBytes) {
              dropThrough = Math.max(dropThrough, Math.min(i, firstOpen - 1));
              break;
            }
            newer += groups[i]!.group.bytes;
          }
        }
        if (dropThrough >= 0) updates.set(stream, groups[dropThrough]!.group.lastSeq + 1);
      }
      if (updates.size > 0) {
        await this.commitManifest((draft) => {
          for (const [stream, below] of updates) (draft.streams[stream] ??= {}).hiddenBelow = Math.max(draft.streams[stream]?.hiddenBelow ?? 0, below);
        });
      }
      await this.dropDeadSegments();
    });
  }

  private async dropDeadSegments(): Promise<void> {
    const dead = this.liveSealed().filter((segment) => Object.entries(segment.info.streams).every(([stream, group]) => group.lastSeq < this.hiddenBelow(stream)));
    if (dead.length === 0) {
      this.scheduleCompaction();
      return;
    }
    const ids = new Set(dead.map((s) => s.id));
    await this.commitManifest((draft) => {
      draft.segments = draft.segments.filter((s) => !ids.has(s.id));
    });
    for (const segment of dead) {
      this.cache.drop(segment.id);
      await this.fs.unlink(this.file(segment.info.file)).catch(() => undefined);
      await this.fs.unlink(this.file(segment.info.index)).catch(() => undefined);
    }
    this.scheduleCompaction();
  }

  private hiddenShare(segment: SealedSegment): number {
    let hidden = 0;
    let total = 0;
    for (const [stream, group] of Object.entries(segment.info.streams)) {
      total += group.bytes;
      if (group.lastSeq < this.hiddenBelow(stream)) hidden += group.bytes;
    }
    return total === 0 ? 0 : hidden / total;
  }

  /** Starts rewriting segments that are mostly deleted events (one at a time, in the background). */
  private scheduleCompaction(): void {
    if (this.compacting || this.closing) return;
    const candidate = this.liveSealed().find((segment) => this.hiddenShare(segment) >= COMPACT_HIDDEN_SHARE);
    if (!candidate) return;
    this.compacting = true;
    this.track(
      this.compact(candidate.id)
        .catch((error: unknown) => this.report('warning', `Could not reclaim the space of deleted events in segment ${candidate.id} (${errorMessage(error)}); retried later.`))
        .finally(() => {
          this.compacting = false;
        })
        .then(() => {
          if (!this.closing) this.timer(50, () => this.scheduleCompaction());
        }),
    );
  }

  /**
   * Rewrites a sealed segment without its deleted events. The copy happens in slices outside the
   * admission lock (sealed segments never change, and a watermark moved meanwhile only means the
   * copy is less compact than it could be); the swap (manifest, files) takes the lock briefly.
   */
  private async compact(id: number): Promise<void> {
    const segment = this.sealed.find((s) => s.id === id && !s.info.quarantined);
    if (!segment) return;
    const info = segment.info;
    const bytes = await this.fs.readFile(this.file(info.file));
    if (bytes.length !== info.bytes || sha256Hex(bytes) !== info.sha256) {
      await this.quarantineSealed(segment, 'its contents do not match the checksum in the manifest');
      return;
    }
    const SQL = await loadSqlJs();
    const source = new SQL.Database(bytes);
    const target = new SQL.Database();
    try {
      migrate(source, SEGMENT_MIGRATIONS, `Segment ${id}`);
      applyMemoryPragmas(target);
      migrate(target, SEGMENT_MIGRATIONS, `Segment ${id}`);
      const select = `SELECT ${ROW_COLUMNS} FROM event_rows WHERE seq > ? ORDER BY seq LIMIT ${ROWS_PER_SLICE}`;
      const insert = target.prepare(INSERT_ONE);
      try {
        for (let after = 0; ; ) {
          const rows = queryRows(source, select, [after]);
          if (rows.length === 0) break;
          after = rows[rows.length - 1]![0] as number;
          target.run('BEGIN');
          for (const row of rows) if ((row[0] as number) >= this.hiddenBelow(row[1] as string)) insert.run(row);
          target.run('COMMIT');
          await yieldToEventLoop();
          if (this.closing) return;
        }
      } finally {
        insert.free();
      }
      const version = (info.version ?? 0) + 1;
      const image = target.export();
      const entries = this.positionEntriesOf(target);
      const streams: Record<string, GroupStats> = {};
      let count = 0;
      let firstSeq = Infinity;
      let lastSeq = -Infinity;
      for (const row of queryRows(
        target,
        'SELECT stream, count(*), sum(size), min(seq), max(seq), min(event_time), max(event_time), min(ingest_time), max(ingest_time) FROM event_rows GROUP BY stream',
      )) {
        const [stream, n, size, first, last, minEventTime, maxEventTime, minIngestTime, maxIngestTime] = row as [string, ...number[]];
        streams[stream] = { count: n!, bytes: size!, firstSeq: first!, lastSeq: last!, minEventTime: minEventTime!, maxEventTime: maxEventTime!, minIngestTime: minIngestTime!, maxIngestTime: maxIngestTime! };
        count += n!;
        firstSeq = Math.min(firstSeq, first!);
        lastSeq = Math.max(lastSeq, last!);
      }
      const compacted: SealedSegmentInfo = { id, version, file: segmentFile(id, version), index: indexFile(id, version), bytes: image.length, sha256: sha256Hex(image), crc32: crc32(image), firstSeq, lastSeq, count, streams };
      await writeFileAtomic(this.fs, this.file(compacted.file), [image], { hooks: this.hooks });
      await writeFileAtomic(this.fs, this.file(compacted.index), [encodePositionIndex(entries.hashes, entries.seqs)], { hooks: this.hooks });
      const head = await readPositionIndexHead(this.fs, this.file(compacted.index));
      // Not tracked as file work: integrity checks hold this lock and see either version, never half.
      await this.exclusive(async () => {
        const current = this.sealed.find((s) => s.id === id);
        if (!current || current.info.file !== info.file || count === 0) {
          await this.fs.unlink(this.file(compacted.file)).catch(() => undefined);
          await this.fs.unlink(this.file(compacted.index)).catch(() => undefined);
          return;
        }
        await this.commitManifest(
          () => ({ add: compacted }),
          () => {
            const replaced = this.sealed.find((s) => s.id === id);
            if (replaced) replaced.head = head;
            this.cache.drop(id);
          },
        );
        await this.fs.unlink(this.file(info.file)).catch(() => undefined);
        await this.fs.unlink(this.file(info.index)).catch(() => undefined);
        this.report('info', `Reclaimed ${bytesText(info.bytes - image.length)} of deleted events in segment ${id}.`);
      });
    } finally {
      source.close();
      target.close();
    }
  }

  private deleteRowsOf(segment: OpenSegment, stream: string): void {
    const below = this.hiddenBelow(stream);
    const group = segment.groups.get(stream);
    if (!group || group.firstSeq >= below) return;
    this.indexNow(segment);
    segment.db.run('DELETE FROM event_rows WHERE stream = ? AND seq < ?', [stream, below]);
    segment.rowsDeleted = true;
    segment.groups.delete(stream);
    segment.count -= group.count;
    segment.bytes -= group.bytes;
    if (group.lastSeq >= below) {
      // Deleted, then appended again into the same segment (seen when recovering from an older
      // snapshot): count what is left rather than trust the merged figures.
      const row = queryRows(
        segment.db,
        'SELECT count(*), sum(size), min(seq), max(seq), min(event_time), max(event_time), min(ingest_time), max(ingest_time) FROM event_rows WHERE stream = ?',
        [stream],
      )[0] as number[];
      if (row[0]! > 0) {
        const [count, bytes, firstSeq, lastSeq, minEventTime, maxEventTime, minIngestTime, maxIngestTime] = row as [number, number, number, number, number, number, number, number];
        segment.groups.set(stream, { count, bytes, firstSeq, lastSeq, minEventTime, maxEventTime, minIngestTime, maxIngestTime });
        segment.count += count;
        segment.bytes += bytes;
      }
    }
    segment.version++;
  }

  async deleteStream(stream: string): Promise<void> {
    this.assertWritable();
    await this.exclusive(async () => {
      const exists = this.segmentsInOrder().some((segment) => {
        const group = this.groupOf(segment, stream);
        return !!group && group.count > 0 && group.lastSeq >= this.hiddenBelow(stream);
      });
      const pending = [...this.pendingBySeq.values()].some((event) => event.stream === stream);
      if (!exists && !pending) throw new EddyError('NOT_FOUND', `There is no stream named ${stream} in the log.`);
      const below = this.nextSeq;
      await this.commitManifest((draft) => {
        draft.streams[stream] = { hiddenBelow: below };
        draft.seqFloor = Math.max(draft.seqFloor, below);
      });
      for (const segment of this.openSegments) if (segment.groups.has(stream)) this.deleteRowsOf(segment, stream);
      this.rates.forget(stream);
      await this.dropDeadSegments();
    });
  }

  // -------------------------------------------------------------------------------------------
  // Integrity and closing

  async settled(): Promise<void> {
    this.assertOpen();
    const sealDue = (): boolean => this.openSegments.some((s) => s.state === 'sealing' && !s.sealing && Date.now() >= s.sealRetryAt);
    while (!this.closing && (this.writer || this.queue.length > 0 || this.fileWork.size > 0 || sealDue())) {
      this.kickWriter();
      this.startDueSeals();
      await this.writer?.catch(() => undefined);
      await Promise.allSettled([...this.fileWork]);
      await yieldToEventLoop();
    }
  }

  async checkIntegrity(): Promise<IntegrityReport> {
    this.assertOpen();
    // A stable view: no admissions, no write or seal in flight while the files are read.
    return this.exclusive(async () => {
      // Retention work is not awaited: it takes this same lock.
      while (this.writer || this.fileWork.size > 0) {
        await this.writer?.catch(() => undefined);
        await Promise.allSettled([...this.fileWork]);
      }
      return this.checkIntegrityNow();
    });
  }

  private async checkIntegrityNow(): Promise<IntegrityReport> {
    const issues: string[] = [];
    const checked = { sealedSegments: 0, openSegments: 0, journals: 0, events: 0 };
    const manifest = await readManifestFile(this.fs, this.file(MANIFEST_FILE));
    if (manifest.ok !== true && this.manifest.generation > 0) issues.push(`manifest: ${manifest.ok === false ? manifest.reason : 'missing'}`);
    const SQL = await loadSqlJs();
    let previousLast = 0;
    const ordered = this.segmentsInOrder();
    for (const segment of this.sealed.filter((s) => s.info.quarantined)) issues.push(`segment ${segment.id}: quarantined (${segment.info.quarantined!.reason})`);
    for (const segment of ordered) {
      if (segment.kind === 'open') {
        checked.openSegments++;
        this.indexNow(segment);
        const result = queryRows(segment.db, 'PRAGMA integrity_check')[0]?.[0];
        if (result !== 'ok') issues.push(`open segment ${segment.id}: integrity_check says ${String(result)}`);
        const count = Number(queryRows(segment.db, 'SELECT count(*) FROM event_rows')[0]?.[0]);
        if (count !== segment.count) issues.push(`open segment ${segment.id}: ${count} rows, stats say ${segment.count}`);
        checked.events += count;
        if (segment.firstSeq !== Infinity && segment.firstSeq <= previousLast) issues.push(`open segment ${segment.id}: seq range overlaps the previous segment`);
        if (segment.count > 0) previousLast = segment.lastSeq;
        continue;
      }
      checked.sealedSegments++;
      if (segment.info.firstSeq <= previousLast) issues.push(`segment ${segment.id}: seq range overlaps the previous segment`);
      previousLast = segment.info.lastSeq;
      const bytes = await this.fs.readFile(this.file(segment.info.file)).catch(() => null);
      if (!bytes) {
        issues.push(`segment ${segment.id}: file unreadable`);
        continue;
      }
      if (bytes.length !== segment.info.bytes || sha256Hex(bytes) !== segment.info.sha256) {
        issues.push(`segment ${segment.id}: checksum mismatch`);
        continue;
      }
      const db = new SQL.Database(bytes);
      try {
        const result = queryRows(db, 'PRAGMA integrity_check')[0]?.[0];
        if (result !== 'ok') issues.push(`segment ${segment.id}: integrity_check says ${String(result)}`);
        const count = Number(queryRows(db, 'SELECT count(*) FROM event_rows')[0]?.[0]);
        if (count !== segment.info.count) issues.push(`segment ${segment.id}: ${count} rows, the manifest says ${segment.info.count}`);
        checked.events += count;
      } finally {
        db.close();
      }
      const head = await readPositionIndexHead(this.fs, this.file(segment.info.index)).catch((error: unknown) => {
        issues.push(`segment ${segment.id}: position index ${errorMessage(error)}`);
        return null;
      });
      if (head && head.count !== segment.info.count) issues.push(`segment ${segment.id}: position index lists ${head.count} events`);
    }
    for (const name of await this.fs.readdir(this.file('active'))) {
      const match = JOURNAL_NAME.exec(name);
      if (!match) continue;
      checked.journals++;
      const scan = scanJournal(await this.fs.readFile(this.file(path.join('active', name))));
      if (scan.corrupt.length > 0) issues.push(`journal ${name}: ${scan.corrupt.length} damaged range(s)`);
      // Generations older than the current snapshot are only a fallback and are never appended to.
      const owner = this.openSegments.find((s) => s.id === Number(match[1]));
      const live = !owner || owner.snapshotGen === null || Number(match[2]) >= owner.snapshotGen;
      if (scan.tornTail && live) issues.push(`journal ${name}: ${scan.tornTail.bytes} bytes of torn tail`);
    }
    return { ok: issues.length === 0, issues, checked };
  }

  async close(): Promise<void> {
    if (this.closed || this.closing) return;
    this.closing = true;
    for (const handle of this.timers) clearTimeout(handle);
    this.timers.clear();
    await this.admission.catch(() => undefined);
    this.kickWriter();
    while (this.writer) await this.writer.catch(() => undefined);
    await Promise.allSettled([...this.background]);
    await this.manifestWrite.catch(() => undefined);
    // A final snapshot of anything newer than the last one, so the next start replays nothing.
    for (const segment of this.openSegments) {
      if (segment.count > 0 && (segment.lastSeq > segment.snapshotSeq || segment.damagedJournals.length > 0) && !this.broken) {
        await this.snapshot(segment, true).catch(() => undefined);
      }
    }
    await Promise.allSettled([...this.background]);
    this.closed = true;
    await this.queryRunner.close();
    await this.builder?.close();
    for (const segment of this.openSegments) {
      await segment.journal?.close().catch(() => undefined);
      segment.db.close();
    }
    this.openSegments = [];
    this.cache.closeAll();
    this.tails.clear();
    this.appendWatchers.clear();
    await this.releaseLock();
  }
}

/** An empty segment's database image (the schema, migrated as every segment is): what builds start from. */
function emptySegmentImage(): Uint8Array {
  const db = new (loadedSqlJs().Database)();
  try {
    applyMemoryPragmas(db);
    migrate(db, SEGMENT_MIGRATIONS, 'The empty segment');
    return db.export();
  } finally {
    db.close();
  }
}

/** A segment's database size once rows not inserted yet (plus `moreBytes` of events) are. */
function estimatedBytes(segment: OpenSegment, moreBytes = 0): number {
  return segment.measuredBytes + (segment.admittedBytes + moreBytes) * ROW_OVERHEAD;
}

/** Resolves when the callback it adds to `waiters` is called, or after `ms` at most. */
function untilCalled(waiters: (() => void)[], ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const handle = setTimeout(done, ms);
    function done(): void {
      clearTimeout(handle);
      resolve();
    }
    waiters.push(done);
  });
}

/** Event bytes in a batch (what admission counted in `admittedBytes`). */
function batchBytes(batch: Batch): number {
  let bytes = 0;
  for (const event of batch.events) bytes += event.size;
  return bytes;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** SHA-256 and CRC-32 of a whole segment image in 4 MiB slices, yielding between them (a few ms each). */
async function checksumsInSlices(bytes: Uint8Array): Promise<{ sha256: string; crc: number }> {
  const SLICE = 4 * MiB;
  const hash = createHash('sha256');
  let crc = 0;
  for (let offset = 0; offset < bytes.length; offset += SLICE) {
    if (offset > 0) await yieldToEventLoop();
    const slice = bytes.subarray(offset, Math.min(bytes.length, offset + SLICE));
    hash.update(slice);
    crc = crc32(slice, crc);
  }
  return { sha256: hash.digest('hex'), crc };
}

function queryValue0(db: Database, sql: string, params: SqlValue[]): SqlValue | undefined {
  return queryRows(db, sql, params)[0]?.[0];
}
