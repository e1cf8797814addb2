// The capture job's progress line: partitions read to their end are not "done" events (they may
// still be on the way to the log), and a live tail says it follows rather than "0/2 done".
import { describe, expect, it } from 'vitest';
import { partitionProgress } from '../../../main/engine/kafka/handlers.js';

const partition = (endOffset: number | null, done: boolean) => ({ topic: 't', partition: 0, startOffset: 0, nextOffset: 0, endOffset, captured: 0, done });

describe('capture progress', () => {
  it('counts partitions read to their end offsets', () => {
    expect(partitionProgress({ partitions: [partition(10, true), partition(10, false), partition(5, false)] })).toBe('1/3 partition(s) read to their end');
    expect(partitionProgress({ partitions: [partition(10, true), partition(10, true)] })).toBe('all 2 partition(s) read to their end');
  });

  it('says a live tail follows its partitions', () => {
    expect(partitionProgress({ partitions: [partition(null, false), partition(null, false)] })).toBe('following 2 partition(s)');
    expect(partitionProgress({ partitions: [partition(3, true), partition(null, false)] })).toBe('all 1 partition(s) read to their end; following 1');
  });
});
