// The event log's public surface (DESIGN.md 4): open a log folder and get the `EventLog` that
// appends durably, pages, replays, tails, answers read-only SQL, keeps stats and applies
// retention. Everything else in this folder is its implementation.
export { DEFAULT_MAX_EVENT_BYTES, openEventLog } from './event-log.js';
export type {
  AppendedEvent,
  AppendResult,
  EventLog,
  EventLogOptions,
  EventPage,
  IntegrityReport,
  LogProblem,
  ProblemSeverity,
  QueryOptions,
  QueryResult,
  ReadRequest,
  RejectedEvent,
  ReplayOptions,
  ReplayStart,
} from './event-log.js';
export type { RetentionPolicy } from './manifest.js';
export type { CrashPoint, DurabilityHooks } from './atomic-file.js';
export type { LogFs, LogFileHandle } from './fs-layer.js';
export { nodeFs } from './fs-layer.js';
export { attachValueJson, EncodedEvent, EventEncoder } from './event-codec.js';
export type { LogInput } from './event-codec.js';
