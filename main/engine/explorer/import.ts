// Importing a JSON Lines file into the event log, as a job with progress and cancel: lines that
// are Eddy events (exported by the explorer, or captured elsewhere) keep their stream and
// position; any other JSON line becomes an event of the chosen stream, identified by file and line
// so importing the same file twice stores nothing new. Bad lines are skipped and counted, never
// fatal (one bad record must not sink a long import).
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { EddyError } from '../../../shared/contract.js';
import type { NewEvent } from '../../../shared/events.js';
import type { EventLog } from '../log/index.js';
import type { JobHandle } from '../jobs.js';

const BATCH = 2000;
/** Appends in flight at once: parsing the next batch overlaps making the previous one durable. */
const IN_FLIGHT = 2;

export function resolveImportPath(root: string, requested: string): string {
  return path.isAbsolute(requested) ? path.normalize(requested) : path.resolve(root, requested);
}

export async function checkImportFile(file: string): Promise<number> {
  let info;
  try {
    info = await stat(file);
  } catch {
    throw new EddyError('NOT_FOUND', `There is no file at ${file}. Give an absolute path, or one relative to the workspace folder.`);
  }
  if (!info.isFile()) throw new EddyError('VALIDATION', `${file} is not a file.`);
  return info.size;
}

function isEventLike(value: unknown): value is NewEvent {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const event = value as Record<string, unknown>;
  return typeof event.stream === 'string' && typeof event.position === 'string' && typeof event.eventTime === 'number';
}

export interface ImportSummary {
  lines: number;
  appended: number;
  duplicates: number;
  invalid: number;
  firstProblems: string[];
}

export async function importJsonl(
  log: Pick<EventLog, 'append'>,
  file: string,
  size: number,
  stream: string | undefined,
  job: JobHandle,
): Promise<ImportSummary> {
  const summary: ImportSummary = { lines: 0, appended: 0, duplicates: 0, invalid: 0, firstProblems: [] };
  const name = path.basename(file);
  const problem = (text: string): void => {
    summary.invalid++;
    if (summary.firstProblems.length < 5) summary.firstProblems.push(text);
  };
  const input = createReadStream(file, { encoding: 'utf8', signal: job.signal });
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let bytes = 0;
  let batch: NewEvent[] = [];
  const inFlight: Promise<void>[] = [];
  const report = (): void =>
    job.progress(Math.min(bytes, size), { total: size, message: `${summary.appended.toLocaleString('en')} events imported${summary.duplicates ? `, ${summary.duplicates.toLocaleString('en')} already there` : ''}${summary.invalid ? `, ${summary.invalid.toLocaleString('en')} lines skipped` : ''}` });
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const events = batch;
    batch = [];
    const appending = log.append(events).then((result) => {
      summary.appended += result.appended;
      summary.duplicates += result.duplicates;
      for (const rejected of result.rejected) problem(`${rejected.stream} ${rejected.position}: ${rejected.reason}`);
      report();
    });
    inFlight.push(appending);
    if (inFlight.length >= IN_FLIGHT) await inFlight.shift();
  };
  const now = Date.now();
  try {
    for await (const line of lines) {
      summary.lines++;
      bytes += Buffer.byteLength(line) + 1;
      if (line.trim() === '') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch (error) {
        problem(`line ${summary.lines}: not JSON (${(error as Error).message})`);
        continue;
      }
      if (isEventLike(parsed)) {
        const event = parsed as NewEvent & { ingestTime?: number };
        batch.push({ ...event, ingestTime: typeof event.ingestTime === 'number' ? event.ingestTime : now });
      } else if (stream) {
        batch.push({ stream, position: `file:${name}:${summary.lines}`, key: null, value: parsed as NewEvent['value'], headers: [], eventTime: now, ingestTime: now });
      } else {
        problem(`line ${summary.lines}: not an Eddy event (needs stream, position and eventTime); choose a stream to import plain JSON lines into`);
        continue;
      }
      if (batch.length >= BATCH) await flush();
    }
    await flush();
    await Promise.all(inFlight);
  } catch (error) {
    await Promise.allSettled(inFlight);
    if (job.signal.aborted) throw new EddyError('CANCELLED', `Import cancelled after ${summary.appended.toLocaleString('en')} events; they stay in the log.`);
    throw error;
  } finally {
    lines.close();
    input.destroy();
  }
  bytes = size;
  report();
  return summary;
}
