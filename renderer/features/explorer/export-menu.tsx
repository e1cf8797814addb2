// Export of the selected rows or the whole view as JSON Lines (re-importable, the start of a test
// fixture) or CSV (formula-guarded, with the JSON-path columns): downloaded at once for up to
// 50,000 events, or written by a job (progress, cancel) to the workspace's exports/ folder.
import { useState, type JSX } from 'react';
import type { ExplorerFilter } from '../../../shared/contracts/explorer';
import { engine } from '../../client/engine-client';
import { log, notify, reportError } from '../../app/output';
import { showBottom } from '../../app/ui-state';
import { downloadText } from './download';
import { formatCount } from './format';
import type { Selection } from './selection';

const DOWNLOAD_LIMIT = 50_000;

export function ExportMenu(props: { stream: string; filter: ExplorerFilter | undefined; selection: Selection; count: number; selected: number; columns: string[] }): JSX.Element {
  const [open, setOpen] = useState(false);
  const [scope, setScope] = useState<'selection' | 'view'>('selection');
  const [format, setFormat] = useState<'jsonl' | 'csv'>('jsonl');
  const [busy, setBusy] = useState(false);
  const effectiveScope = props.selected === 0 ? 'view' : scope;
  const amount = effectiveScope === 'selection' ? props.selected : props.count;
  const [target, setTarget] = useState<'download' | 'workspace'>('download');
  const effectiveTarget = amount > DOWNLOAD_LIMIT ? 'workspace' : target;

  const run = async (): Promise<void> => {
    setBusy(true);
    try {
      const result = await engine.exportEvents({
        stream: props.stream,
        ...(props.filter ? { filter: props.filter } : {}),
        format,
        columns: format === 'csv' ? props.columns : [],
        target: effectiveTarget,
        ...(effectiveScope === 'selection' ? { ranges: props.selection.ranges } : {}),
      });
      if (result.content !== undefined) {
        downloadText(result.filename, result.content, format === 'csv' ? 'text/csv;charset=utf-8' : 'application/x-ndjson;charset=utf-8');
        log('info', 'export', `Exported ${formatCount(result.count)} events of ${props.stream} as ${result.filename}`);
        notify({ level: 'info', title: 'Exported', message: `${formatCount(result.count)} events saved as ${result.filename}.` });
      } else {
        log('info', 'export', `Exporting ${formatCount(result.count)} events of ${props.stream} to ${result.path ?? result.filename}`);
        notify({ level: 'info', title: 'Export started', message: `Writing ${formatCount(result.count)} events to ${result.path ?? result.filename}.`, hint: 'Follow it in the status bar; cancel it there or in the Jobs tab.', action: { label: 'Show jobs', run: () => showBottom('jobs') } });
      }
      setOpen(false);
    } catch (failure) {
      reportError('Export failed', failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="popover-anchor">
      <button aria-expanded={open} onClick={() => setOpen(!open)} data-tour="export" title="Export events as JSON Lines or CSV">
        Export…
      </button>
      {open ? (
        <div className="popover export-menu" role="dialog" aria-label="Export events" onKeyDown={(event) => event.key === 'Escape' && setOpen(false)}>
          <fieldset>
            <legend>Which events</legend>
            <label>
              <input type="radio" name="scope" checked={effectiveScope === 'selection'} disabled={props.selected === 0} onChange={() => setScope('selection')} /> Selected rows ({formatCount(props.selected)})
            </label>
            <label>
              <input type="radio" name="scope" checked={effectiveScope === 'view'} onChange={() => setScope('view')} /> All {formatCount(props.count)} rows{props.filter ? ' matching the filter' : ''}
            </label>
          </fieldset>
          <fieldset>
            <legend>Format</legend>
            <label>
              <input type="radio" name="format" checked={format === 'jsonl'} onChange={() => setFormat('jsonl')} /> JSON Lines (one event per line, imports again)
            </label>
            <label>
              <input type="radio" name="format" checked={format === 'csv'} onChange={() => setFormat('csv')} /> CSV{props.columns.length > 0 ? ` (with ${props.columns.length} field column${props.columns.length === 1 ? '' : 's'})` : ''}
            </label>
          </fieldset>
          <fieldset>
            <legend>Where</legend>
            <label>
              <input type="radio" name="target" checked={effectiveTarget === 'download'} disabled={amount > DOWNLOAD_LIMIT} onChange={() => setTarget('download')} /> Download
              {amount > DOWNLOAD_LIMIT ? <span className="dim"> (up to {formatCount(DOWNLOAD_LIMIT)} events)</span> : null}
            </label>
            <label>
              <input type="radio" name="target" checked={effectiveTarget === 'workspace'} onChange={() => setTarget('workspace')} /> The workspace’s exports/ folder (any size, runs as a job)
            </label>
          </fieldset>
          {format === 'csv' ? <p className="hint">Cells that start with = + - @ are prefixed with ' so spreadsheets do not run them as formulas.</p> : null}
          <div className="actions">
            <span className="spacer" />
            <button onClick={() => setOpen(false)}>Cancel</button>
            <button className="primary" disabled={busy || amount === 0} onClick={() => void run()}>
              {busy ? 'Exporting…' : `Export ${formatCount(amount)} events`}
            </button>
          </div>
        </div>
      ) : null}
    </div>
  );
}
