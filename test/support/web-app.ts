// Starts the real web-mode host (built bundle, supervised engine child) for tests, on a free port
// with a fresh data folder, and stops it afterwards.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `npm test` builds first; running a single test file builds what is missing. */
export function ensureBuilt(withRenderer: boolean): void {
  const webMain = path.join(repoRoot, 'dist', 'main', 'web-main.mjs');
  const renderer = path.join(repoRoot, 'dist', 'renderer', 'index.html');
  if (existsSync(webMain) && (!withRenderer || existsSync(renderer))) return;
  const result = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'build.mjs'), ...(withRenderer ? [] : ['--quick'])], { stdio: 'inherit', cwd: repoRoot });
  if (result.status !== 0) throw new Error('build failed');
}

export interface WebApp {
  url: string;
  origin: string;
  port: number;
  token: string;
  dataDir: string;
  child: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

export async function startWebApp(options: { workspace?: string; env?: Record<string, string> } = {}): Promise<WebApp> {
  ensureBuilt(true);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'eddy-web-'));
  const args = [path.join(repoRoot, 'dist', 'main', 'web-main.mjs'), '--port', '0'];
  if (options.workspace) args.push('--workspace', options.workspace);
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, EDDY_DATA_DIR: dataDir, EDDY_WORKSPACE: '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`web mode did not print its URL within 60 s:\n${output}`)), 60_000);
    const check = (): void => {
      const match = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`web mode exited with ${String(code)}:\n${output}`));
    });
  });
  const parsed = new URL(url);
  return {
    url,
    origin: parsed.origin,
    port: Number(parsed.port),
    token: parsed.searchParams.get('token') ?? '',
    dataDir,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
