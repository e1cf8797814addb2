// `npm start`: builds, then opens the desktop app. When the Electron binary cannot be obtained
// (no network to download it, or no display), it says so plainly and starts web mode instead.
// `npm run web` (`--web`) goes straight to web mode. Extra arguments pass through.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const webOnly = args.includes('--web');
const passThrough = args.filter((arg) => arg !== '--web');

/** The newest modification time under the sources, to skip a build when dist/ is current. */
function newestSource() {
  let newest = 0;
  const walk = (folder) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) walk(full);
      else newest = Math.max(newest, statSync(full).mtimeMs);
    }
  };
  for (const folder of ['main', 'shared', 'renderer']) walk(path.join(root, folder));
  for (const file of ['package.json', 'vite.config.ts', 'scripts/build.mjs']) newest = Math.max(newest, statSync(path.join(root, file)).mtimeMs);
  return newest;
}

const stamp = path.join(root, 'dist', '.build-stamp');
if (!existsSync(stamp) || statSync(stamp).mtimeMs < newestSource()) {
  console.log('Building Eddy (the first start takes a minute; later starts reuse the build)…');
  const built = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { stdio: 'inherit', cwd: root });
  if (built.status !== 0) {
    console.error('eddy: the build failed; see the errors above.');
    process.exit(built.status ?? 1);
  }
}

function runWeb(reason) {
  if (reason) console.log(`\n${reason}\nStarting Eddy in web mode instead: the same app, in your browser.\n`);
  const child = spawn(process.execPath, ['--enable-source-maps', path.join(root, 'dist', 'main', 'web-main.mjs'), ...passThrough], { stdio: 'inherit', cwd: root });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code) => process.exit(code ?? 0));
}

/** Resolving the `electron` package downloads its binary on first use; that can fail offline. */
function electronBinary() {
  const probe = spawnSync(process.execPath, ['-e', "process.stdout.write(require('electron'))"], {
    cwd: root,
    encoding: 'utf8',
    timeout: 180_000,
  });
  if (probe.status === 0 && probe.stdout) return { path: probe.stdout.trim() };
  const detail = (probe.stderr || probe.error?.message || '').split('\n').find((line) => /Error|failed/i.test(line)) ?? 'unknown error';
  return { error: detail.trim() };
}

if (webOnly) {
  runWeb();
} else if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
  runWeb('There is no graphical display here (DISPLAY and WAYLAND_DISPLAY are unset), so the desktop window cannot open.');
} else {
  try {
    createRequire(import.meta.url).resolve('electron', { paths: [root] });
  } catch {
    runWeb('The electron package is not installed (run `npm install`).');
    process.exit(0);
  }
  const binary = electronBinary();
  if (binary.error) {
    runWeb(
      `The Electron binary is not available: it is downloaded on first use and that download failed (${binary.error}).\n` +
        'If you have an Electron build, point ELECTRON_OVERRIDE_DIST_PATH at its folder and run `npm start` again.',
    );
  } else {
    const child = spawn(binary.path, [root, ...passThrough], { stdio: 'inherit', cwd: root });
    child.on('exit', (code) => process.exit(code ?? 0));
  }
}
