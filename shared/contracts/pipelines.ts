// The contract's part for Pipelines: specs, runs, replay, dead letters, metrics (issue 7).
// Commands and event streams are merged into shared/contract.ts; the engine implements them in
// its feature folder with `HandlersFor<typeof pipelineCommands>`. Pipelines live in the workspace
// as `pipelines/<name>.pipeline.json` (shared/pipeline-spec.ts), their tests as
// `tests/<name>.pipeline-test.json` (PipelineTestFileSchema below).
import { z } from 'zod';
import { Empty, type CommandTable, type EventTable } from '../contract-kit.js';
import { HeaderSchema, JsonValueSchema, OpSchema } from '../events.js';

export const PipelinePathSchema = z
  .string()
  .max(300)
  .regex(/^pipelines\/[A-Za-z0-9][A-Za-z0-9._-]*\.pipeline\.json$/, 'must be a path like pipelines/<name>.pipeline.json')
  .refine((value) => !value.split('/').includes('..'), 'must stay inside the workspace');

export const PipelineTestPathSchema = z
  .string()
  .max(300)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*\.pipeline-test\.json$/, 'must be a path like tests/<name>.pipeline-test.json')
  .refine((value) => !value.split('/').includes('..'), 'must stay inside the workspace');

export const SpecProblemSchema = z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string() });
export type SpecProblemView = z.infer<typeof SpecProblemSchema>;

export const RunModeSchema = z.enum(['live', 'replay', 'test']);

export const ReplayFromSchema = z.discriminatedUnion('from', [
  z.object({ from: z.literal('beginning') }).strict(),
  /** A log sequence number (the explorer's `seq`): records from it on produce outputs. */
  z.object({ from: z.literal('offset'), seq: z.number().int().min(0) }).strict(),
  /** Event time in ms: records from the first one at or after it produce outputs. */
  z.object({ from: z.literal('time'), time: z.number() }).strict(),
]);
export type ReplayFrom = z.infer<typeof ReplayFromSchema>;

export const RunStateSchema = z.enum(['starting', 'running', 'paused', 'stopping', 'stopped', 'completed', 'failed']);
export type RunState = z.infer<typeof RunStateSchema>;

export const RunStatusSchema = z.object({
  pipeline: z.string(),
  path: z.string().nullable(),
  runId: z.string(),
  mode: RunModeSchema,
  dryRun: z.boolean(),
  replay: ReplayFromSchema.nullable(),
  state: RunStateSchema,
  /** Why it failed, or what it is waiting for (a sink retrying, a source unreachable). */
  reason: z.string().nullable(),
  startedAt: z.number(),
  updatedAt: z.number(),
  checkpoint: z.object({ id: z.number(), at: z.number() }).nullable(),
  /** Dry runs: the warehouse tables holding what each sink would have written. */
  shadowTables: z.record(z.string(), z.string()).optional(),
});
export type RunStatus = z.infer<typeof RunStatusSchema>;

export const PipelineMetricsSchema = z.object({
  pipeline: z.string(),
  runId: z.string(),
  at: z.number(),
  records: z.object({ in: z.number(), deadLetters: z.number() }),
  inRate: z.number(),
  stages: z.array(
    z.object({
      id: z.string(),
      kind: z.string(),
      in: z.number(),
      out: z.number(),
      late: z.number(),
      deadLetters: z.number(),
      /** Records per second into the stage. */
      throughput: z.number(),
      /** Processing time per record of the last batch, ms. */
      latencyMs: z.number(),
      watermark: z.number().nullable(),
    }),
  ),
  sources: z.array(z.object({ id: z.string(), position: z.string(), lag: z.number().nullable() })),
  sinks: z.array(z.object({ id: z.string(), kind: z.string(), written: z.number(), rejected: z.number(), throughput: z.number(), lastCommitMs: z.number() })),
  /** The lowest watermark of the window stages (event time, ms). */
  watermark: z.number().nullable(),
  /** Processing time minus event time of the latest record, ms. */
  eventTimeSkewMs: z.number().nullable(),
  checkpoints: z.object({ count: z.number(), lastId: z.number(), lastAt: z.number().nullable(), lastDurationMs: z.number() }),
});
export type PipelineMetrics = z.infer<typeof PipelineMetricsSchema>;

export const PipelineInfoSchema = z.object({
  path: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  valid: z.boolean(),
  problems: z.array(SpecProblemSchema),
  /** The latest run of this pipeline in this engine, if any. */
  run: RunStatusSchema.nullable(),
});
export type PipelineInfo = z.infer<typeof PipelineInfoSchema>;

const EventViewSchema = z.object({
  stream: z.string(),
  position: z.string(),
  key: JsonValueSchema.nullable(),
  value: JsonValueSchema.nullable(),
  headers: z.array(HeaderSchema),
  op: OpSchema.optional(),
  eventTime: z.number(),
  ingestTime: z.number(),
  decodeError: z.string().optional(),
  valueBytes: z.string().optional(),
});
export type EventView = z.infer<typeof EventViewSchema>;

export const StageErrorSchema = z.object({
  name: z.string(),
  message: z.string(),
  line: z.number().optional(),
  column: z.number().optional(),
  stack: z.string().optional(),
});

export const DeadLetterViewSchema = z.object({
  seq: z.number().nullable(),
  pipeline: z.string(),
  stage: z.string(),
  error: StageErrorSchema,
  attempts: z.number(),
  origin: z.object({ source: z.string(), stream: z.string(), position: z.string(), seq: z.number().optional() }),
  input: EventViewSchema,
  at: z.number(),
});
export type DeadLetterView = z.infer<typeof DeadLetterViewSchema>;

/** Step-through: what each stage did to one record. */
export const StepStageSchema = z.object({
  stage: z.string(),
  kind: z.string(),
  inputs: z.array(EventViewSchema),
  outputs: z.array(EventViewSchema),
  late: z.array(EventViewSchema),
  /** emitted: passed on unchanged in number; changed: value differs; dropped: no output; error: dead-lettered; idle: not reached. */
  outcome: z.enum(['changed', 'unchanged', 'emitted', 'dropped', 'error', 'idle']),
  error: StageErrorSchema.nullable(),
  notes: z.array(z.object({ kind: z.string(), detail: JsonValueSchema })),
});
export type StepStage = z.infer<typeof StepStageSchema>;

export const StepResultSchema = z.object({
  pipeline: z.string(),
  input: EventViewSchema,
  source: z.string(),
  stages: z.array(StepStageSchema),
  sinks: z.array(z.object({ sink: z.string(), kind: z.string(), records: z.array(EventViewSchema) })),
  deadLetters: z.array(z.object({ stage: z.string(), error: StageErrorSchema })),
});
export type StepResult = z.infer<typeof StepResultSchema>;

export const QueryResultSchema = z.object({
  columns: z.array(z.string()),
  rows: z.array(z.array(JsonValueSchema)),
  truncated: z.boolean(),
  elapsedMs: z.number(),
});

// ---------------------------------------------------------------------------------------------
// Pipeline tests as files: fixtures in, expected sink contents out, controlled time.

const TimeValue = z.union([z.number(), z.string().min(1)]);

/** A fixture record: an event whose stream defaults to its source's, position to `fixture:<source>/<n>`, ingest time to event time. */
export const PipelineFixtureEventSchema = z
  .object({
    stream: z.string().min(1).optional(),
    position: z.string().min(1).optional(),
    key: JsonValueSchema.nullable().default(null),
    value: JsonValueSchema.nullable().default(null),
    valueBytes: z.string().optional(),
    decodeError: z.string().optional(),
    headers: z.array(HeaderSchema).default([]),
    op: OpSchema.optional(),
    /** ms since the epoch, or ISO text. */
    eventTime: TimeValue,
    /** Arrival order: fixtures are fed sorted by it (default: the event time). */
    ingestTime: TimeValue.optional(),
  })
  .strict();

export const PipelineTestFileSchema = z
  .object({
    $schema: z.string().optional(),
    kind: z.literal('pipeline-test'),
    name: z.string().min(1).max(200),
    description: z.string().max(2000).optional(),
    /** Workspace-relative path of the pipeline under test. */
    pipeline: PipelinePathSchema,
    /** Processing time (`now()` in scripts): fixed, advancing by `stepMs` per record. */
    time: z.object({ now: TimeValue, stepMs: z.number().min(0).default(0) }).strict().optional(),
    /**
     * Records per source id, in arrival order; or per stream name for `log`/`cdc` sources. Records
     * of table sources build the tables. A string names a JSONL file relative to the test file.
     */
    fixtures: z.record(z.string(), z.union([z.array(PipelineFixtureEventSchema), z.string()])),
    /** Initial keyed state per stage: `{ "<stage>": { "<key>": { "<name>": value } } }`. */
    state: z.record(z.string(), z.record(z.string(), z.record(z.string(), JsonValueSchema))).default({}),
    expect: z
      .object({
        /**
         * Per sink: the rows (table sinks: the final table, by key) or records (log, kafka, null
         * sinks: `{key, value}` in order) it must hold. Partial match per row unless `exact`.
         */
        sinks: z
          .record(
            z.string(),
            z.object({ rows: z.array(JsonValueSchema), ordered: z.boolean().default(false), exact: z.boolean().default(false) }).strict(),
          )
          .default({}),
        /** Dead letters by stage and origin position (and optionally error text), as a set. */
        deadLetters: z.array(z.object({ stage: z.string(), position: z.string().optional(), message: z.string().optional() }).strict()).optional(),
        /** Late side outputs per window stage: the positions that were too late, in order. */
        late: z.record(z.string(), z.array(z.string())).optional(),
      })
      .strict(),
  })
  .strict();
export type PipelineTestFile = z.output<typeof PipelineTestFileSchema>;

export const PipelineTestResultSchema = z.object({
  path: z.string(),
  name: z.string(),
  status: z.enum(['passed', 'failed', 'error']),
  durationMs: z.number(),
  records: z.number(),
  outputs: z.number(),
  failures: z.array(z.object({ message: z.string(), diff: z.array(z.string()) })),
});
export type PipelineTestResult = z.infer<typeof PipelineTestResultSchema>;

// ---------------------------------------------------------------------------------------------

const PipelineRef = z.object({ pipeline: z.string().min(1).max(63) }).strict();

export const StartPipelineRequestSchema = z
  .object({
    path: PipelinePathSchema,
    /** live: from the sources (resuming from the last checkpoint); replay: from the event log. */
    mode: z.enum(['live', 'replay']).default('live'),
    replay: ReplayFromSchema.optional(),
    /** Sinks write to local shadow tables in the warehouse; nothing external is written. */
    dryRun: z.boolean().default(false),
    /** Replays: keep following the log once caught up (default: stop at the head it started at). */
    follow: z.boolean().default(false),
  })
  .strict();
export type StartPipelineRequest = z.input<typeof StartPipelineRequestSchema>;

export const pipelineCommands = {
  listPipelines: { request: Empty, response: z.array(PipelineInfoSchema) },
  readPipeline: {
    request: z.object({ path: PipelinePathSchema }).strict(),
    response: z.object({ path: z.string(), text: z.string(), problems: z.array(SpecProblemSchema) }),
  },
  /** Saves the text as it is (so work in progress is never lost) and says what is wrong with it. */
  savePipeline: {
    request: z.object({ path: PipelinePathSchema, text: z.string().max(2_000_000), overwrite: z.boolean().default(true) }).strict(),
    response: PipelineInfoSchema,
  },
  validatePipeline: {
    request: z.object({ text: z.string().max(2_000_000) }).strict(),
    response: z.object({ ok: z.boolean(), problems: z.array(SpecProblemSchema), spec: JsonValueSchema.nullable() }),
  },
  /** The spec's JSON Schema, for the editor. */
  getPipelineSchema: { request: Empty, response: z.object({ schema: JsonValueSchema }) },
  startPipeline: { request: StartPipelineRequestSchema, response: RunStatusSchema },
  pausePipeline: { request: PipelineRef, response: RunStatusSchema },
  resumePipeline: { request: PipelineRef, response: RunStatusSchema },
  /** Finishes the current checkpoint, then stops. */
  stopPipeline: { request: PipelineRef, response: RunStatusSchema },
  /** Forgets a stopped pipeline's checkpoint and state: the next live run starts over. */
  resetPipeline: { request: PipelineRef, response: z.object({ pipeline: z.string(), removed: z.boolean() }) },
  listPipelineRuns: { request: Empty, response: z.array(RunStatusSchema) },
  getPipelineMetrics: { request: PipelineRef, response: PipelineMetricsSchema.nullable() },
  /** Runs one record of the log through the pipeline without writing anything, reporting each stage. */
  stepPipeline: {
    request: z
      .object({
        path: PipelinePathSchema,
        /** Unsaved spec text (the editor's buffer); the saved file when absent. */
        text: z.string().max(2_000_000).optional(),
        stream: z.string().min(1),
        position: z.string().min(1),
        /** Use the pipeline's checkpointed state (default) or empty state. */
        withState: z.boolean().default(true),
      })
      .strict(),
    response: StepResultSchema,
  },
  listDeadLetters: {
    request: z.object({ pipeline: z.string().min(1).max(63), limit: z.number().int().min(1).max(1000).default(100), cursor: z.string().max(200).optional() }).strict(),
    response: z.object({ stream: z.string(), letters: z.array(DeadLetterViewSchema), nextCursor: z.string().nullable() }),
  },
  listWarehouseTables: {
    request: Empty,
    response: z.array(z.object({ name: z.string(), rows: z.number(), columns: z.array(z.string()) })),
  },
  /** Read-only SQL over the local warehouse (sink tables and dry-run shadow tables). */
  queryWarehouse: {
    request: z.object({ sql: z.string().min(1).max(100_000), maxRows: z.number().int().min(1).max(10_000).default(500) }).strict(),
    response: QueryResultSchema,
  },
  listPipelineTests: { request: Empty, response: z.array(z.object({ path: z.string(), name: z.string(), pipeline: z.string().nullable(), invalid: z.string().optional() })) },
  runPipelineTests: {
    request: z.object({ paths: z.array(PipelineTestPathSchema).max(1000).optional() }).strict(),
    response: z.object({ tests: z.array(PipelineTestResultSchema), passed: z.number(), failed: z.number(), errors: z.number(), durationMs: z.number() }),
  },
} as const satisfies CommandTable;

export const pipelineEvents = {
  /** A run changed state (started, paused, failed with its reason, completed...). */
  onPipelineStatus: RunStatusSchema,
  /** Live numbers of a run, at most 4 times a second per run. */
  onPipelineMetrics: PipelineMetricsSchema,
} as const satisfies EventTable;
