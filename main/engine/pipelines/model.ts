// The pipeline engine's model (DESIGN.md 6): Source (read a batch, ack it), Operator, Sink (write a
// batch with its checkpoint id, ack), the keyed StateStore and the CheckpointStore, as ports. The
// runner (runner.ts) only sees these interfaces, so the same core runs in the app over the event
// log and in the exported production runner over Kafka consumer groups with state in compacted
// changelog topics (issue 8): a checkpoint's state delta is exactly a batch of changelog records.
import type { JsonValue, Header, Op } from '../../../shared/events.js';

/** One record flowing through a pipeline: the event model of shared/events.ts. */
export interface PipelineEvent {
  stream: string;
  position: string;
  key: JsonValue | null;
  value: JsonValue | null;
  headers: Header[];
  op?: Op | undefined;
  eventTime: number;
  ingestTime: number;
  valueBytes?: string | undefined;
  decodeError?: string | undefined;
}

/** Where a record came from: the source record that caused it (dead letters and sinks carry it). */
export interface Origin {
  source: string;
  stream: string;
  position: string;
  /** Log sequence number when the source is the event log. */
  seq?: number | undefined;
}

/**
 * A record inside the runner. `order` is the index of the source record in its epoch chunk that
 * caused it; merging a stage's inputs by it keeps "as if one record at a time" order while stages
 * work on whole batches. `lineage` names the stage outputs that led here (deterministic, so a
 * replayed record produces the same sink positions and a log sink stores it once).
 */
export interface Envelope {
  event: PipelineEvent;
  origin: Origin;
  order: number;
  lineage: string;
}

/** A source's resume point, opaque to the runner (`{seq}` for the log, offsets for Kafka). */
export type SourcePosition = JsonValue;

export interface SourceRead {
  events: { event: PipelineEvent; origin: Origin }[];
}

export interface Source {
  readonly id: string;
  /** Resume after `position` (undefined: the source's configured start). */
  open(position: SourcePosition | undefined): Promise<void>;
  /** Up to `max` records available now, never past `until` when given; [] when none. */
  read(max: number, until?: SourcePosition): Promise<SourceRead>;
  /** Resolves when data may be available, after `ms`, or when the signal aborts. */
  wait(ms: number, signal: AbortSignal): Promise<void>;
  /** The position after the last record handed out by `read`. */
  position(): SourcePosition | undefined;
  /** True when `position()` has reached `until`. */
  reached(until: SourcePosition): boolean;
  /** Bounded sources (replays, fixtures): true once everything has been read. */
  exhausted(): boolean;
  /** After a checkpoint: the source may release everything up to here (commit Kafka offsets). */
  ack(position: SourcePosition): Promise<void>;
  /** Records known to exist but not read yet (null when unknown). */
  lag(): Promise<number | null>;
  close(): Promise<void>;
}

/** A stage failure, per record, with the script's line when it knows it. */
export interface StageError {
  name: string;
  message: string;
  line?: number | undefined;
  column?: number | undefined;
  stack?: string | undefined;
  /** Not the record's fault (the sandbox worker was restarted): retried longer before dead-lettering. */
  transient?: boolean | undefined;
}

export interface DeadLetter {
  pipeline: string;
  stage: string;
  error: StageError;
  attempts: number;
  origin: Origin;
  /** Stage outputs that led to the failing record (one source record may fan out). */
  lineage?: string | undefined;
  input: PipelineEvent;
  at: number;
}

/** Keyed state, namespaced per stage: the runner gives each epoch an overlay over it. */
export interface StateView {
  get(namespace: string, key: string): JsonValue | undefined;
  put(namespace: string, key: string, value: JsonValue): void;
  delete(namespace: string, key: string): void;
  /** Keys of a namespace, in ascending order. */
  keys(namespace: string): string[];
}

/** A state change; `value: null` deletes. In the exported runner, one changelog record. */
export interface StateWrite {
  namespace: string;
  key: string;
  value: JsonValue | null;
}

export interface Checkpoint {
  id: number;
  /** Identifies a lineage of checkpoints: a new run (fresh state) gets a new one. */
  runId: string;
  at: number;
  positions: Record<string, SourcePosition>;
  /** Counters carried across restarts (records in, dead letters, outputs per sink). */
  counters: Record<string, number>;
}

/** Written before sinks commit an epoch, so a restart can re-form exactly that epoch. */
export interface PendingEpoch {
  id: number;
  runId: string;
  end: Record<string, SourcePosition>;
}

export interface RestoredCheckpoint {
  checkpoint: Checkpoint | undefined;
  pending: PendingEpoch | undefined;
  state: Map<string, Map<string, JsonValue>>;
}

/**
 * Durable checkpoints: state, positions and counters commit together, atomically. The app keeps
 * them in a checksummed journal under the workspace; the exported runner in Kafka.
 */
export interface CheckpointStore {
  load(): Promise<RestoredCheckpoint>;
  prepare(pending: PendingEpoch): Promise<void>;
  commit(checkpoint: Checkpoint, writes: StateWrite[]): Promise<void>;
  /** Forget everything (a replay from the beginning starts a new lineage). */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** As-of lookups into tables materialized from CDC streams. */
export interface TableLookup {
  /** The row for `key` as it was at `time`; null when deleted or not yet created; undefined: unknown table. */
  asOf(table: string, key: JsonValue, time: number): JsonValue | null | undefined;
}

export interface Tables extends TableLookup {
  /** Catch up with the tables' sources (before each chunk in live mode). */
  sync(): Promise<void>;
  /** Rows and versions held, for the UI. */
  stats(): { table: string; keys: number; versions: number }[];
  close(): Promise<void>;
}

/** What the runner gives every operator for one batch. */
export interface OperatorContext {
  pipeline: string;
  state: StateView;
  tables: TableLookup;
  /** Processing time, controlled by tests. */
  now(): number;
  retry: RetryPolicy;
  signal: AbortSignal;
  /** Step-through: operators report what they read and wrote. */
  trace?: ((note: TraceNote) => void) | undefined;
  log(level: 'info' | 'warn' | 'error', message: string): void;
}

export interface TraceNote {
  stage: string;
  kind: 'state-read' | 'state-write' | 'lookup' | 'log' | 'watermark';
  detail: JsonValue;
}

export interface RetryPolicy {
  maxAttempts: number;
  backoffMs: number;
  maxBackoffMs: number;
}

export interface OperatorResult {
  /** Outputs on the main port, in input order. */
  outputs: Envelope[];
  /** Window stages: events too late for their window (`<stage>.late`). */
  late?: Envelope[];
  deadLetters: { envelope: Envelope; error: StageError; attempts: number }[];
}

export interface Operator {
  readonly id: string;
  readonly kind: string;
  process(inputs: Envelope[], context: OperatorContext): Promise<OperatorResult>;
  /** End of a bounded input: close every window (the watermark jumps to the end of time). */
  finish?(context: OperatorContext): Promise<OperatorResult>;
  /** Window stages: the current watermark (for metrics). */
  watermark?(context: OperatorContext): number | null;
  close?(): Promise<void>;
}

export class StageFailure extends Error {
  constructor(
    readonly stageError: StageError,
    readonly transient = false,
  ) {
    super(stageError.message);
    this.name = 'StageFailure';
  }
}

export function stageErrorOf(error: unknown): StageError {
  if (error instanceof StageFailure) return error.stageError;
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: 'Error', message: String(error) };
}

export function backoffMs(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** Math.max(0, attempt - 1));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
