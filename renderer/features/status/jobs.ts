// Long-running engine jobs (imports, exports, captures, pipeline runs) as the UI sees them: the
// list from `listJobs`, kept current by `onJobProgress` (at most 10 updates a second per job), with
// finished jobs reported once to the Output channel.
import { useEffect } from 'react';
import type { Job } from '../../../shared/contract';
import { engine } from '../../client/engine-client';
import { log, notify } from '../../app/output';
import { createStore, useStore } from '../../app/store';

export const jobs = createStore<{ list: Job[] }>({ list: [] });

const finishedSeen = new Set<string>();

function merge(job: Job): void {
  jobs.set((state) => {
    const index = state.list.findIndex((item) => item.id === job.id);
    const list = index < 0 ? [...state.list, job] : state.list.map((item, i) => (i === index ? job : item));
    return { list: list.slice(-200) };
  });
  if (job.state !== 'running' && !finishedSeen.has(job.id)) {
    finishedSeen.add(job.id);
    const text = `${job.title}: ${job.state}${job.message ? ` — ${job.message}` : ''}`;
    log(job.state === 'failed' ? 'error' : 'info', job.kind, text);
    if (job.state === 'failed') notify({ level: 'error', title: `${job.title} failed`, message: job.message ?? job.error?.message ?? 'The job failed.', hint: 'The Jobs tab of the bottom panel keeps the details.' });
  }
}

/** Subscribes once for the whole workbench; re-reads the list whenever the engine (re)starts. */
export function useJobsFeed(engineReady: boolean): void {
  useEffect(() => engine.onJobProgress(merge), []);
  useEffect(() => {
    if (!engineReady) return;
    let cancelled = false;
    engine.listJobs({}).then(
      (list) => {
        if (cancelled) return;
        for (const job of list) if (job.state !== 'running') finishedSeen.add(job.id);
        jobs.set({ list });
      },
      () => undefined,
    );
    return () => {
      cancelled = true;
    };
  }, [engineReady]);
}

export function useJobs(): Job[] {
  return useStore(jobs, (state) => state.list);
}

export function cancelJob(id: string): void {
  engine.cancelJob({ id }).then(merge, (error: unknown) => notify({ level: 'error', title: 'Could not cancel the job', message: error instanceof Error ? error.message : String(error), hint: 'It may have finished already.' }));
}

/** Resolves when the job ends (for actions that wait on their own job). */
export function whenJobEnds(id: string): Promise<Job> {
  return new Promise((resolve) => {
    const check = (): boolean => {
      const job = jobs.get().list.find((item) => item.id === id);
      if (job && job.state !== 'running') {
        resolve(job);
        return true;
      }
      return false;
    };
    if (check()) return;
    const stop = jobs.subscribe(() => {
      if (check()) stop();
    });
  });
}

/** What ending a job is called: a capture is stopped (what it read is kept), other work is cancelled. */
export function endVerb(job: Pick<Job, 'kind'>): 'Stop' | 'Cancel' {
  return job.kind.includes('capture') ? 'Stop' : 'Cancel';
}

export function jobPercent(job: Job): number | null {
  return job.total && job.total > 0 ? Math.min(100, Math.round((job.done / job.total) * 100)) : null;
}
