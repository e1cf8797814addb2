// The per-record preview: for each sample event, the input row and the outputs side by side with
// the field-level diff, the error (with the line that threw, one click from the editor) and the
// lines it logged. A checkbox picks events to pin into a test.
import type { JSX } from 'react';
import type { PreviewRecord } from '../../../shared/contracts/transforms';
import type { JsonValue } from '../../../shared/events';
import { FieldTable } from './field-table';

export function inputRow(record: PreviewRecord): JsonValue {
  const value = record.input.value;
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && ('after' in value || 'before' in value)) {
    return (value.after ?? value.before ?? null) as JsonValue;
  }
  return value;
}

interface PreviewListProps {
  records: PreviewRecord[];
  /** Events picked for a new test; without `onToggle` there is nothing to pick. */
  selected?: ReadonlySet<number>;
  onToggle?: (index: number) => void;
  onGoToLine?: (line: number, column?: number) => void;
}

export function PreviewList({ records, selected = new Set(), onToggle, onGoToLine }: PreviewListProps): JSX.Element {
  if (records.length === 0) return <div className="empty-state dim">No sample events in this window.</div>;
  return (
    <ol className="preview-records">
      {records.map((record) => (
        <PreviewItem key={record.index} record={record} selected={selected.has(record.index)} onToggle={onToggle} onGoToLine={onGoToLine} />
      ))}
    </ol>
  );
}

function PreviewItem({ record, selected, onToggle, onGoToLine }: { record: PreviewRecord; selected: boolean; onToggle: ((index: number) => void) | undefined; onGoToLine: ((line: number, column?: number) => void) | undefined }): JSX.Element {
  const status = record.error ? 'error' : record.outputs.length === 0 ? 'dropped' : 'ok';
  return (
    <li className={`preview-record ${status}`} data-testid="preview-record" data-status={status}>
      <header className="preview-record-head">
        {onToggle ? (
          <label className="pick" title="Pick this event for a new test">
            <input type="checkbox" checked={selected} onChange={() => onToggle(record.index)} aria-label={`Pick event ${record.index + 1} for a test`} />
          </label>
        ) : null}
        <span className="record-number">#{record.index + 1}</span>
        {record.input.op ? <span className={`op op-${record.input.op}`}>{record.input.op}</span> : null}
        <span className="mono dim record-key" title={record.input.position}>
          {JSON.stringify(record.input.key)}
        </span>
        <span className="spacer" />
        <span className="record-summary dim">{record.error ? 'error' : record.outputs.length === 0 ? 'no output' : `${record.outputs.length} output${record.outputs.length > 1 ? 's' : ''}`}</span>
      </header>
      <div className="preview-sides">
        <section className="preview-side">
          <h4>Input{record.input.op === 'd' ? ' (before)' : ''}</h4>
          <FieldTable value={inputRow(record)} changes={record.changes} side="input" />
        </section>
        <section className="preview-side">
          <h4>Output</h4>
          {record.error ? (
            <div className="record-error" role="alert">
              <div>
                <strong>{record.error.name}</strong>: {record.error.message}
              </div>
              {record.error.line !== null ? (
                <button className="link-button" onClick={() => onGoToLine?.(record.error!.line!, record.error!.column ?? 1)} disabled={!onGoToLine}>
                  line {record.error.line}
                  {record.error.column !== null ? `:${record.error.column}` : ''}
                </button>
              ) : null}
            </div>
          ) : record.outputs.length === 0 ? (
            <div className="field-empty dim">dropped (the transform returned nothing)</div>
          ) : (
            record.outputs.map((output, index) => (
              <div className="output-event" key={index}>
                {record.outputs.length > 1 ? <div className="dim output-index">output {index + 1}</div> : null}
                <div className="mono dim output-key">key {JSON.stringify(output.key)}</div>
                <FieldTable value={output.value ?? undefined} changes={index === 0 ? record.changes : []} side="output" />
              </div>
            ))
          )}
        </section>
      </div>
      {record.logs.length > 0 ? (
        <ul className="record-logs mono">
          {record.logs.map((line, index) => (
            <li key={index} className={`log-${line.level}`}>
              {line.level}: {line.message}
            </li>
          ))}
        </ul>
      ) : null}
      {record.stateChanges.length > 0 ? (
        <div className="record-state mono dim">
          state: {record.stateChanges.map((change) => `${change.key} ← ${change.value === null ? 'deleted' : JSON.stringify(change.value)}`).join(', ')}
        </div>
      ) : null}
    </li>
  );
}
