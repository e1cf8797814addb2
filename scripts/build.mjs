// Builds everything the hosts run: the Electron main, preload and engine bundles, the web server,
// the CLI (esbuild) and the renderer (Vite). `node scripts/build.mjs --quick` skips the renderer.
import { build } from 'esbuild';
import { build as viteBuild } from 'vite';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8'));
const quick = process.argv.includes('--quick');
const started = Date.now();

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  absWorkingDir: root,
  define: { __EDDY_VERSION__: JSON.stringify(pkg.version) },
};

await Promise.all([
  // Electron loads main and preload as CommonJS; the sandboxed preload may only require 'electron'.
  build({ ...common, entryPoints: ['main/electron/main.ts'], outfile: 'dist/main/electron-main.cjs', format: 'cjs', external: ['electron'] }),
  build({ ...common, entryPoints: ['main/electron/preload.ts'], outfile: 'dist/main/preload.cjs', format: 'cjs', external: ['electron'], platform: 'browser', target: 'chrome130', minify: true }),
  // The engine and the Node hosts keep npm packages external: they ship in node_modules.
  build({ ...common, entryPoints: ['main/engine/engine-process.ts'], outfile: 'dist/main/engine-process.mjs', format: 'esm', packages: 'external' }),
  // Transform scripts run in QuickJS inside worker threads started from this file.
  build({ ...common, entryPoints: ['main/engine/transforms/sandbox/worker-entry.ts'], outfile: 'dist/main/transform-worker.mjs', format: 'esm', packages: 'external' }),
  build({ ...common, entryPoints: ['main/web/web-main.ts'], outfile: 'dist/main/web-main.mjs', format: 'esm', packages: 'external' }),
  build({ ...common, entryPoints: ['main/cli/eddy.ts'], outfile: 'dist/main/cli.mjs', format: 'esm', packages: 'external' }),
]);

if (!quick) {
  await viteBuild({ configFile: path.join(root, 'vite.config.ts'), logLevel: 'warn' });
}
if (!quick) await writeFile(path.join(root, 'dist', '.build-stamp'), new Date().toISOString() + '\n');
console.log(`built in ${((Date.now() - started) / 1000).toFixed(1)} s${quick ? ' (renderer skipped)' : ''}`);
