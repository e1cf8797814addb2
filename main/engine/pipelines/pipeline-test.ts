// Pipeline tests as files (`tests/<name>.pipeline-test.json`): fixture records in, expected sink
// contents out, with controlled processing time. A test runs the real runner over an in-memory log
// holding its fixtures (arrival order = ingest time), every sink redirected to an in-memory
// warehouse table (table sinks keep rows by key, the others one row per record), so a test never
// writes anywhere. `runPipelineTestFile` is what `eddy test` and the app call.
import path from 'node:path';
import { readdir, readFile } from 'node:fs/promises';
import { PipelineTestFileSchema, type PipelineTestFile, type PipelineTestResult } from '../../../shared/contracts/pipelines.js';
import { NewEventSchema, type JsonValue, type NewEvent } from '../../../shared/events.js';
import { parsePipelineSpec, sourceStream, type PipelineSpec } from '../../../shared/pipeline-spec.js';
import { Warehouse, warehouseRows } from '../sinks/warehouse.js';
import { buildPipeline } from './build.js';
import { MemoryCheckpointStore } from './checkpoint-store.js';
import type { Envelope } from './model.js';
import { PipelineRunner } from './runner.js';
import { InProcessScriptExecutor, scopedStateKey, type ScriptExecutor } from './scripts.js';
import { SandboxScriptExecutor } from './sandbox-executor.js';
import { MemoryLog } from './sources/log-port.js';
import { CommittedState } from './state.js';
import { scriptNamespace } from './stages/script.js';
import type { DeadLetter } from './model.js';
import { keyText } from './paths.js';

export interface FixtureRun {
  /** Sink id -> rows (table sinks: final table ordered by key; others: records in order, `{key, value, ...}`). */
  sinks: Map<string, Record<string, JsonValue>[]>;
  deadLetters: DeadLetter[];
  /** Window stage id -> late events' positions, in order. */
  late: Map<string, string[]>;
  state: CommittedState;
  records: number;
}

export interface FixtureRunOptions {
  executor?: ScriptExecutor;
  loadScript: (file: string) => Promise<string>;
  now?: number;
  stepMs?: number;
  /** Initial state per stage: `{ stage: { key: { name: value } } }` for keyed stages, `{ stage: { name: value } }` for transforms. */
  state?: Record<string, Record<string, Record<string, JsonValue>>>;
  maxRecords?: number;
}

/** A key as written in a test file: JSON when it parses (`1001`, `"A-7"`), else the plain string. */
function stateKeyText(key: string): string {
  try {
    return keyText(JSON.parse(key) as JsonValue);
  } catch {
    return keyText(key);
  }
}

function timeOf(value: number | string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number') return value;
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed)) throw new Error(`Not a time: ${value}`);
  return parsed;
}

/** Runs a spec over fixture events (already in arrival order) and returns what each sink holds. */
export async function runSpecOnFixtures(spec: PipelineSpec, events: NewEvent[], options: FixtureRunOptions): Promise<FixtureRun> {
  const log = new MemoryLog();
  await log.append(events);
  const warehouse = await Warehouse.openShared(undefined);
  const checkpoints = new MemoryCheckpointStore();
  const initial = new CommittedState();
  for (const stage of spec.stages) {
    const given = options.state?.[stage.id];
    if (!given) continue;
    const writes = [];
    for (const [key, names] of Object.entries(given)) {
      if (stage.kind === 'keyed') for (const [name, value] of Object.entries(names)) writes.push({ namespace: scriptNamespace(stage.id), key: scopedStateKey(stateKeyText(key), name), value });
      else writes.push({ namespace: scriptNamespace(stage.id), key, value: names as unknown as JsonValue });
    }
    initial.apply(writes);
  }
  if (initial.size() > 0) await checkpoints.commit({ id: 0, runId: 'fixture', at: 0, positions: {}, counters: {} }, initial.entries());
  let runner: PipelineRunner | undefined;
  const base = options.now ?? 0;
  const clock = (): number => base + (options.stepMs ?? 0) * (runner?.metrics.recordsIn ?? 0);
  const built = await buildPipeline(
    { spec, mode: 'test', dryRun: true, checkpoints, clock, initialState: async () => initial },
    { log, loadScript: options.loadScript, executor: options.executor ?? new InProcessScriptExecutor(), warehouse: async () => warehouse },
  );
  const late = new Map<string, string[]>();
  const windowStages = spec.stages.filter((stage) => stage.kind === 'window').map((stage) => stage.id);
  try {
    runner = new PipelineRunner({
      ...built.runner,
      maxRecords: options.maxRecords ?? built.runner.spec.checkpoint.maxRecords,
      observe: (nodes) => {
        for (const stage of windowStages) {
          const list: Envelope[] = nodes.get(`${stage}.late`) ?? [];
          if (list.length > 0) late.set(stage, [...(late.get(stage) ?? []), ...list.map((envelope) => envelope.event.position)]);
        }
      },
    });
    const outcome = await runner.run(new AbortController().signal);
    if (outcome.state === 'failed') throw new Error(outcome.reason ?? 'The pipeline failed.');
    const sinks = new Map<string, Record<string, JsonValue>[]>();
    for (const sink of spec.sinks) {
      const table = built.shadowTables[sink.id]!;
      const keyed = sink.kind === 'postgres' || sink.kind === 'sqlserver' || sink.kind === 'warehouse';
      const exists = warehouse.tables().some((entry) => entry.name === table);
      if (!exists) {
        sinks.set(sink.id, []);
        continue;
      }
      const rows = keyed ? warehouseRows(warehouse, table, sink.key) : warehouseRows(warehouse, table, ['rowid']);
      sinks.set(
        sink.id,
        keyed
          ? rows
          : rows.map((row) => ({
              key: typeof row.key === 'string' ? safeJson(row.key) : row.key!,
              value: typeof row.value === 'string' ? safeJson(row.value) : row.value!,
              op: row.op ?? null,
              eventTime: row.event_time ?? null,
            })),
      );
    }
    const letterTable = built.shadowTables['dead-letters']!;
    const letterRows = warehouse.tables().some((entry) => entry.name === letterTable) ? warehouseRows(warehouse, letterTable, ['rowid']) : [];
    const deadLetters = letterRows.map(
      (row): DeadLetter => ({
        pipeline: spec.name,
        stage: String(row.stage),
        error: { name: 'Error', message: String(row.error) },
        attempts: Number(row.attempts),
        origin: { source: '', stream: String(row.origin_stream), position: String(row.origin_position) },
        input: { stream: String(row.origin_stream), position: String(row.origin_position), key: null, value: typeof row.input === 'string' ? safeJson(row.input) : (row.input ?? null), headers: [], eventTime: 0, ingestTime: 0 },
        at: Number(row.at),
      }),
    );
    return { sinks, deadLetters, late, state: runner.committedState(), records: runner.metrics.recordsIn };
  } finally {
    await built.close();
    await warehouse.close();
  }
}

function safeJson(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

/** Partial match: every field given in `expected` equals the actual one (recursively for objects). */
export function partialMatch(expected: JsonValue, actual: JsonValue | undefined): boolean {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    if (actual === null || actual === undefined || typeof actual !== 'object' || Array.isArray(actual)) return false;
    return Object.entries(expected).every(([key, value]) => partialMatch(value, actual[key]));
  }
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((item, index) => partialMatch(item, actual[index]));
  }
  if (typeof expected === 'number' && typeof actual === 'number') return Math.abs(expected - actual) < 1e-9;
  return expected === actual;
}

function normalize(value: JsonValue | undefined): JsonValue | undefined {
  // Warehouse cells hold objects as JSON text: compare them as values.
  if (typeof value === 'string' && /^[[{]/.test(value)) return safeJson(value);
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, normalize(item) ?? null]));
  return value;
}

/** Loads fixtures of a test file: arrays, or JSONL files relative to the test file. */
async function loadFixtures(test: PipelineTestFile, spec: PipelineSpec, testFile: string): Promise<NewEvent[]> {
  const all: { event: NewEvent; index: number }[] = [];
  let index = 0;
  for (const [name, fixture] of Object.entries(test.fixtures)) {
    const source = spec.sources.find((candidate) => candidate.id === name);
    const stream = source ? sourceStream(source) : name;
    let list: unknown[];
    if (typeof fixture === 'string') {
      const text = await readFile(path.resolve(path.dirname(testFile), fixture), 'utf8');
      list = text
        .split(/\r?\n/)
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as unknown);
    } else {
      list = fixture;
    }
    list.forEach((raw, at) => {
      const record = raw as Record<string, unknown>;
      const eventTime = timeOf(record.eventTime as number | string | undefined, 0);
      const event = NewEventSchema.parse({
        ...record,
        stream: record.stream ?? stream,
        position: record.position ?? `fixture:${name}/${at}`,
        eventTime,
        ingestTime: timeOf(record.ingestTime as number | string | undefined, eventTime),
      });
      all.push({ event, index: index++ });
    });
  }
  // Arrival order is ingest time; ties keep the file's order.
  all.sort((a, b) => a.event.ingestTime - b.event.ingestTime || a.index - b.index);
  return all.map((entry) => entry.event);
}

export interface PipelineTestFileOptions {
  /** The workspace root: the pipeline and its scripts are read from here. */
  workspace: string;
  executor?: ScriptExecutor;
}

/**
 * Runs one `*.pipeline-test.json` and compares. `path` is absolute or relative to the workspace.
 * Never throws for a failing or broken test: the result says `failed` or `error`.
 */
export async function runPipelineTestFile(file: string, options: PipelineTestFileOptions): Promise<PipelineTestResult> {
  const started = performance.now();
  const absolute = path.resolve(options.workspace, file);
  const relative = path.relative(options.workspace, absolute).split(path.sep).join('/');
  let name = path.basename(file);
  try {
    const test = PipelineTestFileSchema.parse(JSON.parse(await readFile(absolute, 'utf8')));
    name = test.name;
    const specFile = path.resolve(options.workspace, test.pipeline);
    const spec = parsePipelineSpec(JSON.parse(await readFile(specFile, 'utf8')));
    const events = await loadFixtures(test, spec, absolute);
    const now = test.time ? timeOf(test.time.now, 0) : (events[0]?.ingestTime ?? 0);
    const run = await runSpecOnFixtures(spec, events, {
      executor: options.executor,
      loadScript: (script) => readFile(path.resolve(options.workspace, script), 'utf8'),
      now,
      stepMs: test.time?.stepMs ?? 0,
      state: test.state,
    });
    const failures = compareRun(test, spec, run);
    const outputs = [...run.sinks.values()].reduce((sum, rows) => sum + rows.length, 0);
    return { path: relative, name, status: failures.length === 0 ? 'passed' : 'failed', durationMs: performance.now() - started, records: run.records, outputs, failures };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { path: relative, name, status: 'error', durationMs: performance.now() - started, records: 0, outputs: 0, failures: [{ message, diff: [] }] };
  }
}

export function compareRun(test: PipelineTestFile, spec: PipelineSpec, run: FixtureRun): PipelineTestResult['failures'] {
  const failures: PipelineTestResult['failures'] = [];
  for (const [sinkId, expectation] of Object.entries(test.expect.sinks)) {
    const actual = run.sinks.get(sinkId);
    if (!actual) {
      failures.push({ message: `No sink "${sinkId}" in pipeline ${spec.name}.`, diff: [] });
      continue;
    }
    const actualRows = actual.map((row) => normalize(row) as JsonValue);
    const expected = expectation.rows;
    const problems: string[] = [];
    if (expectation.exact && actualRows.length !== expected.length) problems.push(`expected ${expected.length} row(s), got ${actualRows.length}`);
    if (expectation.ordered) {
      expected.forEach((row, index) => {
        if (!partialMatch(row, actualRows[index])) problems.push(`row ${index}: - ${JSON.stringify(row)}`, `row ${index}: + ${JSON.stringify(actualRows[index] ?? null)}`);
      });
    } else {
      const unused = new Set(actualRows.map((_, index) => index));
      for (const row of expected) {
        const found = [...unused].find((index) => partialMatch(row, actualRows[index]));
        if (found === undefined) problems.push(`- ${JSON.stringify(row)}`);
        else unused.delete(found);
      }
      if (expectation.exact) for (const index of unused) problems.push(`+ ${JSON.stringify(actualRows[index])}`);
    }
    if (problems.length > 0) failures.push({ message: `Sink "${sinkId}" does not hold the expected rows.`, diff: problems.slice(0, 200) });
  }
  if (test.expect.deadLetters) {
    const problems: string[] = [];
    const unused = new Set(run.deadLetters.map((_, index) => index));
    for (const expected of test.expect.deadLetters) {
      const found = [...unused].find((index) => {
        const letter = run.deadLetters[index]!;
        return letter.stage === expected.stage && (expected.position === undefined || letter.origin.position === expected.position) && (expected.message === undefined || letter.error.message.includes(expected.message));
      });
      if (found === undefined) problems.push(`- ${JSON.stringify(expected)}`);
      else unused.delete(found);
    }
    for (const index of unused) {
      const letter = run.deadLetters[index]!;
      problems.push(`+ ${JSON.stringify({ stage: letter.stage, position: letter.origin.position, message: letter.error.message })}`);
    }
    if (problems.length > 0) failures.push({ message: 'The dead letters differ.', diff: problems });
  }
  for (const [stage, positions] of Object.entries(test.expect.late ?? {})) {
    const actual = run.late.get(stage) ?? [];
    if (JSON.stringify(actual) !== JSON.stringify(positions)) failures.push({ message: `Late events of "${stage}" differ.`, diff: [`- ${JSON.stringify(positions)}`, `+ ${JSON.stringify(actual)}`] });
  }
  return failures;
}

/** Pipeline test files anywhere under `tests/` or `pipelines/` (`*.pipeline-test.json`), workspace-relative. */
export async function findPipelineTests(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (relative: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(path.join(root, relative), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const child = `${relative}/${entry.name}`;
      if (entry.isDirectory() && depth < 4 && !entry.name.startsWith('.')) await walk(child, depth + 1);
      else if (entry.isFile() && entry.name.endsWith('.pipeline-test.json')) found.push(child);
    }
  };
  await walk('tests', 0);
  await walk('pipelines', 0);
  return found.sort();
}

export interface PipelineTestReport {
  tests: PipelineTestResult[];
  passed: number;
  failed: number;
  errors: number;
  durationMs: number;
}

/**
 * Runs a workspace's pipeline tests (all of them, or `paths`), scripts in the QuickJS sandbox. The
 * report has the shape of `eddy test`'s TestRunReport, so `main/cli/commands/test.ts` can merge it
 * with the transform tests' report and write one JUnit file.
 */
export async function runWorkspacePipelineTests(root: string, paths?: string[]): Promise<PipelineTestReport> {
  const started = performance.now();
  const files = paths ?? (await findPipelineTests(root));
  const tests: PipelineTestResult[] = [];
  const executor = new SandboxScriptExecutor({ workers: 1, graceMs: 5000 });
  try {
    for (const file of files) tests.push(await runPipelineTestFile(file, { workspace: root, executor }));
  } finally {
    await executor.close();
  }
  return {
    tests,
    passed: tests.filter((test) => test.status === 'passed').length,
    failed: tests.filter((test) => test.status === 'failed').length,
    errors: tests.filter((test) => test.status === 'error').length,
    durationMs: performance.now() - started,
  };
}
