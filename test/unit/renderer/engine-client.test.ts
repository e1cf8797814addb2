// The renderer's engine client keeps the engine's latest status for listeners that subscribe after
// the host announced it (React subscribes after its first render; on a loaded machine the host's
// greeting can come first). Without this the status bar stayed on "Engine starting…" for good.
import { describe, expect, it } from 'vitest';
import type { EngineStatus } from '../../../shared/contract';
import { createClient, type Transport } from '../../../renderer/client/client-core';

function fakeTransport(): Transport & { emit(stream: string, payload: unknown): void } {
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  return {
    call: () => Promise.resolve({ ok: true, result: null }),
    subscribe(stream, listener) {
      let set = listeners.get(stream);
      if (!set) listeners.set(stream, (set = new Set()));
      set.add(listener);
      return () => set.delete(listener);
    },
    emit(stream, payload) {
      for (const listener of listeners.get(stream) ?? []) listener(payload);
    },
  };
}

const ready: EngineStatus = { state: 'ready', restarts: 0, at: 1 };
const crashed: EngineStatus = { state: 'crashed', restarts: 0, at: 2, message: 'exit 1' };

describe('engine client status', () => {
  it('hands the latest status to a listener that subscribes after it was announced', () => {
    const transport = fakeTransport();
    const client = createClient(transport);
    transport.emit('onEngineStatus', ready);
    transport.emit('onEngineStatus', crashed);
    const seen: unknown[] = [];
    const unsubscribe = client.onEngineStatus((status) => seen.push(status));
    expect(seen).toEqual([crashed]);
    transport.emit('onEngineStatus', ready);
    expect(seen).toEqual([crashed, ready]);
    unsubscribe();
    transport.emit('onEngineStatus', crashed);
    expect(seen).toEqual([crashed, ready]);
  });

  it('calls a listener only for real statuses when none was announced yet', () => {
    const transport = fakeTransport();
    const client = createClient(transport);
    const seen: unknown[] = [];
    client.onEngineStatus((status) => seen.push(status));
    expect(seen).toEqual([]);
    transport.emit('onEngineStatus', ready);
    expect(seen).toEqual([ready]);
  });

  it('does not replay other event streams', () => {
    const transport = fakeTransport();
    const client = createClient(transport);
    transport.emit('onJobProgress', { id: 'j1' });
    const seen: unknown[] = [];
    client.onJobProgress((event) => seen.push(event));
    expect(seen).toEqual([]);
  });
});
