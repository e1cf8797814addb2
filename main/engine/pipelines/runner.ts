// The pipeline runner: a loop of epochs. Each epoch reads at most `checkpoint.maxRecords` source
// records (or what arrives within `checkpoint.interval`), runs them through the stages, then:
//
//   1. records the epoch's end positions (prepare), so a restart can re-form exactly this epoch;
//   2. writes the dead letters durably (before any position is committed);
//   3. has every sink commit the epoch's records with the epoch id as its progress, atomically;
//   4. commits the checkpoint: source positions + the epoch's state changes + counters, atomically;
//   5. acks the sources (Kafka offsets), which may now release what the checkpoint covers.
//
// A crash anywhere replays from the last checkpoint with the state it had; sinks that already
// hold the re-formed epoch skip it, keyed upserts are idempotent anyway. Reading stops while a
// sink writes, so a slow sink holds the sources back instead of filling memory (backpressure):
// at most one epoch of records is ever in flight.
import { randomUUID } from 'node:crypto';
import { durationMs, type PipelineSpec } from '../../../shared/pipeline-spec.js';
import type { JsonValue } from '../../../shared/events.js';
import type { Sink, SinkCommitResult, SinkRecord } from '../sinks/sink.js';
import { TransientSinkError } from '../sinks/sink.js';
import { StageGraph, type DagDeadLetter } from './dag.js';
import { RunMetrics } from './metrics.js';
import {
  sleep,
  type Checkpoint,
  type CheckpointStore,
  type DeadLetter,
  type Envelope,
  type Operator,
  type OperatorContext,
  type Origin,
  type RestoredCheckpoint,
  type RetryPolicy,
  type Source,
  type SourcePosition,
  type Tables,
} from './model.js';
import { CommittedState, StateOverlay } from './state.js';

export interface DeadLetterSink {
  /** Durable before it resolves; writing the same letter twice stores it once. */
  write(letters: DeadLetter[]): Promise<void>;
}

export type RunnerState = 'starting' | 'running' | 'paused' | 'stopping' | 'stopped' | 'completed' | 'failed';

export interface RunnerHooks {
  /** Crash tests: called after the sinks committed epoch `id`, before its checkpoint. */
  afterSinks?(id: number): Promise<void> | void;
  afterCheckpoint?(checkpoint: Checkpoint): Promise<void> | void;
}

export interface RunnerOptions {
  spec: PipelineSpec;
  sources: Source[];
  operators: Map<string, Operator>;
  sinks: Sink[];
  tables: Tables;
  checkpoints: CheckpointStore;
  deadLetters: DeadLetterSink;
  /** Stop once every source is exhausted (replays, tests) instead of waiting for more. */
  bounded: boolean;
  /** Replay warm-up: records whose origin fails this only build state; their outputs are dropped. */
  emitFrom?: (origin: Origin) => boolean;
  /** Processing time (scripts' `now()`), controlled by tests. */
  clock?: () => number;
  onState?: (state: RunnerState, reason: string | null) => void;
  onCheckpoint?: (checkpoint: Checkpoint) => void;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  hooks?: RunnerHooks;
  /** Already loaded from `checkpoints` (the caller needed the state to open script sessions). */
  restored?: RestoredCheckpoint;
  /** Sees every node's output of every chunk (pipeline tests read side outputs with it). */
  observe?: (nodes: Map<string, Envelope[]>) => void;
  /** Overrides of the spec's checkpoint settings (tests). */
  maxRecords?: number;
  intervalMs?: number;
}

export interface RunOutcome {
  state: 'completed' | 'stopped' | 'failed';
  reason: string | null;
  checkpoint: Checkpoint | undefined;
}

const READ_CHUNK = 1000;
const LAG_EVERY_MS = 1000;
const LINGER_MS = 200;

function positionText(position: SourcePosition | undefined): string {
  if (position === undefined) return '';
  return typeof position === 'string' ? position : JSON.stringify(position);
}

export class PipelineRunner {
  readonly metrics: RunMetrics;
  readonly graph: StageGraph;
  private state: CommittedState = new CommittedState();
  private checkpoint: Checkpoint | undefined;
  private runId: string;
  private paused = false;
  private resumeWaiters: (() => void)[] = [];
  private current: RunnerState = 'starting';
  private reason: string | null = null;
  private lastLagAt = 0;
  private readonly retry: RetryPolicy;
  private readonly clock: () => number;
  private readonly maxRecords: number;
  private readonly intervalMs: number;

  constructor(private readonly options: RunnerOptions) {
    this.graph = new StageGraph(options.spec, options.operators);
    this.runId = randomUUID();
    this.clock = options.clock ?? Date.now;
    this.retry = {
      maxAttempts: options.spec.retries.maxAttempts,
      backoffMs: durationMs(options.spec.retries.backoff),
      maxBackoffMs: durationMs(options.spec.retries.maxBackoff),
    };
    this.maxRecords = options.maxRecords ?? options.spec.checkpoint.maxRecords;
    this.intervalMs = options.intervalMs ?? durationMs(options.spec.checkpoint.interval);
    this.metrics = new RunMetrics(
      options.spec.name,
      this.runId,
      this.graph.order.map((stage) => ({ id: stage.id, kind: stage.operator.kind, counters: this.graph.counters.get(stage.id)! })),
    );
    for (const sink of options.sinks) this.metrics.sinks.set(sink.id, { kind: sink.kind, written: 0, rejected: 0, lastCommitMs: 0, commits: 0 });
  }

  get status(): { state: RunnerState; reason: string | null; checkpoint: Checkpoint | undefined; runId: string } {
    return { state: this.current, reason: this.reason, checkpoint: this.checkpoint, runId: this.runId };
  }

  /** The committed state (what the last checkpoint holds), for the UI and tests. */
  committedState(): CommittedState {
    return this.state;
  }

  pause(): void {
    if (this.current !== 'running') return;
    this.paused = true;
    this.setState('paused', null);
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    for (const wake of this.resumeWaiters.splice(0)) wake();
    this.setState('running', null);
  }

  /** Runs until the signal aborts (a graceful stop after the current epoch), a bounded input ends, or a failure. */
  async run(signal: AbortSignal): Promise<RunOutcome> {
    const wakeOnAbort = (): void => {
      for (const wake of this.resumeWaiters.splice(0)) wake();
    };
    signal.addEventListener('abort', wakeOnAbort, { once: true });
    try {
      const restored = this.options.restored ?? (await this.options.checkpoints.load());
      this.checkpoint = restored.checkpoint;
      if (restored.checkpoint) this.runId = restored.checkpoint.runId;
      this.metrics.runId = this.runId;
      this.state = new CommittedState(restored.state);
      this.metrics.restoredRecords = restored.checkpoint?.counters.recordsIn ?? 0;
      this.metrics.restoredDeadLetters = restored.checkpoint?.counters.deadLetters ?? 0;
      for (const source of this.options.sources) await source.open(restored.checkpoint?.positions[source.id]);
      const lineage = { pipeline: this.options.spec.name, runId: this.runId };
      const sinkProgress = new Map<string, number>();
      for (const sink of this.options.sinks) sinkProgress.set(sink.id, await this.withSinkRetries(sink, 'open', () => sink.open(lineage), signal));
      await this.options.tables.sync();
      this.setState(this.paused ? 'paused' : 'running', null);

      let pending = restored.pending;
      if (pending) this.options.log?.('info', `Re-forming epoch ${pending.id} after a restart (it was prepared but not checkpointed).`);
      let nextId = (restored.checkpoint?.id ?? 0) + 1;
      for (;;) {
        if (signal.aborted) return this.finish('stopped', null);
        if (this.paused) {
          await new Promise<void>((resolve) => this.resumeWaiters.push(resolve));
          continue;
        }
        const until = pending?.end;
        const outcome = await this.epoch(nextId, signal, until);
        pending = undefined;
        if (outcome === 'committed') nextId++;
        if (outcome === 'exhausted') return this.finish('completed', null);
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.options.log?.('error', `Pipeline ${this.options.spec.name} failed: ${message}`);
      return this.finish('failed', message);
    } finally {
      signal.removeEventListener('abort', wakeOnAbort);
      for (const operator of this.options.operators.values()) await operator.close?.().catch(() => undefined);
      for (const sink of this.options.sinks) await sink.close().catch(() => undefined);
      for (const source of this.options.sources) await source.close().catch(() => undefined);
      await this.options.tables.close().catch(() => undefined);
      await this.options.checkpoints.close().catch(() => undefined);
    }
  }

  private finish(state: 'completed' | 'stopped' | 'failed', reason: string | null): RunOutcome {
    this.setState(state, reason);
    return { state, reason, checkpoint: this.checkpoint };
  }

  private setState(state: RunnerState, reason: string | null): void {
    if (this.current === state && this.reason === reason) return;
    this.current = state;
    this.reason = reason;
    this.options.onState?.(state, reason);
  }

  private context(overlay: StateOverlay, signal: AbortSignal): OperatorContext {
    return {
      pipeline: this.options.spec.name,
      state: overlay,
      tables: this.options.tables,
      now: this.clock,
      retry: this.retry,
      signal,
      log: (level, message) => this.options.log?.(level, message),
    };
  }

  /**
   * One epoch. `until`: re-form a prepared epoch exactly (after a crash). Returns 'committed',
   * 'idle' (nothing arrived), or 'exhausted' (bounded input finished and its last epoch committed).
   */
  private async epoch(id: number, signal: AbortSignal, until: Record<string, SourcePosition> | undefined): Promise<'committed' | 'idle' | 'exhausted'> {
    const overlay = new StateOverlay(this.state);
    const context = this.context(overlay, signal);
    const buffers = new Map<string, Envelope[]>(this.options.sinks.map((sink) => [sink.id, []]));
    // Sinks that keep nothing get a count, not an epoch of records held in memory.
    const discarding = new Set(this.options.sinks.filter((sink) => sink.discards === true).map((sink) => sink.id));
    const discarded = new Map<string, number>();
    const letters: DagDeadLetter[] = [];
    const started = this.clock();
    const wallStarted = Date.now();
    let count = 0;
    let exhausted = false;
    let idleSince = Date.now();
    const emits = this.options.emitFrom;

    const collect = (result: { sinks: Map<string, Envelope[]>; deadLetters: DagDeadLetter[]; nodes: Map<string, Envelope[]> }): void => {
      this.options.observe?.(result.nodes);
      for (const [sinkId, envelopes] of result.sinks) {
        if (discarding.has(sinkId)) {
          for (const envelope of envelopes) if (!emits || emits(envelope.origin)) discarded.set(sinkId, (discarded.get(sinkId) ?? 0) + 1);
          continue;
        }
        const buffer = buffers.get(sinkId)!;
        for (const envelope of envelopes) if (!emits || emits(envelope.origin)) buffer.push(envelope);
      }
      for (const letter of result.deadLetters) if (!emits || emits(letter.envelope.origin)) letters.push(letter);
    };

    for (;;) {
      const reachedAll = until !== undefined && this.options.sources.every((source) => until[source.id] === undefined || source.reached(until[source.id]!));
      if (reachedAll) break;
      if (until === undefined) {
        if (count >= this.maxRecords) break;
        if (count > 0 && this.clock() - started >= this.intervalMs) break;
        if (signal.aborted || this.paused) break;
      }
      if (this.options.tables.stats().length > 0) await this.options.tables.sync();
      const chunk = new Map<string, Envelope[]>();
      let read = 0;
      for (const source of this.options.sources) {
        const max = until ? READ_CHUNK : Math.min(READ_CHUNK, this.maxRecords - count - read);
        if (max <= 0) break;
        const batch = await source.read(max, until?.[source.id]);
        for (const { event, origin } of batch.events) {
          if (!admitSourceRecord({ event, origin, order: read++, lineage: origin.source }, chunk, letters)) continue;
          if (this.metrics.lastEventTime === null || event.eventTime > this.metrics.lastEventTime) this.metrics.lastEventTime = event.eventTime;
        }
        this.metrics.sourcePosition.set(source.id, positionText(source.position()));
      }
      if (read > 0) {
        idleSince = Date.now();
        count += read;
        this.metrics.recordsIn += read;
        this.metrics.lastProcessedAt = Date.now();
        collect(await this.graph.run(chunk, context));
        this.noteWatermarks(context);
        continue;
      }
      if (this.options.bounded && this.options.sources.every((source) => source.exhausted())) {
        exhausted = true;
        break;
      }
      if (until && Date.now() - idleSince > 30_000) {
        this.options.log?.('warn', `Could not re-read the whole prepared epoch ${id} (its records are gone from the source); continuing with what was read.`);
        break;
      }
      if (count > 0 && this.clock() - started >= this.intervalMs) break;
      // Nothing more right now: under light load an epoch lingers briefly, then commits, so
      // records are not held back for a whole checkpoint interval.
      if (count > 0 && until === undefined && Date.now() - wallStarted >= Math.min(this.intervalMs, LINGER_MS)) break;
      if (signal.aborted || this.paused) break;
      await this.waitForData(Math.max(10, Math.min(count > 0 ? LINGER_MS : this.intervalMs, this.intervalMs - (this.clock() - started))), signal);
      await this.sampleLag();
    }
    if (exhausted) {
      // End of a bounded input: close every window so its results are written.
      collect(await this.graph.run(new Map(), context, true));
    }
    await this.sampleLag();
    if (count === 0 && !overlay.dirty && letters.length === 0 && discarded.size === 0 && [...buffers.values()].every((buffer) => buffer.length === 0)) {
      return exhausted ? 'exhausted' : 'idle';
    }
    await this.commitEpoch(id, overlay, buffers, letters, signal, discarded);
    return exhausted ? 'exhausted' : 'committed';
  }

  private async commitEpoch(id: number, overlay: StateOverlay, buffers: Map<string, Envelope[]>, letters: DagDeadLetter[], signal: AbortSignal, discarded = new Map<string, number>()): Promise<void> {
    const started = Date.now();
    const positions: Record<string, SourcePosition> = { ...(this.checkpoint?.positions ?? {}) };
    for (const source of this.options.sources) {
      const position = source.position();
      if (position !== undefined) positions[source.id] = position;
    }
    if (!this.options.sinks.every((sink) => sink.idempotent === true)) await this.options.checkpoints.prepare({ id, runId: this.runId, end: positions });
    const pipeline = this.options.spec.name;
    const now = Date.now();
    const deadLetters: DeadLetter[] = letters.map((letter) => ({
      pipeline,
      stage: letter.stage,
      error: letter.error,
      attempts: letter.attempts,
      origin: letter.envelope.origin,
      lineage: letter.envelope.lineage,
      input: letter.envelope.event,
      at: now,
    }));
    if (deadLetters.length > 0) await this.options.deadLetters.write(deadLetters);
    this.metrics.deadLetters += deadLetters.length;
    for (const sink of this.options.sinks) {
      const envelopes = buffers.get(sink.id) ?? [];
      // An envelope is a sink record (event, origin, lineage): handed over as it is, no copy.
      const records: SinkRecord[] = envelopes;
      const commitStarted = Date.now();
      const result = await this.commitSink(sink, id, records, signal);
      const counters = this.metrics.sinks.get(sink.id)!;
      counters.written += records.length - result.rejected.length + (discarded.get(sink.id) ?? 0);
      counters.rejected += result.rejected.length;
      counters.lastCommitMs = Date.now() - commitStarted;
      counters.commits++;
      if (result.rejected.length > 0) {
        const rejected: DeadLetter[] = result.rejected.map(({ index, message }) => ({
          pipeline,
          stage: sink.id,
          error: { name: 'SinkRejected', message },
          attempts: 1,
          origin: records[index]!.origin,
          lineage: records[index]!.lineage,
          input: records[index]!.event,
          at: Date.now(),
        }));
        await this.options.deadLetters.write(rejected);
        this.metrics.deadLetters += rejected.length;
      }
    }
    await this.options.hooks?.afterSinks?.(id);
    const checkpoint: Checkpoint = {
      id,
      runId: this.runId,
      at: Date.now(),
      positions,
      counters: {
        recordsIn: this.metrics.restoredRecords + this.metrics.recordsIn,
        deadLetters: this.metrics.restoredDeadLetters + this.metrics.deadLetters,
      },
    };
    const writes = overlay.writes();
    await this.options.checkpoints.commit(checkpoint, writes);
    this.state.apply(writes);
    this.checkpoint = checkpoint;
    this.metrics.checkpoints++;
    this.metrics.lastCheckpointId = id;
    this.metrics.lastCheckpointAt = checkpoint.at;
    this.metrics.lastCheckpointMs = Date.now() - started;
    this.options.onCheckpoint?.(checkpoint);
    await this.options.hooks?.afterCheckpoint?.(checkpoint);
    for (const source of this.options.sources) {
      const position = positions[source.id];
      if (position !== undefined) await source.ack(position).catch((error: unknown) => this.options.log?.('warn', `Could not ack ${source.id}: ${(error as Error).message}`));
    }
  }

  /** Transient failures are retried until the sink is back (the pipeline waits, state says why); others fail the run. */
  private commitSink(sink: Sink, id: number, records: SinkRecord[], signal: AbortSignal): Promise<SinkCommitResult> {
    return this.withSinkRetries(sink, 'commit', () => sink.commit(id, records), signal);
  }

  private async withSinkRetries<T>(sink: Sink, what: string, work: () => Promise<T>, signal: AbortSignal): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await work();
        if (attempt > 1) this.setState(this.paused ? 'paused' : 'running', null);
        return result;
      } catch (error) {
        const transient = error instanceof TransientSinkError;
        const message = error instanceof Error ? error.message : String(error);
        if (!transient && attempt >= this.retry.maxAttempts) throw new Error(`Sink "${sink.id}" failed (${what}): ${message}`, { cause: error });
        if (signal.aborted) throw new Error(`Stopped while sink "${sink.id}" was failing: ${message}`);
        this.setState(this.current === 'paused' ? 'paused' : 'running', `Sink "${sink.id}" ${transient ? 'unavailable' : 'failed'} (attempt ${attempt}), retrying: ${message}`);
        this.options.log?.('warn', `Sink ${sink.id} ${what} attempt ${attempt} failed: ${message}`);
        await sleep(Math.min(Math.max(this.retry.maxBackoffMs, 1000), Math.max(1, this.retry.backoffMs) * 2 ** Math.min(attempt, 10)), signal);
      }
    }
  }

  private noteWatermarks(context: OperatorContext): void {
    for (const stage of this.graph.order) {
      if (stage.operator.watermark) this.metrics.watermarks.set(stage.id, stage.operator.watermark(context));
    }
  }

  private async waitForData(ms: number, signal: AbortSignal): Promise<void> {
    const controller = new AbortController();
    const abort = (): void => controller.abort();
    signal.addEventListener('abort', abort, { once: true });
    const wake = (): void => controller.abort();
    this.resumeWaiters.push(wake);
    try {
      await Promise.race(this.options.sources.map((source) => source.wait(ms, controller.signal)));
    } finally {
      controller.abort();
      signal.removeEventListener('abort', abort);
      const index = this.resumeWaiters.indexOf(wake);
      if (index >= 0) this.resumeWaiters.splice(index, 1);
    }
  }

  private async sampleLag(): Promise<void> {
    if (Date.now() - this.lastLagAt < LAG_EVERY_MS) return;
    this.lastLagAt = Date.now();
    for (const source of this.options.sources) {
      this.metrics.sourceLag.set(source.id, await source.lag().catch(() => null));
      this.metrics.sourcePosition.set(source.id, positionText(source.position()));
    }
  }
}

/**
 * A source record into its source's stage input, or, when no stage can use it (undecodable at the
 * source), into the dead letters of `source:<id>`. The app's runner and the exported runner share
 * it. Returns whether the record went to the stages.
 */
export function admitSourceRecord(envelope: Envelope, chunk: Map<string, Envelope[]>, letters: DagDeadLetter[]): boolean {
  const { event, origin } = envelope;
  if (isUndecodable(event)) {
    letters.push({ stage: `source:${origin.source}`, envelope, error: { name: 'DecodeError', message: event.decodeError ?? 'undecodable value' }, attempts: 1 });
    return false;
  }
  let list = chunk.get(origin.source);
  if (!list) chunk.set(origin.source, (list = []));
  list.push(envelope);
  return true;
}

/**
 * A record no stage can use: its value was not decoded (kept only as bytes, or too big to store).
 * Capture notes on records that did decode (text values, big integers, header notes) are kept.
 */
export function isUndecodable(event: { value: JsonValue | null; valueBytes?: string | undefined; decodeError?: string | undefined }): boolean {
  if (event.decodeError === undefined || event.value !== null) return false;
  return event.valueBytes !== undefined || /invalid json|size limit|not stored/i.test(event.decodeError);
}

/** For status lines and the UI. */
export function describePositions(positions: Record<string, JsonValue>): string {
  return Object.entries(positions)
    .map(([id, position]) => `${id}@${positionText(position)}`)
    .join(', ');
}
