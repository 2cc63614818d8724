import { code, escapeCell, fenced, table } from '../markdown/markdown';
import type { RuleResult } from '../metrics/rules';
import type { Figures } from './figures';
import type { RolloutResult, StepReport } from './rollout';

/**
 * The job summary of a rollout: one table per step (both versions' figures in the step's window
 * and each rule's verdict), Mermaid line charts of error rate and p95 latency per version over the
 * steps, and the outputs (verdict, failed rule, figures as JSON).
 */

const FIGURE_ROWS: [keyof Figures, string][] = [
  ['requests', 'requests'],
  ['error_rate', 'error rate'],
  ['latency_p95_ms', 'p95 latency (ms)'],
  ['prediction_shift', 'prediction shift (JS)'],
];

function show(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
}

function verdict(result: RuleResult): string {
  const mark = result.outcome === 'pass' ? '✅ pass' : result.outcome === 'skip' ? '➖ skip' : '❌ fail';
  const detail = result.reason ? ` (${escapeCell(result.reason)})` : result.threshold !== undefined ? ` (${show(result.value)} vs ${show(result.threshold)})` : '';
  return `${mark}${detail}`;
}

function stepLabel(step: StepReport): string {
  return step.phase === 'shadow' ? `shadow, ${step.weight}% mirrored` : `canary at ${step.weight}%`;
}

export function renderStep(step: StepReport, index: number): string {
  const figures = table(
    ['figure', { header: 'stable', align: 'right' }, { header: step.phase === 'shadow' ? 'shadow' : 'canary', align: 'right' }],
    FIGURE_ROWS.map(([key, label]) => [label, show(key === 'prediction_shift' ? 0 : step.figures.stable[key]), show(step.figures.canary[key])]),
  );
  const rules = table(
    ['rule', 'verdict'],
    step.results.map((result) => [code(result.rule.text), verdict(result)]),
  );
  return [`#### Step ${index + 1}: ${stepLabel(step)} ${step.passed ? '✅' : '❌'}`, '', `${step.startedAt} → ${step.endedAt}`, '', figures, '', rules].join('\n');
}

/** A Mermaid line chart of one figure per version over the steps; undefined when nothing was measured. */
export function renderFigureChart(steps: readonly StepReport[], key: 'error_rate' | 'latency_p95_ms', title: string): string | undefined {
  if (steps.length === 0) return undefined;
  const series = (side: 'stable' | 'canary') => steps.map((step) => step.figures[side][key] ?? 0);
  const stable = series('stable');
  const canary = series('canary');
  const top = Math.max(...stable, ...canary);
  const labels = steps.map((step, i) => `"${i + 1}: ${step.phase === 'shadow' ? 'shadow' : `${step.weight}%`}"`);
  return fenced(
    'mermaid',
    [
      'xychart-beta',
      `  title "${title} per step (first line: stable, second: new version)"`,
      `  x-axis [${labels.join(', ')}]`,
      `  y-axis "${title}" 0 --> ${top > 0 ? Number((top * 1.2).toPrecision(3)) : 1}`,
      `  line [${stable
        .map(show)
        .map((v) => (v === '–' ? '0' : v))
        .join(', ')}]`,
      `  line [${canary
        .map(show)
        .map((v) => (v === '–' ? '0' : v))
        .join(', ')}]`,
    ].join('\n'),
  );
}

export function renderRolloutSummary(result: RolloutResult): string {
  const lines = [`### Rollout: ${result.verdict === 'promoted' ? 'promoted ✅' : 'rolled back ❌'}`, ''];
  if (result.failed) {
    const { phase, weight, result: rule } = result.failed;
    lines.push(`Rule ${code(rule.rule.text)} failed ${phase === 'shadow' ? `in the shadow phase (${weight}% mirrored)` : `at ${weight}%`}: ${verdict(rule)}. All traffic went back to the stable version.`, '');
  }
  result.steps.forEach((step, index) => lines.push(renderStep(step, index), ''));
  for (const chart of [renderFigureChart(result.steps, 'error_rate', 'error rate'), renderFigureChart(result.steps, 'latency_p95_ms', 'p95 latency ms')]) {
    if (chart) lines.push(chart, '');
  }
  return lines.join('\n');
}

/** deploy's rollout outputs: `verdict`, `failed-rule`, `rollout-figures` (JSON, one entry per step). */
export function rolloutOutputs(result: RolloutResult): Record<string, string> {
  const figures = result.steps.map((step) => ({
    phase: step.phase,
    weight: step.weight,
    stable: step.figures.stable,
    canary: step.figures.canary,
    passed: step.passed,
    rules: step.results.map((r) => ({ rule: r.rule.text, outcome: r.outcome, value: r.value ?? null, threshold: r.threshold ?? null, ...(r.reason ? { reason: r.reason } : {}) })),
  }));
  return { verdict: result.verdict, 'failed-rule': result.failed?.result.rule.text ?? '', 'rollout-figures': JSON.stringify(figures) };
}
