// `eddy test [PATH|BUNDLE] [--junit FILE]`: runs a workspace's transform tests headless, like
// `bru run` or `newman run`, with the same runner as the app. PATH is a workspace (or an exported
// bundle: any folder with eddy-workspace.json), its tests/ folder, or one .test.json file.
// Exit codes: 0 all passed, 1 a test failed or could not run (or none were found), 2 bad usage.
import { existsSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { flagString, parseArgs, type CliCommand } from '../command.js';
import { listTests } from '../../engine/transforms/files.js';
import { toJUnitXml } from '../../engine/transforms/junit.js';
import { TransformPool } from '../../engine/transforms/sandbox/pool.js';
import { workspacePoolOptions } from '../../engine/transforms/sandbox-settings.js';
import { formatReport, runTests } from '../../engine/transforms/test-runner.js';
import { findPipelineTests, runWorkspacePipelineTests } from '../../engine/pipelines/pipeline-test.js';

const WORKSPACE_FILE = 'eddy-workspace.json';

function findWorkspace(start: string): string | undefined {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, WORKSPACE_FILE))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** The workspace root and which of its tests PATH selects (all when undefined). */
export async function selectTests(target: string): Promise<{ root: string; paths: string[] | undefined } | { error: string }> {
  const absolute = path.resolve(target);
  if (!existsSync(absolute)) return { error: `${target} does not exist` };
  const isFile = statSync(absolute).isFile();
  const root = findWorkspace(isFile ? path.dirname(absolute) : absolute);
  if (!root) return { error: `${target} is not inside an Eddy workspace (no ${WORKSPACE_FILE} found above it)` };
  const relative = path.relative(root, absolute).split(path.sep).join('/');
  if (isFile) {
    if (!relative.endsWith('.test.json')) return { error: `${target} is not a test file (tests are tests/<name>.test.json)` };
    return { root, paths: [relative] };
  }
  if (relative === '') return { root, paths: undefined };
  const all = await listTests(root);
  return { root, paths: all.map((test) => test.path).filter((file) => file.startsWith(`${relative}/`)) };
}

export const testCommand: CliCommand = {
  summary: 'Run transform tests (tests/*.test.json) headless; exit code and JUnit XML for CI.',
  usage: 'eddy test [PATH|BUNDLE] [--junit FILE] [--json] [--no-color]   (PATH: a workspace, its tests/ folder or one .test.json; default: .)',
  async run(args) {
    const parsed = parseArgs(args, ['json', 'no-color']);
    if (parsed.positionals.length > 1) {
      process.stderr.write(`eddy test: give at most one PATH.\nUsage: ${this.usage}\n`);
      return 2;
    }
    const junit = parsed.flags.get('junit');
    if (junit === true) {
      process.stderr.write('eddy test: --junit needs a file name.\n');
      return 2;
    }
    const selected = await selectTests(parsed.positionals[0] ?? '.');
    if ('error' in selected) {
      process.stderr.write(`eddy test: ${selected.error}.\n`);
      return 2;
    }
    const paths = selected.paths ?? (await listTests(selected.root)).map((test) => test.path);
    // A whole workspace (or bundle) also runs its pipeline tests (*.pipeline-test.json).
    const pipelineTests = selected.paths ? [] : await findPipelineTests(selected.root);
    if (paths.length === 0 && pipelineTests.length === 0) {
      process.stderr.write(`eddy test: no tests found in ${path.join(selected.root, 'tests')} (a test is tests/<name>.test.json or <name>.pipeline-test.json).\n`);
      return 1;
    }
    const pool = new TransformPool(await workspacePoolOptions(selected.root));
    try {
      const transforms = await runTests({ root: selected.root, pool, paths });
      const pipelines = pipelineTests.length > 0 ? await runWorkspacePipelineTests(selected.root, pipelineTests) : undefined;
      const report = pipelines
        ? {
            ...transforms,
            tests: [...transforms.tests, ...(pipelines.tests as unknown as typeof transforms.tests)],
            passed: transforms.passed + pipelines.passed,
            failed: transforms.failed + pipelines.failed,
            errors: transforms.errors + pipelines.errors,
            durationMs: transforms.durationMs + pipelines.durationMs,
          }
        : transforms;
      const color = process.stdout.isTTY === true && !parsed.flags.has('no-color') && !process.env.NO_COLOR;
      process.stdout.write(parsed.flags.has('json') ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report, color));
      const junitFile = flagString(parsed, 'junit');
      if (junitFile) {
        await mkdir(path.dirname(path.resolve(junitFile)), { recursive: true });
        await writeFile(junitFile, toJUnitXml(report));
      }
      return report.failed + report.errors > 0 ? 1 : 0;
    } finally {
      await pool.close();
    }
  },
};
