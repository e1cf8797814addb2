// Supervises the engine process for a host (Electron main, the web server): starts it through a
// host-specific spawner, relays requests with their own ids, fails in-flight requests when the
// engine dies, restarts it with backoff, and reports its lifecycle as `onEngineStatus`.
// It never imports `electron`: the Electron host passes a utilityProcess spawner, web mode a fork.
import { answerSecretsCall, type HostSecrets } from './host-secrets.js';
import { ENGINE_EXIT_CANNOT_OPEN as EXIT_CANNOT_OPEN, type EngineStatus, type ErrorEnvelope, type WireEvent, type WireMessage, type WireResponse } from '../../shared/contract.js';

/** The host's handle on one running engine process. */
export interface EngineChannel {
  readonly pid: number | undefined;
  send(message: WireMessage): void;
  onMessage(listener: (message: WireMessage) => void): void;
  /** Called once when the process is gone, whatever the reason. */
  onExit(listener: (code: number | null, signal: string | null) => void): void;
  kill(): void;
}

export type EngineSpawner = () => EngineChannel;

export interface SupervisorOptions {
  spawn: EngineSpawner;
  /** Delay before restart n (0-based); grows so a crash loop does not spin the CPU. */
  backoffMs?: (restart: number) => number;
  /** Give up after this many restarts within `crashWindowMs`. */
  maxRestartsInWindow?: number;
  crashWindowMs?: number;
  log?: (line: string) => void;
  /** The host's secrets: the engine asks for values by reference, never keeps them. */
  secrets?: HostSecrets;
}

interface Pending {
  resolve: (response: WireResponse) => void;
}

const defaultBackoff = (restart: number): number => Math.min(250 * 2 ** restart, 5000);

export class EngineSupervisor {
  private channel: EngineChannel | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly eventListeners = new Set<(event: WireEvent) => void>();
  private status: EngineStatus = { state: 'stopped', restarts: 0, at: Date.now() };
  private readonly recentCrashes: number[] = [];
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  /** Why the engine said it cannot open the workspace, until it exits. */
  private cannotOpen: string | undefined;
  private stopping = false;
  private readyWaiters: Array<() => void> = [];

  constructor(private readonly options: SupervisorOptions) {}

  get currentStatus(): EngineStatus {
    return this.status;
  }

  get pid(): number | undefined {
    return this.channel?.pid;
  }

  start(): void {
    this.stopping = false;
    this.launch('starting');
  }

  /** Listen to engine events and to the supervisor's own `onEngineStatus`. */
  onEvent(listener: (event: WireEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Resolves when the engine has said it is ready (or immediately if it already is). */
  whenReady(): Promise<void> {
    if (this.status.state === 'ready') return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** Send one request to the engine; never rejects: failures come back as error responses. */
  request(command: string, payload: unknown): Promise<WireResponse> {
    const id = this.nextId++;
    const channel = this.channel;
    if (!channel || this.status.state !== 'ready') {
      return Promise.resolve(unavailable(id, this.status));
    }
    return new Promise<WireResponse>((resolve) => {
      this.pending.set(id, { resolve });
      try {
        channel.send({ kind: 'request', id, command, payload });
      } catch (error) {
        this.pending.delete(id);
        resolve({
          kind: 'response',
          id,
          ok: false,
          error: { code: 'UNAVAILABLE', message: `Could not reach the engine: ${String(error)}` },
        });
      }
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const channel = this.channel;
    this.channel = undefined;
    if (channel) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 3000);
        channel.onExit(() => {
          clearTimeout(timer);
          resolve();
        });
        channel.kill();
      });
    }
    this.setStatus({ state: 'stopped', restarts: this.status.restarts });
  }

  private launch(state: 'starting' | 'restarting'): void {
    let channel: EngineChannel;
    try {
      channel = this.options.spawn();
    } catch (error) {
      this.setStatus({ state: 'crashed', message: `The engine could not start: ${String(error)}`, restarts: this.status.restarts });
      this.scheduleRestart();
      return;
    }
    this.channel = channel;
    this.setStatus({ state, pid: channel.pid, restarts: this.status.restarts });
    channel.onMessage((message) => this.handleMessage(channel, message));
    channel.onExit((code, signal) => this.handleExit(channel, code, signal));
  }

  private handleMessage(channel: EngineChannel, message: WireMessage): void {
    if (channel !== this.channel) return;
    if (message.kind === 'response') {
      const pending = this.pending.get(message.id);
      if (pending) {
        this.pending.delete(message.id);
        pending.resolve(message);
      }
    } else if (message.kind === 'host-request') {
      void this.answerHostRequest(channel, message);
    } else if (message.kind === 'event') {
      if (message.stream === 'onEngineStatus') {
        // The engine announces readiness through the same stream; the supervisor owns the state.
        const payload = message.payload as Partial<EngineStatus> | undefined;
        if (payload?.state === 'stopped' && typeof payload.message === 'string') {
          // The engine cannot open the workspace (another process holds it): said before it exits.
          this.cannotOpen = payload.message;
          return;
        }
        if (payload?.state === 'ready') {
          this.setStatus({ state: 'ready', pid: channel.pid, restarts: this.status.restarts });
          const waiters = this.readyWaiters;
          this.readyWaiters = [];
          for (const waiter of waiters) waiter();
        }
        return;
      }
      this.emit(message);
    }
  }

  private async answerHostRequest(channel: EngineChannel, message: Extract<WireMessage, { kind: 'host-request' }>): Promise<void> {
    try {
      if (message.method !== 'secrets' || !this.options.secrets) throw new Error(`this host cannot answer ${String(message.method)}`);
      const result = await answerSecretsCall(this.options.secrets, message.params);
      channel.send({ kind: 'host-response', id: message.id, ok: true, result });
    } catch (error) {
      const envelope: ErrorEnvelope =
        typeof (error as { toEnvelope?: unknown }).toEnvelope === 'function'
          ? (error as { toEnvelope: () => ErrorEnvelope }).toEnvelope()
          : { code: 'NOT_FOUND', message: error instanceof Error ? error.message : String(error) };
      channel.send({ kind: 'host-response', id: message.id, ok: false, error: envelope });
    }
  }

  private handleExit(channel: EngineChannel, code: number | null, signal: string | null): void {
    if (channel !== this.channel) return;
    this.channel = undefined;
    const reason = signal ? `killed by ${signal}` : `exited with code ${String(code)}`;
    for (const [id, pending] of this.pending) {
      pending.resolve({
        kind: 'response',
        id,
        ok: false,
        error: { code: 'UNAVAILABLE', message: `The engine stopped (${reason}) before answering; it is restarting. Try again.` },
      });
    }
    this.pending.clear();
    if (this.stopping) return;
    this.options.log?.(`engine ${reason}`);
    if (code === EXIT_CANNOT_OPEN && this.cannotOpen !== undefined) {
      // Restarting would fail the same way: stop and say why; a restart (or reload) tries again.
      this.setStatus({ state: 'stopped', message: `Eddy could not open the workspace. ${this.cannotOpen}`, restarts: this.status.restarts });
      this.cannotOpen = undefined;
      return;
    }
    this.setStatus({ state: 'crashed', message: `The engine stopped unexpectedly (${reason}). Restarting…`, restarts: this.status.restarts });
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    const now = Date.now();
    const window = this.options.crashWindowMs ?? 60_000;
    this.recentCrashes.push(now);
    while (this.recentCrashes.length > 0 && now - (this.recentCrashes[0] ?? now) > window) this.recentCrashes.shift();
    if (this.recentCrashes.length > (this.options.maxRestartsInWindow ?? 5)) {
      this.setStatus({
        state: 'stopped',
        message: `The engine crashed ${this.recentCrashes.length} times within ${Math.round(window / 1000)} s; automatic restarts are paused. See the log for the cause.`,
        restarts: this.status.restarts,
      });
      return;
    }
    const restart = this.status.restarts;
    const delay = (this.options.backoffMs ?? defaultBackoff)(restart);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.status = { ...this.status, restarts: restart + 1 };
      this.launch('restarting');
    }, delay);
  }

  private setStatus(status: Omit<EngineStatus, 'at'>): void {
    this.status = { ...status, at: Date.now() };
    this.emit({ kind: 'event', stream: 'onEngineStatus', payload: this.status });
  }

  private emit(event: WireEvent): void {
    for (const listener of this.eventListeners) {
      try {
        listener(event);
      } catch (error) {
        this.options.log?.(`event listener failed: ${String(error)}`);
      }
    }
  }
}

function unavailable(id: number, status: EngineStatus): WireResponse {
  const error: ErrorEnvelope = {
    code: 'UNAVAILABLE',
    message:
      status.state === 'stopped'
        ? 'The engine is not running.'
        : `The engine is ${status.state}; try again in a moment.`,
    details: { state: status.state },
  };
  return { kind: 'response', id, ok: false, error };
}
