// A quick chart of SQL results: the first column against each numeric column after it. Numeric
// first columns (times, buckets) draw as lines with LTTB decimation; text ones as bars.
import type { JSX } from 'react';
import type { JsonValue } from '../../../shared/events';
import { ChartCanvas, formatAxisTime, SERIES_COLORS } from './chart-canvas';

const MAX_BARS = 200;

export function ResultsChart({ columns, rows }: { columns: string[]; rows: JsonValue[][] }): JSX.Element {
  const numericColumns = columns.map((_, index) => index).filter((index) => index > 0 && rows.some((row) => typeof row[index] === 'number') && rows.every((row) => row[index] === null || typeof row[index] === 'number'));
  if (columns.length < 2 || numericColumns.length === 0) {
    return (
      <div className="empty-state">
        <p>Nothing to chart: the results need a label or time column followed by at least one numeric column.</p>
        <p className="hint">For example: SELECT (event_time / 60000) * 60000 AS minute, count(*) FROM events GROUP BY minute</p>
      </div>
    );
  }
  const numericX = rows.every((row) => typeof row[0] === 'number');
  if (numericX) {
    const sorted = [...rows].sort((a, b) => (a[0] as number) - (b[0] as number));
    const span = sorted.length > 1 ? (sorted[sorted.length - 1]![0] as number) - (sorted[0]![0] as number) : 0;
    const looksLikeTime = (sorted[0]?.[0] as number) > 946_684_800_000; // after 2000-01-01 in ms
    return (
      <ChartCanvas<'line'>
        label="Query results"
        version={rows}
        height={320}
        config={() => ({
          type: 'line',
          data: {
            datasets: numericColumns.map((column, index) => ({
              label: columns[column]!,
              data: sorted.map((row) => ({ x: row[0] as number, y: (row[column] as number | null) ?? Number.NaN })),
              borderColor: SERIES_COLORS[index % SERIES_COLORS.length],
              pointRadius: 0,
              borderWidth: 1.5,
            })),
          },
          options: {
            parsing: false,
            normalized: true,
            animation: false,
            maintainAspectRatio: false,
            plugins: {
              decimation: { enabled: true, algorithm: 'lttb', samples: 800, threshold: 1000 },
              tooltip: { callbacks: { title: (items) => (items[0] ? (looksLikeTime ? new Date(items[0].parsed.x ?? 0).toISOString() : String(items[0].parsed.x)) : '') } },
            },
            scales: { x: { type: 'linear', title: { display: true, text: columns[0] }, ticks: looksLikeTime ? { maxTicksLimit: 8, callback: (value) => formatAxisTime(Number(value), span) } : {} } },
          },
        })}
      />
    );
  }
  const shown = rows.slice(0, MAX_BARS);
  return (
    <ChartCanvas<'bar'>
      label="Query results"
      version={rows}
      height={320}
      config={() => ({
        type: 'bar',
        data: {
          labels: shown.map((row) => String(row[0])),
          datasets: numericColumns.map((column, index) => ({ label: columns[column]!, data: shown.map((row) => (row[column] as number | null) ?? 0), backgroundColor: SERIES_COLORS[index % SERIES_COLORS.length] })),
        },
        options: { animation: false, maintainAspectRatio: false },
      })}
    />
  );
}
