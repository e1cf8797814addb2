// The SQL Server captures of this engine and their source state, live: running, caught up, lagging
// (by how many transactions, how many seconds), gap detected (with the lost LSN range and a
// Re-snapshot button), error, stopped; events, rate and the stored position; Stop while it runs.
import { useEffect, useState, type JSX } from 'react';
import { EddyError } from '../../../shared/contract';
import type { SourceState } from '../../../shared/contracts/cdc';
import { engine } from '../../client/engine-client';

const stateColors: Record<SourceState['state'], { color: string; background: string }> = {
  starting: { color: 'var(--dim)', background: 'var(--panel-2)' },
  snapshotting: { color: 'var(--accent-text)', background: 'var(--accent-soft)' },
  running: { color: 'var(--accent-text)', background: 'var(--accent-soft)' },
  'caught-up': { color: 'var(--ok)', background: 'var(--ok-soft)' },
  lagging: { color: 'var(--warn)', background: 'var(--warn-soft)' },
  'gap-detected': { color: 'var(--danger)', background: 'var(--danger-soft)' },
  error: { color: 'var(--danger)', background: 'var(--danger-soft)' },
  stopped: { color: 'var(--dim)', background: 'var(--panel-2)' },
};

const ACTIVE = new Set<SourceState['state']>(['starting', 'snapshotting', 'running', 'caught-up', 'lagging']);

function rateText(rate: number | undefined): string {
  if (!rate) return '';
  return rate >= 1000 ? ` · ${(rate / 1000).toFixed(1)}k events/s` : ` · ${Math.round(rate)} events/s`;
}

export function SqlServerCaptureStatus({ engineReady, highlight }: { engineReady: boolean; highlight?: string | undefined }): JSX.Element {
  const [captures, setCaptures] = useState<SourceState[]>([]);
  const [rates, setRates] = useState<Record<string, number>>({});
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState<string | undefined>();

  useEffect(() => {
    if (!engineReady) return;
    let alive = true;
    engine.listCaptures({}).then(
      (list) => alive && setCaptures(list.filter((capture) => capture.kind === 'sqlserver')),
      (failure: unknown) => alive && setError(failure instanceof Error ? failure.message : String(failure)),
    );
    const stopStates = engine.onSourceState((state) => {
      if (state.kind !== 'sqlserver') return;
      setCaptures((current) => {
        const index = current.findIndex((capture) => capture.id === state.id);
        if (index < 0) return [state, ...current];
        const next = [...current];
        next[index] = state;
        return next;
      });
    });
    const stopJobs = engine.onJobProgress((job) => setRates((current) => ({ ...current, [job.id]: job.state === 'running' ? job.rate : 0 })));
    return () => {
      alive = false;
      stopStates();
      stopJobs();
    };
  }, [engineReady]);

  const act = async (id: string, work: () => Promise<unknown>): Promise<void> => {
    setBusy(id);
    setError(undefined);
    try {
      await work();
    } catch (failure) {
      setError(failure instanceof EddyError || failure instanceof Error ? failure.message : String(failure));
    } finally {
      setBusy(undefined);
    }
  };

  if (captures.length === 0) {
    return <p className="hint">No SQL Server capture in this session yet.</p>;
  }
  return (
    <div style={{ display: 'grid', gap: 6 }}>
      {error ? (
        <div role="alert" style={{ color: 'var(--danger)' }}>
          {error}
        </div>
      ) : null}
      <ul aria-label="SQL Server captures" style={{ listStyle: 'none', margin: 0, padding: 0, display: 'grid', gap: 6 }}>
        {captures.map((capture) => {
          const colors = stateColors[capture.state];
          const active = ACTIVE.has(capture.state);
          return (
            <li
              key={capture.id}
              data-capture={capture.id}
              data-state={capture.state}
              style={{ border: `1px solid ${capture.id === highlight ? 'var(--accent)' : 'var(--border)'}`, borderRadius: 4, padding: 8, background: 'var(--panel)', display: 'grid', gap: 4 }}
            >
              <div style={{ display: 'flex', gap: 6, alignItems: 'center', flexWrap: 'wrap' }}>
                <span role="status" style={{ ...colors, borderRadius: 8, padding: '0 8px', fontSize: 11, fontWeight: 600 }}>
                  {capture.state}
                </span>
                <strong>{capture.title}</strong>
                <span className="dim">
                  {capture.events} events{rateText(capture.jobId ? rates[capture.jobId] : undefined)}
                  {capture.state === 'lagging' && capture.lagMs ? ` · ${Math.round(capture.lagMs / 1000)} s behind` : ''}
                </span>
                <span style={{ flex: 1 }} />
                {active ? (
                  <button type="button" disabled={busy === capture.id} onClick={() => void act(capture.id, () => engine.stopCapture({ id: capture.id }))}>
                    Stop
                  </button>
                ) : null}
              </div>
              {capture.message ? <div className="hint">{capture.message}</div> : null}
              {capture.position ? (
                <div className="hint">
                  stored position <span className="mono">{capture.position}</span>
                </div>
              ) : null}
              {capture.state === 'gap-detected' && capture.gap ? (
                <div role="alert" style={{ background: 'var(--danger-soft)', color: 'var(--danger)', padding: 6, borderRadius: 3, display: 'grid', gap: 4 }}>
                  <span>
                    Changes from LSN <span className="mono">{capture.gap.from}</span> up to <span className="mono">{capture.gap.to}</span> can no longer be read.
                  </span>
                  {capture.gap.recommendation ? <span>{capture.gap.recommendation}</span> : null}
                  <div>
                    <button type="button" className="primary" disabled={busy === capture.id} onClick={() => void act(capture.id, () => engine.mssqlResnapshot({ captureId: capture.id }))}>
                      Re-snapshot
                    </button>
                  </div>
                </div>
              ) : null}
              {capture.state === 'error' && capture.error ? (
                <div role="alert" style={{ color: 'var(--danger)' }}>
                  {capture.error.code}: {capture.error.message}
                </div>
              ) : null}
            </li>
          );
        })}
      </ul>
    </div>
  );
}
