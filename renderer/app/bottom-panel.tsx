// The bottom panel: Output, Problems, Dead letters and Jobs, resizable and remembered.
import type { JSX } from 'react';
import { DeadLettersPanel, JobsPanel, OutputPanel, ProblemsPanel } from '../features/status/panels';
import { useJobs } from '../features/status/jobs';
import { useProblems } from '../features/status/problems';
import { isDeadLetterStream, useStreams } from '../features/explorer/streams';
import { ui, useUi, type BottomTab } from './ui-state';

export function BottomPanel({ engineReady }: { engineReady: boolean }): JSX.Element {
  const tab = useUi((state) => state.bottomTab);
  const problems = useProblems();
  const running = useJobs().filter((job) => job.state === 'running').length;
  const deadLetters = (useStreams().list ?? []).filter((item) => isDeadLetterStream(item.stream)).reduce((sum, item) => sum + item.count, 0);
  const tabs: [BottomTab, string][] = [
    ['output', 'Output'],
    ['problems', `Problems${problems.list.length ? ` (${problems.list.length})` : ''}`],
    ['dead-letters', `Dead letters${deadLetters ? ` (${deadLetters.toLocaleString('en')})` : ''}`],
    ['jobs', `Jobs${running ? ` (${running} running)` : ''}`],
  ];
  return (
    <section className="bottom-panel" aria-label="Panel">
      <div className="panel-tabs" role="tablist">
        {tabs.map(([id, label]) => (
          <button key={id} role="tab" aria-selected={tab === id} className={tab === id ? 'panel-tab active' : 'panel-tab'} onClick={() => ui.set({ bottomTab: id })}>
            {label}
          </button>
        ))}
        <span className="spacer" />
        <button className="icon-button" aria-label="Hide the panel" title="Hide the panel (Ctrl+J)" onClick={() => ui.set({ bottomVisible: false })}>
          ×
        </button>
      </div>
      <div className="panel-body" role="tabpanel">
        {tab === 'output' ? <OutputPanel /> : tab === 'problems' ? <ProblemsPanel /> : tab === 'jobs' ? <JobsPanel /> : <DeadLettersPanel engineReady={engineReady} />}
      </div>
    </section>
  );
}
