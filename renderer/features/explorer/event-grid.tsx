// The explorer's virtualized event grid. Only the rows on screen exist in the DOM; rows come from a
// RowStore that pages them in from the engine by index. @tanstack/react-virtual virtualizes blocks
// of rows (so its bookkeeping is per block, not per row, and stays cheap at millions of rows), and
// the grid renders the rows of the visible blocks that intersect the viewport.
//
// Browsers cap an element's height (about 17-33 million px), so past MAX_PX the scroll range is
// scaled: the scrollbar maps linearly onto the whole list, and the last row is still reachable.
import { elementScroll, observeElementOffset, useVirtualizer } from '@tanstack/react-virtual';
import { memo, useCallback, useEffect, useLayoutEffect, useRef, useSyncExternalStore, type JSX, type KeyboardEvent, type MouseEvent, type ReactNode } from 'react';
import type { StoredEvent } from '../../../shared/events';
import type { SortOrder } from '../../app/ui-state';
import type { RowStore } from './row-store';
import { extendTo, isSelected, selectAll, single, toggle, type Selection } from './selection';

export const ROW_HEIGHT = 24;
const BLOCK = 200;
const MAX_PX = 8_000_000;
const OVERSCAN_ROWS = 6;

export interface GridColumn {
  id: string;
  title: string;
  width: number;
  /** Takes the remaining width (one column, the value preview). */
  flex?: boolean;
  className?: string;
  cell: (event: StoredEvent, row: number, display: number) => ReactNode;
  /** What the cell shows while its row is loading (default: a grey bar). */
  placeholder?: (row: number, display: number) => ReactNode;
  /** The column can be removed (user JSON-path columns). */
  removable?: boolean;
}

export interface EventGridProps {
  label: string;
  store: RowStore;
  count: number;
  order: SortOrder;
  columns: GridColumn[];
  selection: Selection;
  onSelectionChange: (selection: Selection) => void;
  onColumnResize: (id: string, width: number) => void;
  onRemoveColumn?: (id: string) => void;
  /** Reveal this row (oldest-first index); bump `nonce` to repeat. */
  reveal?: { row: number; nonce: number } | undefined;
  emptyText?: ReactNode;
}

export function EventGrid(props: EventGridProps): JSX.Element {
  const { store, count, order, columns, selection } = props;
  const scrollRef = useRef<HTMLDivElement>(null);
  const headerRef = useRef<HTMLDivElement>(null);
  const ratio = useRef(1);
  useSyncExternalStore(
    useCallback((listener) => store.subscribe(listener), [store]),
    () => store.version,
  );

  const virtualizer = useVirtualizer({
    count: Math.ceil(count / BLOCK),
    getScrollElement: () => scrollRef.current,
    estimateSize: useCallback((index: number) => Math.min(BLOCK, count - index * BLOCK) * ROW_HEIGHT, [count]),
    overscan: 0,
    observeElementOffset: useCallback<typeof observeElementOffset>((instance, callback) => observeElementOffset(instance, (offset, scrolling) => callback(offset * ratio.current, scrolling)), []),
    scrollToFn: useCallback<typeof elementScroll>((offset, options, instance) => elementScroll(offset / ratio.current, options, instance), []),
  });

  const total = count * ROW_HEIGHT;
  const physical = Math.min(total, MAX_PX);
  const viewport = virtualizer.scrollRect?.height ?? scrollRef.current?.clientHeight ?? 0;
  ratio.current = total > physical && physical > viewport ? (total - viewport) / (physical - viewport) : 1;
  const physicalTop = scrollRef.current?.scrollTop ?? 0;
  const virtualTop = Math.min(Math.max(0, total - viewport), physicalTop * ratio.current);

  const displayToRow = useCallback((display: number) => (order === 'newest' ? count - 1 - display : display), [order, count]);
  const rowToDisplay = displayToRow; // the mapping is its own inverse

  // Rows on screen, from the blocks tanstack reports visible.
  const first = Math.max(0, Math.floor(virtualTop / ROW_HEIGHT) - OVERSCAN_ROWS);
  const last = Math.min(count - 1, Math.ceil((virtualTop + viewport) / ROW_HEIGHT) + OVERSCAN_ROWS);
  const displays: number[] = [];
  for (const block of virtualizer.getVirtualItems()) {
    const start = Math.max(first, block.index * BLOCK);
    const end = Math.min(last, block.index * BLOCK + BLOCK - 1);
    for (let display = start; display <= end; display++) displays.push(display);
  }
  if (displays.length === 0 && count > 0 && viewport > 0) for (let display = first; display <= last; display++) displays.push(display);

  useEffect(() => {
    if (count === 0 || last < first) return;
    const a = displayToRow(first);
    const b = displayToRow(last);
    store.request(Math.min(a, b), Math.max(a, b));
  }, [store, first, last, count, displayToRow, store.version]);

  // When rows arrive: newest first, keep the rows the user is reading where they are (unless they
  // watch the top, where the new rows appear); oldest first, follow the end if it was in view.
  const atNewestEdge = useRef(true);
  const previousCount = useRef(count);
  useLayoutEffect(() => {
    const previous = previousCount.current;
    previousCount.current = count;
    const element = scrollRef.current;
    if (!element || previous === 0 || count <= previous) return;
    if (order === 'newest') {
      if (!atNewestEdge.current) element.scrollTop += ((count - previous) * ROW_HEIGHT) / ratio.current;
    } else if (atNewestEdge.current) element.scrollTop = element.scrollHeight;
  }, [count, order]);
  const edgeNow = order === 'newest' ? physicalTop <= 0 : virtualTop + viewport >= total - ROW_HEIGHT;
  useLayoutEffect(() => {
    atNewestEdge.current = edgeNow;
  });

  const revealDisplay = useCallback(
    (display: number) => {
      const element = scrollRef.current;
      if (!element) return;
      const y = display * ROW_HEIGHT;
      const height = element.clientHeight;
      let target = virtualTop;
      if (y < virtualTop) target = y;
      else if (y + ROW_HEIGHT > virtualTop + height) target = y + ROW_HEIGHT - height;
      else return;
      element.scrollTop = target / ratio.current;
    },
    [virtualTop],
  );

  const reveal = props.reveal;
  useLayoutEffect(() => {
    if (reveal && reveal.row < count) revealDisplay(rowToDisplay(reveal.row));
    // Only when asked (the nonce changes), not on every scroll.
  }, [reveal?.nonce, reveal?.row]);

  const select = props.onSelectionChange;
  const onRowMouseDown = useCallback(
    (row: number, event: MouseEvent) => {
      if (event.button !== 0) return;
      if (event.shiftKey) select(extendTo(selection, row));
      else if (event.ctrlKey || event.metaKey) select(toggle(selection, row));
      else select(single(row));
    },
    [select, selection],
  );

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>): void => {
    if (count === 0) return;
    const page = Math.max(1, Math.floor(viewport / ROW_HEIGHT) - 1);
    const current = selection.focus === null ? -1 : rowToDisplay(selection.focus);
    let next: number | null = null;
    switch (event.key) {
      case 'ArrowDown':
        next = current + 1;
        break;
      case 'ArrowUp':
        next = current - 1;
        break;
      case 'PageDown':
        next = current + page;
        break;
      case 'PageUp':
        next = current - page;
        break;
      case 'Home':
        next = 0;
        break;
      case 'End':
        next = count - 1;
        break;
      case 'a':
        if (event.ctrlKey || event.metaKey) {
          event.preventDefault();
          select(selectAll(count));
        }
        return;
      default:
        return;
    }
    event.preventDefault();
    const display = Math.max(0, Math.min(count - 1, next));
    const row = displayToRow(display);
    select(event.shiftKey ? extendTo(selection, row) : single(row));
    revealDisplay(display);
  };

  const width = columns.reduce((sum, column) => sum + column.width, 0);
  return (
    <div className="grid" role="grid" aria-label={props.label} aria-rowcount={count + 1} aria-multiselectable="true">
      <div className="grid-header" ref={headerRef} role="rowgroup">
        <div className="grid-row header" role="row" aria-rowindex={1} style={{ minWidth: width }}>
          {columns.map((column) => (
            <HeaderCell key={column.id} column={column} onResize={props.onColumnResize} {...(column.removable && props.onRemoveColumn ? { onRemove: props.onRemoveColumn } : {})} />
          ))}
        </div>
      </div>
      <div
        className="grid-body"
        ref={scrollRef}
        tabIndex={0}
        data-testid="event-grid"
        onKeyDown={onKeyDown}
        onScroll={(event) => {
          if (headerRef.current) headerRef.current.scrollLeft = event.currentTarget.scrollLeft;
        }}
      >
        {count === 0 ? <div className="grid-empty">{props.emptyText ?? 'No events.'}</div> : null}
        <div className="grid-canvas" role="rowgroup" style={{ height: physical, minWidth: width }}>
          {displays.map((display) => {
            const row = displayToRow(display);
            return (
              <GridRow
                key={display}
                display={display}
                row={row}
                top={physicalTop + display * ROW_HEIGHT - virtualTop}
                event={store.get(row)}
                columns={columns}
                selected={isSelected(selection, row)}
                focused={selection.focus === row}
                onMouseDown={onRowMouseDown}
              />
            );
          })}
        </div>
      </div>
      {store.error ? (
        <div className="grid-error" role="alert">
          Could not load rows: {store.error} <button onClick={() => store.reset(count)}>Retry</button>
        </div>
      ) : null}
    </div>
  );
}

const GridRow = memo(function GridRow(props: {
  display: number;
  row: number;
  top: number;
  event: StoredEvent | undefined;
  columns: GridColumn[];
  selected: boolean;
  focused: boolean;
  onMouseDown: (row: number, event: MouseEvent) => void;
}): JSX.Element {
  const { event } = props;
  return (
    <div
      className={`grid-row${props.selected ? ' selected' : ''}${props.focused ? ' focused' : ''}${event ? '' : ' loading'}`}
      role="row"
      aria-rowindex={props.display + 2}
      aria-selected={props.selected}
      data-row={props.display}
      data-seq={event?.seq}
      style={{ transform: `translateY(${props.top}px)` }}
      onMouseDown={(mouse) => props.onMouseDown(props.row, mouse)}
    >
      {props.columns.map((column) => (
        <div key={column.id} role="gridcell" className={`grid-cell ${column.className ?? ''}${column.flex ? ' flex' : ''}`} style={column.flex ? { minWidth: column.width } : { width: column.width }}>
          {event ? column.cell(event, props.row, props.display) : column.placeholder ? column.placeholder(props.row, props.display) : <span className="placeholder" />}
        </div>
      ))}
    </div>
  );
});

function HeaderCell({ column, onResize, onRemove }: { column: GridColumn; onResize: (id: string, width: number) => void; onRemove?: (id: string) => void }): JSX.Element {
  return (
    <div role="columnheader" className={`grid-cell ${column.flex ? 'flex' : ''}`} style={column.flex ? { minWidth: column.width } : { width: column.width }} title={column.title}>
      <span className="header-title">{column.title}</span>
      {onRemove ? (
        <button className="icon-button remove-column" title={`Remove the column ${column.title}`} aria-label={`Remove the column ${column.title}`} onClick={() => onRemove(column.id)}>
          ×
        </button>
      ) : null}
      {column.flex ? null : (
        <span
          className="column-resizer"
          role="separator"
          aria-label={`Resize ${column.title}`}
          onPointerDown={(event) => {
            event.preventDefault();
            event.stopPropagation();
            const target = event.currentTarget;
            target.setPointerCapture(event.pointerId);
            const start = event.clientX;
            const initial = column.width;
            const move = (moveEvent: PointerEvent): void => onResize(column.id, Math.max(40, Math.min(900, initial + moveEvent.clientX - start)));
            const up = (): void => {
              target.removeEventListener('pointermove', move);
              target.removeEventListener('pointerup', up);
            };
            target.addEventListener('pointermove', move);
            target.addEventListener('pointerup', up);
          }}
        />
      )}
    </div>
  );
}
