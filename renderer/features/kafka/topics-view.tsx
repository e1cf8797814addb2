// Topics of a cluster with partition and message counts, and one topic's partitions (leader,
// replicas, in-sync replicas, watermarks, messages) and configs, with Capture and Produce actions.
import { useMemo, useState, type JSX } from 'react';
import type { KafkaConnection, KafkaTopicDetail } from '../../../shared/contracts/kafka';
import { engine } from '../../client/engine-client';
import { connectionKey, formatCount, formatTime, useEngineLoad } from './kafka-hooks';

export function TopicsView({ connection, onCapture, onProduce }: { connection: KafkaConnection; onCapture: (topic: string, partitions: number[]) => void; onProduce: (topic: string) => void }): JSX.Element {
  const [includeInternal, setIncludeInternal] = useState(false);
  const [filter, setFilter] = useState('');
  const [selected, setSelected] = useState<string | undefined>();
  const cluster = useEngineLoad(() => engine.listKafkaTopics({ connection, includeInternal }), `${connectionKey(connection)}:${includeInternal}`);
  const topics = useMemo(() => (cluster.data?.topics ?? []).filter((topic) => topic.name.toLowerCase().includes(filter.toLowerCase())), [cluster.data, filter]);

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
        </div>
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
                <td className="num">{formatCount(topic.messages)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {cluster.data && topics.length === 0 ? <p className="hint kafka-pad">{filter ? 'No topic matches the filter.' : 'This cluster has no topics yet.'}</p> : null}
      </section>
      <section className="kafka-detail" aria-label="Topic detail">
        {selected ? <TopicDetail key={selected} connection={connection} topic={selected} onCapture={onCapture} onProduce={onProduce} /> : <div className="empty-state">Pick a topic to see its partitions and configs.</div>}
      </section>
    </div>
  );
}

function TopicDetail({ connection, topic, onCapture, onProduce }: { connection: KafkaConnection; topic: string; onCapture: (topic: string, partitions: number[]) => void; onProduce: (topic: string) => void }): JSX.Element {
  const detail = useEngineLoad<KafkaTopicDetail>(() => engine.describeKafkaTopic({ connection, topic }), `${connectionKey(connection)}:${topic}`);
  const [showDefaults, setShowDefaults] = useState(false);
  const [chosen, setChosen] = useState<Set<number>>(new Set());
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
  const configs = data.configs.filter((entry) => showDefaults || !entry.isDefault);
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
        <button onClick={detail.reload} disabled={detail.loading} title="Reload">
          ↻
        </button>
      </div>
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
      <div className="kafka-toolbar">
        <h3>Configs</h3>
        <label className="kafka-check">
          <input type="checkbox" checked={showDefaults} onChange={(event) => setShowDefaults(event.target.checked)} /> show defaults
        </label>
      </div>
      <table className="kafka-table kafka-configs" data-testid="kafka-configs">
        <tbody>
          {configs.map((entry) => (
            <tr key={entry.name} className={entry.isDefault ? 'dim' : ''}>
              <td className="mono">{entry.name}</td>
              <td className="mono">{entry.isSensitive ? '••••••' : (entry.value ?? '—')}</td>
              <td className="hint">{entry.source}</td>
            </tr>
          ))}
          {configs.length === 0 ? (
            <tr>
              <td className="hint">Every config has its default value.</td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </div>
  );
}
