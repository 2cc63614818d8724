import { describe, expect, it } from 'vitest';
import type { Baseline } from '../../src/metrics/baseline';
import { chartLabel, renderBaselineChart } from '../../src/metrics/chart';
import { parseMetrics } from '../../src/metrics/file';
import { COMMENT_LIMIT, describeResult, describeViolations, formatDelta, formatNumber, gateHeadline, renderGateReport, type ReportContext } from '../../src/metrics/report';
import { evaluateRules, parseRules } from '../../src/metrics/rules';

const metrics = (json: Record<string, unknown>) => parseMetrics(JSON.stringify(json), 'file "m.json"');
const fileBaseline = (json: Record<string, unknown>): Baseline => ({ kind: 'file', source: 'baseline.json', metrics: metrics(json) });
const context = (extra: Partial<ReportContext> = {}): ReportContext => ({
  metricsSource: 'metrics.json',
  onMissingBaseline: 'pass',
  key: 'release/model',
  runUrl: 'https://github.com/acme/iris/actions/runs/7',
  sha: 'abcdef0123456789',
  ...extra,
});

/** Cells of each table row, split on pipes that are not escaped. */
function tableRows(markdown: string): string[][] {
  return markdown
    .split('\n')
    .filter((line) => line.startsWith('| '))
    .map((line) =>
      line
        .replace(/\\\|/g, '\u241f')
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim().replace(/\u241f/g, '\\|')),
    );
}

describe('renderGateReport', () => {
  const candidate = metrics({ accuracy: 0.925, latency_p95_ms: 45, loss: 0.3, model: 'lr', epochs: 12 });
  const base = fileBaseline({ accuracy: 0.93, latency_p95_ms: 40, loss: 0.3, epochs: 10 });
  const rules = parseRules('accuracy >= baseline - 0.005\nlatency_p95_ms <= baseline * 1.10\nloss <= baseline + 2%\nprecision >= 0.9');

  it('shows a verdict, one row per rule, a chart and the ungated metrics', () => {
    const evaluation = evaluateRules(rules, candidate, base.kind === 'file' ? base.metrics : undefined, 'pass');
    const report = renderGateReport(evaluation, candidate, context({ baseline: base }));
    expect(report.split('\n')[0]).toBe('### ❌ Gate failed: 2 of 4 rules violated');
    expect(report).toContain('**Metrics** `metrics.json` · **Baseline** `baseline.json`');
    expect(tableRows(report).slice(0, 6)).toEqual([
      ['Metric', 'Value', 'Baseline', 'Delta', 'Rule', 'Result'],
      ['---', '---:', '---:', '---:', '---', '---'],
      ['`accuracy`', '0.925', '0.93', '−0.005 (−0.54%)', '`accuracy >= baseline - 0.005` (0.925)', '✅ pass'],
      ['`latency_p95_ms`', '45', '40', '+5 (+12.5%)', '`latency_p95_ms <= baseline * 1.10` (44)', '❌ **fail**'],
      ['`loss`', '0.3', '0.3', '±0 (±0%)', '`loss <= baseline + 2%` (0.306)', '✅ pass'],
      ['`precision`', '—', '—', '—', '`precision >= 0.9`', '❌ **fail**: missing from the metrics file'],
    ]);
    expect(report).toContain('```mermaid\nxychart-beta\n');
    expect(report).toContain('x-axis ["accuracy", "latency_p95_ms", "loss"]');
    expect(report).toContain('bar [99.46, 112.5, 100]');
    expect(report).toContain('<summary>2 other metrics (not gated)</summary>');
    expect(tableRows(report).slice(-2)).toEqual([
      ['`model`', 'lr', '—', '—'],
      ['`epochs`', '12', '10', '+2 (+20%)'],
    ]);
    expect(report.split('\n').at(-1)).toBe('<sub>train-to-serve gate `release/model` · [workflow run](https://github.com/acme/iris/actions/runs/7) · commit `abcdef0`</sub>');
  });

  it('says which rules were skipped for want of a baseline', () => {
    const evaluation = evaluateRules(parseRules('accuracy >= baseline\nloss <= 1'), candidate, undefined, 'pass');
    const report = renderGateReport(evaluation, candidate, context());
    expect(report.split('\n')[0]).toBe('### ✅ Gate passed: all 2 rules hold (1 skipped: no baseline)');
    expect(report).toContain('**Baseline** none given');
    expect(report).toContain('⚪ skipped: no baseline');
    expect(report).not.toContain('```mermaid');
  });

  it('explains a baseline image without recorded metrics', () => {
    const missing: Baseline = { kind: 'missing', source: 'ghcr.io/acme/iris:production', reason: 'image ghcr.io/acme/iris:production does not exist or has no train-to-serve.metrics label' };
    const evaluation = evaluateRules(parseRules('accuracy >= baseline'), candidate, undefined, 'fail');
    const report = renderGateReport(evaluation, candidate, context({ baseline: missing, onMissingBaseline: 'fail' }));
    expect(report).toContain('**Baseline** `ghcr.io/acme/iris:production`: image ghcr.io/acme/iris:production does not exist or has no train-to-serve.metrics label; baseline rules fail (`on-missing-baseline: fail`)');
    expect(report.split('\n')[0]).toBe('### ❌ Gate failed: 1 of 1 rule violated');
  });

  it('keeps names and values from the file from breaking the markdown', () => {
    const hostile = metrics({ 'a|b': 1, '<img src=x onerror=alert(1)>': 2, 'tick`s': 3, '**bold** [link](http://x)': 'v|<script>`x`</script>', 'new\nline': 4 });
    const evaluation = evaluateRules(parseRules('"a|b" >= 0\n"<img src=x onerror=alert(1)>" >= 0\n"tick`s" >= 0'), hostile, undefined, 'pass');
    const report = renderGateReport(evaluation, hostile, context({ key: 'k-->x' }));
    for (const row of tableRows(report).filter((r) => r.length !== 0)) expect([6, 4]).toContain(row.length);
    // Inside a code span GitHub shows HTML as text; outside one it must be escaped.
    const outsideCode = report.replace(/(`+)(?!`)[\s\S]*?[^`]\1(?!`)/g, '');
    expect(outsideCode).not.toMatch(/<img|<script/);
    expect(report).toContain('`<img src=x onerror=alert(1)>`');
    expect(report).toContain('`a\\|b`');
    expect(report).toContain('``tick`s``');
    expect(report).toContain('v\\|&lt;script&gt;\\`x\\`&lt;/script&gt;');
  });

  it('stays within the limit when the rules would not fit, violations first, with a note', () => {
    const many: Record<string, number> = {};
    for (let i = 0; i < 4000; i++) many[`metric_with_a_long_descriptive_name_${i}`] = i;
    const big = metrics(many);
    const ruleText = Object.keys(many)
      .map((name, i) => `${name} ${i === 3999 ? '<' : '>='} 0`)
      .join('\n');
    const evaluation = evaluateRules(parseRules(ruleText), big, undefined, 'pass');
    const report = renderGateReport(evaluation, big, context());
    expect(report.length).toBeLessThanOrEqual(COMMENT_LIMIT);
    expect(tableRows(report)[2]![0]).toBe('`metric_with_a_long_descriptive_name_3999`');
    expect(report).toMatch(/_\d+ more rules not shown: the comment would pass GitHub’s size limit\. The job summary and the `violations` output have them all\._/);
    expect(report.split('\n').at(-1)).toMatch(/^<sub>train-to-serve gate/);
    expect(renderGateReport(evaluation, big, context(), 2_000_000)).not.toContain('more rules not shown');
  });
});

describe('gateHeadline and describeViolations', () => {
  const candidate = metrics({ accuracy: 0.9, latency: 50 });
  it.each([
    ['accuracy >= 0.8', 'The rule holds', undefined],
    ['accuracy >= 0.8\nlatency <= baseline', 'All 2 rules hold (1 skipped: no baseline)', undefined],
    ['accuracy >= 0.95\nlatency <= 40\nlatency < 45', '3 of 3 rules violated: accuracy, latency', 'Gate failed: 3 of 3 rules violated: accuracy >= 0.95 (0.9); latency <= 40 (50); latency < 45 (50)'],
    ['f1 >= 0.5', '1 of 1 rule violated: f1', 'Gate failed: 1 of 1 rule violated: f1 >= 0.5 (missing from the metrics file)'],
  ])('%j', (text, headline, failure) => {
    const evaluation = evaluateRules(parseRules(text), candidate, undefined, 'pass');
    expect(gateHeadline(evaluation)).toBe(headline);
    if (failure) expect(describeViolations(evaluation)).toBe(failure);
  });

  it('shows the computed threshold of a baseline rule and caps the list', () => {
    const evaluation = evaluateRules(parseRules('accuracy >= baseline\n' + Array.from({ length: 7 }, (_, i) => `m${i} >= 1`).join('\n')), candidate, metrics({ accuracy: 0.95 }), 'pass');
    expect(describeViolations(evaluation)).toBe(
      'Gate failed: 8 of 8 rules violated: accuracy >= baseline (0.9 vs 0.95); m0 >= 1 (missing from the metrics file); m1 >= 1 (missing from the metrics file); m2 >= 1 (missing from the metrics file); m3 >= 1 (missing from the metrics file), and 3 more',
    );
  });
});

describe('number formatting', () => {
  it.each([
    [0.9312, '0.9312'],
    [0.93123456789, '0.931235'],
    [40, '40'],
    [123456789, '123456789'],
    [-0.5, '-0.5'],
    [0, '0'],
    [0.00001234, '1.234e-5'],
    [1.5e20, '1.500e+20'],
    [1234.56789, '1234.57'],
  ])('formatNumber(%d) -> %s', (value, text) => expect(formatNumber(value)).toBe(text));

  it.each([
    [0.925, 0.93, '−0.005 (−0.54%)'],
    [45, 40, '+5 (+12.5%)'],
    [1, 1, '±0 (±0%)'],
    [0.1, 0, '+0.1'],
    [-1.8, -2, '+0.2 (+10%)'],
  ])('formatDelta(%d, %d) -> %s', (value, baseline, text) => expect(formatDelta(value, baseline)).toBe(text));
});

describe('renderBaselineChart', () => {
  it('draws value as % of baseline with the baseline as a line, on an axis that includes zero', () => {
    expect(
      renderBaselineChart([
        { metric: 'accuracy', value: 0.9, baseline: 0.9 },
        { metric: 'latency', value: 60, baseline: 40 },
      ]),
    ).toBe(['```mermaid', 'xychart-beta', '  title "value as % of baseline (line: baseline)"', '  x-axis ["accuracy", "latency"]', '  y-axis "% of baseline" 0 --> 170', '  bar [100, 150]', '  line [100, 100]', '```'].join('\n'));
  });

  it('leaves out metrics whose baseline is zero or negative, and draws nothing without any', () => {
    expect(
      renderBaselineChart([
        { metric: 'drift', value: 1, baseline: 0 },
        { metric: 'll', value: -1, baseline: -2 },
      ]),
    ).toBeUndefined();
    expect(renderBaselineChart([])).toBeUndefined();
  });

  it('caps the bars at 20 and says so', () => {
    const chart = renderBaselineChart(Array.from({ length: 25 }, (_, i) => ({ metric: `m${i}`, value: 1, baseline: 1 })))!;
    expect(chart).toContain('title "First 20 of 25 metrics: value as % of baseline (line: baseline)"');
    expect(chart.match(/"m\d+"/g)).toHaveLength(20);
  });

  it.each([
    ['accuracy', 'accuracy'],
    ['eval/top-1 acc:val', 'eval/top-1 acc:val'],
    ['a"b', 'a_b'],
    ['x]; click a', 'x__ click a'],
    ['<b>#quot;', '_b__quot_'],
    ['a_very_long_metric_name_that_goes_on_and_on', 'a_very_long_metric_name_that_…'],
  ])('chartLabel(%j) -> %j', (name, label) => expect(chartLabel(name)).toBe(label));
});

describe('describeResult', () => {
  const candidate = metrics({ accuracy: 0.9, model: 'lr' });
  it.each([
    ['accuracy >= 0.8', 'pass  accuracy >= 0.8  value=0.9 (threshold 0.8)'],
    ['accuracy >= baseline * 1.1', 'FAIL  accuracy >= baseline * 1.1  value=0.9 (threshold 0.99)'],
    ['model >= 1', 'FAIL  model >= 1  value="lr": not a number ("lr")'],
    ['f1 >= 1', 'FAIL  f1 >= 1  value=—: missing from the metrics file'],
  ])('%s', (text, line) => {
    const [result] = evaluateRules(parseRules(text), candidate, metrics({ accuracy: 0.9 }), 'pass').results;
    expect(describeResult(result!)).toBe(line);
  });
});
