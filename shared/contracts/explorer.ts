// The contract's part for the explorer (issue 9): row-addressed views over one stream of the event
// log (so a virtualized grid reaches every row of a million-event stream), filters, locating an
// event by its position, field discovery for completion and JSON-path columns, chart aggregates
// computed in the engine (GROUP BY time bucket, never in the renderer), export of a selection as
// JSON Lines or CSV, and importing a JSONL file into the log as a job with progress and cancel.
// The engine implements these in main/engine/explorer/.
import { z } from 'zod';
import { JsonValueSchema, OpSchema } from '../events.js';
import type { CommandTable, EventTable } from '../contract-kit.js';

/**
 * A path into an event's JSON: `after.City`, `$.after.City`, `items[0].sku`. A path that starts
 * with `key` reads the event's key (`key.CustomerID`); any other path reads its value.
 */
export const FieldPathSchema = z
  .string()
  .min(1)
  .max(300)
  .regex(/^(\$|\$\.)?([A-Za-z_][A-Za-z0-9_$-]*|\[\d{1,6}\])((\.[A-Za-z_][A-Za-z0-9_$-]*)|(\[\d{1,6}\]))*$/, 'a field path like after.City, key.id or items[0].sku');

const TimeRangeSchema = z.object({ from: z.number().optional(), to: z.number().optional() }).strict();

export const FieldConditionSchema = z
  .object({
    path: FieldPathSchema,
    op: z.enum(['eq', 'ne', 'contains', 'gt', 'lt', 'exists', 'missing']),
    value: z.union([z.string().max(1000), z.number(), z.boolean(), z.null()]).optional(),
  })
  .strict();
export type FieldCondition = z.infer<typeof FieldConditionSchema>;

/** What the explorer narrows a stream to; every part is optional and they all must hold. */
export const ExplorerFilterSchema = z
  .object({
    /** Case-insensitive text anywhere in the key, value, position or headers. */
    text: z.string().max(500).optional(),
    fields: z.array(FieldConditionSchema).max(8).optional(),
    ops: z.array(OpSchema).max(4).optional(),
    /** Milliseconds since the epoch, `from` inclusive and `to` exclusive. */
    eventTime: TimeRangeSchema.optional(),
    ingestTime: TimeRangeSchema.optional(),
  })
  .strict();
export type ExplorerFilter = z.infer<typeof ExplorerFilterSchema>;

const ViewTarget = { stream: z.string().min(1).max(512), filter: ExplorerFilterSchema.optional() };

export const ViewInfoSchema = z.object({
  stream: z.string(),
  /** Rows in the view (after the filter), oldest first: row 0 is the oldest event. */
  count: z.number(),
  /** Events in the whole stream. */
  streamCount: z.number(),
  filtered: z.boolean(),
  firstSeq: z.number().nullable(),
  lastSeq: z.number().nullable(),
  elapsedMs: z.number(),
});
export type ViewInfo = z.infer<typeof ViewInfoSchema>;

export const FieldInfoSchema = z.object({
  /** Normalised path, e.g. `after.City` or `key.CustomerID`. */
  path: z.string(),
  /** JSON types seen at that path: string, number, boolean, null, object, array. */
  types: z.array(z.string()),
  /** How many sampled events had the path. */
  count: z.number(),
  example: JsonValueSchema.optional(),
});
export type FieldInfo = z.infer<typeof FieldInfoSchema>;

const BucketSchema = z.number().int().min(1).max(366 * 24 * 3600 * 1000);

export const RateSeriesSchema = z.object({
  stream: z.string(),
  /** [bucket start (ms), events in the bucket] */
  points: z.array(z.tuple([z.number(), z.number()])),
  total: z.number(),
});

/** Mirrors the core contract's StoredEventSchema (shared/contract.ts imports this file, not the reverse). */
const StoredEventShape = z.object({
  seq: z.number(),
  size: z.number(),
  stream: z.string(),
  position: z.string(),
  key: JsonValueSchema.nullable(),
  value: JsonValueSchema.nullable(),
  valueBytes: z.string().optional(),
  decodeError: z.string().optional(),
  headers: z.array(z.object({ key: z.string(), value: z.string() })),
  op: OpSchema.optional(),
  eventTime: z.number(),
  ingestTime: z.number(),
});

export const ExportRequestSchema = z
  .object({
    ...ViewTarget,
    format: z.enum(['jsonl', 'csv']),
    /** Row ranges of the view (oldest-first indexes, `to` exclusive); omitted: the whole view. */
    ranges: z
      .array(z.object({ from: z.number().int().min(0), to: z.number().int().min(0) }).strict())
      .max(1000)
      .optional(),
    /** JSON-path columns to add to a CSV export. */
    columns: z.array(FieldPathSchema).max(50).default([]),
    /**
     * `download`: the file's text comes back in the response (for selections up to 50,000 events);
     * `workspace`: a job writes it under the workspace's `exports/` folder (any size, with progress and cancel).
     */
    target: z.enum(['download', 'workspace']).default('download'),
  })
  .strict();

export const ExportResultSchema = z.object({
  filename: z.string(),
  count: z.number(),
  /** The file's text (target `download`). */
  content: z.string().optional(),
  /** The job writing the file (target `workspace`); its final message names the file. */
  jobId: z.string().optional(),
  path: z.string().optional(),
});
export type ExportResult = z.infer<typeof ExportResultSchema>;

export const ImportRequestSchema = z
  .object({
    /** A `.jsonl`/`.ndjson` file: absolute, or relative to the workspace folder. */
    path: z.string().min(1).max(4096),
    /**
     * Lines that are Eddy events (`stream`, `position`, `eventTime`, ...) go to their own stream.
     * Other JSON lines become events of this stream (position `file:<name>:<line>`); without it they are refused.
     */
    stream: z.string().min(1).max(512).optional(),
  })
  .strict();

export const explorerCommands = {
  /** Counts the rows of a stream (with a filter) and prepares row addressing for `readRows`. */
  openView: { request: z.object(ViewTarget).strict(), response: ViewInfoSchema },
  /** Rows `from`..`from+limit` of a view, oldest first (row 0 is the oldest). */
  readRows: {
    request: z
      .object({ ...ViewTarget, from: z.number().int().min(0), limit: z.number().int().min(1).max(1000).default(200) })
      .strict(),
    response: z.object({
      from: z.number(),
      count: z.number(),
      events: z.array(StoredEventShape),
    }),
  },
  /** Where an event is in a view: its row index (oldest first), or null when the filter hides it. */
  locateEvent: {
    request: z
      .object({ ...ViewTarget, position: z.string().min(1).max(1024).optional(), seq: z.number().int().optional() })
      .strict()
      .refine((value) => (value.position === undefined) !== (value.seq === undefined), { message: 'give either position or seq' }),
    response: z.object({ seq: z.number(), position: z.string(), index: z.number().nullable(), count: z.number() }),
  },
  /** Field paths seen in a sample of the stream's newest events (for completion and columns). */
  describeFields: {
    request: z.object({ stream: z.string().min(1).max(512), sample: z.number().int().min(1).max(5000).default(500) }).strict(),
    response: z.object({ stream: z.string(), sampled: z.number(), fields: z.array(FieldInfoSchema) }),
  },
  /** Events per time bucket, per stream (all streams when `streams` is omitted). */
  eventRate: {
    request: z
      .object({
        streams: z.array(z.string().min(1).max(512)).max(50).optional(),
        time: z.enum(['event', 'ingest']).default('event'),
        /** Omitted: chosen so the range spans about 2,000 buckets. */
        bucketMs: BucketSchema.optional(),
        from: z.number().optional(),
        to: z.number().optional(),
        filter: ExplorerFilterSchema.optional(),
      })
      .strict(),
    response: z.object({ bucketMs: z.number(), from: z.number().nullable(), to: z.number().nullable(), series: z.array(RateSeriesSchema), elapsedMs: z.number() }),
  },
  /** Ingest time minus event time (how late events arrive), per event-time bucket. */
  timeSkew: {
    request: z.object({ ...ViewTarget, bucketMs: BucketSchema.optional() }).strict(),
    response: z.object({
      bucketMs: z.number(),
      /** [bucket start, min skew, average skew, max skew, events] with skews in ms */
      points: z.array(z.tuple([z.number(), z.number(), z.number(), z.number(), z.number()])),
      elapsedMs: z.number(),
    }),
  },
  /** How the values of one field are distributed: top values, or a histogram for numbers. */
  fieldDistribution: {
    request: z.object({ ...ViewTarget, path: FieldPathSchema, limit: z.number().int().min(1).max(200).default(30), bins: z.number().int().min(2).max(200).default(30) }).strict(),
    response: z.object({
      path: z.string(),
      kind: z.enum(['categorical', 'numeric', 'empty']),
      total: z.number(),
      missing: z.number(),
      /** Categorical: the most frequent values; `other` counts the rest. */
      values: z.array(z.object({ value: JsonValueSchema, count: z.number() })),
      other: z.number(),
      distinct: z.number(),
      /** Numeric: equal-width bins. */
      bins: z.array(z.object({ from: z.number(), to: z.number(), count: z.number() })),
      elapsedMs: z.number(),
    }),
  },
  /** A selection (or the whole view) as JSON Lines or CSV; CSV cells are guarded against formula injection. */
  exportEvents: { request: ExportRequestSchema, response: ExportResultSchema },
  /** Imports a JSON Lines file into the log as a job (progress, cancel); returns the job's id. */
  importFile: { request: ImportRequestSchema, response: z.object({ jobId: z.string() }) },
} as const satisfies CommandTable;

export const explorerEvents = {} as const satisfies EventTable;

/**
 * One CSV cell as every Eddy export writes it (engine exports and the SQL results the UI saves):
 * guarded against formula injection (a cell starting with = + - @ tab or carriage return gets a
 * leading single quote, so a spreadsheet shows text instead of running a formula), then quoted
 * when it holds a separator, a quote, a line break or edge spaces.
 */
export function csvCell(text: string): string {
  const guarded = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(guarded) || /^\s|\s$/.test(guarded) ? `"${guarded.replace(/"/g, '""')}"` : guarded;
}
