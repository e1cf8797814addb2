// The desktop app's lifecycle: one instance, sandboxed renderers, the `app://` scheme, the window,
// the menu, the IPC broker and the engine utilityProcess under its supervisor. Main stays a thin
// broker (windows, menus, dialogs, secrets); everything that touches data runs in the engine.
import { app, BrowserWindow, dialog, session } from 'electron';
import path from 'node:path';
import { EngineSupervisor, type SupervisorOptions } from '../host/engine-supervisor.js';
import type { EngineSettings } from '../engine/settings.js';
import { APP_ENTRY_URL, registerAppScheme, serveRenderer } from './app-protocol.js';
import { EVENT_CHANNEL } from './channels.js';
import { createUtilityProcessSpawner } from './engine-spawner.js';
import { forwardEngineEvents, registerRequestBroker } from './ipc-broker.js';
import { installApplicationMenu } from './menu.js';
import { DesktopSecrets } from './desktop-secrets.js';
import { SecretStore } from './secrets.js';
import { createMainWindow, guardWebContents, hardenSession } from './window.js';

export interface DesktopPaths {
  /** The bundled preload (dist/main/preload.cjs). */
  preload: string;
  /** The built renderer served on app://eddy/ (dist/renderer). */
  rendererDir: string;
  /** The bundled engine entry (dist/main/engine-process.mjs). */
  engineEntry: string;
  /** The folder holding `demo/`: the app's resources folder when packaged, the project root otherwise. */
  resourcesDir: string;
}

export interface DesktopAppOptions {
  paths?: DesktopPaths;
  argv?: readonly string[];
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** Passed to the supervisor (tests shorten the restart backoff). */
  supervisor?: Pick<SupervisorOptions, 'backoffMs' | 'maxRestartsInWindow' | 'crashWindowMs'>;
}

export interface DesktopApp {
  /** Settles once the window is open and the engine is starting. */
  readonly ready: Promise<void>;
  readonly supervisor: EngineSupervisor;
  /** The safeStorage-backed secret store under userData, which also answers the engine's secret references. */
  readonly secrets: SecretStore;
  /** The workspace the engine was (or will be) started with; undefined means the bundled demo. */
  readonly workspace: () => string | undefined;
  /** Restarts the engine on another workspace folder (undefined: the demo). */
  openWorkspace(folder: string | undefined): Promise<void>;
  /** Asks the user for a folder, then opens it; resolves the folder or undefined when cancelled. */
  chooseWorkspace(): Promise<string | undefined>;
  reloadEngine(): Promise<void>;
}

/** The paths inside the bundle: main, preload and engine sit side by side in dist/main. */
export function bundledPaths(): DesktopPaths {
  // The bundle is CommonJS, so __dirname is dist/main (inside app.asar when packaged).
  const here = __dirname;
  return {
    preload: path.join(here, 'preload.cjs'),
    rendererDir: path.join(here, '..', 'renderer'),
    engineEntry: path.join(here, 'engine-process.mjs'),
    resourcesDir: app.isPackaged ? process.resourcesPath : app.getAppPath(),
  };
}

/** `--workspace <dir>` or `--workspace=<dir>` on the command line, resolved against the working directory. */
export function workspaceFromArgv(argv: readonly string[]): string | undefined {
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index] ?? '';
    if (argument.startsWith('--workspace=')) return path.resolve(argument.slice('--workspace='.length));
    if (argument === '--workspace' && argv[index + 1]) return path.resolve(argv[index + 1] ?? '');
  }
  return undefined;
}

/**
 * Starts the desktop app. Returns undefined when another instance already runs (this one quits and
 * the other focuses its window).
 */
export function startDesktopApp(options: DesktopAppOptions = {}): DesktopApp | undefined {
  const log = options.log ?? ((line: string) => process.stderr.write(`eddy: ${line}\n`));
  // Both must happen before 'ready'.
  registerAppScheme();
  app.enableSandbox();

  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return undefined;
  }

  const paths = options.paths ?? bundledPaths();
  const env = options.env ?? process.env;
  let workspace = workspaceFromArgv(options.argv ?? process.argv) ?? (env.EDDY_WORKSPACE ? path.resolve(env.EDDY_WORKSPACE) : undefined);
  let mainWindow: BrowserWindow | undefined;
  // safeStorage is only touched when a secret is used, which is after 'ready'.
  const secrets = SecretStore.inUserData(app.getPath('userData'));

  const engineSettings = (): EngineSettings => ({
    host: 'desktop',
    version: app.getVersion(),
    workspace,
    dataDir: path.join(app.getPath('userData'), 'data'),
    resourcesDir: paths.resourcesDir,
  });

  const supervisor = new EngineSupervisor({
    ...options.supervisor,
    spawn: createUtilityProcessSpawner({ entry: paths.engineEntry, settings: engineSettings, log }),
    log,
    secrets: new DesktopSecrets(secrets, env),
  });

  let quitting = false;
  // Engine restarts are serialised so two quick menu clicks cannot leave two engines running.
  let engineWork: Promise<void> = Promise.resolve();
  const restartEngine = (): Promise<void> => {
    const run = async (): Promise<void> => {
      await supervisor.stop();
      // A restart queued behind the quit must not bring the engine back.
      if (!quitting) supervisor.start();
    };
    engineWork = engineWork.then(run, run);
    return engineWork;
  };

  const openWindow = (): BrowserWindow => {
    const window = createMainWindow(APP_ENTRY_URL, { preload: paths.preload });
    // A freshly loaded (or reloaded) page missed earlier status events; tell it where the engine is.
    window.webContents.on('did-finish-load', () => {
      if (!window.isDestroyed()) window.webContents.send(EVENT_CHANNEL, 'onEngineStatus', supervisor.currentStatus);
    });
    window.on('closed', () => {
      if (mainWindow === window) mainWindow = undefined;
    });
    mainWindow = window;
    return window;
  };

  const openWorkspace = (folder: string | undefined): Promise<void> => {
    workspace = folder === undefined ? undefined : path.resolve(folder);
    log(`opening workspace ${workspace ?? '(demo)'}`);
    return restartEngine();
  };

  const chooseWorkspace = async (): Promise<string | undefined> => {
    const parent = BrowserWindow.getFocusedWindow() ?? mainWindow;
    const dialogOptions: Electron.OpenDialogOptions = {
      title: 'Open Workspace Folder',
      buttonLabel: 'Open Workspace',
      properties: ['openDirectory', 'createDirectory'],
    };
    const choice = parent ? await dialog.showOpenDialog(parent, dialogOptions) : await dialog.showOpenDialog(dialogOptions);
    const folder = choice.canceled ? undefined : choice.filePaths[0];
    if (folder === undefined) return undefined;
    await openWorkspace(folder);
    return folder;
  };

  app.on('second-instance', () => {
    if (!mainWindow) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });
  // Every web contents, not only Eddy's window, gets the navigation, window-open and webview guards.
  app.on('web-contents-created', (_event, contents) => guardWebContents(contents));
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('will-quit', (event) => {
    if (quitting) return;
    // Give the engine its chance to close the workspace cleanly before the process goes.
    event.preventDefault();
    quitting = true;
    void supervisor.stop().finally(() => app.quit());
  });

  const ready = app.whenReady().then(() => {
    hardenSession(session.defaultSession);
    serveRenderer(paths.rendererDir);
    registerRequestBroker(supervisor);
    forwardEngineEvents(supervisor);
    app.setAboutPanelOptions({ applicationName: 'Eddy', applicationVersion: app.getVersion() });
    installApplicationMenu(
      {
        openWorkspace: () => void chooseWorkspace().catch((error: unknown) => log(`could not open a workspace: ${String(error)}`)),
        openDemoWorkspace: () => void openWorkspace(undefined),
        reloadEngine: () => void restartEngine(),
      },
      { isMac: process.platform === 'darwin', isPackaged: app.isPackaged },
    );
    supervisor.start();
    openWindow();
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) openWindow();
    });
  });
  return {
    ready,
    supervisor,
    secrets,
    workspace: () => workspace,
    openWorkspace,
    chooseWorkspace,
    reloadEngine: restartEngine,
  };
}
