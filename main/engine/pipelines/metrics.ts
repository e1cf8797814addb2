// Live numbers of one pipeline run: counters the runner bumps, turned into rates and a snapshot
// at most a few times a second (the UI redraws at most 10 times a second, DESIGN.md 7 / G14).
import type { PipelineMetrics } from '../../../shared/contracts/pipelines.js';
import type { StageCounters } from './dag.js';

export interface SinkCounters {
  kind: string;
  written: number;
  rejected: number;
  lastCommitMs: number;
  commits: number;
}

export class RunMetrics {
  recordsIn = 0;
  deadLetters = 0;
  checkpoints = 0;
  lastCheckpointId = 0;
  lastCheckpointAt: number | null = null;
  lastCheckpointMs = 0;
  lastEventTime: number | null = null;
  lastProcessedAt: number | null = null;
  /** Kept from the checkpoint so restarts do not zero what the user saw. */
  restoredRecords = 0;
  restoredDeadLetters = 0;
  readonly sinks = new Map<string, SinkCounters>();
  readonly sourceLag = new Map<string, number | null>();
  readonly sourcePosition = new Map<string, string>();
  readonly watermarks = new Map<string, number | null>();

  private previous: { at: number; recordsIn: number; stages: Map<string, number>; sinks: Map<string, number> } | undefined;

  constructor(
    readonly pipeline: string,
    public runId: string,
    private readonly stages: { id: string; kind: string; counters: StageCounters }[],
    private readonly clock: () => number = Date.now,
  ) {}

  snapshot(): PipelineMetrics {
    const at = this.clock();
    const previous = this.previous;
    const seconds = previous ? Math.max(0.001, (at - previous.at) / 1000) : 0;
    const rate = (now: number, before: number | undefined): number => (previous && before !== undefined ? Math.max(0, (now - before) / seconds) : 0);
    const watermarkValues = [...this.watermarks.values()].filter((value): value is number => value !== null && Number.isFinite(value));
    const metrics: PipelineMetrics = {
      pipeline: this.pipeline,
      runId: this.runId,
      at,
      records: { in: this.restoredRecords + this.recordsIn, deadLetters: this.restoredDeadLetters + this.deadLetters },
      inRate: rate(this.recordsIn, previous?.recordsIn),
      stages: this.stages.map(({ id, kind, counters }) => ({
        id,
        kind,
        in: counters.in,
        out: counters.out,
        late: counters.late,
        deadLetters: counters.deadLetters,
        throughput: rate(counters.in, previous?.stages.get(id)),
        latencyMs: counters.lastLatencyMs,
        watermark: this.watermarks.get(id) ?? null,
      })),
      sources: [...this.sourcePosition.keys()].map((id) => ({ id, position: this.sourcePosition.get(id) ?? '', lag: this.sourceLag.get(id) ?? null })),
      sinks: [...this.sinks.entries()].map(([id, counters]) => ({
        id,
        kind: counters.kind,
        written: counters.written,
        rejected: counters.rejected,
        throughput: rate(counters.written, previous?.sinks.get(id)),
        lastCommitMs: counters.lastCommitMs,
      })),
      watermark: watermarkValues.length > 0 ? Math.min(...watermarkValues) : null,
      eventTimeSkewMs: this.lastEventTime !== null && this.lastProcessedAt !== null ? this.lastProcessedAt - this.lastEventTime : null,
      checkpoints: { count: this.checkpoints, lastId: this.lastCheckpointId, lastAt: this.lastCheckpointAt, lastDurationMs: this.lastCheckpointMs },
    };
    this.previous = {
      at,
      recordsIn: this.recordsIn,
      stages: new Map(this.stages.map(({ id, counters }) => [id, counters.in])),
      sinks: new Map([...this.sinks.entries()].map(([id, counters]) => [id, counters.written])),
    };
    return metrics;
  }
}
