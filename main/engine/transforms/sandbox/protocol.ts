// Messages between the engine's sandbox pool (pool.ts) and a sandbox worker (worker-entry.ts).
// Everything crossing is plain data: strings of JSON for events and results, never functions.
import type { OpenSpec, RawError, RunOutput } from './quickjs-host.js';

export type ToWorker =
  | { type: 'open'; id: number; session: string; spec: OpenSpec }
  | { type: 'run'; id: number; session: string; batch: string }
  | { type: 'close'; session: string };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'alive' }
  | { type: 'opened'; id: number; ok: true }
  | { type: 'opened'; id: number; ok: false; error: RawError }
  | { type: 'ran'; id: number; ok: true; output: RunOutput }
  | { type: 'ran'; id: number; ok: false; error: RawError }
  | { type: 'lookup'; table: string; key: string; time: number }
  | { type: 'fatal'; error: RawError };

/**
 * Layout of the shared buffer a worker blocks on while the engine answers a lookup:
 * int32 [0] = 0 waiting / 1 answered, [1] = status (0 null, 1 row, 2 error), [2] = byte length,
 * then the answer's UTF-8 bytes from byte 16.
 */
export const LOOKUP_HEADER_BYTES = 16;
export const LOOKUP_BUFFER_BYTES = 4 * 1024 * 1024;
export const LOOKUP_TIMEOUT_MS = 5000;

/** What runs the scripts: V8 isolates (isolated-vm) or QuickJS compiled to WebAssembly. */
export type SandboxEngine = 'isolate' | 'quickjs';

export interface WorkerData {
  lookupBuffer: SharedArrayBuffer;
  engine: SandboxEngine;
  /** QuickJS compiled once by the pool; every worker instantiates it (the QuickJS engine only). */
  wasm: WebAssembly.Module | null;
}
