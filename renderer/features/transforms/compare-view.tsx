// Two versions of a transform over the same samples: the saved file (base) against the editor's
// buffer (candidate). Shows records whose outputs change, outputs added or removed, and which
// fields change how often — what reprocessing with the edit would do.
import type { JSX } from 'react';
import type { CompareResult } from '../../../shared/contracts/transforms';
import { FieldTable } from './field-table';

export function CompareView({ result }: { result: CompareResult }): JSX.Element {
  if (!result.ok) {
    const problems = [...result.diagnostics.base.map((item) => `saved: ${item.message}`), ...result.diagnostics.candidate.map((item) => `edited: ${item.message}`)];
    return (
      <div className="empty-state error" role="alert">
        {problems.map((problem, index) => (
          <p key={index}>{problem}</p>
        ))}
      </div>
    );
  }
  const { summary } = result;
  return (
    <div className="compare-view" data-testid="compare-view">
      <div className="compare-summary">
        <span>
          <strong>{summary.records}</strong> events
        </span>
        <span>
          <strong>{summary.same}</strong> unchanged
        </span>
        <span className={summary.changed ? 'warn' : undefined}>
          <strong>{summary.changed}</strong> changed
        </span>
        <span className={summary.added ? 'ok' : undefined}>
          <strong>+{summary.added}</strong> outputs added
        </span>
        <span className={summary.removed ? 'danger' : undefined}>
          <strong>−{summary.removed}</strong> outputs removed
        </span>
        {summary.newErrors ? <span className="danger">{summary.newErrors} new errors</span> : null}
        {summary.fixedErrors ? <span className="ok">{summary.fixedErrors} errors fixed</span> : null}
      </div>
      {summary.fields.length > 0 ? (
        <div className="compare-fields dim">
          fields changed: {summary.fields.slice(0, 12).map((field) => `${field.path} (${field.count})`).join(', ')}
        </div>
      ) : null}
      <ol className="preview-records">
        {result.records.map((record) => (
          <li key={record.index} className={`preview-record compare-${record.status}`}>
            <header className="preview-record-head">
              <span className="record-number">#{record.index + 1}</span>
              <span className="mono dim record-key">{JSON.stringify(record.input.key)}</span>
              <span className="spacer" />
              <span className="record-summary">{record.status}</span>
            </header>
            <div className="preview-sides">
              <section className="preview-side">
                <h4>Saved version</h4>
                {record.base.error ? <div className="record-error">{record.base.error.message}</div> : null}
                {record.base.outputs.map((output, index) => (
                  <FieldTable key={index} value={output.value ?? undefined} changes={record.changes.map((change) => ({ ...change, path: change.path.replace(/^(#\d+\.)?value\./, '') }))} side="input" empty="(no output)" />
                ))}
                {record.base.outputs.length === 0 && !record.base.error ? <div className="field-empty dim">(no output)</div> : null}
              </section>
              <section className="preview-side">
                <h4>Edited version</h4>
                {record.candidate.error ? <div className="record-error">{record.candidate.error.message}</div> : null}
                {record.candidate.outputs.map((output, index) => (
                  <FieldTable key={index} value={output.value ?? undefined} changes={record.changes.map((change) => ({ ...change, path: change.path.replace(/^(#\d+\.)?value\./, '') }))} side="output" empty="(no output)" />
                ))}
                {record.candidate.outputs.length === 0 && !record.candidate.error ? <div className="field-empty dim">(no output)</div> : null}
              </section>
            </div>
          </li>
        ))}
      </ol>
      {result.records.length === 0 ? <p className="dim">Both versions produce the same outputs on these samples.</p> : null}
    </div>
  );
}
