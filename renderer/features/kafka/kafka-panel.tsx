// The Kafka view: pick a cluster (a saved connection, its environment colour on show, or quick
// brokers), then browse topics (partitions, watermarks, messages, configs), consumer groups (lag,
// time lag, lag over time), capture a topic into the event log, produce, replay a stream and bulk
// produce JSONL. Long work runs as engine jobs, listed at the bottom with progress and Cancel.
import { useEffect, useMemo, useState, type JSX } from 'react';
import type { ConnectionProfile, ConnectionTestResult, KafkaProfile } from '../../../shared/contracts/connections';
import type { KafkaConnection } from '../../../shared/contracts/kafka';
import { engine } from '../../client/engine-client';
import { CaptureDialog } from './capture-dialog';
import { GroupsView } from './groups-view';
import { connectionKey, messageOf, useEngineLoad } from './kafka-hooks';
import { KafkaJobs } from './kafka-jobs';
import { ProduceView } from './produce-view';
import { TopicsView } from './topics-view';
import './kafka.css';

type Tab = 'topics' | 'groups' | 'produce';

const QUICK = '';
const BROKER = /^[^\s:,]+:\d{1,5}$/;

function parseBrokers(text: string): string[] | undefined {
  const brokers = text
    .split(',')
    .map((broker) => broker.trim())
    .filter(Boolean);
  return brokers.length > 0 && brokers.every((broker) => BROKER.test(broker)) ? brokers : undefined;
}

function remembered(key: string, fallback: string): string {
  try {
    return localStorage.getItem(`eddy.kafka.${key}`) ?? fallback;
  } catch {
    return fallback;
  }
}

function remember(key: string, value: string): void {
  try {
    localStorage.setItem(`eddy.kafka.${key}`, value);
  } catch {
    // Storage may be unavailable (private mode): the choice just is not remembered.
  }
}

export interface CaptureTarget {
  topic: string;
  partitions: number[];
}

export function KafkaPanel({ engineReady }: { engineReady: boolean }): JSX.Element {
  const profiles = useEngineLoad<KafkaProfile[]>(
    engineReady ? async () => (await engine.listConnections({})).filter((profile: ConnectionProfile): profile is KafkaProfile => profile.kind === 'kafka') : undefined,
    `profiles:${engineReady}`,
  );
  const [choice, setChoice] = useState(() => remembered('connection', QUICK));
  const [brokerText, setBrokerText] = useState(() => remembered('brokers', '127.0.0.1:9092'));
  const [appliedBrokers, setAppliedBrokers] = useState(() => parseBrokers(remembered('brokers', '127.0.0.1:9092')));
  const [tab, setTab] = useState<Tab>('topics');
  const [capture, setCapture] = useState<CaptureTarget | undefined>();
  const [produceTopic, setProduceTopic] = useState<string | undefined>();
  const [test, setTest] = useState<ConnectionTestResult | { pending: true } | undefined>();

  const profile = choice === QUICK ? undefined : profiles.data?.find((entry) => entry.id === choice);
  const connection: KafkaConnection | undefined = useMemo(() => (choice === QUICK ? (appliedBrokers ? { brokers: appliedBrokers } : undefined) : choice), [choice, appliedBrokers]);
  const key = connectionKey(connection);
  const prod = profile?.environment.label.toLowerCase() === 'prod';

  useEffect(() => setTest(undefined), [key]);
  // A saved choice that no longer exists falls back to quick brokers.
  useEffect(() => {
    if (choice !== QUICK && profiles.data && !profiles.data.some((entry) => entry.id === choice)) setChoice(QUICK);
  }, [profiles.data, choice]);

  const runTest = (): void => {
    if (!connection) return;
    setTest({ pending: true });
    const target = typeof connection === 'string' ? { id: connection } : { profile: { id: 'quick', name: 'Quick connection', kind: 'kafka' as const, brokers: connection.brokers, clientId: 'eddy', environment: { label: 'dev', color: '#2e7d32' } } };
    engine.testConnection(target).then(setTest, (failure: unknown) => setTest({ ok: false, stage: 'config', message: messageOf(failure), elapsedMs: 0 }));
  };

  return (
    <div className={`kafka-panel${prod ? ' kafka-prod' : ''}`} data-testid="kafka-panel">
      <header className="kafka-bar">
        <label className="kafka-field">
          <span>Cluster</span>
          <select
            aria-label="Kafka connection"
            value={choice}
            onChange={(event) => {
              setChoice(event.target.value);
              remember('connection', event.target.value);
            }}
          >
            <option value={QUICK}>Quick: bootstrap brokers…</option>
            {(profiles.data ?? []).map((entry) => (
              <option key={entry.id} value={entry.id}>
                {entry.name} ({entry.environment.label})
              </option>
            ))}
          </select>
        </label>
        {choice === QUICK ? (
          <form
            className="kafka-quick"
            onSubmit={(event) => {
              event.preventDefault();
              const parsed = parseBrokers(brokerText);
              if (!parsed) return;
              setAppliedBrokers(parsed);
              remember('brokers', brokerText);
            }}
          >
            <input
              aria-label="Bootstrap brokers"
              className={parseBrokers(brokerText) ? '' : 'invalid'}
              value={brokerText}
              onChange={(event) => setBrokerText(event.target.value)}
              placeholder="host:port, host:port"
              spellCheck={false}
            />
            <button type="submit" disabled={!parseBrokers(brokerText)}>
              Connect
            </button>
          </form>
        ) : profile ? (
          <span className="kafka-env" style={{ background: profile.environment.color }} title={`Environment: ${profile.environment.label}`}>
            {profile.environment.label}
          </span>
        ) : null}
        <button onClick={runTest} disabled={!connection || (test !== undefined && 'pending' in test)}>
          Test connection
        </button>
        {test && 'pending' in test ? <span className="dim">Testing…</span> : null}
        {test && !('pending' in test) ? (
          <span className={test.ok ? 'kafka-test ok' : 'kafka-test failed'} role="status">
            {test.ok ? '✓ ' : `✗ ${test.stage}: `}
            {test.message}
          </span>
        ) : null}
        <span className="spacer" />
        <nav className="kafka-tabs" role="tablist" aria-label="Kafka views">
          {(['topics', 'groups', 'produce'] as const).map((name) => (
            <button key={name} role="tab" aria-selected={tab === name} className={tab === name ? 'active' : ''} onClick={() => setTab(name)}>
              {name === 'topics' ? 'Topics' : name === 'groups' ? 'Consumer groups' : 'Produce & replay'}
            </button>
          ))}
        </nav>
      </header>
      {prod ? <div className="kafka-prod-banner">Production cluster: produce and replay ask you to type the topic name first.</div> : null}
      <div className="kafka-body">
        {!engineReady ? (
          <div className="empty-state">Waiting for the engine…</div>
        ) : !connection ? (
          <div className="empty-state">
            <p>Name the bootstrap brokers (host:port, comma-separated) or pick a saved connection.</p>
            <p className="hint">Saved connections, with TLS and SASL, live in the Connections view.</p>
          </div>
        ) : tab === 'topics' ? (
          <TopicsView
            key={key}
            connection={connection}
            onCapture={(topic, partitions) => setCapture({ topic, partitions })}
            onProduce={(topic) => {
              setProduceTopic(topic);
              setTab('produce');
            }}
          />
        ) : tab === 'groups' ? (
          <GroupsView key={key} connection={connection} />
        ) : (
          <ProduceView key={key} connection={connection} initialTopic={produceTopic} confirmTopic={prod} />
        )}
      </div>
      <KafkaJobs engineReady={engineReady} />
      {capture && connection ? <CaptureDialog connection={connection} target={capture} onClose={() => setCapture(undefined)} /> : null}
    </div>
  );
}
