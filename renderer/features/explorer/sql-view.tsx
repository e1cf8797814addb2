// A SQL query tab: read-only SQL over the log's `events` view (json_extract reaches every field),
// run in the engine's query worker with a row cap and a time limit; results in a virtualized
// table, saved as CSV (formula-guarded) or charted.
import { useEffect, useRef, useState, type JSX } from 'react';
import { EddyError } from '../../../shared/contract';
import { csvCell } from '../../../shared/contracts/explorer';
import type { JsonValue } from '../../../shared/events';
import { engine } from '../../client/engine-client';
import { hintFor, log } from '../../app/output';
import { updateTab, type SqlTab } from '../../app/ui-state';
import { downloadText } from './download';
import { formatCount } from './format';
import { ResultsGrid } from './results-grid';
import { ResultsChart } from '../charts/results-chart';
import { SqlEditor } from './sql-editor';

interface Result {
  columns: string[];
  rows: JsonValue[][];
  truncated: boolean;
  elapsedMs: number;
  maxRows: number;
  perSegment?: boolean | undefined;
}

const EXAMPLE = `-- SQL over every event in the log (read-only). Columns: seq, stream, position, key, value,
-- headers, op, event_time, ingest_time, size. Reach fields with json_extract(value, '$.after.City').
-- Press Ctrl+Enter (Cmd+Enter on macOS) to run.
SELECT stream, op, json_extract(value, '$.after') AS after, event_time
FROM events
ORDER BY seq DESC
LIMIT 100`;

/** A log too big to join ran the SQL per segment: say so when the query's meaning depends on it. */
function perSegmentNote(sql: string, result: Result): string | null {
  return result.perSegment && /\b(group\s+by|count\s*\(|sum\s*\(|avg\s*\(|min\s*\(|max\s*\(|order\s+by|limit|distinct)\b/i.test(sql)
    ? 'This log is too big for one query to join its segments (more than 10 of them, or 256 MB): the SQL ran once per segment (tens of MB of events each) and the rows were concatenated, so ORDER BY, LIMIT, DISTINCT and aggregates apply within each segment. Filter by stream and time to narrow it; charts aggregate across segments for you.'
    : null;
}

export function SqlView({ tab, engineReady }: { tab: SqlTab; engineReady: boolean }): JSX.Element {
  const [sql, setSql] = useState(tab.sql || EXAMPLE);
  const [maxRows, setMaxRows] = useState(1000);
  const [result, setResult] = useState<Result>();
  const [error, setError] = useState<EddyError>();
  const [running, setRunning] = useState(false);
  const [view, setView] = useState<'table' | 'chart'>('table');
  const started = useRef(0);
  const queryId = useRef<string | null>(null);
  const [, setTick] = useState(0);

  // Keep the tab's text (restored on restart) without writing on every key press.
  useEffect(() => {
    const timer = setTimeout(() => updateTab<SqlTab>(tab.id, { sql }), 400);
    return () => clearTimeout(timer);
  }, [sql, tab.id]);
  useEffect(() => {
    if (tab.sql && tab.sql !== sql) setSql(tab.sql);
  }, [tab.sql]);
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => setTick((value) => value + 1), 200);
    return () => clearInterval(timer);
  }, [running]);

  const run = async (): Promise<void> => {
    if (running || !sql.trim()) return;
    setRunning(true);
    started.current = performance.now();
    const id = crypto.randomUUID();
    queryId.current = id;
    try {
      const response = await engine.queryLog({ sql, maxRows, timeoutMs: 30_000, queryId: id });
      setResult({ ...response, maxRows });
      setError(undefined);
      log('info', 'sql', `${formatCount(response.rows.length)} rows in ${response.elapsedMs} ms${response.truncated ? ` (stopped at ${formatCount(maxRows)})` : ''}`);
    } catch (failure) {
      setError(failure instanceof EddyError ? failure : new EddyError('INTERNAL', String(failure)));
    } finally {
      queryId.current = null;
      setRunning(false);
    }
  };

  const cancel = (): void => {
    if (queryId.current) void engine.cancelQuery({ queryId: queryId.current }).catch(() => undefined);
  };

  const saveCsv = (): void => {
    if (!result) return;
    const cell = (value: JsonValue): string => csvCell(value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value));
    const text = [result.columns.map(csvCell).join(','), ...result.rows.map((row) => row.map(cell).join(','))].join('\n') + '\n';
    downloadText(`${tab.title.replace(/[^A-Za-z0-9._-]+/g, '_')}.csv`, text, 'text/csv;charset=utf-8');
  };

  const note = result ? perSegmentNote(sql, result) : null;
  return (
    <section className="sql-view" aria-label={tab.title}>
      <header className="view-header">
        <h2>{tab.title}</h2>
        <span className="dim">SQL over the event log</span>
        <span className="spacer" />
        <label className="inline-label">
          Max rows
          <select value={maxRows} onChange={(event) => setMaxRows(Number(event.target.value))} aria-label="Maximum rows">
            {[100, 1000, 10_000, 100_000].map((value) => (
              <option key={value} value={value}>
                {formatCount(value)}
              </option>
            ))}
          </select>
        </label>
        <button className="primary" onClick={() => void run()} disabled={running || !engineReady} title="Run (Ctrl+Enter); a query stops after 30 s">
          {running ? `Running… ${((performance.now() - started.current) / 1000).toFixed(1)} s` : '▶ Run'}
        </button>
        {running ? (
          <button onClick={cancel} title="Stop this query">
            Cancel
          </button>
        ) : null}
      </header>
      <div className="sql-top">
        <SqlEditor value={sql} onChange={setSql} onRun={() => void run()} label="SQL query" />
      </div>
      {error ? (
        <div className="banner error" role="alert" data-testid="sql-error">
          <strong>The query failed</strong>
          <span>
            {error.message} {hintFor(error)}
          </span>
        </div>
      ) : null}
      {result ? (
        <div className="results-bar" role="status" data-testid="sql-status">
          <span>
            {formatCount(result.rows.length)} row{result.rows.length === 1 ? '' : 's'} in {result.elapsedMs} ms
            {result.truncated ? ` · stopped at ${formatCount(result.maxRows)} rows (raise Max rows or narrow the query)` : ''}
          </span>
          <span className="spacer" />
          <div className="segmented" role="group" aria-label="Show results as">
            <button className={view === 'table' ? 'active' : undefined} aria-pressed={view === 'table'} onClick={() => setView('table')}>
              Table
            </button>
            <button className={view === 'chart' ? 'active' : undefined} aria-pressed={view === 'chart'} onClick={() => setView('chart')}>
              Chart
            </button>
          </div>
          <button onClick={saveCsv} disabled={result.rows.length === 0}>
            Save as CSV
          </button>
        </div>
      ) : null}
      {note ? <p className="hint results-note">{note}</p> : null}
      <div className="results-area">
        {result ? (
          result.rows.length === 0 ? (
            <div className="empty-state">No rows. Check the stream name (Ctrl+Space lists them) and the filter.</div>
          ) : view === 'table' ? (
            <ResultsGrid columns={result.columns} rows={result.rows} />
          ) : (
            <ResultsChart columns={result.columns} rows={result.rows} />
          )
        ) : !error ? (
          <div className="empty-state">
            <p>Write a query and press Ctrl+Enter.</p>
            <p className="hint">Examples: events per stream and operation, the latest change of one customer, or a field over time.</p>
          </div>
        ) : null}
      </div>
    </section>
  );
}
