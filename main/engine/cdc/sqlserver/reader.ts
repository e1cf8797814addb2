// The SQL Server change reader: Debezium's streaming loop (research/cdc_streaming.md 1.2) on an
// injected executor. Per window:
//   1. poll head: max LSN (NULL -> nothing harvested yet: Agent stopped?), the server's UTC offset,
//      and fn_cdc_increment_lsn(last window end) as the next lower bound (intervals are closed);
//   2. capture instances refreshed; a new one is a schema-change checkpoint at its start LSN;
//   3. gap check: the instance a table is read from must still hold `from`
//      (fn_cdc_get_min_lsn > from -> CdcGapError naming the lost range; 0x00… -> error);
//   4. upper bound: the commit LSN of the N-th transaction (cdc.lsn_time_mapping), at most max LSN;
//   5. one keyset-paged cursor per capture instance, k-way merged in global order (commit LSN,
//      change LSN, operation); a page never ends inside a (commit, change) group, so update images
//      and primary-key delete/insert pairs always arrive together;
//   6. op 3 + op 4 -> one `u` (two events' worth of serial numbers, as Debezium); a key change -> `d`
//      then `c`; event_serial_no counts events sharing a (commit, change) position. Images logged
//      apart (a split update) are paired within their transaction, by key first, and emitted at the
//      after-image; an image left without its counterpart at the end of a transaction is an error;
//   7. after a restart the last, possibly partly stored, transaction is re-read from its commit LSN
//      and everything at or before the stored position is skipped. Skipping is bounded: positions
//      are checked to rise strictly, so the first event past the stored one ends it for good.
// Rows of an old capture instance at or after the next instance's start LSN are dropped: each
// change is read from exactly one instance.
import { EddyError } from '../../../../shared/contract.js';
import type { NewEvent } from '../../../../shared/events.js';
import { loadCatalog, orderInstances, type CaptureInstance, type CapturedTable, type CdcCatalog } from './catalog.js';
import { changeEvent, InstanceMapper, schemaChangeEvent, streamingPosition, streamName, CHANGED_FIELDS_HEADER, type EnvelopeSettings, type Row } from './envelope.js';
import { param, type SqlQueryable, type SqlRow } from './executor.js';
import { tableKey } from './identifiers.js';
import { compareLsn, comparePosition, isZeroLsn, lsnFromBuffer, lsnToText, maxLsn, minLsn, ZERO_LSN, type ChangePosition, type Lsn } from './lsn.js';
import { changesQuery, INSTANCES, MIN_LSN, PENDING_TRANSACTIONS, POLL_HEAD, WINDOW_END } from './queries.js';

export interface ReaderOptions {
  settings: EnvelopeSettings;
  tables: CapturedTable[];
  /** Most transactions per window (Debezium's max.iteration.transactions, default 500). */
  maxTransactionsPerPoll?: number;
  /** Rows per change-query page (Debezium's streaming.fetch.size). */
  pageSize?: number;
  /** Most events per batch handed to the log. */
  batchSize?: number;
  now?: () => number;
}

/** What is durably stored: the last event the log acknowledged, and the last window fully read. */
export interface ReaderCheckpoint {
  position: ChangePosition | null;
  scannedTo: Lsn | null;
  /**
   * Per table (`schema.table`), the first LSN this capture is responsible for, when that is later
   * than the window start: a capture that began at the oldest retained change of each table, whose
   * capture instances were created at different times. Dropped once the windows pass them.
   */
  floors?: Record<string, Lsn> | undefined;
}

export interface ReaderBatch {
  events: NewEvent[];
  /** Each event's change position (null for a schema-change event), parallel to `events`. */
  positions: (ChangePosition | null)[];
  /** Position of the last change event in `events`; null when there is none. */
  position: ChangePosition | null;
  /** On the last batch of a window: every change up to this LSN has been handed over. */
  scannedTo?: Lsn;
}

export type WindowResult =
  | { kind: 'no-lsn' }
  | { kind: 'caught-up'; maxLsn: Lsn }
  | {
      kind: 'read';
      from: Lsn;
      to: Lsn;
      maxLsn: Lsn;
      events: number;
      lagging: boolean;
      pendingTransactions: number;
      lagMs: number;
      /** Capture instances switched to in this window. */
      switched: string[];
    };

export interface GapDetails {
  table: string;
  captureInstance: string;
  /** First LSN that should have been read. */
  from: string;
  /** The instance's lowest available LSN now: changes in [from, to) may be gone. */
  to: string;
}

/** The cleanup job removed changes the capture had not read yet. */
export class CdcGapError extends EddyError {
  constructor(readonly gap: GapDetails) {
    super(
      'CONFLICT',
      `Gap detected on ${gap.table}: the capture needs changes from LSN ${gap.from}, but capture instance ${gap.captureInstance} now starts at ${gap.to} (the CDC cleanup job removed them, or the instance was re-created). Changes from ${gap.from} up to ${gap.to} may be lost. Re-snapshot the table to continue consistently.`,
      { gap },
    );
    this.name = 'CdcGapError';
  }
}

interface ChangeRecord {
  commit: Lsn;
  change: Lsn;
  op: number;
  mask: Uint8Array;
  commitTime: Date | null;
  raw: SqlRow;
}

function compareRecords(a: ChangeRecord, b: ChangeRecord): number {
  return compareLsn(a.commit, b.commit) || compareLsn(a.change, b.change) || a.op - b.op;
}

const EMPTY_MASK = new Uint8Array(0);
const NO_HEADERS: { key: string; value: string }[] = [];

/** What one window accumulates while it merges. */
interface WindowState {
  batch: NewEvent[];
  positions: (ChangePosition | null)[];
  batchPosition: ChangePosition | null;
  events: number;
  txCommit: Lsn | null;
  commitText: string;
  totalOrder: number;
  perStream: Map<string, number>;
  processedAt: number;
}

function toRecord(raw: SqlRow): ChangeRecord {
  const commit = lsnFromBuffer(raw.__$start_lsn);
  const change = lsnFromBuffer(raw.__$seqval);
  if (commit === null || change === null) throw new EddyError('INTERNAL', 'SQL Server returned a change row without __$start_lsn or __$seqval.');
  const op = Number(raw.__$operation);
  if (!(op >= 1 && op <= 4)) throw new EddyError('INTERNAL', `SQL Server returned __$operation ${String(raw.__$operation)}; expected 1-4.`);
  const mask = raw.__$update_mask instanceof Uint8Array ? raw.__$update_mask : EMPTY_MASK;
  const time = raw.__$commit_time;
  return { commit, change, op, mask, commitTime: time instanceof Date ? time : null, raw };
}

/** A keyset-paged cursor over one capture instance's changes in [lo, hi]. */
class ChangeCursor {
  private records: ChangeRecord[] = [];
  private index = 0;
  private exhausted = false;
  private afterCommit: Lsn = ZERO_LSN;
  private afterChange: Lsn = ZERO_LSN;
  private previous: ChangeRecord | undefined;
  private readonly text: string;

  constructor(
    private readonly db: SqlQueryable,
    readonly mapper: InstanceMapper,
    private readonly lo: Lsn,
    private readonly hi: Lsn,
    /** The next instance's start: this instance's rows from there on belong to that one. */
    private readonly stopLsn: Lsn | null,
    private pageSize: number,
    readonly order: number,
  ) {
    this.text = changesQuery(
      mapper.instance.name,
      mapper.columns.map((column) => ({ name: column.name, asText: column.asText })),
    );
  }

  get head(): ChangeRecord | undefined {
    return this.records[this.index];
  }

  /** A head record is available without reading another page. */
  get buffered(): boolean {
    return this.index < this.records.length;
  }

  /** True when a head record is available (fetching the next page if needed). */
  async ensure(): Promise<boolean> {
    while (this.index >= this.records.length) {
      if (this.exhausted) return false;
      await this.fetch();
    }
    return true;
  }

  private async fetch(): Promise<void> {
    for (;;) {
      const rows = await this.db.query(this.text, {
        page_size: param.int(this.pageSize),
        from_lsn: param.lsn(this.lo),
        to_lsn: param.lsn(this.hi),
        after_commit_lsn: param.lsn(this.afterCommit),
        after_change_lsn: param.lsn(this.afterChange),
      });
      let records = rows.map(toRecord);
      let complete = records.length < this.pageSize;
      if (!complete) {
        // Never end a page inside a (commit, change) group: an update's two images and a key
        // change's delete/insert must be seen together. The cut group is read again next page.
        const last = records.at(-1)!;
        let cut = records.length - 1;
        while (cut > 0 && records[cut - 1]!.commit === last.commit && records[cut - 1]!.change === last.change) cut--;
        if (cut === 0) {
          this.pageSize *= 2;
          continue;
        }
        records = records.slice(0, cut);
      }
      if (this.stopLsn !== null) {
        const stop = records.findIndex((record) => compareLsn(record.commit, this.stopLsn!) >= 0);
        if (stop >= 0) {
          records = records.slice(0, stop);
          complete = true;
        }
      }
      for (const record of records) {
        if (this.previous && compareRecords(record, this.previous) < 0) {
          throw new EddyError(
            'INTERNAL',
            `Changes of capture instance ${this.mapper.instance.name} arrived out of order (${lsnToText(record.commit)}:${lsnToText(record.change)} after ${lsnToText(this.previous.commit)}:${lsnToText(this.previous.change)}); refusing to guess.`,
          );
        }
        this.previous = record;
      }
      if (records.length > 0) {
        const last = records.at(-1)!;
        this.afterCommit = last.commit;
        this.afterChange = last.change;
      }
      this.records = records;
      this.index = 0;
      this.exhausted = complete;
      return;
    }
  }

  /** Every record of the head's (commit, change) group, in operation order. */
  takeGroup(): ChangeRecord[] {
    const first = this.records[this.index]!;
    const group: ChangeRecord[] = [first];
    this.index++;
    while (this.index < this.records.length) {
      const next = this.records[this.index]!;
      if (next.commit !== first.commit || next.change !== first.change) break;
      group.push(next);
      this.index++;
    }
    return group;
  }
}

function sameKey(a: Row | null, b: Row | null): boolean {
  if (a === null || b === null) return a === b;
  for (const name of Object.keys(a)) if (a[name] !== b[name]) return false;
  return true;
}

export class SqlServerChangeReader {
  private readonly settings: EnvelopeSettings;
  private tables: CapturedTable[];
  private readonly maxTransactions: number;
  private readonly pageSize: number;
  private readonly batchSize: number;
  private readonly now: () => number;
  private readonly mappers = new Map<string, InstanceMapper>();
  private checkpoint: ReaderCheckpoint;
  /** Skip everything at or before this position (the last one stored before a restart). */
  private resume: ChangePosition | null;
  private lastSeen: ChangePosition | null = null;
  /** Update images waiting for their counterpart within the current transaction, per capture instance. */
  private readonly carried = new Map<InstanceMapper, { commit: Lsn; change: Lsn; befores: ChangeRecord[]; afters: ChangeRecord[] }>();
  /** Start from each table's oldest available change instead of a stored position. */
  private startAtEarliest: boolean;

  constructor(
    private readonly db: SqlQueryable,
    options: ReaderOptions,
    checkpoint: ReaderCheckpoint,
    start: 'stored' | 'earliest' = 'stored',
  ) {
    this.settings = options.settings;
    this.tables = options.tables;
    this.maxTransactions = options.maxTransactionsPerPoll ?? 500;
    this.pageSize = options.pageSize ?? 5000;
    this.batchSize = options.batchSize ?? 2000;
    this.now = options.now ?? Date.now;
    this.checkpoint = { ...checkpoint };
    this.resume = checkpoint.position;
    this.startAtEarliest = start === 'earliest' && checkpoint.position === null && checkpoint.scannedTo === null;
  }

  get state(): ReaderCheckpoint {
    return { ...this.checkpoint, ...(this.checkpoint.floors ? { floors: { ...this.checkpoint.floors } } : {}) };
  }

  get capturedTables(): CapturedTable[] {
    return this.tables;
  }

  private mapper(table: CapturedTable, instance: CaptureInstance): InstanceMapper {
    let mapper = this.mappers.get(instance.name);
    if (!mapper || mapper.instance !== instance) {
      mapper = new InstanceMapper(table, instance, streamName(this.settings, table));
      this.mappers.set(instance.name, mapper);
    }
    return mapper;
  }

  /** Picks up capture instances created or dropped since the last window. */
  private async refreshInstances(): Promise<void> {
    const signature = (instances: CaptureInstance[]): string => instances.map((instance) => `${instance.name}@${instance.startLsn}`).join(',');
    const rows = await this.db.query(INSTANCES);
    const current = new Map<number, string[]>();
    for (const row of rows) {
      const id = Number(row.source_object_id);
      current.set(id, [...(current.get(id) ?? []), `${String(row.capture_instance)}@${lsnFromBuffer(row.start_lsn) ?? ''}`]);
    }
    const unchanged = this.tables.every((table) => {
      const known = table.instances.map((instance) => `${instance.name}@${instance.startLsn}`);
      const seen = current.get(table.sourceObjectId) ?? [];
      return seen.length === known.length && seen.every((entry) => known.includes(entry));
    });
    if (unchanged) return;
    const catalog: CdcCatalog = await loadCatalog(this.db);
    this.tables = this.tables.map((table) => {
      const fresh = [...catalog.values()].find((entry) => entry.sourceObjectId === table.sourceObjectId) ?? catalog.get(tableKey(table));
      if (!fresh || fresh.instances.length === 0) {
        throw new EddyError('NOT_FOUND', `CDC is no longer enabled on ${tableKey(table)}: its capture instances are gone (sys.sp_cdc_disable_table?).`);
      }
      if (signature(fresh.instances) === signature(table.instances)) return table;
      // Keep the instance objects already known so their mappers stay valid.
      const instances = orderInstances(fresh.instances.map((instance) => table.instances.find((known) => known.name === instance.name && known.startLsn === instance.startLsn) ?? instance));
      return { ...table, instances, keyColumns: table.keyColumns.length > 0 ? table.keyColumns : fresh.keyColumns };
    });
  }

  private async minLsnOf(instance: CaptureInstance, table: CapturedTable): Promise<Lsn> {
    const [row] = await this.db.query(MIN_LSN, { capture_instance: param.nvarchar(instance.name) });
    const min = lsnFromBuffer(row?.min_lsn);
    if (isZeroLsn(min)) {
      throw new EddyError(
        'FORBIDDEN',
        `sys.fn_cdc_get_min_lsn('${instance.name}') returned 0x00000000000000000000 for ${tableKey(table)}: the capture instance does not exist or this login may not read it (it needs SELECT on the source table and membership in the instance's gating role). The capture refuses to treat this as "start from the beginning".`,
        { captureInstance: instance.name },
      );
    }
    return min!;
  }

  /** The instance that holds `lsn` for a table: the newest one starting at or before it. */
  private activeInstance(table: CapturedTable, lsn: Lsn): CaptureInstance {
    let active = table.instances[0]!;
    for (const instance of table.instances) if (compareLsn(instance.startLsn, lsn) <= 0) active = instance;
    return active;
  }

  /**
   * Reads one window. Yields batches of events (the last one carries `scannedTo`); returns what
   * the window found. A batch's events are safe to store; the checkpoint only moves when the
   * caller calls `acknowledge` after the log has stored them.
   */
  async *readWindow(): AsyncGenerator<ReaderBatch, WindowResult> {
    const [head] = await this.db.query(POLL_HEAD, { after_lsn: param.lsn(this.checkpoint.scannedTo) });
    const max = lsnFromBuffer(head?.max_lsn);
    if (isZeroLsn(max)) return { kind: 'no-lsn' };
    const tzOffsetMinutes = Number(head?.tz_offset_minutes ?? 0);
    const serverNow = head?.server_utc_now instanceof Date ? head.server_utc_now.getTime() : this.now();

    await this.refreshInstances();

    let from: Lsn;
    const { position, scannedTo } = this.checkpoint;
    if (this.startAtEarliest) {
      const floors: Record<string, Lsn> = {};
      for (const table of this.tables) floors[tableKey(table)] = await this.minLsnOf(table.instances[0]!, table);
      this.checkpoint.floors = floors;
      this.startAtEarliest = false;
      from = Object.values(floors).reduce(minLsn);
    } else if (position && (scannedTo === null || compareLsn(position.commitLsn, scannedTo) > 0)) {
      // The stored event's transaction may be only partly stored: read it again from its commit LSN.
      from = position.commitLsn;
    } else {
      const next = lsnFromBuffer(head?.next_lsn);
      if (next === null) throw new EddyError('INTERNAL', 'sys.fn_cdc_increment_lsn returned NULL.');
      from = next;
    }
    if (compareLsn(from, max!) > 0) return { kind: 'caught-up', maxLsn: max! };

    // Where each table is read from: the window start, or later where the capture began on it.
    const lower = new Map<string, Lsn>();
    for (const table of this.tables) {
      const floor = this.checkpoint.floors?.[tableKey(table)];
      const start = floor === undefined ? from : maxLsn(from, floor);
      lower.set(tableKey(table), start);
      const instance = this.activeInstance(table, start);
      const min = await this.minLsnOf(instance, table);
      if (compareLsn(start, min) < 0) {
        throw new CdcGapError({ table: tableKey(table), captureInstance: instance.name, from: lsnToText(start), to: lsnToText(min) });
      }
    }

    const [end] = await this.db.query(WINDOW_END, { max_transactions: param.int(this.maxTransactions), from_lsn: param.lsn(from) });
    const nth = lsnFromBuffer(end?.to_lsn);
    const to = nth === null ? max! : minLsn(nth, max!);

    // Schema-change checkpoints: instances (after a table's first) starting inside the window.
    const checkpoints: { table: CapturedTable; instance: CaptureInstance; previous: CaptureInstance }[] = [];
    for (const table of this.tables) {
      table.instances.forEach((instance, index) => {
        if (index > 0 && compareLsn(instance.startLsn, from) >= 0 && compareLsn(instance.startLsn, to) <= 0) {
          checkpoints.push({ table, instance, previous: table.instances[index - 1]! });
        }
      });
    }
    checkpoints.sort((a, b) => compareLsn(a.instance.startLsn, b.instance.startLsn));

    const cursors: ChangeCursor[] = [];
    for (const table of this.tables) {
      const start = lower.get(tableKey(table))!;
      if (compareLsn(start, to) > 0) continue;
      table.instances.forEach((instance, index) => {
        const next = table.instances[index + 1];
        if (next && compareLsn(next.startLsn, start) <= 0) return; // wholly before the window
        if (compareLsn(instance.startLsn, to) > 0) return; // starts after it
        const lo = maxLsn(start, instance.startLsn);
        cursors.push(new ChangeCursor(this.db, this.mapper(table, instance), lo, to, next ? next.startLsn : null, this.pageSize, cursors.length));
      });
    }

    let active: ChangeCursor[] = [];
    for (const cursor of cursors) if (await cursor.ensure()) active.push(cursor);

    const switched: string[] = [];
    this.carried.clear();
    let lastCommitTime: number | null = null;
    const state: WindowState = { batch: [], positions: [], batchPosition: null, events: 0, txCommit: null, commitText: '', totalOrder: 0, perStream: new Map(), processedAt: this.now() };
    const processedAt = state.processedAt;

    const emitSchemaChanges = (upTo: Lsn | null, eventTime: number): void => {
      while (checkpoints.length > 0 && (upTo === null || compareLsn(checkpoints[0]!.instance.startLsn, upTo) <= 0)) {
        const checkpoint = checkpoints.shift()!;
        switched.push(checkpoint.instance.name);
        const before = checkpoint.previous.columns.map((column) => `${column.name}:${column.type}`).join(',');
        const after = checkpoint.instance.columns.map((column) => `${column.name}:${column.type}`).join(',');
        if (before !== after) {
          state.batch.push(schemaChangeEvent(this.settings, checkpoint.table, checkpoint.instance, checkpoint.previous, eventTime, processedAt));
          state.positions.push(null);
        }
      }
    };

    while (active.length > 0) {
      let best = active[0]!;
      for (let index = 1; index < active.length; index++) {
        const candidate = active[index]!;
        const order = compareRecords(candidate.head!, best.head!) || candidate.order - best.order;
        if (order < 0) best = candidate;
      }
      const group = best.takeGroup();
      if (!best.buffered && !(await best.ensure())) active = active.filter((cursor) => cursor !== best);

      const first = group[0]!;
      const eventTime = first.commitTime ? first.commitTime.getTime() - tzOffsetMinutes * 60_000 : serverNow;
      lastCommitTime = eventTime;
      if (checkpoints.length > 0) emitSchemaChanges(first.commit, eventTime);
      if (state.txCommit !== first.commit) {
        if (this.carried.size > 0) this.assertNoCarriedImages();
        state.txCommit = first.commit;
        state.commitText = lsnToText(first.commit);
        state.totalOrder = 0;
        state.perStream = new Map();
      }
      this.processGroup(state, best.mapper, group, eventTime);

      if (state.batch.length >= this.batchSize) {
        yield { events: state.batch, positions: state.positions, position: state.batchPosition };
        state.batch = [];
        state.positions = [];
        state.batchPosition = null;
      }
    }
    if (this.carried.size > 0) this.assertNoCarriedImages();
    emitSchemaChanges(to, lastCommitTime ?? serverNow);

    const lagging = compareLsn(to, max!) < 0;
    let pendingTransactions = 0;
    if (lagging) {
      const [pending] = await this.db.query(PENDING_TRANSACTIONS, { after_lsn: param.lsn(to), max_lsn: param.lsn(max) });
      pendingTransactions = Number(pending?.pending ?? 0);
    }
    yield { events: state.batch, positions: state.positions, position: state.batchPosition, scannedTo: to };
    return {
      kind: 'read',
      from,
      to,
      maxLsn: max!,
      events: state.events,
      lagging,
      pendingTransactions,
      lagMs: lagging && lastCommitTime !== null ? Math.max(0, serverNow - lastCommitTime) : 0,
      switched,
    };
  }

  /** One (commit, change) group of a capture instance -> events: deletes, inserts, then update pairs. */
  private processGroup(state: WindowState, mapper: InstanceMapper, group: ChangeRecord[], eventTime: number): void {
    const first = group[0]!;
    if (group.length === 1) {
      if (first.op === 2) {
        const after = mapper.row(first.raw);
        this.emitChange(state, mapper, first, eventTime, 'c', null, after, mapper.key(after), this.nextSerial(first, 1), NO_HEADERS);
        return;
      }
      if (first.op === 1) {
        const before = mapper.row(first.raw, 'delete');
        this.emitChange(state, mapper, first, eventTime, 'd', before, null, mapper.key(before), this.nextSerial(first, 1), NO_HEADERS);
        return;
      }
    }
    const befores: ChangeRecord[] = [];
    const afters: ChangeRecord[] = [];
    for (const record of group) {
      if (record.op === 1) {
        const before = mapper.row(record.raw, 'delete');
        this.emitChange(state, mapper, first, eventTime, 'd', before, null, mapper.key(before), this.nextSerial(first, 1), NO_HEADERS);
      } else if (record.op === 2) {
        const after = mapper.row(record.raw);
        this.emitChange(state, mapper, first, eventTime, 'c', null, after, mapper.key(after), this.nextSerial(first, 1), NO_HEADERS);
      } else if (record.op === 3) befores.push(record);
      else afters.push(record);
    }
    // An update whose images SQL Server logged apart (a split update: the before-image with the
    // delete record, the after-image with a later insert record) completes in a later group of the
    // same transaction: carry the unmatched images until then, and emit at the completing one.
    const carried = this.carried.get(mapper);
    if (carried) {
      this.carried.delete(mapper);
      befores.unshift(...carried.befores);
      afters.unshift(...carried.afters);
    }
    if (befores.length === 0 && afters.length === 0) return;
    // Pair before- and after-images by key first (several rows can share a change LSN), then in order.
    const pending = afters.map((record) => ({ record, row: mapper.row(record.raw) }));
    const unmatched: ChangeRecord[] = [];
    for (const beforeRecord of befores) {
      if (pending.length === 0) {
        unmatched.push(beforeRecord);
        continue;
      }
      const before = mapper.row(beforeRecord.raw, 'update-before', beforeRecord.mask);
      const beforeKey = mapper.key(before);
      let matchIndex = pending.length === 1 ? 0 : pending.findIndex((candidate) => sameKey(mapper.key(candidate.row), beforeKey));
      if (matchIndex < 0) matchIndex = 0;
      const [{ record: afterRecord, row: after }] = pending.splice(matchIndex, 1) as [{ record: ChangeRecord; row: Row }];
      const afterKey = mapper.key(after);
      if (sameKey(beforeKey, afterKey)) {
        const changed = afterRecord.mask.length > 0 ? mapper.changedFields(afterRecord.mask) : [];
        this.emitChange(state, mapper, first, eventTime, 'u', before, after, afterKey, this.nextSerial(first, 2), [{ key: CHANGED_FIELDS_HEADER, value: JSON.stringify(changed) }]);
      } else {
        // A primary-key change: Debezium emits a delete of the old key and a create of the new one.
        const base = this.nextSerial(first, 2) - 2;
        this.emitChange(state, mapper, first, eventTime, 'd', before, null, beforeKey, base + 1, [{ key: '__debezium.newkey', value: JSON.stringify(afterKey) }]);
        this.emitChange(state, mapper, first, eventTime, 'c', null, after, afterKey, base + 2, [{ key: '__debezium.oldkey', value: JSON.stringify(beforeKey) }]);
      }
    }
    if (unmatched.length > 0 || pending.length > 0) {
      this.carried.set(mapper, { commit: first.commit, change: first.change, befores: unmatched, afters: pending.map((entry) => entry.record) });
    }
  }

  /** Update images still waiting for their counterpart when their transaction (or the window) ended. */
  private assertNoCarriedImages(): void {
    for (const [mapper, carried] of this.carried) {
      this.carried.clear();
      throw new EddyError(
        'INTERNAL',
        `An update of ${tableKey(mapper.table)} in transaction ${lsnToText(carried.commit)} (at change ${lsnToText(carried.change)}) has ${carried.befores.length} before-image(s) and ${carried.afters.length} after-image(s) without a counterpart; refusing to guess.`,
      );
    }
  }

  /** Debezium's event_serial_no: counts on while events share a (commit, change) position. */
  private nextSerial(record: ChangeRecord, count: number): number {
    const previous = this.lastSeen;
    const base = previous && previous.commitLsn === record.commit && previous.changeLsn === record.change ? previous.serial : 0;
    return base + count;
  }

  private emitChange(
    state: WindowState,
    mapper: InstanceMapper,
    first: ChangeRecord,
    eventTime: number,
    op: 'c' | 'u' | 'd',
    before: Row | null,
    after: Row | null,
    key: Row | null,
    serial: number,
    headers: { key: string; value: string }[],
  ): void {
    const changePosition: ChangePosition = { commitLsn: first.commit, changeLsn: first.change, serial };
    if (this.lastSeen && comparePosition(changePosition, this.lastSeen) <= 0) {
      throw new EddyError('INTERNAL', `Change positions stopped rising at ${streamingPosition(changePosition)}; refusing to skip or duplicate.`);
    }
    this.lastSeen = changePosition;
    state.totalOrder++;
    const stream = mapper.stream;
    const collectionOrder = (state.perStream.get(stream) ?? 0) + 1;
    state.perStream.set(stream, collectionOrder);
    if (this.resume) {
      if (comparePosition(changePosition, this.resume) <= 0) return; // stored before the restart
      this.resume = null;
    }
    const changeText = lsnToText(first.change);
    state.batch.push(
      changeEvent({
        settings: this.settings,
        table: mapper.table,
        stream,
        op,
        key,
        before,
        after,
        position: changePosition,
        logPosition: `sqlserver:${state.commitText}:${changeText}:${serial}`,
        commitText: state.commitText,
        changeText,
        eventTime,
        processedAt: state.processedAt,
        snapshot: 'false',
        transaction: { id: state.commitText, totalOrder: state.totalOrder, dataCollectionOrder: collectionOrder },
        headers: headers.length === 0 ? [] : headers,
      }),
    );
    state.positions.push(changePosition);
    state.batchPosition = changePosition;
    state.events++;
  }

  /** The first `count` events of a batch, acknowledgeable on their own (the window is then abandoned). */
  static head(batch: ReaderBatch, count: number): ReaderBatch {
    const positions = batch.positions.slice(0, count);
    const last = [...positions].reverse().find((position) => position !== null) ?? null;
    return { events: batch.events.slice(0, count), positions, position: last };
  }

  /** The log has durably stored a batch: move the checkpoint. */
  acknowledge(batch: ReaderBatch): void {
    if (batch.position) this.checkpoint.position = batch.position;
    if (batch.scannedTo !== undefined) {
      const scanned = batch.scannedTo;
      this.checkpoint.scannedTo = scanned;
      if (this.checkpoint.floors) {
        const left = Object.entries(this.checkpoint.floors).filter(([, floor]) => compareLsn(floor, scanned) > 0);
        this.checkpoint.floors = left.length > 0 ? Object.fromEntries(left) : undefined;
      }
    }
  }
}
