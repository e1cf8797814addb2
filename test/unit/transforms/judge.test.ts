// Test expectations: partial matches in order or as a set, expected errors, state, readable diffs,
// and the JUnit XML CI reads.
import { describe, expect, it } from 'vitest';
import { judge, formatReport } from '../../../main/engine/transforms/test-runner.js';
import { toJUnitXml } from '../../../main/engine/transforms/junit.js';
import { partialMismatches, diffFields } from '../../../main/engine/transforms/diff.js';
import type { PreviewRecord, TestFile } from '../../../shared/contracts/transforms.js';

function record(index: number, values: unknown[], error: string | null = null): PreviewRecord {
  return {
    index,
    input: { stream: 's', position: `p${index}`, key: index, value: null, headers: [], eventTime: 0, ingestTime: 0 },
    outputs: values.map((value) => ({ key: index, value: value as never, headers: [], eventTime: 0 })),
    logs: [],
    error: error ? { kind: 'error', name: 'Error', message: error, line: 3, column: 1 } : null,
    changes: [],
    stateChanges: [],
  };
}

function test(expect: Partial<TestFile['expect']>): TestFile {
  return {
    name: 't',
    transform: 'transforms/t.ts',
    masking: [],
    initialState: {},
    tables: {},
    events: [{ stream: 's', position: 'p0', key: 0, value: null, headers: [], eventTime: 0, ingestTime: 0 }],
    expect: { outputs: [], ordered: true, errors: [], ...expect },
  };
}

describe('judge', () => {
  it('matches partially, in order, with a diff per mismatching field', () => {
    const records = [record(0, [{ id: 1, total: 10, extra: true }]), record(1, [{ id: 2, total: 20 }])];
    expect(judge(test({ outputs: [{ value: { id: 1, total: 10 } }, { value: { id: 2 } }] }), records, {})).toEqual([]);
    const failures = judge(test({ outputs: [{ value: { id: 1, total: 11 } }, { value: { id: 2 } }] }), records, {});
    expect(failures).toEqual([{ message: 'output #1 from event #1 (p0) does not match', diff: ['- value.total: 11', '+ value.total: 10'] }]);
  });

  it('reports missing and unexpected outputs', () => {
    const records = [record(0, [{ id: 1 }, { id: 2 }])];
    expect(judge(test({ outputs: [{ value: { id: 1 } }] }), records, {})[0]!.message).toMatch(/unexpected output #2 from event #1/);
    expect(judge(test({ outputs: [{ value: { id: 1 } }, { value: { id: 2 } }, { value: { id: 3 } }] }), records, {})[0]!.message).toMatch(/output #3 is missing/);
  });

  it('matches as a set when order does not matter, showing the closest candidate', () => {
    const records = [record(0, [{ id: 2 }, { id: 1 }])];
    expect(judge(test({ ordered: false, outputs: [{ value: { id: 1 } }, { value: { id: 2 } }] }), records, {})).toEqual([]);
    const failures = judge(test({ ordered: false, outputs: [{ value: { id: 1 } }, { value: { id: 3 } }] }), records, {});
    expect(failures[0]).toEqual({ message: 'expected output #2 was not produced; closest is output #1 from event #1 (p0)', diff: ['- value.id: 3', '+ value.id: 2'] });
  });

  it('fails on unexpected errors and on expected errors that did not happen', () => {
    const records = [record(0, [], 'boom'), record(1, [{ id: 2 }])];
    expect(judge(test({ outputs: [{ value: { id: 2 } }] }), records, {})[0]!.message).toMatch(/event #1 \(p0\) failed: Error: boom \(transforms\/t.ts:3\)/);
    expect(judge(test({ outputs: [{ value: { id: 2 } }], errors: [{ event: 'p0', message: 'boom' }] }), records, {})).toEqual([]);
    expect(judge(test({ outputs: [{ value: { id: 2 } }], errors: [{ event: 1 }] }), records, {}).map((failure) => failure.message)).toEqual([
      'event #1 (p0) failed: Error: boom (transforms/t.ts:3)',
      'event #2 (p1) was expected to fail, but it succeeded',
    ]);
  });

  it('compares the final state partially', () => {
    expect(judge(test({ state: { total: 3 } }), [], { total: 3, other: 1 })).toEqual([]);
    expect(judge(test({ state: { total: 3 } }), [], { total: 4 })[0]!.diff).toEqual(['- total: 3', '+ total: 4']);
  });

  it('formats a terminal report and JUnit XML', () => {
    const report = {
      tests: [
        { path: 'tests/a.test.json', name: 'A & B', status: 'passed' as const, durationMs: 5, records: 3, outputs: 2, failures: [] },
        { path: 'tests/b.test.json', name: 'B', status: 'failed' as const, durationMs: 7, records: 1, outputs: 1, failures: [{ message: 'output #1 does not match', diff: ['- value.x: 1', '+ value.x: 2'] }] },
      ],
      passed: 1,
      failed: 1,
      errors: 0,
      durationMs: 12,
    };
    const text = formatReport(report);
    expect(text).toContain('✔ A & B');
    expect(text).toContain('      - value.x: 1');
    expect(text.trim().split('\n').at(-1)).toBe('1 passed, 1 failed');
    const xml = toJUnitXml(report);
    expect(xml).toContain('<testsuites name="eddy test" tests="2" failures="1" errors="0" time="0.012">');
    expect(xml).toContain('name="A &amp; B"');
    expect(xml).toContain('<failure message="output #1 does not match" type="AssertionError">output #1 does not match\n  - value.x: 1\n  + value.x: 2</failure>');
  });
});

describe('diffs', () => {
  it('lists field changes and partial mismatches', () => {
    expect(diffFields({ a: 1, b: { c: 2 }, d: [1] }, { a: 1, b: { c: 3 }, e: 'x' })).toEqual([
      { path: 'b.c', kind: 'changed', before: 2, after: 3 },
      { path: 'd[0]', kind: 'removed', before: 1 },
      { path: 'e', kind: 'added', after: 'x' },
    ]);
    expect(partialMismatches({ a: [1, 2] }, { a: [1] })).toEqual(['a: expected 2 item(s) [1,2], got 1 [1]']);
    expect(partialMismatches({ a: { b: 1 } }, { a: null })).toEqual(['a: expected an object, got null']);
  });
});
