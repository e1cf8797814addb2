// The lag-over-time chart of a consumer group (chart.js): total lag in messages on the left axis,
// the oldest unconsumed record's age on the right. Points come from the engine's sampler; a failed
// sample leaves a gap rather than a fake zero.
import { Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip, type ChartConfiguration } from 'chart.js';
import { useEffect, useRef, type JSX } from 'react';
import type { KafkaLagSample } from '../../../shared/contracts/kafka';
import { formatDuration } from './kafka-hooks';
import { timeWindow } from './lag-window';

Chart.register(LineController, LineElement, PointElement, LinearScale, Tooltip, Legend);

function cssColor(name: string, fallback: string): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

function timeLabel(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

function configFor(samples: KafkaLagSample[]): ChartConfiguration<'line', { x: number; y: number | null }[]> {
  const text = cssColor('--dim', '#667085');
  const grid = cssColor('--border', '#d9dde5');
  const accent = cssColor('--accent', '#2f6fed');
  const warn = cssColor('--warn', '#b26a00');
  return {
    type: 'line',
    data: {
      datasets: [
        { label: 'Lag (messages)', data: samples.map((sample) => ({ x: sample.at, y: sample.totalLag })), borderColor: accent, backgroundColor: accent, yAxisID: 'lag', spanGaps: false, pointRadius: 2, borderWidth: 2 },
        { label: 'Time lag (oldest unconsumed)', data: samples.map((sample) => ({ x: sample.at, y: sample.maxTimeLagMs === null ? null : sample.maxTimeLagMs / 1000 })), borderColor: warn, backgroundColor: warn, yAxisID: 'time', spanGaps: false, pointRadius: 2, borderWidth: 2, borderDash: [4, 3] },
      ],
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      scales: {
        x: { type: 'linear', ...timeWindow(samples), ticks: { color: text, callback: (value) => timeLabel(Number(value)), maxTicksLimit: 8 }, grid: { color: grid } },
        lag: { type: 'linear', position: 'left', beginAtZero: true, ticks: { color: text, precision: 0 }, grid: { color: grid }, title: { display: true, text: 'messages', color: text } },
        time: { type: 'linear', position: 'right', beginAtZero: true, ticks: { color: text, callback: (value) => formatDuration(Number(value) * 1000) }, grid: { drawOnChartArea: false }, title: { display: true, text: 'time lag', color: text } },
      },
      plugins: {
        // Legend swatches drawn as the lines' own styles (solid, dashed), not as filled boxes.
        legend: { labels: { color: text, usePointStyle: true, pointStyle: 'line', boxWidth: 24 } },
        tooltip: {
          callbacks: {
            title: (items) => (items[0]?.parsed.x != null ? new Date(items[0].parsed.x).toISOString().replace('T', ' ').slice(0, 19) : ''),
            label: (item) => (item.dataset.yAxisID === 'time' ? `time lag ${formatDuration((item.parsed.y ?? 0) * 1000)}` : `lag ${Math.round(item.parsed.y ?? 0).toLocaleString('en')}`),
          },
        },
      },
    },
  };
}

export function LagChart({ samples }: { samples: KafkaLagSample[] }): JSX.Element {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<'line', { x: number; y: number | null }[]> | null>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const config = configFor(samples);
    if (chart.current) {
      chart.current.data = config.data;
      if (config.options) chart.current.options = config.options;
      chart.current.update('none');
    } else {
      chart.current = new Chart(canvas.current, config);
    }
  }, [samples]);
  useEffect(
    () => () => {
      chart.current?.destroy();
      chart.current = null;
    },
    [],
  );
  return (
    <div className="kafka-chart">
      <canvas ref={canvas} role="img" aria-label="Consumer group lag over time" data-testid="kafka-lag-chart" data-points={samples.length} />
    </div>
  );
}
