// The Change data capture view: every capture of this engine with its source state, live
// (starting, snapshotting, running, caught up, lagging by N, gap detected with the lost range,
// error, stopped), its events, rate and stored position, and Stop; below, the source forms
// (PostgreSQL, SQL Server) that discover tables and start captures.
import { useEffect, useState, type JSX } from 'react';
import { EddyError } from '../../../shared/contract';
import type { SourceState } from '../../../shared/contracts/cdc';
import { engine } from '../../client/engine-client';
import { PostgresCdcSection } from './postgres-section';
import { SqlServerCdcSection } from './sqlserver-section';
import './cdc-panel.css';

const ACTIVE = new Set<SourceState['state']>(['starting', 'snapshotting', 'running', 'caught-up', 'lagging']);

const stateLabels: Record<SourceState['state'], string> = {
  starting: 'starting',
  snapshotting: 'snapshotting',
  running: 'running',
  'caught-up': 'caught up',
  lagging: 'lagging',
  'gap-detected': 'gap detected',
  error: 'error',
  stopped: 'stopped',
};

function bytes(value: number): string {
  if (value >= 1024 ** 3) return `${(value / 1024 ** 3).toFixed(1)} GB`;
  if (value >= 1024 ** 2) return `${(value / 1024 ** 2).toFixed(1)} MB`;
  if (value >= 1024) return `${(value / 1024).toFixed(0)} kB`;
  return `${value} B`;
}

/** "lagging by 12.3 MB of WAL, 4 s" / "by 120 events": whatever the source can tell. */
export function lagText(state: SourceState): string {
  const parts: string[] = [];
  if (state.lagEvents) parts.push(`${state.lagEvents.toLocaleString()} events`);
  if (state.lagBytes) parts.push(`${bytes(state.lagBytes)} of log`);
  if (state.lagMs && state.lagMs >= 1000) parts.push(`${(state.lagMs / 1000).toFixed(0)} s`);
  return parts.length ? `by ${parts.join(', ')}` : '';
}

function rateText(rate: number | undefined): string {
  if (!rate) return '';
  return rate >= 1000 ? `${(rate / 1000).toFixed(1)}k events/s` : `${Math.round(rate)} events/s`;
}

/** Live list of the engine's captures: initial list, then `onSourceState` pushes. */
export function useCaptures(engineReady: boolean): { captures: SourceState[]; error: string | undefined; rates: Record<string, number> } {
  const [captures, setCaptures] = useState<SourceState[]>([]);
  const [rates, setRates] = useState<Record<string, number>>({});
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    if (!engineReady) return;
    let alive = true;
    engine.listCaptures({}).then(
      (list) => {
        if (!alive) return;
        setCaptures(list.slice().reverse());
        setError(undefined);
      },
      (failure: unknown) => alive && setError(failure instanceof Error ? failure.message : String(failure)),
    );
    const stopStates = engine.onSourceState((state) =>
      setCaptures((current) => {
        const index = current.findIndex((capture) => capture.id === state.id);
        if (index < 0) return [state, ...current];
        const next = current.slice();
        next[index] = state;
        return next;
      }),
    );
    const stopJobs = engine.onJobProgress((job) => setRates((current) => ({ ...current, [job.id]: job.state === 'running' ? job.rate : 0 })));
    return () => {
      alive = false;
      stopStates();
      stopJobs();
    };
  }, [engineReady]);
  return { captures, error, rates };
}

function CaptureRow(props: { capture: SourceState; rate: number | undefined; onStop: () => void; onResume: () => void; onResnapshot: () => void; busy: boolean }): JSX.Element {
  const { capture, rate, onStop, onResume, busy } = props;
  const lag = capture.state === 'lagging' ? lagText(capture) : '';
  return (
    <li className={`cdc-capture state-${capture.state}`} data-capture={capture.id} data-state={capture.state}>
      <div className="cdc-capture-head">
        <span className={`badge ${capture.kind}`}>{capture.kind}</span>
        <strong className="cdc-capture-title">{capture.title}</strong>
        <span className={`cdc-state ${capture.state}`} role="status" aria-label={`state: ${stateLabels[capture.state]}`}>
          {stateLabels[capture.state]}
          {lag ? ` ${lag}` : ''}
        </span>
        {ACTIVE.has(capture.state) ? (
          <button onClick={onStop} disabled={busy} title="Stop: store and acknowledge what was read, then end">
            Stop
          </button>
        ) : capture.resumable && (capture.state === 'stopped' || capture.state === 'error') ? (
          <button onClick={onResume} disabled={busy} title="Start again with the same tables and options, from the position the log stored (a snapshot only if the first start never got to take it)">
            Resume
          </button>
        ) : capture.canResnapshot && capture.state === 'gap-detected' ? (
          <button
            onClick={() => {
              const what = capture.kind === 'postgres' ? 'drops the replication slot, creates a new one' : 'sets the stored position aside';
              if (window.confirm(`Re-snapshot "${capture.title}"? This ${what} and reads the tables' current rows again before streaming. Events already in the log are kept.`)) props.onResnapshot();
            }}
            disabled={busy}
            title="Start over: a new snapshot of the tables, then streaming (what recovers from a gap)"
          >
            Re-snapshot…
          </button>
        ) : null}
      </div>
      <div className="cdc-capture-meta dim">
        {capture.events.toLocaleString()} {capture.events === 1 ? 'event' : 'events'}{rate ? ` · ${rateText(rate)}` : ''}
        {capture.position ? ` · stored up to ${capture.position}` : ''}
        {capture.streams.length ? ` · ${capture.streams.join(', ')}` : ''}
      </div>
      {capture.state === 'gap-detected' && capture.gap ? (
        <div className="cdc-gap" role="alert">
          Changes between <code>{capture.gap.from}</code> and <code>{capture.gap.to}</code> can no longer be read from the source. {capture.gap.recommendation ?? ''}
        </div>
      ) : null}
      {capture.message && capture.state !== 'gap-detected' ? <div className={capture.state === 'error' ? 'cdc-error' : 'cdc-message dim'}>{capture.message}</div> : null}
      {(capture.warnings ?? []).map((warning) => (
        <div key={warning} className="cdc-warning" role="status" data-testid="capture-warning">
          ⚠ {warning}
        </div>
      ))}
    </li>
  );
}

export function CaptureList({ engineReady }: { engineReady: boolean }): JSX.Element {
  const { captures, error, rates } = useCaptures(engineReady);
  const [busy, setBusy] = useState<string | undefined>();
  const [stopError, setStopError] = useState<string | undefined>();
  const act = async (id: string, action: (request: { id: string }) => Promise<unknown>): Promise<void> => {
    setBusy(id);
    setStopError(undefined);
    try {
      await action({ id });
    } catch (failure) {
      setStopError(failure instanceof EddyError || failure instanceof Error ? failure.message : String(failure));
    } finally {
      setBusy(undefined);
    }
  };
  return (
    <section className="cdc-captures" aria-label="Captures">
      <h3>Captures</h3>
      {error ? <div className="cdc-error">{error}</div> : null}
      {stopError ? <div className="cdc-error">{stopError}</div> : null}
      {captures.length === 0 ? (
        <p className="hint">No capture in this session yet. Pick a source below, discover its tables and start one; its state shows here.</p>
      ) : (
        <ul className="cdc-capture-list">
          {captures.map((capture) => (
            <CaptureRow
              key={capture.id}
              capture={capture}
              rate={capture.jobId ? rates[capture.jobId] : undefined}
              busy={busy === capture.id}
              onStop={() => void act(capture.id, (request) => engine.stopCapture(request))}
              onResume={() => void act(capture.id, (request) => engine.resumeCapture(request))}
              onResnapshot={() => void act(capture.id, (request) => engine.resnapshotCapture(request))}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

type Source = 'postgres' | 'sqlserver';

export function CdcPanel({ engineReady }: { engineReady: boolean }): JSX.Element {
  const [source, setSource] = useState<Source>('postgres');
  return (
    <div className="cdc-panel">
      <header className="cdc-panel-head">
        <h2>Change data capture</h2>
        <p className="hint">Every insert, update and delete of the chosen tables goes to the local event log in the Debezium envelope, in commit order, with its commit time as event time.</p>
      </header>
      <CaptureList engineReady={engineReady} />
      <nav className="cdc-sources" aria-label="Source">
        <button className={source === 'postgres' ? 'toggle active' : 'toggle'} aria-pressed={source === 'postgres'} onClick={() => setSource('postgres')}>
          PostgreSQL
        </button>
        <button className={source === 'sqlserver' ? 'toggle active' : 'toggle'} aria-pressed={source === 'sqlserver'} onClick={() => setSource('sqlserver')}>
          SQL Server
        </button>
      </nav>
      {source === 'postgres' ? <PostgresCdcSection engineReady={engineReady} /> : <SqlServerCdcSection engineReady={engineReady} />}
    </div>
  );
}
