// Crash test of the state store: a child commits transactions (state + checkpointed positions in
// one journal record) and is killed with SIGKILL at random moments and inside journal writes,
// snapshot writes and renames. After each restart, state and positions agree exactly, and nothing
// acknowledged is lost.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { openStateStore } from '../../main/engine/state/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let childScript = '';
let workDir = '';

beforeAll(async () => {
  const outDir = path.join(root, 'node_modules', '.cache', 'eddy-tests');
  mkdirSync(outDir, { recursive: true });
  childScript = path.join(outDir, `state-crash-child-${process.pid}.mjs`);
  await build({
    entryPoints: [path.join(root, 'test/fixtures/log/state-crash-child.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile: childScript,
    logLevel: 'warning',
  });
  workDir = mkdtempSync(path.join(os.tmpdir(), 'eddy-state-crash-'));
});

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
  rmSync(childScript, { force: true });
});

function runChild(dir: string, plan: { point?: string; nth?: number; killAfterMs: number }): Promise<{ acked: number; paused: string | null }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, EDDY_CRASH_POINT: plan.point ? `${plan.point}:${plan.nth}` : '' };
    const child = spawn(process.execPath, [childScript, dir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let acked = 0;
    let paused: string | null = null;
    let buffer = '';
    let stderr = '';
    const kill = (): void => void child.kill('SIGKILL');
    const guard = setTimeout(kill, plan.killAfterMs + 4000);
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline;
      while ((newline = buffer.indexOf('\n')) !== -1) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.startsWith('ACK ')) acked = Math.max(acked, Number(line.slice(4)));
        else if (line === 'READY' && !plan.point) setTimeout(kill, plan.killAfterMs);
        else if (line.startsWith('PAUSED ')) {
          paused = line.slice(7);
          setTimeout(kill, 5 + Math.random() * 20);
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL') reject(new Error(`child exited by itself (${code}): ${stderr}`));
      else resolve({ acked, paused });
    });
  });
}

describe('state store crash safety (SIGKILL)', () => {
  it('state and checkpointed positions always agree, and nothing acknowledged is lost, across 8 kills', async () => {
    const dir = path.join(workDir, 'state');
    const points = ['journal-write', 'journal-sync', 'file-write', 'file-rename', 'file-renamed'];
    let acked = 0;
    const pausedAt: string[] = [];
    for (let round = 0; round < 8; round++) {
      const plan = round < 3 ? { killAfterMs: 50 + Math.floor(Math.random() * 300) } : { point: points[round - 3]!, nth: 1 + Math.floor(Math.random() * 3), killAfterMs: 600 };
      const run = await runChild(dir, plan);
      acked = Math.max(acked, run.acked);
      if (run.paused) pausedAt.push(run.paused);
      const store = await openStateStore({ dir });
      const n = store.keyed('orders', 'count').get('n') as number;
      const checkpoint = store.lastCheckpoint('orders');
      expect(checkpoint?.positions['kafka:orders/0'] ?? 0).toBe(n ?? 0);
      expect(n ?? 0).toBeGreaterThanOrEqual(acked);
      if (n) {
        expect(store.table('customers').get({ id: n % 10 })).toEqual({ id: n % 10, n });
        expect(store.asOf('customers', { id: n % 10 }, n - 1)).not.toEqual({ id: n % 10, n });
        expect(store.keyed('orders', 'count').get(`k${n % 50}`)).toMatchObject({ n });
      }
      expect(store.problems().filter((p) => p.severity !== 'info')).toEqual([]);
      await store.close();
    }
    expect(acked).toBeGreaterThan(10);
    expect(new Set(pausedAt).size).toBeGreaterThanOrEqual(4);
  }, 90_000);
});
