// One stream in the editor area: a filter bar, the virtualized grid over every event of the
// stream (rows paged in from the engine by index, newest or oldest first), live updates batched
// to a few per second, JSON-path columns, export of a selection or the whole view, and the
// selected event's details (tree, raw, hex, before/after for change events).
import { useCallback, useEffect, useMemo, useRef, useState, type JSX } from 'react';
import { EddyError } from '../../../shared/contract';
import type { ExplorerFilter, FieldInfo, ViewInfo } from '../../../shared/contracts/explorer';
import type { JsonValue, StoredEvent } from '../../../shared/events';
import { engine } from '../../client/engine-client';
import { hintFor, notify, reportError } from '../../app/output';
import { Sash } from '../../app/sash';
import { useStore } from '../../app/store';
import { openCharts, openSql, ui, updateTab, useUi, type SortOrder, type StreamTab } from '../../app/ui-state';
import { revealRequests } from './download';
import { EventDetail } from './event-detail';
import { EventGrid, type GridColumn } from './event-grid';
import { ExportMenu } from './export-menu';
import { countConditions, FilterBar } from './filter-bar';
import { countOf, displayOp, formatCount, formatTime, keyPreview, preview, streamLabel } from './format';
import { evaluatePath, parsePath } from './json-path';
import { RowStore } from './row-store';
import { clampSelection, emptySelection, selectedCount, single, type Selection } from './selection';

const REFRESH_MS = 250;
const widths = new Map<string, number>();

function useViewInfo(stream: string, filter: ExplorerFilter | undefined, engineReady: boolean) {
  const [info, setInfo] = useState<ViewInfo>();
  const [error, setError] = useState<EddyError>();
  const [loading, setLoading] = useState(true);
  const [generation, setGeneration] = useState(0);
  const filterText = JSON.stringify(filter ?? null);
  useEffect(() => {
    if (!engineReady) return;
    let cancelled = false;
    setLoading(true);
    engine.openView({ stream, ...(filter ? { filter } : {}) }).then(
      (value) => {
        if (cancelled) return;
        setInfo(value);
        setError(undefined);
        setLoading(false);
      },
      (failure: unknown) => {
        if (cancelled) return;
        setError(failure instanceof EddyError ? failure : new EddyError('INTERNAL', String(failure)));
        setLoading(false);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [stream, filterText, engineReady, generation]);
  return { info, setInfo, error, loading, retry: () => setGeneration((value) => value + 1) };
}

export function StreamView({ tab, engineReady, compact = false }: { tab: StreamTab; engineReady: boolean; compact?: boolean }): JSX.Element {
  const { stream } = tab;
  const filter = tab.filter;
  const order: SortOrder = tab.order ?? 'newest';
  const live = tab.live ?? true;
  const view = useViewInfo(stream, filter, engineReady);
  const filterText = JSON.stringify(filter ?? null);
  const [count, setCount] = useState(0);
  const [pending, setPending] = useState(0);
  const [selection, setSelection] = useState<Selection>(emptySelection);
  const [reveal, setReveal] = useState<{ row: number; nonce: number }>();
  const [fields, setFields] = useState<FieldInfo[]>([]);
  const [detail, setDetail] = useState<StoredEvent>();
  const [showDetail, setShowDetail] = useState(true);
  const [, setWidthTick] = useState(0);
  const detailWidth = useUi((state) => state.detailWidth);
  const userColumns = useUi((state) => state.columns[stream]) ?? [];

  const fetchRows = useCallback(
    (from: number, limit: number) => engine.readRows({ stream, ...(filter ? { filter } : {}), from, limit }),
    [stream, filterText],
  );
  const countRef = useRef(0);
  const latestCount = useRef<(count: number) => void>(() => undefined);
  const store = useMemo(() => new RowStore(fetchRows, 0, (latest) => latestCount.current(latest)), [fetchRows]);
  useEffect(() => () => store.dispose(), [store]);

  const applyCount = useCallback(
    (next: number) => {
      if (next === countRef.current) return;
      countRef.current = next;
      store.grow(next);
      setCount(next);
      setPending(0);
      setSelection((current) => clampSelection(current, next));
    },
    [store],
  );

  // A fresh view (stream, filter or engine restart): start over.
  useEffect(() => {
    if (!view.info) return;
    countRef.current = view.info.count;
    store.reset(view.info.count);
    setCount(view.info.count);
    setPending(0);
    setSelection((current) => clampSelection(current, view.info!.count));
  }, [view.info, store]);

  // Live: at most one refresh every 250 ms, never two at once, however fast events arrive.
  const liveRef = useRef(live);
  liveRef.current = live;
  const refresh = useMemo(() => {
    let inFlight = false;
    let again = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let last = 0;
    const run = (): void => {
      if (inFlight) {
        again = true;
        return;
      }
      const wait = last + REFRESH_MS - Date.now();
      if (wait > 0) {
        timer ??= setTimeout(() => {
          timer = undefined;
          run();
        }, wait);
        return;
      }
      inFlight = true;
      last = Date.now();
      engine
        .openView({ stream, ...(filter ? { filter } : {}) })
        .then(
          (info) => {
            if (liveRef.current || info.count < countRef.current) applyCount(info.count);
            else setPending(Math.max(0, info.count - countRef.current));
          },
          () => undefined,
        )
        .finally(() => {
          inFlight = false;
          if (again) {
            again = false;
            run();
          }
        });
    };
    return {
      run,
      stop: () => {
        if (timer) clearTimeout(timer);
      },
    };
  }, [stream, filterText, applyCount]);
  useEffect(() => () => refresh.stop(), [refresh]);
  latestCount.current = (latest: number) => {
    if (latest !== countRef.current) refresh.run();
  };

  useEffect(
    () =>
      engine.onLogAppended((payload) => {
        if (payload.streams.some((item) => item.stream === stream)) refresh.run();
      }),
    [stream, refresh],
  );

  // Field paths for the filter bar and the column picker.
  useEffect(() => {
    if (!engineReady) return;
    let cancelled = false;
    engine.describeFields({ stream, sample: 300 }).then(
      (result) => !cancelled && setFields(result.fields),
      () => undefined,
    );
    return () => {
      cancelled = true;
    };
  }, [stream, engineReady, count > 0]);

  // The focused row's event for the detail pane.
  const focus = selection.focus;
  const focusEvent = focus === null ? undefined : store.get(focus);
  useEffect(() => {
    if (focus === null) {
      setDetail(undefined);
      return;
    }
    if (focusEvent) {
      setDetail(focusEvent);
      return;
    }
    let cancelled = false;
    engine.readRows({ stream, ...(filter ? { filter } : {}), from: focus, limit: 1 }).then(
      (page) => !cancelled && setDetail(page.events[0]),
      () => undefined,
    );
    return () => {
      cancelled = true;
    };
  }, [focus, focusEvent, stream, filterText]);

  // "Go to event" and copied links.
  const revealRequest = useStore(revealRequests, (state) => state);
  const handledReveal = useRef(0);
  useEffect(() => {
    if (!engineReady || !view.info || revealRequest.stream !== stream || !revealRequest.position || handledReveal.current === revealRequest.nonce) return;
    handledReveal.current = revealRequest.nonce;
    const position = revealRequest.position;
    engine.locateEvent({ stream, ...(filter ? { filter } : {}), position }).then(
      (found) => {
        if (found.index === null) {
          notify({
            level: 'warning',
            title: 'The event is hidden by the filter',
            message: `${position} is in ${stream} but does not match the current filter.`,
            hint: 'Clear the filter to see it.',
            action: { label: 'Clear the filter', run: () => updateTab<StreamTab>(tab.id, { filter: undefined }) },
          });
          return;
        }
        if (found.count > countRef.current) applyCount(found.count);
        setSelection(single(found.index));
        setReveal({ row: found.index, nonce: revealRequest.nonce });
        setShowDetail(true);
      },
      (failure: unknown) => reportError('Could not find the event', failure),
    );
  }, [revealRequest.nonce, engineReady, view.info, stream, filterText]);

  const addColumn = useCallback(
    (path: string) => {
      const normal = parsePath(path);
      if (!normal) {
        notify({ level: 'warning', title: 'Not a field path', message: `“${path}” is not a path like after.City or key.id.`, hint: 'Pick a field in the event tree and choose “column”.' });
        return;
      }
      ui.set((state) => {
        const list = state.columns[stream] ?? [];
        return list.includes(path) ? state : { ...state, columns: { ...state.columns, [stream]: [...list, path] } };
      });
    },
    [stream],
  );
  const removeColumn = useCallback(
    (id: string) => {
      const path = id.slice('path:'.length);
      ui.set((state) => ({ ...state, columns: { ...state.columns, [stream]: (state.columns[stream] ?? []).filter((item) => item !== path) } }));
    },
    [stream],
  );

  const columnsKey = userColumns.join('\u0000');
  const columns = useMemo<GridColumn[]>(() => {
    const width = (id: string, fallback: number): number => widths.get(`${stream}|${id}`) ?? fallback;
    const base: GridColumn[] = [
      { id: 'row', title: '#', width: width('row', 86), className: 'num dim', cell: (_event, _row, display) => formatCount(display + 1), placeholder: (_row, display) => formatCount(display + 1) },
      { id: 'eventTime', title: 'Event time', width: width('eventTime', 186), className: 'mono', cell: (event) => formatTime(event.eventTime) },
      {
        id: 'op',
        title: 'Op',
        width: width('op', 44),
        cell: (event) => {
          const op = displayOp(event);
          return op ? (
            <span className={`op op-${op}`} title={op === 't' ? 'truncate: the table was emptied' : undefined}>
              {op}
            </span>
          ) : null;
        },
      },
      { id: 'key', title: 'Key', width: width('key', 150), className: 'mono', cell: (event) => keyPreview(event.key, 60) },
    ];
    const trailing: GridColumn[] = [
      { id: 'position', title: 'Position', width: width('position', 220), className: 'mono dim', cell: (event) => event.position },
      { id: 'ingestTime', title: 'Ingest time', width: width('ingestTime', 186), className: 'mono dim', cell: (event) => formatTime(event.ingestTime) },
    ];
    const extra: GridColumn[] = userColumns.map((path) => {
      const parsed = parsePath(path);
      return {
        id: `path:${path}`,
        title: path,
        width: width(`path:${path}`, 140),
        className: 'mono path-column',
        removable: true,
        cell: (event: StoredEvent) => {
          if (!parsed) return null;
          const value = evaluatePath(event, parsed);
          return value === undefined ? <span className="dim">—</span> : preview(value as JsonValue, 80);
        },
      };
    });
    const value: GridColumn = {
      id: 'value',
      title: 'Value',
      width: 320,
      flex: true,
      className: 'mono',
      // The value when there is one (a note about a header or the key must not hide it), the note otherwise.
      cell: (event) =>
        event.value !== null ? (
          event.decodeError ? (
            <span title={event.decodeError}>
              <span className="decode-error">⚠</span> {preview(event.value, 240)}
            </span>
          ) : (
            preview(event.value, 240)
          )
        ) : event.decodeError ? (
          <span className="decode-error">⚠ {event.decodeError}</span>
        ) : (
          <span className="dim">null</span>
        ),
    };
    // The value preview takes the room that is left; position and ingest time follow it.
    return [...base, ...extra, value, ...trailing];
  }, [stream, columnsKey, widths.size, view.info]);

  const onColumnResize = useCallback(
    (id: string, width: number) => {
      widths.set(`${stream}|${id}`, width);
      setWidthTick((value) => value + 1);
    },
    [stream],
  );

  const setFilter = (next: ExplorerFilter | undefined): void => {
    setSelection(emptySelection);
    updateTab<StreamTab>(tab.id, { filter: next });
  };

  const filterBy = useCallback(
    (path: string, value: JsonValue) => {
      if (value !== null && typeof value === 'object') return;
      const fields = (filter?.fields ?? []).filter((field) => field.path !== path);
      setSelection(emptySelection);
      updateTab<StreamTab>(tab.id, { filter: { ...(filter ?? {}), fields: [...fields, { path, op: 'eq', value }] } });
    },
    [filterText, tab.id],
  );

  const label = streamLabel(stream);
  const info = view.info;
  const isChangeStream = fields.some((field) => field.path === 'before' || field.path === 'after') || label.kind === 'sqlserver' || label.kind === 'pg';
  const selected = selectedCount(selection);
  const grid = (
    <EventGrid
      label={`Events of ${stream}`}
      store={store}
      count={count}
      order={order}
      columns={columns}
      selection={selection}
      onSelectionChange={(next) => {
        setSelection(next);
        if (next.focus !== null) setShowDetail(true);
      }}
      onColumnResize={onColumnResize}
      onRemoveColumn={removeColumn}
      reveal={reveal}
      emptyText={
        view.loading ? (
          'Counting events…'
        ) : filter ? (
          <>
            No events match this filter. <button onClick={() => setFilter(undefined)}>Clear the filter</button>
          </>
        ) : (
          'This stream has no events. It may have been deleted or emptied by retention; capture or import events to fill it.'
        )
      }
    />
  );

  return (
    <section className={compact ? 'stream-view compact' : 'stream-view'} aria-label={`Stream ${stream}`} data-testid="stream-view">
      {compact ? null : (
        <header className="view-header">
          <span className={`badge ${label.kind}`}>{label.kind}</span>
          <h2 title={stream}>{label.name}</h2>
          <span className="view-count" data-testid="view-count">
            {info ? (
              <>
                {info.filtered ? `${formatCount(count)} of ${countOf(info.streamCount, 'event')}` : countOf(count, 'event')}
              </>
            ) : view.loading ? (
              'Counting…'
            ) : null}
          </span>
          {pending > 0 ? (
            <button className="pill" onClick={() => applyCount(count + pending)} title="Show the events that arrived">
              ↑ {formatCount(pending)} new
            </button>
          ) : null}
          <span className="spacer" />
          <button className={live ? 'toggle active' : 'toggle'} aria-pressed={live} title={live ? 'Live: new events appear as they arrive. Click to pause.' : 'Paused: click to follow new events again.'} onClick={() => updateTab<StreamTab>(tab.id, { live: !live })}>
            {live ? '● Live' : '❚❚ Paused'}
          </button>
          <button title="Change the sort order" onClick={() => updateTab<StreamTab>(tab.id, { order: order === 'newest' ? 'oldest' : 'newest' })}>
            {order === 'newest' ? 'Newest first' : 'Oldest first'}
          </button>
          <ColumnPicker fields={fields} onAdd={addColumn} existing={userColumns} />
          <ExportMenu stream={stream} filter={filter} selection={selection} count={count} columns={userColumns} selected={selected} />
          <button title="Charts of this stream" onClick={() => openCharts(stream)}>
            Charts
          </button>
          <button title="Query this stream with SQL" onClick={() => openSql(`SELECT seq, position, op, event_time, json_extract(value, '$') AS value\nFROM events\nWHERE stream = '${stream.replace(/'/g, "''")}'\nORDER BY seq DESC\nLIMIT 100`)}>
            SQL
          </button>
        </header>
      )}
      {compact ? null : <FilterBar key={stream} filter={filter} onChange={setFilter} fields={fields} isChangeStream={isChangeStream} />}
      {view.error ? (
        <div className="banner error" role="alert">
          <strong>Could not open the stream</strong>
          <span>
            {view.error.message} {hintFor(view.error)}
          </span>
          <span className="spacer" />
          <button onClick={view.retry}>Try again</button>
        </div>
      ) : null}
      {view.loading && info === undefined ? <div className="progress-line" role="progressbar" aria-label="Counting events" /> : null}
      <div className="split">
        <div className="grid-wrap">
          {grid}
          {!compact ? (
            <div className="grid-status">
              {selected > 1 ? `${formatCount(selected)} selected · ` : ''}
              {countConditions(filter) > 0 ? `${countConditions(filter)} filter condition${countConditions(filter) === 1 ? '' : 's'} · ` : ''}
              {info && info.count > 0 && info.lastSeq !== null ? `${order === 'newest' ? 'newest' : 'oldest'} first` : ''}
              {info && info.elapsedMs > 200 ? ` · indexed in ${(info.elapsedMs / 1000).toFixed(1)} s` : ''}
            </div>
          ) : null}
        </div>
        {detail && showDetail ? (
          <>
            <Sash direction="vertical" size={detailWidth} min={260} max={1000} invert label="Resize the event details" onResize={(size) => ui.set({ detailWidth: size })} />
            <div className="detail-wrap" style={{ width: detailWidth }} onKeyDown={(event) => event.key === 'Escape' && setShowDetail(false)}>
              <EventDetail
                key={detail.seq}
                event={detail}
                onClose={() => setShowDetail(false)}
                actions={{
                  onAddColumn: addColumn,
                  onFilter: filterBy,
                  onChart: (path) => openCharts(stream, path),
                }}
              />
            </div>
          </>
        ) : null}
      </div>
    </section>
  );
}

function ColumnPicker({ fields, onAdd, existing }: { fields: FieldInfo[]; onAdd: (path: string) => void; existing: string[] }): JSX.Element {
  const [open, setOpen] = useState(false);
  const [text, setText] = useState('');
  const candidates = fields.filter((field) => !existing.includes(field.path) && field.path.toLowerCase().includes(text.toLowerCase())).slice(0, 40);
  return (
    <div className="popover-anchor">
      <button aria-expanded={open} onClick={() => setOpen(!open)} title="Add a column showing a field of the value (a JSON path)">
        + Column
      </button>
      {open ? (
        <div className="popover" role="dialog" aria-label="Add a column">
          <form
            onSubmit={(event) => {
              event.preventDefault();
              if (text.trim()) {
                onAdd(text.trim());
                setText('');
                setOpen(false);
              }
            }}
          >
            <input autoFocus placeholder="JSON path, e.g. after.City" aria-label="JSON path" value={text} onChange={(event) => setText(event.target.value)} onKeyDown={(event) => event.key === 'Escape' && setOpen(false)} />
          </form>
          <ul className="popover-list">
            {candidates.map((field) => (
              <li key={field.path}>
                <button
                  className="popover-item"
                  onClick={() => {
                    onAdd(field.path);
                    setOpen(false);
                  }}
                >
                  <span className="mono">{field.path}</span>
                  <span className="dim">{field.types.join(' | ')}</span>
                </button>
              </li>
            ))}
            {candidates.length === 0 ? <li className="dim popover-empty">Type a path and press Enter.</li> : null}
          </ul>
        </div>
      ) : null}
    </div>
  );
}
