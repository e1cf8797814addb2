// The newcomer's loop through the engine's handlers and the CLI, on a copy of the demo workspace:
// preview a transform on captured orders, pin three events into a test, run the tests in the
// engine and with `eddy test` (same results, JUnit XML), see a failing expectation fail with a
// readable diff, and compare two versions of the transform.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineContext } from '../../main/engine/context.js';
import { createTransformsHandlers } from '../../main/engine/transforms/handlers.js';
import type { SampleReader } from '../../main/engine/transforms/samples.js';
import { testCommand } from '../../main/cli/commands/test.js';
import { NewEventSchema, type StoredEvent } from '../../shared/events.js';
import type { TestFile, TestRunReport } from '../../shared/contracts/transforms.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
let root: string;
let handlers: ReturnType<typeof createTransformsHandlers>;
const cleanups: (() => Promise<void> | void)[] = [];

/** The demo's samples as a log: enough of `read` for previews, types and lookup tables. */
function sampleLog(dir: string): SampleReader {
  const events: StoredEvent[] = [];
  for (const file of ['shop-customers.jsonl', 'shop-orders.jsonl', 'callcentre-calls.jsonl']) {
    for (const line of readFileSync(path.join(dir, 'samples', file), 'utf8').split('\n')) {
      if (line.trim()) events.push({ ...NewEventSchema.parse(JSON.parse(line)), seq: events.length + 1, size: line.length });
    }
  }
  return {
    async read({ stream, direction, limit, cursor }) {
      const all = events.filter((event) => event.stream === stream);
      const ordered = direction === 'newest' ? [...all].reverse() : all;
      const start = cursor ? Number(cursor) : 0;
      const page = ordered.slice(start, start + limit);
      return { events: page, nextCursor: start + limit < ordered.length ? String(start + limit) : null };
    },
  };
}

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  const errors = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    return { code: await testCommand.run(args), out };
  } finally {
    write.mockRestore();
    errors.mockRestore();
  }
}

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'eddy-transforms-'));
  cpSync(path.join(repoRoot, 'demo'), root, { recursive: true });
  const context = {
    workspace: { root, isDemo: false, file: { name: 'demo', version: 1, samples: [] }, localDir: path.join(root, '.eddy') },
    log: sampleLog(root),
    onClose: (cleanup: () => Promise<void> | void) => cleanups.push(cleanup),
    report: () => undefined,
    emit: () => undefined,
  } as unknown as EngineContext;
  handlers = createTransformsHandlers(context, { pool: { workers: 1 } });
});

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
  rmSync(root, { recursive: true, force: true });
});

describe('transforms in the demo workspace', () => {
  let created: TestFile;

  it('lists the demo transform and infers the orders stream types from samples', async () => {
    const list = await handlers.listTransforms({});
    expect(list.map((item) => item.path)).toContain('transforms/paid-orders.ts');
    expect(list.find((item) => item.path === 'transforms/paid-orders.ts')?.stream).toBe('sqlserver:shop.dbo.Orders');
    const types = await handlers.getStreamTypes({ stream: 'sqlserver:shop.dbo.Orders', limit: 500 });
    expect(types.declarations).toMatch(/Status: string;/);
    expect(types.declarations).toMatch(/"sqlserver:shop\.dbo\.Orders": SqlserverShopDboOrdersEvent/);
    const checked = await handlers.compileTransform({ source: readFileSync(path.join(root, 'transforms/paid-orders.ts'), 'utf8'), path: 'transforms/paid-orders.ts', typecheck: true, stream: 'sqlserver:shop.dbo.Orders' });
    expect(checked.diagnostics).toEqual([]);
    const wrong = await handlers.compileTransform({ source: "import type { Transform } from 'eddy';\nconst t: Transform<'sqlserver:shop.dbo.Orders'> = (event) => ({ value: event.after?.Colour ?? null });\nexport default t;\n", typecheck: true, stream: 'sqlserver:shop.dbo.Orders' });
    expect(wrong.diagnostics[0]).toMatchObject({ source: 'typecheck', line: 2 });
    expect(wrong.diagnostics[0]!.message).toMatch(/Colour/);
  });

  it('previews the transform per record, with lookups as of event time', async () => {
    const preview = await handlers.previewTransform({ script: { path: 'transforms/paid-orders.ts' }, window: { stream: 'sqlserver:shop.dbo.Orders', limit: 40, direction: 'oldest' } });
    expect(preview.ok).toBe(true);
    expect(preview.records).toHaveLength(40);
    const paid = preview.records.find((record) => record.input.position.endsWith('00001070:0000:00000027:00001060:0002:2'));
    expect(paid?.outputs[0]?.value).toMatchObject({ orderId: 50004, customerId: 1016, total: 39 });
    expect(typeof (paid?.outputs[0]?.value as { tier: string }).tier).toBe('string');
    expect(Object.keys(preview.lookups)).toEqual(['sqlserver:shop.dbo.Customers']);
    expect(preview.stats.errors).toBe(0);
  });

  it('reports a compile error and a per-record error with their source lines', async () => {
    const broken = await handlers.previewTransform({ script: { path: 'transforms/x.ts', source: 'export default function (event) {\n  return {\n}' }, window: { stream: 'sqlserver:shop.dbo.Orders', limit: 3, direction: 'oldest' } });
    expect(broken.ok).toBe(false);
    expect(broken.diagnostics[0]).toMatchObject({ severity: 'error', line: 3 });
    const throwing = await handlers.previewTransform({
      script: { path: 'transforms/x.ts', source: "export default function (event) {\n  if (event.after.Quantity > 2) {\n    throw new Error('too many');\n  }\n  return { value: 1 };\n}\n" },
      window: { stream: 'sqlserver:shop.dbo.Orders', limit: 10, direction: 'oldest' },
    });
    const failed = throwing.records.filter((record) => record.error);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed[0]!.error).toMatchObject({ message: 'too many', line: 3 });
    expect(throwing.records.filter((record) => record.outputs.length === 1).length).toBe(10 - failed.length);
  });

  it('pins three sample events into a test, masking personal data', async () => {
    const preview = await handlers.previewTransform({ script: { path: 'transforms/paid-orders.ts' }, window: { stream: 'sqlserver:shop.dbo.Orders', limit: 20, direction: 'oldest' } });
    const picked = preview.records.filter((record) => record.outputs.length > 0).slice(0, 2);
    const dropped = preview.records.find((record) => record.outputs.length === 0)!;
    const result = await handlers.createTest({ name: 'Three orders', transform: 'transforms/paid-orders.ts', events: [dropped.input, ...picked.map((record) => record.input)], ordered: true, overwrite: false });
    created = result.test;
    expect(result.path).toBe('tests/three-orders.test.json');
    expect(created.events).toHaveLength(3);
    expect(created.expect.outputs).toHaveLength(2);
    const text = readFileSync(path.join(root, result.path), 'utf8');
    expect(text).not.toMatch(/@example\.com/);
    expect(created.masking.map((rule) => rule.path)).toContain('row.Email');
    expect(Object.keys(created.tables)).toEqual(['sqlserver:shop.dbo.Customers']);
  });

  it('runs the tests in the engine and with `eddy test`, with the same results', async () => {
    const report = await handlers.runTests({ detail: true });
    expect(report.tests.map((test) => [test.path, test.status])).toEqual([
      ['tests/paid-orders.test.json', 'passed'],
      ['tests/three-orders.test.json', 'passed'],
    ]);
    // The preview on the pinned events gives exactly the outputs the test runner saw.
    const preview = await handlers.previewTransform({ script: { path: 'transforms/paid-orders.ts' }, events: created.events, tables: created.tables });
    const run = report.tests.find((test) => test.path === 'tests/three-orders.test.json')!.run!;
    expect(preview.records.map((record) => record.outputs)).toEqual(run.map((record) => record.outputs));

    const junit = path.join(root, 'out', 'junit.xml');
    const { code, out } = await cli([root, '--junit', junit]);
    expect(code).toBe(0);
    // `eddy test` on a workspace also runs its pipeline tests (the demo has one).
    expect(out).toMatch(/3 passed, 0 failed/);
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toMatch(/<testsuites name="eddy test" tests="3" failures="0" errors="0"/);
    const json = await cli([path.join(root, 'tests'), '--json']);
    const cliReport = JSON.parse(json.out) as TestRunReport;
    expect(cliReport.tests.map((test) => [test.path, test.status, test.outputs])).toEqual(report.tests.map((test) => [test.path, test.status, test.outputs]));
  });

  it('fails `eddy test` with a readable diff when an expectation is wrong', async () => {
    const file = path.join(root, 'tests', 'three-orders.test.json');
    const test = JSON.parse(readFileSync(file, 'utf8')) as TestFile;
    const expected = test.expect.outputs[0]!.value as { total: number };
    const actualTotal = expected.total;
    expected.total = actualTotal + 1;
    writeFileSync(file, JSON.stringify(test, null, 2));
    const junit = path.join(root, 'out', 'failing.xml');
    const { code, out } = await cli([file, '--junit', junit, '--no-color']);
    expect(code).toBe(1);
    expect(out).toContain('✖ Three orders');
    expect(out).toContain(`- value.total: ${actualTotal + 1}`);
    expect(out).toContain(`+ value.total: ${actualTotal}`);
    expect(out).toMatch(/0 passed, 1 failed/);
    expect(readFileSync(junit, 'utf8')).toMatch(/<failure message="output #1 from event #2 \([^"]+\) does not match" type="AssertionError">/);
    const inApp = await handlers.runTests({ paths: ['tests/three-orders.test.json'], detail: false });
    expect(inApp.tests[0]!.failures.map((failure) => failure.diff)).toEqual([[`- value.total: ${actualTotal + 1}`, `+ value.total: ${actualTotal}`]]);
  });

  it('exits 2 on bad usage and 1 when there are no tests', async () => {
    expect((await cli([path.join(root, 'nope')])).code).toBe(2);
    const empty = mkdtempSync(path.join(os.tmpdir(), 'eddy-empty-'));
    writeFileSync(path.join(empty, 'eddy-workspace.json'), JSON.stringify({ name: 'empty', version: 1 }));
    expect((await cli([empty])).code).toBe(1);
    rmSync(empty, { recursive: true, force: true });
  });

  it('compares two versions over the same samples', async () => {
    const saved = readFileSync(path.join(root, 'transforms/paid-orders.ts'), 'utf8');
    const edited = saved.replace('total: order.Amount,', 'total: order.Amount * 2,').replace("order.Status !== 'paid'", "order.Status === 'cancelled'");
    const result = await handlers.compareTransforms({ base: { path: 'transforms/paid-orders.ts' }, candidate: { path: 'transforms/paid-orders.ts', source: edited }, window: { stream: 'sqlserver:shop.dbo.Orders', limit: 200, direction: 'oldest' } });
    expect(result.ok).toBe(true);
    expect(result.summary.records).toBe(200);
    expect(result.summary.changed).toBeGreaterThan(0);
    expect(result.summary.added).toBeGreaterThan(0);
    expect(result.summary.fields.map((field) => field.path)).toContain('value.total');
    expect(result.records.every((record) => record.status !== 'same')).toBe(true);
  });
});
