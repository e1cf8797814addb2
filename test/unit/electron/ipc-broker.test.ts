// The broker checks who calls and what, then forwards to the engine untouched; events fan out to
// windows that show Eddy's own pages.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { WireEvent, WireResponse } from '../../../shared/contract.js';
import { EVENT_CHANNEL, REQUEST_CHANNEL } from '../../../main/electron/channels.js';
import { broadcastEvent, brokerRequest, checkSender, forwardEngineEvents, registerRequestBroker } from '../../../main/electron/ipc-broker.js';
import { FakeBrowserWindow, invokeEvent, ipcMainHandlers, resetElectronMock } from './electron-mock.js';

vi.mock('electron', async () => (await import('./electron-mock.js')).electronModule);

type SenderEvent = Parameters<typeof checkSender>[0];
const asEvent = (event: { senderFrame: unknown }): SenderEvent => event as SenderEvent;

function fakeEngine(): { request: ReturnType<typeof vi.fn<(command: string, payload: unknown) => Promise<WireResponse>>> } {
  return {
    request: vi.fn(async (command: string, payload: unknown): Promise<WireResponse> => ({ kind: 'response', id: 1, ok: true, result: { command, payload } })),
  };
}

beforeEach(() => resetElectronMock());

describe('checkSender', () => {
  it('accepts the main frame of an app:// page', () => {
    expect(checkSender(asEvent(invokeEvent('app://eddy/index.html')))).toBeUndefined();
  });

  it.each([
    ['no frame', invokeEvent(undefined, { noFrame: true })],
    ['a sub-frame of the app', invokeEvent('app://eddy/index.html', { parent: { url: 'app://eddy/index.html' } })],
    ['a foreign origin', invokeEvent('https://evil.example/')],
    ['a look-alike host', invokeEvent('app://eddy.evil.example/index.html')],
    ['another app host', invokeEvent('app://evil/index.html')],
    ['a file URL', invokeEvent('file:///home/user/eddy/index.html')],
    ['about:blank', invokeEvent('about:blank')],
    ['a data URL', invokeEvent('data:text/html,<script></script>')],
  ])('refuses %s with FORBIDDEN', (_label, event) => {
    expect(checkSender(asEvent(event))?.code).toBe('FORBIDDEN');
  });

  it('refuses a frame that throws when read (destroyed)', () => {
    const event = {
      get senderFrame(): unknown {
        throw new Error('Render frame was disposed before WebFrameMain could be accessed');
      },
    };
    expect(checkSender(asEvent(event))?.code).toBe('FORBIDDEN');
  });
});

describe('brokerRequest', () => {
  it('refuses a foreign sender before looking at the command, and never reaches the engine', async () => {
    const engine = fakeEngine();
    const result = await brokerRequest(engine, asEvent(invokeEvent('https://evil.example/')), 'listStreams', {});
    expect(result).toEqual({ ok: false, error: expect.objectContaining({ code: 'FORBIDDEN' }) });
    expect(engine.request).not.toHaveBeenCalled();
  });

  it.each(['deleteEverything', 'constructor', '__proto__', 'toString', '', 42, null, undefined, { name: 'listStreams' }])(
    'rejects the unknown command %j',
    async (command) => {
      const engine = fakeEngine();
      const result = await brokerRequest(engine, asEvent(invokeEvent('app://eddy/index.html')), command, {});
      expect(result).toEqual({ ok: false, error: expect.objectContaining({ code: 'UNKNOWN_COMMAND' }) });
      expect(engine.request).not.toHaveBeenCalled();
    },
  );

  it('forwards a valid command with its payload untouched and unwraps the engine response', async () => {
    const engine = fakeEngine();
    const payload = { stream: 'dbo.customers', limit: 10 };
    const result = await brokerRequest(engine, asEvent(invokeEvent('app://eddy/index.html')), 'readEvents', payload);
    expect(engine.request).toHaveBeenCalledWith('readEvents', payload);
    expect(result).toEqual({ ok: true, result: { command: 'readEvents', payload } });
  });

  it('passes the engine error envelope through', async () => {
    const engine = fakeEngine();
    engine.request.mockResolvedValueOnce({ kind: 'response', id: 1, ok: false, error: { code: 'VALIDATION', message: 'Invalid request: limit' } });
    const result = await brokerRequest(engine, asEvent(invokeEvent('app://eddy/index.html')), 'readEvents', { limit: -1 });
    expect(result).toEqual({ ok: false, error: { code: 'VALIDATION', message: 'Invalid request: limit' } });
  });

  it('turns an unexpected failure into an INTERNAL envelope instead of throwing', async () => {
    const engine = fakeEngine();
    engine.request.mockRejectedValueOnce(new Error('boom'));
    const result = await brokerRequest(engine, asEvent(invokeEvent('app://eddy/index.html')), 'listStreams', {});
    expect(result).toEqual({ ok: false, error: expect.objectContaining({ code: 'INTERNAL' }) });
  });
});

describe('registerRequestBroker', () => {
  it(`handles ${REQUEST_CHANNEL} and can be removed`, async () => {
    const engine = fakeEngine();
    const dispose = registerRequestBroker(engine);
    const handler = ipcMainHandlers.get(REQUEST_CHANNEL);
    expect(handler).toBeTypeOf('function');
    await expect(handler!(invokeEvent('app://eddy/index.html'), 'getAppInfo', {})).resolves.toMatchObject({ ok: true });
    await expect(handler!(invokeEvent('https://evil.example/'), 'getAppInfo', {})).resolves.toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    await expect(handler!(invokeEvent('app://eddy/index.html'), 'rm -rf', {})).resolves.toMatchObject({ ok: false, error: { code: 'UNKNOWN_COMMAND' } });
    dispose();
    expect(ipcMainHandlers.has(REQUEST_CHANNEL)).toBe(false);
  });
});

describe('event forwarding', () => {
  const event: WireEvent = { kind: 'event', stream: 'onProblem', payload: { id: 'p1' } };

  it('sends each event to every window on the app origin', () => {
    const first = new FakeBrowserWindow({});
    const second = new FakeBrowserWindow({});
    const foreign = new FakeBrowserWindow({});
    const closed = new FakeBrowserWindow({});
    first.webContents.url = 'app://eddy/index.html';
    second.webContents.url = 'app://eddy/index.html#/explorer';
    foreign.webContents.url = 'https://evil.example/';
    closed.webContents.url = 'app://eddy/index.html';
    closed.destroyed = true;
    broadcastEvent(event);
    expect(first.webContents.send).toHaveBeenCalledWith(EVENT_CHANNEL, 'onProblem', { id: 'p1' });
    expect(second.webContents.send).toHaveBeenCalledWith(EVENT_CHANNEL, 'onProblem', { id: 'p1' });
    expect(foreign.webContents.send).not.toHaveBeenCalled();
    expect(closed.webContents.send).not.toHaveBeenCalled();
  });

  it('subscribes to the engine and returns its disposer', () => {
    const window = new FakeBrowserWindow({});
    window.webContents.url = 'app://eddy/index.html';
    let listener: ((event: WireEvent) => void) | undefined;
    const dispose = vi.fn();
    const returned = forwardEngineEvents({
      onEvent: (l) => {
        listener = l;
        return dispose;
      },
    });
    listener?.(event);
    expect(window.webContents.sentOn(EVENT_CHANNEL)).toEqual([['onProblem', { id: 'p1' }]]);
    expect(returned).toBe(dispose);
  });
});
