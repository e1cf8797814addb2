// The saved shape of the workbench (tabs, panels, theme, tour) and how it is read back: anything
// damaged or out of range falls back to the defaults, so a bad entry never breaks start-up.
// Free of the DOM; ui-state.ts keeps it in localStorage.
import type { ExplorerFilter } from '../../shared/contracts/explorer';

export type ThemeSetting = 'system' | 'light' | 'dark';
export type BottomTab = 'output' | 'problems' | 'dead-letters' | 'jobs';
export type SortOrder = 'newest' | 'oldest';

export interface StreamTab {
  id: string;
  kind: 'stream';
  stream: string;
  filter?: ExplorerFilter;
  order?: SortOrder;
  /** Follow new events as they arrive (newest first: stay at the top). */
  live?: boolean;
}
export interface SqlTab {
  id: string;
  kind: 'sql';
  title: string;
  sql: string;
}
export interface ChartsTab {
  id: string;
  kind: 'charts';
  stream: string | null;
  field?: string;
}
export interface WelcomeTab {
  id: string;
  kind: 'welcome';
}
export type TabSpec = StreamTab | SqlTab | ChartsTab | WelcomeTab;

export interface UiState {
  activity: string;
  sideVisible: boolean;
  sideWidth: number;
  bottomVisible: boolean;
  bottomHeight: number;
  bottomTab: BottomTab;
  detailWidth: number;
  theme: ThemeSetting;
  tabs: TabSpec[];
  activeTab: string | null;
  selectedStream: string | null;
  /** JSON-path columns the user added, per stream. */
  columns: Record<string, string[]>;
  tourDone: boolean;
  tourStep: number;
  /** Was the tour offered on this browser profile yet (it opens once, on the demo workspace). */
  tourOffered: boolean;
}

export const STORAGE_KEY = 'eddy.ui.v1';

export const defaultUiState: UiState = {
  activity: 'explorer',
  sideVisible: true,
  sideWidth: 300,
  bottomVisible: false,
  bottomHeight: 220,
  bottomTab: 'output',
  detailWidth: 440,
  theme: 'system',
  tabs: [{ id: 'welcome', kind: 'welcome' }],
  activeTab: 'welcome',
  selectedStream: null,
  columns: {},
  tourDone: false,
  tourStep: 0,
  tourOffered: false,
};

const clamp = (value: unknown, min: number, max: number, fallback: number): number =>
  typeof value === 'number' && Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : fallback;

function isTab(value: unknown): value is TabSpec {
  if (!value || typeof value !== 'object') return false;
  const tab = value as Partial<TabSpec>;
  if (typeof tab.id !== 'string') return false;
  switch (tab.kind) {
    case 'stream':
      return typeof (tab as StreamTab).stream === 'string';
    case 'sql':
      return typeof (tab as SqlTab).sql === 'string' && typeof (tab as SqlTab).title === 'string';
    case 'charts':
      return (tab as ChartsTab).stream === null || typeof (tab as ChartsTab).stream === 'string';
    case 'welcome':
      return true;
    default:
      return false;
  }
}

/** Reads the saved state, keeping only what still makes sense (a damaged entry never breaks start-up). */
export function loadUiState(storage: { getItem(key: string): string | null } | undefined): UiState {
  let saved: Partial<UiState> = {};
  try {
    const text = storage?.getItem(STORAGE_KEY);
    if (text) saved = JSON.parse(text) as Partial<UiState>;
  } catch {
    saved = {};
  }
  const tabs = Array.isArray(saved.tabs) ? saved.tabs.filter(isTab).slice(0, 30) : defaultUiState.tabs;
  const activeTab = typeof saved.activeTab === 'string' && tabs.some((tab) => tab.id === saved.activeTab) ? saved.activeTab : (tabs[0]?.id ?? null);
  return {
    activity: typeof saved.activity === 'string' ? saved.activity : defaultUiState.activity,
    sideVisible: typeof saved.sideVisible === 'boolean' ? saved.sideVisible : true,
    sideWidth: clamp(saved.sideWidth, 180, 700, defaultUiState.sideWidth),
    bottomVisible: typeof saved.bottomVisible === 'boolean' ? saved.bottomVisible : false,
    bottomHeight: clamp(saved.bottomHeight, 100, 800, defaultUiState.bottomHeight),
    bottomTab: (['output', 'problems', 'dead-letters', 'jobs'] as const).includes(saved.bottomTab as BottomTab) ? (saved.bottomTab as BottomTab) : 'output',
    detailWidth: clamp(saved.detailWidth, 260, 1000, defaultUiState.detailWidth),
    theme: saved.theme === 'light' || saved.theme === 'dark' ? saved.theme : 'system',
    tabs,
    activeTab,
    selectedStream: typeof saved.selectedStream === 'string' ? saved.selectedStream : null,
    columns: saved.columns && typeof saved.columns === 'object' ? (saved.columns as Record<string, string[]>) : {},
    tourDone: saved.tourDone === true,
    tourStep: clamp(saved.tourStep, 0, 20, 0),
    tourOffered: saved.tourOffered === true,
  };
}

