import { describe, expect, it } from 'vitest';
import type { Figures } from '../../src/rollout/figures';
import { planStart, runRollout, type Clock, type Progress, type RolloutPort, type Start, type WindowFigures } from '../../src/rollout/rollout';
import { parseProgressiveInputs, type ProgressiveInputs } from '../../src/rollout/spec';

const ANALYSIS = 'error_rate <= baseline + 0.005\nlatency_p95_ms <= baseline * 1.2\nrequests >= 50\nprediction_shift <= 0.1';
const spec = (extra: Partial<ProgressiveInputs> = {}) => parseProgressiveInputs({ strategy: 'canary', routing: 'file', 'traefik-api': 'http://traefik:8080', analysis: ANALYSIS, 'step-duration': '10s', ...extra })!;

const GOOD: Figures = { requests: 200, error_rate: 0, latency_p95_ms: 20, prediction_shift: 0.01 };
const STABLE: Figures = { requests: 2000, error_rate: 0, latency_p95_ms: 20 };

/**
 * A fake clock and a port recording every call; `canaryAt(weight, phase, n)` says what the canary
 * measures at that weight in the rollout's n-th window (from 0).
 */
function fake(canaryAt: (weight: number, phase: string, n: number) => Figures, failOn?: string) {
  const calls: string[] = [];
  const records: (Progress | undefined)[] = [];
  let now = Date.parse('2026-12-01T12:00:00Z');
  let weight = 0;
  let phase = 'canary';
  let windows = 0;
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
    measure: async () => {
      act('open');
      const at = weight;
      const during = phase;
      return async (): Promise<WindowFigures> => {
        act('close');
        return { stable: STABLE, canary: canaryAt(at, during, windows++) };
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
    expect(result.windows.map((s) => [s.weight, s.passed])).toEqual([
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
    expect(result.windows.map((s) => s.passed)).toEqual([true, true, false]);
    expect(f.calls.filter((c) => c !== 'open' && c !== 'close' && !c.startsWith('sleep'))).toEqual(['weight 5', 'weight 25', 'weight 50', 'rollback']);
  });

  it('an error mid-step sends the traffic back to stable and is rethrown', async () => {
    const f = fake(() => GOOD, 'close');
    await expect(runRollout(spec(), 'abc', f.port, f.clock)).rejects.toThrow('close broke');
    expect(f.calls.at(-1)).toBe('rollback');
    expect(f.records.at(-1)).toBeUndefined();
  });
});

describe('runRollout: analysis-interval and failure-limit', () => {
  const BAD: Figures = { ...GOOD, error_rate: 0.2 };
  /** What the canary measures in the rollout's n-th window: bad in the windows listed. */
  const badIn =
    (...ns: number[]) =>
    (_w: number, _p: string, n: number) =>
      ns.includes(n) ? BAD : GOOD;
  const moves = (calls: string[]) => calls.filter((c) => c !== 'open' && c !== 'close' && !c.startsWith('sleep'));

  it('limit 0, interval 5s of a 10s step: each step judged twice over tumbling windows, then promoted', async () => {
    const f = fake(() => GOOD);
    const result = await runRollout(spec({ 'analysis-interval': '5s' }), 'abc', f.port, f.clock);
    expect(result.verdict).toBe('promoted');
    const held = ['open', 'sleep 5000', 'close', 'sleep 5000', 'close'];
    expect(f.calls).toEqual(['weight 5', ...held, 'weight 25', ...held, 'weight 50', ...held, 'promote']);
    expect(result.windows.map((w) => [w.step, w.weight, w.window, w.windows, w.failures])).toEqual([
      [0, 5, 0, 2, 0],
      [0, 5, 1, 2, 0],
      [1, 25, 0, 2, 0],
      [1, 25, 1, 2, 0],
      [2, 50, 0, 2, 0],
      [2, 50, 1, 2, 0],
    ]);
    // Tumbling: each window starts where the one before ended.
    expect(result.windows.map((w) => [w.startedAt.slice(11, 19), w.endedAt.slice(11, 19)])).toEqual([
      ['12:00:00', '12:00:05'],
      ['12:00:05', '12:00:10'],
      ['12:00:10', '12:00:15'],
      ['12:00:15', '12:00:20'],
      ['12:00:20', '12:00:25'],
      ['12:00:25', '12:00:30'],
    ]);
  });

  it('limit 0: the first failed window rolls back at once, halfway through the step', async () => {
    const f = fake(badIn(0));
    const result = await runRollout(spec({ 'analysis-interval': '5s' }), 'abc', f.port, f.clock);
    expect(result.verdict).toBe('rolled-back');
    expect(f.calls).toEqual(['weight 5', 'open', 'sleep 5000', 'close', 'rollback']);
    expect(result.failed).toMatchObject({ phase: 'canary', weight: 5, step: 0, window: 0, windows: 2 });
    expect(result.failed?.result.rule.text).toBe('error_rate <= baseline + 0.005');
  });

  it('limit 1: a failed window, then the canary recovers: promoted, the failure counted and recorded at once', async () => {
    const f = fake(badIn(1));
    const result = await runRollout(spec({ 'analysis-interval': '5s', 'failure-limit': '1' }), 'abc', f.port, f.clock);
    expect(result.verdict).toBe('promoted');
    expect(result.failureLimit).toBe(1);
    expect(result.windows.map((w) => [w.weight, w.passed, w.failures])).toEqual([
      [5, true, 0],
      [5, false, 1],
      [25, true, 1],
      [25, true, 1],
      [50, true, 1],
      [50, true, 1],
    ]);
    expect(moves(f.calls)).toEqual(['weight 5', 'weight 25', 'weight 50', 'promote']);
    // The failure is recorded in its step before the next one, so a rerun counts it.
    expect(f.records.map((r) => r && [r.step, r.failures])).toEqual([[0, 0], [0, 1], [1, 1], [2, 1], [3, 1], undefined]);
  });

  it('limit 1: failures exceeding it mid-step roll back at the exceeding window, not at the step’s end', async () => {
    const f = fake(() => BAD);
    const result = await runRollout(spec({ 'analysis-interval': '2s', 'failure-limit': '1' }), 'abc', f.port, f.clock);
    expect(result.verdict).toBe('rolled-back');
    // Two windows of 2 s out of five: rolled back 4 s into a 10 s step.
    expect(f.calls).toEqual(['weight 5', 'open', 'sleep 2000', 'close', 'sleep 2000', 'close', 'rollback']);
    expect(result.failed).toMatchObject({ weight: 5, window: 1, windows: 5 });
    expect(result.windows.map((w) => w.failures)).toEqual([1, 2]);
    expect(f.records.at(-1)).toBeUndefined();
  });

  it('failures count over the whole rollout, not per step: one in step 1 and one in step 2 exceed limit 1', async () => {
    const f = fake(badIn(0, 2));
    const result = await runRollout(spec({ 'analysis-interval': '5s', 'failure-limit': '1' }), 'abc', f.port, f.clock);
    expect(result.verdict).toBe('rolled-back');
    expect(result.failed).toMatchObject({ weight: 25, step: 1, window: 0 });
    expect(moves(f.calls)).toEqual(['weight 5', 'weight 25', 'rollback']);
  });

  it('limit 1 with one window per step (no analysis-interval): a failed step is tolerated and the rollout goes on, as Argo’s failureLimit', async () => {
    const f = fake(badIn(0));
    const result = await runRollout(spec({ 'failure-limit': '1' }), 'abc', f.port, f.clock);
    expect(result.verdict).toBe('promoted');
    expect(result.windows.map((w) => [w.weight, w.passed])).toEqual([
      [5, false],
      [25, true],
      [50, true],
    ]);
  });

  it('windows end on their planned edges: time spent scraping does not stretch the hold', async () => {
    const f = fake(() => GOOD);
    const measure = f.port.measure.bind(f.port);
    f.port.measure = async () => {
      const cut = await measure();
      return async () => {
        await f.clock.sleep(300);
        return cut();
      };
    };
    await runRollout(spec({ steps: '5,100', 'analysis-interval': '5s' }), 'abc', f.port, f.clock);
    expect(f.calls.filter((c) => c.startsWith('sleep'))).toEqual(['sleep 5000', 'sleep 300', 'sleep 4700', 'sleep 300']);
  });

  it('a rerun after a kill resumes at the recorded step with the recorded failures: one more failure exceeds limit 1 at once', async () => {
    const recorded: Progress = { version: 'abc', phase: 'canary', step: 1, weight: 25, failures: 1, at: '2026-12-01T12:00:00Z' };
    const start = planStart(recorded, 'abc', [5, 25, 50, 100]);
    expect(start).toEqual({ kind: 'resume', phase: 'canary', step: 1, failures: 1 });
    const f = fake(badIn(0));
    const result = await runRollout(spec({ 'analysis-interval': '5s', 'failure-limit': '1' }), 'abc', f.port, f.clock, start);
    expect(result.verdict).toBe('rolled-back');
    expect(f.calls).toEqual(['weight 25', 'open', 'sleep 5000', 'close', 'rollback']);
    expect(result.windows.map((w) => w.failures)).toEqual([2]);
  });

  it.each<[string, unknown]>([
    ['absent (a record of an earlier version)', undefined],
    ['negative', -2],
    ['not a whole number', 1.5],
    ['not a number', 'many'],
  ])('a recorded failure count that is %s resumes with 0', (_what, failures) => {
    const recorded = { version: 'abc', phase: 'canary', step: 1, weight: 25, failures, at: '2026-12-01T12:00:00Z' } as Progress;
    expect(planStart(recorded, 'abc', [5, 25, 50, 100])).toEqual({ kind: 'resume', phase: 'canary', step: 1, failures: 0 });
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

  it('shadow judged every analysis-interval: the second of three windows failing with limit 0 ends the mirror there', async () => {
    const f = fake((_w, _p, n) => (n === 1 ? { ...GOOD, error_rate: 1 } : GOOD));
    const result = await runRollout(spec({ strategy: 'shadow', 'mirror-percent': '50', 'shadow-duration': '30s', 'analysis-interval': '10s' }), 'abc', f.port, f.clock);
    expect(result.verdict).toBe('rolled-back');
    expect(result.failed).toMatchObject({ phase: 'shadow', window: 1, windows: 3 });
    expect(f.calls).toEqual(['mirror 50', 'open', 'sleep 10000', 'close', 'sleep 10000', 'close', 'mirror 0', 'rollback']);
  });

  it('a failed shadow window within the limit carries into the canary steps (one count for the rollout)', async () => {
    const f = fake((_w, phase, n) => (n === 0 || (phase === 'canary' && n === 3) ? { ...GOOD, error_rate: 1 } : GOOD));
    const inputs = { strategy: 'shadow', 'mirror-percent': '50', 'shadow-duration': '30s', 'after-shadow': 'canary', steps: '50', 'analysis-interval': '10s', 'failure-limit': '1' };
    const result = await runRollout(spec(inputs), 'abc', f.port, f.clock);
    expect(result.verdict).toBe('rolled-back');
    expect(result.windows.map((w) => [w.phase, w.window, w.failures])).toEqual([
      ['shadow', 0, 1],
      ['shadow', 1, 1],
      ['shadow', 2, 1],
      ['canary', 0, 2],
    ]);
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
