// RowStore.identityOf: the duplicate check's lookup of one row among rows still waiting as journal
// bytes (segment-builder.ts), against the stream and position each event was appended with.
import { describe, it, expect } from 'vitest';
import { encodeJournalLines, journalPrefixBytes, newRowLayout, prepareEvent, type PreparedEvent } from '../../../main/engine/log/event-codec.js';
import { RowStore } from '../../../main/engine/log/segment-builder.js';
import type { JsonValue } from '../../../shared/events.js';
import { orderEvent } from './helpers.js';

/** Prepares `count` events with seqs from `firstSeq` and stores them as one batch, as the log does. */
function storeBatch(store: RowStore, firstSeq: number, count: number, value?: JsonValue): PreparedEvent[] {
  const events: PreparedEvent[] = [];
  let bytes = count - 1;
  for (let i = 0; i < count; i++) {
    const seq = firstSeq + i;
    const stream = seq % 2 ? 'kafka:ünïcode "topic"' : 'kafka:plain';
    const prepared = prepareEvent(orderEvent(seq, stream, { position: `p/${seq}${i % 3 === 0 ? '\\t"é"' : ''}`, ...(value === undefined ? {} : { value }) }), 1024 * 1024);
    if (!prepared.ok) throw new Error(prepared.reason);
    prepared.event.seq = firstSeq + i;
    bytes += journalPrefixBytes(prepared.event.seq) + prepared.event.size;
    events.push(prepared.event);
  }
  const layout = newRowLayout(count);
  const payload = encodeJournalLines(events, bytes, layout);
  store.add(payload, layout, bytes);
  return events;
}

describe('RowStore.identityOf', () => {
  it('finds every stored row by seq, escaped or not, and nothing for seqs it does not hold', () => {
    const store = new RowStore();
    const events = [...storeBatch(store, 10, 50), ...storeBatch(store, 60, 1), ...storeBatch(store, 100, 30)];
    for (const event of events) expect(store.identityOf(event.seq)).toEqual({ stream: event.stream, position: event.position });
    // Below the first batch, in the gap between batches, above the last.
    for (const missing of [1, 9, 61, 99, 130, 10_000]) expect(store.identityOf(missing)).toBeNull();
    expect(new RowStore().identityOf(1)).toBeNull();
  });

  it('reads rows across shared chunks and after some batches were taken for indexing', () => {
    const store = new RowStore();
    const big = 'x'.repeat(200_000);
    const events: PreparedEvent[] = [];
    // About 60 MB of rows: more than one 40 MiB chunk.
    for (let b = 0; b < 30; b++) events.push(...storeBatch(store, 1 + b * 10, 10, { note: big }));
    expect(store.take(100).batches.length).toBeGreaterThan(0);
    for (const event of [events[0]!, events[150]!, events[299]!]) expect(store.identityOf(event.seq)).toEqual({ stream: event.stream, position: event.position });
  });
});
