// A virtualized table for SQL results (up to 100,000 rows): only the rows on screen are in the DOM.
import { useVirtualizer } from '@tanstack/react-virtual';
import { useRef, type JSX } from 'react';
import type { JsonValue } from '../../../shared/events';
import { preview } from './format';

const ROW = 24;

function cellText(value: JsonValue): string {
  if (value === null) return 'NULL';
  return typeof value === 'string' ? value : preview(value, 300);
}

export function ResultsGrid({ columns, rows }: { columns: string[]; rows: JsonValue[][] }): JSX.Element {
  const scroll = useRef<HTMLDivElement>(null);
  const header = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({ count: rows.length, getScrollElement: () => scroll.current, estimateSize: () => ROW, overscan: 12 });
  const width = Math.max(1, columns.length) * 180 + 64;
  return (
    <div className="grid results" role="grid" aria-label="Query results" aria-rowcount={rows.length + 1}>
      <div className="grid-header" ref={header}>
        <div className="grid-row header" role="row" style={{ minWidth: width }}>
          <div className="grid-cell num dim" role="columnheader" style={{ width: 64 }}>
            #
          </div>
          {columns.map((column, index) => (
            <div key={index} className="grid-cell" role="columnheader" style={{ width: 180 }} title={column}>
              {column}
            </div>
          ))}
        </div>
      </div>
      <div
        className="grid-body"
        ref={scroll}
        tabIndex={0}
        data-testid="results-grid"
        onScroll={(event) => {
          if (header.current) header.current.scrollLeft = event.currentTarget.scrollLeft;
        }}
      >
        <div className="grid-canvas" style={{ height: virtualizer.getTotalSize(), minWidth: width }}>
          {virtualizer.getVirtualItems().map((item) => {
            const row = rows[item.index]!;
            return (
              <div key={item.index} className="grid-row" role="row" aria-rowindex={item.index + 2} data-row={item.index} style={{ transform: `translateY(${item.start}px)` }}>
                <div className="grid-cell num dim" role="gridcell" style={{ width: 64 }}>
                  {item.index + 1}
                </div>
                {row.map((value, index) => (
                  <div key={index} className={`grid-cell mono${value === null ? ' dim' : ''}`} role="gridcell" style={{ width: 180 }} title={typeof value === 'string' ? value : undefined}>
                    {cellText(value)}
                  </div>
                ))}
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
