// A bounded queue between a Kafka consumer and the event log. The consumer hands over decoded
// batches and goes on fetching while earlier batches are appended (the log's fsync overlaps the next
// fetch); when the queue holds too much, `push` waits, which keeps kafkajs from fetching more (its
// fetcher does not fetch again until the batch handler returns), so memory stays bounded whatever
// the topic size. Appends are coalesced up to a size so the journal syncs fewer, larger records.
// The queue holds whatever the capture hands the log: `NewEvent`s, or events already encoded for
// it (`EncodedEvent`, see the capture).
import type { NewEvent } from '../../../shared/events.js';

export interface AppenderLimits {
  /** Estimated bytes of decoded events waiting; `push` blocks above this. */
  maxQueuedBytes: number;
  maxQueuedEvents: number;
  /** Largest single log append. */
  maxAppendEvents: number;
  maxAppendBytes: number;
  /**
   * Appends started before the earlier ones are durable. The log admits (validates, deduplicates,
   * serializes) the next one while the previous one is being written and synced, and commits
   * several together; completions are still reported in order.
   */
  maxInFlight: number;
}

export const DEFAULT_APPENDER_LIMITS: AppenderLimits = {
  maxQueuedBytes: 32 * 1024 * 1024,
  maxQueuedEvents: 50_000,
  // The log appends batches of about a thousand events fastest (measured: 10,000 at once is
  // 20-40 % slower), and a batch that small still amortizes its fsync.
  maxAppendEvents: 1000,
  maxAppendBytes: 2 * 1024 * 1024,
  maxInFlight: 3,
};

interface Item<E> {
  events: E[];
  bytes: number;
}

export class LogAppender<E = NewEvent> {
  private readonly queue: Item<E>[] = [];
  private queuedBytes = 0;
  private queuedEvents = 0;
  private running: Promise<void> | undefined;
  private failure: unknown;
  private waiters: (() => void)[] = [];
  /** Highest number of queued bytes seen (for tests of the memory bound). */
  peakQueuedBytes = 0;

  constructor(
    private readonly append: (events: E[]) => Promise<unknown>,
    private readonly onDurable: (events: E[], bytes: number) => void,
    private readonly limits: AppenderLimits = DEFAULT_APPENDER_LIMITS,
  ) {}

  get failed(): unknown {
    return this.failure;
  }

  get pending(): { events: number; bytes: number } {
    return { events: this.queuedEvents, bytes: this.queuedBytes };
  }

  private full(): boolean {
    return this.queuedBytes >= this.limits.maxQueuedBytes || this.queuedEvents >= this.limits.maxQueuedEvents;
  }

  /** Queues events for appending; resolves once there is room again (calling `whileWaiting` about every second). */
  async push(events: E[], bytes: number, whileWaiting?: () => Promise<void>): Promise<void> {
    if (this.failure) throw this.failure;
    if (events.length > 0) {
      // A big Kafka batch goes to the log in several appends of the preferred size.
      const pieces = Math.max(Math.ceil(events.length / this.limits.maxAppendEvents), Math.ceil(bytes / this.limits.maxAppendBytes));
      const size = Math.ceil(events.length / pieces);
      let left = bytes;
      for (let start = 0; start < events.length; start += size) {
        const piece = events.length <= size ? events : events.slice(start, start + size);
        const share = start + size >= events.length ? left : Math.round((bytes * piece.length) / events.length);
        left -= share;
        this.queue.push({ events: piece, bytes: share });
      }
      this.queuedBytes += bytes;
      this.queuedEvents += events.length;
      this.peakQueuedBytes = Math.max(this.peakQueuedBytes, this.queuedBytes);
      this.kick();
    }
    while (this.full() && !this.failure) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        timer = setTimeout(resolve, 1000);
      });
      clearTimeout(timer);
      if (this.full() && whileWaiting) await whileWaiting().catch(() => undefined);
    }
    if (this.failure) throw this.failure;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  private kick(): void {
    if (this.running || this.failure) return;
    this.running = this.loop().finally(() => {
      this.running = undefined;
      if (this.queue.length > 0 && !this.failure) this.kick();
    });
  }

  private async loop(): Promise<void> {
    // Started appends, oldest first; each is reported durable only after the ones before it.
    const inFlight: { done: Promise<unknown>; events: E[]; bytes: number }[] = [];
    const settleOldest = async (): Promise<boolean> => {
      const oldest = inFlight.shift()!;
      try {
        await oldest.done;
      } catch (error) {
        this.failure = error;
        this.wake();
        return false;
      }
      this.queuedBytes -= oldest.bytes;
      this.queuedEvents -= oldest.events.length;
      this.onDurable(oldest.events, oldest.bytes);
      this.wake();
      return true;
    };
    for (;;) {
      while (this.queue.length > 0 && !this.failure && inFlight.length < Math.max(1, this.limits.maxInFlight)) {
        const batch: E[] = [];
        let bytes = 0;
        while (this.queue.length > 0) {
          const next = this.queue[0]!;
          if (batch.length > 0 && (batch.length + next.events.length > this.limits.maxAppendEvents || bytes + next.bytes > this.limits.maxAppendBytes)) break;
          this.queue.shift();
          for (const event of next.events) batch.push(event);
          bytes += next.bytes;
        }
        const done = this.append(batch);
        done.catch(() => undefined); // settled in order below; never unhandled meanwhile
        inFlight.push({ done, events: batch, bytes });
      }
      if (inFlight.length === 0) return;
      if (!(await settleOldest())) {
        // After a failure nothing more is reported durable; let the rest settle quietly.
        await Promise.allSettled(inFlight.splice(0).map((entry) => entry.done));
        return;
      }
    }
  }

  /** Resolves when everything queued is durable; rejects with the append failure if one happened. */
  async drain(): Promise<void> {
    while (this.running) await this.running;
    if (this.failure) throw this.failure;
  }
}
