import { fenced } from '../markdown/markdown';

/**
 * A Mermaid bar chart of each gated metric's value as a percentage of its baseline, with the
 * baseline drawn as a line at 100%. Percentages put accuracy (0.93) and latency (38 ms) on one
 * axis. GitHub renders Mermaid in comments and job summaries, so no image needs hosting.
 */

export interface ChartPoint {
  metric: string;
  value: number;
  baseline: number;
}

export const CHART_MAX_BARS = 20;

/** The chart as a fenced ```mermaid block, or undefined when no metric has a positive baseline. */
export function renderBaselineChart(points: ChartPoint[]): string | undefined {
  const usable = dedupe(points.filter((p) => p.baseline > 0 && Number.isFinite(p.value / p.baseline)));
  if (usable.length === 0) return undefined;
  const shown = usable.slice(0, CHART_MAX_BARS);
  const percents = shown.map((p) => round((p.value / p.baseline) * 100));
  const top = Math.max(110, ...percents.map((v) => Math.ceil((v * 1.1) / 10) * 10));
  const bottom = Math.min(0, ...percents.map((v) => Math.floor((v * 1.1) / 10) * 10));
  const lines = [
    'xychart-beta',
    `  title "${shown.length < usable.length ? `First ${shown.length} of ${usable.length} metrics: ` : ''}value as % of baseline (line: baseline)"`,
    `  x-axis [${shown.map((p) => `"${chartLabel(p.metric)}"`).join(', ')}]`,
    `  y-axis "% of baseline" ${bottom} --> ${top}`,
    `  bar [${percents.join(', ')}]`,
    `  line [${shown.map(() => 100).join(', ')}]`,
  ];
  return fenced('mermaid', lines.join('\n'));
}

/** A label Mermaid cannot misread: no quotes, brackets, entities or line breaks; at most 30 characters. */
export function chartLabel(metric: string): string {
  const safe = metric.replace(/[^A-Za-z0-9 ._/:+-]/g, '_');
  return safe.length > 30 ? `${safe.slice(0, 29)}…` : safe;
}

function dedupe(points: ChartPoint[]): ChartPoint[] {
  const seen = new Set<string>();
  return points.filter((p) => (seen.has(p.metric) ? false : (seen.add(p.metric), true)));
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
