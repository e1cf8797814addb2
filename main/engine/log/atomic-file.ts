// Crash-safe publication of whole files (snapshots, sealed segments, manifests) and the quarantine
// folder. Order per research/reliability.md 2.4: write a temp file in the same directory, fsync it,
// rename it over the target, fsync the directory. Renames are retried on the transient errors a
// virus scanner or indexer causes on Windows (EPERM/EBUSY/EACCES), as VS Code and graceful-fs do.
import path from 'node:path';
import { errorCode, type LogFileHandle, type LogFs } from './fs-layer.js';

/**
 * Points where a test can pause the writer (so a SIGKILL lands exactly there). Production passes
 * nothing and pays nothing.
 */
export type CrashPoint =
  | 'journal-write' // half of a journal record is written, the rest is not
  | 'journal-sync' // a record is written but not yet synced
  | 'file-write' // half of a snapshot/segment/manifest temp file is written
  | 'file-rename' // the temp file is complete and synced, not yet renamed
  | 'file-renamed' // renamed, the directory not yet synced
  | 'seal-commit' // a sealed segment file is published, the manifest does not list it yet
  | 'segment-build'; // a complete segment's database is about to be built off the event loop

export interface DurabilityHooks {
  at(point: CrashPoint, detail: string): Promise<void> | void;
}

export interface AtomicWriteOptions {
  hooks?: DurabilityHooks | undefined;
  /** Keep the replaced file as `<target>.prev` (a fallback if the new one is ever found corrupt). */
  keepPrevious?: boolean;
  /** Total time to keep retrying a refused rename (default 10 s). */
  renameRetryMs?: number;
}

let tempCounter = 0;
const TRANSIENT_RENAME = new Set(['EPERM', 'EBUSY', 'EACCES']);

export async function renameWithRetry(fs: LogFs, from: string, to: string, retryMs = 10_000): Promise<void> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      await fs.rename(from, to);
      return;
    } catch (error) {
      const code = errorCode(error);
      if (!code || !TRANSIENT_RENAME.has(code) || Date.now() - started >= retryMs) throw error;
      await sleep(Math.min(20 * attempt, 500));
    }
  }
}

/**
 * Large files are written in slices, each flushed (fdatasync) before the next. On ext4 (data=ordered)
 * a journal's fdatasync commits the file system's shared journal, which first waits for every dirty
 * data block of the transaction: with a whole 32 MB segment dirty at once, an append's sync waits for
 * all of it. Flushing slice by slice bounds that wait to one slice's writeback. The final fsync,
 * rename and directory fsync are unchanged.
 */
const SLICE_BYTES = 4 * 1024 * 1024;

async function writeInSlices(handle: LogFileHandle, chunks: Uint8Array[]): Promise<void> {
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  if (total <= 2 * SLICE_BYTES) {
    await handle.writeAt(chunks, 0);
    return;
  }
  let position = 0;
  let slice: Uint8Array[] = [];
  let sliceBytes = 0;
  const flush = async (): Promise<void> => {
    await handle.writeAt(slice, position);
    position += sliceBytes;
    slice = [];
    sliceBytes = 0;
    if (position < total) await handle.datasync();
  };
  for (const chunk of chunks) {
    for (let offset = 0; offset < chunk.length; ) {
      const take = Math.min(chunk.length - offset, SLICE_BYTES - sliceBytes);
      slice.push(chunk.subarray(offset, offset + take));
      sliceBytes += take;
      offset += take;
      if (sliceBytes === SLICE_BYTES) await flush();
    }
  }
  if (sliceBytes > 0) await flush();
}

export async function writeFileAtomic(fs: LogFs, target: string, chunks: Uint8Array[], options: AtomicWriteOptions = {}): Promise<void> {
  const dir = path.dirname(target);
  const temp = `${target}.tmp-${process.pid}-${++tempCounter}`;
  const handle = await fs.open(temp, 'w');
  let closed = false;
  try {
    if (options.hooks) {
      // Split the write so a test can kill the process with half a file on disk.
      const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
      const joined = Buffer.concat(chunks, total);
      const half = Math.floor(total / 2);
      await handle.writeAt([joined.subarray(0, half)], 0);
      await options.hooks.at('file-write', target);
      await handle.writeAt([joined.subarray(half)], half);
    } else {
      await writeInSlices(handle, chunks);
    }
    await handle.sync();
    await handle.close();
    closed = true;
    await options.hooks?.at('file-rename', target);
    if (options.keepPrevious && (await fs.sizeOf(target)) !== null) {
      await renameWithRetry(fs, target, `${target}.prev`, options.renameRetryMs);
    }
    await renameWithRetry(fs, temp, target, options.renameRetryMs);
    await options.hooks?.at('file-renamed', target);
    await fs.syncDir(dir);
  } catch (error) {
    if (!closed) await handle.close().catch(() => undefined);
    await fs.unlink(temp).catch(() => undefined);
    throw error;
  }
}

/** True for the leftovers of an interrupted `writeFileAtomic`, which are safe to delete. */
export function isTempFile(name: string): boolean {
  return /\.tmp-\d+-\d+$/.test(name);
}

/**
 * Moves a corrupt file aside into `<root>/quarantine/` (never deletes it) with a note saying why,
 * and returns where it went. Falls back to copy + delete when a rename is impossible.
 */
export async function quarantineFile(fs: LogFs, root: string, file: string, reason: string, mode: 'move' | 'copy' = 'move'): Promise<string> {
  const folder = path.join(root, 'quarantine');
  await fs.mkdir(folder);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const base = path.relative(root, file).split(path.sep).join('_');
  let destination = path.join(folder, `${stamp}-${base}`);
  for (let n = 2; (await fs.sizeOf(destination)) !== null; n++) destination = path.join(folder, `${stamp}-${n}-${base}`);
  if (mode === 'copy') {
    await fs.copyFile(file, destination);
  } else {
    try {
      await renameWithRetry(fs, file, destination);
    } catch {
      await fs.copyFile(file, destination);
      await fs.unlink(file);
    }
  }
  const note = await fs.open(`${destination}.reason.txt`, 'w');
  try {
    await note.writeAt([Buffer.from(`${reason}\nOriginal path: ${file}\nMoved: ${new Date().toISOString()}\n`)], 0);
    await note.sync();
  } finally {
    await note.close();
  }
  await fs.syncDir(folder);
  await fs.syncDir(path.dirname(file));
  return destination;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
