// The status bar: engine state, running jobs with progress and a cancel, problems, the workspace,
// the theme, and the host mode, always visible.
import type { JSX } from 'react';
import type { AppInfo, EngineStatus } from '../../../shared/contract';
import { icons } from '../../app/icons';
import { showBottom, ui, useUi } from '../../app/ui-state';
import { cycleTheme } from '../../app/theme';
import { cancelJob, endVerb, jobPercent, useJobs } from './jobs';
import { useProblems } from './problems';

const labels: Record<EngineStatus['state'], string> = {
  starting: 'Engine starting…',
  ready: 'Engine ready',
  crashed: 'Engine crashed',
  restarting: 'Engine restarting…',
  stopped: 'Engine stopped',
};

export function StatusBar({ status, info, host }: { status: EngineStatus; info: AppInfo | undefined; host: 'desktop' | 'web' }): JSX.Element {
  const jobs = useJobs();
  const running = jobs.filter((job) => job.state === 'running');
  const problems = useProblems();
  const theme = useUi((state) => state.theme);
  const bottomVisible = useUi((state) => state.bottomVisible);
  const errors = problems.list.filter((problem) => problem.severity === 'error').length;
  const warnings = problems.list.filter((problem) => problem.severity === 'warning').length;
  const first = running[0];
  const percent = first ? jobPercent(first) : null;
  return (
    <footer className="status-bar" role="status">
      <span className={`engine-state ${status.state}`} data-testid="engine-state">
        <span className="dot" aria-hidden="true" />
        {labels[status.state]}
        {status.restarts > 0 ? ` · ${status.restarts} restart${status.restarts === 1 ? '' : 's'}` : ''}
      </span>
      <span>{info ? `Workspace: ${info.workspace.name}${info.workspace.isDemo ? ' (demo)' : ''}` : ''}</span>
      {first ? (
        <span className="status-job" data-testid="status-job">
          <button className="status-button" onClick={() => showBottom('jobs')} title="Show running jobs">
            <span className="spinner" aria-hidden="true" />
            {first.title}
            {percent !== null ? ` · ${percent}%` : ` · ${first.done.toLocaleString('en')} ${first.unit}`}
            {running.length > 1 ? ` (+${running.length - 1} more)` : ''}
          </button>
          {percent !== null ? <progress max={100} value={percent} aria-label={`${first.title} progress`} /> : null}
          <button className="status-button" onClick={() => cancelJob(first.id)} aria-label={`${endVerb(first)} ${first.title}`} title={`${endVerb(first)} ${first.title}`}>
            {endVerb(first)}
          </button>
        </span>
      ) : null}
      <span className="spacer" />
      <button className="status-button" onClick={() => showBottom('problems')} title="Show problems" aria-label={`${errors} errors, ${warnings} warnings`}>
        ⨯ {errors} ⚠ {warnings}
      </button>
      <button className="status-button" onClick={() => ui.set({ bottomVisible: !bottomVisible })} title="Toggle the bottom panel (Ctrl+J)" aria-label="Toggle the bottom panel">
        {icons.panel}
      </button>
      <button className="status-button" onClick={() => cycleTheme()} title={`Theme: ${theme} (click to change)`} aria-label={`Theme: ${theme}`} data-testid="theme-toggle">
        {theme === 'light' ? icons.sun : theme === 'dark' ? icons.moon : icons.auto} {theme === 'system' ? 'Auto' : theme === 'light' ? 'Light' : 'Dark'}
      </button>
      <span>{host === 'web' ? 'Web mode · 127.0.0.1' : 'Desktop'}</span>
      <span>{info ? `Eddy ${info.version}` : ''}</span>
    </footer>
  );
}
