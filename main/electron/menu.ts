// The application menu: standard File/Edit/View/Help roles plus Eddy's own workspace and engine
// actions. The template is built by a pure function so it can be checked without Electron.
import { Menu, type MenuItemConstructorOptions } from 'electron';

export interface MenuActions {
  openWorkspace: () => void;
  openDemoWorkspace: () => void;
  reloadEngine: () => void;
}

export interface MenuEnvironment {
  isMac: boolean;
  /** Developer tools only in unpackaged builds: in a shipped app they are a way around the sandbox's UI. */
  isPackaged: boolean;
}

export function buildMenuTemplate(actions: MenuActions, environment: MenuEnvironment): MenuItemConstructorOptions[] {
  const template: MenuItemConstructorOptions[] = [];
  if (environment.isMac) template.push({ role: 'appMenu' });
  template.push(
    {
      label: '&File',
      submenu: [
        { label: 'Open Workspace Folder…', accelerator: 'CmdOrCtrl+O', click: () => actions.openWorkspace() },
        { label: 'Open Demo Workspace', click: () => actions.openDemoWorkspace() },
        { type: 'separator' },
        environment.isMac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: '&View',
      submenu: [
        { role: 'reload' },
        { label: 'Reload Engine', accelerator: 'CmdOrCtrl+Shift+R', click: () => actions.reloadEngine() },
        ...(environment.isPackaged ? [] : [{ role: 'toggleDevTools' } as const]),
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    { label: '&Help', role: 'help', submenu: [{ role: 'about' }] },
  );
  return template;
}

export function installApplicationMenu(actions: MenuActions, environment: MenuEnvironment): void {
  Menu.setApplicationMenu(Menu.buildFromTemplate(buildMenuTemplate(actions, environment)));
}
