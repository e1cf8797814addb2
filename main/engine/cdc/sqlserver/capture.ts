// One SQL Server capture run: resume from the stored position (or snapshot, or start now / from the
// earliest retained change), then read windows until stopped, handing each batch to the event log
// and storing the position only after the log acknowledged it (DESIGN.md 4). Reports the source
// state (running, caught up, lagging by N transactions, gap detected, error, stopped) as it goes.
import type { SourceState } from '../../../../shared/contracts/cdc.js';
import type { NewEvent } from '../../../../shared/events.js';
import { EddyError } from '../../../../shared/contract.js';
import { toEnvelope } from '../../dispatch.js';
import type { CapturedTable } from './catalog.js';
import { readAgentState, type AgentState } from './discovery.js';
import type { EnvelopeSettings } from './envelope.js';
import type { SqlExecutor } from './executor.js';
import { tableKey } from './identifiers.js';
import { isZeroLsn, lsnFromBuffer, lsnToText, positionText, type Lsn } from './lsn.js';
import { storedPosition, type OffsetStore, type StoredCapture } from './offset-store.js';
import { MAX_LSN } from './queries.js';
import { CdcGapError, SqlServerChangeReader, type ReaderBatch, type ReaderCheckpoint, type WindowResult } from './reader.js';
import { runSnapshot, type SnapshotIsolation } from './snapshot.js';

export type StatePatch = Partial<Omit<SourceState, 'id' | 'kind' | 'startedAt' | 'updatedAt'>>;

export interface CaptureSettings {
  name: string;
  /** `host:port`, stored with the position so it is never resumed against another server. */
  server: string;
  envelope: EnvelopeSettings;
  tables: CapturedTable[];
  engineEdition: number;
  snapshot: boolean;
  isolation: SnapshotIsolation;
  startAt: 'now' | 'earliest';
  maxTransactionsPerPoll: number;
  pollIntervalMs: number;
  /** How long a tablock snapshot waits for the capture job (default 30 s). */
  catchUpTimeoutMs?: number | undefined;
  pageSize: number;
  batchSize: number;
  maxEvents?: number | undefined;
  untilCaughtUp: boolean;
}

export interface CaptureIo {
  db: SqlExecutor;
  store: OffsetStore;
  append(events: NewEvent[]): Promise<unknown>;
  update(patch: StatePatch): void;
  progress?(events: number, message: string): void;
  signal: AbortSignal;
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
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

const MAX_RETRIES = 8;
const TRANSIENT_CODES = new Set(['ESOCKET', 'ECONNRESET', 'ECONNCLOSED', 'ETIMEOUT', 'ENOTOPEN', 'ECONNREFUSED']);
/** Deadlock victim, and Azure SQL's "try again" family. */
const TRANSIENT_NUMBERS = new Set([1205, 4060, 40197, 40501, 40613, 49918, 49919, 49920]);

/** Errors worth another attempt: the connection went away, or SQL Server asked to retry. */
export function isTransient(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth++) {
    const record = current as { code?: unknown; number?: unknown; originalError?: unknown; cause?: unknown };
    if (typeof record.code === 'string' && TRANSIENT_CODES.has(record.code)) return true;
    if (typeof record.number === 'number' && TRANSIENT_NUMBERS.has(record.number)) return true;
    current = record.originalError ?? record.cause;
  }
  return false;
}

function rejectedCount(result: unknown): number {
  const rejected = (result as { rejected?: unknown[] } | undefined)?.rejected;
  return Array.isArray(rejected) ? rejected.length : 0;
}

export function checkpointText(checkpoint: ReaderCheckpoint): string | undefined {
  if (checkpoint.position) return positionText(checkpoint.position);
  if (checkpoint.scannedTo) return `sqlserver:${lsnToText(checkpoint.scannedTo)}`;
  return undefined;
}

/** Refuses a stored position that belongs to another server, database or table list. */
export function checkStored(stored: StoredCapture, settings: CaptureSettings): void {
  const tables = settings.tables.map(tableKey).sort();
  if (stored.server !== settings.server || stored.database !== settings.envelope.database) {
    throw new EddyError(
      'CONFLICT',
      `The stored position "${settings.name}" belongs to ${stored.database} on ${stored.server}, not ${settings.envelope.database} on ${settings.server}. Choose another capture name.`,
    );
  }
  if (JSON.stringify([...stored.tables].sort()) !== JSON.stringify(tables)) {
    throw new EddyError(
      'CONFLICT',
      `The stored position "${settings.name}" covers ${stored.tables.join(', ')}, not ${tables.join(', ')}. Choose another capture name (or re-snapshot).`,
    );
  }
}

export async function runSqlServerCapture(settings: CaptureSettings, io: CaptureIo): Promise<string> {
  const now = io.now ?? Date.now;
  const sleep = io.sleep ?? abortableSleep;
  const tables = settings.tables.map(tableKey).sort();
  let events = 0;
  let rejected = 0;
  const stored = await io.store.load();
  if (stored) checkStored(stored, settings);
  let snapshotInfo: StoredCapture['snapshot'] = stored?.snapshot ?? null;
  const toStored = (checkpoint: ReaderCheckpoint): StoredCapture => ({
    version: 1,
    name: settings.name,
    server: settings.server,
    database: settings.envelope.database,
    tables,
    position: storedPosition(checkpoint.position),
    scannedTo: checkpoint.scannedTo,
    ...(checkpoint.floors ? { floors: checkpoint.floors } : {}),
    snapshot: snapshotInfo,
    updatedAt: now(),
  });
  const report = (message: string): void => io.progress?.(events, message);

  let agent: AgentState | undefined;
  const agentNote = async (): Promise<string> => {
    agent ??= await readAgentState(io.db, settings.engineEdition);
    return agent.state === 'stopped' ? ` ${agent.message}` : '';
  };

  try {
    let checkpoint: ReaderCheckpoint;
    let start: 'stored' | 'earliest' = 'stored';
    if (stored && (stored.position || stored.scannedTo)) {
      checkpoint = { position: stored.position, scannedTo: stored.scannedTo, floors: stored.floors };
      io.update({ state: 'running', position: checkpointText(checkpoint), message: `Resuming after ${checkpointText(checkpoint)}.` });
    } else if (settings.snapshot) {
      io.update({ state: 'snapshotting', message: `Snapshotting ${tables.join(', ')} (${settings.isolation} isolation)…` });
      const result = await runSnapshot(io.db, {
        settings: settings.envelope,
        tables: settings.tables,
        isolation: settings.isolation,
        batchSize: settings.batchSize,
        ...(settings.catchUpTimeoutMs !== undefined ? { catchUpTimeoutMs: settings.catchUpTimeoutMs } : {}),
        signal: io.signal,
        now,
        onBatch: async (batch, progress) => {
          rejected += rejectedCount(await io.append(batch));
          events += batch.length;
          io.update({ events, message: `Snapshotting ${progress.table}: ${progress.rows} rows.` });
          report(`Snapshot: ${progress.total} rows`);
        },
      });
      if (io.signal.aborted) throw new EddyError('CANCELLED', 'The snapshot was cancelled before it completed; it starts over next time.');
      snapshotInfo = { lsn: result.lsn, completedAt: now(), rows: result.rows };
      checkpoint = { position: null, scannedTo: result.lsn };
      await io.store.save(toStored(checkpoint));
      io.update({
        state: 'running',
        events,
        position: checkpointText(checkpoint),
        message: `Snapshot of ${result.rows} rows taken at LSN ${lsnToText(result.lsn)}; streaming from there.${result.warnings.length ? ` ${result.warnings.join(' ')}` : ''}`,
      });
    } else if (settings.startAt === 'now') {
      const [head] = await io.db.query(MAX_LSN);
      const max = lsnFromBuffer(head?.max_lsn);
      if (isZeroLsn(max)) {
        // Nothing harvested yet: "now" and "everything retained" are the same thing.
        checkpoint = { position: null, scannedTo: null };
        start = 'earliest';
      } else {
        checkpoint = { position: null, scannedTo: max as Lsn };
        await io.store.save(toStored(checkpoint));
      }
      io.update({ state: 'running', position: checkpointText(checkpoint), message: 'Capturing changes from now on.' });
    } else {
      checkpoint = { position: null, scannedTo: null };
      start = 'earliest';
      io.update({ state: 'running', message: 'Capturing every change CDC still retains.' });
    }

    const readerOptions = {
      settings: settings.envelope,
      tables: settings.tables,
      maxTransactionsPerPoll: settings.maxTransactionsPerPoll,
      pageSize: settings.pageSize,
      batchSize: settings.batchSize,
      now,
    };
    let reader = new SqlServerChangeReader(io.db, readerOptions, checkpoint, start);

    let stopReason: string | undefined;
    let failures = 0;
    while (!io.signal.aborted && stopReason === undefined) {
      const window = reader.readWindow();
      let result: WindowResult | undefined;
      for (;;) {
        let step: IteratorResult<ReaderBatch, WindowResult>;
        try {
          step = await window.next();
        } catch (error) {
          if (!isTransient(error) || failures >= MAX_RETRIES || io.signal.aborted) throw error;
          // A dropped connection or a deadlock victim: read again from what the log has stored.
          failures++;
          const delay = Math.min(30_000, 500 * 2 ** failures);
          io.update({ state: 'running', message: `SQL Server did not answer (${error instanceof Error ? error.message : String(error)}); retrying in ${Math.round(delay / 1000)} s (attempt ${failures} of ${MAX_RETRIES}).` });
          await sleep(delay, io.signal);
          reader = new SqlServerChangeReader(io.db, { ...readerOptions, tables: reader.capturedTables }, reader.state, 'stored');
          break;
        }
        failures = 0;
        if (step.done) {
          result = step.value;
          break;
        }
        let batch = step.value;
        const limited = settings.maxEvents !== undefined && events + batch.events.length > settings.maxEvents;
        if (limited) batch = SqlServerChangeReader.head(batch, settings.maxEvents! - events);
        const before = reader.state.scannedTo;
        if (batch.events.length > 0) rejected += rejectedCount(await io.append(batch.events));
        reader.acknowledge(batch);
        if (batch.events.length > 0 || reader.state.scannedTo !== before) await io.store.save(toStored(reader.state));
        events += batch.events.length;
        if (batch.events.length > 0) {
          io.update({ events, position: checkpointText(reader.state) });
          report(`${events} events`);
        }
        if (settings.maxEvents !== undefined && events >= settings.maxEvents) {
          stopReason = `Stopped after ${events} events (the limit); the next run continues after ${checkpointText(reader.state)}.`;
          await window.return(undefined as never);
          break;
        }
        if (io.signal.aborted) {
          await window.return(undefined as never);
          break;
        }
      }
      if (!result) {
        if (stopReason !== undefined || io.signal.aborted) break;
        continue;
      }
      const position = checkpointText(reader.state);
      const rejectedNote = rejected > 0 ? ` ${rejected} event(s) were refused by the log (too large; see Problems).` : '';
      if (result.kind === 'no-lsn') {
        io.update({ state: 'running', lagMs: 0, message: `Waiting: CDC has not recorded any change in this database yet.${await agentNote()}` });
        if (settings.untilCaughtUp) stopReason = 'Nothing to capture yet.';
      } else if (result.kind === 'caught-up' || !result.lagging) {
        const at = result.kind === 'caught-up' ? result.maxLsn : result.to;
        io.update({ state: 'caught-up', lagMs: 0, position, message: `Caught up at LSN ${lsnToText(at)}.${result.kind === 'read' && result.switched.length ? ` Switched to capture instance ${result.switched.join(', ')}.` : ''}${rejectedNote}${await agentNote()}` });
        if (settings.untilCaughtUp) stopReason = `Caught up after ${events} events.`;
      } else {
        io.update({
          state: 'lagging',
          lagMs: result.lagMs,
          position,
          message: `Lagging by ${result.pendingTransactions} transaction(s) (about ${Math.round(result.lagMs / 1000)} s); reading ${settings.maxTransactionsPerPoll} per poll.${rejectedNote}`,
        });
      }
      report(`${events} events`);
      const busy = result.kind === 'read' && result.lagging;
      if (!busy && stopReason === undefined) await sleep(settings.pollIntervalMs, io.signal);
    }
    if (io.signal.aborted) {
      io.update({ state: 'stopped', events, message: `Stopped by the user after ${events} events; the position is stored.` });
      return `Stopped after ${events} events.`;
    }
    io.update({ state: 'stopped', events, message: stopReason ?? `Stopped after ${events} events.` });
    return stopReason ?? `Captured ${events} events.`;
  } catch (error) {
    if (error instanceof CdcGapError) {
      io.update({
        state: 'gap-detected',
        events,
        gap: { from: error.gap.from, to: error.gap.to, recommendation: `Re-snapshot ${error.gap.table} (mssqlResnapshot), or lengthen the CDC retention (sys.sp_cdc_change_job @retention).` },
        message: error.message,
        error: toEnvelope(error),
      });
    } else if (io.signal.aborted) {
      io.update({ state: 'stopped', events, message: `Stopped by the user after ${events} events.` });
    } else {
      io.update({ state: 'error', events, message: error instanceof Error ? error.message : String(error), error: toEnvelope(error) });
    }
    throw error;
  }
}
