// Breaking chart lines where a stream was quiet.

/**
 * Chart points of buckets that hold events, with a break (a null) after each bucket followed by
 * empty ones: a line drawn across a quiet stretch would show a trend where there were no events.
 */
export function withGaps<P extends [number, ...number[]]>(points: readonly P[], bucketMs: number, y: (point: P) => number): { x: number; y: number | null }[] {
  const out: { x: number; y: number | null }[] = [];
  for (const [index, point] of points.entries()) {
    const previous = points[index - 1];
    if (previous && point[0] - previous[0] > bucketMs) out.push({ x: previous[0] + bucketMs, y: null });
    out.push({ x: point[0], y: y(point) });
  }
  return out;
}

export function hasGaps(points: readonly [number, ...number[]][], bucketMs: number): boolean {
  return points.some((point, index) => index > 0 && point[0] - points[index - 1]![0] > bucketMs);
}
