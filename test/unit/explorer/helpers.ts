// Helpers for the explorer's engine tests: a real event log in a temp folder with small segments
// (so every view spans many segments), and shop-like change events with varied field types.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { NewEvent } from '../../../shared/events.js';
import { openEventLog, type EventLog } from '../../../main/engine/log/index.js';
import { Jobs } from '../../../main/engine/jobs.js';
import { createExplorerHandlers } from '../../../main/engine/explorer/handlers.js';

const made: string[] = [];
const logs: EventLog[] = [];

export function tempDir(prefix = 'eddy-explorer-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export async function cleanUp(): Promise<void> {
  for (const log of logs.splice(0)) await log.close().catch(() => undefined);
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export async function smallLog(dir = tempDir()): Promise<EventLog> {
  const log = await openEventLog({ dir, segmentBytes: 128 * 1024, snapshotBytes: 64 * 1024, backgroundVerifyDelayMs: null });
  logs.push(log);
  return log;
}

export const T0 = 1_700_000_000_000;
const cities = ['Paris', 'Lyon', 'Nantes', 'Lille', 'Bordeaux'];

/** Event i of a stream: op cycles c,u,u,d; City cycles; amount grows; every 7th has a VIP flag. */
export function shopEvent(i: number, stream = 'sqlserver:shop.dbo.Customers'): NewEvent {
  const op = (['c', 'u', 'u', 'd'] as const)[i % 4]!;
  const after = op === 'd' ? null : { Id: i, Name: `Customer ${i}`, City: cities[i % cities.length]!, Amount: i * 1.5, Vip: i % 7 === 0, Tags: ['a', `t${i % 3}`] };
  return {
    stream,
    position: `${stream}#${i}`,
    key: { Id: i },
    value: { before: op === 'c' ? null : { Id: i, City: 'Old' }, after, op, ts_ms: T0 + i * 1000 },
    headers: i % 10 === 0 ? [{ key: 'trace', value: `t-${i}` }] : [],
    op,
    eventTime: T0 + i * 1000,
    ingestTime: T0 + i * 1000 + (i % 5) * 100,
  };
}

/** Appends n events to `stream`, interleaved with another stream so seqs are not contiguous. */
export async function fill(log: EventLog, n: number, stream = 'sqlserver:shop.dbo.Customers', from = 0): Promise<void> {
  for (let start = from; start < from + n; start += 1000) {
    const batch: NewEvent[] = [];
    for (let i = start; i < Math.min(from + n, start + 1000); i++) {
      batch.push(shopEvent(i, stream));
      if (i % 3 === 0) batch.push(shopEvent(i, 'kafka:noise'));
    }
    await log.append(batch);
  }
}

export function handlersFor(log: EventLog, root = tempDir('eddy-ws-')) {
  const cleanups: (() => void | Promise<void>)[] = [];
  const jobs = new Jobs(() => undefined);
  const handlers = createExplorerHandlers({
    log,
    jobs,
    workspace: { root, isDemo: false, localDir: path.join(root, '.eddy'), file: { name: 'test', version: 1, samples: [] } },
    onClose: (cleanup) => void cleanups.push(cleanup),
  });
  return { handlers, jobs, root, close: async () => Promise.all(cleanups.map((cleanup) => cleanup())) };
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error('waitFor timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
