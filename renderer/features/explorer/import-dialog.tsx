// "Import a JSON Lines file": a file the engine can read (absolute, or relative to the workspace
// folder), imported as a job with progress and cancel. Lines that are Eddy events keep their
// stream; plain JSON lines go to the stream named here.
import { useState, type JSX } from 'react';
import { engine } from '../../client/engine-client';
import { reportError } from '../../app/output';
import { createStore, useStore } from '../../app/store';
import { cancelJob, jobPercent, useJobs } from '../status/jobs';
import { formatCount } from './format';

const dialog = createStore<{ open: boolean }>({ open: false });

export function openImportDialog(): void {
  dialog.set({ open: true });
}

export function ImportDialog(): JSX.Element | null {
  const open = useStore(dialog, (state) => state.open);
  const [path, setPath] = useState('');
  const [stream, setStream] = useState('');
  const [jobId, setJobId] = useState<string>();
  const [busy, setBusy] = useState(false);
  const jobs = useJobs();
  if (!open) return null;
  const job = jobs.find((item) => item.id === jobId);
  const close = (): void => {
    dialog.set({ open: false });
    setJobId(undefined);
  };
  const start = async (): Promise<void> => {
    setBusy(true);
    try {
      const result = await engine.importFile({ path: path.trim(), ...(stream.trim() ? { stream: stream.trim() } : {}) });
      setJobId(result.jobId);
    } catch (failure) {
      reportError('Could not start the import', failure);
    } finally {
      setBusy(false);
    }
  };
  const percent = job ? jobPercent(job) : null;
  return (
    <div className="modal-backdrop" onMouseDown={close}>
      <form
        className="modal"
        role="dialog"
        aria-label="Import a JSON Lines file"
        onMouseDown={(event) => event.stopPropagation()}
        onKeyDown={(event) => event.key === 'Escape' && close()}
        onSubmit={(event) => {
          event.preventDefault();
          void start();
        }}
      >
        <h3>Import a JSON Lines file</h3>
        <p className="hint">One JSON document per line. Lines exported by Eddy (or any line with stream, position and eventTime) keep their stream; other lines become events of the stream you name. Importing the same file twice adds nothing.</p>
        <label>
          File
          <input autoFocus required value={path} onChange={(event) => setPath(event.target.value)} placeholder="/path/to/events.jsonl or samples/events.jsonl" aria-label="File path" />
        </label>
        <label>
          Stream for plain JSON lines (optional)
          <input value={stream} onChange={(event) => setStream(event.target.value)} placeholder="file:calls" aria-label="Stream for plain JSON lines" />
        </label>
        {job ? (
          <div className="job-inline" role="status">
            <progress max={100} value={percent ?? undefined} aria-label="Import progress" />
            <span>
              {job.state === 'running' ? `${percent ?? 0}% · ` : ''}
              {job.message ?? job.state}
              {job.state === 'running' && job.rate > 0 && job.unit === 'bytes' ? ` · ${formatCount(Math.round(job.rate / 1024))} KB/s` : ''}
            </span>
          </div>
        ) : null}
        <div className="actions">
          <span className="spacer" />
          {job?.state === 'running' ? (
            <button type="button" onClick={() => cancelJob(job.id)}>
              Cancel import
            </button>
          ) : null}
          <button type="button" onClick={close}>
            {job && job.state !== 'running' ? 'Close' : 'Hide'}
          </button>
          <button type="submit" className="primary" disabled={busy || job?.state === 'running' || path.trim() === ''}>
            Import
          </button>
        </div>
      </form>
    </div>
  );
}
