import type { Metrics } from '../metrics/file';
import { evaluateRules, type RuleResult } from '../metrics/rules';
import type { Figures } from './figures';
import { windowsPerHold, type ProgressiveSpec } from './spec';

/**
 * One progressive rollout, step by step: set the canary's weight (or mirror a share to the
 * shadow), hold it for the step's duration while judging it every analysis interval (tumbling
 * windows: the figures of the canary against the stable version's in the same window), then go on
 * or roll back. Failed windows are counted over the whole rollout; one more than the failure limit
 * rolls back at once, mid-step. The rollout touches the world only through a RolloutPort and waits
 * only through a Clock, so the sequence is tested on fakes and the real engines implement the port.
 */

export interface WindowFigures {
  stable: Figures;
  canary: Figures;
}

/** What a rerun needs to know of a rollout interrupted halfway; kept beside the routing table. */
export interface Progress {
  /** The new version (12 hex of its digest). */
  version: string;
  phase: 'shadow' | 'canary';
  /** Index into the canary steps (0 in the shadow phase). */
  step: number;
  weight: number;
  /** Failed analysis windows so far (absent in records of earlier versions: 0). */
  failures?: number;
  at: string;
}

export interface RolloutPort {
  /** Route `weight` percent to the new version and the rest to the stable one; resolves once Traefik serves it. */
  setWeight(weight: number): Promise<void>;
  /** Mirror `percent` of the stable version's traffic to the new one (0: no mirror); resolves once Traefik serves it. */
  mirror(percent: number): Promise<void>;
  /**
   * Start measuring. Each call of the returned function ends the window running since the previous
   * call (or since measuring started) and gives its figures; the same scrape starts the next window.
   */
  measure(): Promise<() => Promise<WindowFigures>>;
  /** Record progress (undefined: the rollout is over) so a rerun resumes or restores. */
  record(progress: Progress | undefined): Promise<void>;
  /** The new version takes all traffic: the stable one is drained and removed. */
  promote(): Promise<void>;
  /** All traffic back to the stable version at once; the new version drained and removed. */
  rollback(): Promise<void>;
}

export interface Clock {
  now(): Date;
  sleep(ms: number): Promise<void>;
}

type Phase = 'shadow' | 'canary';

/** One analysis window: a slice of a step's hold (the whole hold without analysis-interval). */
export interface WindowReport {
  phase: Phase;
  /** Index into the canary steps (0 in the shadow phase). */
  step: number;
  /** Canary weight, or the mirrored percent in the shadow phase. */
  weight: number;
  /** Index of this window in its hold, from 0. */
  window: number;
  /** How many windows the hold is cut into. */
  windows: number;
  figures: WindowFigures;
  results: RuleResult[];
  passed: boolean;
  /** Failed windows of the rollout so far, this one included. */
  failures: number;
  startedAt: string;
  endedAt: string;
}

export interface RolloutResult {
  verdict: 'promoted' | 'rolled-back';
  windows: WindowReport[];
  failureLimit: number;
  /** When rolled back: the window that failed one time more than the limit allows, and its first failed rule. */
  failed?: { phase: Phase; weight: number; step: number; window: number; windows: number; result: RuleResult };
}

/** Where a rollout begins, given what an earlier run recorded. */
export type Start = { kind: 'fresh' } | { kind: 'resume'; phase: Phase; step: number; failures: number } | { kind: 'restore-stable'; recorded: Progress };

/**
 * A recorded rollout of the same version resumes from its recorded step (that step's hold and its
 * windows start afresh) with the failed windows counted so far; one of another version is undone
 * first: its traffic goes back to the stable version.
 */
export function planStart(recorded: Progress | undefined, version: string, steps: readonly number[]): Start {
  if (!recorded) return { kind: 'fresh' };
  if (recorded.version !== version || recorded.step < 0 || recorded.step >= steps.length) return { kind: 'restore-stable', recorded };
  const failures = Number.isSafeInteger(recorded.failures) && recorded.failures! > 0 ? recorded.failures! : 0;
  return { kind: 'resume', phase: recorded.phase, step: recorded.step, failures };
}

/** A version's window figures as the gate's Metrics, so the gate's evaluator judges them. */
export function figuresAsMetrics(figures: Figures): Metrics {
  const entries = Object.entries(figures).filter((entry): entry is [string, number] => typeof entry[1] === 'number' && Number.isFinite(entry[1]));
  return { entries: entries.map(([name, value]) => ({ name, value })), numbers: new Map(entries) };
}

/** Judge a window: rules on the canary's figures, `baseline` the stable one's (whose shift from itself is 0). */
export function analyse(spec: ProgressiveSpec, figures: WindowFigures): { results: RuleResult[]; passed: boolean } {
  const stable: Figures = { ...figures.stable, prediction_shift: 0 };
  const evaluation = evaluateRules(spec.rules, figuresAsMetrics(figures.canary), figuresAsMetrics(stable), 'fail');
  const results = evaluation.results.map((result) => (result.reason === 'missing from the metrics file' ? { ...result, reason: 'not measured in this window (no requests or no such metric)' } : result));
  return { results, passed: evaluation.passed };
}

export async function runRollout(spec: ProgressiveSpec, version: string, port: RolloutPort, clock: Clock, start: Start = { kind: 'fresh' }): Promise<RolloutResult> {
  const windows: WindowReport[] = [];
  const failureLimit = spec.analysis.failureLimit;
  let failures = start.kind === 'resume' ? start.failures : 0;
  let routed = false;
  const record = (phase: Phase, step: number, weight: number): Promise<void> => port.record({ version, phase, step, weight, failures, at: clock.now().toISOString() });
  /** Hold a step (or the shadow), judged every interval; the window that used up the failure limit, if one did. */
  const hold = async (phase: Phase, step: number, weight: number, durationMs: number): Promise<WindowReport | undefined> => {
    const count = windowsPerHold(spec.analysis, durationMs);
    const cut = await port.measure();
    const begin = clock.now().getTime();
    let startedAt = clock.now().toISOString();
    for (let window = 0; window < count; window++) {
      // Each window ends on its planned edge, so time spent scraping does not stretch the hold.
      await clock.sleep(Math.max(0, begin + Math.round((durationMs * (window + 1)) / count) - clock.now().getTime()));
      const figures = await cut();
      const endedAt = clock.now().toISOString();
      const judged = analyse(spec, figures);
      if (!judged.passed) failures++;
      const report: WindowReport = { phase, step, weight, window, windows: count, figures, ...judged, failures, startedAt, endedAt };
      windows.push(report);
      startedAt = endedAt;
      if (judged.passed) continue;
      if (failures > failureLimit) return report;
      // Tolerated: recorded at once, so a rerun after a kill does not start with a fresh allowance.
      await record(phase, step, phase === 'shadow' ? 0 : weight);
    }
    return undefined;
  };
  const rolledBack = async (report: WindowReport): Promise<RolloutResult> => {
    await port.rollback();
    await port.record(undefined);
    const result = report.results.find((r) => r.outcome === 'fail')!;
    const { phase, weight, step, window } = report;
    return { verdict: 'rolled-back', windows, failureLimit, failed: { phase, weight, step, window, windows: report.windows, result } };
  };
  const promote = async (): Promise<RolloutResult> => {
    await port.promote();
    await port.record(undefined);
    return { verdict: 'promoted', windows, failureLimit };
  };

  try {
    if (start.kind === 'restore-stable') {
      await port.rollback();
      await port.record(undefined);
    }
    let first = start.kind === 'resume' && start.phase === 'canary' ? start.step : 0;
    if (spec.strategy === 'shadow' && !(start.kind === 'resume' && start.phase === 'canary')) {
      const shadow = spec.shadow!;
      // Recorded before Traefik changes, so a run killed in between finds and undoes it.
      await record('shadow', 0, 0);
      routed = true;
      await port.mirror(shadow.mirrorPercent);
      const failed = await hold('shadow', 0, shadow.mirrorPercent, shadow.durationMs);
      await port.mirror(0);
      if (failed) return await rolledBack(failed);
      if (shadow.after === 'replace') return await promote();
      first = 0;
    }
    const weights = spec.canary.steps;
    for (let index = first; index < weights.length; index++) {
      const weight = weights[index]!;
      await record('canary', index, weight);
      routed = true;
      if (weight >= 100) return await promote();
      await port.setWeight(weight);
      const failed = await hold('canary', index, weight, spec.canary.stepDurationMs);
      if (failed) return await rolledBack(failed);
    }
    return await promote();
  } catch (error) {
    // Whatever broke (Traefik unreadable, the engine failing), traffic goes back to the stable version.
    if (routed) {
      await port.rollback().catch(() => {});
      await port.record(undefined).catch(() => {});
    }
    throw error;
  }
}
