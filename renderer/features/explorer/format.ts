// Formatting helpers for the explorer: times, sizes, counts, and short previews of JSON values.
import type { JsonValue } from '../../../shared/events';

export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  const date = new Date(ms);
  return `${date.toISOString().slice(0, 10)} ${date.toISOString().slice(11, 23)}`;
}

/**
 * The operation to show for an event: its own (c, u, d, r), or `t` for a Debezium truncate
 * envelope (a table emptied; the event model's op has no letter for it, its value says `op: "t"`).
 */
export function displayOp(event: { op?: string | null | undefined; value: JsonValue | null }): string | null {
  if (event.op) return event.op;
  const value = event.value;
  return value !== null && typeof value === 'object' && !Array.isArray(value) && value.op === 't' ? 't' : null;
}

export function formatCount(count: number): string {
  return new Intl.NumberFormat('en').format(count);
}

/** "1 event", "2,000 events". */
export function countOf(count: number, noun: string): string {
  return `${formatCount(count)} ${noun}${count === 1 ? '' : 's'}`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function preview(value: JsonValue | null | undefined, max = 160): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * A key as the grid shows it: a flat object of scalars (what CDC keys are) reads `CustomerID=1003`
 * or `OrderID=7 · Line=2`, so rows with different keys never look alike where `{"CustomerID":100…`
 * would be cut off; anything else is the usual preview.
 */
export function keyPreview(key: JsonValue | null | undefined, max = 60): string {
  if (key !== null && typeof key === 'object' && !Array.isArray(key)) {
    const entries = Object.entries(key);
    if (entries.length > 0 && entries.length <= 4 && entries.every(([, value]) => value === null || typeof value !== 'object')) {
      const text = entries.map(([name, value]) => `${name}=${typeof value === 'string' ? value : JSON.stringify(value)}`).join(' · ');
      return text.length > max ? `${text.slice(0, max - 1)}…` : text;
    }
  }
  return preview(key, max);
}

export function streamLabel(stream: string): { kind: string; name: string } {
  const colon = stream.indexOf(':');
  return colon < 0 ? { kind: 'log', name: stream } : { kind: stream.slice(0, colon), name: stream.slice(colon + 1) };
}
