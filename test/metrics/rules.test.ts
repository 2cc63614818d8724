import { describe, expect, it } from 'vitest';
import { parseMetrics } from '../../src/metrics/file';
import { compare, evaluateRules, parseRules, thresholdValue, violationsToJson, type Operator, type Rule, type Threshold } from '../../src/metrics/rules';

const one = (text: string): Omit<Rule, 'line' | 'text'> => {
  const [rule] = parseRules(text);
  const { line: _line, text: _text, ...rest } = rule!;
  return rest;
};

describe('parseRules: the grammar', () => {
  it.each<[string, string, Operator, Threshold]>([
    ['accuracy >= 0.92', 'accuracy', '>=', { kind: 'number', value: 0.92 }],
    ['latency_p95_ms <= 40', 'latency_p95_ms', '<=', { kind: 'number', value: 40 }],
    ['loss < 1e-3', 'loss', '<', { kind: 'number', value: 0.001 }],
    ['drift > -0.5', 'drift', '>', { kind: 'number', value: -0.5 }],
    ['failed_checks == 0', 'failed_checks', '==', { kind: 'number', value: 0 }],
    ['classes != 2', 'classes', '!=', { kind: 'number', value: 2 }],
    ['eval.accuracy>=.9', 'eval.accuracy', '>=', { kind: 'number', value: 0.9 }],
    ['accuracy >= baseline', 'accuracy', '>=', { kind: 'baseline', adjust: null, amount: 0, percent: false }],
    ['accuracy >= baseline - 0.005', 'accuracy', '>=', { kind: 'baseline', adjust: '-', amount: 0.005, percent: false }],
    ['accuracy >= baseline-0.005', 'accuracy', '>=', { kind: 'baseline', adjust: '-', amount: 0.005, percent: false }],
    ['latency_p95_ms <= baseline * 1.10', 'latency_p95_ms', '<=', { kind: 'baseline', adjust: '*', amount: 1.1, percent: false }],
    ['loss <= baseline + 2%', 'loss', '<=', { kind: 'baseline', adjust: '+', amount: 2, percent: true }],
    ['recall >= baseline - 1.5 %', 'recall', '>=', { kind: 'baseline', adjust: '-', amount: 1.5, percent: true }],
    ['"top 1 accuracy" >= 0.8', 'top 1 accuracy', '>=', { kind: 'number', value: 0.8 }],
    ['"a#b" >= 1 # the name holds a hash', 'a#b', '>=', { kind: 'number', value: 1 }],
    ['per_class.0 >= 0.7   # trailing comment', 'per_class.0', '>=', { kind: 'number', value: 0.7 }],
  ])('%j', (text, metric, operator, threshold) => {
    expect(one(text)).toEqual({ metric, operator, threshold });
  });

  it('numbers lines from 1, skipping blanks and comments, and keeps each rule’s text', () => {
    const rules = parseRules('# quality\naccuracy >= 0.92\n\n   \nloss <= baseline + 2%  # relative\r\n');
    expect(rules.map((r) => [r.line, r.text])).toEqual([
      [2, 'accuracy >= 0.92'],
      [5, 'loss <= baseline + 2%'],
    ]);
  });

  it.each([
    ['accuracy >> 0.9', 'Input "rules": line 1 "accuracy >> 0.9": unknown operator ">>"; use one of >=, <=, >, <, ==, !='],
    ['accuracy = 0.9', 'Input "rules": line 1 "accuracy = 0.9": unknown operator "=" (use == to compare for equality)'],
    ['accuracy => 0.9', 'unknown operator "=>" (did you mean >=?)'],
    ['accuracy =< 0.9', 'unknown operator "=<" (did you mean <=?)'],
    ['accuracy > = 0.9', 'line 1 "accuracy > = 0.9": unexpected "= 0.9" after the operator'],
    ['accuracy', 'line 1 "accuracy": expected an operator (>=, <=, >, <, ==, !=) and a threshold after the metric name'],
    ['accuracy 0.9', 'expected an operator (>=, <=, >, <, ==, !=) after "accuracy"'],
    ['top 1 accuracy >= 0.9', 'expected an operator (>=, <=, >, <, ==, !=) after "top"; quote metric names that contain spaces'],
    ['accuracy >=', 'line 1 "accuracy >=": expected a number or a baseline expression after >='],
    ['>= 0.9', 'line 1 ">= 0.9": expected a metric name first'],
    ['"unclosed >= 0.9', 'the metric name’s opening quote is never closed'],
    ['"" >= 0.9', 'the metric name is empty'],
    ['accuracy >= high', '"high" is neither a number nor a baseline expression (baseline, baseline + 0.01, baseline - 2%, baseline * 1.1)'],
    ['accuracy >= 0,92', '"0,92" is neither a number nor a baseline expression'],
    ['accuracy >= 92%', 'a percentage is relative to the baseline: write "baseline + 2%", or a plain number like 0.92'],
    ['accuracy >= 1e999', '"1e999" is not a finite number'],
    ['accuracy >= baselines', '"baselines" is neither a number nor a baseline expression'],
    ['accuracy >= baseline / 2', 'after "baseline" expected +, - or * and a number, got "/ 2"'],
    ['accuracy >= baseline -', 'expected a number after "baseline -"'],
    ['accuracy >= baseline - x', '"x" after "baseline -" is not a plain number'],
    ['accuracy >= baseline + -0.1', '"-0.1" after "baseline +" is not a plain number'],
    ['accuracy >= baseline * 1.1%', 'a factor takes no percent sign: write "baseline * 1.02" or "baseline + 2%"'],
    ['accuracy >= baseline - 0.1 0.2', '"0.1 0.2" after "baseline -" is not a plain number'],
    ['0.92 <= accuracy', 'the metric goes on the left: write "metric >= 0.92", not "0.92 <= metric"'],
  ])('%j -> %s', (text, message) => {
    expect(() => parseRules(text)).toThrow(message);
  });

  it('names the line number of the bad line among good ones', () => {
    expect(() => parseRules('accuracy >= 0.9\n# fine\nloss <== 1\n')).toThrow('Input "rules": line 3 "loss <== 1": unknown operator "<=="');
  });

  it.each(['', '\n\n', '# only a comment\n  # and another'])('refuses rules with no rule in them: %j', (text) => {
    expect(() => parseRules(text)).toThrow('Input "rules": holds no rules (one a line, like "accuracy >= 0.92")');
  });
});

describe('compare', () => {
  it.each<[number, Operator, number, boolean]>([
    [0.93, '>=', 0.92, true],
    [0.92, '>=', 0.92, true],
    [0.91, '>=', 0.92, false],
    [0.92, '>', 0.92, false],
    [0.93, '>', 0.92, true],
    [40, '<=', 40, true],
    [41, '<=', 40, false],
    [40, '<', 40, false],
    [0, '==', 0, true],
    [1, '==', 0, false],
    [1, '!=', 0, true],
    [0, '!=', 0, false],
    // Floating point: 0.93 - 0.005 is 0.9250000000000002 in binary, still equal to 0.925 here.
    [0.925, '>=', 0.93 - 0.005, true],
    [0.925, '==', 0.93 - 0.005, true],
    [0.1 + 0.2, '<=', 0.3, true],
    [0.3, '>', 0.1 + 0.2, false],
    // The tolerance is relative: tiny metrics still compare exactly.
    [2e-12, '>', 1e-12, true],
    [1e-12, '>=', 2e-12, false],
  ])('%d %s %d -> %s', (value, operator, threshold, expected) => {
    expect(compare(value, operator, threshold)).toBe(expected);
  });
});

describe('thresholdValue', () => {
  it.each<[string, number | undefined, number | undefined]>([
    ['accuracy >= 0.92', 0.5, 0.92],
    ['accuracy >= 0.92', undefined, 0.92],
    ['accuracy >= baseline', 0.9, 0.9],
    ['accuracy >= baseline', undefined, undefined],
    ['accuracy >= baseline - 0.005', 0.93, 0.925],
    ['accuracy >= baseline + 0.01', 0.9, 0.91],
    ['latency <= baseline * 1.10', 40, 44],
    ['loss <= baseline + 2%', 0.5, 0.51],
    ['loss <= baseline - 10%', 0.5, 0.45],
    // Percentages are of the baseline's size, so "+ 2%" is looser for a negative baseline too.
    ['log_likelihood <= baseline + 10%', -2, -1.8],
    ['log_likelihood >= baseline - 10%', -2, -2.2],
  ])('%s with baseline %s -> %s', (text, baseline, expected) => {
    const value = thresholdValue(parseRules(text)[0]!.threshold, baseline);
    if (expected === undefined) expect(value).toBeUndefined();
    else expect(value).toBeCloseTo(expected, 12);
  });
});

describe('evaluateRules', () => {
  const metrics = parseMetrics(JSON.stringify({ accuracy: 0.925, latency_p95_ms: 45, loss: 0.3, model: 'lr', eval: { f1: 0.8 } }), 'file "m.json"');
  const baseline = parseMetrics(JSON.stringify({ accuracy: 0.93, latency_p95_ms: 40, loss: 0.3 }), 'file "b.json"');

  it.each<[string, string, 'with baseline' | 'without baseline', 'pass' | 'fail', { outcome: string; reason?: string; threshold?: number }]>([
    ['absolute pass', 'accuracy >= 0.92', 'with baseline', 'pass', { outcome: 'pass', threshold: 0.92 }],
    ['absolute fail', 'latency_p95_ms <= 40', 'with baseline', 'pass', { outcome: 'fail', threshold: 40 }],
    ['baseline minus, at the edge', 'accuracy >= baseline - 0.005', 'with baseline', 'pass', { outcome: 'pass' }],
    ['baseline factor', 'latency_p95_ms <= baseline * 1.10', 'with baseline', 'pass', { outcome: 'fail', threshold: 44 }],
    ['baseline percent', 'loss <= baseline + 2%', 'with baseline', 'pass', { outcome: 'pass' }],
    ['nested metric', 'eval.f1 >= 0.75', 'with baseline', 'pass', { outcome: 'pass' }],
    ['missing metric', 'precision >= 0.9', 'with baseline', 'pass', { outcome: 'fail', reason: 'missing from the metrics file' }],
    ['missing metric, baseline rule', 'precision >= baseline', 'without baseline', 'pass', { outcome: 'fail', reason: 'missing from the metrics file' }],
    ['non-numeric metric', 'model >= 1', 'with baseline', 'pass', { outcome: 'fail', reason: 'not a number ("lr")' }],
    ['no baseline, on-missing-baseline pass', 'accuracy >= baseline', 'without baseline', 'pass', { outcome: 'skip', reason: 'no baseline' }],
    ['no baseline, on-missing-baseline fail', 'accuracy >= baseline', 'without baseline', 'fail', { outcome: 'fail', reason: 'no baseline' }],
    ['baseline lacks the metric, pass', 'eval.f1 >= baseline', 'with baseline', 'pass', { outcome: 'skip', reason: 'baseline has no such metric' }],
    ['baseline lacks the metric, fail', 'eval.f1 >= baseline', 'with baseline', 'fail', { outcome: 'fail', reason: 'baseline has no such metric' }],
    ['absolute rule needs no baseline', 'accuracy >= 0.9', 'without baseline', 'fail', { outcome: 'pass' }],
  ])('%s: %s', (_, text, which, onMissing, expected) => {
    const { results } = evaluateRules(parseRules(text), metrics, which === 'with baseline' ? baseline : undefined, onMissing);
    expect(results[0]).toMatchObject(expected);
    if (!expected.reason) expect(results[0]!.reason).toBeUndefined();
  });

  it('passes only when no rule fails, and lists the violations for the output', () => {
    const rules = parseRules('accuracy >= baseline - 0.005\nlatency_p95_ms <= baseline * 1.10\nprecision >= 0.9\nf1 >= baseline');
    const evaluation = evaluateRules(rules, metrics, baseline, 'pass');
    expect(evaluation.passed).toBe(false);
    expect(evaluation.results.map((r) => r.outcome)).toEqual(['pass', 'fail', 'fail', 'fail']);
    expect(violationsToJson(evaluation)).toEqual([
      { metric: 'latency_p95_ms', rule: 'latency_p95_ms <= baseline * 1.10', line: 2, value: 45, threshold: expect.closeTo(44, 9), baseline: 40 },
      { metric: 'precision', rule: 'precision >= 0.9', line: 3, value: null, threshold: null, baseline: null, reason: 'missing from the metrics file' },
      { metric: 'f1', rule: 'f1 >= baseline', line: 4, value: null, threshold: null, baseline: null, reason: 'missing from the metrics file' },
    ]);
    const passing = evaluateRules(parseRules('accuracy >= 0.9\nloss <= baseline'), metrics, undefined, 'pass');
    expect(passing).toMatchObject({ passed: true, violations: [] });
  });
});
