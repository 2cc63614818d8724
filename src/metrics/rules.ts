import { InputError, quote } from '../inputs/errors';
import type { Metrics, MetricValue } from './file';

/**
 * The gate's rule language, one rule a line, `#` starts a comment:
 *
 *   metric OP number                  accuracy >= 0.92
 *   metric OP baseline                accuracy >= baseline
 *   metric OP baseline (+|-) number   accuracy >= baseline - 0.005
 *   metric OP baseline (+|-) number%  loss <= baseline + 2%      (2% of |baseline|)
 *   metric OP baseline * number       latency_p95_ms <= baseline * 1.10
 *
 * OP is one of >=, <=, >, <, ==, !=. A metric name is its dotted name in the metrics file
 * (`eval.accuracy`); names with spaces or operator characters go in double quotes.
 */

export const OPERATORS = ['>=', '<=', '>', '<', '==', '!='] as const;
export type Operator = (typeof OPERATORS)[number];

export type Threshold =
  | { kind: 'number'; value: number }
  /** `baseline`, `baseline + 0.1`, `baseline - 2%`, `baseline * 1.1` (`adjust: null` for bare `baseline`). */
  | { kind: 'baseline'; adjust: '+' | '-' | '*' | null; amount: number; percent: boolean };

export interface Rule {
  /** 1-based line number in the `rules` input. */
  line: number;
  /** The rule as written, without its comment. */
  text: string;
  metric: string;
  operator: Operator;
  threshold: Threshold;
}

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const UNSIGNED_NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const OPERATOR_CHARS = /[<>=!]/;

/** Parse the `rules` input. Throws an InputError naming the line number and the line. */
export function parseRules(text: string, inputName = 'rules'): Rule[] {
  const rules: Rule[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const body = stripComment(raw).trim();
    if (body === '') return;
    const fail = (problem: string): never => {
      throw new InputError(inputName, `line ${index + 1} ${quote(raw.trim())}: ${problem}`);
    };
    rules.push(parseRule(body, index + 1, fail));
  });
  if (rules.length === 0) throw new InputError(inputName, 'holds no rules (one a line, like "accuracy >= 0.92")');
  return rules;
}

function stripComment(line: string): string {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '"') quoted = !quoted;
    else if (line[i] === '#' && !quoted) return line.slice(0, i);
  }
  return line;
}

function parseRule(text: string, line: number, fail: (problem: string) => never): Rule {
  let metric: string;
  let rest: string;
  if (text.startsWith('"')) {
    const end = text.indexOf('"', 1);
    if (end < 0) fail('the metric name’s opening quote is never closed');
    metric = text.slice(1, end);
    rest = text.slice(end + 1);
  } else {
    const match = /^[^\s<>=!]+/.exec(text);
    if (!match) fail('expected a metric name first, like "accuracy >= 0.92"');
    metric = match[0];
    rest = text.slice(metric.length);
  }
  if (metric.trim() === '') fail('the metric name is empty');
  rest = rest.trimStart();

  const operatorText = /^[<>=!]+/.exec(rest)?.[0] ?? '';
  if (operatorText === '') {
    if (rest === '') fail(`expected an operator (${OPERATORS.join(', ')}) and a threshold after the metric name`);
    fail(`expected an operator (${OPERATORS.join(', ')}) after ${quote(metric)}${/\s/.test(text) && !text.startsWith('"') ? '; quote metric names that contain spaces' : ''}`);
  }
  if (!(OPERATORS as readonly string[]).includes(operatorText)) {
    const hint = operatorText === '=' ? ' (use == to compare for equality)' : operatorText === '=>' ? ' (did you mean >=?)' : operatorText === '=<' ? ' (did you mean <=?)' : '';
    fail(`unknown operator ${quote(operatorText)}${hint}; use one of ${OPERATORS.join(', ')}`);
  }
  const operator = operatorText as Operator;
  const right = rest.slice(operatorText.length).trim();
  if (right === '') fail(`expected a number or a baseline expression after ${operator}`);

  if (NUMBER.test(metric) && !NUMBER.test(right)) fail('the metric goes on the left: write "metric >= 0.92", not "0.92 <= metric"');
  return { line, text, metric, operator, threshold: parseThreshold(right, fail) };
}

function parseThreshold(text: string, fail: (problem: string) => never): Threshold {
  if (NUMBER.test(text)) {
    const value = Number(text);
    if (!Number.isFinite(value)) fail(`${quote(text)} is not a finite number`);
    return { kind: 'number', value };
  }
  if (/^[+-]?[\d.]+(?:[eE][+-]?\d+)?\s*%$/.test(text)) fail('a percentage is relative to the baseline: write "baseline + 2%", or a plain number like 0.92');
  const baseline = /^baseline\b/.exec(text);
  if (!baseline) {
    if (OPERATOR_CHARS.test(text[0] ?? '')) fail(`unexpected ${quote(text)} after the operator; write operators without spaces inside (${OPERATORS.join(', ')})`);
    fail(`${quote(text)} is neither a number nor a baseline expression (baseline, baseline + 0.01, baseline - 2%, baseline * 1.1)`);
  }
  const rest = text.slice('baseline'.length).trim();
  if (rest === '') return { kind: 'baseline', adjust: null, amount: 0, percent: false };
  const adjust = rest[0];
  if (adjust !== '+' && adjust !== '-' && adjust !== '*') fail(`after "baseline" expected +, - or * and a number, got ${quote(rest)}`);
  let amountText = rest.slice(1).trim();
  const percent = amountText.endsWith('%');
  if (percent) amountText = amountText.slice(0, -1).trim();
  if (amountText === '') fail(`expected a number after "baseline ${adjust}"`);
  if (!UNSIGNED_NUMBER.test(amountText)) fail(`${quote(amountText)} after "baseline ${adjust}" is not a plain number`);
  if (percent && adjust === '*') fail('a factor takes no percent sign: write "baseline * 1.02" or "baseline + 2%"');
  return { kind: 'baseline', adjust: adjust, amount: Number(amountText), percent };
}

export type OnMissingBaseline = 'pass' | 'fail';
export type Outcome = 'pass' | 'fail' | 'skip';

export interface RuleResult {
  rule: Rule;
  outcome: Outcome;
  /** The metric's value when it is a number. */
  value?: number;
  /** The metric's value when it is present but not a number. */
  nonNumeric?: MetricValue;
  baseline?: number;
  /** The number the value was compared with. */
  threshold?: number;
  /** Why the rule failed or was skipped without a comparison. */
  reason?: string;
}

export interface Evaluation {
  results: RuleResult[];
  passed: boolean;
  violations: RuleResult[];
}

/** Numbers this close (relative to their size) count as equal, so 0.93 - 0.005 == 0.925. */
const RELATIVE_TOLERANCE = 1e-9;

export function compare(value: number, operator: Operator, threshold: number): boolean {
  const tolerance = RELATIVE_TOLERANCE * Math.max(Math.abs(value), Math.abs(threshold));
  const difference = value - threshold;
  switch (operator) {
    case '>=':
      return difference >= -tolerance;
    case '<=':
      return difference <= tolerance;
    case '>':
      return difference > tolerance;
    case '<':
      return difference < -tolerance;
    case '==':
      return Math.abs(difference) <= tolerance;
    case '!=':
      return Math.abs(difference) > tolerance;
  }
}

/** The number a threshold stands for, given the baseline's value of the metric. */
export function thresholdValue(threshold: Threshold, baseline: number | undefined): number | undefined {
  if (threshold.kind === 'number') return threshold.value;
  if (baseline === undefined) return undefined;
  const { adjust, amount, percent } = threshold;
  const step = percent ? (Math.abs(baseline) * amount) / 100 : amount;
  switch (adjust) {
    case null:
      return baseline;
    case '+':
      return baseline + step;
    case '-':
      return baseline - step;
    case '*':
      return baseline * amount;
  }
}

/**
 * Evaluate every rule. A metric missing from the metrics file, or present but not a number, is a
 * violation. A baseline rule without a baseline value (no baseline given, or the baseline lacks
 * that metric) passes as skipped or fails, as `onMissingBaseline` says.
 */
export function evaluateRules(rules: Rule[], metrics: Metrics, baseline: Metrics | undefined, onMissingBaseline: OnMissingBaseline): Evaluation {
  const results = rules.map((rule): RuleResult => {
    const value = metrics.numbers.get(rule.metric);
    const base = baseline?.numbers.get(rule.metric);
    const known = { rule, ...(base !== undefined ? { baseline: base } : {}) };
    if (value === undefined) {
      const entry = metrics.entries.find((e) => e.name === rule.metric);
      if (entry) return { ...known, outcome: 'fail', nonNumeric: entry.value, reason: `not a number (${JSON.stringify(entry.value)})` };
      return { ...known, outcome: 'fail', reason: 'missing from the metrics file' };
    }
    const threshold = thresholdValue(rule.threshold, base);
    if (threshold === undefined) {
      const reason = baseline === undefined ? 'no baseline' : 'baseline has no such metric';
      return { ...known, value, outcome: onMissingBaseline === 'pass' ? 'skip' : 'fail', reason };
    }
    return { ...known, value, threshold, outcome: compare(value, rule.operator, threshold) ? 'pass' : 'fail' };
  });
  const violations = results.filter((r) => r.outcome === 'fail');
  return { results, passed: violations.length === 0, violations };
}

/** The `violations` output: one plain object per failed rule. */
export function violationsToJson(evaluation: Evaluation): Record<string, unknown>[] {
  return evaluation.violations.map((r) => ({
    metric: r.rule.metric,
    rule: r.rule.text,
    line: r.rule.line,
    value: r.value ?? r.nonNumeric ?? null,
    threshold: r.threshold ?? null,
    baseline: r.baseline ?? null,
    ...(r.reason ? { reason: r.reason } : {}),
  }));
}
