import { ResourceError } from '../inputs/errors';
import type { DeploySpec } from '../serving/deploy-spec';
import type { Log, NewServer } from '../serving/engine';
import type { FileRouting, RoutingState } from '../serving/file-routing';
import type { ManagedServer } from '../serving/server';
import { FileRolloutPort } from './file-port';
import { planStart, runRollout, type Clock, type Progress, type RolloutResult } from './rollout';
import type { ProgressiveSpec } from './spec';

/**
 * deploy's canary or shadow, run under the deploy's lock once the new servers serve and before
 * deploy's own replace path moves the rest of the weight: finds the stable version in the routing
 * table, resumes or undoes a rollout an earlier run recorded there, and runs the steps.
 */

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface FileRolloutArgs {
  spec: DeploySpec;
  progressive: ProgressiveSpec;
  file: FileRouting;
  table: RoutingState;
  digest: string;
  version: string;
  newServers: readonly NewServer[];
  existing: readonly ManagedServer[];
  log: Log;
  clock?: Clock;
}

export function isProgress(value: unknown): value is Progress {
  const v = value as Progress | undefined;
  return typeof v === 'object' && v !== null && typeof v.version === 'string' && (v.phase === 'canary' || v.phase === 'shadow') && Number.isInteger(v.step) && typeof v.weight === 'number';
}

/** Undefined when there is no stable version to compare with: the deploy then replaces directly. */
export async function runFileRollout(args: FileRolloutArgs): Promise<RolloutResult | undefined> {
  const { file, table, progressive, log } = args;
  const canaryRef = file.ref(args.digest);
  const recorded = isProgress(table.rollout) ? table.rollout : undefined;
  const recordedRef = recorded && recorded.version !== args.version ? args.existing.find((s) => s.digest.replace(/^sha256:/, '').startsWith(recorded.version)) : undefined;
  const stable = table.backends.filter((b) => b.weight > 0 && b.service !== canaryRef && (!recordedRef || b.service !== file.ref(recordedRef.digest)));
  if (stable.length === 0) {
    log.info(`${progressive.strategy}: ${args.spec.routing.service} has no stable version in its routing table to compare with, so the new version takes all traffic at once`);
    return undefined;
  }
  if (stable.length > 1) {
    throw new ResourceError(
      `Routing file ${file.path}`,
      `${stable.length} versions carry traffic (${stable.map((b) => b.service).join(', ')}); a ${progressive.strategy} compares the new version with one stable version: deploy with strategy replace first`,
    );
  }
  const stableRef = stable[0]!.service;
  const stableUrls = args.existing.filter((s) => file.ref(s.digest) === stableRef && s.url).map((s) => s.url!);
  const port = new FileRolloutPort({
    file,
    table,
    stableRef,
    canaryRef,
    metricsUrl: progressive.metricsUrl,
    stableUrls,
    canaryUrls: args.newServers.filter((s) => s.url).map((s) => s.url!),
    timeoutMs: args.spec.healthTimeoutMs,
    drainTimeoutMs: args.spec.drainTimeoutMs,
    log,
  });
  const start = planStart(recorded, args.version, progressive.canary.steps);
  if (start.kind === 'resume') log.info(`Resuming the ${progressive.strategy} of ${args.version} at its recorded ${start.phase} step ${start.step + 1}${start.failures > 0 ? ` with ${start.failures} failed window(s) counted` : ''}`);
  if (start.kind === 'restore-stable') log.warning(`An interrupted rollout of ${start.recorded.version} was recorded: its traffic goes back to ${stableRef} first`);
  const result = await runRollout(progressive, args.version, port, args.clock ?? systemClock, start);
  for (const w of result.windows) {
    log.info(
      `${w.phase} at ${w.weight}%, window ${w.window + 1} of ${w.windows}: ${w.passed ? 'passed' : `failed (${w.failures} failed of ${result.failureLimit} allowed)`} (canary ${JSON.stringify(w.figures.canary)}, stable ${JSON.stringify(w.figures.stable)})`,
    );
  }
  return result;
}
