// The pipeline spec: one JSON file per pipeline in the workspace (`pipelines/<name>.pipeline.json`),
// validated here and shared by the engine, the UI's form and graph, and the exported production
// runner (issue 8). Sources -> stages -> sinks form a DAG: every stage and sink names its `inputs`
// (a source id, a stage id, or a window's late side output `<stage>.late`).
//
// Kept free of Node and DOM. Durations are numbers of milliseconds or strings like "5s", "1h".
import { z } from 'zod';

export const PIPELINE_SPEC_VERSION = 1;

const ID_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;
const Id = z.string().regex(ID_PATTERN, 'an id: a letter, then letters, digits, "-" or "_" (at most 63)');

/** `500`, `"250ms"`, `"5s"`, `"1.5m"`, `"2h"`, `"1d"`. */
export const DurationSchema = z.union([
  z.number().int().min(0),
  z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/, 'a duration like "500ms", "5s", "10m", "1h" or a number of milliseconds'),
]);
export type Duration = z.infer<typeof DurationSchema>;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function durationMs(duration: Duration): number {
  if (typeof duration === 'number') return duration;
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(duration);
  if (!match) throw new Error(`Not a duration: ${duration}`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2]!]!);
}

/**
 * A field of an event: `key`, `value`, `value.after.CustomerID`, `headers.source`, `eventTime`,
 * `op`, `stream`, `position`. Plain dotted paths so the exported runner evaluates them the same way.
 */
export const FieldPathSchema = z
  .string()
  .regex(/^(key|value|headers|eventTime|ingestTime|op|stream|position)(\.[A-Za-z0-9_$-]+)*$/, 'a field path such as "key", "value.after.CustomerID" or "headers.source"');

const Inputs = z.array(z.string().min(1)).min(1).describe('Ids of the sources or stages feeding this one; `<windowStage>.late` for late events.');

// ---------------------------------------------------------------------------------------------
// Sources

const SourceBase = {
  id: Id,
  description: z.string().optional(),
};

export const LogSourceSchema = z
  .object({
    ...SourceBase,
    kind: z.literal('log'),
    /** A stream of the workspace's event log, e.g. `sqlserver:shop.dbo.Orders`. */
    stream: z.string().min(1),
  })
  .strict();

export const KafkaSourceSchema = z
  .object({
    ...SourceBase,
    kind: z.literal('kafka'),
    /** A Kafka connection profile id (connections/). */
    connection: z.string().min(1),
    topic: z.string().min(1),
    /** Where a run without a checkpoint starts. */
    startFrom: z.enum(['earliest', 'latest']).default('earliest'),
    /** The log stream the records are captured into (so they can be replayed); default `kafka:<topic>`. */
    stream: z.string().min(1).optional(),
    /** Consumer group (the exported runner scales with it); default `eddy-<pipeline>`. */
    group: z.string().min(1).optional(),
  })
  .strict();

export const CdcSourceSchema = z
  .object({
    ...SourceBase,
    kind: z.literal('cdc'),
    /** A SQL Server or PostgreSQL connection profile id. */
    connection: z.string().min(1),
    /** `schema.table`, e.g. `dbo.Orders` or `public.orders`. */
    table: z.string().min(1),
    /**
     * The log stream its capture writes (e.g. `sqlserver:shop.dbo.Orders`, `pg:shop.public.orders`).
     * In the app the pipeline reads that stream; the export maps it to the Debezium topic.
     */
    stream: z.string().min(1),
  })
  .strict();

export const SourceSchema = z.discriminatedUnion('kind', [LogSourceSchema, KafkaSourceSchema, CdcSourceSchema]);
export type SourceSpec = z.infer<typeof SourceSchema>;

// ---------------------------------------------------------------------------------------------
// Tables: the latest row per key of a CDC stream, with version history for as-of lookups.

export const TableSchema = z
  .object({
    id: Id,
    /** The source (usually `cdc`) whose change events build the table. */
    source: z.string().min(1),
    /** Where an event of that source carries the table key (default: the event key). */
    key: FieldPathSchema.default('key'),
    description: z.string().optional(),
  })
  .strict();
export type TableSpec = z.infer<typeof TableSchema>;

// ---------------------------------------------------------------------------------------------
// Stages

const StageBase = {
  id: Id,
  inputs: Inputs,
  description: z.string().optional(),
};

export const TransformStageSchema = z
  .object({
    ...StageBase,
    kind: z.literal('transform'),
    /** Workspace-relative path of a TypeScript/JavaScript transform module. */
    script: z.string().min(1),
    /** The exported function to call (default export when omitted). */
    export: z.string().min(1).default('default'),
  })
  .strict();

export const KeyedStageSchema = z
  .object({
    ...StageBase,
    kind: z.literal('keyed'),
    script: z.string().min(1),
    export: z.string().min(1).default('default'),
    /** Events are partitioned by this field; `context.state` is scoped to one key. */
    key: FieldPathSchema.default('key'),
  })
  .strict();

export const WindowSpecSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('tumbling'), size: DurationSchema }).strict(),
  z.object({ type: z.literal('hopping'), size: DurationSchema, advance: DurationSchema }).strict(),
  z.object({ type: z.literal('session'), gap: DurationSchema }).strict(),
]);
export type WindowSpec = z.infer<typeof WindowSpecSchema>;

export const AggregateSchema = z.discriminatedUnion('fn', [
  z.object({ fn: z.literal('count') }).strict(),
  z.object({ fn: z.enum(['sum', 'min', 'max', 'avg', 'first', 'last']), field: FieldPathSchema }).strict(),
]);
export type AggregateSpec = z.infer<typeof AggregateSchema>;

export const WindowStageSchema = z
  .object({
    ...StageBase,
    kind: z.literal('window'),
    /** Events are grouped by this field within each window. */
    key: FieldPathSchema.default('key'),
    window: WindowSpecSchema,
    /** Bounded out-of-orderness: the watermark trails the highest event time seen by this much. */
    watermark: z.object({ maxOutOfOrder: DurationSchema.default(0) }).strict().default({ maxOutOfOrder: 0 }),
    /** How long after the watermark passes a window's end a late event still updates it (re-emitted). */
    allowedLateness: DurationSchema.default(0),
    /** Output fields: each an aggregate over the window's events. */
    aggregate: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), AggregateSchema),
  })
  .strict();

export const LookupStageSchema = z
  .object({
    ...StageBase,
    kind: z.literal('lookup'),
    /** A table id (see `tables`). */
    table: z.string().min(1),
    /** The field of the incoming event holding the table key. */
    key: FieldPathSchema,
    /** Join as of this field's time (ms or ISO text, e.g. `value.PlacedAt`) instead of the event time. */
    at: FieldPathSchema.optional(),
    /** The joined row (as of the event's time) is added to the event's value under this name. */
    as: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
    /** When no row existed at the event's time: join null, drop the event, or dead-letter it. */
    onMissing: z.enum(['null', 'drop', 'dead-letter']).default('null'),
  })
  .strict();

export const StageSchema = z.discriminatedUnion('kind', [TransformStageSchema, KeyedStageSchema, WindowStageSchema, LookupStageSchema]);
export type StageSpec = z.infer<typeof StageSchema>;

// ---------------------------------------------------------------------------------------------
// Sinks. Table sinks take their row from the event's value (the `after` image of a Debezium
// envelope; `op: "d"` deletes by key) unless `columns` maps column names to event fields.

const SinkBase = {
  id: Id,
  inputs: Inputs,
  description: z.string().optional(),
};

const Columns = z.record(z.string().min(1), FieldPathSchema).optional();
const KeyColumns = z.array(z.string().min(1)).min(1);

export const LogSinkSchema = z.object({ ...SinkBase, kind: z.literal('log'), stream: z.string().min(1) }).strict();

export const WarehouseSinkSchema = z
  .object({
    ...SinkBase,
    kind: z.literal('warehouse'),
    /** A table of the local warehouse (sql.js), created on first write. */
    table: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/),
    key: KeyColumns,
    columns: Columns,
  })
  .strict();

export const KafkaSinkSchema = z
  .object({
    ...SinkBase,
    kind: z.literal('kafka'),
    connection: z.string().min(1),
    topic: z.string().min(1),
    /** Each epoch's records and the sink's progress marker are committed in one Kafka transaction. */
    transactional: z.boolean().default(true),
  })
  .strict();

export const PostgresSinkSchema = z
  .object({
    ...SinkBase,
    kind: z.literal('postgres'),
    connection: z.string().min(1),
    /** `schema.table` or `table`; it must exist with a unique constraint on `key`. */
    table: z.string().min(1),
    key: KeyColumns,
    columns: Columns,
  })
  .strict();

export const SqlServerSinkSchema = z
  .object({
    ...SinkBase,
    kind: z.literal('sqlserver'),
    connection: z.string().min(1),
    table: z.string().min(1),
    key: KeyColumns,
    columns: Columns,
  })
  .strict();

/** Discards records; for benchmarks and for pipelines only run for their dead letters or state. */
export const NullSinkSchema = z.object({ ...SinkBase, kind: z.literal('null') }).strict();

export const SinkSchema = z.discriminatedUnion('kind', [LogSinkSchema, WarehouseSinkSchema, KafkaSinkSchema, PostgresSinkSchema, SqlServerSinkSchema, NullSinkSchema]);
export type SinkSpec = z.infer<typeof SinkSchema>;

// ---------------------------------------------------------------------------------------------
// The pipeline

export const PipelineSpecSchema = z
  .object({
    $schema: z.string().optional(),
    version: z.literal(PIPELINE_SPEC_VERSION),
    name: Id,
    description: z.string().optional(),
    sources: z.array(SourceSchema).min(1),
    tables: z.array(TableSchema).default([]),
    stages: z.array(StageSchema).default([]),
    sinks: z.array(SinkSchema).min(1),
    deadLetter: z
      .object({
        /** Log stream of dead letters; default `dead-letters:<name>`. */
        stream: z.string().min(1).optional(),
        /** Topic the exported runner writes dead letters to; default `<name>.dead-letters`. */
        topic: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
    retries: z
      .object({
        /** Attempts per record and stage, the first included, before it is dead-lettered. */
        maxAttempts: z.number().int().min(1).max(20).default(3),
        backoff: DurationSchema.default('50ms'),
        maxBackoff: DurationSchema.default('2s'),
      })
      .strict()
      .default({ maxAttempts: 3, backoff: '50ms', maxBackoff: '2s' }),
    checkpoint: z
      .object({
        /** A checkpoint (sink commit, then state and positions) at least this often. */
        interval: DurationSchema.default('1s'),
        /** ...and at most this many input records per checkpoint: it bounds every queue. */
        maxRecords: z.number().int().min(1).max(1_000_000).default(5000),
      })
      .strict()
      .default({ interval: '1s', maxRecords: 5000 }),
  })
  .strict()
  .superRefine((spec, issues) => {
    for (const problem of graphProblems(spec)) issues.addIssue({ code: 'custom', message: problem.message, path: problem.path });
  });

export type PipelineSpec = z.output<typeof PipelineSpecSchema>;
export type PipelineSpecInput = z.input<typeof PipelineSpecSchema>;

// ---------------------------------------------------------------------------------------------
// Graph checks: unique ids, inputs that exist, no cycles, tables that point at sources.

export interface SpecProblem {
  path: (string | number)[];
  message: string;
}

type GraphShape = {
  sources: { id: string }[];
  tables?: { id: string; source: string }[];
  stages?: { id: string; kind: string; inputs: string[]; table?: string }[];
  sinks: { id: string; inputs: string[] }[];
};

export function graphProblems(spec: GraphShape): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const ids = new Map<string, string>();
  const claim = (id: string, where: (string | number)[]): void => {
    if (ids.has(id)) problems.push({ path: where, message: `Duplicate id "${id}" (also used by a ${ids.get(id)}).` });
    else ids.set(id, String(where[0]));
  };
  spec.sources.forEach((source, index) => claim(source.id, ['sources', index, 'id']));
  (spec.tables ?? []).forEach((table, index) => claim(table.id, ['tables', index, 'id']));
  const stages = spec.stages ?? [];
  stages.forEach((stage, index) => claim(stage.id, ['stages', index, 'id']));
  spec.sinks.forEach((sink, index) => claim(sink.id, ['sinks', index, 'id']));

  const sourceIds = new Set(spec.sources.map((source) => source.id));
  const stageById = new Map(stages.map((stage) => [stage.id, stage]));
  const tableIds = new Set((spec.tables ?? []).map((table) => table.id));
  const validInput = (input: string): string | undefined => {
    if (sourceIds.has(input) || stageById.has(input)) return undefined;
    const late = /^(.*)\.late$/.exec(input);
    if (late && stageById.get(late[1]!)?.kind === 'window') return undefined;
    if (late && stageById.has(late[1]!)) return `"${input}": only window stages have a late side output.`;
    return `Unknown input "${input}": name a source, a stage or a window's "<stage>.late".`;
  };
  stages.forEach((stage, index) =>
    stage.inputs.forEach((input, at) => {
      const message = validInput(input);
      if (message) problems.push({ path: ['stages', index, 'inputs', at], message });
    }),
  );
  spec.sinks.forEach((sink, index) =>
    sink.inputs.forEach((input, at) => {
      const message = validInput(input);
      if (message) problems.push({ path: ['sinks', index, 'inputs', at], message });
    }),
  );
  (spec.tables ?? []).forEach((table, index) => {
    if (!sourceIds.has(table.source)) problems.push({ path: ['tables', index, 'source'], message: `Table "${table.id}" reads unknown source "${table.source}".` });
  });
  stages.forEach((stage, index) => {
    if (stage.kind === 'lookup' && stage.table !== undefined && !tableIds.has(stage.table)) {
      problems.push({ path: ['stages', index, 'table'], message: `Unknown table "${stage.table}".` });
    }
  });
  // Cycles among stages (sources and sinks cannot be part of one).
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string, trail: string[]): void => {
    const mark = state.get(id);
    if (mark === 'done') return;
    if (mark === 'visiting') {
      const index = stages.findIndex((stage) => stage.id === id);
      problems.push({ path: ['stages', index, 'inputs'], message: `Stages form a cycle: ${[...trail.slice(trail.indexOf(id)), id].join(' -> ')}.` });
      return;
    }
    state.set(id, 'visiting');
    for (const input of stageById.get(id)?.inputs ?? []) {
      const upstream = input.endsWith('.late') ? input.slice(0, -'.late'.length) : input;
      if (stageById.has(upstream)) visit(upstream, [...trail, id]);
    }
    state.set(id, 'done');
  };
  for (const stage of stages) visit(stage.id, []);
  return problems;
}

/** Stage ids in an order where every stage comes after the stages it reads. */
export function topologicalStages<S extends { id: string; inputs: string[] }>(stages: readonly S[]): S[] {
  const byId = new Map(stages.map((stage) => [stage.id, stage]));
  const ordered: S[] = [];
  const seen = new Set<string>();
  const visit = (stage: S): void => {
    if (seen.has(stage.id)) return;
    seen.add(stage.id);
    for (const input of stage.inputs) {
      const upstream = byId.get(input.endsWith('.late') ? input.slice(0, -'.late'.length) : input);
      if (upstream) visit(upstream);
    }
    ordered.push(stage);
  };
  stages.forEach(visit);
  return ordered;
}

export function deadLetterStream(spec: Pick<PipelineSpec, 'name' | 'deadLetter'>): string {
  return spec.deadLetter.stream ?? `dead-letters:${spec.name}`;
}

export function sourceStream(source: SourceSpec): string {
  return source.kind === 'kafka' ? (source.stream ?? `kafka:${source.topic}`) : source.stream;
}

/** Parses and validates; the thrown ZodError lists every problem with its path. */
export function parsePipelineSpec(input: unknown): PipelineSpec {
  return PipelineSpecSchema.parse(input);
}

export type SpecCheck = { ok: true; spec: PipelineSpec } | { ok: false; problems: SpecProblem[] };

export function checkPipelineSpec(input: unknown): SpecCheck {
  const result = PipelineSpecSchema.safeParse(input);
  if (result.success) return { ok: true, spec: result.data };
  return { ok: false, problems: result.error.issues.map((issue) => ({ path: issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part)), message: issue.message })) };
}

/**
 * JSON Schema (draft 2020-12) of the spec for editors: `"$schema": "./pipeline.schema.json"` in a
 * pipeline file gives completion and checks in VS Code and Monaco. Describes what may be written
 * (defaults optional), not what the parser fills in.
 */
export function pipelineJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(PipelineSpecSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, title: 'Eddy pipeline', description: 'A pipeline of sources, stages and sinks (Eddy, DESIGN.md 6).' };
}

/** A new pipeline as the form starts it: one log source, a null sink, nothing in between. */
export function blankPipelineSpec(name: string, stream = 'sqlserver:shop.dbo.Orders'): PipelineSpecInput {
  return {
    version: PIPELINE_SPEC_VERSION,
    name,
    sources: [{ id: 'input', kind: 'log', stream }],
    stages: [],
    sinks: [{ id: 'output', kind: 'log', inputs: ['input'], stream: `pipeline:${name}` }],
  };
}
