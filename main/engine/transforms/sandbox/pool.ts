// The engine's pool of sandbox workers (worker_threads), off the engine's event loop. A session is
// one loaded transform with its state, pinned to a worker (state lives there, like a Kafka Streams
// task); batches go to it as JSON strings. The pool's watchdog terminates a worker that stops
// answering (the last of the three stops, after the interrupt deadline and the memory cap); its
// sessions are reopened on a fresh worker from the state the pool mirrors after every batch.
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { EddyError } from '../../../../shared/contract-kit.js';
import type { FixtureTables } from '../../../../shared/contracts/transforms.js';
import type { JsonValue } from '../../../../shared/events.js';
import type { LookupSource } from '../tables.js';
import { ISOLATE_ENGINE, loadIsolatedVm } from './isolate-host.js';
import { compileQuickJS, DEFAULT_LIMITS, SANDBOX_ENGINE as QUICKJS_ENGINE, type OpenSpec, type RawError, type SandboxLimits } from './quickjs-host.js';
import { LOOKUP_BUFFER_BYTES, LOOKUP_HEADER_BYTES, type FromWorker, type SandboxEngine, type ToWorker, type WorkerData } from './protocol.js';
import { resolveWorkerFile } from './worker-file.js';

export interface PoolOptions {
  /** Worker threads (default: the machine's cores, at most 2, at least 1). */
  workers?: number;
  /**
   * What runs the scripts: 'isolate' (V8 isolates through isolated-vm, JIT speed), 'quickjs'
   * (QuickJS in WebAssembly, an interpreter), or 'auto' (default): isolates when isolated-vm loads
   * in this runtime, otherwise QuickJS, with the reason in `engineNote`. EDDY_SANDBOX_ENGINE sets
   * the default.
   */
  engine?: 'auto' | SandboxEngine;
  limits?: Partial<SandboxLimits>;
  /** Extra time past a record's deadline before a silent worker is terminated. */
  graceMs?: number;
}

export interface SessionSpec {
  /** Compiled JavaScript (an ES module with a default export). */
  code: string;
  /** Names the module in stack traces; errors are mapped back to the source by the caller. */
  filename: string;
  initialState?: Record<string, JsonValue>;
  /** Fixture tables answered inside the worker; other tables go to `lookupSource`. */
  tables?: FixtureTables;
  lookupSource?: LookupSource;
  limits?: Partial<SandboxLimits>;
}

export interface BatchRecord {
  /** The event as the transform receives it (stream, position, key, value, headers, op, times). */
  event: unknown;
  /** Processing time for `ctx.now()`, `Date.now()` and `new Date()`. */
  now: number;
}

/** One record's raw result: outputs exactly as the script returned them (validated by the caller). */
export interface RawRecordResult {
  output: unknown;
  logs: { level: 'debug' | 'info' | 'warn' | 'error'; message: string }[];
  stateChanges: { key: string; value: JsonValue | null }[];
  error: (RawError & { kind: 'error' | 'timeout' | 'memory' | 'output' | 'crash' }) | null;
}

export class SandboxLoadError extends EddyError {
  constructor(readonly raw: RawError) {
    super('VALIDATION', `${raw.name}: ${raw.message}`, { raw });
  }
}

interface Pending {
  resolve: (message: FromWorker) => void;
  reject: (error: Error) => void;
  session: Session | undefined;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  pending: Map<number, Pending>;
  sessions: Set<Session>;
  lastSeen: number;
  lookups: number;
  lookupBuffer: SharedArrayBuffer;
  dead: boolean;
}

let nextSessionId = 1;

export class TransformPool {
  readonly limits: SandboxLimits;
  private readonly slots: (Slot | undefined)[];
  private readonly graceMs: number;
  private readonly watchdog: ReturnType<typeof setInterval>;
  private nextRequest = 1;
  private closed = false;
  private wasm: Promise<WebAssembly.Module> | undefined;
  private readonly requestedEngine: 'auto' | SandboxEngine;
  private chosenEngine: Promise<SandboxEngine> | undefined;
  /** Why 'auto' fell back to QuickJS, when it did. */
  engineNote: string | null = null;
  /** Workers terminated by the watchdog or lost to a crash. */
  restarts = 0;

  constructor(options: PoolOptions = {}) {
    const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
    this.slots = new Array<Slot | undefined>(Math.max(1, options.workers ?? Math.min(2, cores))).fill(undefined);
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.graceMs = options.graceMs ?? 1500;
    this.requestedEngine = options.engine ?? engineFromEnvironment();
    this.watchdog = setInterval(() => this.check(), 100);
    this.watchdog.unref();
  }

  get workerCount(): number {
    return this.slots.length;
  }

  /** The engine this pool runs scripts in (decided once, at the first use). */
  engine(): Promise<SandboxEngine> {
    this.chosenEngine ??= this.chooseEngine();
    return this.chosenEngine;
  }

  /** The engine, described for people (the sandbox panel, reports). */
  async engineDescription(): Promise<string> {
    const engine = await this.engine();
    return engine === 'isolate' ? ISOLATE_ENGINE : `${QUICKJS_ENGINE}${this.engineNote ? ` (${this.engineNote})` : ''}`;
  }

  private async chooseEngine(): Promise<SandboxEngine> {
    if (this.requestedEngine === 'quickjs') return 'quickjs';
    try {
      await loadIsolatedVm();
      return 'isolate';
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0]! : String(error);
      if (this.requestedEngine === 'isolate') {
        this.chosenEngine = undefined;
        throw new EddyError('UNAVAILABLE', `The V8-isolate sandbox (isolated-vm) cannot load in this runtime: ${reason}. Reinstall with a C++ toolchain (npm rebuild isolated-vm) or use the QuickJS sandbox.`);
      }
      this.engineNote = `isolated-vm is unavailable here: ${reason}`;
      return 'quickjs';
    }
  }

  /** Loads a transform into a worker; rejects with SandboxLoadError when the module fails to load. */
  async open(spec: SessionSpec): Promise<Session> {
    if (this.closed) throw new EddyError('UNAVAILABLE', 'The transform sandbox is shut down.');
    const limits = { ...this.limits, ...spec.limits };
    const state = new Map<string, JsonValue>(Object.entries(spec.initialState ?? {}));
    const session = new Session(this, `s${nextSessionId++}`, spec, limits, state);
    await this.place(session);
    return session;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.watchdog);
    await Promise.all(
      this.slots.map(async (slot, index) => {
        if (!slot) return;
        this.slots[index] = undefined;
        this.fail(slot, new EddyError('UNAVAILABLE', 'The transform sandbox is shutting down.'));
        await slot.worker.terminate();
      }),
    );
  }

  // ---- used by Session ------------------------------------------------------------------------

  /** Opens `session` on the least loaded worker. */
  async place(session: Session): Promise<void> {
    const slot = await this.pick();
    session.slot = slot;
    slot.sessions.add(session);
    const spec: OpenSpec = {
      code: session.spec.code,
      filename: session.spec.filename,
      limits: session.limits,
      state: [...session.state].map(([key, value]) => [key, JSON.stringify(value)]),
      tables: session.spec.tables ?? null,
      remoteLookup: session.spec.lookupSource !== undefined,
    };
    const reply = await this.request(slot, session, (id) => ({ type: 'open', id, session: session.id, spec }));
    if (reply.type === 'opened' && !reply.ok) {
      slot.sessions.delete(session);
      session.slot = undefined;
      throw new SandboxLoadError(reply.error);
    }
  }

  async run(session: Session, batch: string): Promise<string> {
    const slot = session.slot!;
    const reply = await this.request(slot, session, (id) => ({ type: 'run', id, session: session.id, batch }));
    if (reply.type === 'ran' && reply.ok) return reply.output.entries;
    if (reply.type === 'ran' && !reply.ok) throw new EddyError('INTERNAL', `The sandbox could not run the batch: ${reply.error.message}`);
    throw new EddyError('INTERNAL', 'Unexpected reply from the sandbox.');
  }

  release(session: Session): void {
    const slot = session.slot;
    if (!slot) return;
    slot.sessions.delete(session);
    session.slot = undefined;
    if (!slot.dead) slot.worker.postMessage({ type: 'close', session: session.id } satisfies ToWorker);
  }

  // -------------------------------------------------------------------------------------------

  private async pick(): Promise<Slot> {
    let best = -1;
    for (let index = 0; index < this.slots.length; index++) {
      const slot = this.slots[index];
      if (!slot) {
        best = index;
        break;
      }
      const bestSlot = best >= 0 ? this.slots[best] : undefined;
      if (!bestSlot || slot.sessions.size + slot.pending.size < bestSlot.sessions.size + bestSlot.pending.size) best = index;
    }
    let slot = this.slots[best];
    if (!slot) {
      slot = await this.spawn();
      this.slots[best] = slot;
    }
    await slot.ready;
    return slot;
  }

  private async spawn(): Promise<Slot> {
    const file = await resolveWorkerFile();
    const engine = await this.engine();
    let wasm: WebAssembly.Module | null = null;
    if (engine === 'quickjs') {
      this.wasm ??= compileQuickJS();
      wasm = await this.wasm;
    }
    const lookupBuffer = new SharedArrayBuffer(LOOKUP_HEADER_BYTES + LOOKUP_BUFFER_BYTES);
    const worker = new Worker(file, {
      workerData: { lookupBuffer, wasm, engine } satisfies WorkerData,
      // Nothing of the engine's environment is visible in the worker (the scripts have no access anyway).
      env: {},
      argv: [],
      execArgv: [],
      stdout: false,
      stderr: false,
      resourceLimits: { maxOldGenerationSizeMb: 512, maxYoungGenerationSizeMb: 64 },
    });
    worker.unref();
    let markReady!: () => void;
    let markFailed!: (error: Error) => void;
    const slot: Slot = {
      worker,
      ready: new Promise<void>((resolve, reject) => {
        markReady = resolve;
        markFailed = reject;
      }),
      pending: new Map(),
      sessions: new Set(),
      lastSeen: Date.now(),
      lookups: 0,
      lookupBuffer,
      dead: false,
    };
    slot.ready.catch(() => undefined);
    worker.on('message', (message: FromWorker) => {
      slot.lastSeen = Date.now();
      if (message.type === 'ready') markReady();
      else if (message.type === 'alive') return;
      else if (message.type === 'lookup') void this.answerLookup(slot, message);
      else if (message.type === 'fatal') this.kill(slot, `the sandbox worker failed: ${message.error.message}`);
      else {
        const pending = slot.pending.get(message.id);
        slot.pending.delete(message.id);
        pending?.resolve(message);
      }
    });
    worker.on('error', (error) => {
      markFailed(error);
      this.lost(slot, `the sandbox worker crashed: ${error.message}`);
    });
    worker.on('exit', (code) => {
      markFailed(new Error(`exited with ${code}`));
      this.lost(slot, `the sandbox worker exited (code ${code})`);
    });
    return slot;
  }

  private request(slot: Slot, session: Session | undefined, build: (id: number) => ToWorker): Promise<FromWorker> {
    if (slot.dead) return Promise.reject(new EddyError('UNAVAILABLE', 'The sandbox worker is gone.'));
    const id = this.nextRequest++;
    if (slot.pending.size === 0) slot.lastSeen = Date.now();
    return new Promise<FromWorker>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject, session });
      slot.worker.ref();
      slot.worker.postMessage(build(id));
    }).finally(() => {
      if (slot.pending.size === 0 && !slot.dead) slot.worker.unref();
    });
  }

  private async answerLookup(slot: Slot, message: Extract<FromWorker, { type: 'lookup' }>): Promise<void> {
    const flags = new Int32Array(slot.lookupBuffer, 0, 4);
    const bytes = new Uint8Array(slot.lookupBuffer, LOOKUP_HEADER_BYTES);
    slot.lookups++;
    let status = 0;
    let text = '';
    try {
      const session = [...slot.pending.values()][0]?.session;
      const source = session?.spec.lookupSource;
      if (!source) throw new Error(`no table "${message.table}" is available`);
      const row = await source.asOf(message.table, JSON.parse(message.key) as JsonValue, message.time);
      if (row !== null && row !== undefined) {
        status = 1;
        text = JSON.stringify(row);
      }
    } catch (error) {
      status = 2;
      text = error instanceof Error ? error.message : String(error);
    }
    let encoded = new TextEncoder().encode(text);
    if (encoded.length > bytes.length) {
      status = 2;
      encoded = new TextEncoder().encode(`the row from ${message.table} is larger than ${bytes.length >> 20} MB`);
    }
    bytes.set(encoded);
    Atomics.store(flags, 1, status);
    Atomics.store(flags, 2, encoded.length);
    Atomics.store(flags, 0, 1);
    Atomics.notify(flags, 0);
    slot.lookups--;
    slot.lastSeen = Date.now();
  }

  /** The watchdog: a busy worker silent past the deadline plus grace is terminated. */
  private check(): void {
    const now = Date.now();
    for (const slot of this.slots) {
      if (!slot || slot.dead || slot.pending.size === 0 || slot.lookups > 0) continue;
      const silent = now - slot.lastSeen;
      if (silent > this.limits.timeoutMs + this.graceMs) this.kill(slot, `the sandbox stopped answering for ${silent} ms and was restarted`);
    }
  }

  private kill(slot: Slot, reason: string): void {
    if (slot.dead) return;
    this.lost(slot, reason);
    void slot.worker.terminate();
  }

  private lost(slot: Slot, reason: string): void {
    if (slot.dead) return;
    slot.dead = true;
    if (!this.closed) this.restarts++;
    const index = this.slots.indexOf(slot);
    if (index >= 0) this.slots[index] = undefined;
    this.fail(slot, new EddyError('UNAVAILABLE', `The transform was stopped: ${reason}.`, { crash: true }));
  }

  private fail(slot: Slot, error: EddyError): void {
    slot.dead = true;
    for (const pending of slot.pending.values()) pending.reject(error);
    slot.pending.clear();
    for (const session of slot.sessions) session.slot = undefined;
    slot.sessions.clear();
  }
}

/** One loaded transform with its keyed state. Batches run one at a time, in order. */
export class Session {
  slot: Slot | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly pool: TransformPool,
    readonly id: string,
    readonly spec: SessionSpec,
    readonly limits: SandboxLimits,
    /** The committed state, mirrored after every batch. */
    readonly state: Map<string, JsonValue>,
  ) {}

  /** Runs a batch; every record gets a result, in order. A crashed worker fails the whole batch as `crash`. */
  runBatch(records: readonly BatchRecord[]): Promise<RawRecordResult[]> {
    const run = this.queue.then(() => this.execute(records));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Runs a batch given as JSON text, `[{"e": event, "n": now}, ...]`, and returns the raw per-record
   * entries (`[{"i", "o"?, "l"?, "s"?, "e"?}]`) as JSON text: for callers that already hold JSON (the
   * log stores it) and want no parse or stringify on the engine thread. State is mirrored as usual.
   */
  runBatchJson(batchJson: string): Promise<string> {
    const run = this.queue.then(async () => {
      if (this.closed) throw new EddyError('CANCELLED', 'The sandbox session is closed.');
      if (!this.slot) await this.pool.place(this);
      const entries = await this.pool.run(this, batchJson);
      if (entries.includes('"s":')) this.mirror(readEntries(entries, Number.MAX_SAFE_INTEGER) ?? []);
      return entries;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pool.release(this);
  }

  private async execute(records: readonly BatchRecord[]): Promise<RawRecordResult[]> {
    if (this.closed) throw new EddyError('CANCELLED', 'The sandbox session is closed.');
    if (records.length === 0) return [];
    if (!this.slot) await this.pool.place(this);
    const batch = JSON.stringify(records.map((record) => ({ e: record.event, n: record.now })));
    let entries: string;
    try {
      entries = await this.pool.run(this, batch);
    } catch (error) {
      if (error instanceof EddyError && (error.details as { crash?: boolean } | undefined)?.crash) {
        return records.map(() => ({ output: undefined, logs: [], stateChanges: [], error: { kind: 'crash', name: 'SandboxError', message: error.message, stack: '' } }));
      }
      throw error;
    }
    const results: RawRecordResult[] = records.map(() => ({ output: undefined, logs: [], stateChanges: [], error: null }));
    // The results text comes from inside the sandbox: it is checked like any untrusted input, so a
    // script can neither fail the batch nor touch other records, the engine's objects or its state.
    const parsed = readEntries(entries, records.length);
    if (parsed === null) {
      const error = { kind: 'crash' as const, name: 'SandboxError', message: 'the sandbox returned unreadable results for this batch', stack: '' };
      return records.map(() => ({ output: undefined, logs: [], stateChanges: [], error }));
    }
    const seen = new Set<number>();
    const accepted: WireEntry[] = [];
    for (const entry of parsed) {
      if (seen.has(entry.i)) continue;
      seen.add(entry.i);
      const result = results[entry.i]!;
      if (Array.isArray(entry.l)) result.logs = entry.l.filter((line) => line !== null && typeof line === 'object' && typeof line.message === 'string').map((line) => ({ level: LEVELS.has(line.level) ? line.level : 'info', message: line.message }));
      if (entry.e) {
        // A failed record has no outputs and commits nothing.
        result.error = normalizeError(entry.e);
        continue;
      }
      if (entry.o !== undefined) result.output = entry.o;
      for (const change of entry.s ?? []) result.stateChanges.push({ key: change[0], value: change.length > 1 ? (change[1] as JsonValue) : null });
      accepted.push(entry);
    }
    this.mirror(accepted);
    return results;
  }

  private mirror(entries: WireEntry[]): void {
    for (const entry of entries) {
      if (entry.e) continue;
      for (const change of entry.s ?? []) {
        if (change.length > 1) this.state.set(change[0], change[1] as JsonValue);
        else this.state.delete(change[0]);
      }
    }
  }
}

const LEVELS = new Set(['debug', 'info', 'warn', 'error']);

/**
 * Parses a batch's results and keeps the well-formed entries: an integer index inside the batch
 * (never a name like "__proto__"), an error object or none, state changes as [string key, value?].
 * Null when the text is not a JSON array at all.
 */
function readEntries(text: string, count: number): WireEntry[] | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (!Array.isArray(parsed)) return null;
  const entries: WireEntry[] = [];
  for (const item of parsed as unknown[]) {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) continue;
    const entry = item as WireEntry;
    if (typeof entry.i !== 'number' || !Number.isInteger(entry.i) || entry.i < 0 || entry.i >= count) continue;
    if (entry.e !== undefined && (entry.e === null || typeof entry.e !== 'object')) continue;
    if (entry.s !== undefined && !(Array.isArray(entry.s) && entry.s.every((change) => Array.isArray(change) && typeof change[0] === 'string' && change.length <= 2))) continue;
    entries.push(entry);
  }
  return entries;
}

interface WireEntry {
  i: number;
  o?: unknown;
  l?: { level: RawRecordResult['logs'][number]['level']; message: string }[];
  s?: [string, unknown?][];
  e?: RawError & { kind?: string };
}

/** Errors a record caught from QuickJS itself are the sandbox's stops, not the script's. */
function normalizeError(error: RawError & { kind?: string }): NonNullable<RawRecordResult['error']> {
  if (error.name === 'InternalError' && /interrupted/.test(error.message)) {
    return { kind: 'timeout', name: 'TimeoutError', message: 'stopped: the transform did not finish in time (an endless loop?)', stack: error.stack };
  }
  // Out of memory while building the error itself, QuickJS throws null.
  if ((error.name === 'InternalError' && /out of memory/.test(error.message)) || (error.name === 'Thrown' && error.message === 'null')) {
    return { kind: 'memory', name: 'RangeError', message: 'stopped: the transform ran out of memory', stack: error.stack };
  }
  const kind = error.kind === 'timeout' || error.kind === 'memory' || error.kind === 'crash' || error.kind === 'output' ? error.kind : 'error';
  return { kind, name: error.name, message: error.message, stack: error.stack };
}

function engineFromEnvironment(): 'auto' | SandboxEngine {
  const value = process.env.EDDY_SANDBOX_ENGINE;
  return value === 'isolate' || value === 'quickjs' ? value : 'auto';
}
