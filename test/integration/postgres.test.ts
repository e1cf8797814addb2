// Proves the test PostgreSQL can do what the CDC connector needs: wal_level=logical, a pgoutput
// replication slot, and decoded changes of a published table coming out of that slot.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'pg';
import { findPostgres } from '../support/services.js';

const url = await findPostgres();

describe.runIf(url)('postgres', () => {
  const client = new Client({ connectionString: url });
  // Unique per run: several checkouts and parallel runs share the machine's server.
  const suffix = randomUUID().replaceAll('-', '').slice(0, 12);
  const slot = `eddy_test_slot_${suffix}`;
  const table = `eddy_test_items_${suffix}`;
  const publication = `eddy_test_pub_${suffix}`;

  beforeAll(async () => {
    await client.connect();
  });

  afterAll(async () => {
    // A leftover slot pins WAL on the server forever; always drop it.
    await client
      .query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [
        slot,
      ])
      .catch(() => undefined);
    await client.query(`DROP PUBLICATION IF EXISTS ${publication}`).catch(() => undefined);
    await client.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await client.end();
  });

  it('runs with wal_level = logical', async () => {
    const result = await client.query<{ wal_level: string }>('SHOW wal_level');
    expect(result.rows[0]?.wal_level).toBe('logical');
  });

  it('creates a pgoutput slot, decodes a change through it, and drops it', async () => {
    await client.query(`CREATE TABLE ${table} (id int PRIMARY KEY, name text)`);
    await client.query(`CREATE PUBLICATION ${publication} FOR TABLE ${table}`);

    const created = await client.query<{ slot_name: string; lsn: string }>(
      "SELECT slot_name, lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')",
      [slot],
    );
    expect(created.rows[0]?.slot_name).toBe(slot);

    await client.query(`INSERT INTO ${table} (id, name) VALUES (1, 'widget')`);

    // pgoutput speaks a binary protocol: 'I' is an insert message, 'R' describes the relation.
    const changes = await client.query<{ data: Buffer }>(
      `SELECT data FROM pg_logical_slot_peek_binary_changes($1, NULL, NULL,
         'proto_version', '1', 'publication_names', $2)`,
      [slot, publication],
    );
    const kinds = changes.rows.map((row) => String.fromCharCode(row.data[0] ?? 0));
    expect(kinds).toContain('R');
    expect(kinds).toContain('I');
    const insert = changes.rows.find((row) => row.data[0] === 'I'.charCodeAt(0));
    expect(insert?.data.includes(Buffer.from('widget'))).toBe(true);

    await client.query('SELECT pg_drop_replication_slot($1)', [slot]);
    const remaining = await client.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    expect(remaining.rowCount).toBe(0);
  }, 60_000);
});
