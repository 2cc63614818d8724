import type { Metrics } from '../metrics/file';
import { evaluateRules, type RuleResult } from '../metrics/rules';
import type { Figures } from './figures';
import type { ProgressiveSpec } from './spec';

/**
 * One progressive rollout, step by step: set the canary's weight (or mirror a share to the
 * shadow), hold it for the step's window, analyse the window's figures of the canary against the
 * stable version's in the same window, then go on or roll back. The rollout touches the world only
 * through a RolloutPort and waits only through a Clock, so the sequence is tested on fakes and the
 * real engines implement the port.
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
  at: string;
}

export interface RolloutPort {
  /** Route `weight` percent to the new version and the rest to the stable one; resolves once Traefik serves it. */
  setWeight(weight: number): Promise<void>;
  /** Mirror `percent` of the stable version's traffic to the new one (0: no mirror); resolves once Traefik serves it. */
  mirror(percent: number): Promise<void>;
  /** Start measuring; the returned function ends the window and gives its figures. */
  openWindow(): Promise<() => Promise<WindowFigures>>;
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

export interface StepReport {
  phase: 'shadow' | 'canary';
  /** Canary weight, or the mirrored percent in the shadow phase. */
  weight: number;
  figures: WindowFigures;
  results: RuleResult[];
  passed: boolean;
  startedAt: string;
  endedAt: string;
}

export interface RolloutResult {
  verdict: 'promoted' | 'rolled-back';
  steps: StepReport[];
  /** The first failed rule, when rolled back. */
  failed?: { phase: 'shadow' | 'canary'; weight: number; result: RuleResult };
}

/** Where a rollout begins, given what an earlier run recorded. */
export type Start = { kind: 'fresh' } | { kind: 'resume'; phase: 'shadow' | 'canary'; step: number } | { kind: 'restore-stable'; recorded: Progress };

/**
 * A recorded rollout of the same version resumes from its recorded step (that step's window starts
 * afresh); one of another version is undone first: its traffic goes back to the stable version.
 */
export function planStart(recorded: Progress | undefined, version: string, steps: readonly number[]): Start {
  if (!recorded) return { kind: 'fresh' };
  if (recorded.version !== version || recorded.step < 0 || recorded.step >= steps.length) return { kind: 'restore-stable', recorded };
  return { kind: 'resume', phase: recorded.phase, step: recorded.step };
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
  const steps: StepReport[] = [];
  let routed = false;
  const hold = async (phase: 'shadow' | 'canary', weight: number, durationMs: number): Promise<StepReport> => {
    const startedAt = clock.now().toISOString();
    const close = await port.openWindow();
    await clock.sleep(durationMs);
    const figures = await close();
    const report = { phase, weight, figures, ...analyse(spec, figures), startedAt, endedAt: clock.now().toISOString() };
    steps.push(report);
    return report;
  };
  const rolledBack = async (report: StepReport): Promise<RolloutResult> => {
    await port.rollback();
    await port.record(undefined);
    const result = report.results.find((r) => r.outcome === 'fail')!;
    return { verdict: 'rolled-back', steps, failed: { phase: report.phase, weight: report.weight, result } };
  };
  const promote = async (): Promise<RolloutResult> => {
    await port.promote();
    await port.record(undefined);
    return { verdict: 'promoted', steps };
  };
  const record = (phase: 'shadow' | 'canary', step: number, weight: number): Promise<void> => port.record({ version, phase, step, weight, at: clock.now().toISOString() });

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
      const report = await hold('shadow', shadow.mirrorPercent, shadow.durationMs);
      await port.mirror(0);
      if (!report.passed) return await rolledBack(report);
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
      const report = await hold('canary', weight, spec.canary.stepDurationMs);
      if (!report.passed) return await rolledBack(report);
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
