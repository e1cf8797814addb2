// A minimal contract client over web mode's WebSocket, for tests that speak the wire protocol
// directly (malformed requests, foreign origins) rather than through the UI.
import WebSocket from 'ws';
import type { WireEvent, WireResponse } from '../../shared/contract.js';

export interface TestClient {
  send(raw: unknown): void;
  request(command: string, payload?: unknown): Promise<WireResponse>;
  events: WireEvent[];
  waitForEvent(predicate: (event: WireEvent) => boolean, timeoutMs?: number): Promise<WireEvent>;
  close(): void;
}

export function connectRaw(url: string, headers: Record<string, string>): Promise<{ ok: true; ws: WebSocket } | { ok: false; status: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve({ ok: true, ws }));
    ws.once('unexpected-response', (_request, response) => resolve({ ok: false, status: response.statusCode ?? 0 }));
    ws.once('error', () => resolve({ ok: false, status: 0 }));
  });
}

export async function connect(origin: string, token: string): Promise<TestClient> {
  const result = await connectRaw(`${origin.replace('http', 'ws')}/ws?token=${token}`, { origin });
  if (!result.ok) throw new Error(`WebSocket refused with HTTP ${result.status}`);
  const ws = result.ws;
  const events: WireEvent[] = [];
  const waiters = new Map<number, (response: WireResponse) => void>();
  const eventWaiters = new Set<{ predicate: (event: WireEvent) => boolean; resolve: (event: WireEvent) => void }>();
  let nextId = 1000;
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString()) as WireResponse | WireEvent;
    if (message.kind === 'response') {
      waiters.get(message.id)?.(message);
      waiters.delete(message.id);
    } else {
      events.push(message);
      for (const waiter of eventWaiters) {
        if (waiter.predicate(message)) {
          eventWaiters.delete(waiter);
          waiter.resolve(message);
        }
      }
    }
  });
  return {
    events,
    send: (raw) => ws.send(typeof raw === 'string' ? raw : JSON.stringify(raw)),
    request(command, payload = {}) {
      const id = nextId++;
      return new Promise((resolve) => {
        waiters.set(id, resolve);
        ws.send(JSON.stringify({ kind: 'request', id, command, payload }));
      });
    },
    waitForEvent(predicate, timeoutMs = 30_000) {
      const seen = events.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = { predicate, resolve };
        eventWaiters.add(waiter);
        setTimeout(() => {
          if (eventWaiters.delete(waiter)) reject(new Error('timed out waiting for an event'));
        }, timeoutMs);
      });
    },
    close: () => ws.close(),
  };
}
