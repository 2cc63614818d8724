import { describe, expect, it } from 'vitest';
import { analyse, type RolloutResult, type StepReport, type WindowFigures } from '../../src/rollout/rollout';
import { parseProgressiveInputs } from '../../src/rollout/spec';
import { renderRolloutSummary, rolloutOutputs } from '../../src/rollout/summary';

const spec = parseProgressiveInputs({ strategy: 'canary', routing: 'file', 'traefik-api': 'http://t:8080', analysis: 'error_rate <= baseline + 0.005\nlatency_p95_ms <= baseline * 1.2' })!;
const step = (weight: number, figures: WindowFigures): StepReport => ({ phase: 'canary', weight, figures, ...analyse(spec, figures), startedAt: '2026-12-01T12:00:00.000Z', endedAt: '2026-12-01T12:00:10.000Z' });

describe('rollout summary and outputs', () => {
  const good = step(5, { stable: { requests: 950, error_rate: 0, latency_p95_ms: 12 }, canary: { requests: 50, error_rate: 0, latency_p95_ms: 13 } });
  const bad = step(25, { stable: { requests: 750, error_rate: 0, latency_p95_ms: 12 }, canary: { requests: 250, error_rate: 0.2, latency_p95_ms: 13 } });
  const result: RolloutResult = { verdict: 'rolled-back', steps: [good, bad], failed: { phase: 'canary', weight: 25, result: bad.results[0]! } };

  it('a table per step with both versions and each rule’s verdict, and the failed rule named', () => {
    const md = renderRolloutSummary(result);
    expect(md).toContain('### Rollout: rolled back ❌');
    expect(md).toContain('Rule `error_rate <= baseline + 0.005` failed at 25%');
    expect(md).toContain('#### Step 1: canary at 5% ✅');
    expect(md).toContain('#### Step 2: canary at 25% ❌');
    expect(md).toContain('| error rate | 0 | 0.2 |');
    expect(md).toContain('| `error_rate <= baseline + 0.005` | ❌ fail (0.2 vs 0.005) |');
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
