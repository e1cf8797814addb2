// The sink port of the pipeline engine: write one epoch's records together with the epoch's
// checkpoint id, atomically, and say on open which checkpoint id it already holds. That id is the
// sink's progress: after a crash between a sink's commit and the engine's checkpoint, the runner
// re-forms the same epoch and the sink skips it, so even an appending sink writes exactly once.
// Keyed upserts (PostgreSQL, SQL Server MERGE, the warehouse) are idempotent besides.
import type { JsonValue } from '../../../shared/events.js';
import type { Origin, PipelineEvent } from '../pipelines/model.js';

export interface SinkRecord {
  event: PipelineEvent;
  origin: Origin;
  /** Stage outputs that led here; with the origin it makes a deterministic identity. */
  lineage: string;
}

export interface SinkLineage {
  pipeline: string;
  /** A run's lineage id: progress stored under another run id does not count. */
  runId: string;
}

export interface SinkCommitResult {
  /** Records the destination refused for their content (constraint, type): dead-lettered. */
  rejected: { index: number; message: string }[];
}

export interface Sink {
  readonly id: string;
  readonly kind: string;
  /**
   * Writing a record again leaves the destination as it was (keyed upserts, position-deduplicated
   * streams). When every sink is, the runner skips recording each epoch's boundaries before the
   * sinks commit (one sync less per epoch): a re-formed epoch may then differ in its cut, not in
   * what the destinations end up holding.
   */
  readonly idempotent?: boolean;
  /** The sink keeps nothing (the null sink): the runner only counts its records instead of holding an epoch of them. */
  readonly discards?: boolean;
  /** Connects, prepares the progress table; returns the checkpoint id committed for this lineage (0: none). */
  open(lineage: SinkLineage): Promise<number>;
  /**
   * Writes the records and records `checkpoint` as the sink's progress in the same transaction. A
   * checkpoint id at or below the stored progress is skipped (already written).
   */
  commit(checkpoint: number, records: SinkRecord[]): Promise<SinkCommitResult>;
  close(): Promise<void>;
}

/** Thrown by sinks for failures worth retrying as they are (connection lost, server restarting). */
export class TransientSinkError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientSinkError';
  }
}

/** Sinks that need the records' identity use it: `<pipeline>/<sink>/<origin position>/<lineage>`. */
export function recordIdentity(sinkId: string, pipeline: string, record: SinkRecord): string {
  return `${pipeline}/${sinkId}/${record.origin.position}/${record.lineage}`;
}

export type Row = Record<string, JsonValue>;
