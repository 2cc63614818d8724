import { describe, expect, it } from 'vitest';
import { analyse, type RolloutResult, type WindowFigures, type WindowReport } from '../../src/rollout/rollout';
import { parseProgressiveInputs } from '../../src/rollout/spec';
import { holdsOf, renderRolloutSummary, rolloutOutputs, windowNote } from '../../src/rollout/summary';

const spec = parseProgressiveInputs({ strategy: 'canary', routing: 'file', 'traefik-api': 'http://t:8080', analysis: 'error_rate <= baseline + 0.005\nlatency_p95_ms <= baseline * 1.2' })!;
const at = (s: number) => new Date(Date.parse('2026-12-01T12:00:00.000Z') + s * 1000).toISOString();
/** A window of `windows` in the hold at `weight`; `failures` counted so far. */
function win(step: number, weight: number, window: number, windows: number, failures: number, figures: WindowFigures): WindowReport {
  const start = step * 10 + (window * 10) / windows;
  return { phase: 'canary', step, weight, window, windows, figures, ...analyse(spec, figures), failures, startedAt: at(start), endedAt: at(start + 10 / windows) };
}
const GOOD_5: WindowFigures = { stable: { requests: 950, error_rate: 0, latency_p95_ms: 12 }, canary: { requests: 50, error_rate: 0, latency_p95_ms: 13 } };
const BAD_25: WindowFigures = { stable: { requests: 750, error_rate: 0, latency_p95_ms: 12 }, canary: { requests: 250, error_rate: 0.2, latency_p95_ms: 13 } };

describe('rollout summary and outputs, one window per step', () => {
  const good = win(0, 5, 0, 1, 0, GOOD_5);
  const bad = win(1, 25, 0, 1, 1, BAD_25);
  const result: RolloutResult = { verdict: 'rolled-back', windows: [good, bad], failureLimit: 0, failed: { phase: 'canary', weight: 25, step: 1, window: 0, windows: 1, result: bad.results[0]! } };

  it('a table per step with both versions and each rule’s verdict, and the failed rule named', () => {
    const md = renderRolloutSummary(result);
    expect(md).toContain('### Rollout: rolled back ❌');
    expect(md).toContain('Rule `error_rate <= baseline + 0.005` failed at 25%: ❌ fail (0.2 vs 0.005). All traffic went back');
    expect(md).toContain('Failed windows: 1 of 2; failure-limit 0, counted over the whole rollout.');
    expect(md).toContain('#### Step 1: canary at 5% ✅');
    expect(md).toContain('#### Step 2: canary at 25% ❌');
    expect(md).toContain(
      '| window | time (UTC) | requests (stable / canary) | error rate (stable / canary) | p95 latency ms (stable / canary) | prediction shift (JS) | `error_rate <= baseline + 0.005` | `latency_p95_ms <= baseline * 1.2` | window verdict |',
    );
    expect(md).toContain('| 1 of 1 | 12:00:10–12:00:20 | 750 / 250 | 0 / 0.2 | 12 / 13 | – | ❌ fail (0.2 vs 0.005) | ✅ pass (13 vs 14.4) | ❌ failure 1, limit 0 |');
    expect(windowNote(result)).toBe('');
  });

  it('Mermaid charts of error rate and latency per version over the steps', () => {
    const md = renderRolloutSummary(result);
    expect(md).toContain('```mermaid\nxychart-beta');
    expect(md).toContain('  x-axis ["1: 5%", "2: 25%"]');
    expect(md).toContain('  line [0, 0]\n  line [0, 0.2]');
    expect(md).toContain('  line [12, 12]\n  line [13, 13]');
  });

  it('outputs: verdict, failed rule, figures as JSON', () => {
    const out = rolloutOutputs(result);
    expect(out.verdict).toBe('rolled-back');
    expect(out['failed-rule']).toBe('error_rate <= baseline + 0.005');
    const figures = JSON.parse(out['rollout-figures']!) as { weight: number; canary: { error_rate: number }; rules: { outcome: string }[] }[];
    expect(figures.map((f) => [f.weight, f.canary.error_rate, f.rules[0]!.outcome])).toEqual([
      [5, 0, 'pass'],
      [25, 0.2, 'fail'],
    ]);
  });
});

describe('rollout summary and outputs, several windows per step with a failure limit', () => {
  // Step 1 at 5 %: window 2 of 2 fails (tolerated, limit 1); step 2 at 25 %: window 1 fails, the second failure.
  const windows = [win(0, 5, 0, 2, 0, GOOD_5), win(0, 5, 1, 2, 1, BAD_25), win(1, 25, 0, 2, 2, BAD_25)];
  const result: RolloutResult = { verdict: 'rolled-back', windows, failureLimit: 1, failed: { phase: 'canary', weight: 25, step: 1, window: 0, windows: 2, result: windows[2]!.results[0]! } };

  it('windows grouped by hold', () => {
    expect(holdsOf(windows).map((hold) => hold.map((w) => `${w.weight}.${w.window}`))).toEqual([['5.0', '5.1'], ['25.0']]);
  });

  it('a row per window; a tolerated failure leaves its step passed; the rollback names the window and the count', () => {
    const md = renderRolloutSummary(result);
    expect(md).toContain('Rule `error_rate <= baseline + 0.005` failed at 25% in window 1 of 2 (2 failed windows, failure-limit 1): ❌ fail');
    expect(md).toContain('Failed windows: 2 of 3; failure-limit 1');
    expect(md).toContain('#### Step 1: canary at 5% ✅');
    expect(md).toMatch(/\| 1 of 2 \| 12:00:00–12:00:05 \| 950 \/ 50 \|.*\| ✅ \|/);
    expect(md).toMatch(/\| 2 of 2 \| 12:00:05–12:00:10 \| 750 \/ 250 \|.*\| ❌ failure 1, limit 1 \|/);
    expect(md).toContain('#### Step 2: canary at 25% ❌');
    expect(md).toContain('  x-axis ["1.1: 5%", "1.2: 5%", "2.1: 25%"]');
    expect(md).toContain('  line [0, 0, 0]\n  line [0, 0.2, 0.2]');
  });

  it('rollout-figures: one entry per window with its step, index and the failures so far', () => {
    const figures = JSON.parse(rolloutOutputs(result)['rollout-figures']!) as { step: number; weight: number; window: number; windows: number; passed: boolean; failures: number }[];
    expect(figures.map((f) => [f.step, f.weight, f.window, f.windows, f.passed, f.failures])).toEqual([
      [1, 5, 1, 2, true, 0],
      [1, 5, 2, 2, false, 1],
      [2, 25, 1, 2, false, 2],
    ]);
  });
});
