import { describe, it, expect, afterAll } from 'vitest';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openStateStore, canonicalKey } from '../../../main/engine/state/index.js';
import { FaultyFs, removeTempDirs, tempDir, waitFor } from '../log/helpers.js';

afterAll(removeTempDirs);

describe('state store: keyed state', () => {
  it('gets, puts, deletes and ranges per pipeline and stage, with read-your-writes in a transaction', async () => {
    const dir = tempDir('eddy-state-');
    const store = await openStateStore({ dir });
    const tx = store.begin();
    const totals = tx.keyed('orders', 'totals');
    totals.put('customer:1', { sum: 10 });
    totals.put('customer:2', { sum: 20 });
    totals.put('customer:3', { sum: 30 });
    totals.put('other', 1);
    tx.keyed('orders', 'dedup').put('customer:1', 'another stage');
    tx.keyed('billing', 'totals').put('customer:1', 'another pipeline');
    expect(totals.get('customer:2')).toEqual({ sum: 20 });
    expect(store.keyed('orders', 'totals').get('customer:2')).toBeUndefined();
    await tx.commit();
    const reader = store.keyed('orders', 'totals');
    expect(reader.get('customer:1')).toEqual({ sum: 10 });
    expect(store.keyed('orders', 'dedup').get('customer:1')).toBe('another stage');
    expect(store.keyed('billing', 'totals').get('customer:1')).toBe('another pipeline');
    expect(reader.range({ prefix: 'customer:' }).map(([k]) => k)).toEqual(['customer:1', 'customer:2', 'customer:3']);
    expect(reader.range({ from: 'customer:2', limit: 2 }).map(([k]) => k)).toEqual(['customer:2', 'customer:3']);
    expect(reader.range({ reverse: true, limit: 1 })).toEqual([['other', 1]]);
    const tx2 = store.begin();
    const t2 = tx2.keyed('orders', 'totals');
    t2.delete('customer:2');
    t2.put('customer:0', { sum: 0 });
    expect(t2.get('customer:2')).toBeUndefined();
    expect(t2.range({ prefix: 'customer:' }).map(([k]) => k)).toEqual(['customer:0', 'customer:1', 'customer:3']);
    tx2.rollback();
    expect(() => t2.put('x', 1)).toThrow(/already committed or rolled back/);
    expect(reader.get('customer:2')).toEqual({ sum: 20 });
    const tx3 = store.begin();
    tx3.clear('orders', 'totals');
    expect(tx3.keyed('orders', 'totals').range()).toEqual([]);
    await tx3.commit();
    expect(reader.range()).toEqual([]);
    expect(store.keyed('orders', 'dedup').get('customer:1')).toBe('another stage');
    await store.close();
  });
});

describe('state store: tables as of event time', () => {
  it('keeps the latest row per key with its history and answers as-of lookups (null after a delete)', async () => {
    const dir = tempDir('eddy-state-');
    const store = await openStateStore({ dir });
    const tx = store.begin();
    const customers = tx.table('sqlserver:shop.dbo.Customers');
    customers.apply({ key: { id: 7 }, value: { before: null, after: { id: 7, tier: 'bronze' }, op: 'c' }, eventTime: 1000, position: 'lsn:1' });
    customers.apply({ key: { id: 7 }, value: { before: { id: 7, tier: 'bronze' }, after: { id: 7, tier: 'gold' }, op: 'u' }, eventTime: 2000 });
    customers.apply({ key: { id: 8 }, op: 'r', value: { after: { id: 8, tier: 'silver' } }, eventTime: 500 });
    expect(customers.asOf({ id: 7 }, 1500)).toEqual({ id: 7, tier: 'bronze' });
    await tx.commit();
    const tx2 = store.begin();
    const writer = tx2.table('sqlserver:shop.dbo.Customers');
    writer.apply({ key: { id: 7 }, value: { before: { id: 7, tier: 'gold' }, after: null, op: 'd' }, eventTime: 3000 });
    // Out of order: a change that happened before the delete arrives late.
    writer.upsert({ id: 7 }, { id: 7, tier: 'platinum' }, 2500);
    await tx2.commit();
    const table = store.table('sqlserver:shop.dbo.Customers');
    expect(store.asOf('sqlserver:shop.dbo.Customers', { id: 7 }, 999)).toBeNull();
    expect(table.asOf({ id: 7 }, 1000)).toEqual({ id: 7, tier: 'bronze' });
    expect(table.asOf({ id: 7 }, 2000)).toEqual({ id: 7, tier: 'gold' });
    expect(table.asOf({ id: 7 }, 2700)).toEqual({ id: 7, tier: 'platinum' });
    expect(table.asOf({ id: 7 }, 3000)).toBeNull();
    expect(table.get({ id: 7 })).toBeNull();
    expect(table.get({ id: 8 })).toEqual({ id: 8, tier: 'silver' });
    // Keys are canonical JSON: property order does not matter.
    expect(canonicalKey({ b: 1, a: [2, { d: 3, c: 4 }] })).toBe('{"a":[2,{"c":4,"d":3}],"b":1}');
    expect(table.history({ id: 7 }).map((v) => [v.eventTime, v.op])).toEqual([
      [1000, 'c'],
      [2000, 'u'],
      [2500, 'u'],
      [3000, 'd'],
    ]);
    expect(table.history({ id: 7 })[0]!.position).toBe('lsn:1');
    const tx3 = store.begin();
    tx3.table('sqlserver:shop.dbo.Customers').trimHistory(2600);
    await tx3.commit();
    expect(table.history({ id: 7 }).map((v) => v.eventTime)).toEqual([2500, 3000]);
    expect(table.asOf({ id: 7 }, 2600)).toEqual({ id: 7, tier: 'platinum' });
    await store.close();
    const reopened = await openStateStore({ dir });
    expect(reopened.asOf('sqlserver:shop.dbo.Customers', { id: 7 }, 2700)).toEqual({ id: 7, tier: 'platinum' });
    expect(reopened.table('sqlserver:shop.dbo.Customers').get({ id: 8 })).toEqual({ id: 8, tier: 'silver' });
    await reopened.close();
  });
});

describe('state store: durability and checkpoints', () => {
  it('commits state and positions together and restores them after a crash', async () => {
    const dir = tempDir('eddy-state-');
    const store = await openStateStore({ dir, snapshotBytes: 8 * 1024 });
    const copies: { dir: string; committed: number }[] = [];
    for (let batch = 1; batch <= 60; batch++) {
      const tx = store.begin();
      const counts = tx.keyed('p1', 'count');
      counts.put('n', ((counts.get('n') as number | undefined) ?? 0) + 10);
      tx.table('t').upsert({ id: batch % 5 }, { batch }, batch);
      const info = await tx.checkpoint({ pipeline: 'p1', positions: { 'kafka:orders/0': batch * 10 }, sinks: { warehouse: batch } });
      expect(info.commitId).toBe(batch);
      if (batch % 20 === 0) {
        const copy = tempDir('eddy-state-copy-');
        cpSync(dir, copy, { recursive: true });
        copies.push({ dir: copy, committed: batch });
      }
    }
    expect(readdirSync(dir).some((n) => n === 'state.snapshot')).toBe(true);
    await store.close();
    for (const copy of copies) {
      const recovered = await openStateStore({ dir: copy.dir });
      const checkpoint = recovered.lastCheckpoint('p1')!;
      // State and positions always agree: n = 10 x the committed offset / 10.
      expect(checkpoint.positions['kafka:orders/0']).toBe(copy.committed * 10);
      expect(recovered.keyed('p1', 'count').get('n')).toBe(copy.committed * 10);
      expect(checkpoint.sinks).toEqual({ warehouse: copy.committed });
      expect(recovered.lastCheckpoint('other')).toBeNull();
      await recovered.close();
    }
    const reopened = await openStateStore({ dir });
    expect(reopened.lastCheckpoint('p1')!.commitId).toBe(60);
    expect(reopened.problems()).toEqual([]);
    await reopened.close();
  });

  it('drops a torn final record, quarantines damage, and falls back to the previous snapshot', async () => {
    const dir = tempDir('eddy-state-');
    const store = await openStateStore({ dir, snapshotBytes: 2 * 1024 });
    for (let i = 1; i <= 100; i++) {
      const tx = store.begin();
      tx.keyed('p', 's').put(`k${i}`, i);
      await tx.commit();
    }
    await waitFor(() => readdirSync(dir).includes('state.snapshot.prev'));
    const tx = store.begin();
    tx.keyed('p', 's').put('last', true);
    await tx.commit();
    const copy = tempDir('eddy-state-copy-');
    cpSync(dir, copy, { recursive: true });
    await store.close();
    const journal = readdirSync(copy).filter((n) => n.endsWith('.journal')).sort().pop()!;
    writeFileSync(path.join(copy, journal), Buffer.concat([readFileSync(path.join(copy, journal)), Buffer.from([0x45, 0x44, 0x4a, 0x31, 9, 9])]));
    const snapshot = readFileSync(path.join(copy, 'state.snapshot'));
    snapshot[snapshot.length - 10]! ^= 0xff;
    writeFileSync(path.join(copy, 'state.snapshot'), snapshot);
    const recovered = await openStateStore({ dir: copy });
    expect(recovered.keyed('p', 's').range()).toHaveLength(101);
    expect(recovered.keyed('p', 's').get('last')).toBe(true);
    const severities = recovered.problems().map((p) => p.severity).sort();
    expect(severities).toEqual(['info', 'warning']);
    expect(readdirSync(path.join(copy, 'quarantine')).some((n) => n.includes('state.snapshot'))).toBe(true);
    await recovered.close();
  });

  it('pauses commits on a full disk and completes them when space returns', async () => {
    const fs = new FaultyFs();
    const dir = tempDir('eddy-state-');
    const store = await openStateStore({ dir, fs });
    fs.diskFull = true;
    const tx = store.begin();
    tx.keyed('p', 's').put('k', 1);
    let done = false;
    const committing = tx.checkpoint({ pipeline: 'p', positions: { a: 1 } }).then(() => (done = true));
    await waitFor(() => store.problems().some((p) => p.severity === 'error'));
    expect(done).toBe(false);
    expect(store.lastCheckpoint('p')).toBeNull();
    fs.diskFull = false;
    await committing;
    expect(store.lastCheckpoint('p')!.positions).toEqual({ a: 1 });
    await store.close();
    const reopened = await openStateStore({ dir });
    expect(reopened.keyed('p', 's').get('k')).toBe(1);
    await reopened.close();
  });
});
