#!/usr/bin/env node
// The `eddy` command's launcher: runs the built CLI bundle, building it first on a fresh checkout.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist', 'main', 'cli.mjs');
if (!existsSync(cli)) {
  const built = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs'), '--quick'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (built.status !== 0) {
    process.stderr.write('eddy: the CLI is not built and building it failed; run `npm run build`.\n');
    process.exit(1);
  }
}
await import(pathToFileURL(cli).href);
