// The renderer's one way to the engine. In the desktop app it calls the preload's named methods
// (window.eddy); in web mode it speaks the same contract over the token-protected WebSocket.
// Either way the UI sees the typed `EngineApi` and errors as `EddyError` with their code.
import type { EngineApi, EngineStatus, EventStreamName, WireMessage } from '../../shared/contract';
import { createClient, type Envelope, type Listener, type Transport } from './client-core';

interface PreloadApi {
  [name: string]: (arg: unknown) => unknown;
}

function desktopTransport(preload: PreloadApi): Transport {
  return {
    call: async (command, payload) => (await preload[command]!(payload)) as Envelope,
    subscribe: (stream, listener) => preload[stream]!(listener) as () => void,
  };
}

function webTransport(): Transport {
  const params = new URLSearchParams(location.search);
  const fromUrl = params.get('token');
  if (fromUrl) {
    sessionStorage.setItem('eddy.token', fromUrl);
    // Keep the token out of the address bar, history and screenshots once the cookie is set.
    params.delete('token');
    const rest = params.toString();
    history.replaceState(null, '', `${location.pathname}${rest ? `?${rest}` : ''}${location.hash}`);
  }
  const token = fromUrl ?? sessionStorage.getItem('eddy.token') ?? '';
  const listeners = new Map<EventStreamName, Set<Listener>>();
  const pending = new Map<number, (envelope: Envelope) => void>();
  const queue: string[] = [];
  let socket: WebSocket | undefined;
  let nextId = 1;
  let retry = 0;

  const emit = (stream: EventStreamName, payload: unknown): void => {
    for (const listener of listeners.get(stream) ?? []) listener(payload);
  };
  const lost = (message: string): void => {
    for (const [, resolve] of pending) resolve({ ok: false, error: { code: 'UNAVAILABLE', message } });
    pending.clear();
  };
  const connect = (): void => {
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws?token=${encodeURIComponent(token)}`);
    socket = ws;
    ws.onopen = () => {
      retry = 0;
      for (const text of queue.splice(0)) ws.send(text);
    };
    ws.onmessage = (event) => {
      let message: WireMessage;
      try {
        message = JSON.parse(String(event.data)) as WireMessage;
      } catch {
        return;
      }
      if (message.kind === 'response') {
        const resolve = pending.get(message.id);
        pending.delete(message.id);
        resolve?.(message.ok ? { ok: true, result: message.result } : { ok: false, error: message.error });
      } else if (message.kind === 'event') {
        emit(message.stream, message.payload);
      }
    };
    ws.onclose = () => {
      socket = undefined;
      lost('The connection to the Eddy server was lost. Reconnecting…');
      const status: EngineStatus = { state: 'stopped', message: 'Disconnected from the Eddy server (is `npm run web` still running?). Reconnecting…', restarts: 0, at: Date.now() };
      emit('onEngineStatus', status);
      const delay = Math.min(500 * 2 ** retry++, 5000);
      setTimeout(connect, delay);
    };
  };
  connect();
  return {
    call(command, payload) {
      const id = nextId++;
      const text = JSON.stringify({ kind: 'request', id, command, payload });
      return new Promise<Envelope>((resolve) => {
        pending.set(id, resolve);
        if (socket?.readyState === WebSocket.OPEN) socket.send(text);
        else queue.push(text);
      });
    },
    subscribe(stream, listener) {
      let set = listeners.get(stream);
      if (!set) listeners.set(stream, (set = new Set()));
      set.add(listener);
      return () => set.delete(listener);
    },
  };
}

const preload = (globalThis as { eddy?: PreloadApi }).eddy;

export const hostKind: 'desktop' | 'web' = preload ? 'desktop' : 'web';
export const engine: EngineApi = createClient(preload ? desktopTransport(preload) : webTransport());
