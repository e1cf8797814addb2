// Entry point of the engine process. The same file runs as an Electron utilityProcess (messages on
// `process.parentPort`) and as a Node child process in web mode (messages on `process.send`). It
// reads its settings from the few environment variables the host passes, opens the workspace, and
// answers wire requests until the host closes it.
import { EddyError, ENGINE_EXIT_CANNOT_OPEN as EXIT_CANNOT_OPEN, type HostResponse, type SecretsCall, type WireMessage } from '../../shared/contract.js';
import { dispatch } from './dispatch.js';
import { createEngine } from './engine.js';
import { engineSettingsFromEnv } from './settings.js';

interface ParentPort {
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

function transport(): { send: (message: WireMessage) => void; onMessage: (listener: (data: unknown) => void) => void } {
  const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;
  if (parentPort) {
    return {
      send: (message) => parentPort.postMessage(message),
      onMessage: (listener) => parentPort.on('message', (event) => listener(event.data)),
    };
  }
  if (typeof process.send === 'function') {
    return {
      send: (message) => {
        if (process.connected) process.send?.(message);
      },
      onMessage: (listener) => process.on('message', listener),
    };
  }
  throw new Error('engine-process must be started by a host (utilityProcess or child_process.fork)');
}

async function main(): Promise<void> {
  const channel = transport();
  // Secrets live with the host; the engine asks for one each time it needs it.
  const hostPending = new Map<number, (response: HostResponse) => void>();
  let nextHostId = 1;
  const askHost = (call: SecretsCall): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextHostId++;
      hostPending.set(id, (response) => (response.ok ? resolve(response.result) : reject(EddyError.from(response.error))));
      channel.send({ kind: 'host-request', id, method: 'secrets', params: call });
    });
  const pendingRequests: unknown[] = [];
  // Requests that arrive while the workspace is still opening wait for it.
  const ready: { engine?: Awaited<ReturnType<typeof createEngine>> } = {};
  const handle = (data: unknown): void => {
    const message = data as Partial<WireMessage> | null;
    if (message?.kind === 'host-response' && typeof message.id === 'number') {
      hostPending.get(message.id)?.(message as HostResponse);
      hostPending.delete(message.id);
      return;
    }
    if (!ready.engine) {
      pendingRequests.push(data);
      return;
    }
    void dispatch(ready.engine.handlers, data).then((response) => {
      if (response) channel.send(response);
    });
  };
  channel.onMessage(handle);
  let opened: Awaited<ReturnType<typeof createEngine>>;
  try {
    opened = await createEngine(engineSettingsFromEnv(process.env), (stream, payload) => channel.send({ kind: 'event', stream, payload }), askHost);
  } catch (error) {
    // A workspace another process holds (the log's lock): starting again cannot help. Say so to
    // the host, which then stops instead of restarting; the user closes the other process first.
    if (error instanceof EddyError && error.code === 'CONFLICT') {
      channel.send({ kind: 'event', stream: 'onEngineStatus', payload: { state: 'stopped', message: error.message } });
      throw Object.assign(error, { exitCode: EXIT_CANNOT_OPEN });
    }
    throw error;
  }
  ready.engine = opened;
  for (const data of pendingRequests.splice(0)) handle(data);
  // When the host goes away the engine closes the workspace cleanly instead of lingering.
  process.on('disconnect', () => void opened.close().finally(() => process.exit(0)));
  process.on('SIGTERM', () => void opened.close().finally(() => process.exit(0)));
  channel.send({ kind: 'event', stream: 'onEngineStatus', payload: { state: 'ready', pid: process.pid } });
}

main().catch((error: unknown) => {
  const exitCode = (error as { exitCode?: unknown }).exitCode;
  if (exitCode === EXIT_CANNOT_OPEN) {
    process.stderr.write(`eddy engine cannot open the workspace: ${(error as Error).message}\n`);
    // Let the status message reach the host before the channel closes.
    setTimeout(() => process.exit(EXIT_CANNOT_OPEN), 100);
    return;
  }
  process.stderr.write(`eddy engine failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(70);
});
