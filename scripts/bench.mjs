// `npm run bench -- NAME [args...]`: bundles test/bench/NAME.ts with esbuild (Node platform, ESM,
// packages left external so sql.js and friends load from node_modules) and runs it with
// `node --expose-gc --no-node-snapshot` (isolated-vm asks for the latter), passing the extra arguments through and exiting with its code.
// `npm run bench` alone lists the benchmarks. DESIGN.md 7 describes the output format.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = path.join(root, 'test', 'bench');
const [name, ...args] = process.argv.slice(2);
const available = readdirSync(benchDir)
  .filter((file) => file.endsWith('.ts'))
  .map((file) => file.slice(0, -3))
  .sort();

if (!name) {
  console.log('Benchmarks (npm run bench -- NAME):');
  for (const bench of available) console.log(`  ${bench}`);
  process.exit(0);
}
if (!available.includes(name)) {
  console.error(`No benchmark named "${name}". Available: ${available.join(', ') || '(none)'}`);
  process.exit(2);
}

// Inside node_modules so the bundle's bare imports (sql.js, zod) resolve from the repository.
const outDir = path.join(root, 'node_modules', '.cache', 'eddy-bench');
mkdirSync(outDir, { recursive: true });
const outfile = path.join(outDir, `${name}-${process.pid}.mjs`);
await build({
  entryPoints: [path.join(benchDir, `${name}.ts`)],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'inline',
  outfile,
  logLevel: 'warning',
});

// BENCH_NODE_ARGS adds Node flags, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile a run.
const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
const child = spawn(process.execPath, ['--expose-gc', '--no-node-snapshot', '--enable-source-maps', ...nodeArgs, outfile, ...args], { stdio: 'inherit', cwd: root });
const forward = (signal) => child.kill(signal);
process.on('SIGINT', forward);
process.on('SIGTERM', forward);
child.on('exit', (code, signal) => {
  rmSync(outfile, { force: true });
  process.exit(code ?? (signal ? 1 : 0));
});
