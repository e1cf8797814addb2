// The optional initial snapshot: the captured tables' current rows as `r` events, read in one
// transaction together with the LSN S that streaming then continues after (commit LSN > S), so
// there is no gap between snapshot and stream. Two isolation choices (README, SQL Server section):
//
// - `snapshot` (default; needs ALLOW_SNAPSHOT_ISOLATION ON): never blocks writers. S is the CDC
//   max LSN as of the snapshot, so nothing is missed; but a change committed in the seconds before
//   the snapshot that the capture job had not harvested yet is both in the snapshot and streamed
//   afterwards (at-least-once, like Debezium's non-exclusive modes).
// - `tablock`: takes a shared table lock on every captured table (WITH (TABLOCK, HOLDLOCK)) for the
//   whole snapshot, waits until the capture job has harvested everything committed before the locks
//   (fn_cdc_map_lsn_to_time(max LSN) >= lock time, Agent polling is 5 s by default), then reads S and
//   the rows: exact (no gap, no duplicate), at the price of blocking writers to those tables meanwhile.
//
// Positions: `sqlserver:<S>:00000000:00000000:0000:<row number in its table>`; an interrupted
// snapshot is redone from scratch on the next start (as Debezium does).
import { EddyError } from '../../../../shared/contract.js';
import type { NewEvent } from '../../../../shared/events.js';
import type { CapturedTable } from './catalog.js';
import { changeEvent, InstanceMapper, streamName, type EnvelopeSettings, type SnapshotMarker } from './envelope.js';
import { param, type SqlExecutor, type SqlQueryable, type SqlRow } from './executor.js';
import { tableKey } from './identifiers.js';
import { compareLsn, isZeroLsn, lsnFromBuffer, lsnToText, ZERO_LSN, type Lsn } from './lsn.js';
import { CAPTURE_CAUGHT_UP, MAX_LSN, snapshotLockQuery, snapshotRowsQuery } from './queries.js';

export type SnapshotIsolation = 'snapshot' | 'tablock';

export interface SnapshotOptions {
  settings: EnvelopeSettings;
  tables: CapturedTable[];
  isolation: SnapshotIsolation;
  batchSize?: number;
  /** How long `tablock` waits for the capture job to harvest what was committed before the locks. */
  catchUpTimeoutMs?: number;
  signal?: AbortSignal;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Hands a batch to the log; the next rows are read only when it resolves. */
  onBatch: (events: NewEvent[], progress: { table: string; rows: number; total: number }) => Promise<void>;
}

export interface SnapshotResult {
  lsn: Lsn;
  rows: number;
  tables: { table: string; rows: number }[];
  warnings: string[];
}

export function snapshotPosition(lsn: Lsn, row: number): string {
  return `sqlserver:${lsnToText(lsn)}:${lsnToText(ZERO_LSN)}:${row}`;
}

async function waitForCaptureJob(tx: SqlQueryable, since: Date, timeoutMs: number, sleep: (ms: number) => Promise<void>, signal?: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await tx.query(CAPTURE_CAUGHT_UP, { since: param.datetime2(since) });
    if (Number(row?.caught_up) === 1) return true;
    if (Date.now() >= deadline || signal?.aborted) return false;
    await sleep(500);
  }
}

export async function runSnapshot(db: SqlExecutor, options: SnapshotOptions): Promise<SnapshotResult> {
  const batchSize = options.batchSize ?? 2000;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const warnings: string[] = [];
  const tablock = options.isolation === 'tablock';
  try {
    return await db.transaction(tablock ? 'read-committed' : 'snapshot', async (tx) => {
      if (tablock) {
        for (const table of options.tables) await tx.query(snapshotLockQuery(table.schema, table.table));
        const [clock] = await tx.query(MAX_LSN);
        const lockedAt = clock?.server_local_now instanceof Date ? clock.server_local_now : new Date();
        const caughtUp = await waitForCaptureJob(tx, lockedAt, options.catchUpTimeoutMs ?? 30_000, sleep, options.signal);
        if (!caughtUp) {
          warnings.push(
            'The CDC capture job did not confirm it had harvested every change committed before the table locks; a change committed just before the snapshot may also appear as a change event.',
          );
        }
      }
      const [head] = await tx.query(MAX_LSN);
      const lsn = lsnFromBuffer(head?.max_lsn);
      if (isZeroLsn(lsn)) {
        throw new EddyError('UNAVAILABLE', 'CDC has not recorded any LSN in this database yet, so there is no point to stream from after a snapshot. Is the SQL Server Agent (the capture job) running?');
      }
      const commitText = lsnToText(lsn!);
      const snapshotTime = head?.server_utc_now instanceof Date ? head.server_utc_now.getTime() : now();
      const processedAt = now();
      const counts: { table: string; rows: number }[] = [];
      let total = 0;
      for (let tableIndex = 0; tableIndex < options.tables.length; tableIndex++) {
        const table = options.tables[tableIndex]!;
        // The instance that describes the table at S: its columns are the ones streaming uses next.
        let instance = table.instances[0]!;
        for (const candidate of table.instances) if (compareLsn(candidate.startLsn, lsn!) <= 0) instance = candidate;
        const stream = streamName(options.settings, table);
        const mapper = new InstanceMapper(table, instance, stream);
        const readable = instance.columns.filter((column) => column.inSource);
        if (readable.length === 0) throw new EddyError('VALIDATION', `${tableKey(table)} has no captured column left in the source table.`);
        const orderBy = mapper.keyColumns.every((name) => readable.some((column) => column.name === name)) ? mapper.keyColumns : [];
        const text = snapshotRowsQuery(
          table.schema,
          table.table,
          readable.map((column) => ({ name: column.name, asText: column.asText })),
          orderBy,
          tablock,
        );
        const isLastTable = tableIndex === options.tables.length - 1;
        let rowNumber = 0;
        let held: SqlRow | undefined;
        const toEvent = (raw: SqlRow, last: boolean): NewEvent => {
          rowNumber++;
          const firstOverall = total === 0 && rowNumber === 1;
          let marker: SnapshotMarker = 'true';
          if (firstOverall) marker = 'first';
          else if (rowNumber === 1) marker = 'first_in_data_collection';
          if (last) marker = isLastTable ? 'last' : 'last_in_data_collection';
          const after = mapper.row(raw);
          return changeEvent({
            settings: options.settings,
            table,
            stream,
            op: 'r',
            key: mapper.key(after),
            before: null,
            after,
            position: null,
            logPosition: snapshotPosition(lsn!, rowNumber),
            commitText,
            changeText: null,
            eventTime: snapshotTime,
            processedAt,
            snapshot: marker,
            transaction: null,
          });
        };
        // One row is held back so the table's last row can carry its `last…` marker.
        await tx.stream(text, {}, batchSize, async (rows) => {
          if (options.signal?.aborted) throw new EddyError('CANCELLED', 'The snapshot was cancelled.');
          const events: NewEvent[] = [];
          for (const row of rows) {
            if (held) events.push(toEvent(held, false));
            held = row;
          }
          if (events.length > 0) await options.onBatch(events, { table: tableKey(table), rows: rowNumber, total: total + rowNumber });
        });
        if (held) await options.onBatch([toEvent(held, true)], { table: tableKey(table), rows: rowNumber, total: total + rowNumber });
        counts.push({ table: tableKey(table), rows: rowNumber });
        total += rowNumber;
      }
      return { lsn: lsn!, rows: total, tables: counts, warnings };
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/snapshot isolation/i.test(message) && /not allowed|3952/i.test(message)) {
      throw new EddyError(
        'VALIDATION',
        'Snapshot isolation is not allowed in this database. Run ALTER DATABASE … SET ALLOW_SNAPSHOT_ISOLATION ON, or choose the "tablock" snapshot (it blocks writers to the captured tables while it reads).',
      );
    }
    throw error;
  }
}
