import { ResourceError } from '../inputs/errors';
import { formatDuration } from '../inputs/parse';
import type { DeploySpec } from './deploy-spec';
import { planDeploy } from './deploy-plan';
import { DeployError, type DeployResult, type Log, type NewServer, type RemovalReport, type ServingEngine, type StartedServers } from './engine';
import { shortDigest } from './labels';
import { mapLimit, PARALLEL_REMOVALS } from './limit';
import { warnUndrainable } from './drain-report';

/**
 * deploy, for every engine: pull, lock, plan on a fresh listing, clear leftovers, start the new
 * servers, wait until they serve, confirm Traefik routes to them, and only then drain the older
 * ones. The engines implement the steps (ServingEngine); the order, the failure handling and the
 * timings are here, once. A failed new server is removed and the older servers keep serving; a
 * deploy killed at any point and run again plans what is left (src/serving/deploy-plan.ts).
 */
export async function runDeploy(engine: ServingEngine, spec: DeploySpec, log: Log): Promise<DeployResult> {
  const t0 = Date.now();
  const timings = { pullMs: 0, startMs: 0, healthyMs: 0, traefikMs: 0, drainMs: 0, totalMs: 0 };
  const image = await engine.pullImage(spec, log);
  timings.pullMs = Date.now() - t0;
  log.info(`${image.pulled ? 'Pulled' : 'Found'} ${spec.image.text}${spec.image.text.includes(image.digest) ? '' : ` (digest ${image.digest})`} in ${formatDuration(timings.pullMs)}`);
  if (!spec.healthCmd && !image.healthcheck) {
    log.warning(`${spec.image.text} declares no HEALTHCHECK and no health-cmd was given: Traefik will route to each new server as soon as it starts, before the model is ready, and a drain cannot be confirmed`);
  }

  const lock = await engine.lockDeploy(spec, image, log);
  try {
    return await deployLocked();
  } finally {
    await lock.release();
  }

  async function deployLocked(): Promise<DeployResult> {
    const { service } = spec.routing;
    const existing = await engine.listServers(service);
    const unitReplicas = engine.unit === 'server' ? spec.replicas : 1;
    const plan = planDeploy(existing, image.digest, unitReplicas, spec.strategy);
    const rescale = engine.unit === 'version' ? plan.reuse.filter((server) => server.replicas !== undefined && server.replicas !== spec.replicas) : [];
    const finish = (servers: NewServer[], removed: RemovalReport[], unchanged: boolean): DeployResult => {
      timings.totalMs = Date.now() - t0;
      return { digest: image.digest, image: image.reference, servers, removed, unchanged, timings };
    };
    if (plan.unchanged && rescale.length === 0) {
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
        timings.healthyMs = Date.now() - healthyAt;
        fresh = outcome.servers;
        log.info(`Serving: ${fresh.map((s) => `${s.name} (${s.url ?? 'no address'})`).join(', ')} after ${formatDuration(timings.healthyMs)}`);
      } else if (rescale.length === 0) {
        log.info(`${reused.map((s) => s.name).join(', ')} already serve ${shortDigest(image.digest)}: no new server needed`);
      }
      const servers = [...reused, ...fresh];

      const routedAt = Date.now();
      const problem = await engine.confirmRouted(spec, servers);
      if (problem) {
        if (!started) throw new ResourceError(`Service ${service}`, `${problem}; the older servers were not touched`);
        throw await engine.discardStarted(started, image, { problem: `was serving, but ${problem}` });
      }
      timings.traefikMs = Date.now() - routedAt;

      confirmed = true;
      const drainAt = Date.now();
      let removed: RemovalReport[] = [];
      if (plan.drain.length > 0) {
        if (!(await lock.stillHeld())) throw new ResourceError(`Service ${service}`, 'this deploy lost its lock (it outlived its lease and another run took it over); the older servers were left running');
        removed = await mapLimit(plan.drain, PARALLEL_REMOVALS, (server) => {
          log.info(`Draining ${server.name} (${shortDigest(server.digest)}, ${server.state}${server.health !== 'none' ? `/${server.health}` : ''})`);
          return engine.drainAndRemove(server, { drainTimeoutMs: spec.drainTimeoutMs, traefikApi: spec.traefikApi }, log);
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
}
