// The workbench shell: activity bar, side panel, editor area with tabs, bottom panel (output,
// problems, dead letters, jobs), status bar, command palette, guided tour and the engine banner.
// Features plug their views into the activity slots (activities.tsx); the layout, the open tabs
// and the theme are restored on restart (ui-state.ts).
import { Suspense, useEffect, type JSX } from 'react';
import type { AppInfo } from '../../shared/contract';
import { engine, hostKind } from '../client/engine-client';
import { EngineBanner } from '../features/status/engine-banner';
import { StatusBar } from '../features/status/status-bar';
import { useJobsFeed } from '../features/status/jobs';
import { useProblemsFeed } from '../features/status/problems';
import { useStreamsFeed } from '../features/explorer/streams';
import { ImportDialog } from '../features/explorer/import-dialog';
import { revealEvent } from '../features/explorer/download';
import { parseEventLink } from '../features/explorer/event-link';
import { CommandPalette } from '../features/palette/command-palette';
import { runCommand } from '../features/palette/commands';
import { Tour } from '../features/tour/tour';
import { activities, activityById, type Activity } from './activities';
import { BottomPanel } from './bottom-panel';
import { EditorArea } from './editor-area';
import { Notices } from './notices';
import { Sash } from './sash';
import { useThemeAttribute } from './theme';
import { ui, useUi } from './ui-state';
import { useEngineStatus, useLoad } from './use-engine';
import { useWorkbenchCommands } from './workbench-commands';

function ActivityView({ activity, engineReady }: { activity: Activity; engineReady: boolean }): JSX.Element {
  const { Panel, empty } = activity;
  if (Panel) {
    return (
      <Suspense fallback={<div className="empty-state dim">Loading {activity.label}…</div>}>
        <Panel engineReady={engineReady} />
      </Suspense>
    );
  }
  return (
    <div className="activity-empty" data-testid={`empty-${activity.id}`}>
      <h2>{empty?.title ?? activity.label}</h2>
      <p>{empty?.text ?? 'Not available in this build yet.'}</p>
      <p className="hint">This view is not part of this build yet{activity.file ? ` (it arrives as ${activity.file})` : ''}. Meanwhile:</p>
      <div className="actions">
        {(empty?.next ?? []).map((next) => (
          <button key={next.command} onClick={() => runCommand(next.command)}>
            {next.label}
          </button>
        ))}
      </div>
    </div>
  );
}

export function App(): JSX.Element {
  const status = useEngineStatus();
  const ready = status.state === 'ready';
  // Re-read what depends on the engine whenever it (re)starts.
  const info = useLoad<AppInfo>(() => engine.getAppInfo({}), [ready, status.pid]);
  const activityId = useUi((state) => state.activity);
  const sideVisible = useUi((state) => state.sideVisible);
  const sideWidth = useUi((state) => state.sideWidth);
  const bottomVisible = useUi((state) => state.bottomVisible);
  const bottomHeight = useUi((state) => state.bottomHeight);
  const activity = activityById(activityId);
  useThemeAttribute();
  useStreamsFeed(ready);
  useJobsFeed(ready);
  useProblemsFeed(ready);
  useWorkbenchCommands();

  useEffect(() => {
    document.title = info.data ? `${info.data.workspace.name} · Eddy` : 'Eddy';
  }, [info.data]);

  // An event link in the address (web mode: #event?stream=…&position=…) opens that event.
  useEffect(() => {
    if (!ready) return;
    const link = parseEventLink(location.hash.slice(1));
    if (link) {
      revealEvent(link.stream, link.position);
      history.replaceState(null, '', `${location.pathname}${location.search}`);
    }
  }, [ready]);

  const side = activity.placement === 'side' && sideVisible;
  return (
    <div className="shell" data-engine-state={status.state} style={{ gridTemplateColumns: side ? `48px ${sideWidth}px 1fr` : '48px 0 1fr' }}>
      <nav className="activity-bar" aria-label="Activities">
        {activities.map((item) => (
          <button
            key={item.id}
            className={item.id === activity.id ? 'activity active' : 'activity'}
            title={`${item.label} (${item.keys})`}
            aria-label={item.label}
            aria-pressed={item.id === activity.id}
            data-activity={item.id}
            onClick={() => ui.set((state) => ({ ...state, activity: item.id, sideVisible: state.activity === item.id && item.placement === 'side' ? !state.sideVisible : true }))}
          >
            {item.icon}
            {!item.Panel ? <span className="activity-soon" aria-hidden="true" /> : null}
          </button>
        ))}
        <span className="spacer" />
        <button className="activity" title="Command palette (Ctrl+Shift+P)" aria-label="Command palette" onClick={() => runCommand('workbench.palette')}>
          <span aria-hidden="true">⌘</span>
        </button>
      </nav>
      {side ? (
        <aside className="side-panel" aria-label={`${activity.label} panel`}>
          <header className="panel-title">
            <span>{activity.label}</span>
          </header>
          <div className="side-body">
            <ActivityView activity={activity} engineReady={ready} />
          </div>
          <Sash direction="vertical" size={sideWidth} min={180} max={700} label="Resize the side bar" onResize={(size) => ui.set({ sideWidth: size })} />
        </aside>
      ) : (
        <span />
      )}
      <main className="workbench-main">
        <EngineBanner status={status} />
        {activity.placement === 'main' ? (
          <div className="main-activity" aria-label={activity.label}>
            <ActivityView activity={activity} engineReady={ready} />
          </div>
        ) : (
          <EditorArea engineReady={ready} info={info.data} />
        )}
        {bottomVisible ? (
          <div className="bottom-wrap" style={{ height: bottomHeight }}>
            <Sash direction="horizontal" size={bottomHeight} min={100} max={800} invert label="Resize the bottom panel" onResize={(size) => ui.set({ bottomHeight: size })} />
            <BottomPanel engineReady={ready} />
          </div>
        ) : null}
      </main>
      <StatusBar status={status} info={info.data} host={hostKind} />
      <CommandPalette />
      <ImportDialog />
      <Notices />
      <Tour isDemo={info.data?.workspace.isDemo ?? false} />
    </div>
  );
}
