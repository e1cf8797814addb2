// Starts the engine as an Electron utilityProcess and adapts it to the supervisor's EngineChannel.
// The engine gets an empty environment apart from Eddy's own keys (engineEnvironment), so nothing
// from the user's shell, including credentials in variables, reaches it by accident.
import { utilityProcess, type UtilityProcess } from 'electron';
import type { WireMessage } from '../../shared/contract.js';
import type { EngineChannel, EngineSpawner } from '../host/engine-supervisor.js';
import { ENGINE_EXEC_ARGV, engineEnvironment, type EngineSettings } from '../engine/settings.js';

export interface UtilityProcessSpawnerOptions {
  /** Absolute path of the bundled engine entry (dist/main/engine-process.mjs). */
  entry: string;
  /** Read at every spawn, so a restart picks up a newly chosen workspace. */
  settings: () => EngineSettings;
  /** Where the engine's stdout/stderr lines go. */
  log: (line: string) => void;
}

export const ENGINE_SERVICE_NAME = 'eddy-engine';

// What an engine may send its host: answers, events, and questions only the host can answer.
const ENGINE_MESSAGE_KINDS: ReadonlySet<unknown> = new Set(['response', 'event', 'host-request']);

function isWireMessage(data: unknown): data is WireMessage {
  return typeof data === 'object' && data !== null && ENGINE_MESSAGE_KINDS.has((data as { kind?: unknown }).kind);
}

function pipeLines(stream: NodeJS.ReadableStream | null, prefix: string, log: (line: string) => void): void {
  if (!stream) return;
  // Read the pipe even when nobody looks at it: a full pipe would block the engine's writes.
  let buffered = '';
  stream.on('data', (chunk: Buffer | string) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) if (line !== '') log(`${prefix} ${line}`);
  });
  stream.on('end', () => {
    if (buffered !== '') log(`${prefix} ${buffered}`);
    buffered = '';
  });
}

/** Wraps a forked utility process as the supervisor's channel. */
export function utilityProcessChannel(child: UtilityProcess, log: (line: string) => void): EngineChannel {
  let exitCode: number | undefined;
  const exitListeners: Array<(code: number | null, signal: string | null) => void> = [];
  child.on('exit', (code) => {
    exitCode = code;
    for (const listener of exitListeners.splice(0)) listener(code, null);
  });
  pipeLines(child.stdout, '[engine]', log);
  pipeLines(child.stderr, '[engine:err]', log);
  return {
    get pid() {
      return child.pid;
    },
    send(message) {
      if (exitCode !== undefined) throw new Error('the engine process has exited');
      child.postMessage(message);
    },
    onMessage(listener) {
      child.on('message', (data: unknown) => {
        if (isWireMessage(data)) listener(data);
        else log('[engine] ignored a message that is not a wire message');
      });
    },
    onExit(listener) {
      // The supervisor may subscribe after the process is already gone (stop() racing a crash).
      if (exitCode !== undefined) {
        const code = exitCode;
        queueMicrotask(() => listener(code, null));
      } else {
        exitListeners.push(listener);
      }
    },
    kill() {
      if (exitCode === undefined) child.kill();
    },
  };
}

export function createUtilityProcessSpawner(options: UtilityProcessSpawnerOptions): EngineSpawner {
  return () => {
    const child = utilityProcess.fork(options.entry, [], {
      serviceName: ENGINE_SERVICE_NAME,
      env: engineEnvironment(options.settings()),
      execArgv: [...ENGINE_EXEC_ARGV],
      stdio: 'pipe',
    });
    return utilityProcessChannel(child, options.log);
  };
}
