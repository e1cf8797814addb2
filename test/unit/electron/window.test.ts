// The window factory and the guards every web contents gets: exact secure options, navigation,
// window.open, webviews, permissions and the CSP backstop.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../../main/electron/csp.js';
import { createMainWindow, guardWebContents, hardenSession, mainWindowOptions } from '../../../main/electron/window.js';
import { electronModule, FakeBrowserWindow, FakeWebContents, defaultSession, navigationEvent, resetElectronMock } from './electron-mock.js';

vi.mock('electron', async () => (await import('./electron-mock.js')).electronModule);

const hostileUrls = [
  'https://evil.example/',
  'http://127.0.0.1:8080/',
  'file:///etc/passwd',
  'javascript:alert(1)',
  'data:text/html,<script>alert(1)</script>',
  'app://evil/index.html',
  'app://eddy.evil.example/index.html',
  'app://user@eddy/index.html',
  'devtools://devtools/bundled/inspector.html',
  'not a url',
];

beforeEach(() => resetElectronMock());

function guardedContents(): FakeWebContents {
  const contents = new FakeWebContents();
  guardWebContents(contents as unknown as Electron.WebContents);
  return contents;
}

describe('mainWindowOptions', () => {
  it('turns on every isolation switch and points at the preload', () => {
    const options = mainWindowOptions({ preload: '/app/dist/main/preload.cjs' });
    expect(options.webPreferences).toEqual({
      preload: '/app/dist/main/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      safeDialogs: true,
    });
  });
});

describe('createMainWindow', () => {
  it('creates the window with the reviewed options, guards it and loads the app URL', () => {
    const window = createMainWindow('app://eddy/index.html', { preload: '/p/preload.cjs' }) as unknown as FakeBrowserWindow;
    expect(FakeBrowserWindow.instances).toHaveLength(1);
    expect(window.options).toEqual(mainWindowOptions({ preload: '/p/preload.cjs' }));
    expect(window.webContents.url).toBe('app://eddy/index.html');
    expect(window.webContents.windowOpenHandler).toBeTypeOf('function');
    expect(window.webContents.listenerCount('will-navigate')).toBe(1);
    window.emit('ready-to-show');
    expect(window.show).toHaveBeenCalledOnce();
  });

  it('refuses to open a window on anything but the app origin', () => {
    for (const url of hostileUrls) expect(() => createMainWindow(url, { preload: '/p.cjs' })).toThrow(/outside the app/);
    expect(FakeBrowserWindow.instances).toHaveLength(0);
  });
});

describe('guardWebContents', () => {
  it('is idempotent, so a link is never opened twice', () => {
    const contents = guardedContents();
    guardWebContents(contents as unknown as Electron.WebContents);
    expect(contents.listenerCount('will-navigate')).toBe(1);
    contents.emit('will-navigate', navigationEvent('https://docs.example/'));
    expect(electronModule.shell.openExternal).toHaveBeenCalledTimes(1);
  });

  it.each(hostileUrls)('prevents navigation, frame navigation and redirects to %s', (url) => {
    const contents = guardedContents();
    for (const name of ['will-navigate', 'will-frame-navigate', 'will-redirect']) {
      const event = navigationEvent(url);
      contents.emit(name, event);
      expect(event.defaultPrevented, `${name} ${url}`).toBe(true);
    }
  });

  it('allows navigation within the app origin', () => {
    const contents = guardedContents();
    for (const name of ['will-navigate', 'will-frame-navigate', 'will-redirect']) {
      const event = navigationEvent('app://eddy/index.html#/explorer');
      contents.emit(name, event);
      expect(event.defaultPrevented).toBe(false);
    }
  });

  it('hands a clicked web link to the browser, but never other schemes', async () => {
    const contents = guardedContents();
    contents.emit('will-navigate', navigationEvent('https://docs.example/guide'));
    contents.emit('will-navigate', navigationEvent('file:///etc/passwd'));
    contents.emit('will-navigate', navigationEvent('smb://attacker/share'));
    contents.emit('will-redirect', navigationEvent('https://redirected.example/'));
    await Promise.resolve();
    expect(electronModule.shell.openExternal.mock.calls).toEqual([['https://docs.example/guide']]);
  });

  it('denies every window.open, opening only http(s) links externally', () => {
    const contents = guardedContents();
    const handler = contents.windowOpenHandler!;
    for (const url of [...hostileUrls, 'https://docs.example/', 'about:blank', '']) {
      expect(handler({ url })).toEqual({ action: 'deny' });
    }
    const opened = electronModule.shell.openExternal.mock.calls.map(([url]) => url);
    expect(opened).toEqual(['https://evil.example/', 'http://127.0.0.1:8080/', 'https://docs.example/']);
  });

  it('prevents webviews from being attached', () => {
    const contents = guardedContents();
    const event = navigationEvent('');
    contents.emit('will-attach-webview', event, { preload: '/evil.js' }, { src: 'https://evil.example' });
    expect(event.defaultPrevented).toBe(true);
  });
});

describe('hardenSession', () => {
  beforeEach(() => hardenSession(defaultSession as unknown as Electron.Session));

  it.each(['media', 'geolocation', 'notifications', 'openExternal', 'clipboard-read', 'clipboard-sanitized-write', 'fullscreen', 'unknown'])(
    'denies the %s permission',
    (permission) => {
      const callback = vi.fn();
      defaultSession.permissionRequestHandler!({}, permission, callback, {});
      expect(callback).toHaveBeenCalledWith(false);
      expect(defaultSession.permissionCheckHandler!(null, permission, 'app://eddy', {})).toBe(false);
    },
  );

  it('puts the CSP on every response, replacing any policy the response carried', () => {
    const callback = vi.fn();
    defaultSession.headersReceivedListener!(
      { url: 'https://example.com/', responseHeaders: { 'content-security-policy': ["script-src * 'unsafe-eval'"], 'X-Other': ['1'] } },
      callback,
    );
    expect(callback).toHaveBeenCalledWith({
      responseHeaders: { 'X-Other': ['1'], 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] },
    });
  });
});
