// Topics of a cluster with partition and message counts, and one topic's partitions (leader,
// replicas, in-sync replicas, watermarks, messages) and configs, with Capture and Produce actions.
import { useEffect, useMemo, useState, type JSX } from 'react';
import type { KafkaConnection, KafkaTopicDetail } from '../../../shared/contracts/kafka';
import { useAction } from '../../app/use-engine';
import { engine } from '../../client/engine-client';
import { TopicMessages } from './topic-messages';
import { AddPartitionsForm, DeleteTopicCard, TopicConfigs } from './topic-settings';
import { connectionKey, formatCount, formatTime, useEngineLoad } from './kafka-hooks';

const LIST_REFRESH_MS = 15_000;

export function TopicsView({ connection, onCapture, onProduce }: { connection: KafkaConnection; onCapture: (topic: string, partitions: number[]) => void; onProduce: (topic: string) => void }): JSX.Element {
  const [includeInternal, setIncludeInternal] = useState(false);
  const [filter, setFilter] = useState('');
  const [selected, setSelected] = useState<string | undefined>();
  const cluster = useEngineLoad(() => engine.listKafkaTopics({ connection, includeInternal }), `${connectionKey(connection)}:${includeInternal}`);
  const topics = useMemo(() => (cluster.data?.topics ?? []).filter((topic) => topic.name.toLowerCase().includes(filter.toLowerCase())), [cluster.data, filter]);
  const [creating, setCreating] = useState(false);
  // Watermarks move: the list refreshes while it is shown, so its counts stay near the detail's.
  const { reload } = cluster;
  useEffect(() => {
    const timer = setInterval(reload, LIST_REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);

  return (
    <div className="kafka-split">
      <section className="kafka-list" aria-label="Topics">
        <div className="kafka-toolbar">
          <input aria-label="Filter topics" placeholder="Filter topics" value={filter} onChange={(event) => setFilter(event.target.value)} />
          <label className="kafka-check">
            <input type="checkbox" checked={includeInternal} onChange={(event) => setIncludeInternal(event.target.checked)} /> internal
          </label>
          <button onClick={cluster.reload} disabled={cluster.loading} title="Reload topics">
            ↻
          </button>
          <button onClick={() => setCreating(!creating)} aria-expanded={creating}>
            New topic
          </button>
        </div>
        {creating ? (
          <NewTopicForm
            connection={connection}
            brokers={cluster.data?.brokers.length}
            onCancel={() => setCreating(false)}
            onCreated={(name) => {
              setCreating(false);
              setFilter('');
              setSelected(name);
              cluster.reload();
            }}
          />
        ) : null}
        {cluster.error ? (
          <div className="kafka-error" role="alert">
            <p>{cluster.error.message}</p>
            <button onClick={cluster.reload}>Try again</button>
          </div>
        ) : null}
        {cluster.data ? (
          <p className="hint kafka-cluster-line">
            {cluster.data.brokers.length} broker(s) · cluster {cluster.data.clusterId ?? '?'} · {cluster.data.topics.length} topic(s) · {formatTime(cluster.data.at)}
          </p>
        ) : cluster.loading ? (
          <p className="hint kafka-cluster-line">Loading topics…</p>
        ) : null}
        <table className="kafka-table" data-testid="kafka-topics">
          <thead>
            <tr>
              <th>Topic</th>
              <th className="num">Partitions</th>
              <th className="num" title="Replication factor: copies of each partition">RF</th>
              <th className="num" title="High watermark minus log start, summed over partitions">≈ Messages</th>
            </tr>
          </thead>
          <tbody>
            {topics.map((topic) => (
              <tr key={topic.name} className={topic.name === selected ? 'selected' : ''} onClick={() => setSelected(topic.name)} data-topic={topic.name}>
                <td className="kafka-name">
                  {topic.name}
                  {topic.underReplicated > 0 ? <span className="kafka-warn" title="under-replicated partitions"> ⚠ {topic.underReplicated}</span> : null}
                </td>
                <td className="num">{topic.partitions}</td>
                <td className="num">{topic.replicationFactor}</td>
                <td className="num">{formatCount(topic.messages)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {cluster.data && topics.length === 0 ? <p className="hint kafka-pad">{filter ? 'No topic matches the filter.' : 'This cluster has no topics yet.'}</p> : null}
      </section>
      <section className="kafka-detail" aria-label="Topic detail">
        {selected ? (
          <TopicDetail
            key={selected}
            connection={connection}
            topic={selected}
            onCapture={onCapture}
            onProduce={onProduce}
            onChanged={cluster.reload}
            onDeleted={() => {
              setSelected(undefined);
              cluster.reload();
            }}
          />
        ) : (
          <div className="empty-state">Pick a topic to see its partitions and configs.</div>
        )}
      </section>
    </div>
  );
}

const CLEANUP_POLICIES = ['delete', 'compact', 'compact,delete'] as const;
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

/** Creates a topic: name, partitions, replication factor, cleanup policy and retention. */
function NewTopicForm({ connection, brokers, onCancel, onCreated }: { connection: KafkaConnection; brokers: number | undefined; onCancel: () => void; onCreated: (name: string) => void }): JSX.Element {
  const [name, setName] = useState('');
  const [partitions, setPartitions] = useState('1');
  const [replication, setReplication] = useState(String(Math.min(3, Math.max(1, brokers ?? 1))));
  const [cleanup, setCleanup] = useState<(typeof CLEANUP_POLICIES)[number]>('delete');
  const [retentionHours, setRetentionHours] = useState('');
  const { busy, error, run } = useAction();
  const [exists, setExists] = useState<string | undefined>();
  const nameProblem = name === '' ? undefined : name === '.' || name === '..' ? 'A topic cannot be named "." or "..".' : TOPIC_NAME.test(name) ? undefined : 'Letters, digits, ".", "_" and "-" only, at most 249 characters.';
  const partitionsValid = /^[1-9]\d{0,3}$/.test(partitions);
  const replicationValid = /^[1-9]$/.test(replication) && (brokers === undefined || Number(replication) <= brokers);
  const retentionValid = retentionHours.trim() === '' || /^(\d+(\.\d+)?|-1)$/.test(retentionHours.trim());
  const ready = name !== '' && !nameProblem && partitionsValid && replicationValid && retentionValid && !busy;
  const create = (): Promise<void> =>
    run(async () => {
      setExists(undefined);
      const configs: Record<string, string> = { 'cleanup.policy': cleanup };
      const hours = retentionHours.trim();
      if (hours !== '') configs['retention.ms'] = hours === '-1' ? '-1' : String(Math.round(Number(hours) * 3_600_000));
      const result = await engine.createKafkaTopic({ connection, topic: name, partitions: Number(partitions), replicationFactor: Number(replication), configs });
      if (!result.created) setExists(`A topic named "${name}" already exists.`);
      else onCreated(name);
    });
  return (
    <form
      className="kafka-card kafka-new-topic-form"
      aria-label="New topic"
      onSubmit={(event) => {
        event.preventDefault();
        if (ready) void create();
      }}
    >
      <div className="kafka-row">
        <label className="kafka-field kafka-grow">
          <span>Name</span>
          <input aria-label="Topic name" className={nameProblem ? 'invalid' : ''} value={name} onChange={(event) => setName(event.target.value.trim())} spellCheck={false} autoFocus />
        </label>
        <label className="kafka-field">
          <span>Partitions</span>
          <input aria-label="Partitions" className={partitionsValid ? '' : 'invalid'} value={partitions} onChange={(event) => setPartitions(event.target.value.trim())} size={5} />
        </label>
        <label className="kafka-field" title={brokers !== undefined ? `At most ${brokers}: the cluster has ${brokers} broker(s)` : undefined}>
          <span>Replication</span>
          <input aria-label="Replication factor" className={replicationValid ? '' : 'invalid'} value={replication} onChange={(event) => setReplication(event.target.value.trim())} size={3} />
        </label>
      </div>
      <div className="kafka-row">
        <label className="kafka-field">
          <span>Cleanup policy</span>
          <select aria-label="Cleanup policy" value={cleanup} onChange={(event) => setCleanup(event.target.value as (typeof CLEANUP_POLICIES)[number])}>
            {CLEANUP_POLICIES.map((policy) => (
              <option key={policy} value={policy}>
                {policy}
              </option>
            ))}
          </select>
        </label>
        <label className="kafka-field">
          <span>Retention (hours)</span>
          <input aria-label="Retention hours" className={retentionValid ? '' : 'invalid'} value={retentionHours} onChange={(event) => setRetentionHours(event.target.value)} placeholder="broker default; -1: forever" size={14} />
        </label>
      </div>
      {nameProblem ? <p className="kafka-error">{nameProblem}</p> : null}
      {!replicationValid && brokers !== undefined ? <p className="kafka-error">The replication factor must be between 1 and {brokers} (the cluster's brokers).</p> : null}
      {error || exists ? (
        <p className="kafka-error" role="alert">
          {error ?? exists}
        </p>
      ) : null}
      <div className="kafka-row">
        <button type="submit" className="primary" disabled={!ready}>
          {busy ? 'Creating…' : 'Create topic'}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function TopicDetail(props: {
  connection: KafkaConnection;
  topic: string;
  onCapture: (topic: string, partitions: number[]) => void;
  onProduce: (topic: string) => void;
  /** The topic changed (partitions, configs): the list's counts may too. */
  onChanged: () => void;
  onDeleted: () => void;
}): JSX.Element {
  const { connection, topic, onCapture, onProduce } = props;
  const loaded = useEngineLoad<KafkaTopicDetail>(() => engine.describeKafkaTopic({ connection, topic }), `${connectionKey(connection)}:${topic}`);
  // A change answers the topic as it is then: shown until the next reload.
  const [changed, setChanged] = useState<KafkaTopicDetail>();
  const detail = { ...loaded, data: changed && (!loaded.data || changed.at > loaded.data.at) ? changed : loaded.data };
  const [view, setView] = useState<'partitions' | 'messages'>('partitions');
  const [chosen, setChosen] = useState<Set<number>>(new Set());
  const [action, setAction] = useState<'partitions' | 'delete'>();
  const onChanged = (next: KafkaTopicDetail): void => {
    setChanged(next);
    setAction(undefined);
    props.onChanged();
  };
  if (detail.error && !detail.data) {
    return (
      <div className="kafka-error" role="alert">
        <p>{detail.error.message}</p>
        <button onClick={detail.reload}>Try again</button>
      </div>
    );
  }
  if (!detail.data) return <div className="empty-state">Loading {topic}…</div>;
  const data = detail.data;
  const toggle = (partition: number): void =>
    setChosen((current) => {
      const next = new Set(current);
      if (next.has(partition)) next.delete(partition);
      else next.add(partition);
      return next;
    });
  return (
    <div className="kafka-topic" data-testid="kafka-topic-detail">
      <div className="kafka-toolbar">
        <h2>{data.name}</h2>
        <span className="dim">
          {data.partitions.length} partition(s) · ≈ {formatCount(data.messages)} messages
        </span>
        <span className="spacer" />
        <button className="primary" onClick={() => onCapture(data.name, [...chosen].sort((a, b) => a - b))}>
          Capture{chosen.size > 0 ? ` ${chosen.size} partition(s)` : ''}…
        </button>
        <button onClick={() => onProduce(data.name)}>Produce…</button>
        {data.internal ? null : (
          <button className="danger" onClick={() => setAction(action === 'delete' ? undefined : 'delete')} aria-expanded={action === 'delete'}>
            Delete topic…
          </button>
        )}
        <button onClick={detail.reload} disabled={detail.loading} title="Reload">
          ↻
        </button>
      </div>
      {action === 'delete' ? <DeleteTopicCard connection={connection} topic={data.name} onDeleted={props.onDeleted} onCancel={() => setAction(undefined)} /> : null}
      <div className="kafka-topic-tabs" role="tablist" aria-label="Topic views">
        <button role="tab" aria-selected={view === 'partitions'} className={view === 'partitions' ? 'toggle active' : 'toggle'} onClick={() => setView('partitions')}>
          Partitions &amp; configs
        </button>
        <button role="tab" aria-selected={view === 'messages'} className={view === 'messages' ? 'toggle active' : 'toggle'} onClick={() => setView('messages')}>
          Messages
        </button>
      </div>
      {view === 'messages' ? (
        <TopicMessages connection={connection} topic={data.name} partitions={data.partitions.map((partition) => partition.partition)} />
      ) : (
        <>
        <table className="kafka-table">
          <thead>
            <tr>
              <th title="Choose partitions to capture (none: all)">✓</th>
              <th className="num">Partition</th>
              <th className="num">Leader</th>
              <th>Replicas</th>
              <th>In sync</th>
              <th className="num">Low</th>
              <th className="num">High</th>
              <th className="num">Messages</th>
            </tr>
          </thead>
          <tbody>
            {data.partitions.map((partition) => (
              <tr key={partition.partition} className={partition.isr.length < partition.replicas.length ? 'kafka-row-warn' : ''}>
                <td>
                  <input type="checkbox" aria-label={`Partition ${partition.partition}`} checked={chosen.has(partition.partition)} onChange={() => toggle(partition.partition)} />
                </td>
                <td className="num">{partition.partition}</td>
                <td className="num">{partition.leader}</td>
                <td className="mono">{partition.replicas.join(', ')}</td>
                <td className="mono">{partition.isr.join(', ')}</td>
                <td className="num">{formatCount(partition.low)}</td>
                <td className="num">{formatCount(partition.high)}</td>
                <td className="num">{formatCount(partition.messages)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {action === 'partitions' ? (
          <AddPartitionsForm connection={connection} detail={data} onChanged={onChanged} onCancel={() => setAction(undefined)} />
        ) : data.internal ? null : (
          <div className="kafka-pad kafka-under-table">
            <button className="link-button" onClick={() => setAction('partitions')}>
              Add partitions…
            </button>
          </div>
        )}
        <TopicConfigs connection={connection} detail={data} onChanged={onChanged} />
        </>
      )}
    </div>
  );
}
