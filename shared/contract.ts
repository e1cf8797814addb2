// The one typed contract between the UI and the engine (DESIGN.md 2). Every command has a request
// schema (validated at run time by the engine) and a response schema; every event stream has a
// payload schema. The desktop preload, the web-mode WebSocket and the CLI all serve exactly this list.
import { z } from 'zod';
import { HeaderSchema, JsonValueSchema, OpSchema } from './events.js';
import { Empty, ErrorEnvelopeSchema, type CommandTable, type ErrorEnvelope, type EventTable } from './contract-kit.js';
import { kafkaCommands, kafkaEvents } from './contracts/kafka.js';
import { cdcCommands, cdcEvents } from './contracts/cdc.js';
import { transformCommands, transformEvents } from './contracts/transforms.js';
import { pipelineCommands, pipelineEvents } from './contracts/pipelines.js';
import { connectionCommands, connectionEvents } from './contracts/connections.js';
import { explorerCommands, explorerEvents } from './contracts/explorer.js';
import { exportCommands, exportEvents } from './contracts/export.js';

export * from './contract-kit.js';

// ---------------------------------------------------------------------------------------------
// Shared payload shapes

export const WorkspaceInfoSchema = z.object({
  name: z.string(),
  path: z.string(),
  isDemo: z.boolean(),
});
export type WorkspaceInfo = z.infer<typeof WorkspaceInfoSchema>;

export const AppInfoSchema = z.object({
  name: z.string(),
  version: z.string(),
  host: z.enum(['desktop', 'web', 'cli']),
  enginePid: z.number(),
  engineStartedAt: z.number(),
  nodeVersion: z.string(),
  workspace: WorkspaceInfoSchema,
});
export type AppInfo = z.infer<typeof AppInfoSchema>;

export const StreamStatsSchema = z.object({
  stream: z.string(),
  count: z.number(),
  bytes: z.number(),
  firstEventTime: z.number().nullable(),
  lastEventTime: z.number().nullable(),
  firstIngestTime: z.number().nullable(),
  lastIngestTime: z.number().nullable(),
  rate: z.number(),
});

export const StoredEventSchema = z.object({
  seq: z.number(),
  size: z.number(),
  stream: z.string(),
  position: z.string(),
  key: JsonValueSchema.nullable(),
  value: JsonValueSchema.nullable(),
  valueBytes: z.string().optional(),
  decodeError: z.string().optional(),
  headers: z.array(HeaderSchema),
  op: OpSchema.optional(),
  eventTime: z.number(),
  ingestTime: z.number(),
});

const TimeRange = { from: z.number().optional(), to: z.number().optional() };

export const ReadEventsRequestSchema = z
  .object({
    stream: z.string().min(1),
    /** Newest first (the explorer's default) or oldest first (replay order). */
    direction: z.enum(['newest', 'oldest']).default('newest'),
    limit: z.number().int().min(1).max(5000).default(200),
    /** Opaque keyset cursor from the previous page's `nextCursor`. */
    cursor: z.string().max(200).optional(),
    eventTime: z.object(TimeRange).strict().optional(),
    ingestTime: z.object(TimeRange).strict().optional(),
  })
  .strict();

export const EventPageSchema = z.object({
  events: z.array(StoredEventSchema),
  nextCursor: z.string().nullable(),
});

export const QueryLogRequestSchema = z
  .object({
    sql: z.string().min(1).max(100_000),
    maxRows: z.number().int().min(1).max(100_000).default(1000),
    timeoutMs: z.number().int().min(10).max(120_000).default(10_000),
    /** Names the query so that `cancelQuery` can stop it. */
    queryId: z.string().min(1).max(100).optional(),
  })
  .strict();

export const QueryResultSchema = z.object({
  columns: z.array(z.string()),
  rows: z.array(z.array(JsonValueSchema)),
  truncated: z.boolean(),
  elapsedMs: z.number(),
  /** The log was too big to join (over 10 segments or 256 MB): it ran once per segment, so ORDER BY, LIMIT and aggregates apply within each. */
  perSegment: z.boolean().optional(),
});

export const ProblemSchema = z.object({
  id: z.string(),
  severity: z.enum(['error', 'warning', 'info']),
  source: z.string(),
  message: z.string(),
  at: z.number(),
});
export type Problem = z.infer<typeof ProblemSchema>;

/** A long-running piece of work (capture, replay, bulk produce, export) with progress and cancel. */
export const JobSchema = z.object({
  id: z.string(),
  kind: z.string(),
  title: z.string(),
  state: z.enum(['running', 'succeeded', 'failed', 'cancelled']),
  /** Units done so far and the total when known (events, bytes, rows). */
  done: z.number(),
  total: z.number().nullable(),
  unit: z.string(),
  /** Units per second over the last few seconds. */
  rate: z.number(),
  message: z.string().optional(),
  error: ErrorEnvelopeSchema.optional(),
  /** Event-log streams the job writes (captures): the UI links to them. */
  streams: z.array(z.string()).optional(),
  startedAt: z.number(),
  endedAt: z.number().optional(),
});
export type Job = z.infer<typeof JobSchema>;

// ---------------------------------------------------------------------------------------------
// Commands: request and response schemas, one entry per command.

export const coreCommands = {
  getAppInfo: { request: Empty, response: AppInfoSchema },
  listStreams: { request: Empty, response: z.array(StreamStatsSchema) },
  readEvents: { request: ReadEventsRequestSchema, response: EventPageSchema },
  queryLog: { request: QueryLogRequestSchema, response: QueryResultSchema },
  /** Stops a running `queryLog` by its queryId (the query then fails with CANCELLED). */
  cancelQuery: { request: z.object({ queryId: z.string().min(1).max(100) }).strict(), response: z.object({ cancelled: z.boolean() }) },
  listProblems: { request: Empty, response: z.array(ProblemSchema) },
  listJobs: { request: Empty, response: z.array(JobSchema) },
  cancelJob: { request: z.object({ id: z.string() }).strict(), response: JobSchema },
} as const satisfies CommandTable;

/** Every command: the core ones and each feature's table (shared/contracts/). */
export const commands = {
  ...coreCommands,
  ...connectionCommands,
  ...kafkaCommands,
  ...cdcCommands,
  ...transformCommands,
  ...pipelineCommands,
  ...explorerCommands,
  ...exportCommands,
} as const;

export type Commands = typeof commands;
export type CommandName = Extract<keyof Commands, string>;
export const commandNames = Object.keys(commands) as CommandName[];

/** What a caller passes (defaults may be omitted). */
export type RequestOf<K extends CommandName> = z.input<Commands[K]['request']>;
/** What a handler receives after validation (defaults filled in). */
export type ParsedRequestOf<K extends CommandName> = z.output<Commands[K]['request']>;
export type ResponseOf<K extends CommandName> = z.output<Commands[K]['response']>;

// ---------------------------------------------------------------------------------------------
// Event streams pushed from the engine (or its host) to every connected UI.

export const EngineStatusSchema = z.object({
  state: z.enum(['starting', 'ready', 'crashed', 'restarting', 'stopped']),
  message: z.string().optional(),
  pid: z.number().optional(),
  restarts: z.number(),
  at: z.number(),
});
export type EngineStatus = z.infer<typeof EngineStatusSchema>;
/** Exit code of an engine that cannot open its workspace until the user acts (EX_CONFIG): hosts stop instead of restarting it. */
export const ENGINE_EXIT_CANNOT_OPEN = 78;

export const coreEvents = {
  /** Engine lifecycle, emitted by the host that supervises the engine process. */
  onEngineStatus: EngineStatusSchema,
  /** Streams that received events, for live views (batched by the engine). */
  onLogAppended: z.object({ streams: z.array(z.object({ stream: z.string(), count: z.number() })) }),
  /** Something the user should see: quarantined files, paused appends, failed captures. */
  onProblem: ProblemSchema,
  /** Progress of long-running jobs, at most 10 updates a second per job. */
  onJobProgress: JobSchema,
} as const satisfies EventTable;

export const eventStreams = {
  ...coreEvents,
  ...connectionEvents,
  ...kafkaEvents,
  ...cdcEvents,
  ...transformEvents,
  ...pipelineEvents,
  ...explorerEvents,
  ...exportEvents,
} as const;

export type EventStreams = typeof eventStreams;
export type EventStreamName = Extract<keyof EventStreams, string>;
export const eventStreamNames = Object.keys(eventStreams) as EventStreamName[];
export type EventPayloadOf<K extends EventStreamName> = z.output<EventStreams[K]>;

// ---------------------------------------------------------------------------------------------
// The typed client surface: one method per command, one `onX` per stream (returns a disposer).

export type EngineApi = {
  [K in CommandName]: (request: RequestOf<K>) => Promise<ResponseOf<K>>;
} & {
  [K in EventStreamName]: (listener: (payload: EventPayloadOf<K>) => void) => () => void;
};

// ---------------------------------------------------------------------------------------------
// Wire messages between a host and the engine, and over the web-mode WebSocket.

export const WireRequestSchema = z.object({
  kind: z.literal('request'),
  id: z.number().int(),
  command: z.string().max(100),
  payload: z.unknown(),
});
export type WireRequest = z.infer<typeof WireRequestSchema>;

export type WireResponse =
  | { kind: 'response'; id: number; ok: true; result: unknown }
  | { kind: 'response'; id: number; ok: false; error: ErrorEnvelope };

export type WireEvent = { kind: 'event'; stream: EventStreamName; payload: unknown };

/** Secret operations the engine asks its host for: secrets live with the host, never the engine. */
export type SecretsCall =
  | { op: 'resolve'; ref: string }
  | { op: 'store'; name: string; value: string; persist: boolean }
  | { op: 'remove'; name: string }
  | { op: 'status' };

/** The engine asking its host for something only the host has. */
export type HostRequest = { kind: 'host-request'; id: number; method: 'secrets'; params: SecretsCall };
export type HostResponse =
  | { kind: 'host-response'; id: number; ok: true; result: unknown }
  | { kind: 'host-response'; id: number; ok: false; error: ErrorEnvelope };

export type WireMessage = WireRequest | WireResponse | WireEvent | HostRequest | HostResponse;

export function isCommandName(name: string): name is CommandName {
  return Object.prototype.hasOwnProperty.call(commands, name);
}
