// The one place Eddy creates windows and the guards every web contents gets: a sandboxed,
// context-isolated renderer that cannot navigate away, open windows, attach webviews or obtain
// permissions. Treat the renderer as untrusted: it shows data from databases and Kafka topics.
import { BrowserWindow, type BrowserWindowConstructorOptions, type Session, type WebContents } from 'electron';
import { isAppUrl } from './app-protocol.js';
import { withContentSecurityPolicy } from './csp.js';
import { openExternalSafely } from './safe-external.js';

export interface MainWindowOptions {
  /** Absolute path of the bundled preload (dist/main/preload.cjs). */
  preload: string;
  title?: string;
}

/** The exact, reviewed options of every Eddy window. */
export function mainWindowOptions(options: MainWindowOptions): BrowserWindowConstructorOptions {
  return {
    width: 1400,
    height: 900,
    minWidth: 800,
    minHeight: 500,
    title: options.title ?? 'Eddy',
    // Shown on 'ready-to-show' so the user never sees an empty frame.
    show: false,
    backgroundColor: '#1e1e1e',
    webPreferences: {
      preload: options.preload,
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
    },
  };
}

const guarded = new WeakSet<WebContents>();

/**
 * Guards that apply to any web contents, including ones Eddy did not create itself: no webviews,
 * no new windows (http(s) links go to the user's browser instead), no navigation off the app.
 */
export function guardWebContents(contents: WebContents): void {
  // Idempotent: the app guards every created contents and the window factory its own, and a
  // second 'will-navigate' listener would open a clicked link twice.
  if (guarded.has(contents)) return;
  guarded.add(contents);
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    void openExternalSafely(url);
    return { action: 'deny' };
  });
  contents.on('will-navigate', (event) => {
    if (isAppUrl(event.url)) return;
    event.preventDefault();
    // A clicked web link is the user's intent to read it; show it in their browser.
    void openExternalSafely(event.url);
  });
  contents.on('will-frame-navigate', (event) => {
    if (!isAppUrl(event.url)) event.preventDefault();
  });
  // A redirect is the server's choice, not the user's, so it is only refused.
  contents.on('will-redirect', (event) => {
    if (!isAppUrl(event.url)) event.preventDefault();
  });
}

/**
 * Permissions Eddy's renderer may be granted. Deliberately empty: nothing in the UI needs a camera,
 * notifications, or the async clipboard API (copy uses the editor's and the DOM's own commands).
 */
export const grantedPermissions: ReadonlySet<string> = new Set<string>();

/** Session-wide policy: deny permissions, put the CSP on every response as a backstop. */
export function hardenSession(session: Session): void {
  session.setPermissionRequestHandler((_contents, permission, callback) => callback(grantedPermissions.has(permission)));
  session.setPermissionCheckHandler((_contents, permission) => grantedPermissions.has(permission));
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: withContentSecurityPolicy(details.responseHeaders) });
  });
}

/** Creates a window on `url` (the app's own origin) with the reviewed options and guards. */
export function createMainWindow(url: string, options: MainWindowOptions): BrowserWindow {
  if (!isAppUrl(url)) throw new Error(`Refusing to open a window on a URL outside the app: ${url}`);
  const window = new BrowserWindow(mainWindowOptions(options));
  guardWebContents(window.webContents);
  window.once('ready-to-show', () => window.show());
  void window.loadURL(url);
  return window;
}
