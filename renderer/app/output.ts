// The Output channel and notifications: what the workbench did (imports, exports, queries, job
// results) in the bottom panel, and short-lived notices for errors that say what happened and
// what to try.
import { EddyError } from '../../shared/contract';
import { createStore } from './store';

export type Level = 'info' | 'warning' | 'error';

export interface OutputLine {
  id: number;
  at: number;
  level: Level;
  source: string;
  message: string;
}

export interface Notice {
  id: number;
  level: Level;
  title: string;
  message: string;
  /** What to try next, in plain words. */
  hint?: string;
  action?: { label: string; run: () => void };
}

const MAX_LINES = 1000;
let nextId = 1;

export const output = createStore<{ lines: OutputLine[] }>({ lines: [] });
export const notices = createStore<{ items: Notice[] }>({ items: [] });

export function log(level: Level, source: string, message: string): void {
  const line: OutputLine = { id: nextId++, at: Date.now(), level, source, message };
  output.set((state) => ({ lines: state.lines.length >= MAX_LINES ? [...state.lines.slice(-MAX_LINES + 1), line] : [...state.lines, line] }));
}

export function dismissNotice(id: number): void {
  notices.set((state) => ({ items: state.items.filter((item) => item.id !== id) }));
}

export function notify(notice: Omit<Notice, 'id'>, timeoutMs = notice.level === 'error' ? 12_000 : 5000): number {
  const id = nextId++;
  notices.set((state) => ({ items: [...state.items.slice(-3), { ...notice, id }] }));
  log(notice.level, 'workbench', `${notice.title}: ${notice.message}${notice.hint ? ` ${notice.hint}` : ''}`);
  if (timeoutMs > 0) setTimeout(() => dismissNotice(id), timeoutMs);
  return id;
}

/** Advice per error code, so every error tells the user what to try. */
export function hintFor(error: unknown): string {
  const code = error instanceof EddyError ? error.code : 'INTERNAL';
  switch (code) {
    case 'VALIDATION':
      return 'Check the input and try again.';
    case 'NOT_FOUND':
      return 'It may have been deleted or renamed; refresh the list.';
    case 'LIMIT':
      return 'Narrow it down (filter by stream or time) or raise the limit.';
    case 'UNAVAILABLE':
      return 'The engine or the service is not reachable right now; wait for "Engine ready" in the status bar and try again.';
    case 'CANCELLED':
      return 'Start it again when you are ready.';
    case 'CONFLICT':
      return 'Something else changed it meanwhile; reload and try again.';
    case 'FORBIDDEN':
      return 'This action is not allowed here.';
    default:
      return 'Try again; if it keeps failing, the Output panel has the details.';
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Reports a failed action as a notice: what happened, and what to try. */
export function reportError(title: string, error: unknown, action?: Notice['action']): void {
  notify({ level: 'error', title, message: messageOf(error), hint: hintFor(error), ...(action ? { action } : {}) });
}
