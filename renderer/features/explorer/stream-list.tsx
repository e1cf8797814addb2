// The explorer's side panel: the streams of the event log with their counts, sizes and time
// ranges, kept current as events arrive (refreshes throttled to a few a second). Click a stream
// to open it; the buttons beside it chart it or query it.
import { useState, type JSX } from 'react';
import { openCharts, openSql, openStream, useUi } from '../../app/ui-state';
import { icons } from '../../app/icons';
import { countOf, formatBytes, formatCount, formatTime, streamLabel } from './format';
import { openImportDialog } from './import-dialog';
import { isDeadLetterStream, refreshStreams, useStreams } from './streams';

export function StreamList({ engineReady }: { engineReady: boolean }): JSX.Element {
  const streams = useStreams();
  const selected = useUi((state) => state.selectedStream);
  const [query, setQuery] = useState('');

  const toolbar = (
    <div className="side-toolbar">
      <input type="search" className="side-filter" placeholder="Find a stream" aria-label="Find a stream" value={query} onChange={(event) => setQuery(event.target.value)} />
      <button className="icon-button" title="New SQL query over the log" aria-label="New SQL query" onClick={() => openSql()}>
        {icons.sql}
      </button>
      <button className="icon-button" title="Import a JSON Lines file into the log" aria-label="Import a JSON Lines file" onClick={() => openImportDialog()}>
        ⇪
      </button>
    </div>
  );

  if (streams.error && !streams.list) {
    return (
      <div className="empty-state error" role="alert">
        <p>Could not list the streams: {streams.error.message}</p>
        <p className="hint">{engineReady ? 'The engine answered with an error.' : 'The engine is not ready yet; this retries when it is.'}</p>
        <button onClick={refreshStreams}>Try again</button>
      </div>
    );
  }
  if (!streams.list) return <div className="empty-state">{engineReady ? 'Loading streams…' : 'Waiting for the engine…'}</div>;
  if (streams.list.length === 0) {
    return (
      <>
        {toolbar}
        <div className="empty-state">
          <p>The event log is empty.</p>
          <p className="hint">Capture a sample from a Kafka topic or a CDC table (add a connection first), or import a JSON Lines file with ⇪ above.</p>
        </div>
      </>
    );
  }
  const needle = query.trim().toLowerCase();
  const visible = streams.list.filter((stats) => stats.stream.toLowerCase().includes(needle));
  return (
    <>
      {toolbar}
      <ul className="stream-list" aria-label="Streams" data-tour="streams">
        {visible.map((stats) => {
          const label = streamLabel(stats.stream);
          return (
            <li key={stats.stream} className={isDeadLetterStream(stats.stream) ? 'dead-letters' : undefined}>
              <button className={stats.stream === selected ? 'stream selected' : 'stream'} onClick={() => openStream(stats.stream)} data-stream={stats.stream} title={stats.stream}>
                <span className="stream-head">
                  <span className={`badge ${label.kind}`}>{label.kind}</span>
                  <span className="stream-name">
                    {/* Long names wrap after a dot (schema.table), not in the middle of a word. */}
                    {label.name.split(/(?<=\.)/).map((part, index) => (
                      <span key={index}>
                        {index > 0 ? <wbr /> : null}
                        {part}
                      </span>
                    ))}
                  </span>
                </span>
                <span className="stream-meta">
                  {countOf(stats.count, 'event')} · {formatBytes(stats.bytes)}
                  {stats.rate > 0 ? <span className="rate" title="Events stored per second, averaged over the last minute (0 once the stream is idle)"> · {stats.rate < 10 ? stats.rate.toFixed(1) : formatCount(Math.round(stats.rate))}/s over 1 min</span> : null}
                </span>
                <span className="stream-meta">
                  {formatTime(stats.firstEventTime)} → {formatTime(stats.lastEventTime)}
                </span>
              </button>
              <span className="stream-actions">
                <button className="icon-button" title={`Charts of ${stats.stream}`} aria-label={`Charts of ${stats.stream}`} onClick={() => openCharts(stats.stream)}>
                  {icons.chart}
                </button>
                <button
                  className="icon-button"
                  title={`Query ${stats.stream} with SQL`}
                  aria-label={`Query ${stats.stream} with SQL`}
                  onClick={() => openSql(`SELECT seq, position, op, event_time, value\nFROM events\nWHERE stream = '${stats.stream.replace(/'/g, "''")}'\nORDER BY seq DESC\nLIMIT 100`)}
                >
                  {icons.sql}
                </button>
              </span>
            </li>
          );
        })}
        {visible.length === 0 ? <li className="empty-state dim">No stream matches “{query}”.</li> : null}
      </ul>
    </>
  );
}
