// The rows of one explorer view as the grid sees them: pages of events addressed by row index
// (oldest first, as the engine numbers them), fetched on demand for what is on screen, at most two
// requests in flight, the newest request winning when the user drags the scrollbar across a
// million rows. Only a bounded number of pages is kept, so memory stays flat whatever the stream.
import type { StoredEvent } from '../../../shared/events';

export const PAGE_SIZE = 100;
const MAX_PAGES = 60;
const MAX_IN_FLIGHT = 2;
const SETTLE_MS = 40;

export type PageFetcher = (from: number, limit: number) => Promise<{ events: StoredEvent[]; count: number }>;

export class RowStore {
  private pages = new Map<number, StoredEvent[]>();
  private loading = new Set<number>();
  private wanted: [number, number] = [0, -1];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private listeners = new Set<() => void>();
  private notifyScheduled = false;
  private generation = 0;
  private inFlight = 0;
  version = 0;
  error: string | undefined;

  constructor(
    private readonly fetch: PageFetcher,
    public count: number,
    private readonly onCountChanged?: (count: number) => void,
  ) {}

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    // One render per frame however many pages land.
    requestAnimationFrame(() => {
      this.notifyScheduled = false;
      this.version++;
      for (const listener of [...this.listeners]) listener();
    });
  }

  /** The event at a row (oldest-first index), if its page is loaded. */
  get(row: number): StoredEvent | undefined {
    const page = this.pages.get(Math.floor(row / PAGE_SIZE));
    return page?.[row % PAGE_SIZE];
  }

  isLoaded(row: number): boolean {
    return this.pages.has(Math.floor(row / PAGE_SIZE));
  }

  /** Asks for rows [from, to] (inclusive, oldest-first indexes) to be loaded. */
  request(from: number, to: number): void {
    this.wanted = [Math.max(0, from), Math.min(this.count - 1, to)];
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.pump(), SETTLE_MS);
  }

  /** The view grew (live appends): rows already loaded stay valid, the last partial page is refreshed. */
  grow(count: number): void {
    if (count < this.count) {
      this.reset(count);
      return;
    }
    const lastPage = Math.floor(Math.max(0, this.count - 1) / PAGE_SIZE);
    const page = this.pages.get(lastPage);
    if (page && page.length < PAGE_SIZE) this.pages.delete(lastPage);
    this.count = count;
    this.pump();
  }

  /** Everything changed (filter, deletion): drop all pages. */
  reset(count: number): void {
    this.generation++;
    this.pages.clear();
    this.loading.clear();
    this.count = count;
    this.error = undefined;
    this.notify();
    this.pump();
  }

  dispose(): void {
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.listeners.clear();
  }

  private pump(): void {
    const [from, to] = this.wanted;
    if (to < from) return;
    const first = Math.floor(from / PAGE_SIZE);
    const last = Math.floor(to / PAGE_SIZE);
    const middle = (first + last) / 2;
    const missing: number[] = [];
    for (let page = first; page <= last; page++) if (!this.pages.has(page) && !this.loading.has(page)) missing.push(page);
    missing.sort((a, b) => Math.abs(a - middle) - Math.abs(b - middle));
    for (const page of missing) {
      if (this.inFlight >= MAX_IN_FLIGHT) break;
      void this.load(page);
    }
  }

  private async load(page: number): Promise<void> {
    const generation = this.generation;
    this.loading.add(page);
    this.inFlight++;
    try {
      const result = await this.fetch(page * PAGE_SIZE, PAGE_SIZE);
      if (generation !== this.generation) return;
      this.pages.set(page, result.events);
      this.error = undefined;
      this.evict();
      if (result.count !== this.count) this.onCountChanged?.(result.count);
      this.notify();
    } catch (error) {
      if (generation !== this.generation) return;
      this.error = error instanceof Error ? error.message : String(error);
      this.notify();
    } finally {
      this.inFlight--;
      if (generation === this.generation) this.loading.delete(page);
      // Keep going for what is on screen now (the user may have scrolled on meanwhile).
      if (generation === this.generation && !this.error) this.pump();
    }
  }

  private evict(): void {
    if (this.pages.size <= MAX_PAGES) return;
    const centre = (this.wanted[0] + this.wanted[1]) / 2 / PAGE_SIZE;
    const far = [...this.pages.keys()].sort((a, b) => Math.abs(b - centre) - Math.abs(a - centre));
    for (const page of far.slice(0, this.pages.size - MAX_PAGES)) this.pages.delete(page);
  }
}
