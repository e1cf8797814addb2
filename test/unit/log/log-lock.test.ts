// The event log's lock file: a lock whose process is gone, or whose pid now belongs to something
// that is not Eddy (a reused pid after a crash), is taken over; an unreadable one too.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openEventLog } from '../../../main/engine/log/index.js';

const dirs: string[] = [];
const logDir = (): string => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'eddy-lock-'));
  dirs.push(dir);
  mkdirSync(path.join(dir, 'log'));
  return path.join(dir, 'log');
};

describe('event log lock', () => {
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('takes over a lock left by a dead process, by a non-Eddy process on a reused pid, and an unreadable one', async () => {
    const dead = logDir();
    writeFileSync(path.join(dead, 'LOCK'), JSON.stringify({ pid: 2 ** 22 + 12345, host: os.hostname(), since: Date.now(), holder: 'the Eddy app' }));
    await (await openEventLog({ dir: dead, backgroundVerifyDelayMs: null })).close();

    const sleeper = spawn('sleep', ['30']);
    try {
      const reused = logDir();
      writeFileSync(path.join(reused, 'LOCK'), JSON.stringify({ pid: sleeper.pid, host: os.hostname(), since: Date.now(), holder: 'the Eddy app' }));
      const log = await openEventLog({ dir: reused, backgroundVerifyDelayMs: null });
      await log.close();
    } finally {
      sleeper.kill('SIGKILL');
    }

    const empty = logDir();
    writeFileSync(path.join(empty, 'LOCK'), '');
    await (await openEventLog({ dir: empty, backgroundVerifyDelayMs: null })).close();
  });

  it('refuses a lock held by a live Eddy-like process on this host, naming it and the file to delete if it is gone', async () => {
    const held = logDir();
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      writeFileSync(path.join(held, 'LOCK'), JSON.stringify({ pid: other.pid, host: os.hostname(), since: Date.now(), holder: 'an eddy command' }));
      await expect(openEventLog({ dir: held, backgroundVerifyDelayMs: null })).rejects.toMatchObject({
        code: 'CONFLICT',
        message: expect.stringMatching(new RegExp(`open in an eddy command \\(pid ${other.pid}, since .*\\(If no Eddy is running, delete .*LOCK\\.\\)$`)),
      });
    } finally {
      other.kill('SIGKILL');
    }
  });
});
