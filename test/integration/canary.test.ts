import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRoutingState } from '../../src/traefik/routing-file';
import { failureMessage, startAction, type ActionRunResult, type StartedAction } from '../support/action-runner';
import { docker } from '../support/docker-cli';
import { bedDeployInputs, fileRoutingNames, publishPlain, pushImage, startFileRoutingBed, stopFileRoutingBed, watchRoutingFile, type FileRoutingBed } from '../support/file-routing-bed';
import type { PlainServerBehaviour } from '../support/plain-server';
import { waitFor } from '../support/ports';
import { ensureModelImage, irisModel } from '../support/server-image';
import { startLoad, type LoadResult, type RunningLoad } from '../support/traefik/load';

/**
 * deploy `strategy: canary | shadow` end to end: the real action bundle, the real Docker Engine,
 * a real registry, the Traefik stand-in (file provider beside the Docker provider, weighted and
 * mirroring services, Prometheus /metrics, the 2 s provider throttle) and real load from 8
 * keep-alive clients through it. The servers are the plain server of routing-file.test.ts, built
 * with test-only faults (test/support/plain-server.ts): every 5th answer a 500, or 3× the think
 * time. Steps are held 4 s so the file stays short; every wait is on a condition.
 */
const names = fileRoutingNames('canary');
const { prefix, routingDir } = names;
let bed: FileRoutingBed;

/** The versions under test; all think 40 ms unless said otherwise. */
const behaviours: Record<string, PlainServerBehaviour> = {
  stable: { thinkMs: 40 },
  good: { thinkMs: 40 },
  'good-again': { thinkMs: 40 },
  errors: { thinkMs: 40, failEvery: 5 },
  // The same faults in its first analysis window only, then none.
  flaky: { thinkMs: 40, failEvery: 5, failInWindow: 1 },
  slow: { thinkMs: 120 },
  'shadow-fails': { thinkMs: 40, failEvery: 1 },
};
const images = () => bed.images;
const digestOf = (image: string) => image.slice(image.indexOf('@') + 1);
const short = (image: string) => digestOf(image).slice(7, 19);

const STEP = '4s';
const canaryInputs = { strategy: 'canary', steps: '5,25,50,100', 'step-duration': STEP };

function startDeploy(service: string, image: string, inputs: Record<string, string> = {}): StartedAction {
  return startAction('deploy', {
    inputs: { ...bedDeployInputs(bed, service, image), ...inputs },
    // A serving host under load (this suite runs beside others on two cores) is slow, not broken.
    timeoutMs: 400_000,
  });
}
/** Run deploy to its end; logs the wall time and each step's figures (the figures docs/progressive-delivery.md quotes). */
async function deploy(service: string, image: string, inputs: Record<string, string> = {}): Promise<ActionRunResult> {
  const started = Date.now();
  const result = await startDeploy(service, image, inputs).result;
  if (inputs.strategy) {
    const steps = figuresOf(result).map((s) => `${s.phase} ${s.weight}% window ${s.window}/${s.windows}: canary ${JSON.stringify(s.canary)} stable ${JSON.stringify(s.stable)} ${s.passed ? 'passed' : 'failed'}`);
    console.log(`[canary] ${service} ${inputs.strategy}: ${result.outputs.verdict ?? 'no verdict'} in ${((Date.now() - started) / 1000).toFixed(1)} s\n  ${steps.join('\n  ')}`);
  }
  return result;
}

interface StepFigures {
  phase: 'canary' | 'shadow';
  step: number;
  weight: number;
  window: number;
  windows: number;
  startedAt: string;
  endedAt: string;
  passed: boolean;
  failures: number;
  stable: Record<string, number>;
  canary: Record<string, number>;
  rules: { rule: string; outcome: string; value: number | null; threshold: number | null; reason?: string }[];
}
const figuresOf = (result: ActionRunResult) => JSON.parse(result.outputs['rollout-figures'] ?? '[]') as StepFigures[];

const table = (service: string) => readRoutingState(join(routingDir, `${service}.yml`));
const weighted = async (service: string) => (await table(service))!.backends.filter((b) => b.weight > 0).map((b) => b.service);
const ref = (service: string, image: string) => `${service}-${short(image)}@docker`;
/** The plain server's containers of a service, by the image digest they run. */
async function runningDigests(service: string): Promise<string[]> {
  const out = await docker(['ps', '--filter', `label=train-to-serve.service=${service}`, '--format', '{{.Label "train-to-serve.image-digest"}}']);
  return out.split('\n').filter(Boolean).sort();
}

/** The service serving `stable` alone, under 8 clients that have had some answers already. */
async function stableUnderLoad(service: string): Promise<RunningLoad> {
  const first = await deploy(service, images().stable!);
  expect(failureMessage(first), first.log).toBeUndefined();
  const load = startLoad({ url: bed.traefik.webUrl, host: `${service}.test`, concurrency: 8 });
  await waitFor('requests to flow', async () => load.current().ok > 40, 60_000);
  return load;
}

async function finish(load: RunningLoad, what: string): Promise<LoadResult> {
  await new Promise((resolve) => setTimeout(resolve, 500));
  const traffic = await load.stop();
  console.log(`[canary] ${what}: ${traffic.ok} ok, ${traffic.failed} failed ${JSON.stringify(traffic.outcomes)} digests ${JSON.stringify(traffic.digests)}`);
  return traffic;
}

/** After a rollback: only the stable version routed and running, and it answers every request. */
async function backOnStable(service: string): Promise<void> {
  expect(await weighted(service)).toEqual([ref(service, images().stable!)]);
  const state = (await table(service))!;
  expect(state.rollout).toBeUndefined();
  expect(state.mirror).toBeUndefined();
  await waitFor('the rolled-back version to be removed', async () => (await runningDigests(service)).length === 1, 60_000);
  expect(await runningDigests(service)).toEqual([digestOf(images().stable!)]);
  const after = startLoad({ url: bed.traefik.webUrl, host: `${service}.test`, concurrency: 4 });
  await waitFor('40 answers after the rollback', async () => after.current().ok + after.current().failed >= 40, 60_000);
  const traffic = await after.stop();
  expect(traffic.failed, JSON.stringify(traffic)).toBe(0);
  expect(Object.keys(traffic.digests)).toEqual([digestOf(images().stable!)]);
}

beforeAll(async () => {
  bed = await startFileRoutingBed(names);
  for (const [name, behaviour] of Object.entries(behaviours)) await publishPlain(bed, name, behaviour);
}, 300_000);

afterAll(() => stopFileRoutingBed(bed, names));

describe('deploy strategy canary under load (engine, Traefik stand-in, 8 clients)', () => {
  it('a good version goes 5 → 25 → 50 → 100 and replaces the stable one with no failed request', async () => {
    const service = `${prefix}-good`;
    const load = await stableUnderLoad(service);
    const result = await deploy(service, images().good!, { ...canaryInputs, analysis: 'error_rate <= baseline + 0.01\nrequests >= 5' });
    const traffic = await finish(load, 'good canary 5,25,50,100');
    expect(failureMessage(result), result.log).toBeUndefined();
    expect(result.outputs.verdict).toBe('promoted');
    expect(result.outputs['failed-rule']).toBe('');
    expect(traffic.failed, JSON.stringify(traffic)).toBe(0);

    const steps = figuresOf(result);
    expect(steps.map((s) => [s.phase, s.weight, s.passed])).toEqual([
      ['canary', 5, true],
      ['canary', 25, true],
      ['canary', 50, true],
    ]);
    for (const step of steps) {
      // Traefik's weighted round robin gives the canary exactly its weight per cycle; the window's
      // edges (requests in flight when a weight changes) move a few requests either way.
      const share = step.canary.requests! / (step.canary.requests! + step.stable.requests!);
      expect(Math.abs(share - step.weight / 100), JSON.stringify(step)).toBeLessThan(0.04);
      expect(step.canary.error_rate).toBe(0);
    }
    // Both versions answered users during the rollout; the routing file ends on the new one alone.
    expect(Object.keys(traffic.digests).sort()).toEqual([digestOf(images().stable!), digestOf(images().good!)].sort());
    const state = (await table(service))!;
    expect(state.backends.filter((b) => b.weight > 0)).toEqual([{ service: ref(service, images().good!), weight: 1 }]);
    expect(state.rollout).toBeUndefined();
    await waitFor('the stable version to be removed', async () => (await runningDigests(service)).length === 1, 60_000);
    expect(await runningDigests(service)).toEqual([digestOf(images().good!)]);
    expect(result.summary).toContain('Rollout: promoted');
  }, 600_000);

  it('a version answering 5xx to 20 % of requests is rolled back at its first analysis, with failures bounded by its 5 % weight', async () => {
    const service = `${prefix}-errors`;
    const load = await stableUnderLoad(service);
    const result = await deploy(service, images().errors!, { ...canaryInputs, analysis: 'error_rate <= baseline + 0.01\nrequests >= 5' });
    const traffic = await finish(load, 'canary with 20 % 5xx');
    expect(failureMessage(result)).toMatch(/failed the canary analysis at 5%: error_rate <= baseline \+ 0\.01 .*all traffic is back on the stable version/);
    expect(result.outputs.verdict).toBe('rolled-back');
    expect(result.outputs['failed-rule']).toBe('error_rate <= baseline + 0.01');

    const steps = figuresOf(result);
    expect(steps.map((s) => [s.weight, s.passed])).toEqual([[5, false]]);
    const [step] = steps;
    expect(step!.canary.error_rate).toBeGreaterThan(0.1);
    expect(step!.stable.error_rate).toBe(0);

    // Only the canary failed requests, and only while it had its 5 %: every failure is a 500 (the
    // stable version never stopped serving: no reset, no 502/503) and there is at least one (the
    // canary really served). The bound: Traefik's weighted round robin gives the canary 1 request
    // in 20 and it fails 1 in 5 of those, so at most 1 % of the requests of the whole run fail,
    // plus one for rounding. Its whole share failing would be 5 %.
    expect(Object.keys(traffic.outcomes).sort()).toEqual(['200', '500']);
    expect(traffic.failed).toBeGreaterThan(0);
    expect(traffic.failed, JSON.stringify(traffic)).toBeLessThanOrEqual(Math.floor((traffic.ok + traffic.failed) * 0.05 * 0.2) + 1);
    // A figure, not an assertion (busy machine): first bad answer to the last one, against one
    // step (STEP) plus Traefik's 2 s provider throttle.
    console.log(`[canary] first 5xx to last 5xx: ${((traffic.lastFailureAt! - traffic.firstFailureAt!) / 1000).toFixed(1)} s (step ${STEP} + 2 s throttle)`);
    await backOnStable(service);
  }, 600_000);

  it('a version 3× slower is rolled back by the latency rule against the baseline', async () => {
    const service = `${prefix}-slow`;
    const load = await stableUnderLoad(service);
    const result = await deploy(service, images().slow!, { ...canaryInputs, analysis: 'error_rate <= baseline + 0.01\nlatency_p95_ms <= baseline * 1.5' });
    const traffic = await finish(load, 'canary 3x slower');
    // Rolled back by the latency rule before the promotion: at 5 % on a quiet machine. Under load
    // (a run at load average 20 read the stable version's p95 as 286 ms, in the slow version's
    // histogram bucket) the first windows may not tell them apart; a later step must.
    expect(failureMessage(result)).toMatch(/failed the canary analysis at (5|25|50)%: latency_p95_ms <= baseline \* 1\.5/);
    expect(result.outputs.verdict).toBe('rolled-back');
    expect(result.outputs['failed-rule']).toBe('latency_p95_ms <= baseline * 1.5');
    const step = figuresOf(result).at(-1);
    expect(step!.passed).toBe(false);
    expect(step!.canary.latency_p95_ms!).toBeGreaterThan(1.5 * step!.stable.latency_p95_ms!);
    expect(step!.rules.find((r) => r.rule.startsWith('error_rate'))!.outcome).toBe('pass');
    expect(traffic.failed, JSON.stringify(traffic)).toBe(0);
    await backOnStable(service);
  }, 600_000);
});

describe('analysis-interval and failure-limit under load', () => {
  it('failure-limit 1 with 2 s windows in a 6 s step: a steadily failing version is rolled back at its second window, before the step ends; one that fails its first window and recovers is promoted', async () => {
    const service = `${prefix}-limit`;
    const inputs = { strategy: 'canary', steps: '25,100', 'step-duration': '6s', 'analysis-interval': '2s', 'failure-limit': '1', analysis: 'error_rate <= baseline + 0.05\nrequests >= 5' };
    const load = await stableUnderLoad(service);
    const steady = await deploy(service, images().errors!, inputs);
    const stableOnly = await weighted(service);
    const flaky = await deploy(service, images().flaky!, inputs);
    const traffic = await finish(load, 'failure-limit 1: steady 20 % 5xx, then 20 % 5xx in the first window only');

    // Steady faults: windows 1 and 2 of the three fail; the second exceeds the limit and rolls back
    // there, so window 3 is never measured and the 6 s step is left after two of its windows.
    expect(failureMessage(steady)).toMatch(/failed the canary analysis at 25%: error_rate <= baseline \+ 0\.05 \(.*\) in window 2 of 3 \(2 failed windows, failure-limit 1\); all traffic is back on the stable version/);
    expect(steady.outputs.verdict).toBe('rolled-back');
    const steadyWindows = figuresOf(steady);
    expect(steadyWindows.map((w) => [w.step, w.weight, w.window, w.windows, w.passed, w.failures])).toEqual([
      [1, 25, 1, 3, false, 1],
      [1, 25, 2, 3, false, 2],
    ]);
    expect(stableOnly).toEqual([ref(service, images().stable!)]);
    const heldMs = Date.parse(steadyWindows.at(-1)!.endedAt) - Date.parse(steadyWindows[0]!.startedAt);
    console.log(`[canary] failure-limit 1, 2 s windows: rolled back ${(heldMs / 1000).toFixed(1)} s into a 6 s step`);

    // Faults in the first window only: one failure, within the limit; the other windows pass.
    expect(failureMessage(flaky), flaky.log).toBeUndefined();
    expect(flaky.outputs.verdict).toBe('promoted');
    const flakyWindows = figuresOf(flaky);
    expect(flakyWindows.map((w) => [w.weight, w.window, w.passed, w.failures])).toEqual([
      [25, 1, false, 1],
      [25, 2, true, 1],
      [25, 3, true, 1],
    ]);
    expect(flakyWindows[0]!.canary.error_rate).toBeGreaterThan(0.1);
    for (const w of flakyWindows.slice(1)) expect(w.canary.error_rate, JSON.stringify(w)).toBeLessThanOrEqual(0.05);
    expect(flaky.summary).toContain('Failed windows: 1 of 3; failure-limit 1');

    // Users saw the faulty windows' 500s and nothing else: the stable version never stopped serving.
    expect(Object.keys(traffic.outcomes).sort()).toEqual(['200', '500']);
    expect(await weighted(service)).toEqual([ref(service, images().flaky!)]);
    expect((await table(service))!.rollout).toBeUndefined();
  }, 600_000);
});

describe('deploy strategy shadow under load', () => {
  it('mirrors a share to the new version while users get only the stable answers; a failing shadow is removed, a passing one replaces or goes through the canary steps', async () => {
    const service = `${prefix}-shadow`;
    const shadowInputs = { strategy: 'shadow', 'mirror-percent': '50', 'shadow-duration': STEP, analysis: 'error_rate <= baseline + 0.01\nrequests >= 5' };
    let load = await stableUnderLoad(service);
    // This shadow answers every request 500: users must not see one.
    const failing = await deploy(service, images()['shadow-fails']!, shadowInputs);
    let traffic = await finish(load, 'shadow answering 500 to every mirrored copy');
    expect(failureMessage(failing)).toMatch(/failed the shadow analysis while shadowing: error_rate <= baseline \+ 0\.01/);
    expect(failing.outputs.verdict).toBe('rolled-back');
    expect(failing.outputs['failed-rule']).toBe('error_rate <= baseline + 0.01');
    expect(traffic.failed, JSON.stringify(traffic)).toBe(0);
    expect(Object.keys(traffic.digests)).toEqual([digestOf(images().stable!)]);
    const [window] = figuresOf(failing);
    expect(window).toMatchObject({ phase: 'shadow', weight: 50, passed: false });
    expect(window!.canary.error_rate).toBe(1);
    // Traefik's mirroring copies request n when count·100 < n·50: half of the stable version's requests.
    const mirrored = window!.canary.requests! / window!.stable.requests!;
    expect(Math.abs(mirrored - 0.5), JSON.stringify(window)).toBeLessThan(0.06);
    await backOnStable(service);

    // A good shadow: judged on its mirrored share, then (after-shadow: replace, the default) it takes all traffic.
    load = startLoad({ url: bed.traefik.webUrl, host: `${service}.test`, concurrency: 8 });
    await waitFor('requests to flow', async () => load.current().ok > 40, 60_000);
    const passing = await deploy(service, images().good!, shadowInputs);
    // Then after-shadow: canary, through the steps (here 50 %) before the promotion.
    const stepped = await deploy(service, images()['good-again']!, { ...shadowInputs, 'after-shadow': 'canary', steps: '50', 'step-duration': STEP });
    traffic = await finish(load, 'good shadow then replace, good shadow then canary 50 %');
    expect(failureMessage(passing), passing.log).toBeUndefined();
    expect(passing.outputs.verdict).toBe('promoted');
    expect(figuresOf(passing).map((s) => [s.phase, s.weight, s.passed])).toEqual([['shadow', 50, true]]);
    expect(figuresOf(passing)[0]!.canary.requests).toBeGreaterThan(0);
    expect(failureMessage(stepped), stepped.log).toBeUndefined();
    expect(stepped.outputs.verdict).toBe('promoted');
    expect(figuresOf(stepped).map((s) => [s.phase, s.weight, s.passed])).toEqual([
      ['shadow', 50, true],
      ['canary', 50, true],
    ]);
    expect(traffic.failed, JSON.stringify(traffic)).toBe(0);
    expect(Object.keys(traffic.digests).sort()).toEqual([images().stable!, images().good!, images()['good-again']!].map(digestOf).sort());
    expect(await weighted(service)).toEqual([ref(service, images()['good-again']!)]);
    expect((await table(service))!.mirror).toBeUndefined();
  }, 600_000);
});

describe('a canary whose runner dies mid-step', () => {
  it('is resumed at its recorded step by the next run and promoted; the routing file never shows two weighted versions without a recorded rollout', async () => {
    const service = `${prefix}-killed`;
    const analysis = 'error_rate <= baseline + 0.01\nrequests >= 5';
    const load = await stableUnderLoad(service);
    // The routing file, read all along: two versions with weight and no rollout recorded beside
    // them would be a half state no later run could explain.
    const watch = watchRoutingFile(routingDir, service, (state) => (state.backends.filter((b) => b.weight > 0).length > 1 && state.rollout === undefined ? 'two weighted, no rollout' : undefined));

    const first = startDeploy(service, images().good!, { ...canaryInputs, 'step-duration': '30s', analysis });
    await waitFor('the rollout to record its second step', async () => ((await table(service))?.rollout as { step?: number } | undefined)?.step === 1, 300_000, 50);
    first.child.kill('SIGKILL');
    const killed = await first.result;
    expect(killed.signal).toBe('SIGKILL');
    // What the dead run left: its step and weights, written together.
    const left = (await table(service))!;
    expect(left.rollout).toMatchObject({ version: short(images().good!), phase: 'canary', step: 1, weight: 25 });
    expect(left.backends.filter((b) => b.weight > 0).sort((a, b) => a.weight - b.weight)).toEqual([
      { service: ref(service, images().good!), weight: 25 },
      { service: ref(service, images().stable!), weight: 75 },
    ]);

    const again = await deploy(service, images().good!, { ...canaryInputs, analysis });
    const halfStates = await watch.stop();
    const traffic = await finish(load, 'canary killed at 25 %, then run again');
    expect(failureMessage(again), again.log).toBeUndefined();
    expect(again.log).toMatch(/Taking over the deploy lock/);
    expect(again.log).toContain(`Resuming the canary of ${short(images().good!)} at its recorded canary step 2`);
    expect(again.outputs.verdict).toBe('promoted');
    expect(figuresOf(again).map((s) => s.weight)).toEqual([25, 50]);
    expect(traffic.failed, JSON.stringify(traffic)).toBe(0);
    expect(halfStates).toEqual([]);
    const state = (await table(service))!;
    expect(state.backends.filter((b) => b.weight > 0)).toEqual([{ service: ref(service, images().good!), weight: 1 }]);
    expect(state.rollout).toBeUndefined();
    await waitFor('the stable version to be removed', async () => (await runningDigests(service)).length === 1, 60_000);
  }, 600_000);
});

describe('the prediction-shift rule on live traffic (reference prediction server)', () => {
  it('rolls back a model whose class mix shifts without a single error, and promotes one with the same mix', async () => {
    const service = `${prefix}-shift`;
    // Three flowers in every request, one of each class for the trained model.
    const body = JSON.stringify({
      instances: [
        [5.1, 3.5, 1.4, 0.2],
        [6.0, 2.9, 4.5, 1.5],
        [6.9, 3.1, 5.8, 2.3],
      ],
    });
    const trained = irisModel() as { name: string; bias: number[] };
    const locals: string[] = [];
    const model = async (name: string, bias: number[]) => {
      const image = await ensureModelImage({ ...trained, bias }, { repository: `canary-${name}` });
      locals.push(image.reference);
      return pushImage(bed, image.reference, name);
    };
    const stable = await model('iris-stable', trained.bias);
    // Setosa's bias raised: every flower is called setosa; it answers as fast and never errs.
    const shifted = await model('iris-shifted', [trained.bias[0]! + 50, trained.bias[1]!, trained.bias[2]!]);
    // A hair's change: another image, the same classes.
    const same = await model('iris-same', [trained.bias[0]! + 0.001, trained.bias[1]!, trained.bias[2]!]);
    const inputs = { 'health-path': '/v2/health/ready', ...canaryInputs, steps: '25,100', analysis: 'error_rate <= baseline + 0.01\nprediction_shift <= 0.1' };

    const first = await deploy(service, stable, { 'health-path': '/v2/health/ready' });
    expect(failureMessage(first), first.log).toBeUndefined();
    const load = startLoad({ url: bed.traefik.webUrl, host: `${service}.test`, concurrency: 8, body });
    await waitFor('requests to flow', async () => load.current().ok > 40, 60_000);
    const rejected = await deploy(service, shifted, inputs);
    const accepted = await deploy(service, same, inputs);
    const traffic = await finish(load, 'class mix shifted, then the same mix');

    expect(failureMessage(rejected)).toMatch(/failed the canary analysis at 25%: prediction_shift <= 0\.1/);
    expect(rejected.outputs['failed-rule']).toBe('prediction_shift <= 0.1');
    const [window] = figuresOf(rejected);
    expect(window!.canary.error_rate).toBe(0);
    expect(window!.canary.prediction_shift).toBeGreaterThan(0.1);
    expect(failureMessage(accepted), accepted.log).toBeUndefined();
    expect(accepted.outputs.verdict).toBe('promoted');
    expect(figuresOf(accepted)[0]!.canary.prediction_shift).toBeLessThanOrEqual(0.1);
    expect(traffic.failed, JSON.stringify(traffic)).toBe(0);
    expect(await weighted(service)).toEqual([ref(service, same)]);
    await docker(['rmi', ...locals]).catch(() => {});
  }, 600_000);
});
