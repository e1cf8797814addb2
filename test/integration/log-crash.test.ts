// Crash tests of the event log (issue 3, item 6): a child process appends acknowledged batches
// and is killed with SIGKILL at 20 points, some at random moments and some paused exactly inside
// a journal write, a journal sync, a snapshot or segment write, before and after a rename, and
// between publishing a sealed segment and listing it. After every kill the log must open, hold
// every acknowledged event exactly once, and pass its integrity check. Then torn and bit-flipped
// journal tails at random offsets must never prevent start-up or lose an acknowledged event.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { openEventLog } from '../../main/engine/log/index.js';
import { encodeHeader } from '../../main/engine/log/journal.js';
import { batchEvents, CRASH_SEGMENT_BYTES, CRASH_SNAPSHOT_BYTES } from '../fixtures/log/crash-batches.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let childScript = '';
let workDir = '';

beforeAll(async () => {
  // Bundled into node_modules/.cache so its bare imports (sql.js) resolve from the repository.
  const outDir = path.join(root, 'node_modules', '.cache', 'eddy-tests');
  mkdirSync(outDir, { recursive: true });
  childScript = path.join(outDir, `crash-child-${process.pid}.mjs`);
  await build({
    entryPoints: [path.join(root, 'test/fixtures/log/crash-child.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile: childScript,
    logLevel: 'warning',
  });
  workDir = mkdtempSync(path.join(os.tmpdir(), 'eddy-crash-'));
});

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
  rmSync(childScript, { force: true });
});

interface Run {
  acked: number[];
  paused: string | null;
  exit: string;
}

/** Runs the child until it pauses at `point` (then kills it) or until `killAfterMs` after READY. */
function runChild(dir: string, firstBatch: number, plan: { point?: string; nth?: number; killAfterMs: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, EDDY_CRASH_POINT: plan.point ? `${plan.point}:${plan.nth}` : '' };
    const child = spawn(process.execPath, [childScript, dir, String(firstBatch)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: number[] = [];
    let paused: string | null = null;
    let buffer = '';
    let stderr = '';
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    const kill = (): void => {
      if (killTimer) clearTimeout(killTimer);
      child.kill('SIGKILL');
    };
    // A safety net: a pause point never reached is replaced by a timed kill.
    const guard = setTimeout(kill, plan.killAfterMs + 4000);
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline;
      while ((newline = buffer.indexOf('\n')) !== -1) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.startsWith('ACK ')) acked.push(Number(line.slice(4)));
        else if (line === 'READY' && !plan.point) killTimer = setTimeout(kill, plan.killAfterMs);
        else if (line.startsWith('PAUSED ')) {
          paused = line.slice(7);
          // Let the other in-flight work (if any) run on a little, then pull the plug.
          killTimer = setTimeout(kill, 5 + Math.random() * 30);
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL') reject(new Error(`child exited by itself (${code}): ${stderr}`));
      else resolve({ acked, paused, exit: String(signal) });
    });
  });
}

async function verify(dir: string, ackedBatches: Set<number>): Promise<{ events: number; problems: string[] }> {
  const log = await openEventLog({ dir, segmentBytes: CRASH_SEGMENT_BYTES, snapshotBytes: CRASH_SNAPSHOT_BYTES, backgroundVerifyDelayMs: null });
  try {
    const counts = new Map<string, number>();
    let events = 0;
    for await (const batch of log.replay({ batchSize: 5000 })) {
      for (const event of batch) counts.set(`${event.stream}|${event.position}`, (counts.get(`${event.stream}|${event.position}`) ?? 0) + 1);
      events += batch.length;
    }
    for (const [key, n] of counts) if (n !== 1) throw new Error(`${key} is stored ${n} times`);
    for (const batch of ackedBatches) {
      for (const event of batchEvents(batch)) {
        if (!counts.has(`${event.stream}|${event.position}`)) throw new Error(`acknowledged event ${event.position} (batch ${batch}) is missing`);
      }
    }
    const integrity = await log.checkIntegrity();
    expect(integrity.issues, JSON.stringify(log.problems())).toEqual([]);
    expect(integrity.checked.events).toBe(events);
    const problems = log.problems().map((p) => `${p.severity}: ${p.message}`);
    expect(problems.filter((p) => !p.startsWith('info'))).toEqual([]);
    return { events, problems };
  } finally {
    await log.close();
  }
}

/**
 * The journal the log appends to next: the newest generation of the newest segment, unless the
 * segment's snapshot has already moved on to a generation that has no file yet.
 */
function liveJournal(active: string): string | null {
  const names = readdirSync(active).filter((n) => n.endsWith('.journal')).sort();
  const newest = names[names.length - 1];
  if (!newest) return null;
  const [id, gen] = newest.replace('.journal', '').split('-').map(Number) as [number, number];
  const snapshot = path.join(active, `${String(id).padStart(8, '0')}.snapshot`);
  try {
    const file = readFileSync(snapshot);
    const header = JSON.parse(file.subarray(16, 16 + file.readUInt32LE(8)).toString()) as { journalGen: number };
    if (header.journalGen > gen) return null;
  } catch {
    // No snapshot: every journal generation is live.
  }
  return path.join(active, newest);
}

const POINTS = ['journal-write', 'journal-sync', 'file-write', 'file-rename', 'file-renamed', 'seal-commit'];

describe('event log crash safety (SIGKILL)', () => {
  const dir = (): string => path.join(workDir, 'log');
  const acked = new Set<number>();

  it('keeps every acknowledged event exactly once across 20 kills at random points', async () => {
    const pausedAt: string[] = [];
    for (let round = 0; round < 20; round++) {
      // Six plain random-time kills, then two rounds of each pause point, at a random occurrence.
      const plan =
        round < 6
          ? { killAfterMs: 50 + Math.floor(Math.random() * 400) }
          : (() => {
              const point = POINTS[(round - 6) % POINTS.length]!;
              // Journal writes happen every batch; files only at snapshots and seals.
              const nth = 1 + Math.floor(Math.random() * (point.startsWith('journal') ? 8 : 3));
              return { point, nth, killAfterMs: 600 };
            })();
      const t0 = Date.now();
      const run = await runChild(dir(), (round + 1) * 100_000, plan);
      const t1 = Date.now();
      for (const batch of run.acked) acked.add(batch);
      if (run.paused) pausedAt.push(run.paused);
      await verify(dir(), acked);
      if (process.env.EDDY_CRASH_TIMING) console.log(`round ${round} ${JSON.stringify(plan)} paused=${run.paused} acks=${run.acked.length} child=${t1 - t0}ms verify=${Date.now() - t1}ms`);
    }
    expect(acked.size).toBeGreaterThanOrEqual(40);
    // Most pause points must actually have been reached (not merely timed out).
    expect(new Set(pausedAt).size).toBeGreaterThanOrEqual(5);
  }, 120_000);

  it('lets one process at a time write: a second opener is refused while the writer lives, and takes over once it is killed', async () => {
    const own = path.join(workDir, 'locked-log');
    const child = spawn(process.execPath, [childScript, own, '9000000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('ACK ')) resolve(); // ready, and at least one batch durable
        });
        child.on('exit', (code) => reject(new Error(`child exited (${code}) before it was ready`)));
      });
      // The child appends away; this process may neither open nor recover the log meanwhile.
      const refused = await openEventLog({ dir: own, backgroundVerifyDelayMs: null }).then(
        async (log) => {
          await log.close();
          return null;
        },
        (error: unknown) => error as { code?: string; message?: string },
      );
      expect(refused?.code).toBe('CONFLICT');
      expect(refused?.message).toContain(`pid ${child.pid}`);
      expect(refused?.message).toMatch(/Only one process can write to it at a time/);
      // Opening twice in one process is refused as well.
      const first = await openEventLog({ dir: path.join(workDir, 'same-process'), backgroundVerifyDelayMs: null });
      try {
        await expect(openEventLog({ dir: path.join(workDir, 'same-process'), backgroundVerifyDelayMs: null })).rejects.toMatchObject({ code: 'CONFLICT' });
      } finally {
        await first.close();
      }
      const again = await openEventLog({ dir: path.join(workDir, 'same-process'), backgroundVerifyDelayMs: null });
      await again.close();
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    // The writer died without releasing the lock: the next opener takes it over and recovers.
    const log = await openEventLog({ dir: own, segmentBytes: CRASH_SEGMENT_BYTES, snapshotBytes: CRASH_SNAPSHOT_BYTES, backgroundVerifyDelayMs: null });
    try {
      expect((await log.streams()).reduce((sum, entry) => sum + entry.count, 0)).toBeGreaterThan(0);
    } finally {
      await log.close();
    }
  }, 60_000);

  it('starts after torn or bit-flipped journal tails at random offsets, losing no acknowledged event', async () => {
    for (let round = 0; round < 6; round++) {
      const run = await runChild(dir(), (round + 50) * 100_000, { killAfterMs: 40 + Math.floor(Math.random() * 150) });
      for (const batch of run.acked) acked.add(batch);
      const newest = liveJournal(path.join(dir(), 'active'));
      if (newest) {
        // A record that was being written when the power went: torn at a random offset, or
        // complete with a flipped bit, or garbage, or zeros from a preallocated block.
        const payload = Buffer.from(JSON.stringify(batchEvents(999_999 + round)));
        const record = Buffer.concat([encodeHeader(1, payload), payload]);
        const kind = round % 4;
        let tail: Buffer;
        if (kind === 0) tail = record.subarray(0, 1 + Math.floor(Math.random() * (record.length - 1)));
        else if (kind === 1) {
          tail = Buffer.from(record);
          tail[Math.floor(Math.random() * tail.length)]! ^= 1 << Math.floor(Math.random() * 8);
        } else if (kind === 2) tail = Buffer.from(Array.from({ length: 1 + Math.floor(Math.random() * 4000) }, () => Math.floor(Math.random() * 256)));
        else tail = Buffer.alloc(1 + Math.floor(Math.random() * 8192));
        appendFileSync(newest, tail);
        expect(readFileSync(newest).length).toBeGreaterThan(tail.length - 1);
      }
      const { problems } = await verify(dir(), acked);
      if (newest) expect(problems.some((p) => p.includes('incomplete final journal record'))).toBe(true);
    }
  }, 60_000);
});
