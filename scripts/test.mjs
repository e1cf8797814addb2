// `npm test`: lint (with the layer rules), both typechecks, the build the end-to-end tests need,
// then the unit, integration and end-to-end tests. Stops at the first failing step.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const extra = process.argv.slice(2);
const resultsFile = path.join(root, 'test-results', 'vitest.json');
rmSync(resultsFile, { force: true });

const steps = [
  ['lint', bin('eslint'), ['.', '--max-warnings=0']],
  ['typecheck (main, shared, tests)', bin('tsc'), ['-p', 'tsconfig.main.json', '--noEmit']],
  ['typecheck (renderer)', bin('tsc'), ['-p', 'tsconfig.renderer.json', '--noEmit']],
  ['typecheck (shared alone: no Node, no DOM)', bin('tsc'), ['-p', 'tsconfig.shared.json', '--noEmit']],
  ['build', process.execPath, [path.join(root, 'scripts', 'build.mjs')]],
  ['tests (unit, integration, e2e)', bin('vitest'), ['run', '--project', 'unit', '--project', 'integration', '--project', 'e2e', '--reporter=default', '--reporter=json', `--outputFile.json=${resultsFile}`, ...extra]],
];

/** One closing line any CI can read: `N passed, N failed, N skipped`. */
function summarize() {
  try {
    const results = JSON.parse(readFileSync(resultsFile, 'utf8'));
    const skipped = (results.numPendingTests ?? 0) + (results.numTodoTests ?? 0);
    console.log(`\ntests: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped`);
  } catch {
    // No results file: vitest failed before running anything; its own output says why.
  }
}

for (const [name, command, args] of steps) {
  const started = Date.now();
  console.log(`\n▶ ${name}`);
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: root });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (name.startsWith('tests')) summarize();
  if (result.status !== 0) {
    console.error(`\n✖ ${name} failed after ${seconds} s`);
    process.exit(result.status ?? 1);
  }
  console.log(`✔ ${name} (${seconds} s)`);
}
