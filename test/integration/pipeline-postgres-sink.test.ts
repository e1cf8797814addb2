// The PostgreSQL sink against a real server: keyed upserts and deletes in one transaction with the
// sink's progress row; re-committing an epoch the progress covers is skipped; replaying records
// again changes nothing; a row the server refuses is returned as rejected and the rest commits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { findPostgres } from '../support/services.js';
import { PostgresSink, PROGRESS_TABLE } from '../../main/engine/sinks/postgres-sink.js';
import type { SinkRecord } from '../../main/engine/sinks/sink.js';

const url = await findPostgres();
const table = `eddy_sink_test_${process.pid}`;
let admin: pg.Client;

function record(id: number, fields: Record<string, unknown> | null, position = `p${id}`): SinkRecord {
  return {
    event: { stream: 's', position, key: { id }, value: fields === null ? null : { id, ...fields }, headers: [], op: fields === null ? 'd' : 'c', eventTime: 1, ingestTime: 1 },
    origin: { source: 'orders', stream: 's', position },
    lineage: 'orders/total.0',
  };
}

async function rows(): Promise<unknown[]> {
  return (await admin.query(`SELECT id, name, amount::float AS amount, tags FROM ${table} ORDER BY id`)).rows;
}

describe.runIf(url)('PostgreSQL sink', () => {
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DROP TABLE IF EXISTS ${table}`);
    await admin.query(`CREATE TABLE ${table} (id int PRIMARY KEY, name text NOT NULL, amount numeric(10,2), tags jsonb, CHECK (amount >= 0))`);
    await admin.query(`DELETE FROM ${PROGRESS_TABLE} WHERE pipeline = 'sink-test'`).catch(() => undefined);
  });
  afterAll(async () => {
    await admin?.query(`DROP TABLE IF EXISTS ${table}`);
    await admin?.query(`DELETE FROM ${PROGRESS_TABLE} WHERE pipeline = 'sink-test'`).catch(() => undefined);
    await admin?.end();
  });

  const sink = () =>
    new PostgresSink({
      id: 'out',
      table: `public.${table}`,
      key: ['id'],
      connect: async () => {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        return client;
      },
    });

  it('upserts, deletes and records its progress in one transaction; a replayed epoch changes nothing', async () => {
    const first = sink();
    expect(await first.open({ pipeline: 'sink-test', runId: 'run-1' })).toBe(0);
    await first.commit(1, [record(1, { name: 'a', amount: 1.5, tags: ['x'] }), record(2, { name: 'b', amount: 2 }), record(1, { name: 'a2', amount: 3 })]);
    expect(await rows()).toEqual([
      { id: 1, name: 'a2', amount: 3, tags: null },
      { id: 2, name: 'b', amount: 2, tags: null },
    ]);
    await first.commit(2, [record(2, null), record(3, { name: 'c', amount: 0, tags: { deep: [1, 2] } })]);
    const after = await rows();
    // Epoch 2 again (a crash before the engine's checkpoint): skipped, even with other content.
    await first.commit(2, [record(9, { name: 'never', amount: 1 })]);
    expect(await rows()).toEqual(after);
    await first.close();
    // A new process of the same run sees its progress; another run starts from zero.
    const again = sink();
    expect(await again.open({ pipeline: 'sink-test', runId: 'run-1' })).toBe(2);
    await again.close();
    const other = sink();
    expect(await other.open({ pipeline: 'sink-test', runId: 'run-2' })).toBe(0);
    // Replaying the same records under a new lineage converges to the same table.
    await other.commit(1, [record(1, { name: 'a2', amount: 3 }), record(2, null), record(3, { name: 'c', amount: 0, tags: { deep: [1, 2] } })]);
    expect(await rows()).toEqual(after);
    await other.close();
    expect(after).toEqual([
      { id: 1, name: 'a2', amount: 3, tags: null },
      { id: 3, name: 'c', amount: 0, tags: { deep: [1, 2] } },
    ]);
  });

  it('returns the rows the server refuses and commits the rest', async () => {
    const writer = sink();
    await writer.open({ pipeline: 'sink-test', runId: 'run-3' });
    const result = await writer.commit(1, [record(10, { name: 'ok', amount: 5 }), record(11, { name: 'negative', amount: -1 }), record(12, { amount: 1 }), record(13, { name: 'fine', amount: 7 })]);
    expect(result.rejected.map((rejected) => rejected.index).sort()).toEqual([1, 2]);
    expect(result.rejected[0]!.message).toMatch(/PostgreSQL refused the row/);
    const ids = (await rows()).map((row) => (row as { id: number }).id);
    expect(ids).toEqual(expect.arrayContaining([10, 13]));
    expect(ids).not.toContain(11);
    expect(ids).not.toContain(12);
    const progress = await admin.query(`SELECT checkpoint_id FROM ${PROGRESS_TABLE} WHERE pipeline = 'sink-test' AND sink = 'out'`);
    expect(Number(progress.rows[0].checkpoint_id)).toBe(1);
    await writer.close();
  });
});
