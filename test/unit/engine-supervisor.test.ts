// The engine supervisor with a fake process: readiness, request relay, failure of in-flight
// requests when the engine dies, restart with backoff, and giving up on a crash loop.
import { describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { ENGINE_EXIT_CANNOT_OPEN, type WireEvent, type WireMessage } from '../../shared/contract.js';
import { EngineSupervisor, type EngineChannel } from '../../main/host/engine-supervisor.js';

class FakeEngine extends EventEmitter implements EngineChannel {
  static spawned: FakeEngine[] = [];
  static nextPid = 100;
  readonly pid = FakeEngine.nextPid++;
  sent: WireMessage[] = [];
  killed = false;
  constructor(private readonly answer: boolean) {
    super();
    FakeEngine.spawned.push(this);
    setTimeout(() => this.emit('message', { kind: 'event', stream: 'onEngineStatus', payload: { state: 'ready' } }), 1);
  }
  send(message: WireMessage): void {
    this.sent.push(message);
    if (this.answer && message.kind === 'request') {
      setTimeout(() => this.emit('message', { kind: 'response', id: message.id, ok: true, result: { echo: message.command, pid: this.pid } }), 1);
    }
  }
  onMessage(listener: (message: WireMessage) => void): void {
    this.on('message', listener);
  }
  onExit(listener: (code: number | null, signal: string | null) => void): void {
    this.once('exit', listener);
  }
  kill(): void {
    this.killed = true;
    this.emit('exit', null, 'SIGTERM');
  }
  crash(): void {
    this.emit('exit', null, 'SIGKILL');
  }
}

function states(events: WireEvent[]): string[] {
  return events.filter((event) => event.stream === 'onEngineStatus').map((event) => (event.payload as { state: string }).state);
}

describe('EngineSupervisor', () => {
  it('relays requests once the engine is ready', async () => {
    const supervisor = new EngineSupervisor({ spawn: () => new FakeEngine(true), backoffMs: () => 1 });
    const early = await supervisor.request('getAppInfo', {});
    expect(early).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    supervisor.start();
    await supervisor.whenReady();
    const response = await supervisor.request('getAppInfo', {});
    expect(response).toMatchObject({ ok: true, result: { echo: 'getAppInfo' } });
    await supervisor.stop();
  });

  it('fails in-flight requests when the engine dies, reports it, and restarts it', async () => {
    const seen: WireEvent[] = [];
    const supervisor = new EngineSupervisor({ spawn: () => new FakeEngine(false), backoffMs: () => 5 });
    supervisor.onEvent((event) => seen.push(event));
    supervisor.start();
    await supervisor.whenReady();
    const first = FakeEngine.spawned.at(-1)!;
    const inFlight = supervisor.request('listStreams', {});
    first.crash();
    const response = await inFlight;
    expect(response).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    if (!response.ok) expect(response.error.message).toMatch(/SIGKILL/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(states(seen)).toEqual(['starting', 'ready', 'crashed', 'restarting', 'ready']);
    expect(supervisor.currentStatus.restarts).toBe(1);
    expect(supervisor.pid).not.toBe(first.pid);
    await supervisor.stop();
    expect(FakeEngine.spawned.at(-1)!.killed).toBe(true);
  });

  it('stops restarting after a crash loop and says so', async () => {
    let spawned = 0;
    const supervisor = new EngineSupervisor({
      spawn: () => {
        spawned++;
        const engine = new FakeEngine(false);
        setTimeout(() => engine.crash(), 3);
        return engine;
      },
      backoffMs: () => 1,
      maxRestartsInWindow: 3,
    });
    supervisor.start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(spawned).toBe(4);
    expect(supervisor.currentStatus.state).toBe('stopped');
    expect(supervisor.currentStatus.message).toMatch(/crashed 4 times/);
  });

  it('stops without restarting when the engine cannot open the workspace (another process holds it), and says why', async () => {
    let spawned = 0;
    const supervisor = new EngineSupervisor({
      spawn: () => {
        spawned++;
        const engine = new FakeEngine(false);
        // What engine-process does on a CONFLICT while opening: the reason, then exit 78.
        engine.removeAllListeners();
        setTimeout(() => {
          engine.emit('message', { kind: 'event', stream: 'onEngineStatus', payload: { state: 'stopped', message: "This workspace's event log is open in the Eddy app (pid 4242)." } });
          engine.emit('exit', ENGINE_EXIT_CANNOT_OPEN, null);
        }, 2);
        return engine;
      },
      backoffMs: () => 1,
    });
    supervisor.start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(spawned).toBe(1);
    expect(supervisor.currentStatus.state).toBe('stopped');
    expect(supervisor.currentStatus.message).toBe("Eddy could not open the workspace. This workspace's event log is open in the Eddy app (pid 4242).");
  });

  it('reports a spawn failure as a crash instead of throwing', async () => {
    let attempts = 0;
    const supervisor = new EngineSupervisor({
      spawn: () => {
        attempts++;
        if (attempts === 1) throw new Error('ENOENT engine-process.mjs');
        return new FakeEngine(true);
      },
      backoffMs: () => 1,
    });
    supervisor.start();
    await supervisor.whenReady();
    expect(attempts).toBe(2);
    await supervisor.stop();
  });
});
