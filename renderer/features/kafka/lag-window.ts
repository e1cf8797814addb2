// The lag chart's time axis (pure, so it is unit-tested).

/** The shortest time the x axis spans: one or two samples must not stretch it over hours. */
export const MIN_WINDOW_MS = 60_000;

/** The x axis range: from the first sample, at least MIN_WINDOW_MS wide. */
export function timeWindow(samples: readonly { at: number }[], now = Date.now()): { min: number; max: number } {
  if (samples.length === 0) return { min: now - MIN_WINDOW_MS, max: now };
  const first = samples[0]!.at;
  const last = samples[samples.length - 1]!.at;
  return { min: first, max: Math.max(last, first + MIN_WINDOW_MS) };
}
