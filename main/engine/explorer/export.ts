// Export of explorer rows as JSON Lines (one Eddy event per line, importable again) or CSV (one row
// per event, JSON in the key and value columns, plus the user's JSON-path columns). CSV cells are
// guarded against formula injection: a cell starting with = + - @ tab or carriage return gets a
// leading single quote, so a spreadsheet shows it as text instead of running it (OWASP CSV injection).
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { EddyError } from '../../../shared/contract.js';
import { csvCell } from '../../../shared/contracts/explorer.js';
import type { JsonValue, StoredEvent } from '../../../shared/events.js';
import { extract, parsePath } from './filter.js';

export const DOWNLOAD_MAX_EVENTS = 50_000;
export const DOWNLOAD_MAX_BYTES = 32 * 1024 * 1024;

export { csvCell };

function jsonCell(value: JsonValue | undefined): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The event as an importable line (the NewEvent shape, no seq). */
export function jsonlLine(event: StoredEvent): string {
  const line: Record<string, unknown> = { stream: event.stream, position: event.position, key: event.key, value: event.value };
  if (event.valueBytes !== undefined) line.valueBytes = event.valueBytes;
  if (event.decodeError !== undefined) line.decodeError = event.decodeError;
  line.headers = event.headers;
  if (event.op !== undefined) line.op = event.op;
  line.eventTime = event.eventTime;
  line.ingestTime = event.ingestTime;
  return JSON.stringify(line);
}

export interface CsvLayout {
  header: string;
  row(event: StoredEvent): string;
}

export function csvLayout(columns: string[]): CsvLayout {
  const paths = columns.map((column) => parsePath(column));
  const names = ['seq', 'stream', 'position', 'op', 'event_time', 'ingest_time', 'key', 'value', 'headers', ...paths.map((p) => p.text)];
  return {
    header: names.map(csvCell).join(','),
    row(event) {
      const cells = [
        String(event.seq),
        event.stream,
        event.position,
        event.op ?? '',
        new Date(event.eventTime).toISOString(),
        new Date(event.ingestTime).toISOString(),
        jsonCell(event.key),
        event.decodeError ? `(not decoded: ${event.decodeError})` : jsonCell(event.value),
        event.headers.length > 0 ? JSON.stringify(event.headers) : '',
        ...paths.map((p) => jsonCell(extract(event, p)?.value)),
      ];
      return cells.map(csvCell).join(',');
    },
  };
}

export function exportFilename(stream: string, format: 'jsonl' | 'csv', now = new Date()): string {
  const safe = stream.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 80) || 'events';
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z').replace('T', '-');
  return `${safe}-${stamp}.${format}`;
}

/** Yields the rows of each range, in chunks (reads go through the view's anchors). */
export async function* rowsOf(
  read: (from: number, limit: number) => Promise<StoredEvent[]>,
  ranges: { from: number; to: number }[],
  chunk = 1000,
): AsyncGenerator<StoredEvent[]> {
  for (const range of ranges) {
    for (let from = range.from; from < range.to; from += chunk) {
      const events = await read(from, Math.min(chunk, range.to - from));
      if (events.length === 0) break;
      yield events;
    }
  }
}

/** Overlapping or unordered selections are merged, so no row is exported twice. */
export function normaliseRanges(ranges: { from: number; to: number }[] | undefined, count: number): { from: number; to: number }[] {
  const list = (ranges ?? [{ from: 0, to: count }])
    .map((range) => ({ from: Math.max(0, Math.min(range.from, count)), to: Math.max(0, Math.min(range.to, count)) }))
    .filter((range) => range.to > range.from)
    .sort((a, b) => a.from - b.from);
  const merged: { from: number; to: number }[] = [];
  for (const range of list) {
    const last = merged[merged.length - 1];
    if (last && range.from <= last.to) last.to = Math.max(last.to, range.to);
    else merged.push({ ...range });
  }
  return merged;
}

export function rangeTotal(ranges: { from: number; to: number }[]): number {
  return ranges.reduce((sum, range) => sum + range.to - range.from, 0);
}

/** Builds the whole file in memory (small selections, returned to the UI for download). */
export async function exportToText(rows: AsyncIterable<StoredEvent[]>, format: 'jsonl' | 'csv', columns: string[]): Promise<{ content: string; count: number }> {
  const layout = format === 'csv' ? csvLayout(columns) : undefined;
  const parts: string[] = layout ? [layout.header] : [];
  let bytes = 0;
  let count = 0;
  for await (const events of rows) {
    for (const event of events) {
      const line = layout ? layout.row(event) : jsonlLine(event);
      bytes += line.length + 1;
      if (bytes > DOWNLOAD_MAX_BYTES) {
        throw new EddyError('LIMIT', `The selection is larger than ${DOWNLOAD_MAX_BYTES / 1024 / 1024} MB; export it to the workspace folder instead.`);
      }
      parts.push(line);
      count++;
    }
  }
  return { content: parts.join('\n') + (parts.length > 0 ? '\n' : ''), count };
}

/** Streams the file to disk; a cancelled or failed export leaves no partial file behind. */
export async function exportToFile(
  file: string,
  rows: AsyncIterable<StoredEvent[]>,
  format: 'jsonl' | 'csv',
  columns: string[],
  progress: (count: number) => void,
  signal: AbortSignal,
): Promise<number> {
  await mkdir(path.dirname(file), { recursive: true });
  const out = createWriteStream(file, { encoding: 'utf8' });
  const failed = new Promise<never>((_, reject) => out.once('error', reject));
  failed.catch(() => undefined);
  const write = async (text: string): Promise<void> => {
    if (!out.write(text)) await Promise.race([new Promise<void>((resolve) => out.once('drain', () => resolve())), failed]);
  };
  const layout = format === 'csv' ? csvLayout(columns) : undefined;
  let count = 0;
  try {
    if (layout) await write(layout.header + '\n');
    for await (const events of rows) {
      if (signal.aborted) throw new EddyError('CANCELLED', 'The export was cancelled.');
      let chunk = '';
      for (const event of events) chunk += (layout ? layout.row(event) : jsonlLine(event)) + '\n';
      await write(chunk);
      count += events.length;
      progress(count);
    }
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
    return count;
  } catch (error) {
    out.destroy();
    await rm(file, { force: true });
    throw error;
  }
}
