// The bottom panel's views: Output (what the workbench did), Problems (what the engine reports),
// Jobs (long work with progress and cancel) and Dead letters (records a pipeline stage rejected,
// from the log's dead-letter streams).
import { useEffect, useRef, useState, type JSX } from 'react';
import { output } from '../../app/output';
import { useStore } from '../../app/store';
import { StreamView } from '../explorer/stream-view';
import { formatCount, formatTime } from '../explorer/format';
import { isDeadLetterStream, useStreams } from '../explorer/streams';
import { cancelJob, endVerb, jobPercent, useJobs } from './jobs';
import { markProblemsSeen, useProblems } from './problems';

export function OutputPanel(): JSX.Element {
  const lines = useStore(output, (state) => state.lines);
  const end = useRef<HTMLDivElement>(null);
  useEffect(() => end.current?.scrollIntoView({ block: 'end' }), [lines.length]);
  if (lines.length === 0) return <div className="empty-state dim">Nothing yet. Queries, imports, exports and finished jobs are logged here.</div>;
  return (
    <div className="output-lines" role="log" aria-label="Output">
      {lines.map((line) => (
        <div key={line.id} className={`output-line ${line.level}`}>
          <span className="dim mono">{new Date(line.at).toISOString().slice(11, 19)}</span> <span className="output-source">[{line.source}]</span> {line.message}
        </div>
      ))}
      <div ref={end} />
    </div>
  );
}

export function ProblemsPanel(): JSX.Element {
  const problems = useProblems();
  useEffect(() => markProblemsSeen(), [problems.list.length]);
  if (problems.list.length === 0) return <div className="empty-state dim">No problems. Quarantined files, paused appends and failed captures would show here.</div>;
  return (
    <ul className="problem-list" aria-label="Problems">
      {[...problems.list].reverse().map((problem) => (
        <li key={`${problem.id}-${problem.at}`} className={`problem ${problem.severity}`}>
          <span className="problem-icon" aria-label={problem.severity}>
            {problem.severity === 'error' ? '⨯' : problem.severity === 'warning' ? '⚠' : 'ℹ'}
          </span>
          <span className="problem-source">{problem.source}</span>
          <span className="problem-message">{problem.message}</span>
          <span className="dim mono">{formatTime(problem.at)}</span>
        </li>
      ))}
    </ul>
  );
}

export function JobsPanel(): JSX.Element {
  const jobs = useJobs();
  if (jobs.length === 0) return <div className="empty-state dim">No jobs. Imports, exports, captures and pipeline runs appear here with their progress and a Cancel button.</div>;
  return (
    <ul className="job-list" aria-label="Jobs">
      {[...jobs].reverse().map((job) => {
        const percent = jobPercent(job);
        return (
          <li key={job.id} className={`job ${job.state}`} data-job={job.id}>
            <span className="job-title">{job.title}</span>
            <span className={`job-state ${job.state}`}>{job.state}</span>
            {job.state === 'running' ? <progress max={100} value={percent ?? undefined} aria-label={`${job.title} progress`} /> : <span />}
            <span className="dim">
              {percent !== null && job.state === 'running' ? `${percent}% · ` : ''}
              {job.message ?? `${formatCount(job.done)} ${job.unit}`}
              {job.state === 'running' && job.rate > 0 ? ` · ${formatCount(Math.round(job.rate))} ${job.unit}/s` : ''}
            </span>
            {job.state === 'running' ? (
              <button onClick={() => cancelJob(job.id)} aria-label={`${endVerb(job)} ${job.title}`}>
                {endVerb(job)}
              </button>
            ) : (
              <span />
            )}
          </li>
        );
      })}
    </ul>
  );
}

export function DeadLettersPanel({ engineReady }: { engineReady: boolean }): JSX.Element {
  const streams = useStreams();
  const [chosen, setChosen] = useState<string>();
  const dead = (streams.list ?? []).filter((item) => isDeadLetterStream(item.stream));
  if (dead.length === 0) {
    return (
      <div className="empty-state">
        <p>No dead letters.</p>
        <p className="hint">When a pipeline stage fails on a record, the record is set aside in a dead-letter stream (for example `dead-letters`) with the reason, its origin and the stage, instead of stopping the pipeline. They show up here.</p>
      </div>
    );
  }
  const stream = dead.find((item) => item.stream === chosen)?.stream ?? dead[0]!.stream;
  return (
    <div className="dead-letters-panel">
      <div className="dead-letters-title">
        <select aria-label="Dead-letter stream" value={stream} onChange={(event) => setChosen(event.target.value)}>
          {dead.map((item) => (
            <option key={item.stream} value={item.stream}>
              {item.stream} ({formatCount(item.count)})
            </option>
          ))}
        </select>{' '}
        <span className="dim">Each record keeps the reason, its origin and the stage that rejected it.</span>
      </div>
      <StreamView key={stream} tab={{ id: `dead-letters:${stream}`, kind: 'stream', stream }} engineReady={engineReady} compact />
    </div>
  );
}
