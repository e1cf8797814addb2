// Starts the engine as a plain Node child process (web mode and tests): the counterpart of the
// desktop's utilityProcess spawner, with the same minimal environment.
import { fork } from 'node:child_process';
import type { WireMessage } from '../../shared/contract.js';
import type { EngineChannel, EngineSpawner } from './engine-supervisor.js';
import { NODE_ENGINE_EXEC_ARGV } from '../engine/settings.js';

export function forkSpawner(enginePath: string, env: Record<string, string>, log?: (line: string) => void): EngineSpawner {
  return () => {
    const child = fork(enginePath, [], {
      env,
      execArgv: ['--enable-source-maps', ...NODE_ENGINE_EXEC_ARGV],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const forward = (chunk: Buffer): void => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) log?.(`[engine] ${line}`);
    };
    child.stdout?.on('data', forward);
    child.stderr?.on('data', forward);
    const channel: EngineChannel = {
      pid: child.pid,
      send: (message: WireMessage) => {
        if (child.connected) child.send(message);
      },
      onMessage: (listener) => child.on('message', (message) => listener(message as WireMessage)),
      onExit: (listener) => child.once('exit', (code, signal) => listener(code, signal)),
      kill: () => child.kill('SIGTERM'),
    };
    return channel;
  };
}
