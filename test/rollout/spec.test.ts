import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/inputs/errors';
import { parseAnalysis, parseProgressiveInputs, parseSteps, windowsPerHold, type ProgressiveInputs } from '../../src/rollout/spec';

const canary = (extra: Partial<ProgressiveInputs> = {}): ProgressiveInputs => ({ strategy: 'canary', routing: 'file', 'traefik-api': 'http://127.0.0.1:8080', ...extra });

describe('parseSteps', () => {
  it.each<[string, number[]]>([
    ['5,25,50,100', [5, 25, 50, 100]],
    ['10, 50', [10, 50, 100]],
    ['100', [100]],
    ['1\n2\n3', [1, 2, 3, 100]],
  ])('%j → %j', (raw, steps) => expect(parseSteps(raw)).toEqual(steps));
});

describe('bad progressive input: one line naming the input', () => {
  it.each<[string, Partial<ProgressiveInputs>, string, RegExp]>([
    ['steps not increasing', { steps: '5,50,25' }, 'steps', /must increase, but 25 follows 50/],
    ['steps repeating', { steps: '5,5' }, 'steps', /must increase/],
    ['weight over 100', { steps: '5,150' }, 'steps', /from 1 to 100, got 150/],
    ['weight zero', { steps: '0,50' }, 'steps', /from 1 to 100, got 0/],
    ['weight not a number', { steps: '5,half' }, 'steps', /whole percentages/],
    ['empty steps list', { steps: ',' }, 'steps', /at least one weight/],
    ['unknown figure', { analysis: 'error_rate <= 0.01\naccuracy >= 0.9' }, 'analysis', /line 2 "accuracy >= 0.9": unknown figure "accuracy"/],
    ['rule grammar', { analysis: 'error_rate = 0' }, 'analysis', /unknown operator/],
    ['zero step duration', { 'step-duration': '0s' }, 'step-duration', /greater than zero/],
    ['unitless step duration', { 'step-duration': '30' }, 'step-duration', /expected a duration/],
    ['zero shadow duration', { strategy: 'shadow', 'shadow-duration': '0m' }, 'shadow-duration', /greater than zero/],
    ['mirror over 100', { strategy: 'shadow', 'mirror-percent': '101' }, 'mirror-percent', /at most 100/],
    ['mirror zero', { strategy: 'shadow', 'mirror-percent': '0' }, 'mirror-percent', /at least 1/],
    ['after-shadow unknown', { strategy: 'shadow', 'after-shadow': 'add' }, 'after-shadow', /replace, canary/],
    ['shadow input on a canary', { 'mirror-percent': '10' }, 'mirror-percent', /only used with strategy: shadow/],
    ['canary in label mode', { routing: 'labels' }, 'strategy', /canary needs routing: file/],
    ['canary with routing unset', { routing: undefined }, 'strategy', /canary needs routing: file/],
    ['shadow in label mode', { strategy: 'shadow', routing: 'labels' }, 'strategy', /shadow needs routing: file/],
    ['steps with replace', { strategy: 'replace', steps: '5,100' }, 'steps', /only used with strategy: canary or shadow/],
    ['analysis-interval zero', { 'analysis-interval': '0s' }, 'analysis-interval', /greater than zero/],
    ['analysis-interval not a duration', { 'analysis-interval': '10' }, 'analysis-interval', /expected a duration/],
    ['analysis-interval longer than the step', { 'step-duration': '10s', 'analysis-interval': '20s' }, 'analysis-interval', /"20s" is longer than step-duration \(10s\): a window cannot outlast/],
    ['analysis-interval not dividing the step', { 'analysis-interval': '25s' }, 'analysis-interval', /"25s" does not cut step-duration \(1m\) into whole windows; 20s does$/],
    ['analysis-interval not dividing the shadow', { strategy: 'shadow', 'shadow-duration': '90s', 'analysis-interval': '20s' }, 'analysis-interval', /does not cut shadow-duration \(1m30s\) into whole windows; 18s does$/],
    [
      'analysis-interval not dividing the steps after a shadow',
      { strategy: 'shadow', 'after-shadow': 'canary', 'shadow-duration': '1m', 'step-duration': '50s', 'analysis-interval': '20s' },
      'analysis-interval',
      /does not cut step-duration \(50s\)/,
    ],
    ['analysis-interval with replace', { strategy: 'replace', 'analysis-interval': '10s' }, 'analysis-interval', /only used with strategy: canary or shadow/],
    ['failure-limit negative', { 'failure-limit': '-1' }, 'failure-limit', /must be at least 0, got -1/],
    ['failure-limit a word', { 'failure-limit': 'two' }, 'failure-limit', /expected a whole number, got "two"/],
    ['failure-limit a fraction', { 'failure-limit': '1.5' }, 'failure-limit', /expected a whole number/],
    ['failure-limit with add', { strategy: 'add', 'failure-limit': '1' }, 'failure-limit', /only used with strategy: canary or shadow/],
    ['no metrics source', { 'traefik-api': undefined }, 'traefik-metrics', /give traefik-metrics, or traefik-api/],
    ['metrics URL not http', { 'traefik-metrics': 'file:///etc/passwd' }, 'traefik-metrics', /http\(s\) URL/],
    ['metrics URL with credentials', { 'traefik-metrics': 'http://u:p@traefik:8080/metrics' }, 'traefik-metrics', /credentials/],
  ])('%s', (_what, extra, input, problem) => {
    let thrown: unknown;
    try {
      parseProgressiveInputs(canary(extra));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InputError);
    expect((thrown as InputError).input).toBe(input);
    expect((thrown as InputError).message).toMatch(problem);
    expect((thrown as InputError).message).not.toContain('\n');
  });
});

describe('parseProgressiveInputs', () => {
  it('replace and add are not progressive', () => {
    expect(parseProgressiveInputs({ strategy: 'replace' })).toBeUndefined();
    expect(parseProgressiveInputs({ strategy: 'add', routing: 'file' })).toBeUndefined();
  });

  it('canary defaults: 5,25,50,100 every 60s, metrics from <traefik-api>/metrics', () => {
    const spec = parseProgressiveInputs(canary())!;
    expect(spec.strategy).toBe('canary');
    expect(spec.canary).toEqual({ steps: [5, 25, 50, 100], stepDurationMs: 60_000 });
    expect(spec.metricsUrl).toBe('http://127.0.0.1:8080/metrics');
    expect(spec.rules.map((r) => r.metric)).toEqual(['error_rate', 'latency_p95_ms']);
    expect(spec.shadow).toBeUndefined();
  });

  it('analysis: one window per hold and no failed window tolerated unless asked', () => {
    expect(parseProgressiveInputs(canary())!.analysis).toEqual({ failureLimit: 0 });
    expect(parseProgressiveInputs(canary({ 'step-duration': '1m', 'analysis-interval': '15s', 'failure-limit': '2' }))!.analysis).toEqual({ intervalMs: 15_000, failureLimit: 2 });
    expect(parseProgressiveInputs(canary({ 'step-duration': '10s', 'analysis-interval': '10s' }))!.analysis).toEqual({ intervalMs: 10_000, failureLimit: 0 });
  });

  it('a shadow that replaces at once: the interval divides shadow-duration only (the steps are never held)', () => {
    const spec = parseProgressiveInputs(canary({ strategy: 'shadow', 'shadow-duration': '5m', 'step-duration': '1m', 'analysis-interval': '75s' }))!;
    expect(spec.analysis.intervalMs).toBe(75_000);
    expect(windowsPerHold(spec.analysis, spec.shadow!.durationMs)).toBe(4);
  });

  it('traefik-metrics wins over traefik-api', () => {
    expect(parseProgressiveInputs(canary({ 'traefik-metrics': 'http://traefik:8082/metrics' }))!.metricsUrl).toBe('http://traefik:8082/metrics');
  });

  it('shadow settings', () => {
    const spec = parseProgressiveInputs(canary({ strategy: 'shadow', 'mirror-percent': '20', 'shadow-duration': '90s', 'after-shadow': 'canary', steps: '10,50' }))!;
    expect(spec.shadow).toEqual({ mirrorPercent: 20, durationMs: 90_000, after: 'canary' });
    expect(spec.canary.steps).toEqual([10, 50, 100]);
  });

  it('the issue’s analysis example parses', () => {
    const rules = parseAnalysis('error_rate <= baseline + 0.005     # a fraction\nlatency_p95_ms <= baseline * 1.2\nrequests >= 50\nprediction_shift <= 0.1');
    expect(rules.map((r) => r.metric)).toEqual(['error_rate', 'latency_p95_ms', 'requests', 'prediction_shift']);
  });
});
