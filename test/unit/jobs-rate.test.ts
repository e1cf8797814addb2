// A job's rate: events per second over the last few seconds, recomputed while the job is quiet so
// a live capture with nothing to read shows its rate falling to 0 instead of its last burst.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Job } from '../../shared/contract.js';
import { Jobs } from '../../main/engine/jobs.js';

describe('job rate', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('falls to 0 while a running job reports nothing, and rises again with progress', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const published: Job[] = [];
    const jobs = new Jobs((job) => published.push(job));
    let finish!: () => void;
    let progress!: (done: number) => void;
    const started = jobs.start({ kind: 'test', title: 'quiet capture', unit: 'events' }, async (handle) => {
      progress = (done) => handle.progress(done);
      await new Promise<void>((resolve) => (finish = resolve));
    });
    await vi.advanceTimersByTimeAsync(1000);
    progress(16_000);
    await vi.advanceTimersByTimeAsync(200);
    const busy = published.filter((job) => job.id === started.id).at(-1)!;
    expect(busy.rate).toBeGreaterThan(10_000);
    // Quiet: the shown rate decays, and is 0 once the window holds no progress.
    await vi.advanceTimersByTimeAsync(3000);
    const decaying = published.filter((job) => job.id === started.id).at(-1)!;
    expect(decaying.rate).toBeGreaterThan(0);
    expect(decaying.rate).toBeLessThan(busy.rate);
    await vi.advanceTimersByTimeAsync(5000);
    expect(published.filter((job) => job.id === started.id).at(-1)!.rate).toBe(0);
    const quietCount = published.length;
    await vi.advanceTimersByTimeAsync(5000);
    expect(published.length).toBe(quietCount); // nothing more to say while it stays at 0
    progress(16_100);
    await vi.advanceTimersByTimeAsync(200);
    expect(published.filter((job) => job.id === started.id).at(-1)!.rate).toBeGreaterThan(0);
    finish();
    expect((await jobs.wait(started.id)).state).toBe('succeeded');
  });
});
