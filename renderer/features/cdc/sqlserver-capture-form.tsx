// The SQL Server capture form: pick a saved SQL Server connection (or type an mssql:// URL), test
// it, discover the CDC-enabled tables with their capture instances, keys and warnings (a stopped
// SQL Server Agent, two capture instances, columns not captured), choose tables and options
// (initial snapshot and its isolation, where to start), and start the capture.
import { useEffect, useState, type JSX } from 'react';
import type { ConnectionTestResult } from '../../../shared/contracts/connections';
import type { MssqlDiscovery } from '../../../shared/contracts/cdc';
import { engine } from '../../client/engine-client';
import { useAction, useLoad } from '../../app/use-engine';

type Target = { connectionId: string } | { url: string };

const box = { border: '1px solid var(--border)', borderRadius: 4, padding: 8, background: 'var(--panel)', display: 'grid', gap: 6 } as const;
const row = { display: 'flex', gap: 6, alignItems: 'center', flexWrap: 'wrap' } as const;
const agentColors: Record<MssqlDiscovery['agent']['state'], string> = { running: 'var(--ok)', 'not-needed': 'var(--ok)', stopped: 'var(--danger)', unknown: 'var(--warn)' };

export function SqlServerCaptureForm({ engineReady, onStarted }: { engineReady: boolean; onStarted?: (captureId: string) => void }): JSX.Element {
  const connections = useLoad(async () => (await engine.listConnections({})).filter((profile) => profile.kind === 'sqlserver'), [engineReady]);
  const [mode, setMode] = useState<'connection' | 'url'>('connection');
  const [connectionId, setConnectionId] = useState('');
  const [url, setUrl] = useState('');
  const [database, setDatabase] = useState<string | undefined>();
  const { busy, error, run: runAction } = useAction<'test' | 'discover' | 'start'>();
  const [tested, setTested] = useState<ConnectionTestResult | undefined>();
  const [discovery, setDiscovery] = useState<MssqlDiscovery | undefined>();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [snapshot, setSnapshot] = useState(false);
  const [isolation, setIsolation] = useState<'snapshot' | 'tablock'>('snapshot');
  const [startAt, setStartAt] = useState<'now' | 'earliest'>('now');
  const [name, setName] = useState('');

  useEffect(() => {
    if (mode === 'connection' && !connectionId && connections.data?.[0]) setConnectionId(connections.data[0].id);
    if (mode === 'connection' && connections.data && connections.data.length === 0) setMode('url');
  }, [connections.data, connectionId, mode]);

  const target = (): (Target & { database?: string }) | undefined => {
    const base: Target | undefined = mode === 'connection' ? (connectionId ? { connectionId } : undefined) : url.trim() ? { url: url.trim() } : undefined;
    return base && database ? { ...base, database } : base;
  };

  const run = (kind: 'test' | 'discover' | 'start', work: () => Promise<void>): Promise<void> => runAction(work, kind);

  const test = (): Promise<void> =>
    run('test', async () => {
      const chosen = target();
      if (!chosen) throw new Error('Choose a connection or type an mssql:// URL first.');
      setTested(await engine.mssqlTestConnection(chosen));
    });

  const discover = (): Promise<void> =>
    run('discover', async () => {
      const chosen = target();
      if (!chosen) throw new Error('Choose a connection or type an mssql:// URL first.');
      const found = await engine.mssqlDiscover(chosen);
      setDiscovery(found);
      setSelected(new Set());
      if (!found.snapshotIsolation) setIsolation('tablock');
    });

  const start = (): Promise<void> =>
    run('start', async () => {
      const chosen = target();
      if (!chosen) throw new Error('Choose a connection or type an mssql:// URL first.');
      if (selected.size === 0) throw new Error('Tick at least one table.');
      const started = await engine.mssqlStartCapture({
        ...chosen,
        tables: [...selected],
        snapshot,
        isolation,
        startAt,
        ...(name.trim() ? { name: name.trim() } : {}),
      });
      onStarted?.(started.captureId);
    });

  const toggle = (key: string): void => {
    const next = new Set(selected);
    if (next.has(key)) next.delete(key);
    else next.add(key);
    setSelected(next);
  };

  return (
    <form style={box} aria-label="SQL Server capture" onSubmit={(event) => { event.preventDefault(); void start(); }}>
      <div style={row} role="radiogroup" aria-label="Where to connect">
        <label style={row}>
          <input type="radio" checked={mode === 'connection'} onChange={() => setMode('connection')} disabled={!connections.data?.length} /> Saved connection
        </label>
        <label style={row}>
          <input type="radio" checked={mode === 'url'} onChange={() => setMode('url')} /> URL
        </label>
      </div>
      {mode === 'connection' ? (
        <select aria-label="SQL Server connection" value={connectionId} onChange={(event) => setConnectionId(event.target.value)}>
          {(connections.data ?? []).map((profile) => (
            <option key={profile.id} value={profile.id}>
              {profile.name} ({profile.kind === 'sqlserver' ? `${profile.host}:${profile.port}/${profile.database}` : ''}) · {profile.environment.label}
            </option>
          ))}
        </select>
      ) : (
        <>
          <input aria-label="SQL Server URL" className="mono" placeholder="mssql://user:${env:MSSQL_PASSWORD}@host:1433/database" value={url} onChange={(event) => setUrl(event.target.value)} />
          <span className="hint">Put the password in an environment variable and reference it as {'${env:NAME}'}; a typed password is used for this connection only and never stored.</span>
        </>
      )}
      <div style={row}>
        <button type="button" onClick={() => void test()} disabled={!engineReady || busy !== undefined}>
          {busy === 'test' ? 'Testing…' : 'Test connection'}
        </button>
        <button type="button" onClick={() => void discover()} disabled={!engineReady || busy !== undefined}>
          {busy === 'discover' ? 'Discovering…' : 'Discover CDC tables'}
        </button>
      </div>
      {tested ? (
        <div role="status" style={{ padding: 6, borderRadius: 3, background: tested.ok ? 'var(--ok-soft)' : 'var(--danger-soft)', color: tested.ok ? 'var(--ok)' : 'var(--danger)' }}>
          {tested.ok ? '✓ ' : `✗ ${tested.stage}: `}
          {tested.message}
        </div>
      ) : null}
      {discovery ? (
        <div style={{ display: 'grid', gap: 6 }}>
          <div style={row}>
            <strong>{discovery.database}</strong>
            <span className="dim">
              SQL Server {discovery.serverVersion} · {discovery.login} · UTC{discovery.timeZoneOffsetMinutes >= 0 ? '+' : '−'}
              {Math.abs(discovery.timeZoneOffsetMinutes / 60)}
              {discovery.retentionMinutes !== null ? ` · retention ${Math.round(discovery.retentionMinutes / 60)} h` : ''}
            </span>
            <span style={{ color: agentColors[discovery.agent.state] }} title={discovery.agent.message}>
              ● Agent {discovery.agent.state}
            </span>
          </div>
          {discovery.databases.filter((entry) => entry.cdcEnabled).length > 1 ? (
            <label style={row}>
              Database
              <select
                aria-label="CDC database"
                value={database ?? discovery.database}
                onChange={(event) => {
                  setDatabase(event.target.value);
                  setDiscovery(undefined);
                }}
              >
                {discovery.databases
                  .filter((entry) => entry.cdcEnabled)
                  .map((entry) => (
                    <option key={entry.name}>{entry.name}</option>
                  ))}
              </select>
            </label>
          ) : null}
          {discovery.warnings.map((warning) => (
            <div key={warning} role="note" style={{ background: 'var(--warn-soft)', color: 'var(--warn)', padding: 6, borderRadius: 3 }}>
              {warning}
            </div>
          ))}
          {discovery.tables.length > 0 ? (
            <ul aria-label="Captured tables" style={{ listStyle: 'none', margin: 0, padding: 0, display: 'grid', gap: 4 }}>
              {discovery.tables.map((table) => {
                const key = `${table.schema}.${table.table}`;
                const newest = table.captureInstances.at(-1);
                return (
                  <li key={key} style={{ border: '1px solid var(--border)', borderRadius: 3, padding: 6 }}>
                    <label style={row}>
                      <input type="checkbox" checked={selected.has(key)} onChange={() => toggle(key)} aria-label={`Capture ${key}`} />
                      <span className="badge sqlserver">table</span>
                      <strong>{key}</strong>
                      <span className="dim">
                        key {table.keyColumns.length ? table.keyColumns.join(', ') : 'none (null keys)'}
                        {table.estimatedRows !== null ? ` · ~${table.estimatedRows} rows` : ''} · {newest?.columns.length ?? 0} columns
                      </span>
                    </label>
                    <div className="hint mono">
                      {table.captureInstances.map((instance) => `${instance.name} from ${instance.startLsn}`).join('  →  ')}
                    </div>
                    {table.warnings.map((warning) => (
                      <div key={warning} className="hint" style={{ color: 'var(--warn)' }}>
                        {warning}
                      </div>
                    ))}
                  </li>
                );
              })}
            </ul>
          ) : null}
          <div style={row}>
            <label style={row}>
              <input type="checkbox" checked={snapshot} onChange={(event) => setSnapshot(event.target.checked)} /> Initial snapshot
            </label>
            <select aria-label="Snapshot isolation" value={isolation} disabled={!snapshot} onChange={(event) => setIsolation(event.target.value as 'snapshot' | 'tablock')}>
              <option value="snapshot" disabled={!discovery.snapshotIsolation}>
                snapshot isolation (never blocks writers)
              </option>
              <option value="tablock">table locks (exact; blocks writers while reading)</option>
            </select>
            <select aria-label="Start at" value={startAt} disabled={snapshot} onChange={(event) => setStartAt(event.target.value as 'now' | 'earliest')}>
              <option value="now">changes from now on</option>
              <option value="earliest">every change CDC still keeps</option>
            </select>
          </div>
          <label style={row}>
            Capture name
            <input aria-label="Capture name" placeholder="(default: database and tables)" value={name} onChange={(event) => setName(event.target.value)} />
            <span className="hint">The same name resumes from its stored position.</span>
          </label>
          <div style={row}>
            <button type="submit" className="primary" disabled={!engineReady || busy !== undefined || selected.size === 0}>
              {busy === 'start' ? 'Starting…' : `Capture ${selected.size || ''} table${selected.size === 1 ? '' : 's'}`}
            </button>
          </div>
        </div>
      ) : null}
      {error ? (
        <div role="alert" style={{ color: 'var(--danger)' }}>
          {error}
        </div>
      ) : null}
    </form>
  );
}
