import { code, escapeCell, fenced, table } from '../markdown/markdown';
import type { RuleResult } from '../metrics/rules';
import type { Figures } from './figures';
import type { RolloutResult, WindowReport } from './rollout';

/**
 * The job summary of a rollout: one table per step with a row per analysis window (both
 * versions' figures in the window and each rule's verdict, failed windows counted), Mermaid line
 * charts of error rate and p95 latency per version over the windows, and the outputs (verdict,
 * failed rule, figures as JSON, one entry per window).
 */

function show(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
}

function verdict(result: RuleResult): string {
  const mark = result.outcome === 'pass' ? '✅ pass' : result.outcome === 'skip' ? '➖ skip' : '❌ fail';
  const detail = result.reason ? ` (${escapeCell(result.reason)})` : result.threshold !== undefined ? ` (${show(result.value)} vs ${show(result.threshold)})` : '';
  return `${mark}${detail}`;
}

function holdLabel(window: WindowReport): string {
  return window.phase === 'shadow' ? `shadow, ${window.weight}% mirrored` : `canary at ${window.weight}%`;
}

/** Where a rollback happened, when the hold was cut into windows or failures were tolerated; '' otherwise. */
export function windowNote(result: RolloutResult): string {
  const failed = result.failed;
  if (!failed || (failed.windows === 1 && result.failureLimit === 0)) return '';
  const failures = result.windows.at(-1)?.failures ?? 0;
  return ` in window ${failed.window + 1} of ${failed.windows} (${failures} failed windows, failure-limit ${result.failureLimit})`;
}

/** The rollout's windows, one group per hold (a step or the shadow), in order. */
export function holdsOf(windows: readonly WindowReport[]): WindowReport[][] {
  const groups: WindowReport[][] = [];
  for (const window of windows) {
    const last = groups.at(-1)?.at(-1);
    if (last && last.phase === window.phase && last.step === window.step && window.window > last.window) groups.at(-1)!.push(window);
    else groups.push([window]);
  }
  return groups;
}

const time = (iso: string) => iso.slice(11, 19);
const pair = (window: WindowReport, key: keyof Figures) => `${show(window.figures.stable[key])} / ${show(window.figures.canary[key])}`;

export function renderHold(windows: readonly WindowReport[], index: number, failureLimit: number): string {
  const first = windows[0]!;
  const rolledBack = windows.some((w) => !w.passed && w.failures > failureLimit);
  const newSide = first.phase === 'shadow' ? 'shadow' : 'canary';
  const rows = windows.map((w) => [
    `${w.window + 1} of ${w.windows}`,
    `${time(w.startedAt)}–${time(w.endedAt)}`,
    pair(w, 'requests'),
    pair(w, 'error_rate'),
    pair(w, 'latency_p95_ms'),
    show(w.figures.canary.prediction_shift),
    ...w.results.map(verdict),
    w.passed ? '✅' : `❌ failure ${w.failures}, limit ${failureLimit}`,
  ]);
  const columns = [
    'window',
    'time (UTC)',
    { header: `requests (stable / ${newSide})`, align: 'right' as const },
    { header: `error rate (stable / ${newSide})`, align: 'right' as const },
    { header: `p95 latency ms (stable / ${newSide})`, align: 'right' as const },
    { header: 'prediction shift (JS)', align: 'right' as const },
    ...first.results.map((result) => code(result.rule.text)),
    'window verdict',
  ];
  return [`#### Step ${index + 1}: ${holdLabel(first)} ${rolledBack ? '❌' : '✅'}`, '', table(columns, rows)].join('\n');
}

/** A Mermaid line chart of one figure per version over the windows; undefined when nothing was measured. */
export function renderFigureChart(windows: readonly WindowReport[], key: 'error_rate' | 'latency_p95_ms', title: string): string | undefined {
  if (windows.length === 0) return undefined;
  const series = (side: 'stable' | 'canary') => windows.map((w) => w.figures[side][key] ?? 0);
  const stable = series('stable');
  const canary = series('canary');
  const top = Math.max(...stable, ...canary);
  const labels = holdsOf(windows).flatMap((hold, index) => hold.map((w) => `"${index + 1}${w.windows > 1 ? `.${w.window + 1}` : ''}: ${w.phase === 'shadow' ? 'shadow' : `${w.weight}%`}"`));
  const line = (values: number[]) => `  line [${values.map((v) => (show(v) === '–' ? '0' : show(v))).join(', ')}]`;
  return fenced(
    'mermaid',
    [
      'xychart-beta',
      `  title "${title} per window (first line: stable, second: new version)"`,
      `  x-axis [${labels.join(', ')}]`,
      `  y-axis "${title}" 0 --> ${top > 0 ? Number((top * 1.2).toPrecision(3)) : 1}`,
      line(stable),
      line(canary),
    ].join('\n'),
  );
}

export function renderRolloutSummary(result: RolloutResult): string {
  const lines = [`### Rollout: ${result.verdict === 'promoted' ? 'promoted ✅' : 'rolled back ❌'}`, ''];
  if (result.failed) {
    const { phase, weight, result: rule } = result.failed;
    lines.push(`Rule ${code(rule.rule.text)} failed ${phase === 'shadow' ? `in the shadow phase (${weight}% mirrored)` : `at ${weight}%`}${windowNote(result)}: ${verdict(rule)}. All traffic went back to the stable version.`, '');
  }
  const failures = result.windows.at(-1)?.failures ?? 0;
  lines.push(`Failed windows: ${failures} of ${result.windows.length}; failure-limit ${result.failureLimit}, counted over the whole rollout.`, '');
  holdsOf(result.windows).forEach((hold, index) => lines.push(renderHold(hold, index, result.failureLimit), ''));
  for (const chart of [renderFigureChart(result.windows, 'error_rate', 'error rate'), renderFigureChart(result.windows, 'latency_p95_ms', 'p95 latency ms')]) {
    if (chart) lines.push(chart, '');
  }
  return lines.join('\n');
}

/** deploy's rollout outputs: `verdict`, `failed-rule`, `rollout-figures` (JSON, one entry per analysis window). */
export function rolloutOutputs(result: RolloutResult): Record<string, string> {
  const figures = result.windows.map((w) => ({
    phase: w.phase,
    step: w.step + 1,
    weight: w.weight,
    window: w.window + 1,
    windows: w.windows,
    startedAt: w.startedAt,
    endedAt: w.endedAt,
    stable: w.figures.stable,
    canary: w.figures.canary,
    passed: w.passed,
    failures: w.failures,
    rules: w.results.map((r) => ({ rule: r.rule.text, outcome: r.outcome, value: r.value ?? null, threshold: r.threshold ?? null, ...(r.reason ? { reason: r.reason } : {}) })),
  }));
  return { verdict: result.verdict, 'failed-rule': result.failed?.result.rule.text ?? '', 'rollout-figures': JSON.stringify(figures) };
}
