// A group's committed offset outside its partition's log (a truncated or recreated topic) is
// called out: its lag would read 0 while the consumers will restart elsewhere.
import { describe, expect, it } from 'vitest';
import { outOfRangeNote } from '../../../main/engine/kafka/explore.js';

const row = (partition: number, committedOffset: number | null, logStartOffset: number, logEndOffset: number) => ({
  topic: 'orders',
  partition,
  committedOffset,
  logStartOffset,
  logEndOffset,
  lag: committedOffset === null ? null : Math.max(0, logEndOffset - committedOffset),
  timeLagMs: null,
  nextRecordTime: null,
  metadata: null,
  memberId: null,
});

describe('committed offsets outside the log', () => {
  it('names the partitions whose committed offset is past the end or before the start, and nothing otherwise', () => {
    expect(outOfRangeNote([row(0, 40, 0, 100), row(1, null, 0, 10), row(2, 100, 0, 100)])).toBeUndefined();
    const note = outOfRangeNote([row(0, 40, 0, 100), row(1, 100, 0, 34), row(2, 3, 50, 90)]);
    expect(note).toBe(
      "Committed offsets outside the partition's log: orders/1 at 100 (log 0-34), orders/2 at 3 (log 50-90). Its consumers will restart from their auto.offset.reset position there, not from the committed offset; reset the offsets to choose.",
    );
  });
});
