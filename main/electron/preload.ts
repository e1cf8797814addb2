// The sandboxed preload: exposes `window.eddy` with exactly one method per contract command and one
// `onX` subscription per event stream, built from the contract's name lists. No ipcRenderer, no
// channel names and no generic invoke reach the page, so a compromised renderer can only ask for
// what the contract offers (and main still checks the calling frame).
import { contextBridge, ipcRenderer } from 'electron';
import {
  commandNames,
  eventStreamNames,
  type CommandName,
  type EventPayloadOf,
  type EventStreamName,
  type RequestOf,
  type ResponseOf,
} from '../../shared/contract.js';
import { EVENT_CHANNEL, REQUEST_CHANNEL, type BridgeResult } from './channels.js';

/** The shape of `window.eddy`. Commands resolve to a plain result object; the renderer's client throws. */
export type DesktopBridge = {
  [K in CommandName]: (request: RequestOf<K>) => Promise<BridgeResult<ResponseOf<K>>>;
} & {
  [K in EventStreamName]: (listener: (payload: EventPayloadOf<K>) => void) => () => void;
};

type Listener = (payload: unknown) => void;

function buildBridge(): DesktopBridge {
  const listeners = new Map<string, Set<Listener>>(eventStreamNames.map((stream) => [stream, new Set<Listener>()]));
  // One IPC listener for all streams: subscriptions only touch the local sets, so a page that
  // subscribes and unsubscribes often never piles up listeners on ipcRenderer.
  ipcRenderer.on(EVENT_CHANNEL, (_event, stream: unknown, payload: unknown) => {
    if (typeof stream !== 'string') return;
    for (const listener of listeners.get(stream) ?? []) {
      try {
        listener(payload);
      } catch (error) {
        console.error(`eddy: a ${stream} listener failed`, error);
      }
    }
  });

  const bridge: Record<string, unknown> = {};
  for (const name of commandNames) {
    bridge[name] = (request: unknown): Promise<BridgeResult> => ipcRenderer.invoke(REQUEST_CHANNEL, name, request) as Promise<BridgeResult>;
  }
  for (const stream of eventStreamNames) {
    bridge[stream] = (listener: unknown): (() => void) => {
      if (typeof listener !== 'function') throw new TypeError(`${stream} expects a listener function`);
      const set = listeners.get(stream);
      // A fresh wrapper per subscription, so subscribing one function twice yields two disposers
      // that each remove only their own subscription.
      const wrapped: Listener = (payload) => (listener as Listener)(payload);
      set?.add(wrapped);
      return () => {
        set?.delete(wrapped);
      };
    };
  }
  return bridge as DesktopBridge;
}

contextBridge.exposeInMainWorld('eddy', buildBridge());
