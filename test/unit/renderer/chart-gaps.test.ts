// Chart lines break over buckets without events instead of drawing a trend across them.
import { describe, expect, it } from 'vitest';
import { hasGaps, withGaps } from '../../../renderer/features/charts/gaps';

describe('chart gaps', () => {
  it('puts a break after a bucket followed by empty ones, and none between neighbours', () => {
    const points: [number, number][] = [
      [0, 5],
      [1000, 6],
      [61_000, 2],
      [62_000, 3],
    ];
    expect(withGaps(points, 1000, (point) => point[1])).toEqual([
      { x: 0, y: 5 },
      { x: 1000, y: 6 },
      { x: 2000, y: null },
      { x: 61_000, y: 2 },
      { x: 62_000, y: 3 },
    ]);
    expect(hasGaps(points, 1000)).toBe(true);
    expect(hasGaps(points.slice(0, 2), 1000)).toBe(false);
    expect(withGaps(points.slice(0, 2), 1000, (point) => point[1])).toEqual([
      { x: 0, y: 5 },
      { x: 1000, y: 6 },
    ]);
  });
});
