// Kafka jobs of the engine (captures, replays, bulk produce): a progress bar with the rate, the
// job's own words (including "broker unreachable, retrying"), and Cancel.
import { useState, type JSX } from 'react';
import type { Job } from '../../../shared/contract';
import { openStream, ui } from '../../app/ui-state';
import { engine } from '../../client/engine-client';
import { endVerb } from '../status/jobs';
import { formatCount, formatRate, messageOf, useKafkaJobs } from './kafka-hooks';

function JobRow({ job }: { job: Job }): JSX.Element {
  const [cancelError, setCancelError] = useState<string | undefined>();
  const running = job.state === 'running';
  const fraction = job.total ? Math.min(1, job.done / job.total) : undefined;
  return (
    <li className={`kafka-job ${job.state}`} data-job={job.id} data-state={job.state}>
      <div className="kafka-job-line">
        <strong>{job.title}</strong>
        <span className="dim">
          {formatCount(job.done)}
          {job.total !== null ? ` / ${formatCount(job.total)}` : ''} {job.unit}
          {running ? ` · ${formatRate(job.rate)}` : ''}
        </span>
        <span className={`kafka-job-state ${job.state}`}>{job.state}</span>
        <span className="spacer" />
        {running ? (
          <button
            onClick={() => {
              engine.cancelJob({ id: job.id }).then(
                () => setCancelError(undefined),
                (failure: unknown) => setCancelError(messageOf(failure)),
              );
            }}
          >
            {endVerb(job)}
          </button>
        ) : null}
      </div>
      <div
        className={`kafka-progress${fraction === undefined && running ? ' indeterminate' : ''}`}
        role="progressbar"
        aria-label={job.title}
        aria-valuemin={0}
        aria-valuemax={job.total ?? undefined}
        aria-valuenow={job.done}
      >
        <div style={{ width: `${((fraction ?? (running ? 0 : 1)) * 100).toFixed(1)}%` }} />
      </div>
      {job.message || job.error ? <p className={job.state === 'failed' ? 'kafka-error' : 'hint'}>{job.error?.message ?? job.message}</p> : null}
      {job.streams && job.done > 0 ? (
        <p className="kafka-job-links">
          {job.streams.map((stream) => (
            <button
              key={stream}
              className="link-button"
              onClick={() => {
                ui.set({ activity: 'explorer' });
                openStream(stream);
              }}
            >
              Open {stream} in the Explorer
            </button>
          ))}
        </p>
      ) : null}
      {cancelError ? <p className="kafka-error">{cancelError}</p> : null}
    </li>
  );
}

export function KafkaJobs({ engineReady }: { engineReady: boolean }): JSX.Element | null {
  const jobs = useKafkaJobs(engineReady);
  const [showFinished, setShowFinished] = useState(true);
  if (jobs.length === 0) return null;
  const visible = showFinished ? jobs.slice(0, 8) : jobs.filter((job) => job.state === 'running');
  return (
    <section className="kafka-jobs" aria-label="Kafka jobs" data-testid="kafka-jobs">
      <div className="kafka-toolbar">
        <h3>Jobs</h3>
        <label className="kafka-check">
          <input type="checkbox" checked={showFinished} onChange={(event) => setShowFinished(event.target.checked)} /> show finished
        </label>
      </div>
      <ul>
        {visible.map((job) => (
          <JobRow key={job.id} job={job} />
        ))}
      </ul>
    </section>
  );
}
