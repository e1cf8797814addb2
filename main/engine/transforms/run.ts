// Runs a compiled transform over events in the sandbox and turns raw results into the contract's
// per-record shape: outputs validated and defaulted (key and event time from the input), errors
// with the source line that threw, log lines, state changes and the field-level diff. The preview,
// the test runner, `eddy test` and version comparison all go through here, so they agree.
import type { Diagnostic, FixtureEvent, FixtureTables, OutputEvent, PreviewRecord, RecordError, TimeControl } from '../../../shared/contracts/transforms.js';
import type { Header, JsonValue } from '../../../shared/events.js';
import { mapStack, type CompiledTransform } from './compile.js';
import { diffFields } from './diff.js';
import { SandboxLoadError, type RawRecordResult, type TransformPool } from './sandbox/pool.js';
import type { SandboxLimits } from './sandbox/quickjs-host.js';
import { timeOf, type LookupSource } from './tables.js';

export interface RunSpec {
  compiled: CompiledTransform;
  events: readonly FixtureEvent[];
  time?: TimeControl;
  initialState?: Record<string, JsonValue>;
  tables?: FixtureTables;
  lookupSource?: LookupSource;
  limits?: Partial<SandboxLimits>;
  batchSize?: number;
  signal?: AbortSignal;
}

export interface RunOutcome {
  ok: boolean;
  diagnostics: Diagnostic[];
  records: PreviewRecord[];
  finalState: Record<string, JsonValue>;
  elapsedMs: number;
}

/** The event as a transform receives it: bytes that could not be decoded stay behind. */
export function transformInput(event: FixtureEvent): Record<string, unknown> {
  const input: Record<string, unknown> = {
    stream: event.stream,
    position: event.position,
    key: event.key,
    value: event.value,
    headers: event.headers,
    eventTime: event.eventTime,
    ingestTime: event.ingestTime,
  };
  if (event.op !== undefined) input.op = event.op;
  if (event.decodeError !== undefined) input.decodeError = event.decodeError;
  return input;
}

/** The row a change event describes (after, else before), or the value itself. */
export function inputRow(event: FixtureEvent): JsonValue {
  const value = event.value;
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && ('after' in value || 'before' in value)) {
    return (value.after ?? value.before ?? null) as JsonValue;
  }
  return value;
}

export function nowFor(event: FixtureEvent, index: number, time: TimeControl | undefined): number {
  return time ? timeOf(time.now) + index * (time.stepMs ?? 0) : event.ingestTime;
}

export async function runTransform(pool: TransformPool, spec: RunSpec): Promise<RunOutcome> {
  const started = Date.now();
  const empty = (diagnostics: Diagnostic[]): RunOutcome => ({ ok: false, diagnostics, records: [], finalState: { ...spec.initialState }, elapsedMs: Date.now() - started });
  if (!spec.compiled.ok) return empty(spec.compiled.diagnostics);
  let session;
  try {
    session = await pool.open({
      code: spec.compiled.code,
      filename: spec.compiled.filename,
      ...(spec.initialState ? { initialState: spec.initialState } : {}),
      ...(spec.tables ? { tables: spec.tables } : {}),
      ...(spec.lookupSource ? { lookupSource: spec.lookupSource } : {}),
      ...(spec.limits ? { limits: spec.limits } : {}),
    });
  } catch (error) {
    if (error instanceof SandboxLoadError) return empty([...spec.compiled.diagnostics, loadDiagnostic(spec.compiled, error)]);
    throw error;
  }
  try {
    const records: PreviewRecord[] = [];
    const size = spec.batchSize ?? 500;
    for (let start = 0; start < spec.events.length; start += size) {
      spec.signal?.throwIfAborted();
      const slice = spec.events.slice(start, start + size);
      const raw = await session.runBatch(slice.map((event, offset) => ({ event: transformInput(event), now: nowFor(event, start + offset, spec.time) })));
      raw.forEach((result, offset) => records.push(toRecord(spec.compiled, start + offset, slice[offset]!, result)));
    }
    return { ok: true, diagnostics: spec.compiled.diagnostics, records, finalState: Object.fromEntries(session.state), elapsedMs: Date.now() - started };
  } finally {
    session.close();
  }
}

function loadDiagnostic(compiled: CompiledTransform, error: SandboxLoadError): Diagnostic {
  const mapped = mapStack(compiled, error.raw.stack);
  const stopped = error.raw.name === 'TimeoutError';
  return {
    severity: 'error',
    message: stopped ? error.raw.message : `The module failed to load: ${error.raw.name}: ${error.raw.message}`,
    line: mapped.line ?? 1,
    column: mapped.column ?? 1,
    source: 'load',
  };
}

export function toRecord(compiled: CompiledTransform, index: number, input: FixtureEvent, raw: RawRecordResult): PreviewRecord {
  let error: RecordError | null = null;
  let outputs: OutputEvent[] = [];
  if (raw.error) {
    const mapped = mapStack(compiled, raw.error.stack);
    error = { kind: raw.error.kind, name: raw.error.name, message: raw.error.message, line: mapped.line, column: mapped.column, ...(mapped.stack ? { stack: mapped.stack } : {}) };
  } else {
    const normalized = normalizeOutputs(raw.output, input);
    if (typeof normalized === 'string') error = { kind: 'output', name: 'OutputError', message: normalized, line: null, column: null };
    else outputs = normalized;
  }
  const first = outputs[0];
  return {
    index,
    input,
    outputs,
    logs: raw.logs,
    error,
    changes: first ? diffFields(inputRow(input), first.value ?? undefined) : [],
    stateChanges: raw.stateChanges,
  };
}

const OUTPUT_FIELDS = new Set(['key', 'value', 'headers', 'eventTime']);

/** Validates what a script returned; a string is the reason it is not events. */
export function normalizeOutputs(raw: unknown, input: FixtureEvent): OutputEvent[] | string {
  if (raw === undefined || raw === null) return [];
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length > 10_000) return `returned ${list.length} events for one input (at most 10,000)`;
  const outputs: OutputEvent[] = [];
  for (let index = 0; index < list.length; index++) {
    const item = list[index] as unknown;
    const where = list.length > 1 || Array.isArray(raw) ? `output #${index + 1}: ` : '';
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      return `${where}a transform returns events as { key?, value, headers?, eventTime? } (got ${Array.isArray(item) ? 'an array' : JSON.stringify(item)})`;
    }
    const record = item as Record<string, unknown>;
    if (!Object.prototype.hasOwnProperty.call(record, 'value')) {
      const fields = Object.keys(record).slice(0, 5).join(', ');
      return `${where}an output event needs a \`value\` (got an object with ${fields || 'no fields'}); return { value: { ... } }`;
    }
    const unknown = Object.keys(record).filter((key) => !OUTPUT_FIELDS.has(key));
    if (unknown.length > 0) return `${where}unknown field(s) ${unknown.join(', ')}: an output event has key, value, headers and eventTime`;
    const eventTime = record.eventTime === undefined ? input.eventTime : record.eventTime;
    if (typeof eventTime !== 'number' || !Number.isFinite(eventTime)) return `${where}eventTime must be a number of milliseconds`;
    const headers = normalizeHeaders(record.headers);
    if (typeof headers === 'string') return `${where}${headers}`;
    outputs.push({
      key: record.key === undefined ? input.key : (record.key as JsonValue),
      value: record.value as JsonValue,
      headers,
      eventTime,
    });
  }
  return outputs;
}

function normalizeHeaders(headers: unknown): Header[] | string {
  if (headers === undefined || headers === null) return [];
  if (Array.isArray(headers)) {
    const list: Header[] = [];
    for (const header of headers as unknown[]) {
      const item = header as { key?: unknown; value?: unknown } | null;
      if (!item || typeof item.key !== 'string' || typeof item.value !== 'string') return 'headers must be { key, value } pairs of strings';
      list.push({ key: item.key, value: item.value });
    }
    return list;
  }
  if (typeof headers === 'object') {
    return Object.entries(headers as Record<string, unknown>).map(([key, value]) => ({ key, value: typeof value === 'string' ? value : JSON.stringify(value) }));
  }
  return 'headers must be an array of { key, value } or an object of strings';
}
