// The pipeline spec schema (graph checks, durations, the JSON Schema export for editors) and the
// file checkpoint store (atomic commits, torn tails dropped, corruption reported, compaction).
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkPipelineSpec, durationMs, parsePipelineSpec, pipelineJsonSchema, topologicalStages } from '../../../shared/pipeline-spec.js';
import { FileCheckpointStore } from '../../../main/engine/pipelines/checkpoint-store.js';

const base = {
  version: 1,
  name: 'p',
  sources: [{ id: 'in', kind: 'log', stream: 's' }],
  sinks: [{ id: 'out', kind: 'null', inputs: ['in'] }],
};

describe('pipeline spec', () => {
  it('fills defaults and parses durations', () => {
    const spec = parsePipelineSpec(base);
    expect(spec.checkpoint).toEqual({ interval: '1s', maxRecords: 5000 });
    expect(spec.retries.maxAttempts).toBe(3);
    expect([durationMs('250ms'), durationMs('5s'), durationMs('1.5m'), durationMs('2h'), durationMs(42)]).toEqual([250, 5000, 90_000, 7_200_000, 42]);
  });

  it('reports graph problems with their paths', () => {
    const result = checkPipelineSpec({
      ...base,
      stages: [
        { id: 'a', kind: 'transform', inputs: ['b'], script: 'a.ts' },
        { id: 'b', kind: 'transform', inputs: ['a'], script: 'b.ts' },
        { id: 'in', kind: 'transform', inputs: ['nowhere'], script: 'c.ts' },
        { id: 'j', kind: 'lookup', inputs: ['in'], table: 'missing', key: 'key', as: 'x' },
      ],
      sinks: [{ id: 'out', kind: 'null', inputs: ['a.late'] }],
    });
    expect(result.ok).toBe(false);
    const messages = result.ok ? [] : result.problems.map((problem) => `${problem.path.join('.')}: ${problem.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^stages\.2\.id: Duplicate id "in"/),
        expect.stringMatching(/^stages\.2\.inputs\.0: Unknown input "nowhere"/),
        expect.stringMatching(/^stages\.3\.table: Unknown table "missing"/),
        expect.stringMatching(/^sinks\.0\.inputs\.0: "a\.late": only window stages/),
        expect.stringMatching(/cycle: a -> b -> a|cycle: b -> a -> b/),
      ]),
    );
  });

  it('orders stages so each comes after what it reads', () => {
    const order = topologicalStages([
      { id: 'c', inputs: ['b.late'] },
      { id: 'b', inputs: ['a'] },
      { id: 'a', inputs: ['src'] },
    ]).map((stage) => stage.id);
    expect(order).toEqual(['a', 'b', 'c']);
  });

  it('exports a JSON Schema editors can use', () => {
    const schema = pipelineJsonSchema() as { $schema: string; properties: Record<string, unknown>; required: string[] };
    expect(schema.$schema).toMatch(/json-schema\.org/);
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['sources', 'stages', 'sinks', 'deadLetter', 'retries', 'checkpoint', 'tables']));
    expect(schema.required).toEqual(expect.arrayContaining(['version', 'name', 'sources', 'sinks']));
    expect(JSON.stringify(schema)).toContain('"tumbling"');
  });
});

describe('file checkpoint store', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const makeDir = (): string => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'eddy-checkpoints-'));
    dirs.push(dir);
    return dir;
  };
  const checkpoint = (id: number, runId = 'r') => ({ id, runId, at: id, positions: { in: { seq: id * 10 } }, counters: { recordsIn: id * 10 } });

  it('restores state and positions as of the last commit, drops a torn tail and keeps a pending epoch', async () => {
    const dir = makeDir();
    const store = new FileCheckpointStore({ dir });
    await store.load();
    await store.commit(checkpoint(1), [{ namespace: 'script:t', key: 'a', value: 1 }]);
    await store.commit(checkpoint(2), [{ namespace: 'script:t', key: 'a', value: 2 }, { namespace: 'script:t', key: 'b', value: { x: [1] } }]);
    await store.commit(checkpoint(3), [{ namespace: 'script:t', key: 'b', value: null }]);
    await store.prepare({ id: 4, runId: 'r', end: { in: { seq: 45 } } });
    await store.close();
    appendFileSync(path.join(dir, 'checkpoint.journal'), '1234abcd {"type":"commit","checkpo');
    const problems: string[] = [];
    const restored = await new FileCheckpointStore({ dir, onProblem: (message) => problems.push(message) }).load();
    expect(restored.checkpoint).toEqual(checkpoint(3));
    expect(restored.pending).toEqual({ id: 4, runId: 'r', end: { in: { seq: 45 } } });
    expect(Object.fromEntries(restored.state.get('script:t')!)).toEqual({ a: 2 });
    expect(problems).toEqual([]);
  });

  it('reports a corrupt record in the middle and uses what came before it', async () => {
    const dir = makeDir();
    const store = new FileCheckpointStore({ dir });
    await store.load();
    await store.commit(checkpoint(1), [{ namespace: 'n', key: 'k', value: 1 }]);
    await store.commit(checkpoint(2), [{ namespace: 'n', key: 'k', value: 2 }]);
    await store.commit(checkpoint(3), [{ namespace: 'n', key: 'k', value: 3 }]);
    await store.close();
    const file = path.join(dir, 'checkpoint.journal');
    const lines = readFileSync(file, 'utf8').split('\n');
    lines[1] = lines[1]!.replace('"value":2', '"value":9');
    writeFileSync(file, lines.join('\n'));
    const problems: string[] = [];
    const restored = await new FileCheckpointStore({ dir, onProblem: (message) => problems.push(message) }).load();
    expect(restored.checkpoint?.id).toBe(1);
    expect(problems[0]).toMatch(/record 2 of 3 is corrupt/);
  });

  it('compacts into a snapshot and keeps restoring the same state', async () => {
    const dir = makeDir();
    const store = new FileCheckpointStore({ dir });
    await store.load();
    for (let id = 1; id <= 20; id++) await store.commit(checkpoint(id), [{ namespace: 'n', key: `k${id % 3}`, value: id }]);
    await store.compact();
    await store.commit(checkpoint(21), [{ namespace: 'n', key: 'k0', value: 21 }]);
    await store.close();
    const restored = await new FileCheckpointStore({ dir }).load();
    expect(restored.checkpoint?.id).toBe(21);
    expect(Object.fromEntries(restored.state.get('n')!)).toEqual({ k0: 21, k1: 19, k2: 20 });
    expect(readFileSync(path.join(dir, 'checkpoint.journal'), 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
  });
});
