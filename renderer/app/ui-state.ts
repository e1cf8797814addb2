// The workbench's layout and open work, restored on restart from localStorage: the activity, which
// panels are open and how big, the editor tabs (streams with their filters and columns, SQL
// queries, charts), the selected stream, the theme, and whether the guided tour was dismissed.
import { createStore, useStore } from './store';
import { loadUiState, STORAGE_KEY, type BottomTab, type TabSpec, type UiState } from './ui-layout';

export * from './ui-layout';

export const ui = createStore<UiState>(loadUiState(typeof localStorage === 'undefined' ? undefined : localStorage));

let saveTimer: ReturnType<typeof setTimeout> | undefined;
function save(): void {
  if (saveTimer) clearTimeout(saveTimer);
  saveTimer = undefined;
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(ui.get()));
  } catch {
    // Storage full or disabled: the layout simply is not remembered.
  }
}
ui.subscribe(() => {
  // Layout drags change the state many times a second: write at most every 300 ms, and at once
  // when the page goes away.
  saveTimer ??= setTimeout(save, 300);
});
if (typeof window !== 'undefined') {
  window.addEventListener('pagehide', () => saveTimer && save());
  document.addEventListener('visibilitychange', () => document.visibilityState === 'hidden' && saveTimer && save());
}

export function useUi<S>(selector: (state: UiState) => S): S {
  return useStore(ui, selector);
}

let nextTabNumber = 1;
export function newTabId(kind: string): string {
  return `${kind}-${Date.now().toString(36)}-${nextTabNumber++}`;
}

/** Opens (or focuses) a tab; stream and chart tabs are one per stream. */
export function openTab(tab: TabSpec): string {
  const state = ui.get();
  const existing = state.tabs.find(
    (item) => item.id === tab.id || (tab.kind === 'stream' && item.kind === 'stream' && item.stream === tab.stream) || (tab.kind === 'charts' && item.kind === 'charts' && item.stream === tab.stream),
  );
  if (existing) {
    ui.set({ activeTab: existing.id, ...(tab.kind === 'charts' && tab.field ? { tabs: state.tabs.map((item) => (item.id === existing.id ? { ...item, field: tab.field } as TabSpec : item)) } : {}) });
    return existing.id;
  }
  const index = state.tabs.findIndex((item) => item.id === state.activeTab);
  const tabs = [...state.tabs];
  tabs.splice(index + 1, 0, tab);
  ui.set({ tabs, activeTab: tab.id });
  return tab.id;
}

export function closeTab(id: string): void {
  const state = ui.get();
  const index = state.tabs.findIndex((tab) => tab.id === id);
  if (index < 0) return;
  const tabs = state.tabs.filter((tab) => tab.id !== id);
  const activeTab = state.activeTab === id ? (tabs[Math.min(index, tabs.length - 1)]?.id ?? null) : state.activeTab;
  ui.set({ tabs, activeTab });
}

export function updateTab<T extends TabSpec>(id: string, patch: Partial<T>): void {
  ui.set((state) => ({ ...state, tabs: state.tabs.map((tab) => (tab.id === id ? ({ ...tab, ...patch } as TabSpec) : tab)) }));
}

export function openStream(stream: string): void {
  ui.set({ selectedStream: stream });
  openTab({ id: newTabId('stream'), kind: 'stream', stream });
}

export function openSql(sql?: string, title?: string): string {
  const count = ui.get().tabs.filter((tab) => tab.kind === 'sql').length + 1;
  return openTab({ id: newTabId('sql'), kind: 'sql', title: title ?? `Query ${count}`, sql: sql ?? '' });
}

export function openCharts(stream: string | null, field?: string): void {
  openTab({ id: newTabId('charts'), kind: 'charts', stream, ...(field ? { field } : {}) });
}

export function showBottom(tab: BottomTab): void {
  ui.set({ bottomVisible: true, bottomTab: tab });
}
