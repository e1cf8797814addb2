import { describe, it, expect } from 'vitest';
import { SegmentCache } from '../../../main/engine/log/segment-cache.js';
import type { Database } from '../../../main/engine/log/sqljs.js';

function fakeDb(closed: Set<number>, id: number): Database {
  return { close: () => void closed.add(id) } as unknown as Database;
}

describe('segment cache', () => {
  it('evicts least recently used segments past its budget, never the one in use or just used', async () => {
    const closed = new Set<number>();
    const loads: number[] = [];
    const cache = new SegmentCache(100, async (id) => {
      loads.push(id);
      return { db: fakeDb(closed, id), bytes: 60 };
    });
    // One segment larger than the budget stays cached while it is read chunk by chunk.
    for (let chunk = 0; chunk < 5; chunk++) (await cache.acquire(1)).release();
    expect(loads).toEqual([1]);
    const held = await cache.acquire(2);
    expect(closed.has(1)).toBe(true);
    (await cache.acquire(3)).release();
    expect(closed.has(2)).toBe(false); // pinned
    held.release();
    (await cache.acquire(3)).release();
    expect(closed.has(2)).toBe(true);
    expect(loads).toEqual([1, 2, 3]);
  });

  it('keeps a prefetched segment until its reader arrives, and closes a dropped one after its last reader', async () => {
    const closed = new Set<number>();
    const cache = new SegmentCache(100, async (id) => ({ db: fakeDb(closed, id), bytes: 60 }));
    (await cache.acquire(1)).release();
    cache.prefetch(2);
    await new Promise((resolve) => setTimeout(resolve, 10));
    (await cache.acquire(1)).release();
    expect(closed.has(2)).toBe(false);
    const lease = await cache.acquire(2);
    cache.drop(2);
    expect(closed.has(2)).toBe(false);
    lease.release();
    expect(closed.has(2)).toBe(true);
    cache.closeAll();
    expect(closed.has(1)).toBe(true);
  });
});
