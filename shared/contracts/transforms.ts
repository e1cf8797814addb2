// The contract's part for Transform scripts: compile, preview on samples, tests, compare versions (issue 6).
// Commands and event streams are merged into shared/contract.ts; the engine implements them in
// its feature folder with `HandlersFor<typeof transformCommands>`. Transforms live in the
// workspace as `transforms/<name>.ts|js`, tests as `tests/<name>.test.json` (TestFileSchema).
import { z } from 'zod';
import { Empty, type CommandTable, type EventTable } from '../contract-kit.js';
import { HeaderSchema, JsonValueSchema, NewEventSchema } from '../events.js';

// ---------------------------------------------------------------------------------------------
// Files

/** A workspace-relative path such as `transforms/paid-orders.ts`; never absolute, never `..`. */
const RelativePath = (folder: string, pattern: RegExp, what: string) =>
  z
    .string()
    .min(1)
    .max(300)
    .refine((value) => value.startsWith(`${folder}/`) && pattern.test(value) && !value.split('/').includes('..') && !value.includes('\\'), {
      message: `must be a path like ${what}`,
    });

export const TransformPathSchema = RelativePath('transforms', /^transforms\/[A-Za-z0-9][A-Za-z0-9._-]*\.(ts|js)$/, 'transforms/<name>.ts or .js');
export const TestPathSchema = RelativePath('tests', /^tests\/[A-Za-z0-9][A-Za-z0-9._-]*\.test\.json$/, 'tests/<name>.test.json');

export const TransformInfoSchema = z.object({
  path: z.string(),
  name: z.string(),
  language: z.enum(['ts', 'js']),
  size: z.number(),
  modifiedAt: z.number(),
  /** The stream named in `Transform<'...'>`, when the script declares one. */
  stream: z.string().nullable(),
});
export type TransformInfo = z.infer<typeof TransformInfoSchema>;

/** A compile, type or load problem, with 1-based lines and columns in the script's own source. */
export const DiagnosticSchema = z.object({
  severity: z.enum(['error', 'warning']),
  message: z.string(),
  line: z.number(),
  column: z.number(),
  endLine: z.number().optional(),
  endColumn: z.number().optional(),
  source: z.enum(['compile', 'typecheck', 'load']),
});
export type Diagnostic = z.infer<typeof DiagnosticSchema>;

// ---------------------------------------------------------------------------------------------
// Running: events in, events out, per record

/** An event given to a transform explicitly (pinned in a test, or picked in the UI). */
export const FixtureEventSchema = NewEventSchema;
export type FixtureEvent = z.output<typeof FixtureEventSchema>;

/** Processing time: fixed (`now`, ms or ISO text) and optionally advancing per event; else capture time. */
export const TimeControlSchema = z
  .object({
    now: z.union([z.number(), z.iso.datetime({ offset: true })]),
    stepMs: z.number().min(0).default(0),
  })
  .strict();
export type TimeControl = z.output<typeof TimeControlSchema>;

/** One version of a row in a fixture table: valid from `from` (ms or ISO) until the next version; `row: null` is a delete. */
export const TableVersionSchema = z
  .object({
    key: JsonValueSchema,
    from: z.union([z.number(), z.iso.datetime({ offset: true })]),
    row: JsonValueSchema.nullable(),
  })
  .strict();
export const FixtureTablesSchema = z.record(z.string().min(1).max(512), z.array(TableVersionSchema).max(100_000));
export type FixtureTables = z.output<typeof FixtureTablesSchema>;

export const StateSchema = z.record(z.string().max(1024), JsonValueSchema);

export const OutputEventSchema = z.object({
  key: JsonValueSchema.nullable(),
  value: JsonValueSchema.nullable(),
  headers: z.array(HeaderSchema),
  eventTime: z.number(),
});
export type OutputEvent = z.infer<typeof OutputEventSchema>;

export const RecordErrorSchema = z.object({
  /** error: the script threw; timeout: stopped by the time limit; memory: hit the memory limit; output: returned something that is not an event; crash: the sandbox itself failed. */
  kind: z.enum(['error', 'timeout', 'memory', 'output', 'crash']),
  name: z.string(),
  message: z.string(),
  /** Line and column in the script's source where it threw, when known. */
  line: z.number().nullable(),
  column: z.number().nullable(),
  stack: z.string().optional(),
});
export type RecordError = z.infer<typeof RecordErrorSchema>;

export const LogLineSchema = z.object({ level: z.enum(['debug', 'info', 'warn', 'error']), message: z.string() });
export type LogLine = z.infer<typeof LogLineSchema>;

export const FieldChangeSchema = z.object({
  /** Dotted path of the field, `[n]` for array items: `Amount`, `lines[0].qty`. */
  path: z.string(),
  kind: z.enum(['added', 'removed', 'changed']),
  before: JsonValueSchema.optional(),
  after: JsonValueSchema.optional(),
});
export type FieldChange = z.infer<typeof FieldChangeSchema>;

export const StateChangeSchema = z.object({ key: z.string(), value: JsonValueSchema.nullable() });

export const PreviewRecordSchema = z.object({
  index: z.number(),
  input: FixtureEventSchema,
  outputs: z.array(OutputEventSchema),
  logs: z.array(LogLineSchema),
  error: RecordErrorSchema.nullable(),
  /** The first output's value against the input row (the change event's after, else before, else value). */
  changes: z.array(FieldChangeSchema),
  stateChanges: z.array(StateChangeSchema),
});
export type PreviewRecord = z.infer<typeof PreviewRecordSchema>;

export const RunStatsSchema = z.object({
  records: z.number(),
  outputs: z.number(),
  errors: z.number(),
  elapsedMs: z.number(),
});

export const PreviewResultSchema = z.object({
  /** False when the script does not compile or load: `diagnostics` say why and no record ran. */
  ok: z.boolean(),
  diagnostics: z.array(DiagnosticSchema),
  records: z.array(PreviewRecordSchema),
  stats: RunStatsSchema,
  finalState: StateSchema,
  /** Rows the script looked up, as versions a test can pin. */
  lookups: FixtureTablesSchema,
});
export type PreviewResult = z.infer<typeof PreviewResultSchema>;

/** A script to run: a saved file, or unsaved source (the editor's buffer) with the path it will have. */
export const ScriptRefSchema = z
  .object({
    path: TransformPathSchema.optional(),
    source: z.string().max(1_000_000).optional(),
  })
  .strict()
  .refine((value) => value.path !== undefined || value.source !== undefined, { message: 'give a path or a source' });

export const SampleWindowSchema = z
  .object({
    stream: z.string().min(1),
    limit: z.number().int().min(1).max(1000).default(50),
    direction: z.enum(['newest', 'oldest']).default('oldest'),
    eventTime: z.object({ from: z.number().optional(), to: z.number().optional() }).strict().optional(),
  })
  .strict();

const RunInputs = {
  /** Sample events from the log, or... */
  window: SampleWindowSchema.optional(),
  /** ...events given explicitly (at most 5000). */
  events: z.array(FixtureEventSchema).max(5000).optional(),
  time: TimeControlSchema.optional(),
  initialState: StateSchema.optional(),
  /** Fixture tables for lookups; in previews, tables not given are read from the log's CDC streams. */
  tables: FixtureTablesSchema.optional(),
};

export const PreviewRequestSchema = z
  .object({
    script: ScriptRefSchema,
    ...RunInputs,
    /** A newer preview on the same channel cancels an older one still running (re-run on edit). */
    channel: z.string().max(100).optional(),
  })
  .strict();

// ---------------------------------------------------------------------------------------------
// Tests as files

/** Masking for personal data pinned into a test: paths like `value.after.Email`, `value.*.Email`, `key.CustomerID`. */
export const MaskRuleSchema = z
  .object({
    path: z.string().min(1).max(300),
    /** hash: stable pseudonym (joins still match); redact: fixed text; null: remove the value. */
    rule: z.enum(['hash', 'redact', 'null']),
  })
  .strict();
export type MaskRule = z.infer<typeof MaskRuleSchema>;

export const ExpectedOutputSchema = z
  .object({
    key: JsonValueSchema.optional(),
    value: JsonValueSchema.optional(),
    headers: z.array(HeaderSchema).optional(),
    eventTime: z.number().optional(),
  })
  .strict();

export const ExpectedErrorSchema = z
  .object({
    /** The input event's position (or its index in `events`). */
    event: z.union([z.string(), z.number().int().min(0)]),
    /** Text the error message must contain. */
    message: z.string().optional(),
  })
  .strict();

export const TestFileSchema = z
  .object({
    $schema: z.string().optional(),
    name: z.string().min(1).max(200),
    description: z.string().max(2000).optional(),
    transform: TransformPathSchema,
    /** The stream the events were pinned from (for the editor; the events carry their own). */
    stream: z.string().optional(),
    masking: z.array(MaskRuleSchema).default([]),
    time: TimeControlSchema.optional(),
    initialState: StateSchema.default({}),
    tables: FixtureTablesSchema.default({}),
    events: z.array(FixtureEventSchema).min(1).max(5000),
    expect: z
      .object({
        /** Partial matches: each expected field must equal the actual one; other fields are ignored. */
        outputs: z.array(ExpectedOutputSchema),
        /** Compare outputs in order (default), or as a set. */
        ordered: z.boolean().default(true),
        /** Records expected to fail; any other failing record fails the test. */
        errors: z.array(ExpectedErrorSchema).default([]),
        /** Partial match against the state after the last event. */
        state: StateSchema.optional(),
      })
      .strict(),
  })
  .strict();
export type TestFile = z.output<typeof TestFileSchema>;
export type TestFileInput = z.input<typeof TestFileSchema>;

export const TestInfoSchema = z.object({
  path: z.string(),
  name: z.string(),
  transform: z.string().nullable(),
  events: z.number(),
  /** Set when the file is not a valid test. */
  invalid: z.string().optional(),
});
export type TestInfo = z.infer<typeof TestInfoSchema>;

export const TestFailureSchema = z.object({
  message: z.string(),
  /** Readable diff lines (`- expected`, `+ actual`). */
  diff: z.array(z.string()),
});
export type TestFailure = z.infer<typeof TestFailureSchema>;

export const TestResultSchema = z.object({
  path: z.string(),
  name: z.string(),
  status: z.enum(['passed', 'failed', 'error']),
  durationMs: z.number(),
  records: z.number(),
  outputs: z.number(),
  failures: z.array(TestFailureSchema),
  /** Per-record detail, for the results panel. */
  run: z.array(PreviewRecordSchema).optional(),
});
export type TestResult = z.infer<typeof TestResultSchema>;

export const TestRunReportSchema = z.object({
  tests: z.array(TestResultSchema),
  passed: z.number(),
  failed: z.number(),
  errors: z.number(),
  durationMs: z.number(),
});
export type TestRunReport = z.infer<typeof TestRunReportSchema>;

// ---------------------------------------------------------------------------------------------
// Comparing two versions over the same samples

export const CompareRecordSchema = z.object({
  index: z.number(),
  input: FixtureEventSchema,
  status: z.enum(['same', 'changed', 'added', 'removed', 'error']),
  base: z.object({ outputs: z.array(OutputEventSchema), error: RecordErrorSchema.nullable() }),
  candidate: z.object({ outputs: z.array(OutputEventSchema), error: RecordErrorSchema.nullable() }),
  /** Field changes between base and candidate outputs (paths prefixed with the output index when several). */
  changes: z.array(FieldChangeSchema),
});
export type CompareRecord = z.infer<typeof CompareRecordSchema>;

export const CompareResultSchema = z.object({
  ok: z.boolean(),
  diagnostics: z.object({ base: z.array(DiagnosticSchema), candidate: z.array(DiagnosticSchema) }),
  summary: z.object({
    records: z.number(),
    same: z.number(),
    changed: z.number(),
    /** Output events the candidate emits that the base did not. */
    added: z.number(),
    /** Output events the base emitted that the candidate does not. */
    removed: z.number(),
    newErrors: z.number(),
    fixedErrors: z.number(),
    /** How often each field changed, most first. */
    fields: z.array(z.object({ path: z.string(), count: z.number() })),
  }),
  /** Records whose outputs differ (at most 500), in input order. */
  records: z.array(CompareRecordSchema),
});
export type CompareResult = z.infer<typeof CompareResultSchema>;

// ---------------------------------------------------------------------------------------------

export const StreamTypesSchema = z.object({
  stream: z.string(),
  /** Declarations that augment `StreamEvents` in module 'eddy' with this stream's event type. */
  declarations: z.string(),
  /** The event type's name in those declarations. */
  typeName: z.string(),
  samples: z.number(),
});

export const SandboxInfoSchema = z.object({
  engine: z.string(),
  workers: z.number(),
  memoryLimitMb: z.number(),
  timeoutMs: z.number(),
  restarts: z.number(),
});
export type SandboxInfo = z.infer<typeof SandboxInfoSchema>;

export const transformCommands = {
  listTransforms: { request: Empty, response: z.array(TransformInfoSchema) },
  readTransform: {
    request: z.object({ path: TransformPathSchema }).strict(),
    response: z.object({ info: TransformInfoSchema, source: z.string() }),
  },
  saveTransform: {
    request: z.object({ path: TransformPathSchema, source: z.string().max(1_000_000) }).strict(),
    response: z.object({ info: TransformInfoSchema, diagnostics: z.array(DiagnosticSchema) }),
  },
  compileTransform: {
    request: z
      .object({
        source: z.string().max(1_000_000),
        path: TransformPathSchema.optional(),
        /** Also type-check against the API and the stream's inferred types (slower). */
        typecheck: z.boolean().default(false),
        stream: z.string().optional(),
      })
      .strict(),
    response: z.object({ ok: z.boolean(), diagnostics: z.array(DiagnosticSchema), elapsedMs: z.number() }),
  },
  getStreamTypes: {
    request: z.object({ stream: z.string().min(1), limit: z.number().int().min(1).max(5000).default(500) }).strict(),
    response: StreamTypesSchema,
  },
  previewTransform: { request: PreviewRequestSchema, response: PreviewResultSchema },
  compareTransforms: {
    request: z
      .object({
        base: ScriptRefSchema,
        candidate: ScriptRefSchema,
        ...RunInputs,
      })
      .strict(),
    response: CompareResultSchema,
  },
  listTests: { request: Empty, response: z.array(TestInfoSchema) },
  readTest: {
    request: z.object({ path: TestPathSchema }).strict(),
    response: z.object({ path: z.string(), test: TestFileSchema }),
  },
  saveTest: {
    request: z.object({ path: TestPathSchema, test: TestFileSchema }).strict(),
    response: TestInfoSchema,
  },
  /** Pins events into a new test: masks personal data, and expects the script's current outputs unless told otherwise. */
  createTest: {
    request: z
      .object({
        name: z.string().min(1).max(200),
        path: TestPathSchema.optional(),
        transform: TransformPathSchema,
        /** Unsaved source to compute the expected outputs from (defaults to the saved file). */
        source: z.string().max(1_000_000).optional(),
        events: z.array(FixtureEventSchema).min(1).max(5000),
        /** Masking rules; when absent, fields that look personal (email, name, phone, address...) are hashed. */
        masking: z.array(MaskRuleSchema).optional(),
        ordered: z.boolean().default(true),
        time: TimeControlSchema.optional(),
        initialState: StateSchema.optional(),
        tables: FixtureTablesSchema.optional(),
        overwrite: z.boolean().default(false),
      })
      .strict(),
    response: z.object({ path: z.string(), test: TestFileSchema }),
  },
  runTests: {
    request: z
      .object({
        /** Test files to run; all of the workspace's tests when absent. */
        paths: z.array(TestPathSchema).max(1000).optional(),
        /** Include per-record detail in the report. */
        detail: z.boolean().default(false),
      })
      .strict(),
    response: TestRunReportSchema,
  },
  getSandboxInfo: { request: Empty, response: SandboxInfoSchema },
} as const satisfies CommandTable;

export const transformEvents = {} as const satisfies EventTable;

