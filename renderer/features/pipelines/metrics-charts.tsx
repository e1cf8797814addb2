// Live charts of a run (chart.js, no animation, redrawn in place at most 10 times a second): per-
// stage throughput and latency, source lag, the watermark, event-time vs processing-time skew, and
// dead letters. The x axis is processing time, in seconds before the latest sample.
import { Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip, type ChartConfiguration } from 'chart.js';
import { useEffect, useRef, type JSX } from 'react';
import type { PipelineMetrics } from '../../../shared/contracts/pipelines';

Chart.register(LineController, LineElement, PointElement, LinearScale, Legend, Tooltip);

const COLORS = ['#2f6fed', '#e8590c', '#2b8a3e', '#ae3ec9', '#c92a2a', '#1098ad', '#f08c00', '#5c7cfa'];

interface Series {
  label: string;
  points: { x: number; y: number }[];
}

function LineChart({ title, series, unit, yFormat, pad }: { title: string; series: Series[]; unit: string; yFormat?: (value: number) => string; pad?: number }): JSX.Element {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<'line', { x: number; y: number }[]> | null>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const styles = getComputedStyle(document.documentElement);
    const dim = styles.getPropertyValue('--dim').trim() || '#667085';
    const grid = styles.getPropertyValue('--border').trim() || '#d9dde5';
    const data = {
      datasets: series.map((entry, index) => ({
        label: entry.label,
        data: entry.points,
        borderColor: COLORS[index % COLORS.length],
        backgroundColor: COLORS[index % COLORS.length],
        borderWidth: 1.5,
        pointRadius: 0,
        tension: 0,
      })),
    };
    // A flat line of times gets a readable band around it instead of chart.js's default spread.
    const values = series.flatMap((entry) => entry.points.map((point) => point.y));
    const range = pad !== undefined && values.length > 0 ? { min: Math.min(...values) - pad, max: Math.max(...values) + pad } : {};
    const config: ChartConfiguration<'line', { x: number; y: number }[]> = {
      type: 'line',
      data,
      options: {
        animation: false,
        parsing: false,
        normalized: true,
        responsive: true,
        maintainAspectRatio: false,
        plugins: {
          legend: { display: series.length > 1, labels: { color: dim, boxWidth: 10, font: { size: 10 } } },
          tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${yFormat ? yFormat(item.parsed.y ?? 0) : `${(item.parsed.y ?? 0).toLocaleString()} ${unit}`}` } },
        },
        scales: {
          x: { type: 'linear', max: 0, ticks: { color: dim, maxTicksLimit: 5, callback: (value) => `${Number(value).toFixed(1)} s` }, grid: { color: grid } },
          y: { type: 'linear', beginAtZero: !yFormat, ...range, ticks: { color: dim, maxTicksLimit: 5, callback: (value) => (yFormat ? yFormat(Number(value)) : Number(value).toLocaleString()) }, grid: { color: grid } },
        },
      },
    };
    if (chart.current) {
      chart.current.data = data;
      chart.current.options = config.options!;
      chart.current.update('none');
    } else {
      chart.current = new Chart(canvas.current, config);
    }
  }, [series, unit, yFormat, pad]);
  useEffect(
    () => () => {
      chart.current?.destroy();
      chart.current = null;
    },
    [],
  );
  return (
    <figure className="pipeline-chart">
      <figcaption>
        {title} <span className="dim">({unit})</span>
      </figcaption>
      <div className="pipeline-chart-canvas">
        <canvas ref={canvas} role="img" aria-label={title} />
      </div>
    </figure>
  );
}

const timeOfDay = (value: number): string => (Number.isFinite(value) && value > 0 ? new Date(value).toISOString().slice(5, 19).replace('T', ' ') : '');

export function MetricsCharts({ history }: { history: PipelineMetrics[] }): JSX.Element {
  const latest = history[history.length - 1];
  if (!latest) return <p className="hint">Charts appear once the pipeline runs: throughput and latency per stage, source lag, watermark, event-time skew and dead letters.</p>;
  const x = (sample: PipelineMetrics): number => (sample.at - latest.at) / 1000;
  const stageIds = latest.stages.map((stage) => stage.id);
  const perStage = (pick: (stage: PipelineMetrics['stages'][number]) => number): Series[] =>
    stageIds.map((id) => ({ label: id, points: history.flatMap((sample) => sample.stages.filter((stage) => stage.id === id).map((stage) => ({ x: x(sample), y: pick(stage) }))) }));
  const sources = latest.sources.map((source) => ({ label: source.id, points: history.flatMap((sample) => sample.sources.filter((entry) => entry.id === source.id && entry.lag !== null).map((entry) => ({ x: x(sample), y: entry.lag! }))) }));
  const watermark = [{ label: 'watermark', points: history.filter((sample) => sample.watermark !== null).map((sample) => ({ x: x(sample), y: sample.watermark! })) }];
  const skew = [{ label: 'skew', points: history.filter((sample) => sample.eventTimeSkewMs !== null).map((sample) => ({ x: x(sample), y: sample.eventTimeSkewMs! / 1000 })) }];
  const dead = [{ label: 'dead letters', points: history.map((sample) => ({ x: x(sample), y: sample.records.deadLetters })) }];
  const sinks = latest.sinks.map((sink) => ({ label: sink.id, points: history.flatMap((sample) => sample.sinks.filter((entry) => entry.id === sink.id).map((entry) => ({ x: x(sample), y: entry.throughput }))) }));
  return (
    <div className="pipeline-charts" data-samples={history.length}>
      <LineChart title="Throughput per stage" unit="records/s" series={perStage((stage) => stage.throughput)} />
      <LineChart title="Latency per stage" unit="ms per record" series={perStage((stage) => stage.latencyMs)} />
      <LineChart title="Source lag" unit="records behind" series={sources} />
      <LineChart title="Watermark" unit="event time" series={watermark} yFormat={timeOfDay} pad={60_000} />
      <LineChart title="Event time vs processing time" unit="s behind" series={skew} />
      <LineChart title="Dead letters" unit="records" series={dead} />
      <LineChart title="Sink writes" unit="records/s" series={sinks} />
    </div>
  );
}
