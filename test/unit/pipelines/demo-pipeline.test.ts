// The demo workspace's pipeline: its spec is valid, its committed JSON Schema is current, its
// pipeline test passes (in the sandbox, as `eddy test` runs it), and over the demo's captured
// samples it joins Chloé's orders before and after her move with the right address and puts
// exactly the truncated call record in the dead letters.
import { readFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import readline from 'node:readline';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePipelineSpec, pipelineJsonSchema } from '../../../shared/pipeline-spec.js';
import { NewEventSchema, type NewEvent } from '../../../shared/events.js';
import { runPipelineTestFile, runSpecOnFixtures } from '../../../main/engine/pipelines/pipeline-test.js';
import { SandboxScriptExecutor } from '../../../main/engine/pipelines/sandbox-executor.js';

const demo = path.resolve(import.meta.dirname, '../../../demo');
const executor = new SandboxScriptExecutor({ workers: 1 });
afterAll(() => executor.close());

async function samples(): Promise<NewEvent[]> {
  const events: NewEvent[] = [];
  for (const file of ['shop-customers.jsonl', 'shop-orders.jsonl', 'callcentre-calls.jsonl']) {
    for await (const line of readline.createInterface({ input: createReadStream(path.join(demo, 'samples', file)) })) if (line.trim()) events.push(NewEventSchema.parse(JSON.parse(line)));
  }
  return events.sort((a, b) => a.ingestTime - b.ingestTime);
}

describe('demo pipeline', () => {
  it('is a valid spec with a current JSON Schema beside it', async () => {
    const spec = parsePipelineSpec(JSON.parse(await readFile(path.join(demo, 'pipelines/customer-activity.pipeline.json'), 'utf8')));
    expect(spec.name).toBe('customer-activity');
    const committed = JSON.parse(await readFile(path.join(demo, 'pipelines/pipeline.schema.json'), 'utf8'));
    expect(committed).toEqual(pipelineJsonSchema());
  });

  it('passes its pipeline test file in the sandbox', async () => {
    const result = await runPipelineTestFile('pipelines/customer-activity.pipeline-test.json', { workspace: demo, executor });
    expect(result.failures).toEqual([]);
    expect(result.status).toBe('passed');
  });

  it('over the captured samples: as-of addresses, running totals, and the poison call dead-lettered', async () => {
    const spec = parsePipelineSpec(JSON.parse(await readFile(path.join(demo, 'pipelines/customer-activity.pipeline.json'), 'utf8')));
    const run = await runSpecOnFixtures(spec, await samples(), { executor, loadScript: (file) => readFile(path.join(demo, file), 'utf8') });
    const facts = run.sinks.get('order-facts')!;
    // Every fact of Chloé's orders carries the address valid when that order was placed.
    const moved = Date.parse('2026-03-02T11:30:50.714Z');
    const chloe = facts.filter((row) => row.customerId === 1003);
    expect(chloe.length).toBeGreaterThanOrEqual(2);
    for (const row of chloe) expect([row.orderId, row.city]).toEqual([row.orderId, Date.parse(String(row.placedAt)) < moved ? 'Manchester' : 'Lyon']);
    expect(new Set(chloe.map((row) => row.city))).toEqual(new Set(['Manchester', 'Lyon']));
    const totals = new Map(run.sinks.get('customer-totals')!.map((row) => [row.customerId, row.runningTotal]));
    const expected = new Map<number, number>();
    for (const row of facts) if (row.status !== 'cancelled') expected.set(row.customerId as number, Math.round(((expected.get(row.customerId as number) ?? 0) + (row.amount as number)) * 100) / 100);
    for (const [customer, total] of expected) expect(totals.get(customer)).toBeCloseTo(total, 6);
    expect(run.deadLetters.map((letter) => [letter.stage, letter.origin.position])).toEqual([['source:calls', 'kafka:callcentre.calls/1/30']]);
    expect(run.sinks.get('hourly-city-sales')!.length).toBeGreaterThan(10);
  });
});
