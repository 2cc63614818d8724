import { code, escapeCell, table, type Column } from '../markdown/markdown';
import type { Baseline } from './baseline';
import { renderBaselineChart } from './chart';
import type { Metrics, MetricValue } from './file';
import type { Evaluation, OnMissingBaseline, RuleResult } from './rules';

/**
 * The gate's report in markdown: a verdict, one table row per rule (metric, value, baseline,
 * delta, rule, result), a chart of value against baseline, and the metrics no rule names. Every
 * name and value from a file goes through `code`/`escapeCell`, so it cannot break the markdown.
 * The report fits `limit` characters: what does not fit is left out with a note, most important
 * first (violations, then the other rules, the chart, the ungated metrics).
 */

/** GitHub refuses issue comment bodies over 65,536 characters. */
export const COMMENT_LIMIT = 65_536;

export interface ReportContext {
  /** Where the metrics came from (the `metrics` input). */
  metricsSource: string;
  /** Undefined when no baseline was given. */
  baseline?: Baseline;
  onMissingBaseline: OnMissingBaseline;
  /** The comment key, shown so two gates on one PR can be told apart. */
  key: string;
  runUrl?: string;
  sha?: string;
}

const RULE_COLUMNS: Column[] = [{ header: 'Metric' }, { header: 'Value', align: 'right' }, { header: 'Baseline', align: 'right' }, { header: 'Delta', align: 'right' }, { header: 'Rule' }, { header: 'Result' }];
const OTHER_COLUMNS: Column[] = [{ header: 'Metric' }, { header: 'Value', align: 'right' }, { header: 'Baseline', align: 'right' }, { header: 'Delta', align: 'right' }];
const NOTE_RESERVE = 200;

export function renderGateReport(evaluation: Evaluation, metrics: Metrics, context: ReportContext, limit = COMMENT_LIMIT): string {
  const { results, violations, passed } = evaluation;
  const skipped = results.filter((r) => r.outcome === 'skip').length;
  const verdict = passed
    ? `### ✅ Gate passed: ${results.length === 1 ? 'the rule holds' : `all ${results.length} rules hold`}${skipped ? ` (${skipped} skipped: no baseline)` : ''}`
    : `### ❌ Gate failed: ${violations.length} of ${results.length} ${results.length === 1 ? 'rule' : 'rules'} violated`;
  const head = [verdict, '', describeSources(context)].join('\n');
  const footer = renderFooter(context);
  let budget = limit - head.length - footer.length - 8;
  const sections: string[] = [head];

  const ordered = results.length > 0 && tableLength(RULE_COLUMNS, results.map(ruleRow)) > budget ? [...violations, ...results.filter((r) => r.outcome !== 'fail')] : results;
  const rules = fitTable(
    RULE_COLUMNS,
    ordered.map(ruleRow),
    budget - NOTE_RESERVE,
    (left) => `_${left} more ${left === 1 ? 'rule' : 'rules'} not shown: the comment would pass GitHub’s size limit. The job summary and the \`violations\` output have them all._`,
  );
  sections.push(rules);
  budget -= rules.length + 2;

  const chart = renderBaselineChart(results.filter(hasBaselineValue).map((r) => ({ metric: r.rule.metric, value: r.value, baseline: r.baseline })));
  if (chart && chart.length + NOTE_RESERVE < budget) {
    sections.push(chart);
    budget -= chart.length + 2;
  }

  const gated = new Set(results.map((r) => r.rule.metric));
  const others = metrics.entries.filter((e) => !gated.has(e.name));
  if (others.length > 0 && budget > NOTE_RESERVE * 2) {
    const baseNumbers = context.baseline && context.baseline.kind !== 'missing' ? context.baseline.metrics.numbers : undefined;
    const rows = others.map(({ name, value }) => {
      const base = baseNumbers?.get(name);
      return [code(name), formatValue(value), base === undefined ? '—' : formatNumber(base), typeof value === 'number' && base !== undefined ? formatDelta(value, base) : '—'];
    });
    const open = `<details>\n<summary>${others.length} other ${others.length === 1 ? 'metric' : 'metrics'} (not gated)</summary>\n\n`;
    const close = '\n\n</details>';
    const body = fitTable(OTHER_COLUMNS, rows, budget - open.length - close.length - NOTE_RESERVE, (left) => `_${left} more not shown (size limit)._`);
    sections.push(`${open}${body}${close}`);
  }

  sections.push(footer);
  return sections.join('\n\n');
}

function hasBaselineValue(r: RuleResult): r is RuleResult & { value: number; baseline: number } {
  return r.value !== undefined && r.baseline !== undefined;
}

function describeSources(context: ReportContext): string {
  const parts = [`**Metrics** ${code(context.metricsSource)}`];
  const { baseline } = context;
  if (!baseline) parts.push('**Baseline** none given');
  else if (baseline.kind === 'missing')
    parts.push(`**Baseline** ${code(baseline.source)}: ${escapeCell(baseline.reason)}; baseline rules ${context.onMissingBaseline === 'pass' ? 'are skipped' : 'fail'} (${code(`on-missing-baseline: ${context.onMissingBaseline}`)})`);
  else parts.push(`**Baseline** ${code(baseline.source)}${baseline.kind === 'image' ? ' (image)' : ''}`);
  return parts.join(' · ');
}

function renderFooter(context: ReportContext): string {
  const parts = [`train-to-serve gate ${code(context.key)}`];
  if (context.runUrl && /^https?:\/\//.test(context.runUrl)) parts.push(`[workflow run](${encodeURI(context.runUrl).replace(/[()]/g, (c) => (c === '(' ? '%28' : '%29'))})`);
  if (context.sha) parts.push(`commit ${code(context.sha.slice(0, 7))}`);
  return `<sub>${parts.join(' · ')}</sub>`;
}

function ruleRow(r: RuleResult): string[] {
  const value = r.value !== undefined ? formatNumber(r.value) : r.nonNumeric !== undefined ? formatValue(r.nonNumeric) : '—';
  const baseline = r.baseline !== undefined ? formatNumber(r.baseline) : '—';
  const delta = r.value !== undefined && r.baseline !== undefined ? formatDelta(r.value, r.baseline) : '—';
  const rule = code(r.rule.text) + (r.threshold !== undefined && r.rule.threshold.kind === 'baseline' ? ` (${formatNumber(r.threshold)})` : '');
  const result = r.outcome === 'pass' ? '✅ pass' : r.outcome === 'skip' ? `⚪ skipped: ${escapeCell(r.reason ?? '')}` : `❌ **fail**${r.reason ? `: ${escapeCell(r.reason)}` : ''}`;
  return [code(r.rule.metric), value, baseline, delta, rule, result];
}

/** A table of as many rows as fit in `budget` characters, and a note for the rest. */
function fitTable(columns: Column[], rows: string[][], budget: number, note: (left: number) => string): string {
  const full = table(columns, rows);
  if (full.length <= budget) return full;
  let shown = rows.length;
  let length = full.length;
  const lineLength = (row: string[]) => table(columns, [row]).split('\n')[2]!.length + 1;
  while (shown > 0 && length > budget) {
    shown -= 1;
    length -= lineLength(rows[shown]!);
  }
  return `${table(columns, rows.slice(0, shown))}\n\n${note(rows.length - shown)}`;
}

function tableLength(columns: Column[], rows: string[][]): number {
  return table(columns, rows).length;
}

/** Numbers as people read them in a report: integers whole, others to 6 significant digits. */
export function formatNumber(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 1e-4 || magnitude >= 1e15)) return value.toExponential(3);
  return String(Number(value.toPrecision(6)));
}

export function formatDelta(value: number, baseline: number): string {
  const delta = value - baseline;
  const sign = delta > 0 ? '+' : delta < 0 ? '−' : '±';
  const absolute = formatNumber(Math.abs(Number(delta.toPrecision(12))));
  if (baseline === 0) return `${sign}${absolute}`;
  const percent = (delta / Math.abs(baseline)) * 100;
  return `${sign}${absolute} (${sign}${formatNumber(Number(Math.abs(percent).toFixed(2)))}%)`;
}

function formatValue(value: MetricValue): string {
  if (typeof value === 'number') return formatNumber(value);
  if (typeof value === 'string') return escapeCell(value.length > 80 ? `${value.slice(0, 79)}…` : value);
  return escapeCell(String(value));
}

/** The verdict in one line, for the commit status (GitHub keeps 140 characters of it). */
export function gateHeadline(evaluation: Evaluation): string {
  const { results, violations, passed } = evaluation;
  if (passed) {
    const skipped = results.filter((r) => r.outcome === 'skip').length;
    return `${results.length === 1 ? 'The rule holds' : `All ${results.length} rules hold`}${skipped ? ` (${skipped} skipped: no baseline)` : ''}`;
  }
  const names = [...new Set(violations.map((v) => v.rule.metric))].join(', ');
  return `${violations.length} of ${results.length} ${results.length === 1 ? 'rule' : 'rules'} violated: ${names}`;
}

/** Why the step fails, in one line naming each violated rule and what was found. */
export function describeViolations(evaluation: Evaluation, max = 5): string {
  const shown = evaluation.violations.slice(0, max).map((v) => {
    const found = v.reason && v.threshold === undefined ? v.reason : `${v.value === undefined ? '—' : formatNumber(v.value)}${v.threshold !== undefined && v.rule.threshold.kind === 'baseline' ? ` vs ${formatNumber(v.threshold)}` : ''}`;
    return `${v.rule.text} (${found})`;
  });
  const more = evaluation.violations.length > max ? `, and ${evaluation.violations.length - max} more` : '';
  return `Gate failed: ${evaluation.violations.length} of ${evaluation.results.length} ${evaluation.results.length === 1 ? 'rule' : 'rules'} violated: ${shown.join('; ')}${more}`;
}

/** One rule's outcome as a plain log line: `FAIL  latency_p95_ms <= 40  value=41 (threshold 40)`. */
export function describeResult(r: RuleResult): string {
  const mark = r.outcome === 'pass' ? 'pass' : r.outcome === 'skip' ? 'skip' : 'FAIL';
  const value = r.value ?? r.nonNumeric;
  const against = r.threshold !== undefined ? ` (threshold ${formatNumber(r.threshold)})` : '';
  return `${mark}  ${r.rule.text}  value=${value === undefined ? '—' : JSON.stringify(value)}${against}${r.reason ? `: ${r.reason}` : ''}`;
}
