// The command registry behind the command palette and the keyboard shortcuts. Features register
// commands (title, category, optional keys) and the shell routes key presses to them; the palette
// lists every command with its shortcut, so nothing is reachable only by mouse.
import { useEffect } from 'react';
import { createStore, useStore } from '../../app/store';
import { matchKeys, type KeyPress } from './matching';

export { fuzzyScore } from './matching';

export interface Command {
  id: string;
  title: string;
  category: string;
  /** e.g. `Mod+Shift+P` (Mod is Cmd on macOS, Ctrl elsewhere), `Alt+1`, `F1`. */
  keys?: string;
  /** Shortcuts that should also work while typing in an input or editor. */
  global?: boolean;
  run: () => void;
}

export const commands = createStore<{ list: Command[] }>({ list: [] });

export function registerCommands(list: Command[]): () => void {
  const ids = new Set(list.map((command) => command.id));
  commands.set((state) => ({ list: [...state.list.filter((command) => !ids.has(command.id)), ...list] }));
  return () => commands.set((state) => ({ list: state.list.filter((command) => !ids.has(command.id) || !list.includes(command)) }));
}

/** Registers commands for as long as the component is mounted. */
export function useCommands(list: Command[], deps: unknown[]): void {
  useEffect(() => registerCommands(list), deps);
}

export function useCommandList(): Command[] {
  return useStore(commands, (state) => state.list);
}

export function runCommand(id: string): boolean {
  const command = commands.get().list.find((item) => item.id === id);
  if (!command) return false;
  command.run();
  return true;
}

export const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);

/** `Mod+Shift+P` → `Ctrl+Shift+P` (or `⌘⇧P` on macOS) for display. */
export function describeKeys(keys: string): string {
  if (isMac) return keys.replace(/Mod\+/g, '⌘').replace(/Shift\+/g, '⇧').replace(/Alt\+/g, '⌥').replace(/Ctrl\+/g, '⌃');
  return keys.replace(/Mod\+/g, 'Ctrl+');
}

export function matchesKeys(event: KeyPress, keys: string): boolean {
  return matchKeys(event, keys, isMac);
}
