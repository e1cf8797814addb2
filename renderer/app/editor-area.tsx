// The editor area: tabs for streams, SQL queries and charts (plus the welcome page), restored on
// restart. Only the active tab is mounted; middle-click or × closes a tab.
import { type JSX } from 'react';
import { ChartsView } from '../features/charts/charts-view';
import { SqlView } from '../features/explorer/sql-view';
import { StreamView } from '../features/explorer/stream-view';
import { streamLabel } from '../features/explorer/format';
import { icons } from './icons';
import { closeTab, ui, useUi, type TabSpec } from './ui-state';
import { Welcome } from './welcome';
import type { AppInfo } from '../../shared/contract';

function tabTitle(tab: TabSpec): string {
  switch (tab.kind) {
    case 'stream':
      return streamLabel(tab.stream).name;
    case 'sql':
      return tab.title;
    case 'charts':
      return tab.stream ? `Charts · ${streamLabel(tab.stream).name}` : 'Charts';
    case 'welcome':
      return 'Welcome';
  }
}

function tabIcon(tab: TabSpec): JSX.Element {
  switch (tab.kind) {
    case 'stream':
      return icons.stream;
    case 'sql':
      return icons.sql;
    case 'charts':
      return icons.chart;
    case 'welcome':
      return icons.home;
  }
}

export function EditorArea({ engineReady, info }: { engineReady: boolean; info: AppInfo | undefined }): JSX.Element {
  const tabs = useUi((state) => state.tabs);
  const activeId = useUi((state) => state.activeTab);
  const active = tabs.find((tab) => tab.id === activeId);
  return (
    <div className="editor-area">
      {tabs.length > 0 ? (
        <div className="tab-strip" role="tablist" aria-label="Open editors">
          {tabs.map((tab) => (
            <div
              key={tab.id}
              role="tab"
              tabIndex={tab.id === activeId ? 0 : -1}
              aria-selected={tab.id === activeId}
              className={tab.id === activeId ? 'tab active' : 'tab'}
              title={tab.kind === 'stream' ? tab.stream : tabTitle(tab)}
              data-tab-kind={tab.kind}
              onClick={() => ui.set({ activeTab: tab.id, ...(tab.kind === 'stream' ? { selectedStream: tab.stream } : {}) })}
              onAuxClick={(event) => event.button === 1 && closeTab(tab.id)}
              onKeyDown={(event) => {
                if (event.key === 'Enter' || event.key === ' ') ui.set({ activeTab: tab.id });
              }}
            >
              <span className="tab-icon">{tabIcon(tab)}</span>
              <span className="tab-title">{tabTitle(tab)}</span>
              <button
                className="tab-close"
                aria-label={`Close ${tabTitle(tab)}`}
                onClick={(event) => {
                  event.stopPropagation();
                  closeTab(tab.id);
                }}
              >
                ×
              </button>
            </div>
          ))}
        </div>
      ) : null}
      <div className="tab-body" role="tabpanel">
        {!active ? (
          <Welcome info={info} />
        ) : active.kind === 'stream' ? (
          <StreamView key={active.id} tab={active} engineReady={engineReady} />
        ) : active.kind === 'sql' ? (
          <SqlView key={active.id} tab={active} engineReady={engineReady} />
        ) : active.kind === 'charts' ? (
          <ChartsView key={active.id} tab={active} engineReady={engineReady} />
        ) : (
          <Welcome info={info} />
        )}
      </div>
    </div>
  );
}
