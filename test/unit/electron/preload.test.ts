// The preload's exposed surface is exactly the contract: one method per command, one `onX` per event
// stream, nothing else (no ipcRenderer, no channel names, no generic invoke).
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { commandNames, eventStreamNames } from '../../../shared/contract.js';
import { EVENT_CHANNEL, REQUEST_CHANNEL } from '../../../main/electron/channels.js';
import { electronModule, exposed, rendererListeners } from './electron-mock.js';

vi.mock('electron', async () => (await import('./electron-mock.js')).electronModule);

type Bridge = Record<string, (...args: unknown[]) => unknown>;
let bridge: Bridge;
let deliver: (stream: unknown, payload: unknown) => void;

beforeAll(async () => {
  await import('../../../main/electron/preload.js');
  bridge = exposed.get('eddy') as Bridge;
  const listeners = rendererListeners.get(EVENT_CHANNEL) ?? [];
  expect(listeners).toHaveLength(1);
  deliver = (stream, payload) => listeners[0]?.({ sender: {} }, stream, payload);
});

beforeEach(() => electronModule.ipcRenderer.invoke.mockClear());

describe('window.eddy', () => {
  it('is the only thing exposed to the page', () => {
    expect(electronModule.contextBridge.exposeInMainWorld).toHaveBeenCalledOnce();
    expect([...exposed.keys()]).toEqual(['eddy']);
  });

  it('has exactly one method per contract command and one subscription per event stream', () => {
    expect(Object.keys(bridge).sort()).toEqual([...commandNames, ...eventStreamNames].sort());
    for (const key of Object.keys(bridge)) expect(bridge[key], key).toBeTypeOf('function');
  });

  it('has no prototype tricks: a plain object with no ipcRenderer, invoke, send or on', () => {
    expect(Object.getPrototypeOf(bridge)).toBe(Object.prototype);
    for (const forbidden of ['ipcRenderer', 'invoke', 'send', 'on', 'once', 'removeListener', 'request', 'sendSync']) {
      expect(Object.hasOwn(bridge, forbidden), forbidden).toBe(false);
    }
  });

  it.each(commandNames)('%s invokes the request channel with its own name and the payload', async (name) => {
    const result = { ok: true, result: { name } };
    electronModule.ipcRenderer.invoke.mockResolvedValueOnce(result);
    const payload = { any: 'payload' };
    await expect(bridge[name]!(payload)).resolves.toBe(result);
    expect(electronModule.ipcRenderer.invoke).toHaveBeenCalledWith(REQUEST_CHANNEL, name, payload);
  });

  it('resolves an error as a plain envelope object (contextBridge would drop an Error’s code)', async () => {
    const failure = { ok: false, error: { code: 'VALIDATION', message: 'Invalid request: limit', details: { issues: [] } } };
    electronModule.ipcRenderer.invoke.mockResolvedValueOnce(failure);
    await expect(bridge.readEvents!({ stream: 's', limit: -1 })).resolves.toEqual(failure);
  });
});

describe('event subscriptions', () => {
  it.each(eventStreamNames)('%s delivers only its own stream and stops after the disposer', (stream) => {
    const listener = vi.fn();
    const dispose = bridge[stream]!(listener) as () => void;
    deliver(stream, { n: 1 });
    for (const other of eventStreamNames.filter((name) => name !== stream)) deliver(other, { other: true });
    deliver('notAStream', { n: 2 });
    deliver(undefined, { n: 3 });
    expect(listener.mock.calls).toEqual([[{ n: 1 }]]);
    dispose();
    deliver(stream, { n: 4 });
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('gives each subscription of the same function its own disposer', () => {
    const listener = vi.fn();
    const first = bridge.onProblem!(listener) as () => void;
    const second = bridge.onProblem!(listener) as () => void;
    deliver('onProblem', 1);
    expect(listener).toHaveBeenCalledTimes(2);
    first();
    deliver('onProblem', 2);
    expect(listener).toHaveBeenCalledTimes(3);
    second();
    deliver('onProblem', 3);
    expect(listener).toHaveBeenCalledTimes(3);
  });

  it('keeps delivering to other listeners when one throws', () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const good = vi.fn();
    const disposeBad = bridge.onLogAppended!(() => {
      throw new Error('bad listener');
    }) as () => void;
    const disposeGood = bridge.onLogAppended!(good) as () => void;
    deliver('onLogAppended', { streams: [] });
    expect(good).toHaveBeenCalledOnce();
    disposeBad();
    disposeGood();
    error.mockRestore();
  });

  it('refuses a subscription without a listener function', () => {
    expect(() => bridge.onEngineStatus!('not a function')).toThrow(TypeError);
  });
});
