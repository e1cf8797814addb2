// A topic's messages, read on demand to look at them (the engine's peek: no consumer group,
// nothing stored): the newest, or forward from the oldest, an offset or a time, in all partitions
// or one. A row opens the message's value, headers and decode note below the table.
import { useEffect, useMemo, useRef, useState, type JSX } from 'react';
import type { KafkaConnection, KafkaPeekMessage, KafkaPeekResult } from '../../../shared/contracts/kafka';
import { useAction } from '../../app/use-engine';
import { engine } from '../../client/engine-client';
import { keyPreview, preview } from '../explorer/format';
import { HeadersTable } from '../explorer/headers-table';
import { formatTime, localInputToMs, positionFrom } from './kafka-hooks';

type From = 'newest' | 'oldest' | 'offset' | 'timestamp';
const LIMITS = [20, 50, 100, 500];

/** The text a message is searched in: key, value (as JSON), raw bytes, headers, decode note. */
function searchText(message: KafkaPeekMessage): string {
  const text = (json: unknown): string => (json === null || json === undefined ? '' : typeof json === 'string' ? json : JSON.stringify(json));
  const value = text(message.value);
  const headers = message.headers.map((header) => `${header.key}=${header.value}`).join(' ');
  return `${text(message.key)}\n${value}\n${message.valueBytes ?? ''}\n${headers}\n${message.decodeError ?? ''}`.toLowerCase();
}

export function TopicMessages({ connection, topic, partitions }: { connection: KafkaConnection; topic: string; partitions: number[] }): JSX.Element {
  const [partition, setPartition] = useState('all');
  const [from, setFrom] = useState<From>('newest');
  const [offset, setOffset] = useState('0');
  const [time, setTime] = useState('');
  const [limit, setLimit] = useState(50);
  const [result, setResult] = useState<KafkaPeekResult | undefined>();
  const { busy, error, run } = useAction();
  const [open, setOpen] = useState<KafkaPeekMessage | undefined>();
  const [search, setSearch] = useState('');
  // An opened message shows below the table: bring it into view (with 50 rows it was off-screen).
  const detailRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (open) detailRef.current?.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }, [open]);
  const shown = useMemo(() => {
    const needle = search.trim().toLowerCase();
    return !result || needle === '' ? (result?.messages ?? []) : result.messages.filter((message) => searchText(message).includes(needle));
  }, [result, search]);
  const offsetValid = from !== 'offset' || /^\d+$/.test(offset.trim());
  const timeValid = from !== 'timestamp' || localInputToMs(time) !== undefined;

  const load = (): Promise<void> =>
    run(async () => {
      setOpen(undefined);
      const start = positionFrom<'newest' | 'oldest'>(from, offset, time);
      setResult(await engine.peekKafkaTopic({ connection, topic, start, limit, ...(partition !== 'all' ? { partitions: [Number(partition)] } : {}) }));
    });
  // The newest messages as soon as the tab opens, as message browsers do.
  useEffect(() => {
    void load();
    // Only when the tab opens for this topic; afterwards the user asks with Read.
  }, [topic]);

  return (
    <div className="kafka-messages" data-testid="kafka-messages">
      <form
        className="kafka-toolbar"
        aria-label="Read messages"
        onSubmit={(event) => {
          event.preventDefault();
          if (offsetValid && timeValid && !busy) void load();
        }}
      >
        <label className="kafka-inline">
          partition
          <select aria-label="Messages partition" value={partition} onChange={(event) => setPartition(event.target.value)}>
            <option value="all">all</option>
            {partitions.map((entry) => (
              <option key={entry} value={String(entry)}>
                {entry}
              </option>
            ))}
          </select>
        </label>
        <label className="kafka-inline">
          from
          <select aria-label="Messages from" value={from} onChange={(event) => setFrom(event.target.value as From)}>
            <option value="newest">newest</option>
            <option value="oldest">oldest</option>
            <option value="offset">offset</option>
            <option value="timestamp">time</option>
          </select>
        </label>
        {from === 'offset' ? <input aria-label="Messages offset" className={offsetValid ? '' : 'invalid'} value={offset} onChange={(event) => setOffset(event.target.value)} size={10} /> : null}
        {from === 'timestamp' ? <input aria-label="Messages time" type="datetime-local" step="1" className={timeValid ? '' : 'invalid'} value={time} onChange={(event) => setTime(event.target.value)} /> : null}
        <label className="kafka-inline">
          show
          <select aria-label="Messages limit" value={limit} onChange={(event) => setLimit(Number(event.target.value))}>
            {LIMITS.map((entry) => (
              <option key={entry} value={entry}>
                {entry}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="primary" disabled={busy !== undefined || !offsetValid || !timeValid}>
          {busy ? 'Reading…' : 'Read'}
        </button>
        <span className="hint">Read to look at them: nothing is stored and no consumer group is used. Capture to keep them.</span>
      </form>
      {error ? (
        <p className="kafka-error" role="alert">
          {error}
        </p>
      ) : null}
      {result ? (
        <div className="kafka-toolbar kafka-messages-found">
          <p className="hint" data-testid="kafka-messages-summary">
            {search.trim() ? `${shown.length} of ${result.messages.length} message(s) contain "${search.trim()}"` : `${result.messages.length} message(s)`}
            {from === 'newest' ? ', newest first' : ''} · read {formatTime(result.at)}
            {result.note ? ` · ${result.note}` : ''}
          </p>
          <span className="spacer" />
          {result.messages.length > 0 ? (
            <input aria-label="Search the messages read" placeholder="Search key, value, headers" value={search} onChange={(event) => setSearch(event.target.value)} spellCheck={false} />
          ) : null}
        </div>
      ) : null}
      {shown.length > 0 ? (
        <table className="kafka-table kafka-message-table">
          <thead>
            <tr>
              <th className="num">Partition</th>
              <th className="num">Offset</th>
              <th>Timestamp</th>
              <th>Key</th>
              <th>Value</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((message) => (
              <tr
                key={`${message.partition}/${message.offset}`}
                className={open === message ? 'selected' : ''}
                onClick={() => setOpen(open === message ? undefined : message)}
                data-message={`${message.partition}/${message.offset}`}
              >
                <td className="num">{message.partition}</td>
                <td className="num">{message.offset}</td>
                <td className="mono">{formatTime(message.timestamp)}</td>
                <td className="mono kafka-cell">{message.key === null ? <span className="dim">null</span> : keyPreview(message.key, 40)}</td>
                <td className="mono kafka-cell">
                  {message.op ? <span className={`op op-${message.op}`}>{message.op}</span> : null} {message.decodeError ? <span className="kafka-warn">⚠ </span> : null}
                  {message.value === null && message.valueBytes === undefined ? <span className="dim">{message.decodeError ?? 'null (tombstone)'}</span> : preview(message.value ?? message.valueBytes ?? null, 200)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {open ? (
        <div className="kafka-card kafka-message-detail" data-testid="kafka-message-detail" ref={detailRef}>
          <h3>
            Partition {open.partition}, offset {open.offset} · {formatTime(open.timestamp)} · {open.size.toLocaleString('en')} bytes
          </h3>
          <p className="mono kafka-message-key">
            <span className="dim">key </span>
            {open.key === null ? <span className="dim">null</span> : typeof open.key === 'string' ? open.key : JSON.stringify(open.key)}
          </p>
          {open.decodeError ? <p className="kafka-warn">{open.decodeError}</p> : null}
          <pre className="kafka-value">
            {open.value !== null ? JSON.stringify(open.value, null, 2) : open.valueBytes !== undefined ? `base64: ${open.valueBytes}` : open.decodeError ? '(value not shown here: see the note above; a capture stores it whole)' : 'null (tombstone)'}
          </pre>
          <HeadersTable headers={open.headers} className="kafka-table" empty={<p className="hint">No headers.</p>} />
        </div>
      ) : null}
    </div>
  );
}
