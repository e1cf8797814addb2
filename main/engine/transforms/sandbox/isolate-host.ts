// The V8-isolate side of the sandbox (isolated-vm), run inside a sandbox worker thread like the
// QuickJS host and answering the same calls (open, run, close). Each session is its own V8
// isolate: a separate heap with its own built-ins and no Node API at all (no require, process,
// Buffer, timers, fetch or module loader), capped by isolated-vm's memory limit, and called
// synchronously with a per-call timeout. The transform is JIT-compiled, so a sandboxed call costs
// about what a direct one does; QuickJS stays available where the native module cannot load.
//
// What crosses the boundary: strings and numbers (copied), one host function for lookups (an
// isolated-vm Callback that takes and returns strings), and a 40-byte shared progress cell the
// runner writes (record index, serial, start time). No Reference or ExternalCopy is ever handed to
// the script: isolated-vm's own security notes say those are springboards back into the host.
//
// Three stops, as with QuickJS: a per-call timeout (calls are kept short, so a record that runs
// past its deadline is the one stopped), the isolate's memory limit (the isolate is disposed; the
// batch is re-run on a fresh isolate up to the record that blew it), and the pool's watchdog.
import type IsolatedVmModule from 'isolated-vm';
import { RUNNER_FILENAME, RUNNER_SOURCE } from './runner-source.js';
import { SessionTable } from './session-table.js';
import { indexTables, lookupAsOf, type IndexedTables } from '../tables.js';
import { joinArrays, type HostHooks, type OpenSpec, type RawError, type RunOutput, type SandboxLimits } from './quickjs-host.js';

type Ivm = typeof IsolatedVmModule;
type Isolate = IsolatedVmModule.Isolate;
type Context = IsolatedVmModule.Context;
type Reference = IsolatedVmModule.Reference;

const FUNCTIONS = ['begin', 'step', 'settle', 'cursor', 'take'] as const;
type FunctionName = (typeof FUNCTIONS)[number];

/** Extra time a call may take past one record's deadline (calls are sized to stay far below it). */
const CALL_SLACK_MS = 100;
/** Calls are sized to take about this long, so a late record start never eats its deadline. */
const CALL_TARGET_MS = 40;
const MiB = 1024 * 1024;

interface Session {
  spec: OpenSpec;
  isolate: Isolate;
  context: Context;
  runner: Reference;
  functions: Record<FunctionName, Reference>;
  tables: IndexedTables;
  /** [unused, unused, cursor, serial, start ms of the current record], shared with the runner. */
  cell: Float64Array;
  /** The committed state as of the last results taken out of the isolate. */
  state: Map<string, string>;
  /** Records per call: unbounded until a call runs long, then sized to CALL_TARGET_MS. */
  perCall: number;
}

class IsolateStop extends Error {
  constructor(
    readonly kind: 'timeout' | 'memory' | 'crash',
    message: string,
  ) {
    super(message);
  }
}

export const ISOLATE_ENGINE = 'V8 isolates (isolated-vm 5) in worker threads';

let loaded: Promise<Ivm> | undefined;

/** Loads isolated-vm's native module; rejects with the reason when it is missing or built for another runtime. */
export function loadIsolatedVm(): Promise<Ivm> {
  loaded ??= import('isolated-vm').then((module: { default?: Ivm } & Partial<Ivm>) => {
    const ivm = (module.default ?? module) as Ivm;
    if (typeof ivm.Isolate !== 'function') throw new Error('isolated-vm loaded without its Isolate class');
    // Prove the module works in this runtime (an ABI mismatch can load and still fail here).
    const probe = new ivm.Isolate({ memoryLimit: 8 });
    try {
      const context = probe.createContextSync();
      if (probe.compileScriptSync('6 * 7').runSync(context) !== 42) throw new Error('isolated-vm answered wrongly');
    } finally {
      probe.dispose();
    }
    return ivm;
  });
  return loaded;
}

export class IsolateHost extends SessionTable<Session> {
  private lastBeat = 0;

  private constructor(
    private readonly ivm: Ivm,
    private readonly hooks: HostHooks,
  ) {
    super();
  }

  protected dispose(session: Session): void {
    disposeIsolate(session);
  }

  static async create(hooks: HostHooks = {}): Promise<IsolateHost> {
    return new IsolateHost(await loadIsolatedVm(), hooks);
  }

  protected loadSession(spec: OpenSpec): Session {
    return this.load(spec, new Map(spec.state));
  }

  protected loadError(error: unknown): RawError {
    return asRawError(error);
  }

  /** Runs one batch (a JSON array of `{e: event, n: now}`) and returns the per-record entries. */
  async run(id: string, batchJson: string): Promise<RunOutput> {
    let session = this.sessions.get(id);
    if (!session) throw new Error(`no sandbox session ${id}`);
    const limits = session.spec.limits;
    const chunks: string[] = [];
    let rebuilt = 0;
    let timeouts = 0;
    /** Records before this index have their results in `chunks` and their state in `session.state`. */
    let taken = 0;
    /** A re-run after a lost isolate stops before the record that was running (`until`). */
    let until: number | undefined;
    let cursor = 0;
    let total = 0;
    /** Records `index` as stopped and moves past it. */
    const stopped = (index: number, kind: IsolateStop['kind'], message = ''): void => {
      chunks.push(JSON.stringify([{ i: index, e: stopError(kind, limits, message) }]));
      taken = index + 1;
    };
    /** Starts the batch (again) from the first record without results, up to `until` when re-running. */
    const restart = (): void => {
      cursor = taken;
      total = this.call(session!, 'begin', until === undefined ? [batchJson, taken] : [batchJson, taken, until], 'number') as number;
    };
    /** A fresh isolate for the session, from the state as of the results taken so far. */
    const rebuild = (): void => {
      session = this.replace(id, session!);
      rebuilt++;
    };
    restart();
    for (;;) {
      const started = Date.now();
      try {
        const outcome = this.call(session, 'step', [session.perCall], 'number', limits.timeoutMs + CALL_SLACK_MS) as number;
        const before = cursor;
        cursor = this.call(session, 'cursor', [], 'number') as number;
        const elapsed = Date.now() - started;
        if (elapsed > CALL_TARGET_MS && cursor > before) session.perCall = Math.max(1, Math.floor(((cursor - before) * CALL_TARGET_MS) / elapsed));
        this.beat();
        if (outcome === 1) {
          // The record returned a promise; its jobs ran at the end of that call, under its timeout.
          this.call(session, 'settle', [], 'none');
          cursor++;
          continue;
        }
        if (outcome === 2) continue;
        if (until === undefined) break;
        // The re-run reached the record that exhausted the lost isolate: report it, go on after it.
        chunks.push(this.takeResults(session));
        stopped(until, 'memory');
        until = undefined;
        if (taken >= total) break;
        restart();
      } catch (error) {
        this.beat();
        const stop = this.classify(session, error);
        const running = this.runningRecord(session, cursor, total);
        const ran = Date.now() - session.cell[4]!;
        const results = stop.kind === 'memory' || session.isolate.isDisposed ? undefined : this.safeTake(session);
        if (results !== undefined) {
          // The isolate still answers: keep what it did, then go on from the stopped record on a
          // fresh isolate (whatever that record left queued goes with the old one). A record that
          // started late in a long call gets its full deadline: it runs again in a call of its own.
          chunks.push(results);
          taken = running;
          const genuine = stop.kind !== 'timeout' || ran >= limits.timeoutMs - 10 || session.perCall === 1;
          if (genuine) {
            if (stop.kind === 'timeout') timeouts++;
            stopped(running, stop.kind, stop.message);
          } else {
            session.perCall = 1;
          }
          rebuild();
          if (until !== undefined && taken >= until) {
            // A re-run stopped exactly at the record that exhausted the lost isolate.
            if (taken === until) stopped(until, 'memory');
            until = undefined;
          }
          if (taken >= total || timeouts >= limits.maxTimeoutsPerBatch) {
            skipRest(chunks, taken, total, timeouts >= limits.maxTimeoutsPerBatch ? `skipped: the transform was stopped on ${timeouts} events of this batch` : null);
            break;
          }
          restart();
          continue;
        }
        // The isolate is gone (memory) or cannot answer: a fresh one re-runs the records whose
        // results were lost, from the state as of the last results taken, up to the running record.
        rebuild();
        if (rebuilt > total + 2) {
          skipRest(chunks, taken, total, 'skipped: the sandbox had to be rebuilt too many times in this batch');
          break;
        }
        // Lost again at or past the record a re-run stops before (or with nothing to re-run): that record is the one.
        if ((until !== undefined && running >= until) || running <= taken) {
          stopped(running, stop.kind, stop.message);
          until = undefined;
        } else {
          until = running;
        }
        if (taken >= total) break;
        restart();
      }
    }
    let last: string;
    try {
      last = this.takeResults(session);
    } catch {
      // The results of the records since the last stop are lost: they fail, and commit nothing.
      rebuild();
      last = '[]';
      const lost = [];
      for (let index = taken; index < total; index++) lost.push({ i: index, e: { kind: 'crash', name: 'SandboxError', message: 'the sandbox could not hand over the results of this event', stack: '' } });
      chunks.push(JSON.stringify(lost));
    }
    chunks.push(last);
    return { entries: joinArrays(chunks), rebuilt };
  }

  // -------------------------------------------------------------------------------------------

  private load(spec: OpenSpec, state: Map<string, string>): Session {
    const { ivm } = this;
    const isolate = new ivm.Isolate({ memoryLimit: Math.max(8, Math.ceil(spec.limits.memoryLimitBytes / MiB)) });
    const session: Session = {
      spec,
      isolate,
      context: undefined as unknown as Context,
      runner: undefined as unknown as Reference,
      functions: {} as Session['functions'],
      tables: indexTables(spec.tables ?? {}),
      cell: new Float64Array(new SharedArrayBuffer(5 * 8)),
      state,
      perCall: 0,
    };
    try {
      const timeout = spec.limits.timeoutMs;
      session.context = isolate.createContextSync();
      session.runner = isolate.compileScriptSync(RUNNER_SOURCE, { filename: RUNNER_FILENAME }).runSync(session.context, { reference: true, timeout }) as Reference;
      for (const name of FUNCTIONS) session.functions[name] = session.runner.getSync(name, { reference: true }) as Reference;

      // The runner is set up before the script's module runs, so nothing the module's top level
      // does to the globals can reach the runner's own objects (the shared cell above all).
      const config = JSON.stringify({ state: [...state], maxRecordChars: spec.limits.maxRecordChars, maxBatchChars: spec.limits.maxBatchChars });
      const lookup = new ivm.Callback((table: unknown, key: unknown, time: unknown) => this.lookup(session, table, key, time));
      const cellBuffer = new ivm.ExternalCopy(session.cell.buffer as SharedArrayBuffer).copyInto({ release: true });
      const setup = session.runner.getSync('setup', { reference: true }) as Reference;
      setup.applySync(session.runner.derefInto(), [config, lookup, cellBuffer], { timeout });
      setup.release();

      const module = isolate.compileModuleSync(spec.code, { filename: spec.filename });
      module.instantiateSync(session.context, (specifier: string) => {
        throw new Error(`import "${specifier}" is not available: transforms cannot import modules`);
      });
      module.evaluateSync({ timeout });
      const fn = module.namespace.getSync('default', { reference: true }) as Reference;
      const init = session.runner.getSync('init', { reference: true }) as Reference;
      init.applySync(session.runner.derefInto(), [fn.derefInto()], { timeout });
      init.release();
      fn.release();
      return session;
    } catch (error) {
      disposeIsolate(session);
      throw error;
    }
  }

  /** A fresh isolate for the session, from the state the host holds for it. */
  private replace(id: string, session: Session): Session {
    disposeIsolate(session);
    const next = this.load(session.spec, session.state);
    next.perCall = session.perCall;
    this.sessions.set(id, next);
    return next;
  }

  private call(session: Session, name: FunctionName, args: (string | number)[], returns: 'number' | 'string' | 'none', timeout = session.spec.limits.timeoutMs): number | string | undefined {
    const value = session.functions[name].applySync(session.runner.derefInto(), args, { timeout }) as unknown;
    if (returns === 'number') {
      if (typeof value !== 'number') throw new IsolateStop('crash', `the sandbox's ${name} answered ${typeof value}`);
      return value;
    }
    if (returns === 'string') {
      if (typeof value !== 'string') throw new IsolateStop('crash', `the sandbox's ${name} answered ${typeof value}`);
      return value;
    }
    return undefined;
  }

  /** The results since the last take, with their state changes applied to the host's copy of the state. */
  private takeResults(session: Session, timeout?: number): string {
    const text = this.call(session, 'take', [], 'string', timeout) as string;
    if (text.charCodeAt(0) !== 91 || text.charCodeAt(text.length - 1) !== 93) throw new IsolateStop('crash', 'the sandbox returned malformed results');
    applyState(session.state, text);
    return text;
  }

  /** The results so far, with their state applied to the host's copy; undefined when the isolate cannot give them. */
  private safeTake(session: Session): string | undefined {
    try {
      // Short: an isolate that cannot hand over its results at once is given up for a fresh one.
      return this.takeResults(session, 250);
    } catch {
      return undefined;
    }
  }

  /** The record the runner was on, read from the shared cell and kept in the batch's range. */
  private runningRecord(session: Session, fallback: number, total: number): number {
    const index = session.cell[2]!;
    return Number.isInteger(index) && index >= fallback && index < total ? index : Math.min(fallback, Math.max(0, total - 1));
  }

  private classify(session: Session, error: unknown): IsolateStop {
    if (error instanceof IsolateStop) return error;
    const message = error instanceof Error ? error.message : String(error);
    if (session.isolate.isDisposed || /memory limit/i.test(message)) return new IsolateStop('memory', message);
    if (/timed out/i.test(message)) return new IsolateStop('timeout', message);
    return new IsolateStop('crash', message);
  }

  private lookup(session: Session, table: unknown, keyJson: unknown, time: unknown): string | null {
    if (typeof table !== 'string' || typeof keyJson !== 'string' || typeof time !== 'number') return '!lookup(table, key) takes a table name and a key';
    try {
      if (session.tables.has(table)) return lookupAsOf(session.tables, table, keyJson, time);
      if (session.spec.remoteLookup && this.hooks.lookupRemote) return this.hooks.lookupRemote(table, keyJson, time);
      return `!no table "${table}" is available here${session.spec.remoteLookup ? '' : ' (add it to the test\'s "tables")'}`;
    } catch (error) {
      return `!lookup failed: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  /** Between calls, tell the pool's watchdog this worker is alive (a batch may hold several stops). */
  private beat(): void {
    const now = Date.now();
    if (now - this.lastBeat < 200) return;
    this.lastBeat = now;
    this.hooks.onBusy?.();
  }
}

// ---------------------------------------------------------------------------------------------

function disposeIsolate(session: Session): void {
  try {
    if (!session.isolate.isDisposed) session.isolate.dispose();
  } catch {
    // Already gone.
  }
}

/** Applies the state changes (`"s"`) in a chunk of results to the host's copy of the committed state. */
function applyState(state: Map<string, string>, results: string): void {
  if (!results.includes('"s":')) return;
  const entries = JSON.parse(results) as unknown;
  if (!Array.isArray(entries)) throw new Error('malformed results');
  for (const entry of entries as { e?: unknown; s?: unknown }[]) {
    if (entry === null || typeof entry !== 'object' || entry.e !== undefined || !Array.isArray(entry.s)) continue;
    for (const change of entry.s as [string, unknown?][]) {
      if (!Array.isArray(change) || typeof change[0] !== 'string') continue;
      if (change.length > 1) state.set(change[0], JSON.stringify(change[1]));
      else state.delete(change[0]);
    }
  }
}

function skipRest(chunks: string[], from: number, total: number, reason: string | null): void {
  if (from >= total) return;
  const skipped = [];
  for (let index = from; index < total; index++) {
    skipped.push({ i: index, e: { kind: 'timeout', name: 'SkippedError', message: reason ?? 'skipped: the sandbox had to be rebuilt and the rest of this batch was abandoned', stack: '' } });
  }
  chunks.push(JSON.stringify(skipped));
}

function stopError(kind: IsolateStop['kind'], limits: SandboxLimits, detail = ''): RawError & { kind: string } {
  if (kind === 'timeout') return { kind: 'timeout', name: 'TimeoutError', message: `stopped after ${limits.timeoutMs} ms: the transform did not finish (an endless loop?)`, stack: '' };
  if (kind === 'memory') return { kind: 'memory', name: 'RangeError', message: `stopped: the transform ran out of memory (limit ${Math.round(limits.memoryLimitBytes / MiB)} MB)`, stack: '' };
  return { kind: 'crash', name: 'InternalError', message: `the sandbox failed: ${detail}`, stack: '' };
}

function asRawError(error: unknown): RawError {
  if (error instanceof Error) {
    const timedOut = /timed out/i.test(error.message);
    if (timedOut) return { name: 'TimeoutError', message: 'the module did not finish loading in time (an endless loop at top level?)', stack: '' };
    if (/memory limit/i.test(error.message)) return { name: 'RangeError', message: 'the module ran out of memory while loading', stack: '' };
    // Errors thrown inside the isolate arrive with their name and the script's own stack.
    return { name: error.name, message: error.message, stack: error.stack ?? '' };
  }
  return { name: 'Error', message: String(error), stack: '' };
}
