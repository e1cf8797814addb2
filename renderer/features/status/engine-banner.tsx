// Tells the user, in plain words, when the engine is not available and what happens next; after a
// crash it keeps saying what happened (until dismissed) so a brief restart is not missed.
import { useEffect, useState, type JSX } from 'react';
import type { EngineStatus } from '../../../shared/contract';

export function EngineBanner({ status }: { status: EngineStatus }): JSX.Element | null {
  const [lastCrash, setLastCrash] = useState<string>();
  useEffect(() => {
    if (status.state === 'crashed') setLastCrash(status.message ?? 'The engine stopped unexpectedly.');
  }, [status.state, status.message]);

  if (status.state === 'ready' || status.state === 'starting') {
    if (!lastCrash) return null;
    return (
      <div className="banner info" role="status" data-testid="engine-banner">
        <strong>Engine recovered</strong>
        <span>{lastCrash.replace(/ Restarting…$/, '')} It was restarted and is ready again.</span>
        <span className="spacer" />
        <button onClick={() => setLastCrash(undefined)}>Dismiss</button>
      </div>
    );
  }
  const text =
    status.message ??
    (status.state === 'restarting' ? 'The engine is restarting…' : status.state === 'crashed' ? 'The engine stopped unexpectedly.' : 'The engine is not running.');
  return (
    <div className={`banner ${status.state === 'restarting' ? 'info' : 'error'}`} role="alert" data-testid="engine-banner">
      <strong>{status.state === 'restarting' ? 'Engine restarting' : 'Engine unavailable'}</strong>
      <span>{status.state === 'restarting' && lastCrash ? `${lastCrash}` : text}</span>
    </div>
  );
}
