// Runs test files (tests/<name>.test.json): the pinned events through the transform in the sandbox,
// with the test's initial state, controlled time and fixture tables, then compares outputs
// (partial match, in order or as a set), expected errors and the final state. The app's results
// panel and `eddy test` both call `runTests`, so they agree on every fixture.
import path from 'node:path';
import type { OutputEvent, PreviewRecord, TestFailure, TestFile, TestResult, TestRunReport } from '../../../shared/contracts/transforms.js';
import { compileTransform } from './compile.js';
import { partialMismatches, show } from './diff.js';
import { listTests, readTest, readText } from './files.js';
import { runTransform } from './run.js';
import type { TransformPool } from './sandbox/pool.js';

export interface RunTestsOptions {
  root: string;
  pool: TransformPool;
  /** Workspace-relative test paths; all tests when absent. */
  paths?: string[];
  detail?: boolean;
  /** Called after each test, for progress. */
  onResult?: (result: TestResult) => void;
}

export async function runTests(options: RunTestsOptions): Promise<TestRunReport> {
  const started = Date.now();
  const paths = options.paths ?? (await listTests(options.root)).map((test) => test.path);
  const tests: TestResult[] = [];
  for (const file of paths) {
    const result = await runTestFile(options.root, file, options.pool, options.detail ?? false);
    tests.push(result);
    options.onResult?.(result);
  }
  return {
    tests,
    passed: tests.filter((test) => test.status === 'passed').length,
    failed: tests.filter((test) => test.status === 'failed').length,
    errors: tests.filter((test) => test.status === 'error').length,
    durationMs: Date.now() - started,
  };
}

export async function runTestFile(root: string, file: string, pool: TransformPool, detail: boolean): Promise<TestResult> {
  const started = Date.now();
  const base = { path: file, name: path.basename(file, '.test.json'), records: 0, outputs: 0 };
  let test: TestFile;
  try {
    test = await readTest(root, file);
  } catch (error) {
    return { ...base, status: 'error', durationMs: Date.now() - started, failures: [{ message: error instanceof Error ? error.message : String(error), diff: [] }] };
  }
  try {
    const source = await readText(root, test.transform);
    const compiled = await compileTransform(source, test.transform);
    const outcome = await runTransform(pool, {
      compiled,
      events: test.events,
      ...(test.time ? { time: test.time } : {}),
      initialState: test.initialState,
      tables: test.tables,
    });
    if (!outcome.ok) {
      const failures = outcome.diagnostics
        .filter((diagnostic) => diagnostic.severity === 'error')
        .map((diagnostic) => ({ message: `${test.transform}:${diagnostic.line}:${diagnostic.column}: ${diagnostic.message}`, diff: [] }));
      return { ...base, name: test.name, status: 'error', durationMs: Date.now() - started, failures };
    }
    const failures = judge(test, outcome.records, outcome.finalState);
    const outputs = outcome.records.reduce((sum, record) => sum + record.outputs.length, 0);
    return {
      ...base,
      name: test.name,
      status: failures.length === 0 ? 'passed' : 'failed',
      durationMs: Date.now() - started,
      records: outcome.records.length,
      outputs,
      failures,
      ...(detail ? { run: outcome.records } : {}),
    };
  } catch (error) {
    return { ...base, name: test.name, status: 'error', durationMs: Date.now() - started, failures: [{ message: error instanceof Error ? error.message : String(error), diff: [] }] };
  }
}

interface Produced {
  output: OutputEvent;
  record: PreviewRecord;
  /** Position among all outputs, 1-based. */
  number: number;
}

/** Compares a run with the test's expectations; each failure carries readable diff lines. */
export function judge(test: TestFile, records: PreviewRecord[], finalState: Record<string, unknown>): TestFailure[] {
  const failures: TestFailure[] = [];
  const produced: Produced[] = [];
  for (const record of records) for (const output of record.outputs) produced.push({ output, record, number: produced.length + 1 });
  const origin = (item: Produced): string => `from event #${item.record.index + 1} (${item.record.input.position})`;

  // Errors: every failing record must be expected, and every expected error must happen.
  const expectedErrors = test.expect.errors;
  for (const record of records) {
    if (!record.error) continue;
    const expected = expectedErrors.find((entry) => (typeof entry.event === 'number' ? entry.event === record.index : entry.event === record.input.position));
    const where = `${test.transform}${record.error.line !== null ? `:${record.error.line}` : ''}`;
    if (!expected) {
      failures.push({ message: `event #${record.index + 1} (${record.input.position}) failed: ${record.error.name}: ${record.error.message} (${where})`, diff: [] });
    } else if (expected.message && !record.error.message.includes(expected.message)) {
      failures.push({ message: `event #${record.index + 1} failed differently than expected`, diff: [`- message containing ${show(expected.message)}`, `+ ${record.error.name}: ${record.error.message}`] });
    }
  }
  for (const entry of expectedErrors) {
    const record = typeof entry.event === 'number' ? records[entry.event] : records.find((candidate) => candidate.input.position === entry.event);
    if (!record) failures.push({ message: `an expected error names event ${show(entry.event)}, which is not in the test's events`, diff: [] });
    else if (!record.error) failures.push({ message: `event #${record.index + 1} (${record.input.position}) was expected to fail${entry.message ? ` with ${show(entry.message)}` : ''}, but it succeeded`, diff: [] });
  }

  const expected = test.expect.outputs;
  if (test.expect.ordered) {
    const count = Math.max(expected.length, produced.length);
    for (let index = 0; index < count; index++) {
      const want = expected[index];
      const got = produced[index];
      if (want && !got) failures.push({ message: `output #${index + 1} is missing: expected ${expected.length} output(s), got ${produced.length}`, diff: [`- ${show(want)}`] });
      else if (!want && got) failures.push({ message: `unexpected output #${index + 1} ${origin(got)}: expected ${expected.length} output(s), got ${produced.length}`, diff: [`+ ${show(got.output)}`] });
      else if (want && got) {
        const lines = partialMismatches(want, got.output);
        if (lines.length > 0) failures.push({ message: `output #${index + 1} ${origin(got)} does not match`, diff: lines.flatMap(asDiff) });
      }
    }
  } else {
    const unmatched = [...produced];
    for (const [index, want] of expected.entries()) {
      const found = unmatched.findIndex((item) => partialMismatches(want, item.output).length === 0);
      if (found >= 0) {
        unmatched.splice(found, 1);
        continue;
      }
      // Show the closest candidate: the one with the fewest mismatching fields.
      const closest = unmatched
        .map((item) => ({ item, lines: partialMismatches(want, item.output) }))
        .sort((a, b) => a.lines.length - b.lines.length)[0];
      failures.push({
        message: `expected output #${index + 1} was not produced${closest ? `; closest is output #${closest.item.number} ${origin(closest.item)}` : ''}`,
        diff: closest ? closest.lines.flatMap(asDiff) : [`- ${show(want)}`],
      });
    }
    for (const item of unmatched.slice(0, Math.max(0, produced.length - expected.length))) {
      failures.push({ message: `unexpected output #${item.number} ${origin(item)}`, diff: [`+ ${show(item.output)}`] });
    }
  }

  if (test.expect.state) {
    const lines = partialMismatches(test.expect.state, finalState);
    if (lines.length > 0) failures.push({ message: 'the state after the last event does not match', diff: lines.flatMap(asDiff) });
  }
  return failures;
}

/** `value.total: expected 156, got 78` -> `- value.total: 156` / `+ value.total: 78`. */
function asDiff(line: string): string[] {
  const match = /^(.*?): expected (.*), got (.*)$/.exec(line);
  if (!match) return [line];
  return [`- ${match[1]}: ${match[2]}`, `+ ${match[1]}: ${match[3]}`];
}

/** A plain-text report for a terminal: one line per test, the diff under each failure. */
export function formatReport(report: TestRunReport, color = false): string {
  const paint = (code: number, text: string): string => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const lines: string[] = [];
  for (const test of report.tests) {
    const mark = test.status === 'passed' ? paint(32, '✔') : paint(31, test.status === 'failed' ? '✖' : '!');
    lines.push(`${mark} ${test.name} ${paint(2, `(${test.path}, ${test.records} event(s), ${Math.round(test.durationMs)} ms)`)}`);
    for (const failure of test.failures) {
      lines.push(`    ${failure.message}`);
      for (const line of failure.diff) lines.push(`      ${line.startsWith('-') ? paint(32, line) : line.startsWith('+') ? paint(31, line) : line}`);
    }
  }
  lines.push('');
  const failed = report.failed + report.errors;
  lines.push(`${report.passed} passed, ${failed} failed`);
  return `${lines.join('\n')}\n`;
}
