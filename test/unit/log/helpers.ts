// Shared helpers for the event log tests: temp folders, Debezium-shaped events, and a file layer
// that fails on demand (a full disk, a rename refused by a scanner).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { NewEvent, StoredEvent } from '../../../shared/events.js';
import { nodeFs, type EventLog, type LogFileHandle, type LogFs } from '../../../main/engine/log/index.js';

const made: string[] = [];

export function tempDir(prefix = 'eddy-log-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function orderEvent(i: number, stream = 'sqlserver:shop.dbo.Orders', extra: Partial<NewEvent> = {}): NewEvent {
  const ts = 1_700_000_000_000 + i * 1000;
  return {
    stream,
    position: `${stream}@${i}`,
    key: { id: i },
    value: {
      before: null,
      after: { id: i, customer_id: i % 97, status: 'NEW', amount: 12.5 + i, note: 'n'.repeat(40) },
      source: { connector: 'sqlserver', db: 'shop', schema: 'dbo', table: 'Orders', ts_ms: ts },
      op: 'c',
      ts_ms: ts,
    },
    headers: [],
    op: 'c',
    eventTime: ts,
    ingestTime: ts + 5,
    ...extra,
  };
}

export function range(from: number, to: number, stream?: string): NewEvent[] {
  return Array.from({ length: to - from }, (_, i) => orderEvent(from + i, stream));
}

/** Every event of the log, in log order. */
export async function replayAll(log: EventLog): Promise<StoredEvent[]> {
  const all: StoredEvent[] = [];
  for await (const batch of log.replay()) all.push(...batch);
  return all;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error('waitFor timed out');
    await sleep(10);
  }
}

function fsError(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

/** A LogFs over the real one that can be told to fail writes (ENOSPC) or renames (EPERM). */
export class FaultyFs implements LogFs {
  diskFull = false;
  renameFailures = 0;
  writes = 0;

  private check(what: string): void {
    if (this.diskFull) throw fsError('ENOSPC', `no space left on device, ${what}`);
  }

  async open(file: string, flags: string | number): Promise<LogFileHandle> {
    if (flags !== 'r') this.check(`open '${file}'`);
    const inner = await nodeFs.open(file, flags);
    return {
      writeAt: async (buffers, position) => {
        this.writes++;
        if (this.diskFull) {
          // A real full disk often takes part of the write first.
          const first = buffers[0];
          if (first && first.length > 1) await inner.writeAt([first.subarray(0, first.length >> 1)], position);
          this.check(`write '${file}'`);
        }
        await inner.writeAt(buffers, position);
      },
      readAt: (buffer, position) => inner.readAt(buffer, position),
      datasync: async () => {
        this.check('fdatasync');
        await inner.datasync();
      },
      sync: async () => {
        this.check('fsync');
        await inner.sync();
      },
      truncate: (length) => inner.truncate(length),
      size: () => inner.size(),
      close: () => inner.close(),
    };
  }

  readFile = (file: string): Promise<Buffer> => nodeFs.readFile(file);
  async rename(from: string, to: string): Promise<void> {
    if (this.renameFailures > 0) {
      this.renameFailures--;
      throw fsError('EPERM', `operation not permitted, rename '${from}'`);
    }
    await nodeFs.rename(from, to);
  }
  copyFile = async (from: string, to: string): Promise<void> => {
    this.check('copyfile');
    await nodeFs.copyFile(from, to);
  };
  unlink = (file: string): Promise<void> => nodeFs.unlink(file);
  mkdir = (dir: string): Promise<void> => nodeFs.mkdir(dir);
  readdir = (dir: string): Promise<string[]> => nodeFs.readdir(dir);
  sizeOf = (file: string): Promise<number | null> => nodeFs.sizeOf(file);
  syncDir = (dir: string): Promise<void> => nodeFs.syncDir(dir);
}
