import { InputError, ResourceError } from '../inputs/errors';
import { formatDuration } from '../inputs/parse';
import type { DeploySpec } from './deploy-spec';
import { planDeploy } from './deploy-plan';
import { DeployError, type DeployImage, type DeployResult, type Log, type NewServer, type RemovalReport, type ServingEngine, type StartedServers } from './engine';
import { fileRoutingOf, rollbackTarget, splitKept, type FileRouting, type RoutingState } from './file-routing';
import { shortDigest } from './labels';
import { mapLimit } from '../async/pool';
import { PARALLEL_REMOVALS } from './limit';
import { warnUndrainable } from './drain-report';
import { waitReady } from './readiness';
import { checkDrainSignal } from './drain-signal';
import { isServing, type ManagedServer } from './server';
import { runFileRollout } from '../rollout/deploy-rollout';
import { windowNote } from '../rollout/summary';
import type { RolloutResult } from '../rollout/rollout';

/** What a caller learns during a deploy: a canary's or shadow's result, before the deploy fails or goes on. */
export interface DeployHooks {
  onRollout?(result: RolloutResult): Promise<void>;
}

/**
 * deploy, for every engine and both routings: pull, lock, plan on a fresh listing, clear
 * leftovers, start the new servers, wait until they serve, confirm Traefik routes to them, and
 * only then take the older ones away. The engines implement the steps (ServingEngine); the
 * order, the failure handling and the timings are here, once. A failed new server is removed and
 * the older servers keep serving; a deploy killed at any point and run again plans what is left
 * (src/serving/deploy-plan.ts).
 *
 * Under `routing: file` the older versions are not signalled: one atomic write of the routing
 * file moves all weight to the new version, Traefik's API confirms it applied, the old version's
 * in-flight requests finish, and only then is it stopped, or kept at weight 0 for `keep-previous`.
 */
export async function runDeploy(engine: ServingEngine, spec: DeploySpec, log: Log, hooks: DeployHooks = {}): Promise<DeployResult> {
  const t0 = Date.now();
  const timings = { pullMs: 0, startMs: 0, healthyMs: 0, traefikMs: 0, drainMs: 0, totalMs: 0 };
  const file = fileRoutingOf(spec, engine.kind);
  const image = spec.options.rollback ? await rollbackImage(engine, spec, file!) : await engine.pullImage(spec, log);
  timings.pullMs = Date.now() - t0;
  if (spec.options.rollback) log.info(`Rolling ${spec.routing.service} back to its kept version ${shortDigest(image.digest)}: no pull, no start`);
  else log.info(`${image.pulled ? 'Pulled' : 'Found'} ${spec.image.text}${spec.image.text.includes(image.digest) ? '' : ` (digest ${image.digest})`} in ${formatDuration(timings.pullMs)}`);
  if (!spec.options.rollback) checkDrainSignal(spec, image);
  if (!spec.healthCmd && !image.healthcheck && !spec.options.healthPath && !spec.options.rollback) {
    log.warning(
      `${spec.image.text} declares no HEALTHCHECK and no health-cmd was given: Traefik will route to each new server as soon as it starts, before the model is ready, and a drain cannot be confirmed (give health-path, or use routing: file)`,
    );
  }

  const lock = await engine.lockDeploy(spec, image, log);
  try {
    return await deployLocked();
  } finally {
    await lock.release();
  }

  async function deployLocked(): Promise<DeployResult> {
    const { service } = spec.routing;
    const now = new Date();
    const all = await engine.listServers(service);
    const table: RoutingState = file ? await file.read() : { backends: [], kept: {} };
    // Versions kept for a rollback are not the deploy's to drain; expired ones go.
    const kept = file ? splitKept(all, table, image.digest, now) : { kept: [], expired: [], keptUntil: {} };
    if (spec.options.rollback && !all.some((server) => server.digest === image.digest && isServing(server))) {
      throw new InputError('rollback', `the kept version ${shortDigest(image.digest)} stopped serving before the lock was taken`);
    }
    const existing = all.filter((server) => !kept.kept.includes(server) && !kept.expired.includes(server));
    const unitReplicas = engine.unit === 'server' ? spec.replicas : 1;
    const plan = planDeploy(existing, image.digest, unitReplicas, spec.strategy);
    const rescale = engine.unit === 'version' ? plan.reuse.filter((server) => server.replicas !== undefined && server.replicas !== spec.replicas) : [];
    const routedAlready = !file || (table.backends.some((b) => b.service === file.ref(image.digest) && b.weight > 0) && (spec.strategy === 'add' || table.backends.length === 1));
    const finish = (servers: NewServer[], removed: RemovalReport[], unchanged: boolean): DeployResult => {
      timings.totalMs = Date.now() - t0;
      return { digest: image.digest, image: image.reference, servers, removed, unchanged, timings };
    };
    if (plan.unchanged && rescale.length === 0 && routedAlready && kept.expired.length === 0) {
      const servers = await engine.serversOf(plan.reuse, spec);
      log.info(`${service} already serves ${shortDigest(image.digest)} with ${servers.length} server(s): nothing to change`);
      return finish(servers, [], true);
    }
    for (const leftover of plan.clear) {
      log.info(`Removing ${leftover.name}: same image, but ${leftover.state}${leftover.health !== 'none' ? `/${leftover.health}` : ''} (left by an earlier deploy)`);
      await engine.removeServer(leftover, log);
    }

    let started: StartedServers | undefined;
    let confirmed = false;
    try {
      const startAt = Date.now();
      let reused = await engine.serversOf(plan.reuse, spec);
      if (rescale.length > 0) {
        // Tasks that served before the scaling are reused; the ones it added are new.
        const before = new Set(reused.map((server) => server.id));
        for (const server of rescale) await engine.scaleVersion(server, spec, log);
        reused = (await engine.serversOf(plan.reuse, spec)).map((server) => ({ ...server, reused: before.has(server.id) }));
        timings.healthyMs = Date.now() - startAt;
      }
      let fresh: NewServer[] = [];
      if (plan.create > 0) {
        started = await engine.startServers(spec, image, plan.create, log);
        timings.startMs = Date.now() - startAt;
        const healthyAt = Date.now();
        const outcome = await engine.waitServing(spec, image, started);
        if ('failure' in outcome) throw await engine.discardStarted(started, image, outcome.failure);
        fresh = outcome.servers;
        const failure = await probeReady(fresh, healthyAt);
        if (failure) throw await engine.discardStarted(started, image, { id: failure.server.id, problem: `was not ready: ${failure.problem}` });
        timings.healthyMs = Date.now() - healthyAt;
        log.info(`Serving: ${fresh.map((s) => `${s.name} (${s.url ?? 'no address'})`).join(', ')} after ${formatDuration(timings.healthyMs)}`);
      } else if (rescale.length === 0) {
        log.info(`${reused.map((s) => s.name).join(', ')} already serve ${shortDigest(image.digest)}: no new server needed`);
      }
      // A server kept from before that no health check vouches for (one a killed deploy started) is probed like a new one.
      const unvouched = new Set(plan.reuse.filter((server) => server.health === 'none' && server.url).map((server) => server.id));
      const reusedFailure = await probeReady(
        reused.filter((server) => unvouched.has(server.id)),
        startAt,
      );
      if (reusedFailure) throw new ResourceError(`Service ${service}`, `${reusedFailure.server.name}, already running ${shortDigest(image.digest)}, was not ready: ${reusedFailure.problem}; the older servers were not touched`);
      const servers = [...reused, ...fresh];

      const routedAt = Date.now();
      const problem = await engine.confirmRouted(spec, servers);
      if (problem) {
        if (!started) throw new ResourceError(`Service ${service}`, `${problem}; the older servers were not touched`);
        throw await engine.discardStarted(started, image, { problem: `was serving, but ${problem}` });
      }
      let drain = plan.drain;
      if (file) {
        if (!(await lock.stillHeld())) throw lostLock(service);
        if (spec.progressive) await progressive(file, table, all, servers, started);
        drain = await publishTable(file, table, plan.drain, kept.keptUntil, now);
        drain = [...drain, ...kept.expired];
      }
      timings.traefikMs = Date.now() - routedAt;

      confirmed = true;
      const drainAt = Date.now();
      let removed: RemovalReport[] = [];
      if (drain.length > 0) {
        if (!(await lock.stillHeld())) throw lostLock(service);
        removed = await mapLimit(drain, PARALLEL_REMOVALS, async (server) => {
          if (file) {
            const idle = await file.waitIdle(engine, server, spec.drainTimeoutMs);
            if (!idle) log.warning(`${server.name} still had requests in flight ${formatDuration(spec.drainTimeoutMs)} after it left the routing table; stopping it with its grace period`);
          } else {
            log.info(`Draining ${server.name} (${shortDigest(server.digest)}, ${server.state}${server.health !== 'none' ? `/${server.health}` : ''})`);
          }
          return engine.drainAndRemove(server, { drainTimeoutMs: spec.drainTimeoutMs, traefikApi: spec.traefikApi, withdrawn: Boolean(file) }, log);
        });
        warnUndrainable(removed, log);
      } else if (spec.strategy === 'add') {
        const older = existing.filter((server) => server.digest !== image.digest).length;
        if (older > 0) log.info(`strategy add: ${older} older server(s) keep serving beside the new one(s) until retire removes them`);
      }
      timings.drainMs = Date.now() - drainAt;
      return finish(servers, removed, false);
    } catch (error) {
      if (error instanceof DeployError) throw error;
      // Anything else that broke before the new servers were confirmed: leave the service as it was.
      if (!confirmed && started) await engine.discardStarted(started, image, { problem: 'was removed' }).catch(() => {});
      throw error;
    }
  }

  /** With health-path: every server's first 2xx on it, or the first that did not answer within what is left of health-timeout. */
  async function probeReady(servers: readonly NewServer[], since: number): Promise<{ server: NewServer; problem: string } | undefined> {
    const path = spec.options.healthPath;
    if (!path || servers.length === 0) return undefined;
    const remaining = Math.max(1000, spec.healthTimeoutMs - (Date.now() - since));
    const probes = await Promise.all(servers.map((server) => (server.url ? waitReady(server.url, path, remaining) : Promise.resolve(`${server.name} has no address on ${spec.routing.network}`))));
    const failed = probes.findIndex(Boolean);
    return failed >= 0 ? { server: servers[failed]!, problem: probes[failed]! } : undefined;
  }

  /**
   * canary or shadow: the steps and their analysis, between the new servers serving and the
   * promotion. Rolled back → the new version's servers are removed and the deploy fails.
   */
  async function progressive(file: FileRouting, table: RoutingState, all: readonly ManagedServer[], servers: NewServer[], started: StartedServers | undefined): Promise<void> {
    const outcome = await runFileRollout({ spec, progressive: spec.progressive!, file, table, digest: image.digest, version: shortDigest(image.digest), newServers: servers, existing: all, log });
    if (!outcome) return;
    await hooks.onRollout?.(outcome);
    if (!(await lock.stillHeld())) throw lostLock(spec.routing.service);
    if (outcome.verdict === 'promoted') return;
    const failed = outcome.failed!;
    const problem = `failed the ${spec.progressive!.strategy} analysis ${failed.phase === 'shadow' ? 'while shadowing' : `at ${failed.weight}%`}: ${failed.result.rule.text} (${failed.result.reason ?? `${failed.result.value} against ${failed.result.threshold}`})${windowNote(outcome)}; all traffic is back on the stable version`;
    if (started) throw await engine.discardStarted(started, image, { problem });
    const leftovers = all.filter((server) => server.digest === image.digest);
    await mapLimit(leftovers, PARALLEL_REMOVALS, (server) => engine.drainAndRemove(server, { drainTimeoutMs: spec.drainTimeoutMs, traefikApi: spec.traefikApi, withdrawn: true }, log));
    throw new DeployError(`${shortDigest(image.digest)} ${problem}`);
  }

  /**
   * Move the weight to the deployed version in one write; the versions it takes weight from are
   * kept for `keep-previous` or returned to be drained.
   */
  async function publishTable(file: FileRouting, table: RoutingState, planned: readonly ManagedServer[], keptUntil: Record<string, string>, now: Date): Promise<ManagedServer[]> {
    const wanted = file.ref(image.digest);
    const leaving = new Set(planned.map((server) => file.ref(server.digest)));
    const stay = spec.strategy === 'add' ? table.backends.filter((b) => b.service !== wanted && !leaving.has(b.service) && b.weight > 0) : [];
    const kept = { ...keptUntil };
    delete kept[shortDigest(image.digest)];
    let drain = [...planned];
    if (spec.options.keepPreviousMs !== undefined) {
      const until = new Date(now.getTime() + spec.options.keepPreviousMs).toISOString();
      const previous = planned.filter((server) => server.state === 'running' && table.backends.some((b) => b.service === file.ref(server.digest) && b.weight > 0));
      for (const server of previous) kept[shortDigest(server.digest)] = until;
      drain = planned.filter((server) => !previous.includes(server));
      if (previous.length > 0) log.info(`Keeping ${[...new Set(previous.map((s) => shortDigest(s.digest)))].join(', ')} at weight 0 until ${until} for a rollback`);
    }
    await file.publish({ backends: [...stay, { service: wanted, weight: 1 }], kept }, log, spec.healthTimeoutMs);
    return drain;
  }
}

function lostLock(service: string): ResourceError {
  return new ResourceError(`Service ${service}`, 'this deploy lost its lock (it outlived its lease and another run took it over); the older servers were left running');
}

/** rollback: the kept version's image as its servers run it; nothing is pulled. */
async function rollbackImage(engine: ServingEngine, spec: DeploySpec, file: FileRouting): Promise<DeployImage> {
  const target = rollbackTarget(await engine.listServers(spec.routing.service), await file.read(), new Date());
  return { digest: target.digest, reference: target.image, id: target.imageId ?? target.image, healthcheck: target.health !== 'none', pulled: false };
}
