// The desktop lifecycle with `electron` mocked: what happens before and after 'ready', the broker
// end to end, the engine's restart after a crash (the window sees crashed, then ready), and
// switching workspaces.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EngineStatus } from '../../../shared/contract.js';
import { EVENT_CHANNEL, REQUEST_CHANNEL } from '../../../main/electron/channels.js';
import { startDesktopApp, workspaceFromArgv, type DesktopApp } from '../../../main/electron/desktop-app.js';
import { mainWindowOptions } from '../../../main/electron/window.js';
import {
  app,
  defaultSession,
  electronModule,
  FakeBrowserWindow,
  FakeWebContents,
  forkedProcesses,
  invokeEvent,
  ipcMainHandlers,
  navigationEvent,
  protocolHandlers,
  resetElectronMock,
  type FakeUtilityProcess,
} from './electron-mock.js';

vi.mock('electron', async () => (await import('./electron-mock.js')).electronModule);

const paths = {
  preload: '/opt/eddy/dist/main/preload.cjs',
  rendererDir: '/opt/eddy/dist/renderer',
  engineEntry: '/opt/eddy/dist/main/engine-process.mjs',
  resourcesDir: '/opt/eddy/resources',
};

let desktop: DesktopApp | undefined;
const logLines: string[] = [];

function start(argv: string[] = []): DesktopApp {
  const started = startDesktopApp({ paths, argv, env: {}, log: (line) => logLines.push(line), supervisor: { backoffMs: () => 5 } });
  if (!started) throw new Error('expected the app to start');
  desktop = started;
  return started;
}

function engine(index: number): FakeUtilityProcess {
  const child = forkedProcesses[index];
  if (!child) throw new Error(`engine ${index} was not forked`);
  return child;
}

function window(): FakeBrowserWindow {
  const created = FakeBrowserWindow.instances[0];
  if (!created) throw new Error('no window');
  return created;
}

function statesSeen(contents: FakeWebContents): string[] {
  return contents
    .sentOn(EVENT_CHANNEL)
    .filter(([stream]) => stream === 'onEngineStatus')
    .map(([, payload]) => (payload as EngineStatus).state);
}

beforeEach(() => {
  resetElectronMock();
  app.userData = mkdtempSync(path.join(os.tmpdir(), 'eddy-user-data-'));
  logLines.length = 0;
});

afterEach(async () => {
  await desktop?.supervisor.stop();
  desktop = undefined;
  rmSync(app.userData, { recursive: true, force: true });
});

describe('before ready', () => {
  it('registers the app scheme and enables the sandbox for every renderer', () => {
    app.whenReady.mockImplementation(() => new Promise(() => undefined));
    start();
    expect(electronModule.protocol.registerSchemesAsPrivileged).toHaveBeenCalledOnce();
    expect(app.enableSandbox).toHaveBeenCalledOnce();
    expect(FakeBrowserWindow.instances).toHaveLength(0);
    expect(forkedProcesses).toHaveLength(0);
  });

  it('quits when another instance holds the lock, and the other instance focuses its window', async () => {
    app.requestSingleInstanceLock.mockReturnValue(false);
    expect(startDesktopApp({ paths, argv: [], env: {} })).toBeUndefined();
    expect(app.quit).toHaveBeenCalled();
    expect(app.whenReady).not.toHaveBeenCalled();

    app.requestSingleInstanceLock.mockReturnValue(true);
    await start().ready;
    app.emit('second-instance');
    expect(window().focus).toHaveBeenCalled();
  });
});

describe('on ready', () => {
  it('hardens the session, serves app://, brokers IPC, installs the menu, opens one window and starts the engine', async () => {
    await start().ready;
    expect(defaultSession.permissionRequestHandler).toBeTypeOf('function');
    expect(defaultSession.headersReceivedListener).toBeTypeOf('function');
    expect(protocolHandlers.has('app')).toBe(true);
    expect(ipcMainHandlers.has(REQUEST_CHANNEL)).toBe(true);
    expect(electronModule.Menu.setApplicationMenu).toHaveBeenCalledOnce();
    expect(FakeBrowserWindow.instances).toHaveLength(1);
    expect(window().options).toEqual(mainWindowOptions({ preload: paths.preload }));
    expect(window().webContents.url).toBe('app://eddy/index.html');
    expect(forkedProcesses).toHaveLength(1);
  });

  it('forks the engine as a utilityProcess with only Eddy’s environment', async () => {
    process.env.EDDY_TEST_CANARY_PASSWORD = 'hunter2';
    try {
      await start().ready;
    } finally {
      delete process.env.EDDY_TEST_CANARY_PASSWORD;
    }
    const child = engine(0);
    expect(child.modulePath).toBe(paths.engineEntry);
    expect(child.args).toEqual([]);
    expect(child.forkOptions).toMatchObject({ serviceName: 'eddy-engine', stdio: 'pipe' });
    const env = child.forkOptions?.env as Record<string, string>;
    expect(env).toMatchObject({
      EDDY_HOST: 'desktop',
      EDDY_VERSION: '0.1.0-test',
      EDDY_RESOURCES: paths.resourcesDir,
      EDDY_DATA_DIR: path.join(app.userData, 'data'),
    });
    expect(env.EDDY_WORKSPACE).toBeUndefined();
    for (const key of Object.keys(env)) expect(key).toMatch(/^(EDDY_[A-Z_]+|TZ|LANG|SYSTEMROOT|TMPDIR|TEMP|TMP|MALLOC_MMAP_THRESHOLD_)$/);
    expect(Object.values(env)).not.toContain('hunter2');
  });

  it('guards web contents the app did not create itself', async () => {
    await start().ready;
    const contents = new FakeWebContents();
    app.emit('web-contents-created', {}, contents);
    const event = navigationEvent('https://evil.example/');
    contents.emit('will-navigate', event);
    expect(event.defaultPrevented).toBe(true);
    expect(contents.windowOpenHandler?.({ url: 'https://evil.example/' })).toEqual({ action: 'deny' });
  });

  it('relays engine output lines to the log', async () => {
    await start().ready;
    engine(0).stderr.write('warning: something\npartial');
    engine(0).stderr.end();
    await vi.waitFor(() => expect(logLines).toEqual(expect.arrayContaining(['[engine:err] warning: something', '[engine:err] partial'])));
  });
});

describe('the request broker end to end', () => {
  it('forwards a request from the app frame to the engine and back', async () => {
    await start().ready;
    engine(0).announceReady();
    const handler = ipcMainHandlers.get(REQUEST_CHANNEL)!;
    const pending = handler(invokeEvent('app://eddy/index.html'), 'listStreams', {}) as Promise<unknown>;
    await vi.waitFor(() => expect(engine(0).postMessage).toHaveBeenCalled());
    const request = engine(0).postMessage.mock.calls[0]?.[0] as { id: number; command: string; payload: unknown };
    expect(request).toMatchObject({ kind: 'request', command: 'listStreams', payload: {} });
    engine(0).emit('message', { kind: 'response', id: request.id, ok: true, result: [] });
    await expect(pending).resolves.toEqual({ ok: true, result: [] });
  });

  it('never forwards requests from a foreign frame or for unknown commands', async () => {
    await start().ready;
    engine(0).announceReady();
    const handler = ipcMainHandlers.get(REQUEST_CHANNEL)!;
    await expect(handler(invokeEvent('https://evil.example/'), 'listStreams', {})).resolves.toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    await expect(handler(invokeEvent('app://eddy/index.html'), 'shutdown', {})).resolves.toMatchObject({ ok: false, error: { code: 'UNKNOWN_COMMAND' } });
    expect(engine(0).postMessage).not.toHaveBeenCalled();
  });

  it('answers UNAVAILABLE while the engine is starting', async () => {
    await start().ready;
    const handler = ipcMainHandlers.get(REQUEST_CHANNEL)!;
    await expect(handler(invokeEvent('app://eddy/index.html'), 'listStreams', {})).resolves.toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
  });
});

describe('the engine asking its host', () => {
  it('answers a secret reference from the desktop secret store without the value touching the UI', async () => {
    const started = start();
    await started.ready;
    await started.secrets.set('pg_password', 'hunter2');
    engine(0).announceReady();
    window().webContents.send.mockClear();
    engine(0).emit('message', { kind: 'host-request', id: 7, method: 'secrets', params: { op: 'resolve', ref: '${secret:pg_password}' } });
    await vi.waitFor(() => expect(engine(0).postMessage).toHaveBeenCalledWith({ kind: 'host-response', id: 7, ok: true, result: 'hunter2' }));
    expect(JSON.stringify(window().webContents.send.mock.calls)).not.toContain('hunter2');
  });

  it('ignores messages from the engine that are not wire messages', async () => {
    await start().ready;
    engine(0).emit('message', 'hello');
    engine(0).emit('message', { kind: 'request', id: 1, command: 'x' });
    expect(logLines.filter((line) => line.includes('not a wire message'))).toHaveLength(2);
  });
});

describe('engine crash and restart', () => {
  it('tells the window the engine crashed, restarts it, and tells the window it is ready again', async () => {
    await start().ready;
    const contents = window().webContents;
    contents.finishLoad();
    engine(0).announceReady();
    expect(statesSeen(contents)).toEqual(['starting', 'ready']);

    engine(0).exit(9);
    expect(statesSeen(contents).at(-1)).toBe('crashed');
    const crashed = contents.sentOn(EVENT_CHANNEL).at(-1)?.[1] as EngineStatus;
    expect(crashed.message).toMatch(/exited with code 9/);

    await vi.waitFor(() => expect(forkedProcesses).toHaveLength(2));
    engine(1).announceReady();
    expect(statesSeen(contents)).toEqual(['starting', 'ready', 'crashed', 'restarting', 'ready']);
    const ready = contents.sentOn(EVENT_CHANNEL).at(-1)?.[1] as EngineStatus;
    expect(ready).toMatchObject({ state: 'ready', restarts: 1, pid: engine(1).pid });
  });

  it('fails a request in flight when the engine dies instead of leaving it hanging', async () => {
    await start().ready;
    engine(0).announceReady();
    const pending = ipcMainHandlers.get(REQUEST_CHANNEL)!(invokeEvent('app://eddy/index.html'), 'queryLog', { sql: 'select 1' }) as Promise<unknown>;
    await vi.waitFor(() => expect(engine(0).postMessage).toHaveBeenCalled());
    engine(0).exit(1);
    await expect(pending).resolves.toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
  });

  it('re-sends the engine status to a page that (re)loads', async () => {
    await start().ready;
    engine(0).announceReady();
    window().webContents.send.mockClear();
    window().webContents.finishLoad();
    expect(statesSeen(window().webContents)).toEqual(['ready']);
  });
});

describe('workspaces', () => {
  it('reads --workspace from the command line', () => {
    expect(workspaceFromArgv(['electron', '.', '--workspace=/data/ws'])).toBe('/data/ws');
    expect(workspaceFromArgv(['eddy', '--workspace', '/data/other'])).toBe('/data/other');
    expect(workspaceFromArgv(['eddy'])).toBeUndefined();
  });

  it('starts the engine on the workspace given on the command line', async () => {
    await start(['eddy', '--workspace=/data/orders']).ready;
    expect((engine(0).forkOptions?.env as Record<string, string>).EDDY_WORKSPACE).toBe('/data/orders');
  });

  it('restarts the engine on the folder chosen in the dialog', async () => {
    const started = start();
    await started.ready;
    engine(0).announceReady();
    electronModule.dialog.showOpenDialog.mockResolvedValueOnce({ canceled: false, filePaths: ['/data/chosen'] });
    await expect(started.chooseWorkspace()).resolves.toBe('/data/chosen');
    expect(engine(0).kill).toHaveBeenCalled();
    expect(forkedProcesses).toHaveLength(2);
    expect((engine(1).forkOptions?.env as Record<string, string>).EDDY_WORKSPACE).toBe('/data/chosen');
    expect(started.workspace()).toBe('/data/chosen');
  });

  it('keeps the engine running when the dialog is cancelled', async () => {
    const started = start();
    await started.ready;
    await expect(started.chooseWorkspace()).resolves.toBeUndefined();
    expect(forkedProcesses).toHaveLength(1);
  });

  it('serialises quick engine reloads so only one engine runs', async () => {
    const started = start();
    await started.ready;
    await Promise.all([started.reloadEngine(), started.reloadEngine()]);
    expect(forkedProcesses).toHaveLength(3);
    expect(forkedProcesses.filter((child) => child.pid !== undefined)).toHaveLength(1);
  });
});

describe('quitting', () => {
  it('stops the engine before the app exits', async () => {
    await start().ready;
    let prevented = false;
    app.emit('will-quit', { preventDefault: () => (prevented = true) });
    expect(prevented).toBe(true);
    expect(engine(0).kill).toHaveBeenCalled();
    await vi.waitFor(() => expect(app.quit).toHaveBeenCalled());
    // The second will-quit (from that app.quit) goes through.
    let preventedAgain = false;
    app.emit('will-quit', { preventDefault: () => (preventedAgain = true) });
    expect(preventedAgain).toBe(false);
  });
});

describe('main.ts', () => {
  it('starts the app and, if start-up fails, says so in a dialog and exits', async () => {
    app.whenReady.mockImplementation(() => Promise.reject(new Error('protocol registration failed')));
    vi.resetModules();
    await import('../../../main/electron/main.js');
    await vi.waitFor(() => expect(app.exit).toHaveBeenCalledWith(1));
    expect(electronModule.dialog.showErrorBox).toHaveBeenCalledWith('Eddy could not start', expect.stringContaining('protocol registration failed'));
    expect(app.enableSandbox).toHaveBeenCalledOnce();
  });

  it('does not bring the engine back when a reload is queued behind quitting', async () => {
    const started = start();
    await started.ready;
    app.emit('will-quit', { preventDefault: () => undefined });
    await started.reloadEngine();
    expect(forkedProcesses).toHaveLength(1);
  });
});
