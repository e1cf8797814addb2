// The sandbox's settings for a workspace: `sandbox` in eddy-workspace.json, for example
// `{ "memoryLimitMb": 64, "timeoutMs": 1000, "workers": 2 }`. Out-of-range values are ignored.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { PoolOptions } from './sandbox/pool.js';

/** `sandbox` in eddy-workspace.json: `{ "memoryLimitMb": 64, "timeoutMs": 1000, "workers": 2 }`. */
export async function workspacePoolOptions(root: string): Promise<PoolOptions> {
  try {
    const file = JSON.parse(await readFile(path.join(root, 'eddy-workspace.json'), 'utf8')) as { sandbox?: { memoryLimitMb?: unknown; timeoutMs?: unknown; workers?: unknown } };
    const sandbox = file.sandbox ?? {};
    const number = (value: unknown, min: number, max: number): number | undefined => (typeof value === 'number' && value >= min && value <= max ? value : undefined);
    const memory = number(sandbox.memoryLimitMb, 8, 2048);
    const timeout = number(sandbox.timeoutMs, 50, 600_000);
    const workers = number(sandbox.workers, 1, 16);
    return {
      ...(workers ? { workers } : {}),
      limits: { ...(memory ? { memoryLimitBytes: memory * 1024 * 1024 } : {}), ...(timeout ? { timeoutMs: timeout } : {}) },
    };
  } catch {
    return {};
  }
}

