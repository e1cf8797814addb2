// Long-running work in the engine (captures, replays, bulk produce, exports): each job gets an
// AbortSignal for cancel, reports progress that is coalesced to at most 10 updates a second, and
// ends in exactly one of succeeded, failed (with a typed error) or cancelled.
import { EddyError, type Job } from '../../shared/contract.js';
import { toEnvelope } from './dispatch.js';

export interface JobHandle {
  readonly id: string;
  readonly signal: AbortSignal;
  /** Report progress: units done (absolute), optional total and a short message. */
  progress(done: number, options?: { total?: number | null; message?: string }): void;
}

export interface JobSpec {
  kind: string;
  title: string;
  unit: string;
  total?: number | null;
  /** Event-log streams the job writes. */
  streams?: string[];
}

const UPDATE_INTERVAL_MS = 100;
const RATE_WINDOW_MS = 5000;
/** A running job that reported nothing for this long has its rate recomputed (it decays to 0 while idle). */
const IDLE_RATE_MS = 1000;
const KEEP_FINISHED = 100;

export class Jobs {
  private readonly jobs = new Map<string, { job: Job; controller: AbortController; samples: { at: number; done: number }[]; timer?: ReturnType<typeof setTimeout>; done: Promise<Job> }>();
  private nextId = 1;

  constructor(private readonly publish: (job: Job) => void) {}

  list(): Job[] {
    return [...this.jobs.values()].map((entry) => ({ ...entry.job }));
  }

  get(id: string): Job {
    const entry = this.jobs.get(id);
    if (!entry) throw new EddyError('NOT_FOUND', `No job with id ${id}.`);
    return { ...entry.job };
  }

  /** Resolves with the job's final state (never rejects). */
  wait(id: string): Promise<Job> {
    const entry = this.jobs.get(id);
    if (!entry) return Promise.reject(new EddyError('NOT_FOUND', `No job with id ${id}.`));
    return entry.done;
  }

  cancel(id: string): Job {
    const entry = this.jobs.get(id);
    if (!entry) throw new EddyError('NOT_FOUND', `No job with id ${id}.`);
    if (entry.job.state === 'running') entry.controller.abort(new EddyError('CANCELLED', 'Cancelled by the user.'));
    return { ...entry.job };
  }

  /** Starts `work` in the background and returns its job at once. */
  start(spec: JobSpec, work: (handle: JobHandle) => Promise<string | void>): Job {
    const id = `job-${this.nextId++}`;
    const controller = new AbortController();
    const job: Job = { id, kind: spec.kind, title: spec.title, state: 'running', done: 0, total: spec.total ?? null, unit: spec.unit, rate: 0, startedAt: Date.now(), ...(spec.streams ? { streams: spec.streams } : {}) };
    const entry = { job, controller, samples: [{ at: job.startedAt, done: 0 }], timer: undefined as ReturnType<typeof setTimeout> | undefined, done: undefined as unknown as Promise<Job> };
    const flush = (): void => {
      entry.timer = undefined;
      this.publish({ ...job });
    };
    const handle: JobHandle = {
      id,
      signal: controller.signal,
      progress: (done, options = {}) => {
        job.done = done;
        if (options.total !== undefined) job.total = options.total;
        if (options.message !== undefined) job.message = options.message;
        sample(Date.now());
        entry.timer ??= setTimeout(flush, UPDATE_INTERVAL_MS);
      },
    };
    const sample = (now: number): void => {
      entry.samples.push({ at: now, done: job.done });
      while (entry.samples.length > 2 && now - entry.samples[0]!.at > RATE_WINDOW_MS) entry.samples.shift();
      const first = entry.samples[0]!;
      job.rate = now > first.at ? ((job.done - first.done) * 1000) / (now - first.at) : 0;
    };
    // A quiet job (a live capture with nothing to read) must not keep showing its last burst's rate.
    const idle = setInterval(() => {
      const now = Date.now();
      if (job.rate === 0 || now - entry.samples[entry.samples.length - 1]!.at < IDLE_RATE_MS) return;
      sample(now);
      if (now - entry.samples[0]!.at > RATE_WINDOW_MS && entry.samples[0]!.done === job.done) job.rate = 0;
      this.publish({ ...job });
    }, IDLE_RATE_MS);
    idle.unref?.();
    this.jobs.set(id, entry);
    this.prune();
    entry.done = (async () => {
      try {
        const message = await work(handle);
        job.state = controller.signal.aborted ? 'cancelled' : 'succeeded';
        if (message) job.message = message;
      } catch (error) {
        if (controller.signal.aborted) {
          job.state = 'cancelled';
          job.message = 'Cancelled.';
        } else {
          job.state = 'failed';
          job.error = toEnvelope(error);
          job.message = job.error.message;
        }
      }
      clearInterval(idle);
      job.endedAt = Date.now();
      job.rate = job.endedAt > job.startedAt ? (job.done * 1000) / (job.endedAt - job.startedAt) : 0;
      if (entry.timer) clearTimeout(entry.timer);
      this.publish({ ...job });
      return { ...job };
    })();
    this.publish({ ...job });
    return { ...job };
  }

  cancelAll(): void {
    for (const entry of this.jobs.values()) if (entry.job.state === 'running') entry.controller.abort(new EddyError('CANCELLED', 'The engine is shutting down.'));
  }

  private prune(): void {
    const finished = [...this.jobs.values()].filter((entry) => entry.job.state !== 'running');
    for (const entry of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) this.jobs.delete(entry.job.id);
  }
}
