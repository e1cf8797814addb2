// The bounded queue between the Kafka consumer and the event log: pushes wait while it is full
// (so memory stays bounded whatever the topic size), appends are coalesced, and a failed append
// is reported to the next push and to drain.
import { describe, expect, it } from 'vitest';
import { LogAppender } from '../../../main/engine/kafka/appender.js';
import type { NewEvent } from '../../../shared/events.js';

const event = (n: number): NewEvent => ({ stream: 's', position: `p${n}`, key: null, value: n, headers: [], eventTime: n, ingestTime: n });
const batch = (from: number, count: number): NewEvent[] => Array.from({ length: count }, (_, index) => event(from + index));

describe('LogAppender', () => {
  it('blocks pushes above the limit and never holds much more than it', async () => {
    const appended: number[] = [];
    let release: (() => void) | undefined;
    const append = async (events: NewEvent[]): Promise<void> => {
      await new Promise<void>((resolve) => (release = resolve));
      appended.push(events.length);
    };
    const durable: number[] = [];
    const appender = new LogAppender(append, (events) => durable.push(events.length), { maxQueuedBytes: 1000, maxQueuedEvents: 1_000_000, maxAppendEvents: 100, maxAppendBytes: 1_000_000, maxInFlight: 1 });
    await appender.push(batch(0, 10), 400);
    await appender.push(batch(10, 10), 400);
    let third = false;
    const pushing = appender.push(batch(20, 10), 400).then(() => (third = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(third).toBe(false);
    expect(appender.pending.bytes).toBe(1200);
    release!();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(third).toBe(true);
    // The rest was coalesced into one append.
    for (let round = 0; round < 5 && appended.reduce((a, b) => a + b, 0) < 30; round++) {
      release?.();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await pushing;
    release?.();
    await appender.drain();
    expect(appended.reduce((a, b) => a + b, 0)).toBe(30);
    expect(appended).toEqual([10, 20]);
    expect(durable).toEqual([10, 20]);
    expect(appender.peakQueuedBytes).toBe(1200);
  });

  it('calls the heartbeat while waiting for room', async () => {
    let release!: () => void;
    const appender = new LogAppender(
      () => new Promise<void>((resolve) => (release = resolve)),
      () => undefined,
      { maxQueuedBytes: 10, maxQueuedEvents: 100, maxAppendEvents: 100, maxAppendBytes: 100, maxInFlight: 1 },
    );
    let beats = 0;
    const pushing = appender.push(batch(0, 1), 50, async () => void beats++);
    await new Promise((resolve) => setTimeout(resolve, 2200));
    expect(beats).toBeGreaterThanOrEqual(1);
    release();
    await pushing;
    await appender.drain();
  }, 10_000);

  it('reports a failed append to the next push and to drain', async () => {
    const appender = new LogAppender(
      async () => {
        throw new Error('disk full');
      },
      () => undefined,
    );
    await appender.push(batch(0, 1), 10);
    await expect(appender.drain()).rejects.toThrow('disk full');
    await expect(appender.push(batch(1, 1), 10)).rejects.toThrow('disk full');
    expect(appender.failed).toBeInstanceOf(Error);
  });

  it('splits appends at the configured size', async () => {
    const sizes: number[] = [];
    const appender = new LogAppender(
      async (events) => void sizes.push(events.length),
      () => undefined,
      { maxQueuedBytes: 1e9, maxQueuedEvents: 1e9, maxAppendEvents: 25, maxAppendBytes: 1e9, maxInFlight: 1 },
    );
    // Pushed synchronously one after another: the first append takes the first batch, the rest wait.
    await Promise.all([appender.push(batch(0, 10), 1), appender.push(batch(10, 10), 1), appender.push(batch(20, 10), 1), appender.push(batch(30, 10), 1)]);
    await appender.drain();
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(40);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(25);
  });

  it('keeps several appends in flight and reports them durable in order, even when they finish out of order', async () => {
    const pending: { first: number; resolve: () => void; reject: (error: Error) => void }[] = [];
    const durable: number[] = [];
    const appender = new LogAppender(
      (events) => new Promise<void>((resolve, reject) => pending.push({ first: (events[0]!.value as number), resolve, reject })),
      (events) => durable.push(events[0]!.value as number),
      { maxQueuedBytes: 1e9, maxQueuedEvents: 1e9, maxAppendEvents: 10, maxAppendBytes: 1e9, maxInFlight: 3 },
    );
    await appender.push(batch(0, 50), 50);
    await new Promise((resolve) => setTimeout(resolve, 5));
    // Three started at once, none finished.
    expect(pending.map((entry) => entry.first)).toEqual([0, 10, 20]);
    pending[2]!.resolve();
    pending[1]!.resolve();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(durable).toEqual([]); // the oldest is not durable yet
    pending[0]!.resolve();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(durable).toEqual([0, 10, 20]);
    expect(pending.map((entry) => entry.first)).toEqual([0, 10, 20, 30, 40]);
    // A failure: nothing after it is reported durable, even what finished.
    pending[4]!.resolve();
    pending[3]!.reject(new Error('disk full'));
    await expect(appender.drain()).rejects.toThrow('disk full');
    expect(durable).toEqual([0, 10, 20]);
    expect(appender.pending.events).toBe(20);
  });
});
