// Pipeline scripts in the QuickJS sandbox: keyed state scoped per key (the same state keys the
// checkpoints hold), errors reported at the script's own line, lookups as of the event's time.
import { afterAll, describe, expect, it } from 'vitest';
import { SandboxScriptExecutor } from '../../../main/engine/pipelines/sandbox-executor.js';
import type { PipelineEvent } from '../../../main/engine/pipelines/model.js';

const executor = new SandboxScriptExecutor({ workers: 1 });
afterAll(() => executor.close());

const source = `import type { Transform } from 'eddy';

const transform: Transform = (event, ctx) => {
  const amount = (event.value as { amount: number }).amount;
  if (amount < 0) throw new Error('negative amount');
  const total = (ctx.state.get<number>('total') ?? 0) + amount;
  ctx.state.put('total', total);
  const city = ctx.lookup('customers', event.key);
  return { value: { total, city } };
};
export default transform;
`;

function event(key: string, amount: number, time = 1000): PipelineEvent {
  return { stream: 's', position: `${key}-${amount}`, key, value: { amount }, headers: [], eventTime: time, ingestTime: time };
}

describe('sandbox script executor', () => {
  it('scopes state per key, maps errors to the source line and answers lookups', async () => {
    const session = await executor.open({ file: 'transforms/total.ts', source, exportName: 'default' }, [['"a"\u0000total', 100]]);
    const tables = { asOf: (table: string, key: unknown, time: number) => (table === 'customers' ? `${String(key)}@${time}` : null) };
    const results = await session.run(
      [
        { event: event('a', 1), scope: '"a"' },
        { event: event('b', 2), scope: '"b"' },
        { event: event('a', -5), scope: '"a"' },
        { event: event('a', 3, 2000), scope: '"a"' },
      ],
      { now: () => 5, tables },
    );
    expect(results.map((result) => (result.ok ? result.outputs[0]!.value : result.error.message))).toEqual([
      { total: 101, city: 'a@1000' },
      { total: 2, city: 'b@1000' },
      'negative amount',
      { total: 104, city: 'a@2000' },
    ]);
    const failed = results[2]!;
    expect(failed.ok).toBe(false);
    if (!failed.ok) expect(failed.error.line).toBe(5);
    const first = results[0]!;
    if (first.ok) expect(first.writes).toEqual([['"a"\u0000total', 101]]);
    await session.close();
  });
});
