// The transform API (DESIGN.md 5): what a transform script sees. A transform is a module whose
// default export is a function from an event and a context to zero, one or many events. The same
// declarations are served to Monaco (`transformApiDeclarations`, as the ambient module 'eddy') and
// used by the engine, so the editor, the sandbox and the tests agree on one shape. Event types per
// stream are inferred from captured samples and added to `StreamEvents` by module augmentation.
//
// Keep the region between the API markers and `transformApiDeclarations` identical: a unit test
// (test/unit/transforms/transform-api.test.ts) compares them.

// API:BEGIN
/** Any JSON value: what events, state and lookups carry. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object, the shape of a row. */
export type JsonObject = { [key: string]: JsonValue };
/** CDC operation codes, as in the Debezium envelope: create, update, delete, read (snapshot). */
export type Op = 'c' | 'u' | 'd' | 'r';
/** One record header (Kafka headers; empty for CDC events). */
export interface EventHeader {
  key: string;
  value: string;
}

/** An event from the log, as a transform receives it. */
export interface TransformEvent<Value = JsonValue, Key = JsonValue> {
  /** The stream it was captured from, for example `kafka:orders` or `sqlserver:shop.dbo.Orders`. */
  readonly stream: string;
  /** The source position (topic/partition/offset, LSNs): the event's identity. */
  readonly position: string;
  readonly key: Key;
  readonly value: Value;
  readonly headers: EventHeader[];
  /** CDC operation, when the stream is a change stream. */
  readonly op?: Op;
  /** Milliseconds since the epoch: commit time for CDC, record timestamp for Kafka. */
  readonly eventTime: number;
  /** Milliseconds since the epoch when Eddy captured the event. */
  readonly ingestTime: number;
  /** Set when the value could not be decoded (then `value` is null). */
  readonly decodeError?: string;
}

/** The `source` block of a Debezium change event. */
export interface ChangeSource {
  connector: string;
  name: string;
  ts_ms: number;
  db: string;
  table: string;
  schema?: string;
  snapshot?: string | boolean;
  [field: string]: JsonValue | undefined;
}

/** The Debezium change-event envelope, field for field. */
export interface ChangeEnvelope<Row = JsonObject> {
  before: Row | null;
  after: Row | null;
  source: ChangeSource;
  op: Op;
  ts_ms: number;
  transaction?: JsonValue;
}

/** A change event (CDC): the envelope's `before`, `after` and `source` are lifted onto the event. */
export interface ChangeEvent<Row = JsonObject, Key = JsonValue> extends TransformEvent<ChangeEnvelope<Row>, Key> {
  readonly op: Op;
  /** The row before the change: null for inserts (`c`) and snapshot reads (`r`). */
  readonly before: Row | null;
  /** The row after the change: null for deletes (`d`). */
  readonly after: Row | null;
  readonly source: ChangeSource;
}

/** An event of a stream whose shape is not known: CDC fields are there when the value is an envelope. */
export interface AnyEvent extends TransformEvent<JsonValue, JsonValue> {
  readonly before?: JsonObject | null;
  readonly after?: JsonObject | null;
  readonly source?: ChangeSource;
}

/**
 * What a transform returns for each event it emits. `key` defaults to the input event's key and
 * `eventTime` to its event time.
 */
export interface OutputEvent<Value = JsonValue, Key = JsonValue> {
  key?: Key;
  value: Value;
  headers?: EventHeader[] | { [key: string]: string };
  eventTime?: number;
}

/** Zero (null, undefined or []), one or many events. */
export type TransformResult = OutputEvent | OutputEvent[] | null | undefined | void;

/** Keyed state that lives with the transform across events (and batches); values are JSON. */
export interface KeyedState {
  get<T extends JsonValue = JsonValue>(key: string): T | undefined;
  put(key: string, value: JsonValue): void;
  delete(key: string): void;
}

/** Lines logged while processing an event are shown beside that event. */
export interface TransformLogger {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

export interface TransformContext {
  /** Keyed state: a write is kept only if the event is processed without an error. */
  readonly state: KeyedState;
  /**
   * The row of `table` (a CDC stream name, for example `sqlserver:shop.dbo.Customers`) with this
   * key, as it was at the event's time; null when there was none.
   */
  lookup<Row extends JsonValue = JsonObject>(table: string, key: JsonValue): Row | null;
  readonly log: TransformLogger;
  /** Processing time in milliseconds: the capture time in previews, controlled by tests. */
  now(): number;
}

/** Event types per stream, inferred from captured samples (augmented by the editor). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface StreamEvents {}

/** The event type of a stream name, or the event type itself. */
export type EventOf<S> = S extends keyof StreamEvents ? StreamEvents[S] : S extends TransformEvent<unknown, unknown> ? S : AnyEvent;

/** A transform: `export default` one. `Transform<'sqlserver:shop.dbo.Orders'>` types the event. */
export type Transform<S = AnyEvent> = (event: EventOf<S>, ctx: TransformContext) => TransformResult | Promise<TransformResult>;
// API:END

/** The module name transforms import types from: `import type { Transform } from 'eddy'`. */
export const TRANSFORM_API_MODULE = 'eddy';

/** The declarations above, as text for Monaco and the engine's type checks. */
export const transformApiDeclarations = `declare module 'eddy' {
/** Any JSON value: what events, state and lookups carry. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object, the shape of a row. */
export type JsonObject = { [key: string]: JsonValue };
/** CDC operation codes, as in the Debezium envelope: create, update, delete, read (snapshot). */
export type Op = 'c' | 'u' | 'd' | 'r';
/** One record header (Kafka headers; empty for CDC events). */
export interface EventHeader {
  key: string;
  value: string;
}

/** An event from the log, as a transform receives it. */
export interface TransformEvent<Value = JsonValue, Key = JsonValue> {
  /** The stream it was captured from, for example \`kafka:orders\` or \`sqlserver:shop.dbo.Orders\`. */
  readonly stream: string;
  /** The source position (topic/partition/offset, LSNs): the event's identity. */
  readonly position: string;
  readonly key: Key;
  readonly value: Value;
  readonly headers: EventHeader[];
  /** CDC operation, when the stream is a change stream. */
  readonly op?: Op;
  /** Milliseconds since the epoch: commit time for CDC, record timestamp for Kafka. */
  readonly eventTime: number;
  /** Milliseconds since the epoch when Eddy captured the event. */
  readonly ingestTime: number;
  /** Set when the value could not be decoded (then \`value\` is null). */
  readonly decodeError?: string;
}

/** The \`source\` block of a Debezium change event. */
export interface ChangeSource {
  connector: string;
  name: string;
  ts_ms: number;
  db: string;
  table: string;
  schema?: string;
  snapshot?: string | boolean;
  [field: string]: JsonValue | undefined;
}

/** The Debezium change-event envelope, field for field. */
export interface ChangeEnvelope<Row = JsonObject> {
  before: Row | null;
  after: Row | null;
  source: ChangeSource;
  op: Op;
  ts_ms: number;
  transaction?: JsonValue;
}

/** A change event (CDC): the envelope's \`before\`, \`after\` and \`source\` are lifted onto the event. */
export interface ChangeEvent<Row = JsonObject, Key = JsonValue> extends TransformEvent<ChangeEnvelope<Row>, Key> {
  readonly op: Op;
  /** The row before the change: null for inserts (\`c\`) and snapshot reads (\`r\`). */
  readonly before: Row | null;
  /** The row after the change: null for deletes (\`d\`). */
  readonly after: Row | null;
  readonly source: ChangeSource;
}

/** An event of a stream whose shape is not known: CDC fields are there when the value is an envelope. */
export interface AnyEvent extends TransformEvent<JsonValue, JsonValue> {
  readonly before?: JsonObject | null;
  readonly after?: JsonObject | null;
  readonly source?: ChangeSource;
}

/**
 * What a transform returns for each event it emits. \`key\` defaults to the input event's key and
 * \`eventTime\` to its event time.
 */
export interface OutputEvent<Value = JsonValue, Key = JsonValue> {
  key?: Key;
  value: Value;
  headers?: EventHeader[] | { [key: string]: string };
  eventTime?: number;
}

/** Zero (null, undefined or []), one or many events. */
export type TransformResult = OutputEvent | OutputEvent[] | null | undefined | void;

/** Keyed state that lives with the transform across events (and batches); values are JSON. */
export interface KeyedState {
  get<T extends JsonValue = JsonValue>(key: string): T | undefined;
  put(key: string, value: JsonValue): void;
  delete(key: string): void;
}

/** Lines logged while processing an event are shown beside that event. */
export interface TransformLogger {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

export interface TransformContext {
  /** Keyed state: a write is kept only if the event is processed without an error. */
  readonly state: KeyedState;
  /**
   * The row of \`table\` (a CDC stream name, for example \`sqlserver:shop.dbo.Customers\`) with this
   * key, as it was at the event's time; null when there was none.
   */
  lookup<Row extends JsonValue = JsonObject>(table: string, key: JsonValue): Row | null;
  readonly log: TransformLogger;
  /** Processing time in milliseconds: the capture time in previews, controlled by tests. */
  now(): number;
}

/** Event types per stream, inferred from captured samples (augmented by the editor). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface StreamEvents {}

/** The event type of a stream name, or the event type itself. */
export type EventOf<S> = S extends keyof StreamEvents ? StreamEvents[S] : S extends TransformEvent<unknown, unknown> ? S : AnyEvent;

/** A transform: \`export default\` one. \`Transform<'sqlserver:shop.dbo.Orders'>\` types the event. */
export type Transform<S = AnyEvent> = (event: EventOf<S>, ctx: TransformContext) => TransformResult | Promise<TransformResult>;
}

/** The console writes to the event's log lines, like ctx.log. */
declare const console: { log(...args: unknown[]): void; debug(...args: unknown[]): void; info(...args: unknown[]): void; warn(...args: unknown[]): void; error(...args: unknown[]): void };
`;
