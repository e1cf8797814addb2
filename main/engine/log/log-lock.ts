// One writer per event log, across processes: the app's engine and `eddy capture` on the same
// workspace would otherwise both append, each deleting or overwriting the other's journals and
// snapshots and handing out the same seqs (events lost for good once a source confirmed them).
//
// The lock is a file, `LOCK`, created exclusively ('wx') with the owner's pid, host and start
// time. A second opener reads it and refuses with who holds it. A lock left by a process that
// died (a crash, SIGKILL) is taken over: its pid is gone (or a zombie) on this host. A lock from
// another host (a workspace on a shared drive) cannot be checked and is refused with the path to
// delete if that host is known to be done.
import os from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { EddyError } from '../../../shared/contract.js';
import type { LogFs } from './fs-layer.js';

export interface LockOwner {
  pid: number;
  host: string;
  /** ms since the epoch. */
  since: number;
  /** What holds it ("Eddy engine", "eddy capture"), for the message. */
  holder: string;
}

/** Whether a process with this pid runs on this host (a zombie does not count). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform === 'linux') {
    try {
      // "pid (comm) S ...": the state letter follows the last ')'.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * Whether the process could be an Eddy (a Node or Electron process): after a crash its pid may
 * have been reused by something else, whose lock is then stale. Unknown (not Linux): assume it is.
 */
function couldBeEddy(pid: number): boolean {
  if (process.platform !== 'linux') return true;
  try {
    return /node|electron|eddy/i.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return true;
  }
}

/** Paths this process holds, so a second open in the same process is refused too. */
const heldHere = new Set<string>();

function describeOwner(owner: LockOwner): string {
  const since = new Date(owner.since);
  const when = Number.isFinite(since.getTime()) ? `, since ${since.toISOString().replace('T', ' ').slice(0, 19)} UTC` : '';
  return `${owner.holder || 'an Eddy process'} (pid ${owner.pid}${owner.host !== os.hostname() ? ` on ${owner.host}` : ''}${when})`;
}

async function readOwner(fs: LogFs, file: string): Promise<LockOwner | null> {
  try {
    const parsed = JSON.parse((await fs.readFile(file)).toString('utf8')) as Partial<LockOwner>;
    return { pid: Number(parsed.pid), host: String(parsed.host ?? ''), since: Number(parsed.since), holder: String(parsed.holder ?? '') };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // Unreadable or half-written (a crash between create and write): nobody can be shown as owner.
    return { pid: NaN, host: os.hostname(), since: NaN, holder: '' };
  }
}

/**
 * Takes the log's lock or throws CONFLICT naming the process that has it. Resolves to the release
 * function (idempotent).
 */
export async function acquireLogLock(fs: LogFs, lockFile: string, holder: string): Promise<() => Promise<void>> {
  // One spelling per file, so a relative and an absolute path to the same log are one lock here.
  const file = path.resolve(lockFile);
  if (heldHere.has(file)) {
    throw new EddyError('CONFLICT', `This event log is already open in this process; close it before opening it again.`, { lock: file });
  }
  const owner: LockOwner = { pid: process.pid, host: os.hostname(), since: Date.now(), holder };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const handle = await fs.open(file, 'wx');
      try {
        await handle.writeAt([Buffer.from(JSON.stringify(owner))], 0);
        await handle.sync();
      } finally {
        await handle.close();
      }
      heldHere.add(file);
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        heldHere.delete(file);
        await fs.unlink(file).catch(() => undefined);
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let current = await readOwner(fs, file);
    if (current !== null && Number.isNaN(current.pid)) {
      // Being written this instant, or left empty by a crash right after it was created: look again.
      await new Promise((resolve) => setTimeout(resolve, 200));
      current = await readOwner(fs, file);
    }
    if (current === null) continue; // released meanwhile: try again
    const sameHost = current.host === os.hostname();
    const stale = sameHost && (Number.isNaN(current.pid) || (current.pid !== process.pid && (!processAlive(current.pid) || !couldBeEddy(current.pid))));
    const ownPidLeftover = sameHost && current.pid === process.pid; // this process opened it before and never closed it (not held: checked above)
    if (stale || ownPidLeftover) {
      await fs.unlink(file).catch(() => undefined);
      continue;
    }
    throw new EddyError(
      'CONFLICT',
      sameHost
        ? `This workspace's event log is open in ${describeOwner(current)}. Only one process can write to it at a time: capture from that app (or stop that command) first, or use another workspace. (If no Eddy is running, delete ${file}.)`
        : `This workspace's event log is open in ${describeOwner(current)}. Only one process can write to it at a time. If that process is certainly gone, delete ${file}.`,
      { lock: file, pid: current.pid, host: current.host },
    );
  }
  throw new EddyError('CONFLICT', `Could not take the event log's lock (${file}): it kept changing hands.`, { lock: file });
}
