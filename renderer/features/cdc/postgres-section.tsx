// The PostgreSQL part of the CDC view: pick a saved PostgreSQL connection (or type a
// postgres:// URL), test it, discover tables, slots and publications, choose tables and options
// (initial snapshot, slot name, when to stop), and start the capture. After a gap, "Re-snapshot"
// starts it again with a new slot and a fresh snapshot: an explicit choice, never automatic.
import { useEffect, useRef, useState, type JSX } from 'react';
import type { RequestOf } from '../../../shared/contract';
import type { PgDiscovery, SourceState } from '../../../shared/contracts/cdc';
import type { ConnectionTestResult } from '../../../shared/contracts/connections';
import { engine } from '../../client/engine-client';
import { useAction, useLoad } from '../../app/use-engine';
import { PostgresDiscovery, tableName } from './postgres-discovery';

type Target = { connectionId: string } | { url: string };

/** The database a start request names. */
function targetOf(request: { connectionId?: string | undefined; url?: string | undefined }): Target {
  return request.connectionId !== undefined ? { connectionId: request.connectionId } : { url: request.url ?? '' };
}

/** Compares targets (the follow-up below must not overwrite another database's discovery). */
function targetKey(target: Target | undefined): string {
  return !target ? '' : 'connectionId' in target ? `c:${target.connectionId}` : `u:${target.url.trim()}`;
}
type StartRequest = RequestOf<'pgStartCapture'>;


export function PostgresCdcSection({ engineReady }: { engineReady: boolean }): JSX.Element {
  const connections = useLoad(async () => (await engine.listConnections({})).filter((profile) => profile.kind === 'postgres'), [engineReady]);
  const [mode, setMode] = useState<'connection' | 'url'>('connection');
  const [connectionId, setConnectionId] = useState('');
  const [url, setUrl] = useState('');
  const { busy, error, run: runAction } = useAction<'test' | 'discover' | 'start' | 'identity' | 'drop'>();
  const [tested, setTested] = useState<ConnectionTestResult | undefined>();
  const [discovery, setDiscovery] = useState<PgDiscovery | undefined>();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [snapshot, setSnapshot] = useState(true);
  const [slotName, setSlotName] = useState('');
  const [stopWhen, setStopWhen] = useState<'never' | 'caught-up' | 'max'>('never');
  const [maxEvents, setMaxEvents] = useState('1000');
  const [lastStart, setLastStart] = useState<{ request: StartRequest; captureId: string; slotName: string } | undefined>();
  const [lastState, setLastState] = useState<SourceState | undefined>();

  useEffect(() => {
    if (mode === 'connection' && !connectionId && connections.data?.[0]) setConnectionId(connections.data[0].id);
    if (mode === 'connection' && connections.data && connections.data.length === 0) setMode('url');
  }, [connections.data, connectionId, mode]);

  const target = (): Target | undefined => (mode === 'connection' ? (connectionId ? { connectionId } : undefined) : url.trim() ? { url: url.trim() } : undefined);
  const currentTarget = useRef('');
  currentTarget.current = targetKey(target());

  // Follow the capture this form started: offer Re-snapshot when it reports a gap, and discover
  // again at each change of its state, so its slot shows as it is (active while it streams, no
  // Drop offered then; inactive once stopped). The server takes the slot a moment after the
  // capture reports "running", so a refresh for a running state retries until the slot is active.
  useEffect(() => {
    if (!lastStart) return;
    const chosen = targetOf(lastStart.request);
    const key = targetKey(chosen);
    let alive = true;
    let latest = 0;
    let previous: SourceState['state'] | undefined;
    const refresh = async (wantActive: boolean): Promise<void> => {
      const mine = ++latest;
      for (let attempt = 0; attempt < 20; attempt++) {
        const found = await engine.pgDiscover(chosen).catch(() => undefined);
        // A newer refresh, a closed form or another target: this result is not wanted.
        if (!alive || mine !== latest || currentTarget.current !== key) return;
        if (found) setDiscovery(found);
        const slot = found?.slots.find((entry) => entry.name === lastStart.slotName);
        if (!wantActive || !slot || slot.active) return;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    };
    const stop = engine.onSourceState((state) => {
      if (state.id !== lastStart.captureId) return;
      setLastState(state);
      if (state.state === previous) return;
      previous = state.state;
      void refresh(state.state === 'running' || state.state === 'caught-up' || state.state === 'lagging');
    });
    return () => {
      alive = false;
      stop();
    };
  }, [lastStart]);

  const run = (what: 'test' | 'discover' | 'start' | 'identity' | 'drop', work: () => Promise<void>): Promise<void> => runAction(work, what);

  const discover = (): Promise<void> =>
    run('discover', async () => {
      const chosen = target();
      if (!chosen) throw new Error('Choose a connection or type a postgres:// URL first.');
      const found = await engine.pgDiscover(chosen);
      setDiscovery(found);
      setSelected((current) => new Set([...current].filter((name) => found.tables.some((table) => tableName(table) === name))));
    });

  const test = (): Promise<void> =>
    run('test', async () => {
      const chosen = target();
      if (!chosen) throw new Error('Choose a connection or type a postgres:// URL first.');
      setTested(await engine.pgTestConnection(chosen));
    });

  const start = (request: StartRequest): Promise<void> =>
    run('start', async () => {
      const started = await engine.pgStartCapture(request);
      // The slot and publication it creates show once its state changes (see above).
      setLastStart({ request, captureId: started.captureId, slotName: started.slotName });
      setLastState(undefined);
    });

  const startNew = (): Promise<void> => {
    const chosen = target();
    if (!chosen) return run('start', async () => Promise.reject(new Error('Choose a connection or type a postgres:// URL first.')));
    const request: StartRequest = {
      ...chosen,
      tables: [...selected],
      snapshot,
      untilCaughtUp: stopWhen === 'caught-up',
      ...(stopWhen === 'max' && Number(maxEvents) > 0 ? { maxEvents: Math.floor(Number(maxEvents)) } : {}),
      ...(slotName.trim() ? { slotName: slotName.trim() } : {}),
    };
    return start(request);
  };

  const setFull = (table: string): Promise<void> =>
    run('identity', async () => {
      const chosen = target();
      if (!chosen) return;
      const updated = await engine.pgSetReplicaIdentity({ ...chosen, table, identity: 'full' });
      setDiscovery((current) => current && { ...current, tables: current.tables.map((entry) => (tableName(entry) === table ? updated : entry)) });
    });

  const dropSlot = (slot: string): Promise<void> =>
    run('drop', async () => {
      const chosen = target();
      if (!chosen) return;
      if (!window.confirm(`Drop replication slot ${slot}? A capture reading it would have to start again (with a snapshot) and would miss changes made meanwhile.`)) return;
      await engine.pgDropSlot({ ...chosen, slotName: slot });
      const found = await engine.pgDiscover(chosen);
      setDiscovery(found);
    });

  const gap = lastState?.state === 'gap-detected' ? lastState : undefined;

  return (
    <section className="pg-section" aria-label="PostgreSQL change data capture">
      <p className="hint">
        Logical decoding with PostgreSQL&apos;s built-in <code>pgoutput</code> plugin: a publication for the chosen tables and a replication slot. The slot&apos;s position moves only after the
        log has stored the changes, so a restart neither loses nor duplicates anything. Needs <code>wal_level = logical</code> and a user that may replicate.
      </p>
      <div className="pg-row">
        <label>
          <input type="radio" checked={mode === 'connection'} onChange={() => setMode('connection')} /> Connection
        </label>
        {/* Both stay editable: picking or typing in one makes it the source (a disabled field ignored clicks). */}
        <select
          aria-label="PostgreSQL connection"
          className={mode === 'connection' ? '' : 'pg-inactive'}
          value={connectionId}
          onFocus={() => setMode('connection')}
          onChange={(event) => {
            setMode('connection');
            setConnectionId(event.target.value);
          }}
        >
          {(connections.data ?? []).length === 0 ? <option value="">No PostgreSQL connection yet</option> : null}
          {(connections.data ?? []).map((profile) => (
            <option key={profile.id} value={profile.id}>
              {profile.name} ({profile.environment.label}) · {profile.host}:{profile.port}/{profile.database}
            </option>
          ))}
        </select>
        <label>
          <input type="radio" checked={mode === 'url'} onChange={() => setMode('url')} /> URL
        </label>
        <input
          aria-label="PostgreSQL URL"
          placeholder="postgres://user@host:5432/database"
          value={url}
          className={mode === 'url' ? 'pg-url' : 'pg-url pg-inactive'}
          onFocus={() => setMode('url')}
          onChange={(event) => {
            setMode('url');
            setUrl(event.target.value);
          }}
        />
      </div>
      <div className="pg-row">
        <button onClick={() => void test()} disabled={!engineReady || busy !== undefined}>
          {busy === 'test' ? 'Testing…' : 'Test connection'}
        </button>
        <button className="primary" onClick={() => void discover()} disabled={!engineReady || busy !== undefined}>
          {busy === 'discover' ? 'Discovering…' : 'Discover tables'}
        </button>
        {tested ? (
          <span className={tested.ok ? 'pg-test ok' : 'pg-test bad'} role="status">
            {tested.message}
          </span>
        ) : null}
      </div>
      {error ? (
        <div className="cdc-error" role="alert">
          {error}
        </div>
      ) : null}

      {discovery ? (
        <>
          <PostgresDiscovery
            discovery={discovery}
            selected={selected}
            busy={busy !== undefined}
            onToggle={(name) =>
              setSelected((current) => {
                const next = new Set(current);
                if (next.has(name)) next.delete(name);
                else next.add(name);
                return next;
              })
            }
            onSetFull={(table) => void setFull(table)}
            onDropSlot={(slot) => void dropSlot(slot)}
          />
          <div className="pg-options">
            <label className="inline">
              <input type="checkbox" checked={snapshot} onChange={(event) => setSnapshot(event.target.checked)} /> Read the current rows first (initial snapshot, consistent with the slot)
            </label>
            <label>
              Slot name <input value={slotName} placeholder="automatic" title="Empty: eddy_<database>_<hash of the tables>, the same for the same tables, so a capture started again continues from its slot" onChange={(event) => setSlotName(event.target.value)} />
            </label>
            <label>
              Stop
              <select value={stopWhen} onChange={(event) => setStopWhen(event.target.value as typeof stopWhen)}>
                <option value="never">when I stop it</option>
                <option value="caught-up">once caught up</option>
                <option value="max">after N events</option>
              </select>
              {stopWhen === 'max' ? <input aria-label="Events" className="pg-max" value={maxEvents} onChange={(event) => setMaxEvents(event.target.value)} /> : null}
            </label>
            <button className="primary" disabled={!engineReady || busy !== undefined || selected.size === 0} onClick={() => void startNew()}>
              {busy === 'start' ? 'Starting…' : `Capture ${selected.size} table${selected.size === 1 ? '' : 's'}`}
            </button>
          </div>
        </>
      ) : null}

      {gap && lastStart ? (
        <div className="cdc-gap" role="alert">
          The capture stopped: changes between <code>{gap.gap?.from}</code> and <code>{gap.gap?.to}</code> are gone from the server. Re-snapshot drops the slot, creates a new one and reads the
          tables&apos; current rows, then streams again.{' '}
          <button disabled={busy !== undefined} onClick={() => void start({ ...lastStart.request, resetSlot: true, snapshot: true })}>
            Re-snapshot
          </button>
        </div>
      ) : null}
    </section>
  );
}
