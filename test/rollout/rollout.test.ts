import { describe, expect, it } from 'vitest';
import type { Figures } from '../../src/rollout/figures';
import { planStart, runRollout, type Clock, type Progress, type RolloutPort, type Start, type WindowFigures } from '../../src/rollout/rollout';
import { parseProgressiveInputs, type ProgressiveInputs } from '../../src/rollout/spec';

const ANALYSIS = 'error_rate <= baseline + 0.005\nlatency_p95_ms <= baseline * 1.2\nrequests >= 50\nprediction_shift <= 0.1';
const spec = (extra: Partial<ProgressiveInputs> = {}) => parseProgressiveInputs({ strategy: 'canary', routing: 'file', 'traefik-api': 'http://traefik:8080', analysis: ANALYSIS, 'step-duration': '10s', ...extra })!;

const GOOD: Figures = { requests: 200, error_rate: 0, latency_p95_ms: 20, prediction_shift: 0.01 };
const STABLE: Figures = { requests: 2000, error_rate: 0, latency_p95_ms: 20 };

/** A fake clock and a port recording every call; `canaryAt(weight)` says what the canary measures at that weight. */
function fake(canaryAt: (weight: number, phase: string) => Figures, failOn?: string) {
  const calls: string[] = [];
  const records: (Progress | undefined)[] = [];
  let now = Date.parse('2026-12-01T12:00:00Z');
  let weight = 0;
  let phase = 'canary';
  const clock: Clock = {
    now: () => new Date(now),
    sleep: async (ms) => {
      calls.push(`sleep ${ms}`);
      now += ms;
    },
  };
  const act = (name: string) => {
    calls.push(name);
    if (failOn === name) throw new Error(`${name} broke`);
  };
  const port: RolloutPort = {
    setWeight: async (w) => {
      weight = w;
      phase = 'canary';
      act(`weight ${w}`);
    },
    mirror: async (p) => {
      phase = 'shadow';
      weight = p;
      act(`mirror ${p}`);
    },
    openWindow: async () => {
      act('open');
      const at = weight;
      const during = phase;
      return async (): Promise<WindowFigures> => {
        act('close');
        return { stable: STABLE, canary: canaryAt(at, during) };
      };
    },
    record: async (progress) => {
      records.push(progress);
    },
    promote: async () => act('promote'),
    rollback: async () => act('rollback'),
  };
  return { port, clock, calls, records };
}

describe('runRollout: canary', () => {
  it('a good version goes 5 → 25 → 50 → 100, analysed after each held step, then promoted', async () => {
    const f = fake(() => GOOD);
    const result = await runRollout(spec(), 'abc', f.port, f.clock);
    expect(result.verdict).toBe('promoted');
    expect(f.calls).toEqual(['weight 5', 'open', 'sleep 10000', 'close', 'weight 25', 'open', 'sleep 10000', 'close', 'weight 50', 'open', 'sleep 10000', 'close', 'promote']);
    expect(result.steps.map((s) => [s.weight, s.passed])).toEqual([
      [5, true],
      [25, true],
      [50, true],
    ]);
    expect(f.records.map((r) => r?.step)).toEqual([0, 1, 2, 3, undefined]);
  });

  it.each<[string, Figures, number, string]>([
    ['5xx on a fifth of requests', { ...GOOD, error_rate: 0.2 }, 5, 'error_rate <= baseline + 0.005'],
    ['three times slower', { ...GOOD, latency_p95_ms: 60 }, 5, 'latency_p95_ms <= baseline * 1.2'],
    ['class mix shifted', { ...GOOD, prediction_shift: 0.3 }, 5, 'prediction_shift <= 0.1'],
    ['too few requests', { ...GOOD, requests: 10 }, 5, 'requests >= 50'],
    ['no latency measured', { requests: 200, error_rate: 0, prediction_shift: 0 }, 5, 'latency_p95_ms <= baseline * 1.2'],
  ])('%s: rolled back after the first step’s window, the rule named', async (_what, bad, weight, rule) => {
    const f = fake(() => bad);
    const result = await runRollout(spec(), 'abc', f.port, f.clock);
    expect(result.verdict).toBe('rolled-back');
    expect(result.failed?.weight).toBe(weight);
    expect(result.failed?.result.rule.text).toBe(rule);
    expect(f.calls).toEqual(['weight 5', 'open', 'sleep 10000', 'close', 'rollback']);
    expect(f.records.at(-1)).toBeUndefined();
  });

  it('a version that turns bad at 50 is rolled back there', async () => {
    const f = fake((w) => (w >= 50 ? { ...GOOD, error_rate: 0.05 } : GOOD));
    const result = await runRollout(spec(), 'abc', f.port, f.clock);
    expect(result.verdict).toBe('rolled-back');
    expect(result.steps.map((s) => s.passed)).toEqual([true, true, false]);
    expect(f.calls.filter((c) => c !== 'open' && c !== 'close' && !c.startsWith('sleep'))).toEqual(['weight 5', 'weight 25', 'weight 50', 'rollback']);
  });

  it('an error mid-step sends the traffic back to stable and is rethrown', async () => {
    const f = fake(() => GOOD, 'close');
    await expect(runRollout(spec(), 'abc', f.port, f.clock)).rejects.toThrow('close broke');
    expect(f.calls.at(-1)).toBe('rollback');
    expect(f.records.at(-1)).toBeUndefined();
  });
});

describe('runRollout: shadow', () => {
  const shadow = (after: string) => spec({ strategy: 'shadow', 'mirror-percent': '50', 'shadow-duration': '30s', 'after-shadow': after, steps: '50' });

  it('passing shadow then replace: mirror on, held, mirror off, promoted', async () => {
    const f = fake(() => GOOD);
    const result = await runRollout(shadow('replace'), 'abc', f.port, f.clock);
    expect(result.verdict).toBe('promoted');
    expect(f.calls).toEqual(['mirror 50', 'open', 'sleep 30000', 'close', 'mirror 0', 'promote']);
  });

  it('passing shadow then canary: continues with the steps', async () => {
    const f = fake(() => GOOD);
    const result = await runRollout(shadow('canary'), 'abc', f.port, f.clock);
    expect(result.verdict).toBe('promoted');
    expect(f.calls).toEqual(['mirror 50', 'open', 'sleep 30000', 'close', 'mirror 0', 'weight 50', 'open', 'sleep 10000', 'close', 'promote']);
  });

  it('failing shadow: mirror off and removed, never weighted', async () => {
    const f = fake(() => ({ ...GOOD, error_rate: 1 }));
    const result = await runRollout(shadow('canary'), 'abc', f.port, f.clock);
    expect(result.verdict).toBe('rolled-back');
    expect(result.failed?.phase).toBe('shadow');
    expect(f.calls).toEqual(['mirror 50', 'open', 'sleep 30000', 'close', 'mirror 0', 'rollback']);
  });
});

describe('crash safety: planStart and resuming', () => {
  const steps = [5, 25, 50, 100];
  const progress = (version: string, step: number): Progress => ({ version, phase: 'canary', step, weight: steps[step] ?? 0, at: '2026-12-01T12:00:00Z' });
  it.each<[string, Progress | undefined, Start['kind']]>([
    ['nothing recorded', undefined, 'fresh'],
    ['same version halfway', progress('abc', 2), 'resume'],
    ['another version halfway', progress('old', 1), 'restore-stable'],
    ['a step beyond the steps', progress('abc', 9), 'restore-stable'],
  ])('%s → %s', (_what, recorded, kind) => expect(planStart(recorded, 'abc', steps).kind).toBe(kind));

  it('resuming at step 2 starts at weight 50', async () => {
    const f = fake(() => GOOD);
    await runRollout(spec(), 'abc', f.port, f.clock, planStart(progress('abc', 2), 'abc', steps));
    expect(f.calls[0]).toBe('weight 50');
  });

  it('another version’s rollout is undone before this one starts', async () => {
    const f = fake(() => GOOD);
    await runRollout(spec(), 'abc', f.port, f.clock, planStart(progress('old', 1), 'abc', steps));
    expect(f.calls.slice(0, 2)).toEqual(['rollback', 'weight 5']);
    expect(f.records[0]).toBeUndefined();
  });

  it('progress is recorded before the weight moves', async () => {
    const f = fake(() => GOOD);
    const order: string[] = [];
    const record = f.port.record.bind(f.port);
    const setWeight = f.port.setWeight.bind(f.port);
    f.port.record = async (p) => {
      order.push(`record ${p?.weight}`);
      await record(p);
    };
    f.port.setWeight = async (w) => {
      order.push(`weight ${w}`);
      await setWeight(w);
    };
    await runRollout(spec({ steps: '5,100' }), 'abc', f.port, f.clock);
    expect(order).toEqual(['record 5', 'weight 5', 'record 100', 'record undefined']);
  });
});
