// Finds the sandbox worker's script. A build puts it beside the engine bundle
// (dist/main/transform-worker.mjs, built from worker-entry.ts); running from source (tests, a dev
// checkout before that build entry exists) builds it once with esbuild into node_modules/.cache,
// where its npm imports still resolve.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as EsbuildApi from 'esbuild';

export const WORKER_BUNDLE_NAME = 'transform-worker.mjs';
const ENTRY = path.join('main', 'engine', 'transforms', 'sandbox', 'worker-entry.ts');

let cached: Promise<string> | undefined;

export function resolveWorkerFile(): Promise<string> {
  cached ??= locate().catch((error: unknown) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

async function locate(): Promise<string> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const beside = path.join(here, WORKER_BUNDLE_NAME);
  if (existsSync(beside)) return beside;
  let entry: string | undefined = existsSync(path.join(here, 'worker-entry.ts')) ? path.join(here, 'worker-entry.ts') : undefined;
  let root: string | undefined;
  for (let dir = here; ; dir = path.dirname(dir)) {
    if (!entry && existsSync(path.join(dir, ENTRY))) entry = path.join(dir, ENTRY);
    if (entry && existsSync(path.join(dir, 'node_modules'))) {
      root = dir;
      break;
    }
    if (path.dirname(dir) === dir) break;
  }
  if (!entry || !root) {
    throw new Error(`The transform sandbox's worker (${WORKER_BUNDLE_NAME}) is missing beside ${here}; rebuild Eddy (npm run build).`);
  }
  const { build } = (await import('esbuild')) as typeof EsbuildApi;
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    write: false,
    logLevel: 'silent',
  });
  const text = result.outputFiles[0]!.text;
  const dir = path.join(root, 'node_modules', '.cache', 'eddy');
  const file = path.join(dir, `transform-worker-${createHash('sha256').update(text).digest('hex').slice(0, 16)}.mjs`);
  if (!existsSync(file)) {
    await mkdir(dir, { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    await writeFile(temp, text);
    await rename(temp, file);
  }
  return file;
}
