// Event-time windows: a scripted out-of-order sequence gives exactly the expected window results,
// late-but-allowed events update their window, and events past the allowed lateness land in the
// late side output (issue 7, "Windows and lateness").
import { describe, expect, it } from 'vitest';
import { parsePipelineSpec, type PipelineSpecInput } from '../../../shared/pipeline-spec.js';
import { runSpecOnFixtures } from '../../../main/engine/pipelines/pipeline-test.js';
import type { NewEvent } from '../../../shared/events.js';

const S = 1000;

function pipeline(window: Record<string, unknown>, extra: Record<string, unknown> = {}): PipelineSpecInput {
  return {
    version: 1,
    name: 'windows',
    sources: [{ id: 'input', kind: 'log', stream: 'test:amounts' }],
    stages: [{ id: 'win', kind: 'window', inputs: ['input'], key: 'key', window, aggregate: { count: { fn: 'count' }, total: { fn: 'sum', field: 'value.amount' } }, ...extra }],
    sinks: [
      { id: 'results', kind: 'log', inputs: ['win'], stream: 'test:results' },
      { id: 'late', kind: 'log', inputs: ['win.late'], stream: 'test:late' },
    ],
  } as unknown as PipelineSpecInput;
}

function events(list: [string, string, number, number][]): NewEvent[] {
  // [position, key, event time (s), amount], in arrival order.
  return list.map(([position, key, time, amount], index) => ({ stream: 'test:amounts', position, key, value: { amount }, eventTime: time * S, ingestTime: 1_000_000 + index }));
}

const run = (spec: PipelineSpecInput, input: NewEvent[]) => runSpecOnFixtures(parsePipelineSpec(spec), input, { loadScript: async () => '' });

describe('tumbling windows with a watermark and allowed lateness', () => {
  it('gives the exact results of a scripted out-of-order sequence, late events in the side output', async () => {
    const spec = pipeline({ type: 'tumbling', size: '10s' }, { watermark: { maxOutOfOrder: '2s' }, allowedLateness: '5s' });
    const result = await run(
      spec,
      events([
        ['e1', 'a', 1, 1],
        ['e2', 'a', 4, 2],
        ['e3', 'a', 12, 3], // watermark 10: [0,10) fires for a
        ['e4', 'a', 7, 4], // late, within lateness: [0,10) updated and re-emitted
        ['e5', 'b', 9, 5], // b's first event for [0,10), already past the watermark: emitted at once
        ['e6', 'a', 22, 6], // watermark 20: [10,20) fires; [0,10) is closed for good (20 >= 10 + 5)
        ['e7', 'a', 8, 7], // too late: side output, no window changes
        ['e8', 'a', 18, 8], // late, within lateness for [10,20): updated
        ['e9', 'b', 25, 9], // watermark 23: nothing due
      ]),
    );
    const rows = result.sinks.get('results')!.map((row) => row.value);
    expect(rows).toEqual([
      { key: 'a', windowStart: 0, windowEnd: 10 * S, count: 2, total: 3, final: true, updates: 0 },
      { key: 'a', windowStart: 0, windowEnd: 10 * S, count: 3, total: 7, final: false, updates: 1 },
      { key: 'b', windowStart: 0, windowEnd: 10 * S, count: 1, total: 5, final: true, updates: 0 },
      { key: 'a', windowStart: 10 * S, windowEnd: 20 * S, count: 1, total: 3, final: true, updates: 0 },
      { key: 'a', windowStart: 10 * S, windowEnd: 20 * S, count: 2, total: 11, final: false, updates: 1 },
      // End of input closes what is left, oldest end first, then by key.
      { key: 'a', windowStart: 20 * S, windowEnd: 30 * S, count: 1, total: 6, final: true, updates: 0 },
      { key: 'b', windowStart: 20 * S, windowEnd: 30 * S, count: 1, total: 9, final: true, updates: 0 },
    ]);
    expect(result.late.get('win')).toEqual(['e7']);
    expect(result.sinks.get('late')!.map((row) => (row.value as { amount: number }).amount)).toEqual([7]);
    expect(result.deadLetters).toEqual([]);
  });

  it('gives the same results however the records are cut into epochs', async () => {
    const spec = pipeline({ type: 'tumbling', size: '10s' }, { watermark: { maxOutOfOrder: '2s' }, allowedLateness: '5s' });
    const input = events([
      ['e1', 'a', 1, 1],
      ['e2', 'a', 4, 2],
      ['e3', 'a', 12, 3],
      ['e4', 'a', 7, 4],
      ['e5', 'b', 9, 5],
      ['e6', 'a', 22, 6],
      ['e7', 'a', 8, 7],
      ['e8', 'a', 18, 8],
    ]);
    const whole = await run(spec, input);
    const oneByOne = await runSpecOnFixtures(parsePipelineSpec(spec), input, { loadScript: async () => '', maxRecords: 1 });
    expect(oneByOne.sinks.get('results')).toEqual(whole.sinks.get('results'));
    expect(oneByOne.late).toEqual(whole.late);
  });

  it('dead-letters a record whose aggregated field is not a number', async () => {
    const spec = pipeline({ type: 'tumbling', size: '10s' });
    const input = events([['ok', 'a', 1, 1]]);
    input.push({ stream: 'test:amounts', position: 'bad', key: 'a', value: { amount: 'twelve' }, eventTime: 2 * S, ingestTime: 2_000_000 });
    const result = await run(spec, input);
    expect(result.deadLetters.map((letter) => [letter.stage, letter.origin.position])).toEqual([['win', 'bad']]);
    expect(result.deadLetters[0]!.error.message).toContain('is not a number');
    expect(result.sinks.get('results')!.map((row) => row.value)).toEqual([{ key: 'a', windowStart: 0, windowEnd: 10 * S, count: 1, total: 1, final: true, updates: 0 }]);
  });
});

describe('hopping and session windows', () => {
  it('assigns each record to every hopping window that covers it', async () => {
    const result = await run(
      pipeline({ type: 'hopping', size: '10s', advance: '5s' }),
      events([
        ['h1', 'a', 2, 1],
        ['h2', 'a', 7, 2],
        ['h3', 'a', 16, 4],
      ]),
    );
    expect(result.sinks.get('results')!.map((row) => row.value as { windowStart: number; count: number; total: number })).toEqual([
      expect.objectContaining({ windowStart: -5 * S, count: 1, total: 1 }),
      expect.objectContaining({ windowStart: 0, count: 2, total: 3 }),
      expect.objectContaining({ windowStart: 5 * S, count: 1, total: 2 }),
      expect.objectContaining({ windowStart: 10 * S, count: 1, total: 4 }),
      expect.objectContaining({ windowStart: 15 * S, count: 1, total: 4 }),
    ]);
  });

  it('merges session windows by gap and sends records older than a closed session to the side output', async () => {
    const result = await run(
      pipeline({ type: 'session', gap: '5s' }),
      events([
        ['s1', 'a', 0, 1],
        ['s2', 'a', 3, 2], // extends the session to [0, 8)
        ['s3', 'a', 20, 3], // watermark 20: [0, 8) fires
        ['s4', 'a', 10, 4], // its session [10, 15) closed before it came: late
        ['s5', 'a', 22, 5],
      ]),
    );
    expect(result.sinks.get('results')!.map((row) => row.value)).toEqual([
      { key: 'a', windowStart: 0, windowEnd: 8 * S, count: 2, total: 3, final: true, updates: 0 },
      { key: 'a', windowStart: 20 * S, windowEnd: 27 * S, count: 2, total: 8, final: true, updates: 0 },
    ]);
    expect(result.late.get('win')).toEqual(['s4']);
  });
});
