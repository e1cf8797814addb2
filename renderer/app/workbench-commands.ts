// The workbench's own commands (palette entries and shortcuts): activities, panels, tabs, theme,
// streams, SQL, charts, import, go to event, the tour; and the one key listener that routes
// shortcuts to commands.
import { useEffect } from 'react';
import { closeQuickPick, openCommandPalette, openQuickPick, palette } from '../features/palette/command-palette';
import { commands, matchesKeys, registerCommands, type Command } from '../features/palette/commands';
import { revealEvent } from '../features/explorer/download';
import { parseEventLink } from '../features/explorer/event-link';
import { openImportDialog } from '../features/explorer/import-dialog';
import { streams } from '../features/explorer/streams';
import { startTour } from '../features/tour/tour';
import { activities } from './activities';
import { notify } from './output';
import { setTheme } from './theme';
import { closeTab, openCharts, openSql, openStream, showBottom, ui } from './ui-state';

export function goToStream(): void {
  openQuickPick({
    title: 'Go to stream',
    placeholder: 'Type a stream name',
    items: (streams.get().list ?? []).map((item) => ({ id: item.stream, label: item.stream, detail: `${item.count.toLocaleString('en')} events` })),
    accept: (item) => item && openStream(item.id),
  });
}

export function goToEvent(): void {
  openQuickPick({
    title: 'Go to event',
    placeholder: 'Paste an event link (eddy://event?…) or type: stream position',
    accept: (_item, text) => {
      const link = parseEventLink(text);
      const trimmed = text.trim();
      const space = trimmed.indexOf(' ');
      const target = link ?? (space > 0 ? { stream: trimmed.slice(0, space), position: trimmed.slice(space + 1).trim() } : null);
      if (!target) {
        notify({ level: 'warning', title: 'Not an event link', message: `“${trimmed}” is neither an eddy://event link nor “stream position”.`, hint: 'Use “Copy link” in an event’s details to get one.' });
        return;
      }
      revealEvent(target.stream, target.position);
    },
  });
}

function workbenchCommands(): Command[] {
  const list: Command[] = [
    { id: 'workbench.palette', title: 'Show all commands', category: 'View', keys: 'Mod+Shift+P', global: true, run: openCommandPalette },
    { id: 'workbench.palette.f1', title: 'Show all commands', category: 'View', keys: 'F1', global: true, run: openCommandPalette },
    { id: 'explorer.goToStream', title: 'Go to stream…', category: 'Explorer', keys: 'Mod+P', global: true, run: goToStream },
    { id: 'explorer.goToEvent', title: 'Go to event (paste a link)…', category: 'Explorer', run: goToEvent },
    { id: 'explorer.newQuery', title: 'New SQL query', category: 'Explorer', keys: 'Mod+Alt+N', run: () => void openSql() },
    { id: 'explorer.import', title: 'Import a JSON Lines file…', category: 'Explorer', run: openImportDialog },
    { id: 'charts.open', title: 'Open charts', category: 'Charts', run: () => openCharts(ui.get().selectedStream) },
    { id: 'workbench.toggleSide', title: 'Toggle the side bar', category: 'View', keys: 'Mod+B', global: true, run: () => ui.set((state) => ({ ...state, sideVisible: !state.sideVisible })) },
    { id: 'workbench.togglePanel', title: 'Toggle the bottom panel', category: 'View', keys: 'Mod+J', global: true, run: () => ui.set((state) => ({ ...state, bottomVisible: !state.bottomVisible })) },
    { id: 'workbench.panel.output', title: 'Show output', category: 'View', run: () => showBottom('output') },
    { id: 'workbench.panel.problems', title: 'Show problems', category: 'View', keys: 'Mod+Shift+M', global: true, run: () => showBottom('problems') },
    { id: 'workbench.panel.deadLetters', title: 'Show dead letters', category: 'View', run: () => showBottom('dead-letters') },
    { id: 'workbench.panel.jobs', title: 'Show jobs', category: 'View', run: () => showBottom('jobs') },
    { id: 'workbench.closeTab', title: 'Close the editor tab', category: 'View', keys: 'Alt+W', global: true, run: () => ui.get().activeTab && closeTab(ui.get().activeTab!) },
    { id: 'workbench.nextTab', title: 'Next editor tab', category: 'View', keys: 'Ctrl+PageDown', global: true, run: () => cycleTab(1) },
    { id: 'workbench.previousTab', title: 'Previous editor tab', category: 'View', keys: 'Ctrl+PageUp', global: true, run: () => cycleTab(-1) },
    { id: 'workbench.theme.light', title: 'Light theme', category: 'Preferences', run: () => setTheme('light') },
    { id: 'workbench.theme.dark', title: 'Dark theme', category: 'Preferences', run: () => setTheme('dark') },
    { id: 'workbench.theme.system', title: 'Theme from the operating system', category: 'Preferences', run: () => setTheme('system') },
    { id: 'workbench.welcome', title: 'Welcome page', category: 'Help', run: () => ui.set((state) => ({ ...state, activeTab: null })) },
    { id: 'workbench.tour', title: 'Start the guided tour', category: 'Help', run: startTour },
  ];
  for (const activity of activities) {
    list.push({ id: `workbench.activity.${activity.id}`, title: `Show ${activity.label}`, category: 'View', keys: activity.keys, global: true, run: () => ui.set({ activity: activity.id, sideVisible: true }) });
  }
  return list;
}

function cycleTab(step: number): void {
  const state = ui.get();
  if (state.tabs.length === 0) return;
  const index = state.tabs.findIndex((tab) => tab.id === state.activeTab);
  const next = state.tabs[(index + step + state.tabs.length) % state.tabs.length]!;
  ui.set({ activeTab: next.id });
}

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName) || target.closest('.monaco-editor') !== null;
}

/** Registers the workbench commands and routes shortcuts; mount once in the shell. */
export function useWorkbenchCommands(): void {
  useEffect(() => registerCommands(workbenchCommands()), []);
  useEffect(() => {
    const onKey = (event: KeyboardEvent): void => {
      if (palette.get().pick && event.key === 'Escape') {
        closeQuickPick();
        return;
      }
      const typing = isTyping(event.target);
      for (const command of commands.get().list) {
        if (!command.keys || (typing && !command.global)) continue;
        if (matchesKeys(event, command.keys)) {
          event.preventDefault();
          event.stopPropagation();
          command.run();
          return;
        }
      }
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, []);
}
