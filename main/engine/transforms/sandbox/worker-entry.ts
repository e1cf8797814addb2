// A sandbox worker thread: hosts V8-isolate sessions (isolate-host.ts) or QuickJS sessions
// (quickjs-host.ts), as the pool chose, and answers the pool's
// messages one at a time. It starts with an empty environment and has nothing of the engine's
// state; a lookup the session cannot answer from its fixture tables is asked of the engine over a
// shared buffer (the QuickJS call is synchronous, so the worker blocks until the answer arrives).
import { parentPort, workerData } from 'node:worker_threads';
import { IsolateHost } from './isolate-host.js';
import { SandboxHost, type RawError } from './quickjs-host.js';
import { LOOKUP_HEADER_BYTES, LOOKUP_TIMEOUT_MS, type FromWorker, type ToWorker, type WorkerData } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('worker-entry.ts runs as a worker thread');
const { lookupBuffer, wasm, engine } = workerData as WorkerData;
const flags = new Int32Array(lookupBuffer, 0, 4);
const bytes = new Uint8Array(lookupBuffer, LOOKUP_HEADER_BYTES);
const decoder = new TextDecoder();

const send = (message: FromWorker): void => port.postMessage(message);

function lookupRemote(table: string, key: string, time: number): string | null {
  Atomics.store(flags, 0, 0);
  send({ type: 'lookup', table, key, time });
  if (Atomics.wait(flags, 0, 0, LOOKUP_TIMEOUT_MS) === 'timed-out') return `!the lookup in ${table} did not answer within ${LOOKUP_TIMEOUT_MS} ms`;
  const status = Atomics.load(flags, 1);
  const length = Atomics.load(flags, 2);
  const text = decoder.decode(bytes.slice(0, length));
  if (status === 0) return null;
  if (status === 2) return `!${text}`;
  return text;
}

function rawError(error: unknown): RawError {
  return error instanceof Error ? { name: error.name, message: error.message, stack: '' } : { name: 'Error', message: String(error), stack: '' };
}

const hooks = { onBusy: () => send({ type: 'alive' }), lookupRemote };
const host = engine === 'isolate' ? await IsolateHost.create(hooks) : await SandboxHost.create(hooks, wasm ?? undefined);

// Messages are handled strictly in order: a run must see the open before it.
let queue: Promise<void> = Promise.resolve();
port.on('message', (message: ToWorker) => {
  queue = queue.then(async () => {
    try {
      if (message.type === 'open') {
        const result = await host.open(message.session, message.spec);
        send(result.ok ? { type: 'opened', id: message.id, ok: true } : { type: 'opened', id: message.id, ok: false, error: result.error });
      } else if (message.type === 'run') {
        try {
          send({ type: 'ran', id: message.id, ok: true, output: await host.run(message.session, message.batch) });
        } catch (error) {
          send({ type: 'ran', id: message.id, ok: false, error: rawError(error) });
        }
      } else if (message.type === 'close') {
        host.close(message.session);
      }
    } catch (error) {
      send({ type: 'fatal', error: rawError(error) });
    }
  });
});
send({ type: 'ready' });
