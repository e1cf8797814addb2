// The part of the event log a pipeline uses (main/engine/log's EventLog), and an in-memory log
// with the same behaviour for pipeline tests, step-through fixtures and unit tests: append with
// dedup by (stream, position), replay in log order from a seq or a point in time, tail.
import { EddyError } from '../../../../shared/contract.js';
import { NewEventSchema, type NewEvent, type StoredEvent } from '../../../../shared/events.js';
import type { AppendedEvent, AppendResult, EventLog, EventPage, ReadRequest, ReplayOptions } from '../../log/index.js';

export type LogPort = Pick<EventLog, 'append' | 'replay' | 'tail' | 'onAppended' | 'findPosition' | 'read' | 'lastSeq'>;

export class MemoryLog implements LogPort {
  private readonly events: StoredEvent[] = [];
  private readonly positions = new Map<string, number>();
  private readonly tails = new Set<{ stream: string | undefined; listener: (events: StoredEvent[]) => void }>();

  get lastSeq(): number {
    return this.events.length;
  }

  async append(events: NewEvent[]): Promise<AppendResult> {
    let appended = 0;
    let duplicates = 0;
    const added: StoredEvent[] = [];
    for (const input of events) {
      const parsed = NewEventSchema.parse(input);
      const id = `${parsed.stream}\u0000${parsed.position}`;
      if (this.positions.has(id)) {
        duplicates++;
        continue;
      }
      const stored: StoredEvent = { ...parsed, seq: this.events.length + 1, size: JSON.stringify(parsed).length };
      this.events.push(stored);
      this.positions.set(id, stored.seq);
      added.push(stored);
      appended++;
    }
    if (added.length > 0) {
      for (const tail of this.tails) {
        const mine = tail.stream === undefined ? added : added.filter((event) => event.stream === tail.stream);
        if (mine.length > 0) tail.listener(mine);
      }
    }
    return { appended, duplicates, rejected: [] };
  }

  async read(request: ReadRequest): Promise<EventPage> {
    const direction = request.direction ?? 'newest';
    const limit = request.limit ?? 200;
    const cursor = request.cursor ? Number(request.cursor) : null;
    let list = this.events.filter((event) => event.stream === request.stream);
    if (direction === 'newest') list = list.reverse();
    if (cursor !== null) list = list.filter((event) => (direction === 'newest' ? event.seq < cursor : event.seq > cursor));
    const page = list.slice(0, limit);
    const more = list.length > limit;
    return { events: page, nextCursor: more ? String(page[page.length - 1]!.seq) : null };
  }

  replay(options: ReplayOptions = {}): AsyncIterableIterator<StoredEvent[]> {
    const toSeq = options.toSeq ?? this.lastSeq;
    const streams = options.streams ? new Set(options.streams) : null;
    const batchSize = options.batchSize ?? 1000;
    const events = this.events;
    const findStart = async (): Promise<number> => {
      const from = options.from;
      if (!from) return 1;
      if ('seq' in from) return from.seq;
      if ('afterSeq' in from) return from.afterSeq + 1;
      if ('position' in from) {
        const seq = await this.findPosition(from.stream, from.position);
        if (seq === null) throw new EddyError('NOT_FOUND', `No event at position ${from.position} in ${from.stream}.`);
        return seq;
      }
      const time = 'eventTime' in from ? from.eventTime : from.ingestTime;
      const found = events.find((event) => (!streams || streams.has(event.stream)) && ('eventTime' in from ? event.eventTime : event.ingestTime) >= time);
      return found ? found.seq : events.length + 1;
    };
    return (async function* () {
      let seq = await findStart();
      while (seq <= toSeq) {
        const batch: StoredEvent[] = [];
        while (seq <= toSeq && batch.length < batchSize) {
          const event = events[seq - 1];
          seq++;
          if (event && (!streams || streams.has(event.stream))) batch.push(event);
        }
        if (batch.length > 0) yield batch;
      }
    })();
  }

  async findPosition(stream: string, position: string): Promise<number | null> {
    return this.positions.get(`${stream}\u0000${position}`) ?? null;
  }

  onAppended(listener: (appended: readonly AppendedEvent[]) => void): () => void {
    return this.tail(undefined, (events) => listener(events.map((event) => ({ stream: event.stream, seq: event.seq, event: () => event }))));
  }

  tail(stream: string | undefined, listener: (events: StoredEvent[]) => void): () => void {
    const entry = { stream, listener };
    this.tails.add(entry);
    return () => void this.tails.delete(entry);
  }

  /** Every event of a stream, oldest first (tests). */
  stream(stream: string): StoredEvent[] {
    return this.events.filter((event) => event.stream === stream);
  }
}
