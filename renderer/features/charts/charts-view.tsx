// The charts tab: event rate over time per stream, how late events arrive (ingest time minus event
// time) and how a field's values are distributed. The engine aggregates (GROUP BY time bucket or
// value); the renderer only draws, with chart.js's LTTB decimation so even a million points draw
// at once.
import { hasGaps, withGaps } from './gaps';
import { useEffect, useState, type JSX } from 'react';
import { EddyError, type ResponseOf } from '../../../shared/contract';
import type { FieldInfo } from '../../../shared/contracts/explorer';
import { engine } from '../../client/engine-client';
import { hintFor } from '../../app/output';
import { updateTab, type ChartsTab } from '../../app/ui-state';
import { formatCount, preview } from '../explorer/format';
import { useStreams } from '../explorer/streams';
import { ChartCanvas, formatAxisTime, SERIES_COLORS, themeColors } from './chart-canvas';

const BUCKETS: [string, number | undefined][] = [
  ['Auto', undefined],
  ['100 ms', 100],
  ['1 s', 1000],
  ['10 s', 10_000],
  ['1 min', 60_000],
  ['10 min', 600_000],
  ['1 h', 3_600_000],
  ['1 day', 86_400_000],
];

export function describeBucket(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${ms / 1000} s`;
  if (ms < 3_600_000) return `${ms / 60_000} min`;
  if (ms < 86_400_000) return `${ms / 3_600_000} h`;
  return `${ms / 86_400_000} d`;
}

function useAsync<T>(load: () => Promise<T>, deps: unknown[], enabled = true): { data: T | undefined; error: EddyError | undefined; loading: boolean } {
  const [state, setState] = useState<{ data: T | undefined; error: EddyError | undefined; loading: boolean }>({ data: undefined, error: undefined, loading: false });
  useEffect(() => {
    if (!enabled) return;
    let cancelled = false;
    setState((current) => ({ ...current, loading: true }));
    load().then(
      (data) => !cancelled && setState({ data, error: undefined, loading: false }),
      (error: unknown) => !cancelled && setState((current) => ({ data: current.data, error: error instanceof EddyError ? error : new EddyError('INTERNAL', String(error)), loading: false })),
    );
    return () => {
      cancelled = true;
    };
  }, [...deps, enabled]);
  return state;
}

function Failure({ error }: { error: EddyError }): JSX.Element {
  return (
    <div className="banner error" role="alert">
      <strong>Could not compute this chart</strong>
      <span>
        {error.message} {hintFor(error)}
      </span>
    </div>
  );
}

export function ChartsView({ tab, engineReady }: { tab: ChartsTab; engineReady: boolean }): JSX.Element {
  const streams = useStreams();
  const [time, setTime] = useState<'event' | 'ingest'>('event');
  const [bucket, setBucket] = useState<number | undefined>(undefined);
  const [tick, setTick] = useState(0);
  const stream = tab.stream;
  const list = streams.list ?? [];

  const rate = useAsync(() => engine.eventRate({ ...(stream ? { streams: [stream] } : {}), time, ...(bucket ? { bucketMs: bucket } : {}) }), [stream, time, bucket, tick, engineReady], engineReady);

  if (streams.list && list.length === 0) {
    return (
      <section className="charts-view">
        <div className="empty-state">
          <p>Nothing to chart yet: the event log is empty.</p>
          <p className="hint">Capture events from a connection, or import a JSON Lines file from the Explorer.</p>
        </div>
      </section>
    );
  }

  return (
    <section className="charts-view" aria-label="Charts">
      <header className="view-header">
        <h2>Charts</h2>
        <label className="inline-label">
          Stream
          <select aria-label="Stream" value={stream ?? ''} onChange={(event) => updateTab<ChartsTab>(tab.id, { stream: event.target.value || null, field: undefined })}>
            <option value="">All streams</option>
            {list.map((item) => (
              <option key={item.stream} value={item.stream}>
                {item.stream}
              </option>
            ))}
          </select>
        </label>
        <label className="inline-label">
          Time
          <select aria-label="Time axis" value={time} onChange={(event) => setTime(event.target.value as 'event' | 'ingest')}>
            <option value="event">event time</option>
            <option value="ingest">ingest time</option>
          </select>
        </label>
        <label className="inline-label">
          Bucket
          <select aria-label="Bucket" value={bucket ?? ''} onChange={(event) => setBucket(event.target.value ? Number(event.target.value) : undefined)}>
            {BUCKETS.map(([label, value]) => (
              <option key={label} value={value ?? ''}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <span className="spacer" />
        <button onClick={() => setTick((value) => value + 1)}>Refresh</button>
      </header>
      <div className="charts-body">
        <figure className="chart-card" data-testid="rate-chart">
          <figcaption>
            <strong>Event rate</strong>
            <span className="dim">
              {rate.data ? ` events per ${describeBucket(rate.data.bucketMs)} of ${time} time · ${formatCount(rate.data.series.reduce((sum, item) => sum + item.total, 0))} events · ${rate.data.elapsedMs} ms` : rate.loading ? ' computing…' : ''}
            </span>
          </figcaption>
          {rate.error ? <Failure error={rate.error} /> : null}
          {rate.data ? <RateChart data={rate.data} /> : <div className="chart-box placeholder-box" />}
        </figure>
        {stream ? (
          <>
            <SkewCard stream={stream} bucket={bucket} tick={tick} engineReady={engineReady} />
            <DistributionCard tab={tab} stream={stream} tick={tick} engineReady={engineReady} />
          </>
        ) : (
          <p className="hint">Pick a stream to see how late its events arrive and how its fields are distributed.</p>
        )}
      </div>
    </section>
  );
}

function RateChart({ data }: { data: ResponseOf<'eventRate'> }): JSX.Element {
  const span = (data.to ?? 0) - (data.from ?? 0);
  return (
    <ChartCanvas<'line'>
      label="Events per time bucket"
      version={data}
      config={(theme) => ({
        type: 'line',
        data: {
          datasets: data.series.map((series, index) => ({
            label: series.stream,
            data: series.points.map(([x, y]) => ({ x, y })),
            borderColor: SERIES_COLORS[index % SERIES_COLORS.length],
            backgroundColor: `${SERIES_COLORS[index % SERIES_COLORS.length]}33`,
            borderWidth: 1.5,
            pointRadius: 0,
            fill: data.series.length === 1,
            stepped: false,
          })),
        },
        options: {
          parsing: false,
          normalized: true,
          animation: false,
          maintainAspectRatio: false,
          interaction: { mode: 'nearest', axis: 'x', intersect: false },
          plugins: {
            decimation: { enabled: true, algorithm: 'lttb', samples: 800, threshold: 1000 },
            legend: { display: data.series.length > 1, labels: { color: themeColors(theme).text, boxWidth: 12 } },
            tooltip: { callbacks: { title: (items) => (items[0] ? new Date(items[0].parsed.x ?? 0).toISOString() : '') } },
          },
          scales: {
            x: { type: 'linear', ...(data.from !== null && data.to !== null ? { min: data.from, max: data.to } : {}), ticks: { maxTicksLimit: 8, callback: (value) => formatAxisTime(Number(value), span) } },
            y: { beginAtZero: true, title: { display: true, text: `events / ${describeBucket(data.bucketMs)}` } },
          },
        },
      })}
    />
  );
}

function SkewCard({ stream, bucket, tick, engineReady }: { stream: string; bucket: number | undefined; tick: number; engineReady: boolean }): JSX.Element {
  const skew = useAsync(() => engine.timeSkew({ stream, ...(bucket ? { bucketMs: bucket } : {}) }), [stream, bucket, tick, engineReady], engineReady);
  const data = skew.data;
  const span = data && data.points.length > 1 ? data.points[data.points.length - 1]![0] - data.points[0]![0] : 0;
  const worst = data ? data.points.reduce((max, point) => Math.max(max, point[3]), 0) : 0;
  return (
    <figure className="chart-card" data-testid="skew-chart">
      <figcaption>
        <strong>Event time vs ingest time</strong>
        <span className="dim">{data ? ` how long after its event time each event was captured · worst ${formatDuration(worst)} · ${data.elapsedMs} ms` : skew.loading ? ' computing…' : ''}</span>
      </figcaption>
      {skew.error ? <Failure error={skew.error} /> : null}
      {data ? (
        <ChartCanvas<'line'>
          label="Ingest time minus event time"
          version={data}
          config={() => ({
            type: 'line',
            data: {
              datasets: [
                { label: 'max', data: withGaps(data.points, data.bucketMs, (point) => point[3]), borderColor: '#e8590c', backgroundColor: '#e8590c22', pointRadius: 0, borderWidth: 1, fill: '+1' },
                { label: 'average', data: withGaps(data.points, data.bucketMs, (point) => point[2]), borderColor: '#2f6fed', pointRadius: 0, borderWidth: 1.5 },
                { label: 'min', data: withGaps(data.points, data.bucketMs, (point) => point[1]), borderColor: '#2b8a3e', pointRadius: 0, borderWidth: 1 },
              ],
            },
            options: {
              parsing: false,
              normalized: true,
              animation: false,
              maintainAspectRatio: false,
              interaction: { mode: 'nearest', axis: 'x', intersect: false },
              plugins: {
                // LTTB averages y values: not across the breaks.
                decimation: { enabled: !hasGaps(data.points, data.bucketMs), algorithm: 'lttb', samples: 800, threshold: 1000 },
                legend: { display: true, labels: { boxWidth: 12 } },
                tooltip: { callbacks: { title: (items) => (items[0] ? `events at ${new Date(items[0].parsed.x ?? 0).toISOString()}` : '') } },
              },
              scales: {
                x: {
                  type: 'linear',
                  ...(data.points.length > 0 ? { min: data.points[0]![0], max: data.points[data.points.length - 1]![0] + data.bucketMs } : {}),
                  title: { display: true, text: 'event time' },
                  ticks: { maxTicksLimit: 8, callback: (value) => formatAxisTime(Number(value), span) },
                },
                y: { title: { display: true, text: 'ingest − event (ms)' } },
              },
            },
          })}
        />
      ) : (
        <div className="chart-box placeholder-box" />
      )}
    </figure>
  );
}

function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

function DistributionCard({ tab, stream, tick, engineReady }: { tab: ChartsTab; stream: string; tick: number; engineReady: boolean }): JSX.Element {
  const fields = useAsync(() => engine.describeFields({ stream, sample: 500 }), [stream, engineReady], engineReady);
  const candidates: FieldInfo[] = (fields.data?.fields ?? []).filter((field) => field.types.some((type) => type !== 'object' && type !== 'array'));
  const field = tab.field ?? candidates.find((item) => /city|status|country|type|op$/i.test(item.path))?.path ?? candidates[0]?.path;
  const distribution = useAsync(() => engine.fieldDistribution({ stream, path: field!, limit: 30, bins: 30 }), [stream, field, tick, engineReady], engineReady && field !== undefined);
  const data = distribution.data?.path === field || distribution.data?.path === field?.replace(/^\$\.?/, '') ? distribution.data : undefined;
  return (
    <figure className="chart-card" data-testid="distribution-chart">
      <figcaption>
        <strong>Field values</strong>
        <select aria-label="Field" value={field ?? ''} onChange={(event) => updateTab<ChartsTab>(tab.id, { field: event.target.value })}>
          {candidates.map((item) => (
            <option key={item.path} value={item.path}>
              {item.path}
            </option>
          ))}
          {field && !candidates.some((item) => item.path === field) ? <option value={field}>{field}</option> : null}
        </select>
        <span className="dim">
          {data
            ? ` ${formatCount(data.total - data.missing)} of ${formatCount(data.total)} events have it · ${data.kind === 'numeric' ? `${data.bins.length} bins` : `${formatCount(data.distinct)} distinct values`} · ${data.elapsedMs} ms`
            : distribution.loading
              ? ' computing…'
              : ''}
        </span>
      </figcaption>
      {distribution.error ? <Failure error={distribution.error} /> : null}
      {!field && fields.data ? <p className="empty-state">The sampled events have no fields to chart.</p> : null}
      {data && data.kind === 'empty' ? <p className="empty-state">No event of this stream has {data.path}.</p> : null}
      {data && data.kind !== 'empty' ? (
        <ChartCanvas<'bar'>
          label={`Distribution of ${data.path}`}
          version={data}
          height={Math.max(220, data.kind === 'categorical' ? Math.min(data.values.length + (data.other > 0 ? 1 : 0), 31) * 22 + 40 : 260)}
          config={() =>
            data.kind === 'numeric'
              ? {
                  type: 'bar',
                  data: {
                    labels: data.bins.map((bin) => `${formatNumber(bin.from)} – ${formatNumber(bin.to)}`),
                    datasets: [{ label: 'events', data: data.bins.map((bin) => bin.count), backgroundColor: '#2f6fedcc', barPercentage: 1, categoryPercentage: 1 }],
                  },
                  options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } },
                }
              : {
                  type: 'bar',
                  data: {
                    labels: [...data.values.map((item) => (typeof item.value === 'string' ? item.value : preview(item.value, 40))), ...(data.other > 0 ? [`(${formatCount(data.distinct - data.values.length)} others)`] : [])],
                    datasets: [{ label: 'events', data: [...data.values.map((item) => item.count), ...(data.other > 0 ? [data.other] : [])], backgroundColor: '#2f6fedcc' }],
                  },
                  options: { indexAxis: 'y', animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true } } },
                }
          }
        />
      ) : null}
    </figure>
  );
}

function formatNumber(value: number): string {
  return Math.abs(value) >= 1000 ? Math.round(value).toLocaleString('en') : Number(value.toPrecision(4)).toString();
}
