// The typed engine API over any transport (the preload in the desktop app, the WebSocket in web
// mode). Kept free of DOM globals so it can be tested under Node.
import { commandNames, EddyError, eventStreamNames, type EngineApi, type ErrorEnvelope, type EventStreamName } from '../../shared/contract';

export type Listener = (payload: unknown) => void;
export type Envelope = { ok: true; result: unknown } | { ok: false; error: ErrorEnvelope };

export interface Transport {
  call(command: string, payload: unknown): Promise<Envelope>;
  subscribe(stream: EventStreamName, listener: Listener): () => void;
}

export function createClient(transport: Transport): EngineApi {
  const api: Record<string, unknown> = {};
  for (const name of commandNames) {
    api[name] = async (payload: unknown) => {
      const envelope = await transport.call(name, payload ?? {});
      if (envelope.ok) return envelope.result;
      throw EddyError.from(envelope.error);
    };
  }
  for (const stream of eventStreamNames) {
    api[stream] = (listener: Listener) => transport.subscribe(stream, listener);
  }
  // The engine's status is a state, not news: the host says it once when the page connects (web
  // mode) or loads (desktop), and React subscribes only after its first render, which on a busy
  // machine can come after that greeting. Keep the latest and hand it to every new listener, so
  // the status bar never waits for a change that already happened.
  let lastStatus: unknown;
  transport.subscribe('onEngineStatus', (payload) => (lastStatus = payload));
  api.onEngineStatus = (listener: Listener) => {
    const unsubscribe = transport.subscribe('onEngineStatus', listener);
    if (lastStatus !== undefined) listener(lastStatus);
    return unsubscribe;
  };
  return api as EngineApi;
}

