// The state store and cache (DESIGN.md 1 "stateful algorithms", 3 "tables", 6 "checkpoints"):
//   - keyed state per pipeline and stage (get/put/delete/range);
//   - tables: the latest row per key of a CDC stream with its version history, so a lookup can ask
//     for a row *as of* an event time (null after a delete);
//   - pipeline checkpoints (source positions, sink progress).
//
// Writes are grouped in a transaction and committed as ONE journal record, with the pipeline's
// positions when it is a checkpoint: state and positions become durable together or not at all.
// Durability follows the event log: an append-only, checksummed journal is the truth, snapshots
// (temp file, fsync, rename, fsync dir; previous one kept) bound recovery time, a torn final record
// is dropped and any other damage is quarantined and reported.
//
// Reads are synchronous (transforms call them per event); the whole store lives in sql.js memory,
// so it is meant for state and lookup tables, not for bulk history (trim it with `trimHistory`).
import path from 'node:path';
import { EddyError } from '../../../shared/contract.js';
import type { JsonValue, Op } from '../../../shared/events.js';
import { isTempFile, quarantineFile, writeFileAtomic, type DurabilityHooks } from '../log/atomic-file.js';
import { errorMessage, isNoSpace, nodeFs, type LogFs } from '../log/fs-layer.js';
import { JournalWriter, scanJournal } from '../log/journal.js';
import { migrate } from '../log/segment-schema.js';
import { decodeSnapshot, encodeSnapshot } from '../log/snapshot-file.js';
import { applyMemoryPragmas, loadSqlJs, queryRows, type Database, type SqlValue } from '../log/sqljs.js';
import { STATE_MIGRATIONS } from './state-schema.js';

// ---------------------------------------------------------------------------------------------
// Public types

export interface StateStoreOptions {
  /** The store's folder (created if missing). */
  dir: string;
  /** Snapshot after this many journal bytes (default 4 MiB). */
  snapshotBytes?: number;
  onProblem?: (problem: { severity: 'error' | 'warning' | 'info'; source: string; message: string }) => void;
  fs?: LogFs;
  hooks?: DurabilityHooks;
  now?: () => number;
}

export interface CheckpointInput {
  pipeline: string;
  /** Source positions to resume from (Kafka offsets, LSNs...), committed with the state. */
  positions: Record<string, JsonValue>;
  /** Sink progress, for sinks that need it. */
  sinks?: Record<string, JsonValue>;
}

export interface Checkpoint extends CheckpointInput {
  commitId: number;
  at: number;
}

export interface CommitInfo {
  commitId: number;
  at: number;
}

export interface RangeOptions {
  prefix?: string;
  /** Inclusive lower bound. */
  from?: string;
  /** Exclusive upper bound. */
  to?: string;
  limit?: number;
  reverse?: boolean;
}

export interface KeyedStateReader {
  get(key: string): JsonValue | undefined;
  range(options?: RangeOptions): [string, JsonValue][];
}

export interface KeyedState extends KeyedStateReader {
  put(key: string, value: JsonValue): void;
  delete(key: string): void;
}

export interface TableVersion {
  key: JsonValue;
  eventTime: number;
  version: number;
  op: Op;
  row: JsonValue | null;
  position: string | null;
}

export interface TableReader {
  /** The latest row (by event time) or null when absent or deleted. */
  get(key: JsonValue): JsonValue | null;
  /** The row as it was at `eventTime` (its latest version at or before it), null if none or deleted. */
  asOf(key: JsonValue, eventTime: number): JsonValue | null;
  history(key: JsonValue): TableVersion[];
}

/** A change as CDC delivers it: a Debezium envelope value (`before`, `after`, `op`) and its key. */
export interface TableChange {
  key: JsonValue;
  value?: JsonValue;
  op?: Op;
  eventTime: number;
  position?: string;
}

export interface TableWriter extends TableReader {
  /** Applies a Debezium change event: c/u/r store `after`, d records a delete. */
  apply(change: TableChange): void;
  upsert(key: JsonValue, row: JsonValue, eventTime: number, position?: string): void;
  delete(key: JsonValue, eventTime: number, position?: string): void;
  /** Forgets versions superseded before `eventTime` (keeps the one in effect then). */
  trimHistory(eventTime: number): void;
}

export interface StateTransaction {
  keyed(pipeline: string, stage: string): KeyedState;
  table(name: string): TableWriter;
  /** Drops a stage's (or a whole pipeline's) keyed state. */
  clear(pipeline: string, stage?: string): void;
  /** Pending operations. */
  readonly size: number;
  /** Makes the writes durable (one journal record). */
  commit(): Promise<CommitInfo>;
  /** Makes the writes and the pipeline's positions durable together: all or nothing. */
  checkpoint(checkpoint: CheckpointInput): Promise<CommitInfo>;
  /** Forgets the writes. */
  rollback(): void;
}

export interface StateStore {
  /** A transaction: its reads see committed state plus its own writes. */
  begin(): StateTransaction;
  keyed(pipeline: string, stage: string): KeyedStateReader;
  table(name: string): TableReader;
  asOf(table: string, key: JsonValue, eventTime: number): JsonValue | null;
  lastCheckpoint(pipeline: string): Checkpoint | null;
  problems(): { severity: 'error' | 'warning' | 'info'; source: string; message: string; at: number }[];
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Journal operations

type Operation =
  | ['put', string, string, string, string]
  | ['del', string, string, string]
  | ['clear', string, string | null]
  | ['row', string, string, number, number, Op, string | null, string | null]
  | ['trim', string, number];

interface CommitRecord {
  id: number;
  at: number;
  ops: Operation[];
  checkpoint?: CheckpointInput;
}

const JOURNAL_RECORD_COMMIT = 2;
const JOURNAL_NAME = /^state-(\d{6})\.journal$/;
const SNAPSHOT = 'state.snapshot';
const journalName = (gen: number): string => `state-${String(gen).padStart(6, '0')}.journal`;

/** JSON with object keys sorted, so equal keys always map to the same stored text. */
export function canonicalKey(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalKey).join(',')}]`;
  return `{${Object.keys(value)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalKey(value[k]!)}`)
    .join(',')}}`;
}

function toJson(value: JsonValue, what: string): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new EddyError('VALIDATION', `${what} is not JSON-serializable.`);
  return text;
}

function parse(text: SqlValue | undefined): JsonValue {
  return text === null || text === undefined ? null : (JSON.parse(text as string) as JsonValue);
}

const DELETED = Symbol('deleted');

// ---------------------------------------------------------------------------------------------

export async function openStateStore(options: StateStoreOptions): Promise<StateStore> {
  const store = new JournaledStateStore(options);
  await store.open();
  return store;
}

class JournaledStateStore implements StateStore {
  private readonly fs: LogFs;
  private readonly dir: string;
  private readonly snapshotBytes: number;
  private readonly now: () => number;
  private readonly hooks: DurabilityHooks | undefined;
  private readonly onProblem: StateStoreOptions['onProblem'];
  private db!: Database;
  private journal: JournalWriter | null = null;
  private journalGen = 0;
  private snapshotGen: number | null = null;
  private bytesSinceSnapshot = 0;
  private snapshotting: Promise<void> | null = null;
  private damagedJournals: string[] = [];
  private lastCommitId = 0;
  private nextVersion = 1;
  private chain: Promise<unknown> = Promise.resolve();
  private closing = false;
  private closed = false;
  private readonly problemList: { severity: 'error' | 'warning' | 'info'; source: string; message: string; at: number }[] = [];

  constructor(options: StateStoreOptions) {
    this.fs = options.fs ?? nodeFs;
    this.dir = path.resolve(options.dir);
    this.snapshotBytes = options.snapshotBytes ?? 4 * 1024 * 1024;
    this.now = options.now ?? Date.now;
    this.hooks = options.hooks;
    this.onProblem = options.onProblem;
  }

  private report(severity: 'error' | 'warning' | 'info', message: string): void {
    this.problemList.push({ severity, source: 'state-store', message, at: Date.now() });
    if (this.problemList.length > 200) this.problemList.shift();
    try {
      this.onProblem?.({ severity, source: 'state-store', message });
    } catch {
      // A faulty listener must not break the store.
    }
  }

  problems(): { severity: 'error' | 'warning' | 'info'; source: string; message: string; at: number }[] {
    return [...this.problemList];
  }

  private file(name: string): string {
    return path.join(this.dir, name);
  }

  // -------------------------------------------------------------------------------------------
  // Recovery

  async open(): Promise<void> {
    await this.fs.mkdir(this.dir);
    const SQL = await loadSqlJs();
    const names = await this.fs.readdir(this.dir);
    for (const name of names) if (isTempFile(name)) await this.fs.unlink(this.file(name)).catch(() => undefined);
    let header: Record<string, unknown> | null = null;
    for (const name of [SNAPSHOT, `${SNAPSHOT}.prev`]) {
      const file = this.file(name);
      if ((await this.fs.sizeOf(file)) === null) continue;
      const decoded = await decodeSnapshot(await this.fs.readFile(file), 'state');
      if (decoded.ok) {
        header = decoded.header;
        this.db = new SQL.Database(decoded.image);
        break;
      }
      const movedTo = await quarantineFile(this.fs, this.dir, file, `State snapshot damaged: ${decoded.reason}`);
      this.report('warning', `A state snapshot was damaged (${decoded.reason}); moved to ${movedTo}. Recovering from the journal.`);
    }
    this.db ??= new SQL.Database();
    applyMemoryPragmas(this.db);
    migrate(this.db, STATE_MIGRATIONS, 'The state store');
    const startGen = header ? Number(header.journalGen) : 0;
    this.snapshotGen = header ? startGen : null;
    this.lastCommitId = header ? Number(header.lastCommitId) : 0;
    const journals = names
      .map((name) => ({ name, match: JOURNAL_NAME.exec(name) }))
      .filter((j): j is { name: string; match: RegExpExecArray } => !!j.match)
      .map((j) => ({ name: j.name, gen: Number(j.match[1]) }))
      .sort((a, b) => a.gen - b.gen);
    const needed = journals.filter((j) => j.gen >= startGen);
    if (!header && journals.length > 0 && journals[0]!.gen > 0) {
      this.report('error', `The state store's snapshots are damaged and journals before generation ${journals[0]!.gen} are gone: some state could not be recovered.`);
    }
    let validEnd = 0;
    for (const [i, journal] of needed.entries()) {
      const buffer = await this.fs.readFile(this.file(journal.name));
      const scan = scanJournal(buffer);
      const newest = i === needed.length - 1;
      if (scan.corrupt.length > 0 || (scan.tornTail && !newest)) {
        const movedTo = await quarantineFile(this.fs, this.dir, this.file(journal.name), 'State journal damaged: records fail their checksum.', 'copy');
        this.report('error', `The state journal ${journal.name} had damaged records; the good ones were recovered and a copy was moved to ${movedTo}.`);
        this.damagedJournals.push(journal.name);
      } else if (scan.tornTail) {
        this.report('info', `Dropped an incomplete final state journal record (${scan.tornTail.bytes} bytes) left by an interrupted write; it was never acknowledged.`);
      }
      for (const record of scan.records) {
        if (record.type !== JOURNAL_RECORD_COMMIT) continue;
        const commit = JSON.parse(record.payload.toString('utf8')) as CommitRecord;
        if (commit.id <= this.lastCommitId) continue;
        this.applyCommit(commit);
      }
      this.bytesSinceSnapshot += scan.validEnd;
      validEnd = scan.validEnd;
    }
    this.nextVersion = Number(queryRows(this.db, 'SELECT coalesce(max(version), 0) + 1 FROM table_versions')[0]![0]);
    const last = needed[needed.length - 1];
    if (last && this.damagedJournals.length === 0) {
      this.journalGen = last.gen;
      this.journal = await JournalWriter.open(this.fs, this.file(last.name), { validEnd, hooks: this.hooks });
    } else {
      this.journalGen = last ? last.gen + 1 : startGen;
      if (this.damagedJournals.length > 0) await this.snapshot(true);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Applying commits

  private applyCommit(commit: CommitRecord): void {
    const db = this.db;
    db.run('BEGIN');
    try {
      for (const op of commit.ops) {
        switch (op[0]) {
          case 'put':
            db.run('INSERT OR REPLACE INTO keyed_state (pipeline, stage, key, value) VALUES (?, ?, ?, ?)', [op[1], op[2], op[3], op[4]]);
            break;
          case 'del':
            db.run('DELETE FROM keyed_state WHERE pipeline = ? AND stage = ? AND key = ?', [op[1], op[2], op[3]]);
            break;
          case 'clear':
            if (op[2] === null) db.run('DELETE FROM keyed_state WHERE pipeline = ?', [op[1]]);
            else db.run('DELETE FROM keyed_state WHERE pipeline = ? AND stage = ?', [op[1], op[2]]);
            break;
          case 'row':
            db.run('INSERT OR REPLACE INTO table_versions (table_name, key, event_time, version, op, row, position) VALUES (?, ?, ?, ?, ?, ?, ?)', [
              op[1],
              op[2],
              op[3],
              op[4],
              op[5],
              op[6],
              op[7],
            ]);
            if (op[4] >= this.nextVersion) this.nextVersion = op[4] + 1;
            break;
          case 'trim':
            db.run(
              `DELETE FROM table_versions AS v WHERE table_name = ?1 AND event_time < ?2 AND EXISTS (
                 SELECT 1 FROM table_versions AS w
                 WHERE w.table_name = v.table_name AND w.key = v.key AND w.event_time <= ?2
                   AND (w.event_time > v.event_time OR (w.event_time = v.event_time AND w.version > v.version)))`,
              [op[1], op[2]],
            );
            break;
        }
      }
      if (commit.checkpoint) {
        db.run('INSERT OR REPLACE INTO checkpoints (pipeline, commit_id, at, positions, sinks) VALUES (?, ?, ?, ?, ?)', [
          commit.checkpoint.pipeline,
          commit.id,
          commit.at,
          JSON.stringify(commit.checkpoint.positions),
          commit.checkpoint.sinks === undefined ? null : JSON.stringify(commit.checkpoint.sinks),
        ]);
      }
      db.run('COMMIT');
    } catch (error) {
      db.run('ROLLBACK');
      throw error;
    }
    if (commit.id > this.lastCommitId) this.lastCommitId = commit.id;
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.chain.then(task);
    this.chain = run.catch(() => undefined);
    return run;
  }

  commit(ops: Operation[], checkpoint: CheckpointInput | undefined): Promise<CommitInfo> {
    if (this.closing) return Promise.reject(new EddyError('UNAVAILABLE', 'The state store is closed.'));
    return this.exclusive(async () => {
      const commit: CommitRecord = { id: this.lastCommitId + 1, at: this.now(), ops };
      if (checkpoint) commit.checkpoint = checkpoint;
      // Versions are assigned in commit order, so "later commit wins" at equal event times.
      for (const op of ops) if (op[0] === 'row') op[4] = this.nextVersion++;
      if (ops.length === 0 && !checkpoint) return { commitId: this.lastCommitId, at: commit.at };
      const payload = Buffer.from(JSON.stringify(commit), 'utf8');
      await this.writeDurably(payload);
      this.applyCommit(commit);
      this.bytesSinceSnapshot += payload.length + 16;
      if (this.bytesSinceSnapshot >= this.snapshotBytes && !this.snapshotting) void this.snapshot(false);
      return { commitId: commit.id, at: commit.at };
    });
  }

  private async writeDurably(payload: Buffer): Promise<void> {
    let pausedSince: number | null = null;
    for (let attempt = 0; ; attempt++) {
      try {
        this.journal ??= await JournalWriter.open(this.fs, this.file(journalName(this.journalGen)), { hooks: this.hooks, syncDir: this.dir });
        await this.journal.append([{ type: JOURNAL_RECORD_COMMIT, payload }]);
        if (pausedSince !== null) this.report('info', `State commits resumed after ${Math.round((Date.now() - pausedSince) / 1000)} s.`);
        return;
      } catch (error) {
        if (this.closing) throw new EddyError('UNAVAILABLE', `The state store closed while commits were paused (${errorMessage(error)}).`);
        if (pausedSince === null) {
          pausedSince = Date.now();
          this.report(
            'error',
            `State commits are paused: ${isNoSpace(error) ? 'the disk is full' : errorMessage(error)}. Nothing committed is lost; they resume by themselves.`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(250 * (attempt + 1), 5000)));
      }
    }
  }

  /** Exports and rotates the journal synchronously; publishes the file (awaited only if `wait`). */
  private async snapshot(wait: boolean): Promise<void> {
    const image = this.db.export();
    applyMemoryPragmas(this.db);
    const gen = this.journalGen + 1;
    const journal = this.journal;
    this.journal = null;
    this.journalGen = gen;
    const covered = this.bytesSinceSnapshot;
    this.bytesSinceSnapshot = 0;
    const meta = { journalGen: gen, lastCommitId: this.lastCommitId };
    const publish = async (): Promise<void> => {
      try {
        await journal?.close();
        await writeFileAtomic(this.fs, this.file(SNAPSHOT), await encodeSnapshot('state', image, meta), { keepPrevious: true, hooks: this.hooks });
        const keepFrom = this.snapshotGen ?? 0;
        this.snapshotGen = gen;
        for (const name of await this.fs.readdir(this.dir)) {
          const match = JOURNAL_NAME.exec(name);
          if (match && Number(match[1]) < keepFrom) await this.fs.unlink(this.file(name)).catch(() => undefined);
        }
        for (const name of this.damagedJournals.splice(0)) await this.fs.unlink(this.file(name)).catch(() => undefined);
      } catch (error) {
        this.bytesSinceSnapshot += covered;
        this.report('warning', `Could not write a state snapshot (${errorMessage(error)}); the journal still has everything.`);
      } finally {
        this.snapshotting = null;
      }
    };
    this.snapshotting = publish();
    if (wait) await this.snapshotting;
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  private assertOpen(): void {
    if (this.closed) throw new EddyError('UNAVAILABLE', 'The state store is closed.');
  }

  committedGet(pipeline: string, stage: string, key: string): JsonValue | undefined {
    this.assertOpen();
    const row = queryRows(this.db, 'SELECT value FROM keyed_state WHERE pipeline = ? AND stage = ? AND key = ?', [pipeline, stage, key])[0];
    return row ? parse(row[0]) : undefined;
  }

  committedRange(pipeline: string, stage: string, options: RangeOptions, limit: number | null): [string, JsonValue][] {
    this.assertOpen();
    const conditions = ['pipeline = ?', 'stage = ?'];
    const params: SqlValue[] = [pipeline, stage];
    const { from, to } = rangeBounds(options);
    if (from !== undefined) {
      conditions.push('key >= ?');
      params.push(from);
    }
    if (to !== undefined) {
      conditions.push('key < ?');
      params.push(to);
    }
    const order = options.reverse ? 'DESC' : 'ASC';
    const sql = `SELECT key, value FROM keyed_state WHERE ${conditions.join(' AND ')} ORDER BY key ${order}${limit === null ? '' : ` LIMIT ${limit}`}`;
    return queryRows(this.db, sql, params).map((row) => [row[0] as string, parse(row[1])]);
  }

  committedVersions(table: string, keyText: string, eventTime: number | null, latestOnly: boolean): TableVersion[] {
    this.assertOpen();
    const params: SqlValue[] = [table, keyText];
    let sql = 'SELECT key, event_time, version, op, row, position FROM table_versions WHERE table_name = ? AND key = ?';
    if (eventTime !== null) {
      sql += ' AND event_time <= ?';
      params.push(eventTime);
    }
    sql += latestOnly ? ' ORDER BY event_time DESC, version DESC LIMIT 1' : ' ORDER BY event_time ASC, version ASC';
    return queryRows(this.db, sql, params).map((row) => ({
      key: parse(row[0]),
      eventTime: row[1] as number,
      version: row[2] as number,
      op: row[3] as Op,
      row: parse(row[4]),
      position: (row[5] as string | null) ?? null,
    }));
  }

  begin(): StateTransaction {
    this.assertOpen();
    return new Transaction(this);
  }

  keyed(pipeline: string, stage: string): KeyedStateReader {
    return {
      get: (key) => this.committedGet(pipeline, stage, key),
      range: (options = {}) => this.committedRange(pipeline, stage, options, options.limit ?? null),
    };
  }

  table(name: string): TableReader {
    return tableReader(this, name, null);
  }

  asOf(table: string, key: JsonValue, eventTime: number): JsonValue | null {
    return this.table(table).asOf(key, eventTime);
  }

  lastCheckpoint(pipeline: string): Checkpoint | null {
    this.assertOpen();
    const row = queryRows(this.db, 'SELECT commit_id, at, positions, sinks FROM checkpoints WHERE pipeline = ?', [pipeline])[0];
    if (!row) return null;
    const checkpoint: Checkpoint = { pipeline, commitId: row[0] as number, at: row[1] as number, positions: parse(row[2]) as Record<string, JsonValue> };
    if (row[3] !== null) checkpoint.sinks = parse(row[3]) as Record<string, JsonValue>;
    return checkpoint;
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.chain.catch(() => undefined);
    await this.snapshotting;
    if (this.bytesSinceSnapshot > 0 || this.damagedJournals.length > 0) await this.snapshot(true).catch(() => undefined);
    await this.journal?.close().catch(() => undefined);
    this.closed = true;
    this.db.close();
  }
}

function rangeBounds(options: RangeOptions): { from?: string; to?: string } {
  let from = options.from;
  let to = options.to;
  if (options.prefix !== undefined && options.prefix.length > 0) {
    if (from === undefined || from < options.prefix) from = options.prefix;
    // The smallest string greater than every string with this prefix.
    const last = options.prefix.charCodeAt(options.prefix.length - 1);
    const end = options.prefix.slice(0, -1) + String.fromCharCode(last + 1);
    if (to === undefined || to > end) to = end;
  }
  const bounds: { from?: string; to?: string } = {};
  if (from !== undefined) bounds.from = from;
  if (to !== undefined) bounds.to = to;
  return bounds;
}

function inRange(key: string, options: RangeOptions): boolean {
  const { from, to } = rangeBounds(options);
  return (from === undefined || key >= from) && (to === undefined || key < to);
}

function tableReader(store: JournaledStateStore, table: string, tx: Transaction | null): TableReader {
  const pick = (keyText: string, eventTime: number | null): TableVersion | null => {
    const committed = store.committedVersions(table, keyText, eventTime, true)[0] ?? null;
    const pending = tx?.pendingVersions(table, keyText, eventTime) ?? [];
    let best = committed;
    // Pending versions are newer than every committed one at the same event time.
    for (const version of pending) if (!best || version.eventTime >= best.eventTime) best = version;
    return best;
  };
  return {
    get: (key) => {
      const best = pick(canonicalKey(key), null);
      return !best || best.op === 'd' ? null : best.row;
    },
    asOf: (key, eventTime) => {
      const best = pick(canonicalKey(key), eventTime);
      return !best || best.op === 'd' ? null : best.row;
    },
    history: (key) => {
      const keyText = canonicalKey(key);
      const all = [...store.committedVersions(table, keyText, null, false), ...(tx?.pendingVersions(table, keyText, null) ?? [])];
      return all.sort((a, b) => a.eventTime - b.eventTime || a.version - b.version);
    },
  };
}

class Transaction implements StateTransaction {
  private ops: Operation[] = [];
  private readonly keyedOverlay = new Map<string, Map<string, JsonValue | typeof DELETED>>();
  private readonly cleared = new Set<string>();
  private readonly versions = new Map<string, TableVersion[]>();
  private finished = false;

  constructor(private readonly store: JournaledStateStore) {}

  get size(): number {
    return this.ops.length;
  }

  private assertActive(): void {
    if (this.finished) throw new EddyError('CONFLICT', 'This state transaction was already committed or rolled back.');
  }

  private overlayOf(pipeline: string, stage: string): Map<string, JsonValue | typeof DELETED> {
    const ns = JSON.stringify([pipeline, stage]);
    let overlay = this.keyedOverlay.get(ns);
    if (!overlay) {
      overlay = new Map();
      this.keyedOverlay.set(ns, overlay);
    }
    return overlay;
  }

  private isCleared(pipeline: string, stage: string): boolean {
    return this.cleared.has(JSON.stringify([pipeline, null])) || this.cleared.has(JSON.stringify([pipeline, stage]));
  }

  keyed(pipeline: string, stage: string): KeyedState {
    const overlay = (): Map<string, JsonValue | typeof DELETED> => this.overlayOf(pipeline, stage);
    return {
      get: (key) => {
        const pending = overlay().get(key);
        if (pending === DELETED) return undefined;
        if (pending !== undefined) return pending;
        return this.isCleared(pipeline, stage) ? undefined : this.store.committedGet(pipeline, stage, key);
      },
      put: (key, value) => {
        this.assertActive();
        if (typeof key !== 'string') throw new EddyError('VALIDATION', 'State keys are strings.');
        this.ops.push(['put', pipeline, stage, key, toJson(value, 'The state value')]);
        overlay().set(key, structuredClone(value));
      },
      delete: (key) => {
        this.assertActive();
        this.ops.push(['del', pipeline, stage, key]);
        overlay().set(key, DELETED);
      },
      range: (options = {}) => {
        const pending = overlay();
        const committed = this.isCleared(pipeline, stage) ? [] : this.store.committedRange(pipeline, stage, options, pending.size === 0 ? (options.limit ?? null) : null);
        const merged = new Map(committed);
        for (const [key, value] of pending) {
          if (!inRange(key, options)) continue;
          if (value === DELETED) merged.delete(key);
          else merged.set(key, value);
        }
        const entries = [...merged].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        if (options.reverse) entries.reverse();
        return options.limit === undefined ? entries : entries.slice(0, options.limit);
      },
    };
  }

  clear(pipeline: string, stage?: string): void {
    this.assertActive();
    this.ops.push(['clear', pipeline, stage ?? null]);
    this.cleared.add(JSON.stringify([pipeline, stage ?? null]));
    for (const [ns, overlay] of this.keyedOverlay) {
      const [p, s] = JSON.parse(ns) as [string, string];
      if (p === pipeline && (stage === undefined || s === stage)) overlay.clear();
    }
  }

  pendingVersions(table: string, keyText: string, eventTime: number | null): TableVersion[] {
    const list = this.versions.get(JSON.stringify([table, keyText])) ?? [];
    return eventTime === null ? list : list.filter((v) => v.eventTime <= eventTime);
  }

  table(name: string): TableWriter {
    const reader = tableReader(this.store, name, this);
    const record = (key: JsonValue, op: Op, row: JsonValue | null, eventTime: number, position?: string): void => {
      this.assertActive();
      if (typeof eventTime !== 'number' || !Number.isFinite(eventTime)) throw new EddyError('VALIDATION', 'eventTime must be a finite number.');
      const keyText = canonicalKey(key);
      const rowText = row === null ? null : toJson(row, 'The row');
      const pendingVersion = Number.MAX_SAFE_INTEGER - 1_000_000 + this.ops.length;
      this.ops.push(['row', name, keyText, eventTime, pendingVersion, op, rowText, position ?? null]);
      const id = JSON.stringify([name, keyText]);
      const list = this.versions.get(id) ?? [];
      list.push({ key: structuredClone(key), eventTime, version: pendingVersion, op, row: row === null ? null : structuredClone(row), position: position ?? null });
      list.sort((a, b) => a.eventTime - b.eventTime || a.version - b.version);
      this.versions.set(id, list);
    };
    return {
      ...reader,
      apply: (change) => {
        const envelope = (change.value ?? null) as { before?: JsonValue; after?: JsonValue; op?: string } | null;
        const op = (change.op ?? envelope?.op) as Op | undefined;
        if (!op || !['c', 'u', 'd', 'r'].includes(op)) throw new EddyError('VALIDATION', 'A table change needs an op (c, u, d or r).');
        if (op === 'd') record(change.key, 'd', null, change.eventTime, change.position);
        else record(change.key, op, (envelope && 'after' in envelope ? envelope.after : change.value) ?? null, change.eventTime, change.position);
      },
      upsert: (key, row, eventTime, position) => record(key, 'u', row, eventTime, position),
      delete: (key, eventTime, position) => record(key, 'd', null, eventTime, position),
      trimHistory: (eventTime) => {
        this.assertActive();
        this.ops.push(['trim', name, eventTime]);
      },
    };
  }

  async commit(): Promise<CommitInfo> {
    this.assertActive();
    this.finished = true;
    return this.store.commit(this.ops, undefined);
  }

  async checkpoint(checkpoint: CheckpointInput): Promise<CommitInfo> {
    this.assertActive();
    if (!checkpoint || typeof checkpoint.pipeline !== 'string' || typeof checkpoint.positions !== 'object' || checkpoint.positions === null) {
      throw new EddyError('VALIDATION', 'A checkpoint needs a pipeline and its positions.');
    }
    this.finished = true;
    return this.store.commit(this.ops, structuredClone(checkpoint));
  }

  rollback(): void {
    this.finished = true;
    this.ops = [];
    this.keyedOverlay.clear();
    this.versions.clear();
  }
}
