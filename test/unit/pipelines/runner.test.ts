// The runner's guarantees, in process: checkpoints cover positions, state and sink progress
// together; a crash between a sink's commit and the checkpoint re-forms the same epoch and the
// sink skips it (exactly once even for an appending sink); poison records are retried a bounded
// number of times then dead-lettered before the checkpoint; a slow sink holds the source back.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePipelineSpec, type PipelineSpec } from '../../../shared/pipeline-spec.js';
import type { NewEvent } from '../../../shared/events.js';
import { buildOperators } from '../../../main/engine/pipelines/build.js';
import { FileCheckpointStore } from '../../../main/engine/pipelines/checkpoint-store.js';
import { PipelineRunner, type RunnerHooks } from '../../../main/engine/pipelines/runner.js';
import { InProcessScriptExecutor } from '../../../main/engine/pipelines/scripts.js';
import { LogSource } from '../../../main/engine/pipelines/sources/log-source.js';
import { MemoryLog } from '../../../main/engine/pipelines/sources/log-port.js';
import { MaterializedTables } from '../../../main/engine/pipelines/tables.js';
import { MemoryDeadLetters } from '../../../main/engine/sinks/log-sink.js';
import type { Sink, SinkLineage, SinkRecord } from '../../../main/engine/sinks/sink.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** An appending sink with a progress marker, like a table with a progress row: what a crash test inspects. */
class RecordingSink implements Sink {
  readonly kind = 'recording';
  readonly rows: { identity: string; value: unknown }[] = [];
  progress = { runId: '', checkpoint: 0 };
  commits = 0;
  delayMs = 0;
  private lineage: SinkLineage | undefined;

  constructor(readonly id: string) {}

  async open(lineage: SinkLineage): Promise<number> {
    this.lineage = lineage;
    return this.progress.runId === lineage.runId ? this.progress.checkpoint : 0;
  }

  async commit(checkpoint: number, records: SinkRecord[]) {
    if (this.delayMs) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (this.progress.runId === this.lineage!.runId && this.progress.checkpoint >= checkpoint) return { rejected: [] };
    for (const record of records) this.rows.push({ identity: `${record.origin.position}/${record.lineage}`, value: record.event.value });
    this.progress = { runId: this.lineage!.runId, checkpoint };
    this.commits++;
    return { rejected: [] };
  }

  async close(): Promise<void> {}
}

const script = `
export default function (event, ctx) {
  if (event.value.poison) throw new Error('poison record ' + event.position);
  const total = (ctx.state.get('total') ?? 0) + event.value.amount;
  ctx.state.put('total', total);
  return { value: { customer: event.key, amount: event.value.amount, total } };
}`;

const spec: PipelineSpec = parsePipelineSpec({
  version: 1,
  name: 'totals',
  sources: [{ id: 'orders', kind: 'log', stream: 'orders' }],
  stages: [{ id: 'total', kind: 'keyed', inputs: ['orders'], script: 'total.js', key: 'key' }],
  sinks: [{ id: 'out', kind: 'null', inputs: ['total'] }],
  retries: { maxAttempts: 3, backoff: 1, maxBackoff: 5 },
  checkpoint: { interval: '1h', maxRecords: 50 },
});

function orders(count: number, poison: Set<number> = new Set()): NewEvent[] {
  return Array.from({ length: count }, (_, index) => ({
    stream: 'orders',
    position: `p${index}`,
    key: `c${index % 7}`,
    value: poison.has(index) ? { poison: true } : { amount: index },
    eventTime: 1000 + index,
    ingestTime: 2000 + index,
  }));
}

function expectedTotals(count: number, poison: Set<number>): Map<string, number> {
  const totals = new Map<string, number>();
  for (let index = 0; index < count; index++) if (!poison.has(index)) totals.set(`c${index % 7}`, (totals.get(`c${index % 7}`) ?? 0) + index);
  return totals;
}

async function makeRunner(log: MemoryLog, sink: RecordingSink, dir: string, letters: MemoryDeadLetters, hooks?: RunnerHooks, bounded = true) {
  const checkpoints = new FileCheckpointStore({ dir });
  // Script sessions start from the committed state, as the app does after a restart.
  const restored = await new FileCheckpointStore({ dir }).load();
  const { CommittedState } = await import('../../../main/engine/pipelines/state.js');
  const operators = await buildOperators(spec, { executor: new InProcessScriptExecutor(), loadScript: async () => script }, new CommittedState(restored.state));
  return new PipelineRunner({
    spec,
    sources: [new LogSource(log, { streams: [{ id: 'orders', stream: 'orders' }], bounded })],
    operators,
    sinks: [sink],
    tables: new MaterializedTables([]),
    checkpoints,
    deadLetters: letters,
    bounded,
    hooks,
  });
}

describe('pipeline runner', () => {
  it('survives crashes between sink commit and checkpoint: every record written once, state exact', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'eddy-runner-'));
    dirs.push(dir);
    const log = new MemoryLog();
    const poison = new Set([13, 77]);
    await log.append(orders(300, poison));
    const sink = new RecordingSink('out');
    const letters = new MemoryDeadLetters();
    // Crash right after the sinks committed epochs 2 and 4: the checkpoint never happens.
    for (const crashAt of [2, 4]) {
      const runner = await makeRunner(log, sink, dir, letters, {
        afterSinks: (id) => {
          if (id === crashAt) throw new Error(`simulated crash after the sinks of epoch ${id}`);
        },
      });
      const outcome = await runner.run(new AbortController().signal);
      expect(outcome.state).toBe('failed');
      expect(outcome.checkpoint?.id).toBe(crashAt - 1);
    }
    const runner = await makeRunner(log, sink, dir, letters);
    const outcome = await runner.run(new AbortController().signal);
    expect(outcome.state).toBe('completed');

    const identities = sink.rows.map((row) => row.identity);
    expect(new Set(identities).size).toBe(identities.length); // no duplicates
    expect(identities.length).toBe(298); // none lost
    const totals = new Map<string, number>();
    for (const row of sink.rows) {
      const value = row.value as { customer: string; total: number };
      totals.set(value.customer, value.total);
    }
    expect(totals).toEqual(expectedTotals(300, poison));
    expect(letters.letters.map((letter) => [letter.stage, letter.origin.position, letter.attempts])).toEqual([
      ['total', 'p13', 3],
      ['total', 'p77', 3],
    ]);
    expect(letters.letters[0]!.error.message).toBe('poison record p13');
    expect(letters.letters[0]!.input.position).toBe('p13');
  });

  it('restores state and position after a crash after the checkpoint', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'eddy-runner-'));
    dirs.push(dir);
    const log = new MemoryLog();
    await log.append(orders(120));
    const sink = new RecordingSink('out');
    const letters = new MemoryDeadLetters();
    const first = await makeRunner(log, sink, dir, letters, {
      afterCheckpoint: (checkpoint) => {
        if (checkpoint.id === 1) throw new Error('crash after checkpoint 1');
      },
    });
    expect((await first.run(new AbortController().signal)).state).toBe('failed');
    const second = await makeRunner(log, sink, dir, letters);
    expect((await second.run(new AbortController().signal)).state).toBe('completed');
    expect(sink.rows.length).toBe(120);
    expect(new Set(sink.rows.map((row) => row.identity)).size).toBe(120);
    expect(second.metrics.restoredRecords).toBe(50);
  });

  it('holds the source back while a slow sink writes: at most one epoch in flight', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'eddy-runner-'));
    dirs.push(dir);
    const log = new MemoryLog();
    await log.append(orders(400));
    const sink = new RecordingSink('out');
    sink.delayMs = 20;
    let maxAhead = 0;
    const runner = await makeRunner(log, sink, dir, new MemoryDeadLetters());
    const source = (runner as unknown as { options: { sources: LogSource[] } }).options.sources[0]!;
    const original = source.read.bind(source);
    source.read = async (max, until) => {
      const result = await original(max, until);
      const read = Number((source.position() as { seq: number }).seq);
      maxAhead = Math.max(maxAhead, read - sink.rows.length);
      return result;
    };
    await runner.run(new AbortController().signal);
    expect(sink.rows.length).toBe(400);
    expect(maxAhead).toBeLessThanOrEqual(50); // checkpoint.maxRecords
    expect(sink.commits).toBe(8);
  });

  it('pauses, resumes and stops gracefully after a checkpoint', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'eddy-runner-'));
    dirs.push(dir);
    const log = new MemoryLog();
    await log.append(orders(100));
    const sink = new RecordingSink('out');
    const runner = await makeRunner(log, sink, dir, new MemoryDeadLetters(), undefined, false);
    const controller = new AbortController();
    const states: string[] = [];
    (runner as unknown as { options: { onState: (state: string) => void } }).options.onState = (state) => states.push(state);
    const running = runner.run(controller.signal);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(sink.rows.length).toBe(100);
    runner.pause();
    await log.append(orders(110).slice(100));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sink.rows.length).toBe(100);
    runner.resume();
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(sink.rows.length).toBe(110);
    controller.abort();
    const outcome = await running;
    expect(outcome.state).toBe('stopped');
    expect(outcome.checkpoint?.positions).toEqual({ orders: { seq: 110 } });
    expect(states).toEqual(['running', 'paused', 'running', 'stopped']);
  });
});
