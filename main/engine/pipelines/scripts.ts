// How pipeline stages run transform scripts: the ScriptExecutor port, the conversions between the
// pipeline's events and the transform API's (shared/transform-api.ts), and a trusted in-process
// executor for the engine's own tests and benchmarks.
//
// In the app, scripts are untrusted and run in the transforms feature's QuickJS sandbox (see
// sandbox-executor.ts); the in-process executor is NOT a security boundary (node:vm) and is only
// chosen when the caller says the code is trusted or the sandbox is unavailable (with a warning).
import vm from 'node:vm';
import type { JsonValue, Header } from '../../../shared/events.js';
import type { OperatorContext, PipelineEvent, StageError, TableLookup } from './model.js';
import { cloneJson, keyText } from './paths.js';

export interface ScriptModule {
  /** Workspace-relative path, for error messages and source lines. */
  file: string;
  source: string;
  exportName: string;
  /** Already compiled for the sandbox (the exported runner's bundle); `source` is then unused. */
  sandbox?: SandboxCode | undefined;
}

/** A script compiled for the QuickJS sandbox: code and its source map (JSON), serializable. */
export interface SandboxCode {
  code: string;
  sourceMap: string;
  /** Characters prepended to the first line (columns there shift by it). */
  prefixLength: number;
}

export interface ScriptCall {
  event: PipelineEvent;
  /** Keyed stages: `context.state` is scoped to this key (its canonical text). */
  scope?: string | undefined;
}

export type ScriptCallResult =
  | { ok: true; outputs: PipelineEvent[]; writes: [string, JsonValue | null][]; logs: string[] }
  | { ok: false; error: StageError; logs: string[] };

export interface ScriptEnvironment {
  now: () => number;
  tables: TableLookup;
}

/**
 * One loaded script with its own state. Calls run in order; a failing call keeps none of its state
 * writes and later calls still run (record-level isolation, as the transform API promises).
 */
export interface ScriptSession {
  run(calls: ScriptCall[], environment: ScriptEnvironment): Promise<ScriptCallResult[]>;
  close(): Promise<void>;
}

export interface ScriptExecutor {
  readonly name: string;
  /** Compiles and loads `module`; `state` is the committed state as [scoped key, value] entries. */
  open(module: ScriptModule, state: [string, JsonValue][]): Promise<ScriptSession>;
  close?(): Promise<void>;
}

/** Loads a stage's script source from the workspace (or a test's fixtures). */
export type ScriptLoader = (file: string) => Promise<string>;

/** State keys of keyed stages are `<key text>\u0000<name>`: one namespace per stage, scoped per key. */
export function scopedStateKey(scope: string | undefined, name: string): string {
  return scope === undefined ? name : `${scope}\u0000${name}`;
}

export function isEnvelope(value: JsonValue | null): value is { [key: string]: JsonValue } {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && 'op' in value && ('after' in value || 'before' in value);
}

/**
 * The event a transform receives: CDC envelopes have `before`, `after` and `source` lifted. Key and
 * value are shared with the pipeline's record, not copied (copies cost more than the transform):
 * the sandbox serializes them anyway, and in-process scripts are trusted code.
 */
export function toTransformEvent(event: PipelineEvent): Record<string, unknown> {
  const out: Record<string, unknown> = {
    stream: event.stream,
    position: event.position,
    key: event.key,
    value: event.value,
    headers: event.headers,
    eventTime: event.eventTime,
    ingestTime: event.ingestTime,
  };
  if (event.op !== undefined) out.op = event.op;
  if (event.decodeError !== undefined) out.decodeError = event.decodeError;
  const value = out.value as JsonValue | null;
  if (isEnvelope(value)) {
    out.before = value.before ?? null;
    out.after = value.after ?? null;
    out.source = value.source ?? null;
    out.op ??= value.op;
  }
  return out;
}

function isJson(value: unknown, depth = 0): value is JsonValue {
  if (depth > 64) return false;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) if (!isJson(value[index], depth + 1)) return false;
    return true;
  }
  if (typeof value === 'object') {
    // Plain objects only, from any realm (in-process scripts build theirs in a vm context).
    const prototype = Object.getPrototypeOf(value) as object | null;
    if (prototype !== null && Object.getPrototypeOf(prototype) !== null) return false;
    // A loop, not Object.values(): this runs for every output of every record.
    for (const key in value) {
      if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
      const item = (value as Record<string, unknown>)[key];
      if (item !== undefined && !isJson(item, depth + 1)) return false;
    }
    return true;
  }
  return false;
}

/** What a transform returned, as pipeline events; throws a StageError-shaped object when it is not events. */
export function fromTransformResult(result: unknown, input: PipelineEvent, stream: string): PipelineEvent[] {
  if (result === undefined || result === null) return [];
  const list = Array.isArray(result) ? result : [result];
  return list.map((item, index) => {
    if (item === null || typeof item !== 'object' || !('value' in item)) {
      throw { name: 'OutputError', message: `Output ${index} is not an event: return { value, key?, headers?, eventTime? } (or an array of them, or null).` } satisfies StageError;
    }
    const output = item as { key?: unknown; value: unknown; headers?: unknown; eventTime?: unknown };
    const value = output.value ?? null;
    if (!isJson(value)) throw { name: 'OutputError', message: `Output ${index}: value is not JSON (functions, classes, NaN or cycles cannot be stored).` } satisfies StageError;
    if (output.key !== undefined && !isJson(output.key)) throw { name: 'OutputError', message: `Output ${index}: key is not JSON.` } satisfies StageError;
    const key = output.key === undefined ? input.key : (output.key as JsonValue);
    let headers: Header[] = input.headers;
    if (Array.isArray(output.headers)) headers = output.headers.map((header: { key: unknown; value: unknown }) => ({ key: String(header.key), value: String(header.value) }));
    else if (output.headers && typeof output.headers === 'object') headers = Object.entries(output.headers as Record<string, unknown>).map(([key, headerValue]) => ({ key, value: String(headerValue) }));
    const eventTime = typeof output.eventTime === 'number' && Number.isFinite(output.eventTime) ? output.eventTime : input.eventTime;
    const event: PipelineEvent = { stream, position: input.position, key, value, headers, eventTime, ingestTime: input.ingestTime };
    if (value === null && input.op !== undefined) event.op = 'd';
    return event;
  });
}

// ---------------------------------------------------------------------------------------------
// The trusted in-process executor.

// Shared by every record that logs nothing / writes no state (most): one allocation less each.
const NO_LOGS: string[] = [];
const NO_WRITES: [string, JsonValue | null][] = [];

async function compileModule(module: ScriptModule): Promise<string> {
  try {
    // Loaded on use: the exported runner ships precompiled scripts and no esbuild.
    const { transform: esbuildTransform } = await import('esbuild');
    const result = await esbuildTransform(module.source, {
      loader: module.file.endsWith('.js') ? 'js' : 'ts',
      format: 'cjs',
      target: 'es2022',
      sourcefile: module.file,
      sourcemap: 'inline',
    });
    return result.code;
  } catch (error) {
    const first = (error as { errors?: { text: string; location?: { line: number; column: number } }[] }).errors?.[0];
    throw Object.assign(new Error(`${module.file}${first?.location ? `:${first.location.line}:${first.location.column + 1}` : ''}: ${first?.text ?? (error as Error).message}`), {
      line: first?.location?.line,
    });
  }
}

function errorLine(error: unknown, file: string): number | undefined {
  const stack = typeof (error as { stack?: unknown } | null)?.stack === 'string' ? (error as { stack: string }).stack : '';
  const match = new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+)`).exec(stack);
  return match ? Number(match[1]) : undefined;
}

export class InProcessScriptExecutor implements ScriptExecutor {
  readonly name = 'in-process (trusted code only: node:vm is not a sandbox)';

  async open(module: ScriptModule, state: [string, JsonValue][]): Promise<ScriptSession> {
    const code = await compileModule(module);
    const exports: Record<string, unknown> = {};
    const sandbox = vm.createContext({ module: { exports }, exports, console: { log() {}, info() {}, warn() {}, error() {}, debug() {} } });
    new vm.Script(code, { filename: module.file }).runInContext(sandbox, { timeout: 5000 });
    const moduleExports = (sandbox.module as { exports: Record<string, unknown> }).exports;
    const fn = module.exportName === 'default' ? (moduleExports.default ?? moduleExports) : moduleExports[module.exportName];
    if (typeof fn !== 'function') throw new Error(`${module.file} does not export a function named "${module.exportName}".`);
    const committed = new Map<string, JsonValue>(state);
    return {
      async run(calls, environment) {
        const results: ScriptCallResult[] = [];
        // One context per batch, pointed at the current record: no closures per record.
        let call: ScriptCall = calls[0]!;
        let writes: Map<string, JsonValue | null> | undefined;
        let logs: string[] = NO_LOGS;
        const line = (level: string) => (...args: unknown[]) => void (logs === NO_LOGS ? (logs = []) : logs).push(`${level}: ${args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' ')}`);
        const context = Object.freeze({
          state: Object.freeze({
            get: (name: string) => {
              const key = scopedStateKey(call.scope, name);
              return cloneJson(writes?.has(key) ? (writes.get(key) ?? undefined) : committed.get(key));
            },
            put: (name: string, value: JsonValue) => {
              if (!isJson(value)) throw new TypeError(`state.put("${name}"): the value is not JSON.`);
              (writes ??= new Map()).set(scopedStateKey(call.scope, name), cloneJson(value));
            },
            delete: (name: string) => void (writes ??= new Map()).set(scopedStateKey(call.scope, name), null),
          }),
          lookup: (table: string, key: JsonValue) => cloneJson(environment.tables.asOf(table, key, call.event.eventTime) ?? null),
          log: Object.freeze({ debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') }),
          now: environment.now,
        });
        for (const current of calls) {
          call = current;
          writes = undefined;
          logs = NO_LOGS;
          try {
            let returned = (fn as (event: unknown, context: unknown) => unknown)(toTransformEvent(call.event), context);
            // Awaited only when it is a promise: an await per record costs a microtask turn each.
            if (returned !== null && typeof returned === 'object' && typeof (returned as { then?: unknown }).then === 'function') returned = await returned;
            const outputs = fromTransformResult(returned, call.event, '');
            const changed: [string, JsonValue | null][] = writes ? [...writes] : NO_WRITES;
            for (const [key, value] of changed) {
              if (value === null) committed.delete(key);
              else committed.set(key, value);
            }
            results.push({ ok: true, outputs, writes: changed, logs });
          } catch (error) {
            const stageError: StageError =
              error instanceof Error || (error !== null && typeof error === 'object' && 'stack' in error && 'message' in error)
                ? { name: String((error as Error).name), message: String((error as Error).message), line: errorLine(error, module.file), stack: (error as Error).stack }
                : error && typeof error === 'object' && 'message' in error
                  ? (error as StageError)
                  : { name: 'Error', message: String(error) };
            results.push({ ok: false, error: stageError, logs });
          }
        }
        return results;
      },
      async close() {},
    };
  }
}

/** For messages: a key's text without JSON quotes when it is a plain string. */
export function displayKey(key: JsonValue | undefined): string {
  const text = keyText(key);
  return text.startsWith('"') ? (JSON.parse(text) as string) : text;
}

export type { OperatorContext };
