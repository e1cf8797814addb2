// Producing from the workbench: one message (key, headers, a JSON value checked as you type, the
// form kept after sending), a replay of an event-log stream to a topic (keys, headers and original
// bytes preserved) and bulk produce from pasted JSONL or a file in the workspace. On a production
// connection each send asks for the topic name to be typed first.
import { useMemo, useState, type JSX } from 'react';
import type { Header } from '../../../shared/events';
import type { KafkaConnection } from '../../../shared/contracts/kafka';
import { engine } from '../../client/engine-client';
import { connectionKey, formatCount, jsonProblem, localInputToMs, messageOf, useEngineLoad } from './kafka-hooks';

type Result = { ok: true; text: string } | { ok: false; text: string };

function Confirm({ topic, value, onChange }: { topic: string; value: string; onChange: (value: string) => void }): JSX.Element {
  return (
    <label className="kafka-inline kafka-confirm">
      Production: type <code>{topic || 'the topic name'}</code> to confirm <input aria-label="Confirm topic" value={value} onChange={(event) => onChange(event.target.value)} />
    </label>
  );
}

export function ProduceView({ connection, initialTopic, confirmTopic }: { connection: KafkaConnection; initialTopic: string | undefined; confirmTopic: boolean }): JSX.Element {
  const topics = useEngineLoad(() => engine.listKafkaTopics({ connection }), connectionKey(connection));
  const known = useMemo(() => (topics.data ? new Set(topics.data.topics.map((topic) => topic.name)) : undefined), [topics.data]);
  return (
    <div className="kafka-produce">
      <datalist id="kafka-topic-names">
        {(topics.data?.topics ?? []).map((topic) => (
          <option key={topic.name} value={topic.name} />
        ))}
      </datalist>
      <OneMessage connection={connection} initialTopic={initialTopic ?? ''} confirmTopic={confirmTopic} known={known} onCreated={topics.reload} />
      <Replay connection={connection} confirmTopic={confirmTopic} known={known} onCreated={topics.reload} />
      <BulkJsonl connection={connection} confirmTopic={confirmTopic} known={known} onCreated={topics.reload} />
    </div>
  );
}

interface TopicChoice {
  /** The cluster's topics once listed (a name outside them is a new topic). */
  known: Set<string> | undefined;
  onCreated: () => void;
}

/**
 * A topic the cluster does not have is named as such, and only sent to once the user ticks
 * "create it": a mistyped name never makes a topic (the engine refuses it otherwise).
 */
function useNewTopic(topic: string, known: Set<string> | undefined): { missing: boolean; create: boolean; element: JSX.Element | null } {
  const [create, setCreate] = useState(false);
  const name = topic.trim();
  const missing = known !== undefined && name !== '' && !known.has(name);
  const element = missing ? (
    <label className="kafka-check kafka-new-topic" data-testid="kafka-new-topic">
      <input type="checkbox" checked={create} onChange={(event) => setCreate(event.target.checked)} /> No topic “{name}” on this cluster: create it (broker defaults)
    </label>
  ) : null;
  return { missing, create: missing && create, element };
}

function OneMessage({ connection, initialTopic, confirmTopic, known, onCreated }: { connection: KafkaConnection; initialTopic: string; confirmTopic: boolean } & TopicChoice): JSX.Element {
  const [topic, setTopic] = useState(initialTopic);
  const [partition, setPartition] = useState('');
  const [key, setKey] = useState('');
  const [nullKey, setNullKey] = useState(false);
  const [format, setFormat] = useState<'json' | 'text'>('json');
  const [value, setValue] = useState('{\n  \n}');
  const [tombstone, setTombstone] = useState(false);
  const [headers, setHeaders] = useState<Header[]>([]);
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Result | undefined>();
  const problem = !tombstone && format === 'json' ? jsonProblem(value) : undefined;
  const partitionValid = partition.trim() === '' || /^\d+$/.test(partition.trim());
  const newTopic = useNewTopic(topic, known);
  const ready = topic.trim() !== '' && !problem && partitionValid && (!newTopic.missing || newTopic.create) && (!confirmTopic || confirm === topic) && !busy;

  const send = async (): Promise<void> => {
    setBusy(true);
    setResult(undefined);
    try {
      const sent = await engine.produceKafkaMessage({
        connection,
        topic: topic.trim(),
        ...(partition.trim() ? { partition: Number(partition) } : {}),
        key: nullKey ? null : key,
        value: tombstone ? null : value,
        format,
        headers: headers.filter((header) => header.key.trim() !== ''),
        createTopic: newTopic.create,
      });
      if (newTopic.create) onCreated();
      setResult({ ok: true, text: `Sent to ${sent.topic} partition ${sent.partition} at offset ${sent.offset}.` });
      setConfirm('');
    } catch (failure) {
      setResult({ ok: false, text: messageOf(failure) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="kafka-card"
      aria-label="Produce a message"
      onSubmit={(event) => {
        event.preventDefault();
        if (ready) void send();
      }}
    >
      <h3>Produce a message</h3>
      <div className="kafka-row">
        <label className="kafka-field">
          <span>Topic</span>
          <input aria-label="Topic" list="kafka-topic-names" value={topic} onChange={(event) => setTopic(event.target.value)} spellCheck={false} />
        </label>
        <label className="kafka-field">
          <span>Partition</span>
          <input aria-label="Partition" className={partitionValid ? '' : 'invalid'} value={partition} onChange={(event) => setPartition(event.target.value)} placeholder="by key" size={8} />
        </label>
        <label className="kafka-field kafka-grow">
          <span>Key</span>
          <input aria-label="Key" value={key} disabled={nullKey} onChange={(event) => setKey(event.target.value)} spellCheck={false} />
        </label>
        <label className="kafka-check">
          <input type="checkbox" checked={nullKey} onChange={(event) => setNullKey(event.target.checked)} /> null key
        </label>
      </div>
      {newTopic.element}
      <div className="kafka-headers">
        {headers.map((header, index) => (
          <div className="kafka-row" key={index}>
            <input aria-label={`Header ${index + 1} name`} placeholder="header" value={header.key} onChange={(event) => setHeaders(headers.map((entry, at) => (at === index ? { ...entry, key: event.target.value } : entry)))} />
            <input aria-label={`Header ${index + 1} value`} className="kafka-grow" placeholder="value" value={header.value} onChange={(event) => setHeaders(headers.map((entry, at) => (at === index ? { ...entry, value: event.target.value } : entry)))} />
            <button type="button" onClick={() => setHeaders(headers.filter((_, at) => at !== index))} aria-label="Remove header">
              ✕
            </button>
          </div>
        ))}
        <button type="button" onClick={() => setHeaders([...headers, { key: '', value: '' }])}>
          + Header
        </button>
      </div>
      <div className="kafka-row">
        <label className="kafka-check">
          <input type="radio" name="format" checked={format === 'json'} onChange={() => setFormat('json')} /> JSON
        </label>
        <label className="kafka-check">
          <input type="radio" name="format" checked={format === 'text'} onChange={() => setFormat('text')} /> text
        </label>
        <label className="kafka-check">
          <input type="checkbox" checked={tombstone} onChange={(event) => setTombstone(event.target.checked)} /> tombstone (null value)
        </label>
      </div>
      <textarea aria-label="Value" className={`kafka-value${problem ? ' invalid' : ''}`} value={value} disabled={tombstone} onChange={(event) => setValue(event.target.value)} rows={8} spellCheck={false} />
      {problem ? (
        <p className="kafka-error" role="alert" data-testid="kafka-json-problem">
          {problem}
        </p>
      ) : null}
      {confirmTopic ? <Confirm topic={topic} value={confirm} onChange={setConfirm} /> : null}
      <div className="kafka-row">
        <button type="submit" className="primary" disabled={!ready}>
          {busy ? 'Sending…' : 'Send'}
        </button>
        {result ? (
          <span className={result.ok ? 'kafka-ok' : 'kafka-error'} role="status">
            {result.text}
          </span>
        ) : null}
      </div>
    </form>
  );
}

function Replay({ connection, confirmTopic, known, onCreated }: { connection: KafkaConnection; confirmTopic: boolean } & TopicChoice): JSX.Element {
  const streams = useEngineLoad(() => engine.listStreams({}), 'streams');
  const [stream, setStream] = useState('');
  const [topic, setTopic] = useState('');
  const [maxEvents, setMaxEvents] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [keepPartitions, setKeepPartitions] = useState(false);
  const [keepTimestamps, setKeepTimestamps] = useState(false);
  const [confirm, setConfirm] = useState('');
  const [result, setResult] = useState<Result | undefined>();
  const chosen = streams.data?.find((entry) => entry.stream === stream);
  const maxValid = maxEvents.trim() === '' || /^[1-9]\d*$/.test(maxEvents.trim());
  const newTopic = useNewTopic(topic, known);
  const ready = stream !== '' && topic.trim() !== '' && maxValid && (!newTopic.missing || newTopic.create) && (!confirmTopic || confirm === topic);

  const start = async (): Promise<void> => {
    setResult(undefined);
    const eventTime = { ...(localInputToMs(from) !== undefined ? { from: localInputToMs(from) } : {}), ...(localInputToMs(to) !== undefined ? { to: localInputToMs(to) } : {}) };
    try {
      const job = await engine.replayToKafka({
        connection,
        stream,
        topic: topic.trim(),
        ...(Object.keys(eventTime).length > 0 ? { eventTime } : {}),
        ...(maxEvents.trim() ? { maxEvents: Number(maxEvents) } : {}),
        keepPartitions,
        keepTimestamps,
        createTopic: newTopic.create,
      });
      if (newTopic.create) onCreated();
      setResult({ ok: true, text: `Started: ${job.title}. Progress below.` });
      setConfirm('');
    } catch (failure) {
      setResult({ ok: false, text: messageOf(failure) });
    }
  };

  return (
    <form
      className="kafka-card"
      aria-label="Replay a stream"
      onSubmit={(event) => {
        event.preventDefault();
        if (ready) void start();
      }}
    >
      <h3>Replay events from the log</h3>
      <p className="hint">Sends a stream's events, oldest first, with their keys and headers; values that were not JSON go back as their original bytes.</p>
      <div className="kafka-row">
        <label className="kafka-field kafka-grow kafka-grow-2">
          <span>Stream</span>
          <select aria-label="Stream" value={stream} onChange={(event) => setStream(event.target.value)} onFocus={streams.reload}>
            <option value="">Choose a stream…</option>
            {(streams.data ?? []).map((entry) => (
              <option key={entry.stream} value={entry.stream}>
                {entry.stream} ({formatCount(entry.count)})
              </option>
            ))}
          </select>
        </label>
        <label className="kafka-field kafka-grow">
          <span>To topic</span>
          <input aria-label="Replay topic" list="kafka-topic-names" value={topic} onChange={(event) => setTopic(event.target.value)} spellCheck={false} />
        </label>
      </div>
      {newTopic.element}
      <div className="kafka-row">
        <label className="kafka-inline">
          event time from <input aria-label="Replay from" type="datetime-local" step="1" value={from} onChange={(event) => setFrom(event.target.value)} />
        </label>
        <label className="kafka-inline">
          to <input aria-label="Replay to" type="datetime-local" step="1" value={to} onChange={(event) => setTo(event.target.value)} />
        </label>
        <label className="kafka-inline">
          at most <input aria-label="Replay max events" className={maxValid ? '' : 'invalid'} value={maxEvents} onChange={(event) => setMaxEvents(event.target.value)} size={8} placeholder={chosen ? formatCount(chosen.count) : 'all'} /> events
        </label>
      </div>
      <div className="kafka-row">
        <label className="kafka-check">
          <input type="checkbox" checked={keepPartitions} onChange={(event) => setKeepPartitions(event.target.checked)} /> keep partitions
        </label>
        <label className="kafka-check" title="Old timestamps may fall outside the topic's retention and be deleted at once">
          <input type="checkbox" checked={keepTimestamps} onChange={(event) => setKeepTimestamps(event.target.checked)} /> keep record timestamps
        </label>
      </div>
      {confirmTopic ? <Confirm topic={topic} value={confirm} onChange={setConfirm} /> : null}
      <div className="kafka-row">
        <button type="submit" className="primary" disabled={!ready}>
          Replay
        </button>
        {result ? (
          <span className={result.ok ? 'kafka-ok' : 'kafka-error'} role="status">
            {result.text}
          </span>
        ) : null}
      </div>
    </form>
  );
}

function BulkJsonl({ connection, confirmTopic, known, onCreated }: { connection: KafkaConnection; confirmTopic: boolean } & TopicChoice): JSX.Element {
  const [topic, setTopic] = useState('');
  const [source, setSource] = useState<'text' | 'path'>('text');
  const [text, setText] = useState('{"key": "k1", "value": {"n": 1}, "headers": {"source": "eddy"}}\n');
  const [path, setPath] = useState('');
  const [lines, setLines] = useState<'records' | 'values'>('records');
  const [strict, setStrict] = useState(false);
  const [confirm, setConfirm] = useState('');
  const [result, setResult] = useState<Result | undefined>();
  const newTopic = useNewTopic(topic, known);
  const ready = topic.trim() !== '' && (source === 'text' ? text.trim() !== '' : path.trim() !== '') && (!newTopic.missing || newTopic.create) && (!confirmTopic || confirm === topic);

  const start = async (): Promise<void> => {
    setResult(undefined);
    try {
      const job = await engine.produceKafkaFile({ connection, topic: topic.trim(), ...(source === 'text' ? { text } : { path: path.trim() }), lines, onBadLine: strict ? 'fail' : 'skip', createTopic: newTopic.create });
      if (newTopic.create) onCreated();
      setResult({ ok: true, text: `Started: ${job.title}. Progress below.` });
      setConfirm('');
    } catch (failure) {
      setResult({ ok: false, text: messageOf(failure) });
    }
  };

  return (
    <form
      className="kafka-card"
      aria-label="Bulk produce JSONL"
      onSubmit={(event) => {
        event.preventDefault();
        if (ready) void start();
      }}
    >
      <h3>Bulk produce JSON Lines</h3>
      <p className="hint">
        One record per line: <code>{'{"key": …, "value": …, "headers": {…}, "partition": n, "timestamp": ms}'}</code>. Lines from <code>kcat -J</code> work too.
      </p>
      <div className="kafka-row">
        <label className="kafka-field kafka-grow">
          <span>Topic</span>
          <input aria-label="Bulk topic" list="kafka-topic-names" value={topic} onChange={(event) => setTopic(event.target.value)} spellCheck={false} />
        </label>
        <label className="kafka-check">
          <input type="radio" name="bulk-source" checked={source === 'text'} onChange={() => setSource('text')} /> paste
        </label>
        <label className="kafka-check">
          <input type="radio" name="bulk-source" checked={source === 'path'} onChange={() => setSource('path')} /> file in the workspace
        </label>
      </div>
      {newTopic.element}
      {source === 'text' ? (
        <textarea aria-label="JSONL" className="kafka-value" rows={6} value={text} onChange={(event) => setText(event.target.value)} spellCheck={false} />
      ) : (
        <input aria-label="JSONL path" className="kafka-wide" value={path} onChange={(event) => setPath(event.target.value)} placeholder="samples/orders.jsonl (relative to the workspace, or absolute)" />
      )}
      <div className="kafka-row">
        <label className="kafka-check">
          <input type="radio" name="bulk-lines" checked={lines === 'records'} onChange={() => setLines('records')} /> lines are records
        </label>
        <label className="kafka-check">
          <input type="radio" name="bulk-lines" checked={lines === 'values'} onChange={() => setLines('values')} /> lines are values
        </label>
        <label className="kafka-check">
          <input type="checkbox" checked={strict} onChange={(event) => setStrict(event.target.checked)} /> stop at the first bad line
        </label>
      </div>
      {confirmTopic ? <Confirm topic={topic} value={confirm} onChange={setConfirm} /> : null}
      <div className="kafka-row">
        <button type="submit" className="primary" disabled={!ready}>
          Produce
        </button>
        {result ? (
          <span className={result.ok ? 'kafka-ok' : 'kafka-error'} role="status">
            {result.text}
          </span>
        ) : null}
      </div>
    </form>
  );
}
