// A hand-written stand-in for the `electron` module: the binary cannot run on these machines, so
// main-process code is exercised against fakes that record what it registered. Test files use it as
//   vi.mock('electron', async () => (await import('./electron-mock.js')).electronModule);
// and call `resetElectronMock()` before each test. The objects stay the same across resets (source
// modules hold references to them); only their recorded state is cleared.
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { vi } from 'vitest';

type Handler = (...args: unknown[]) => unknown;

/** A navigation-style event as Electron passes it: the URL plus preventDefault. */
export interface FakeNavigationEvent {
  url: string;
  defaultPrevented: boolean;
  preventDefault: () => void;
}

export function navigationEvent(url: string): FakeNavigationEvent {
  const event: FakeNavigationEvent = {
    url,
    defaultPrevented: false,
    preventDefault: () => {
      event.defaultPrevented = true;
    },
  };
  return event;
}

export class FakeWebContents extends EventEmitter {
  url = '';
  destroyed = false;
  windowOpenHandler: ((details: { url: string }) => { action: string }) | undefined;
  readonly send = vi.fn<(channel: string, ...args: unknown[]) => void>();

  getURL(): string {
    return this.url;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
    this.windowOpenHandler = handler;
  }
  /** What the page would do on a successful load: Electron emits did-finish-load. */
  finishLoad(): void {
    this.emit('did-finish-load');
  }
  /** The [stream, payload] pairs sent on a channel, in order. */
  sentOn(channel: string): unknown[][] {
    return this.send.mock.calls.filter(([name]) => name === channel).map(([, ...rest]) => rest);
  }
}

export class FakeBrowserWindow extends EventEmitter {
  static instances: FakeBrowserWindow[] = [];
  readonly webContents = new FakeWebContents();
  readonly show = vi.fn();
  readonly focus = vi.fn();
  readonly restore = vi.fn();
  destroyed = false;

  constructor(readonly options: Record<string, unknown>) {
    super();
    FakeBrowserWindow.instances.push(this);
  }
  static getAllWindows(): FakeBrowserWindow[] {
    return FakeBrowserWindow.instances.filter((window) => !window.destroyed);
  }
  static getFocusedWindow(): FakeBrowserWindow | null {
    return null;
  }
  loadURL(url: string): Promise<void> {
    this.webContents.url = url;
    return Promise.resolve();
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  isMinimized(): boolean {
    return false;
  }
}

/** A utilityProcess child: the test plays the engine by emitting 'message' and 'exit'. */
export class FakeUtilityProcess extends EventEmitter {
  static nextPid = 4000;
  pid: number | undefined = FakeUtilityProcess.nextPid++;
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly postMessage = vi.fn<(message: unknown) => void>();
  readonly kill = vi.fn(() => {
    // A real kill ends in an 'exit' event shortly after.
    setTimeout(() => this.exit(0), 0);
    return true;
  });

  constructor(
    readonly modulePath: string,
    readonly args: string[] | undefined,
    readonly forkOptions: Record<string, unknown> | undefined,
  ) {
    super();
  }
  /** The engine's own "ready" announcement (see main/engine/engine-process.ts). */
  announceReady(): void {
    this.emit('message', { kind: 'event', stream: 'onEngineStatus', payload: { state: 'ready', pid: this.pid } });
  }
  exit(code: number): void {
    if (this.pid === undefined) return;
    this.pid = undefined;
    this.emit('exit', code);
  }
}

class FakeSession {
  permissionRequestHandler: Handler | undefined;
  permissionCheckHandler: Handler | undefined;
  headersReceivedListener: Handler | undefined;
  readonly webRequest = {
    onHeadersReceived: (listener: Handler) => {
      this.headersReceivedListener = listener;
    },
  };
  setPermissionRequestHandler(handler: Handler): void {
    this.permissionRequestHandler = handler;
  }
  setPermissionCheckHandler(handler: Handler): void {
    this.permissionCheckHandler = handler;
  }
  reset(): void {
    this.permissionRequestHandler = undefined;
    this.permissionCheckHandler = undefined;
    this.headersReceivedListener = undefined;
  }
}

class FakeApp extends EventEmitter {
  isPackaged = false;
  userData = '/tmp/eddy-test-user-data';
  readonly enableSandbox = vi.fn();
  readonly requestSingleInstanceLock = vi.fn(() => true);
  readonly quit = vi.fn();
  readonly exit = vi.fn();
  readonly setAboutPanelOptions = vi.fn();
  readonly whenReady = vi.fn(() => Promise.resolve());
  getVersion(): string {
    return '0.1.0-test';
  }
  getPath(name: string): string {
    return name === 'userData' ? this.userData : `/tmp/eddy-test-${name}`;
  }
  getAppPath(): string {
    return '/tmp/eddy-test-app';
  }
}

type SafeStorageBackend = 'basic_text' | 'gnome_libsecret' | 'kwallet' | 'kwallet5' | 'kwallet6' | 'unknown';

/** safeStorage with a reversible fake cipher, so tests can see that files never hold plain text. */
export class FakeSafeStorage {
  backend: SafeStorageBackend = 'gnome_libsecret';
  available = true;
  shouldReEncrypt = false;
  readonly isAsyncEncryptionAvailable = vi.fn(async () => this.available);
  readonly getSelectedStorageBackend = vi.fn(() => this.backend);
  readonly encryptStringAsync = vi.fn(async (plain: string) => {
    if (!this.available) throw new Error('encryption unavailable');
    return Buffer.from(`enc:${Buffer.from(plain, 'utf8').toString('hex')}`, 'utf8');
  });
  readonly decryptStringAsync = vi.fn(async (encrypted: Buffer) => {
    const text = encrypted.toString('utf8');
    if (!text.startsWith('enc:')) throw new Error('cannot decrypt');
    return { result: Buffer.from(text.slice(4), 'hex').toString('utf8'), shouldReEncrypt: this.shouldReEncrypt };
  });
  reset(): void {
    this.backend = 'gnome_libsecret';
    this.available = true;
    this.shouldReEncrypt = false;
    for (const fn of [this.isAsyncEncryptionAvailable, this.getSelectedStorageBackend, this.encryptStringAsync, this.decryptStringAsync]) {
      fn.mockClear();
    }
  }
}

export const app = new FakeApp();
export const defaultSession = new FakeSession();
export const safeStorage = new FakeSafeStorage();
export const ipcMainHandlers = new Map<string, Handler>();
export const protocolHandlers = new Map<string, (request: Request) => Promise<Response>>();
export const rendererListeners = new Map<string, Handler[]>();
export const forkedProcesses: FakeUtilityProcess[] = [];
export const exposed = new Map<string, unknown>();

export const electronModule = {
  app,
  BrowserWindow: FakeBrowserWindow,
  session: { defaultSession },
  safeStorage,
  shell: { openExternal: vi.fn(async (_url: string) => undefined) },
  dialog: {
    showOpenDialog: vi.fn(async (..._args: unknown[]) => ({ canceled: true, filePaths: [] as string[] })),
    showErrorBox: vi.fn(),
  },
  Menu: {
    buildFromTemplate: vi.fn((template: unknown[]) => ({ template })),
    setApplicationMenu: vi.fn(),
  },
  ipcMain: {
    handle: vi.fn((channel: string, handler: Handler) => {
      if (ipcMainHandlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
      ipcMainHandlers.set(channel, handler);
    }),
    removeHandler: vi.fn((channel: string) => ipcMainHandlers.delete(channel)),
  },
  protocol: {
    registerSchemesAsPrivileged: vi.fn(),
    handle: vi.fn((scheme: string, handler: (request: Request) => Promise<Response>) => {
      protocolHandlers.set(scheme, handler);
    }),
  },
  utilityProcess: {
    fork: vi.fn((modulePath: string, args?: string[], options?: Record<string, unknown>) => {
      const child = new FakeUtilityProcess(modulePath, args, options);
      forkedProcesses.push(child);
      return child;
    }),
  },
  // Renderer-side modules, for the preload.
  contextBridge: {
    exposeInMainWorld: vi.fn((key: string, api: unknown) => {
      exposed.set(key, api);
    }),
  },
  ipcRenderer: {
    invoke: vi.fn(async (..._args: unknown[]): Promise<unknown> => ({ ok: true, result: null })),
    on: vi.fn((channel: string, listener: Handler) => {
      rendererListeners.set(channel, [...(rendererListeners.get(channel) ?? []), listener]);
    }),
  },
};

/** Clears everything recorded by previous tests. */
export function resetElectronMock(): void {
  app.removeAllListeners();
  app.isPackaged = false;
  app.enableSandbox.mockClear();
  app.requestSingleInstanceLock.mockReset().mockImplementation(() => true);
  app.quit.mockClear();
  app.exit.mockClear();
  app.whenReady.mockReset().mockImplementation(() => Promise.resolve());
  defaultSession.reset();
  safeStorage.reset();
  ipcMainHandlers.clear();
  protocolHandlers.clear();
  rendererListeners.clear();
  forkedProcesses.length = 0;
  exposed.clear();
  FakeBrowserWindow.instances = [];
  for (const group of Object.values(electronModule)) {
    if (typeof group !== 'object' || group === null) continue;
    for (const member of Object.values(group)) {
      if (vi.isMockFunction(member)) member.mockClear();
    }
  }
}

/** An `ipcMain.handle` event from a frame at `url` (main frame unless `parent` is given). */
export function invokeEvent(url: string | undefined, options: { parent?: unknown; noFrame?: boolean } = {}): { senderFrame: unknown } {
  if (options.noFrame || url === undefined) return { senderFrame: null };
  return { senderFrame: { url, parent: options.parent ?? null } };
}
