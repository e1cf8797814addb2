// Lookup joins against a table materialized from a CDC stream, as of each event's time: orders
// placed before and after a customer's address change join the right version, whatever order
// the streams arrive in; and a keyed running total per customer on top (issue 7).
import { describe, expect, it } from 'vitest';
import { parsePipelineSpec, type PipelineSpecInput } from '../../../shared/pipeline-spec.js';
import { runSpecOnFixtures } from '../../../main/engine/pipelines/pipeline-test.js';
import { VersionedTable } from '../../../main/engine/pipelines/tables.js';
import type { NewEvent } from '../../../shared/events.js';

const T = Date.UTC(2026, 2, 2, 8, 0, 0);
const MINUTE = 60_000;
const MOVE = Date.UTC(2026, 2, 2, 11, 30, 0);

function customer(op: 'r' | 'u' | 'd', at: number, id: number, city: string | null, serial: number): NewEvent {
  const row = city === null ? null : { CustomerID: id, Name: `Customer ${id}`, City: city };
  return {
    stream: 'sqlserver:shop.dbo.Customers',
    position: `c-${serial}`,
    key: { CustomerID: id },
    value: { before: null, after: row, source: { connector: 'sqlserver', table: 'Customers' }, op, ts_ms: at },
    op,
    eventTime: at,
    ingestTime: at + 500,
  };
}

function order(id: number, customerId: number, amount: number, placed: number, ingest: number): NewEvent {
  return {
    stream: 'sqlserver:shop.dbo.Orders',
    position: `o-${id}`,
    key: { OrderID: id },
    value: { before: null, after: { OrderID: id, CustomerID: customerId, Amount: amount }, source: { connector: 'sqlserver', table: 'Orders' }, op: 'c', ts_ms: placed },
    op: 'c',
    eventTime: placed,
    ingestTime: ingest,
  };
}

const spec: PipelineSpecInput = {
  version: 1,
  name: 'orders-as-of',
  sources: [
    { id: 'orders', kind: 'log', stream: 'sqlserver:shop.dbo.Orders' },
    { id: 'customers-cdc', kind: 'log', stream: 'sqlserver:shop.dbo.Customers' },
  ],
  tables: [{ id: 'customers', source: 'customers-cdc', key: 'key.CustomerID' }],
  stages: [
    { id: 'enrich', kind: 'lookup', inputs: ['orders'], table: 'customers', key: 'value.after.CustomerID', as: 'customer' },
    { id: 'totals', kind: 'keyed', inputs: ['enrich'], script: 'running-total.ts', key: 'value.after.CustomerID' },
  ],
  sinks: [{ id: 'orders-out', kind: 'warehouse', inputs: ['totals'], table: 'enriched_orders', key: ['orderId'] }],
};

const runningTotal = `
import type { Transform } from 'eddy';
const transform: Transform = (event, ctx) => {
  const order = event.after as { OrderID: number; CustomerID: number; Amount: number };
  const customer = (event.value as { customer: { City: string } | null }).customer;
  const total = (ctx.state.get<number>('total') ?? 0) + order.Amount;
  ctx.state.put('total', total);
  return { key: order.OrderID, value: { orderId: order.OrderID, customerId: order.CustomerID, city: customer ? customer.City : null, amount: order.Amount, runningTotal: total } };
};
export default transform;
`;

const loadScript = async (file: string): Promise<string> => {
  if (file === 'running-total.ts') return runningTotal;
  throw new Error(`no script ${file}`);
};

describe('as-of lookup join', () => {
  it('joins each order with the customer row valid when it was placed', async () => {
    const input = [
      customer('r', T - 86_400_000, 1003, 'Manchester', 1),
      customer('r', T - 86_400_000, 1004, 'Bristol', 2),
      order(1, 1003, 10, T + 125 * MINUTE, T + 125 * MINUTE + 100), // 10:05, before the move
      // The move (11:30) reaches the log only at 15:00, after this 14:20 order: its version history still gives Lyon.
      order(2, 1003, 20, Date.UTC(2026, 2, 2, 14, 20, 0), Date.UTC(2026, 2, 2, 14, 20, 1)),
      { ...customer('u', MOVE, 1003, 'Lyon', 3), ingestTime: Date.UTC(2026, 2, 2, 15, 0, 0) },
      order(3, 1003, 5, MOVE, MOVE + 10), // at the very millisecond of the change: the new row
      order(4, 1004, 7, T + 30 * MINUTE, T + 30 * MINUTE + 1),
      order(5, 9999, 1, T + 40 * MINUTE, T + 40 * MINUTE + 1), // no such customer: joins null
    ];
    input.sort((a, b) => a.ingestTime - b.ingestTime);
    const result = await runSpecOnFixtures(parsePipelineSpec(spec), input, { loadScript });
    const rows = result.sinks.get('orders-out')!;
    expect(rows.map((row) => [row.orderId, row.city, row.runningTotal])).toEqual([
      [1, 'Manchester', 10],
      [2, 'Lyon', 35],
      [3, 'Lyon', 15],
      [4, 'Bristol', 7],
      [5, null, 1],
    ]);
    expect(result.deadLetters).toEqual([]);
  });

  it('keeps every version of a row, deletes included', () => {
    const table = new VersionedTable();
    table.apply({ stream: 's', position: '1', key: { id: 1 }, value: { before: null, after: { id: 1, v: 'a' }, op: 'c' }, headers: [], op: 'c', eventTime: 100, ingestTime: 0 }, 'key.id');
    table.apply({ stream: 's', position: '3', key: { id: 1 }, value: { before: { id: 1, v: 'b' }, after: null, op: 'd' }, headers: [], op: 'd', eventTime: 300, ingestTime: 0 }, 'key.id');
    // Out of commit order: inserted between the two others.
    table.apply({ stream: 's', position: '2', key: { id: 1 }, value: { before: { id: 1, v: 'a' }, after: { id: 1, v: 'b' }, op: 'u' }, headers: [], op: 'u', eventTime: 200, ingestTime: 0 }, 'key.id');
    expect(table.asOf(1, 99)).toBeNull();
    expect(table.asOf({ id: 1 }, 100)).toEqual({ id: 1, v: 'a' });
    expect(table.asOf(1, 250)).toEqual({ id: 1, v: 'b' });
    expect(table.asOf(1, 300)).toBeNull();
    expect(table.history(1).map((version) => version.from)).toEqual([100, 200, 300]);
  });

  it('can dead-letter or drop events with no row, as the stage says', async () => {
    const input = [customer('r', T, 1, 'Leith', 1), order(1, 1, 10, T + 1, T + 1), order(2, 2, 10, T + 2, T + 2)];
    const deadLetter = parsePipelineSpec({
      ...spec,
      stages: [{ id: 'enrich', kind: 'lookup', inputs: ['orders'], table: 'customers', key: 'value.after.CustomerID', as: 'customer', onMissing: 'dead-letter' }],
      sinks: [{ id: 'out', kind: 'log', inputs: ['enrich'], stream: 'out' }],
    } as PipelineSpecInput);
    const result = await runSpecOnFixtures(deadLetter, input, { loadScript });
    expect(result.sinks.get('out')!.length).toBe(1);
    expect(result.deadLetters.map((letter) => [letter.stage, letter.origin.position])).toEqual([['enrich', 'o-2']]);
    expect(result.deadLetters[0]!.error.message).toContain('No row in table "customers" for key 2');
  });
});
