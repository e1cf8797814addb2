// chart.js in React: registers only what Eddy draws (lines with LTTB decimation, bars), builds the
// chart once per canvas and updates it in place, follows the light/dark theme, and turns
// animation off (charts here are for reading data, and a million points must draw at once).
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Decimation,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartConfiguration,
  type ChartType,
} from 'chart.js';
import { useEffect, useRef, type JSX } from 'react';
import { useResolvedTheme, type ResolvedTheme } from '../../app/theme';

Chart.register(LineController, LineElement, PointElement, BarController, BarElement, LinearScale, CategoryScale, Decimation, Filler, Legend, Tooltip);

export const SERIES_COLORS = ['#2f6fed', '#e8590c', '#2b8a3e', '#ae3ec9', '#c92a2a', '#1098ad', '#f08c00', '#5c7cfa'];

export function themeColors(theme: ResolvedTheme): { text: string; dim: string; grid: string } {
  return theme === 'dark' ? { text: '#e3e6ec', dim: '#98a1b3', grid: '#323846' } : { text: '#1c2230', dim: '#667085', grid: '#e4e7ec' };
}

export function formatAxisTime(ms: number, spanMs: number): string {
  const iso = new Date(ms).toISOString();
  if (spanMs <= 60_000) return iso.slice(11, 23);
  if (spanMs <= 2 * 86_400_000) return iso.slice(11, 19);
  return `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
}

/** `version` changes whenever the data or options change; the chart redraws only then (or on a theme switch). */
export function ChartCanvas<T extends ChartType>({ config, version, label, height = 260 }: { config: (theme: ResolvedTheme) => ChartConfiguration<T>; version: unknown; label: string; height?: number }): JSX.Element {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<T> | null>(null);
  const theme = useResolvedTheme();

  useEffect(() => {
    if (!canvas.current) return;
    const built = config(theme);
    const colors = themeColors(theme);
    Chart.defaults.color = colors.dim;
    Chart.defaults.borderColor = colors.grid;
    Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
    if (chart.current && (chart.current.config as { type?: ChartType }).type === (built as { type?: ChartType }).type) {
      chart.current.data = built.data as Chart<T>['data'];
      chart.current.options = built.options as Chart<T>['options'];
      chart.current.update('none');
    } else {
      chart.current?.destroy();
      chart.current = new Chart<T>(canvas.current, built);
    }
  }, [version, theme]);
  useEffect(
    () => () => {
      chart.current?.destroy();
      chart.current = null;
    },
    [],
  );

  return (
    <div className="chart-box" style={{ height }}>
      <canvas ref={canvas} role="img" aria-label={label} />
    </div>
  );
}
