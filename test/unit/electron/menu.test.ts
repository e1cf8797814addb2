// The application menu: standard roles, Eddy's workspace and engine actions, no devtools when packaged.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { MenuItemConstructorOptions } from 'electron';
import { buildMenuTemplate, installApplicationMenu } from '../../../main/electron/menu.js';
import { electronModule, resetElectronMock } from './electron-mock.js';

vi.mock('electron', async () => (await import('./electron-mock.js')).electronModule);

const actions = { openWorkspace: vi.fn(), openDemoWorkspace: vi.fn(), reloadEngine: vi.fn() };

function flatten(items: MenuItemConstructorOptions[]): MenuItemConstructorOptions[] {
  return items.flatMap((item) => [item, ...(Array.isArray(item.submenu) ? flatten(item.submenu) : [])]);
}

function byLabel(items: MenuItemConstructorOptions[], label: string): MenuItemConstructorOptions {
  const found = flatten(items).find((item) => item.label === label);
  if (!found) throw new Error(`no menu item ${label}`);
  return found;
}

beforeEach(() => {
  resetElectronMock();
  for (const action of Object.values(actions)) action.mockClear();
});

describe('buildMenuTemplate', () => {
  const template = buildMenuTemplate(actions, { isMac: false, isPackaged: true });

  it('has File, Edit, View and Help', () => {
    expect(template.map((item) => item.label ?? item.role)).toEqual(['&File', 'editMenu', '&View', '&Help']);
  });

  it('wires Open Workspace Folder, Open Demo Workspace and Reload Engine to their actions', () => {
    const click = (label: string): void => (byLabel(template, label).click as () => void)();
    click('Open Workspace Folder…');
    click('Open Demo Workspace');
    click('Reload Engine');
    expect(actions.openWorkspace).toHaveBeenCalledOnce();
    expect(actions.openDemoWorkspace).toHaveBeenCalledOnce();
    expect(actions.reloadEngine).toHaveBeenCalledOnce();
  });

  it('uses standard roles for the rest', () => {
    const roles = flatten(template).map((item) => item.role).filter(Boolean);
    expect(roles).toEqual(expect.arrayContaining(['quit', 'editMenu', 'reload', 'resetZoom', 'zoomIn', 'zoomOut', 'togglefullscreen', 'about']));
  });

  it('leaves developer tools out of packaged builds only', () => {
    expect(flatten(template).some((item) => item.role === 'toggleDevTools')).toBe(false);
    const development = buildMenuTemplate(actions, { isMac: false, isPackaged: false });
    expect(flatten(development).some((item) => item.role === 'toggleDevTools')).toBe(true);
  });

  it('adds the app menu on macOS', () => {
    const mac = buildMenuTemplate(actions, { isMac: true, isPackaged: true });
    expect(mac[0]?.role).toBe('appMenu');
    expect(flatten(mac).some((item) => item.role === 'close')).toBe(true);
  });
});

describe('installApplicationMenu', () => {
  it('sets the built menu as the application menu', () => {
    installApplicationMenu(actions, { isMac: false, isPackaged: true });
    expect(electronModule.Menu.buildFromTemplate).toHaveBeenCalledOnce();
    expect(electronModule.Menu.setApplicationMenu).toHaveBeenCalledWith(electronModule.Menu.buildFromTemplate.mock.results[0]?.value);
  });
});
