// The captures an engine runs (PostgreSQL, SQL Server), each with its source state: starting,
// snapshotting, running, caught up, lagging (by N), gap detected, error, stopped. Sources update
// their entry; the registry pushes `onSourceState` (state changes at once, counters at most a few
// times a second) and implements the generic `listCaptures` and `stopCapture` commands.
import { EddyError, type HandlersFor } from '../../../shared/contract-kit.js';
import type { SourceState, cdcCommands } from '../../../shared/contracts/cdc.js';
import type { EngineContext } from '../context.js';

type Patch = Partial<Omit<SourceState, 'id' | 'kind' | 'startedAt' | 'updatedAt'>>;

export interface CaptureRegistration {
  readonly id: string;
  /** Merges a change into the capture's state and publishes it. */
  update(patch: Patch): void;
  current(): SourceState;
}

interface Entry {
  state: SourceState;
  stop?: () => Promise<void>;
  resume?: () => Promise<unknown>;
  resnapshot?: () => Promise<unknown>;
  timer?: ReturnType<typeof setTimeout>;
  lastEmit: number;
}

const COUNTER_INTERVAL_MS = 250;
const KEEP_FINISHED = 50;

export class CaptureRegistry {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly publish: (state: SourceState) => void,
    /** Whether a job still runs: a capture with a job is active exactly while its job runs. */
    private readonly jobRunning?: (jobId: string) => boolean,
  ) {}

  list(): SourceState[] {
    return [...this.entries.values()].map((entry) => ({ ...entry.state }));
  }

  get(id: string): SourceState | undefined {
    const entry = this.entries.get(id);
    return entry ? { ...entry.state } : undefined;
  }

  isActive(id: string): boolean {
    const current = this.entries.get(id)?.state;
    if (!current) return false;
    // An `error` state may be a capture retrying its connection: its job tells.
    if (current.jobId && this.jobRunning) return this.jobRunning(current.jobId);
    return current.state !== 'stopped' && current.state !== 'error' && current.state !== 'gap-detected';
  }

  /**
   * Registers a capture (replacing a finished one with the same id). `stop` ends it cleanly; it is
   * what `stopCapture` calls. Throws CONFLICT if a capture with that id is still running.
   */
  register(
    initial: { id: string; kind: SourceState['kind']; title: string; streams: string[]; connectionId?: string; jobId?: string },
    stop?: () => Promise<void>,
    /** Starts the capture again from its stored position (what `resumeCapture` calls once it has ended). */
    resume?: () => Promise<unknown>,
    /** Sets the stored position aside and starts again with a snapshot (what `resnapshotCapture` calls after a gap). */
    resnapshot?: () => Promise<unknown>,
  ): CaptureRegistration {
    if (this.isActive(initial.id)) throw new EddyError('CONFLICT', `The capture ${initial.id} is already running; stop it first.`, { id: initial.id });
    const previous = this.entries.get(initial.id);
    if (previous?.timer) clearTimeout(previous.timer);
    const now = Date.now();
    const entry: Entry = { state: { ...initial, state: 'starting', events: 0, startedAt: now, updatedAt: now, ...(resume ? { resumable: true } : {}), ...(resnapshot ? { canResnapshot: true } : {}) }, lastEmit: 0 };
    if (stop) entry.stop = stop;
    if (resume) entry.resume = resume;
    if (resnapshot) entry.resnapshot = resnapshot;
    this.entries.delete(initial.id);
    this.entries.set(initial.id, entry);
    this.prune();
    this.emit(entry);
    return {
      id: initial.id,
      update: (patch) => this.update(entry, patch),
      current: () => ({ ...entry.state }),
    };
  }

  async stop(id: string): Promise<SourceState> {
    const entry = this.entries.get(id);
    if (!entry) throw new EddyError('NOT_FOUND', `No capture with id ${id}.`);
    if (entry.stop && this.isActive(id)) await entry.stop();
    return { ...entry.state };
  }

  async resume(id: string): Promise<SourceState> {
    const entry = this.entries.get(id);
    if (!entry) throw new EddyError('NOT_FOUND', `No capture with id ${id}.`);
    if (this.isActive(id)) throw new EddyError('CONFLICT', `The capture ${id} is running.`, { id });
    if (!entry.resume) throw new EddyError('VALIDATION', `The capture ${id} cannot be resumed: start it again from its source.`, { id });
    if (entry.state.state === 'gap-detected') throw new EddyError('CONFLICT', `The capture ${id} stopped at a gap: changes it would need are gone from the source. Re-snapshot it instead.`, { id });
    await entry.resume();
    return this.get(id) ?? { ...entry.state };
  }

  async resnapshot(id: string): Promise<SourceState> {
    const entry = this.entries.get(id);
    if (!entry) throw new EddyError('NOT_FOUND', `No capture with id ${id}.`);
    if (this.isActive(id)) throw new EddyError('CONFLICT', `The capture ${id} is running; stop it before re-snapshotting.`, { id });
    if (!entry.resnapshot) throw new EddyError('VALIDATION', `The capture ${id} cannot be re-snapshotted from here: start it again from its source with a snapshot.`, { id });
    await entry.resnapshot();
    return this.get(id) ?? { ...entry.state };
  }

  async stopAll(): Promise<void> {
    await Promise.allSettled([...this.entries.keys()].filter((id) => this.isActive(id)).map((id) => this.stop(id)));
  }

  private update(entry: Entry, patch: Patch): void {
    const changedState = patch.state !== undefined && patch.state !== entry.state.state;
    const changedMessage = patch.message !== undefined && patch.message !== entry.state.message;
    const next: SourceState = { ...entry.state, ...patch, updatedAt: Date.now() };
    // A gap is only cleared by a new run; an error only while the capture is failing.
    if (patch.state && patch.state !== 'gap-detected' && patch.state !== 'stopped') delete next.gap;
    if (patch.state && patch.state !== 'error' && patch.state !== 'gap-detected') delete next.error;
    entry.state = next;
    if (changedState || changedMessage || patch.gap || patch.error) this.emit(entry);
    else this.emitSoon(entry);
  }

  private emit(entry: Entry): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.lastEmit = Date.now();
    this.publish({ ...entry.state });
  }

  private emitSoon(entry: Entry): void {
    if (entry.timer) return;
    const wait = Math.max(0, COUNTER_INTERVAL_MS - (Date.now() - entry.lastEmit));
    entry.timer = setTimeout(() => this.emit(entry), wait);
    entry.timer.unref?.();
  }

  private prune(): void {
    const finished = [...this.entries.entries()].filter(([id]) => !this.isActive(id));
    for (const [id, entry] of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) {
      if (entry.timer) clearTimeout(entry.timer);
      this.entries.delete(id);
    }
  }
}

const registries = new WeakMap<object, CaptureRegistry>();

/** The engine's one registry (created on first use; captures are stopped when the engine closes). */
export function captureRegistry(context: Pick<EngineContext, 'emit' | 'onClose' | 'jobs'>): CaptureRegistry {
  let registry = registries.get(context);
  if (!registry) {
    const created = new CaptureRegistry(
      (state) => context.emit('onSourceState', state),
      (jobId) => {
        try {
          return context.jobs.get(jobId).state === 'running';
        } catch {
          return false;
        }
      },
    );
    registries.set(context, created);
    context.onClose(() => created.stopAll());
    registry = created;
  }
  return registry;
}

/** The generic capture commands, shared by every source kind. */
export function createCaptureHandlers(context: EngineContext): Pick<HandlersFor<typeof cdcCommands>, 'listCaptures' | 'stopCapture' | 'resumeCapture' | 'resnapshotCapture'> {
  return {
    listCaptures: async () => captureRegistry(context).list(),
    stopCapture: async ({ id }) => captureRegistry(context).stop(id),
    resumeCapture: async ({ id }) => captureRegistry(context).resume(id),
    resnapshotCapture: async ({ id }) => captureRegistry(context).resnapshot(id),
  };
}
