import { describe, it, expect } from 'vitest';
import { fastStatement } from '../../../main/engine/log/fast-insert.js';
import { loadSqlJs, queryRows, type SqlValue } from '../../../main/engine/log/sqljs.js';

async function table() {
  const SQL = await loadSqlJs();
  const db = new SQL.Database();
  db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b INTEGER, c REAL, d TEXT)');
  return { SQL, db };
}

describe('fastStatement (binding through raw memory)', () => {
  it('stores exactly what sql.js own binding stores, for every kind of value', async () => {
    const { SQL, db } = await table();
    const rows: SqlValue[][] = [
      [1, 'plain ascii', 42, 1.5, null],
      [2, '', -2147483648, -0.25, 'é ü ß 中文 😀 \u0000 inside'],
      [3, 'x'.repeat(70_000), 2147483647, 1e300, '{"json":[1,2,{"deep":"yes"}]}'],
      [4, '😀'.repeat(30_000), 1_767_225_600_123, 3, ''],
      [5, null, 2 ** 53 - 1, -1e-300, 'y'.repeat(5 * 1024 * 1024)],
    ];
    const fast = fastStatement(SQL, db, db.prepare('INSERT INTO t VALUES (?,?,?,?,?)'), 5);
    for (const row of rows) fast.run(row);
    // The same rows through sql.js's own binding, shifted by 100, as the reference.
    const plain = db.prepare('INSERT INTO t VALUES (?,?,?,?,?)');
    for (const row of rows) plain.run([(row[0] as number) + 100, ...row.slice(1)]);
    plain.free();
    const ours = queryRows(db, 'SELECT a, b, c, d, typeof(b) FROM t WHERE id < 100 ORDER BY id');
    const reference = queryRows(db, 'SELECT a, b, c, d, typeof(b) FROM t WHERE id > 100 ORDER BY id');
    expect(ours).toHaveLength(rows.length);
    expect(ours).toEqual(reference);
    expect(ours.map((row) => row.slice(0, 4))).toEqual(rows.map((row) => row.slice(1)));
    expect(ours.map((row) => row[4])).toEqual(['integer', 'integer', 'integer', 'integer', 'integer']);
    db.close();
  });

  it('binds every row of a multi-row statement and reports SQLite errors, staying usable after one', async () => {
    const { SQL, db } = await table();
    const fast = fastStatement(SQL, db, db.prepare('INSERT INTO t (id, a) VALUES (?,?),(?,?),(?,?)'), 6);
    fast.run([1, 'one', 2, 'two', 3, 'three']);
    expect(() => fast.run([4, 'four', 1, 'duplicate id', 5, 'five'])).toThrow(/UNIQUE constraint failed: t\.id/);
    fast.run([4, 'four', 5, 'five', 6, 'six']);
    expect(queryRows(db, 'SELECT id, a FROM t ORDER BY id')).toEqual([
      [1, 'one'],
      [2, 'two'],
      [3, 'three'],
      [4, 'four'],
      [5, 'five'],
      [6, 'six'],
    ]);
    expect(() => fast.run([7, { not: 'bindable' } as unknown as SqlValue, 8, 'x', 9, 'y'])).toThrow(/binds text, numbers and null/);
    expect(queryRows(db, 'SELECT count(*) FROM t')).toEqual([[6]]);
    db.close();
  });
});
