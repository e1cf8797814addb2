// The QuickJS side of the sandbox, run inside a worker thread (worker-entry.ts) and, for tests and
// the benchmark, directly. Each session gets its own WebAssembly instance whose memory cannot grow
// past the session's limit: QuickJS's own malloc limit is not enforced in this build (it cannot see
// allocation sizes), while a capped WebAssembly.Memory is a hard wall, and a broken instance is
// simply dropped. Three layers stop a hostile script: the interrupt handler (a per-record deadline
// read from a progress cell the runner writes), the memory cap, and the pool's watchdog that
// terminates a worker that stops answering.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  RELEASE_SYNC,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
  type QuickJSWASMModule,
} from 'quickjs-emscripten';
import { RUNNER_FILENAME, RUNNER_SOURCE } from './runner-source.js';
import { SessionTable } from './session-table.js';
import { indexTables, lookupAsOf, type IndexedTables } from '../tables.js';
import type { FixtureTables } from '../../../../shared/contracts/transforms.js';

export interface SandboxLimits {
  /** QuickJS heap limit per session (64 MB default). */
  memoryLimitBytes: number;
  /** Time one event may take before it is stopped (750 ms: an endless loop is reported within a second). */
  timeoutMs: number;
  /** QuickJS's own stack limit, well under the WebAssembly stack so deep recursion throws instead of trapping. */
  maxStackBytes: number;
  maxRecordChars: number;
  maxBatchChars: number;
  /** After this many stopped events in one batch the rest of the batch is skipped. */
  maxTimeoutsPerBatch: number;
}

export const DEFAULT_LIMITS: SandboxLimits = {
  memoryLimitBytes: 64 * 1024 * 1024,
  timeoutMs: 750,
  maxStackBytes: 384 * 1024,
  maxRecordChars: 4 * 1024 * 1024,
  maxBatchChars: 32 * 1024 * 1024,
  maxTimeoutsPerBatch: 3,
};

export interface OpenSpec {
  code: string;
  filename: string;
  limits: SandboxLimits;
  /** Committed state as [key, json] entries. */
  state: [string, string][];
  tables: FixtureTables | null;
  /** Ask the host (the engine) for tables not in `tables`. */
  remoteLookup: boolean;
}

export interface RawError {
  name: string;
  message: string;
  stack: string;
}

export interface HostHooks {
  /** Called at most every 200 ms while QuickJS runs, so the watchdog knows the worker lives. */
  onBusy?: () => void;
  /** Synchronous lookup in the engine's tables; a string of JSON, null, or `!message` on failure. */
  lookupRemote?: (table: string, keyJson: string, time: number) => string | null;
}

export interface RunOutput {
  /** JSON array of per-record entries `{i, o?, l?, s?, e?}` (records with nothing to say are left out). */
  entries: string;
  /** Contexts rebuilt during the batch (after a stopped async loop or an out-of-memory state). */
  rebuilt: number;
}

interface EmscriptenModule {
  HEAPU8: Uint8Array;
  lengthBytesUTF8: (text: string) => number;
  stringToUTF8: (text: string, pointer: number, maxBytes: number) => number;
}

interface Session {
  spec: OpenSpec;
  quickjs: QuickJSWASMModule;
  /** Set once the session was stopped or ran out of memory: it is replaced, never reused. */
  dirty: boolean;
  runtime: QuickJSRuntime;
  context: QuickJSContext;
  runner: QuickJSHandle;
  functions: Record<'begin' | 'step' | 'settle' | 'abort' | 'cursor' | 'take' | 'state', QuickJSHandle>;
  tables: IndexedTables;
  /** Byte address of the runner's progress cell in WebAssembly memory, when found. */
  cellAddress: number | null;
  lastSerial: number;
  deadline: number;
}

// The WebAssembly global, typed: Node's typings declare only its types here, not the value.
const wasmApi = (globalThis as unknown as {
  WebAssembly: { compile(bytes: Uint8Array): Promise<WebAssembly.Module>; Memory: new (descriptor: { initial: number; maximum: number }) => object };
}).WebAssembly;

class StopSignal extends Error {
  constructor(readonly kind: 'timeout' | 'memory' | 'crash', message: string) {
    super(message);
  }
}

/** The sandbox's engine name, for the UI and the report. */
export const SANDBOX_ENGINE = 'QuickJS (quickjs-emscripten 0.32, WebAssembly) in worker threads';

export class SandboxHost extends SessionTable<Session> {
  private lastBeat = 0;

  private constructor(
    private readonly wasm: WebAssembly.Module,
    private readonly hooks: HostHooks,
  ) {
    super();
  }

  /** `wasm`: the QuickJS module compiled once by the pool and shared by its workers (V8 shares the code and its tier-up). */
  static async create(hooks: HostHooks = {}, wasm?: WebAssembly.Module): Promise<SandboxHost> {
    return new SandboxHost(wasm ?? (await compileQuickJS()), hooks);
  }

  protected loadSession(spec: OpenSpec): Promise<Session> {
    return this.load(spec, spec.state);
  }

  protected loadError(error: unknown): RawError {
    return asRawError(error);
  }

  /** Runs one batch (a JSON array of `{e: event, n: now}`) and returns the per-record entries. */
  async run(id: string, batchJson: string): Promise<RunOutput> {
    let session = this.sessions.get(id);
    if (!session) throw new Error(`no sandbox session ${id}`);
    const chunks: string[] = [];
    let rebuilt = 0;
    let timeouts = 0;
    let total = this.call(session, 'begin', [batchJson, 0], 'number') as number;
    for (;;) {
      try {
        const outcome = this.call(session, 'step', [], 'number') as number;
        if (outcome === 0) break;
        this.drainJobs(session);
        // The record's promise may have been left pending by a stop inside a job.
        if (Date.now() > session.deadline) throw new StopSignal('timeout', 'interrupted');
        this.call(session, 'settle', [], 'none');
      } catch (error) {
        const stop = error instanceof StopSignal ? error : new StopSignal('crash', errorMessage(error));
        if (stop.kind === 'timeout') timeouts++;
        const cursor = this.safeCall(session, 'cursor', [], 'number') as number | undefined;
        // A stopped record may leave queued promise jobs or a full heap: carry the results and the
        // committed state over to a fresh instance, then go on with the next record.
        const taken = this.safeCall(session, 'take', [], 'string') as string | undefined;
        const state = this.safeCall(session, 'state', [], 'string') as string | undefined;
        if (taken !== undefined) chunks.push(taken);
        const position = cursor ?? 0;
        chunks.push(JSON.stringify([{ i: position, e: stopError(stop, session.spec.limits) }]));
        const spec = session.spec;
        session.dirty = true;
        this.dispose(session);
        session = await this.load(spec, state !== undefined ? (JSON.parse(state) as [string, string][]) : spec.state);
        this.sessions.set(id, session);
        rebuilt++;
        const next = position + 1;
        if (next >= total) break;
        if (timeouts >= spec.limits.maxTimeoutsPerBatch || taken === undefined) {
          const reason =
            taken === undefined
              ? 'skipped: the sandbox had to be rebuilt and the rest of this batch was abandoned'
              : `skipped: the transform was stopped on ${timeouts} events of this batch`;
          const skipped = [];
          for (let index = next; index < total; index++) skipped.push({ i: index, e: { kind: stop.kind, name: 'SkippedError', message: reason, stack: '' } });
          chunks.push(JSON.stringify(skipped));
          break;
        }
        total = this.call(session, 'begin', [batchJson, next], 'number') as number;
      }
    }
    const last = this.call(session, 'take', [], 'string') as string;
    chunks.push(last);
    // A record that caught its own out-of-memory or interruption leaves the instance suspect:
    // rebuild it from the committed state (read only then, not after every batch).
    if (last.includes('"InternalError"')) {
      const spec = session.spec;
      const state = this.safeCall(session, 'state', [], 'string') as string | undefined;
      session.dirty = true;
      this.dispose(session);
      this.sessions.set(id, await this.load(spec, state !== undefined ? (JSON.parse(state) as [string, string][]) : spec.state));
      rebuilt++;
    }
    return { entries: joinArrays(chunks), rebuilt };
  }

  // -------------------------------------------------------------------------------------------

  private async instance(limits: SandboxLimits): Promise<QuickJSWASMModule> {
    // 16 MB for the module's static data and stack, plus the session's heap limit.
    const pages = 256 + Math.ceil(limits.memoryLimitBytes / 65536);
    const memory = new wasmApi.Memory({ initial: 256, maximum: pages });
    const quickjs = await newQuickJSWASMModuleFromVariant(newVariant(RELEASE_SYNC, { wasmModule: this.wasm, wasmMemory: memory }));
    speedUpStrings(quickjs);
    return quickjs;
  }

  private async load(spec: OpenSpec, state: [string, string][]): Promise<Session> {
    const quickjs = await this.instance(spec.limits);
    const runtime = quickjs.newRuntime();
    runtime.setMemoryLimit(spec.limits.memoryLimitBytes);
    runtime.setMaxStackSize(spec.limits.maxStackBytes);
    const context = runtime.newContext();
    const session: Session = {
      spec: { ...spec, state },
      quickjs,
      dirty: false,
      runtime,
      context,
      runner: context.undefined,
      functions: {} as Session['functions'],
      tables: indexTables(spec.tables ?? {}),
      cellAddress: null,
      lastSerial: -1,
      deadline: 0,
    };
    runtime.setInterruptHandler(() => this.shouldInterrupt(session));
    try {
      this.arm(session);
      session.runner = unwrap(context, context.evalCode(RUNNER_SOURCE, RUNNER_FILENAME));
      for (const name of ['begin', 'step', 'settle', 'abort', 'cursor', 'take', 'state'] as const) session.functions[name] = context.getProp(session.runner, name);

      // The runner is set up before the script's module runs, so nothing the module's top level
      // does to the globals can reach the runner's own objects.
      const magic = [randomMagic(), randomMagic()];
      const config = JSON.stringify({ state, maxRecordChars: spec.limits.maxRecordChars, maxBatchChars: spec.limits.maxBatchChars, magic });
      const lookup = context.newFunction('lookup', (tableHandle, keyHandle, timeHandle) => {
        const answer = this.lookup(session, context.getString(tableHandle), context.getString(keyHandle), context.getNumber(timeHandle));
        return answer === null ? context.null : context.newString(answer);
      });
      const setup = context.getProp(session.runner, 'setup');
      const configHandle = context.newString(config);
      try {
        this.arm(session);
        unwrap(context, context.callFunction(setup, session.runner, configHandle, lookup)).dispose();
      } finally {
        configHandle.dispose();
        setup.dispose();
        lookup.dispose();
      }
      session.cellAddress = findCell(moduleOf(quickjs), magic[0]!, magic[1]!);

      this.arm(session);
      const exports = this.evalModule(session, spec.code, spec.filename);
      const fn = context.getProp(exports, 'default');
      exports.dispose();
      const init = context.getProp(session.runner, 'init');
      try {
        unwrap(context, context.callFunction(init, session.runner, fn)).dispose();
      } finally {
        init.dispose();
        fn.dispose();
      }
      return session;
    } catch (error) {
      this.dispose(session);
      throw error;
    }
  }

  private evalModule(session: Session, code: string, filename: string): QuickJSHandle {
    const { context } = session;
    const result = context.evalCode(code, filename, { type: 'module' });
    if (result.error) {
      const error = dumpError(context, result.error);
      result.error.dispose();
      throw classify(error) ?? Object.assign(new Error(error.message), { name: error.name, stack: error.stack, sandbox: true });
    }
    const handle = result.value;
    const state = context.getPromiseState(handle);
    if (state.type === 'fulfilled' && state.notAPromise) return handle;
    // Top-level await: run the jobs (under the same deadline) until the module settles.
    handle.dispose();
    if (state.type === 'fulfilled') return state.value;
    this.drainJobs(session);
    if (state.type === 'rejected') {
      const error = dumpError(context, state.error);
      state.error.dispose();
      throw Object.assign(new Error(error.message), { name: error.name, stack: error.stack, sandbox: true });
    }
    throw new Error('the module did not finish loading (top-level await that never settles)');
  }

  /** Runs queued promise jobs in slices, so a self-rescheduling chain cannot outlive the deadline. */
  private drainJobs(session: Session): void {
    for (;;) {
      const result = session.runtime.executePendingJobs(256);
      if (result.error) {
        const error = dumpError(session.context, result.error);
        result.error.dispose();
        const stop = classify(error);
        if (stop) throw stop;
      } else {
        const executed = result.value;
        result.dispose();
        if (executed === 0) return;
      }
      if (Date.now() > session.deadline) throw new StopSignal('timeout', 'interrupted');
    }
  }

  private call(session: Session, name: keyof Session['functions'], args: (string | number)[], returns: 'number' | 'string' | 'none'): number | string | undefined {
    const { context } = session;
    const handles = args.map((arg) => (typeof arg === 'number' ? context.newNumber(arg) : context.newString(arg)));
    this.arm(session);
    try {
      const result = context.callFunction(session.functions[name], session.runner, ...handles);
      if (result.error) {
        const error = dumpError(context, result.error);
        result.error.dispose();
        throw classify(error) ?? new StopSignal('crash', `${error.name}: ${error.message}`);
      }
      const value = result.value;
      try {
        if (returns === 'number') return context.getNumber(value);
        if (returns === 'string') return context.getString(value);
        return undefined;
      } finally {
        value.dispose();
      }
    } finally {
      for (const handle of handles) handle.dispose();
    }
  }

  private safeCall(session: Session, name: keyof Session['functions'], args: (string | number)[], returns: 'number' | 'string'): number | string | undefined {
    try {
      return this.call(session, name, args, returns);
    } catch {
      return undefined;
    }
  }

  /** A fresh deadline for the call about to start (per record once the progress cell is known). */
  private arm(session: Session): void {
    session.deadline = Date.now() + session.spec.limits.timeoutMs;
  }

  private shouldInterrupt(session: Session): boolean {
    const now = Date.now();
    if (session.cellAddress !== null) {
      const serial = new Float64Array(moduleOf(session.quickjs).HEAPU8.buffer, session.cellAddress, 4)[3]!;
      if (serial !== session.lastSerial) {
        session.lastSerial = serial;
        session.deadline = now + session.spec.limits.timeoutMs;
      }
    }
    if (now > session.deadline) return true;
    // Heartbeats stop with the deadline: a worker stuck past it gets no cover from the watchdog.
    if (now - this.lastBeat >= 200) {
      this.lastBeat = now;
      this.hooks.onBusy?.();
    }
    return false;
  }

  private lookup(session: Session, table: string, keyJson: string, time: number): string | null {
    try {
      if (session.tables.has(table)) return lookupAsOf(session.tables, table, keyJson, time);
      if (session.spec.remoteLookup && this.hooks.lookupRemote) return this.hooks.lookupRemote(table, keyJson, time);
      return `!no table "${table}" is available here${session.spec.remoteLookup ? '' : ' (add it to the test\'s "tables")'}`;
    } catch (error) {
      return `!lookup failed: ${errorMessage(error)}`;
    }
  }

  protected dispose(session: Session): void {
    // A stopped instance is dropped whole (its memory goes with it); freeing a runtime that was
    // interrupted mid-job can trip QuickJS's leak assertion, which would abort that instance anyway.
    if (session.dirty) return;
    try {
      for (const handle of Object.values(session.functions)) if (handle.alive) handle.dispose();
      if (session.runner.alive) session.runner.dispose();
      if (session.context.alive) session.context.dispose();
      if (session.runtime.alive) session.runtime.dispose();
    } catch {
      // Same as above: the instance is unreachable once this returns.
    }
  }
}

// ---------------------------------------------------------------------------------------------

/** Compiles QuickJS's WebAssembly (the release build without asyncify). */
export async function compileQuickJS(): Promise<WebAssembly.Module> {
  const file = createRequire(import.meta.url).resolve('@jitl/quickjs-wasmfile-release-sync/wasm');
  return wasmApi.compile(await readFile(file));
}

function moduleOf(quickjs: QuickJSWASMModule): EmscriptenModule {
  return (quickjs as unknown as { module: EmscriptenModule }).module;
}

function stopError(stop: StopSignal, limits: SandboxLimits): RawError & { kind: string } {
  if (stop.kind === 'timeout') return { kind: 'timeout', name: 'TimeoutError', message: `stopped after ${limits.timeoutMs} ms: the transform did not finish (an endless loop?)`, stack: '' };
  if (stop.kind === 'memory') return { kind: 'memory', name: 'RangeError', message: `stopped: the transform ran out of memory (limit ${Math.round(limits.memoryLimitBytes / 1048576)} MB)`, stack: '' };
  return { kind: 'crash', name: 'InternalError', message: `the sandbox failed: ${stop.message}`, stack: '' };
}

function classify(error: RawError): StopSignal | undefined {
  if (error.name === 'InternalError' && /interrupted/.test(error.message)) return new StopSignal('timeout', 'interrupted');
  // Out of memory while building the exception itself, QuickJS throws null.
  if ((error.name === 'InternalError' && /out of memory/.test(error.message)) || (error.name === 'Thrown' && error.message === 'null')) return new StopSignal('memory', 'out of memory');
  if (/stack overflow|call stack size/i.test(error.message)) return new StopSignal('crash', 'Maximum call stack size exceeded');
  return undefined;
}

function dumpError(context: QuickJSContext, handle: QuickJSHandle): RawError {
  try {
    const dumped = context.dump(handle) as unknown;
    if (dumped && typeof dumped === 'object') {
      const record = dumped as { name?: unknown; message?: unknown; stack?: unknown };
      return { name: String(record.name ?? 'Error'), message: String(record.message ?? ''), stack: typeof record.stack === 'string' ? record.stack : '' };
    }
    return { name: 'Thrown', message: String(dumped), stack: '' };
  } catch (error) {
    return { name: 'InternalError', message: errorMessage(error), stack: '' };
  }
}

function unwrap(context: QuickJSContext, result: ReturnType<QuickJSContext['evalCode']>): QuickJSHandle {
  if (result.error) {
    const error = dumpError(context, result.error);
    result.error.dispose();
    throw Object.assign(new Error(error.message), { name: error.name, stack: error.stack, sandbox: true });
  }
  return result.value;
}

function asRawError(error: unknown): RawError {
  if (error instanceof StopSignal) {
    return { name: error.kind === 'timeout' ? 'TimeoutError' : 'RangeError', message: error.kind === 'timeout' ? 'the module did not finish loading in time (an endless loop at top level?)' : error.message, stack: '' };
  }
  if (error instanceof Error) return { name: error.name, message: error.message, stack: (error as { sandbox?: boolean }).sandbox ? (error.stack ?? '') : '' };
  return { name: 'Error', message: String(error), stack: '' };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Joins JSON arrays given as text into one, without parsing them. */
export function joinArrays(chunks: string[]): string {
  const inner = chunks.map((chunk) => chunk.slice(1, -1)).filter((chunk) => chunk.length > 0);
  return `[${inner.join(',')}]`;
}

/** A random double that is exactly representable in JSON and unlikely to occur in a heap. */
function randomMagic(): number {
  const bytes = randomBytes(6);
  return -(1 + bytes.readUIntBE(0, 6) / 2 ** 48) * 2 ** 777;
}

/**
 * Finds the runner's progress cell (a Float64Array that starts with two random markers) in the
 * WebAssembly heap, once per context. QuickJS never moves an ArrayBuffer's storage, so the host's
 * interrupt handler can then read the record counter without calling into QuickJS.
 */
function findCell(module: EmscriptenModule, first: number, second: number): number | null {
  const buffer = module.HEAPU8.buffer;
  const words = new Float64Array(buffer, 0, Math.floor(buffer.byteLength / 8));
  // Forward: the heap grows up from the start, and untouched pages at the end need not be read.
  const last = words.length - 1;
  for (let index = 0; index < last; index++) {
    if (words[index] === first && words[index + 1] === second) return index * 8;
  }
  return null;
}

/**
 * quickjs-emscripten copies strings into WebAssembly one character at a time; batches are large
 * JSON strings, so encode them with TextEncoder instead (about 6x faster). Falls back silently if
 * the module's shape ever changes.
 */
function speedUpStrings(quickjs: QuickJSWASMModule): void {
  const module = (quickjs as unknown as { module?: Partial<EmscriptenModule> }).module;
  if (!module || typeof module.stringToUTF8 !== 'function' || typeof module.lengthBytesUTF8 !== 'function' || !module.HEAPU8) return;
  const encoder = new TextEncoder();
  const target = module as EmscriptenModule;
  target.lengthBytesUTF8 = (text) => Buffer.byteLength(text, 'utf8');
  target.stringToUTF8 = (text, pointer, maxBytes) => {
    const heap = target.HEAPU8;
    const { written } = encoder.encodeInto(text, heap.subarray(pointer, pointer + maxBytes - 1));
    heap[pointer + written] = 0;
    return written;
  };
}
