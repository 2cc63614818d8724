import { fenced } from '../markdown/markdown';
import type { GpuStats, TelemetryPoint } from './telemetry';

/**
 * Mermaid `xychart-beta` line charts of GPU telemetry, which GitHub renders in job summaries and
 * comments without any image hosting. xychart lines carry no legend, so the caption names the
 * line order.
 */

/** Evenly spaced buckets over the run, each the mean (utilisation) or max (memory) of its samples. */
export function bucketSeries(series: TelemetryPoint[], uuid: string, field: 'utilizationPercent' | 'memoryUsedMiB', buckets: number): (number | null)[] {
  const points = series.filter((point) => typeof point.gpus[uuid]?.[field] === 'number');
  if (points.length === 0) return [];
  const first = series[0]!.atMs;
  const last = series[series.length - 1]!.atMs;
  const count = Math.min(buckets, points.length);
  const span = Math.max(1, last - first);
  const groups: number[][] = Array.from({ length: count }, () => []);
  for (const point of points) {
    const slot = Math.min(count - 1, Math.floor(((point.atMs - first) / span) * count));
    groups[slot]!.push(point.gpus[uuid]![field] as number);
  }
  const values = groups.map((group) => (group.length === 0 ? null : field === 'memoryUsedMiB' ? Math.max(...group) : group.reduce((a, b) => a + b, 0) / group.length));
  // An empty bucket (a slow or failed sample) carries the previous value, so lines stay continuous.
  for (let i = 0; i < values.length; i++) if (values[i] === null) values[i] = i > 0 ? values[i - 1]! : (values.find((v) => v !== null) ?? 0);
  return values;
}

const round = (value: number | null) => (value === null ? 0 : Math.round(value * 10) / 10);

function axisMinutes(series: TelemetryPoint[]): { label: string; max: number } {
  const spanMs = series.length ? series[series.length - 1]!.atMs - series[0]!.atMs : 0;
  if (spanMs < 120_000) return { label: 'seconds', max: Math.max(1, Math.ceil(spanMs / 1000)) };
  if (spanMs < 3 * 3_600_000) return { label: 'minutes', max: Math.ceil(spanMs / 60_000) };
  return { label: 'hours', max: Math.ceil((spanMs / 3_600_000) * 10) / 10 };
}

function chart(title: string, yLabel: string, yMax: number, series: TelemetryPoint[], lines: (number | null)[][]): string {
  const axis = axisMinutes(series);
  const body = ['xychart-beta', `  title "${title}"`, `  x-axis "time (${axis.label})" 0 --> ${axis.max}`, `  y-axis "${yLabel}" 0 --> ${yMax}`, ...lines.map((values) => `  line [${values.map(round).join(', ')}]`)].join('\n');
  return fenced('mermaid', body);
}

/** Utilisation and memory charts, or undefined when there are too few samples to draw. */
export function telemetryCharts(stats: GpuStats[], series: TelemetryPoint[], maxPoints = 60): string | undefined {
  if (series.length < 2 || stats.length === 0) return undefined;
  const util = stats.map((gpu) => bucketSeries(series, gpu.uuid, 'utilizationPercent', maxPoints));
  const memory = stats.map((gpu) => bucketSeries(series, gpu.uuid, 'memoryUsedMiB', maxPoints));
  const parts: string[] = [];
  const order = stats.length > 1 ? ` Lines in GPU order: ${stats.map((gpu) => gpu.index).join(', ')}.` : '';
  if (util.some((values) => values.length > 1)) {
    parts.push(
      chart(
        'GPU utilisation (%)',
        'utilisation %',
        100,
        series,
        util.filter((values) => values.length > 1),
      ),
    );
  }
  const totals = stats.map((gpu) => gpu.memoryTotalMiB ?? 0);
  const memMax = Math.max(...totals, ...memory.flat().map((v) => v ?? 0));
  if (memory.some((values) => values.length > 1) && memMax > 0) {
    parts.push(
      chart(
        'GPU memory used (MiB)',
        'MiB',
        Math.ceil(memMax),
        series,
        memory.filter((values) => values.length > 1),
      ),
    );
  }
  if (parts.length === 0) return undefined;
  return `${parts.join('\n\n')}\n\n_${Math.max(...stats.map((gpu) => gpu.samples))} samples.${order}_`;
}
