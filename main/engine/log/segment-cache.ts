// Sealed segments loaded on demand and evicted least-recently-used within a byte budget, so
// memory stays flat however long the log is. A reader pins a segment while it uses it; eviction
// skips pinned ones (the budget may be exceeded briefly rather than close a database in use).
import type { Database } from './sqljs.js';

interface Entry {
  db: Database | null;
  loading: Promise<Database> | null;
  bytes: number;
  pins: number;
  used: number;
  /** Dropped while pinned: the last reader to release it closes it (sql.js frees its file then). */
  dropped: boolean;
  /** Loaded ahead for a reader: not evicted before that reader gets to it (one such at a time). */
  prefetched: boolean;
}

export interface Lease {
  db: Database;
  release(): void;
}

export class SegmentCache {
  private readonly entries = new Map<number, Entry>();
  private clock = 0;

  constructor(
    private readonly budgetBytes: number,
    private readonly load: (id: number) => Promise<{ db: Database; bytes: number }>,
  ) {}

  async acquire(id: number): Promise<Lease> {
    let entry = this.entries.get(id);
    if (!entry) {
      entry = { db: null, loading: null, bytes: 0, pins: 0, used: ++this.clock, dropped: false, prefetched: false };
      this.entries.set(id, entry);
    }
    entry.pins++;
    entry.used = ++this.clock;
    entry.prefetched = false;
    try {
      if (!entry.db) {
        if (!entry.loading) {
          const target = entry;
          target.loading = this.load(id).then(
            ({ db, bytes }) => {
              if (target.dropped) {
                db.close();
                throw new Error(`segment ${id} was removed while it loaded`);
              }
              target.db = db;
              target.bytes = bytes;
              target.loading = null;
              return db;
            },
            (error: unknown) => {
              target.loading = null;
              throw error;
            },
          );
        }
        await entry.loading;
      }
    } catch (error) {
      entry.pins--;
      if (!entry.db && entry.pins === 0 && this.entries.get(id) === entry) this.entries.delete(id);
      throw error;
    }
    const db = entry.db!;
    const held = entry;
    let released = false;
    this.evict();
    return {
      db,
      release: () => {
        if (released) return;
        released = true;
        held.pins--;
        if (held.dropped && held.pins === 0) held.db?.close();
        else this.evict();
      },
    };
  }

  /** Starts loading a segment a reader will want next (replay reads ahead by one). */
  prefetch(id: number): void {
    if (this.entries.has(id) || [...this.entries.values()].some((e) => e.prefetched)) return;
    void this.acquire(id).then(
      (lease) => {
        const entry = this.entries.get(id);
        if (entry) entry.prefetched = true;
        lease.release();
      },
      () => undefined,
    );
  }

  drop(id: number): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    entry.dropped = true;
    if (entry.db && entry.pins === 0) entry.db.close();
  }

  loadedBytes(): number {
    let total = 0;
    for (const entry of this.entries.values()) total += entry.bytes;
    return total;
  }

  private evict(): void {
    let total = this.loadedBytes();
    if (total <= this.budgetBytes) return;
    // Never the most recently used one: a segment a bit larger than the budget must still stay
    // cached while it is read chunk by chunk. A prefetched segment waits for its reader too. So
    // the cache holds at most max(budget, one segment) plus one prefetched segment.
    const newest = Math.max(...[...this.entries.values()].map((e) => e.used));
    const candidates = [...this.entries.entries()].filter(([, e]) => e.db && e.pins === 0 && !e.prefetched && e.used !== newest).sort((a, b) => a[1].used - b[1].used);
    for (const [id, entry] of candidates) {
      if (total <= this.budgetBytes) break;
      this.entries.delete(id);
      entry.dropped = true;
      entry.db!.close();
      total -= entry.bytes;
    }
  }

  closeAll(): void {
    for (const id of [...this.entries.keys()]) this.drop(id);
  }
}
