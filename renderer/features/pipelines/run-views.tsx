// The views beside a run: its dead letters (error, stage, origin, input), step-through of one
// record (what each stage did to it), and the local warehouse (sink and dry-run shadow tables,
// read-only SQL).
import { useEffect, useState, type JSX } from 'react';
import type { DeadLetterView, EventView, StepResult } from '../../../shared/contracts/pipelines';
import type { JsonValue } from '../../../shared/events';
import { engine } from '../../client/engine-client';
import { errorText } from './use-pipelines';

function json(value: JsonValue | undefined | null): string {
  return value === undefined ? '' : JSON.stringify(value, null, 2);
}

function decodedBytes(event: EventView): string | null {
  if (!event.valueBytes) return null;
  try {
    return new TextDecoder().decode(Uint8Array.from(atob(event.valueBytes), (char) => char.charCodeAt(0)));
  } catch {
    return null;
  }
}

export function DeadLetters({ pipeline, engineReady, refreshKey }: { pipeline: string; engineReady: boolean; refreshKey: unknown }): JSX.Element {
  const [letters, setLetters] = useState<DeadLetterView[]>([]);
  const [stream, setStream] = useState('');
  const [error, setError] = useState<string>();
  const [open, setOpen] = useState<number | null>(null);
  useEffect(() => {
    if (!engineReady) return;
    let alive = true;
    engine.listDeadLetters({ pipeline, limit: 200 }).then(
      (page) => {
        if (!alive) return;
        setLetters(page.letters);
        setStream(page.stream);
        setError(undefined);
      },
      (failure: unknown) => alive && setError(errorText(failure)),
    );
    return () => {
      alive = false;
    };
  }, [pipeline, engineReady, refreshKey]);
  return (
    <section className="pipeline-dead-letters" aria-label="Dead letters">
      <p className="hint">
        Records that failed a stage after their retries, newest first, from the stream <code>{stream || `dead-letters:${pipeline}`}</code>. Each was stored before the source position past it was
        checkpointed, so nothing is lost: fix the cause and replay.
      </p>
      {error ? <div className="pipeline-error">{error}</div> : null}
      {letters.length === 0 ? (
        <p className="dim">No dead letters.</p>
      ) : (
        <table className="pipeline-table">
          <thead>
            <tr>
              <th>stage</th>
              <th>error</th>
              <th>origin</th>
              <th>attempts</th>
              <th>at</th>
            </tr>
          </thead>
          <tbody>
            {letters.map((letter, index) => (
              <DeadLetterRow key={`${letter.seq}-${index}`} letter={letter} open={open === index} onToggle={() => setOpen(open === index ? null : index)} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function DeadLetterRow({ letter, open, onToggle }: { letter: DeadLetterView; open: boolean; onToggle: () => void }): JSX.Element {
  const bytes = decodedBytes(letter.input);
  return (
    <>
      <tr className="dead-letter" data-stage={letter.stage} onClick={onToggle} aria-expanded={open}>
        <td>
          <code>{letter.stage}</code>
        </td>
        <td className="dead-letter-error">
          {letter.error.name}: {letter.error.message}
          {letter.error.line !== undefined ? <span className="dim"> (line {letter.error.line})</span> : null}
        </td>
        <td>
          <code>
            {letter.origin.stream} @ {letter.origin.position}
          </code>
        </td>
        <td>{letter.attempts}</td>
        <td className="dim">{new Date(letter.at).toISOString().replace('T', ' ').slice(0, 19)}</td>
      </tr>
      {open ? (
        <tr className="dead-letter-detail">
          <td colSpan={5}>
            <div className="dim">Input (key, value{bytes !== null ? ', original bytes' : ''}):</div>
            <pre>{json(letter.input.key)}</pre>
            <pre>{letter.input.value === null && bytes !== null ? bytes : json(letter.input.value)}</pre>
            {letter.input.decodeError ? <div className="pipeline-error">{letter.input.decodeError}</div> : null}
            {letter.error.stack ? <pre className="dim">{letter.error.stack}</pre> : null}
          </td>
        </tr>
      ) : null}
    </>
  );
}

const outcomeText: Record<string, string> = { changed: 'changed it', unchanged: 'passed it on', emitted: 'emitted', dropped: 'dropped it', error: 'failed', idle: 'not reached' };

export function StepThrough({ path, text, streams, engineReady }: { path: string; text: string; streams: string[]; engineReady: boolean }): JSX.Element {
  const [stream, setStream] = useState(streams[0] ?? '');
  const [position, setPosition] = useState('');
  const [withState, setWithState] = useState(true);
  const [result, setResult] = useState<StepResult>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!streams.includes(stream)) setStream(streams[0] ?? '');
  }, [streams.join('\n')]);
  const pickFirst = async (): Promise<void> => {
    try {
      const page = await engine.readEvents({ stream, direction: 'oldest', limit: 1 });
      if (page.events[0]) setPosition(page.events[0].position);
    } catch (failure) {
      setError(errorText(failure));
    }
  };
  const step = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      setResult(await engine.stepPipeline({ path, text, stream, position, withState }));
    } catch (failure) {
      setResult(undefined);
      setError(errorText(failure));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="pipeline-step" aria-label="Step through">
      <p className="hint">Runs one record of the log through the pipeline as it is in the editor, without writing anything, and shows what each stage did to it.</p>
      <div className="pipeline-row">
        <label>
          Stream{' '}
          <select value={stream} onChange={(event) => setStream(event.target.value)} disabled={!engineReady}>
            {streams.map((name) => (
              <option key={name}>{name}</option>
            ))}
          </select>
        </label>
        <label>
          Position <input className="pipeline-position" value={position} onChange={(event) => setPosition(event.target.value)} placeholder="the event's position, as the explorer shows it" />
        </label>
        <button onClick={() => void pickFirst()} disabled={!engineReady || !stream}>
          First record
        </button>
        <label>
          <input type="checkbox" checked={withState} onChange={(event) => setWithState(event.target.checked)} /> with the pipeline's state
        </label>
        <button className="primary" onClick={() => void step()} disabled={!engineReady || busy || !position}>
          Step
        </button>
      </div>
      {error ? <div className="pipeline-error">{error}</div> : null}
      {result ? (
        <ol className="pipeline-step-stages">
          {result.stages.map((stage) => (
            <li key={stage.stage} className={`step-stage outcome-${stage.outcome}`} data-stage={stage.stage} data-outcome={stage.outcome}>
              <div className="step-stage-head">
                <strong>{stage.stage}</strong> <span className="badge">{stage.kind}</span> <span className="step-outcome">{outcomeText[stage.outcome]}</span>
              </div>
              {stage.error ? (
                <div className="pipeline-error">
                  {stage.error.name}: {stage.error.message}
                  {stage.error.line !== undefined ? ` (line ${stage.error.line})` : ''}
                </div>
              ) : null}
              {stage.notes.map((note, index) => (
                <div key={index} className="step-note dim">
                  {note.kind}: <code>{JSON.stringify(note.detail)}</code>
                </div>
              ))}
              {stage.outputs.map((output, index) => (
                <pre key={index}>{json(output.value)}</pre>
              ))}
              {stage.late.length ? <div className="dim">{stage.late.length} late (side output)</div> : null}
            </li>
          ))}
          {result.deadLetters
            .filter((letter) => letter.stage.startsWith('source:'))
            .map((letter) => (
              <li key={letter.stage} className="step-stage outcome-error">
                <strong>{letter.stage}</strong> <span className="pipeline-error">{letter.error.message}: this record goes to the dead letters before any stage</span>
              </li>
            ))}
          <li className="step-sinks">
            {result.sinks.map((sink) => (
              <div key={sink.sink}>
                → <strong>{sink.sink}</strong> <span className="dim">({sink.kind})</span> would receive {sink.records.length} record(s)
              </div>
            ))}
          </li>
        </ol>
      ) : null}
    </section>
  );
}

export function WarehouseView({ engineReady, refreshKey, suggested }: { engineReady: boolean; refreshKey: unknown; suggested: string | undefined }): JSX.Element {
  const [tables, setTables] = useState<{ name: string; rows: number; columns: string[] }[]>([]);
  const [sql, setSql] = useState('');
  const [result, setResult] = useState<{ columns: string[]; rows: JsonValue[][]; truncated: boolean; elapsedMs: number }>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    if (!engineReady) return;
    let alive = true;
    engine.listWarehouseTables({}).then(
      (list) => alive && setTables(list.filter((table) => !table.name.startsWith('_eddy'))),
      (failure: unknown) => alive && setError(errorText(failure)),
    );
    return () => {
      alive = false;
    };
  }, [engineReady, refreshKey]);
  useEffect(() => {
    if (suggested && !sql) setSql(`SELECT * FROM "${suggested}" LIMIT 100`);
  }, [suggested]);
  const run = async (): Promise<void> => {
    setError(undefined);
    try {
      setResult(await engine.queryWarehouse({ sql, maxRows: 500 }));
    } catch (failure) {
      setResult(undefined);
      setError(errorText(failure));
    }
  };
  return (
    <section className="pipeline-warehouse" aria-label="Warehouse">
      <p className="hint">The local warehouse holds the tables of warehouse sinks and, after a dry run, the shadow tables of every sink (dryrun_*). Read-only SQL.</p>
      <ul className="pipeline-warehouse-tables">
        {tables.map((table) => (
          <li key={table.name}>
            <button className="link-button" onClick={() => setSql(`SELECT * FROM "${table.name}" LIMIT 100`)}>
              {table.name}
            </button>{' '}
            <span className="dim">
              {table.rows.toLocaleString()} rows · {table.columns.join(', ')}
            </span>
          </li>
        ))}
        {tables.length === 0 ? <li className="dim">No tables yet: run a pipeline with a warehouse sink, or a dry run.</li> : null}
      </ul>
      <div className="pipeline-row">
        <textarea className="pipeline-sql" value={sql} onChange={(event) => setSql(event.target.value)} rows={3} spellCheck={false} aria-label="SQL" />
        <button className="primary" onClick={() => void run()} disabled={!engineReady || !sql.trim()}>
          Run query
        </button>
      </div>
      {error ? <div className="pipeline-error">{error}</div> : null}
      {result ? (
        <div className="pipeline-result">
          <div className="dim">
            {result.rows.length} row(s){result.truncated ? ' (truncated)' : ''} in {result.elapsedMs.toFixed(1)} ms
          </div>
          <table className="pipeline-table">
            <thead>
              <tr>
                {result.columns.map((column) => (
                  <th key={column}>{column}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {result.rows.map((row, index) => (
                <tr key={index}>
                  {row.map((cell, column) => (
                    <td key={column}>{cell === null ? <span className="dim">null</span> : String(cell)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
