import type Docker from 'dockerode';
import { InputError, ResourceError, quote } from '../inputs/errors';
import { formatDuration } from '../inputs/parse';
import { deployedServerIdentity, type DeploySpec } from '../serving/deploy-spec';
import { planDeploy } from '../serving/deploy-plan';
import { mapLimit, PARALLEL_REMOVALS } from '../serving/limit';
import { warnUndrainable } from '../serving/drain-report';
import {
  DeployError,
  type DeployResult,
  type DrainOptions,
  type Log,
  type NewServer,
  type PrunedImage,
  type RemovalReport,
  type RequestCount,
  type ServiceLock,
  type ServingEngine,
} from '../serving/engine';
import { routingLabels, serverLabels, shortDigest } from '../serving/labels';
import { checkRoutingAgainst } from '../serving/routing-check';
import { serverContainerName } from '../serving/names';
import type { ManagedServer } from '../serving/server';
import { TraefikApi } from '../traefik/api';
import { connectEngine, type Engine } from './connection';
import { STOP_TIMEOUT_S, lastLogLines, listManagedContainers, removeContainer, serverEnvironment, serverHealthcheck } from './containers';
import { drainContainer } from './drain';
import { deviceRequests, describeGpus } from './gpus';
import { acquireLock, type HeldLock } from './lock';
import { ensureImage, type PulledImage } from './pull';
import { readRequestCount } from './server-metrics';
import { engineMessage, statusOf } from './errors';
import { ContainerWatch } from './watch';

/** How long a server without a health check must keep running to count as started. */
const NO_HEALTHCHECK_STEADY_MS = 2000;


interface NewContainer {
  id: string;
  name: string;
}

interface ServerFailure {
  container: NewContainer;
  problem: string;
}

/** The Docker Engine: servers are containers that Traefik's Docker provider discovers by label. */
export class DockerEngine implements ServingEngine {
  readonly kind = 'docker' as const;
  readonly endpoint: string;
  readonly docker: Docker;

  constructor(readonly engine: Engine) {
    this.docker = engine.docker;
    this.endpoint = engine.endpoint;
  }

  static async connect(dockerHost: string | undefined): Promise<DockerEngine> {
    return new DockerEngine(await connectEngine(dockerHost));
  }

  async close(): Promise<void> {}

  async checkDeploy(spec: DeploySpec): Promise<void> {
    const { network, service } = spec.routing;
    try {
      await this.docker.getNetwork(network).inspect();
    } catch (error) {
      if (statusOf(error) === 404) throw new InputError('network', `no Docker network ${quote(network)} on the engine at ${this.endpoint} (create it, or name the network Traefik watches)`);
      throw new ResourceError(`Docker Engine at ${this.endpoint}`, engineMessage(error));
    }
    if (spec.traefikApi) await new TraefikApi(spec.traefikApi).check();
    checkRoutingAgainst(await listManagedContainers(this.docker, service), routingLabels(spec.routing), service);
  }

  /** Fail clearly when the engine cannot give containers GPUs, before any server exists. */
  private async checkGpus(spec: DeploySpec, image: PulledImage): Promise<void> {
    if (!spec.gpus) return;
    const info = (await this.docker.info()) as { Runtimes?: Record<string, unknown> };
    if (info.Runtimes && 'nvidia' in info.Runtimes) return;
    // Without a registered nvidia runtime the driver may still come from the NVIDIA hook on the
    // engine's PATH. Starting a throwaway container asks the engine itself: the device driver is
    // chosen before the (deliberately missing) entrypoint is executed.
    const probe = await this.docker.createContainer({
      name: `train-to-serve-gpu-probe-${spec.routing.service}-${Date.now().toString(36)}`,
      Image: image.id,
      Entrypoint: ['/train-to-serve-gpu-probe'],
      Cmd: [],
      Healthcheck: { Test: ['NONE'] },
      HostConfig: { NetworkMode: 'none', DeviceRequests: deviceRequests(spec.gpus) },
    });
    try {
      await probe.start();
    } catch (error) {
      const message = engineMessage(error);
      if (/device driver|nvidia|gpu/i.test(message)) {
        throw new ResourceError(
          `Docker Engine at ${this.endpoint}`,
          `has no GPU runtime, so gpus (${describeGpus(spec.gpus)}) cannot be given to the servers: install the NVIDIA Container Toolkit on the host (engine said: ${message})`,
        );
      }
    } finally {
      await removeContainer(this.docker, probe.id);
    }
  }

  async deploy(spec: DeploySpec, log: Log): Promise<DeployResult> {
    const t0 = Date.now();
    const timings = { pullMs: 0, startMs: 0, healthyMs: 0, traefikMs: 0, drainMs: 0, totalMs: 0 };
    const { service } = spec.routing;

    let image = await ensureImage(this.docker, spec.image, spec.credentials);
    timings.pullMs = Date.now() - t0;
    log.info(`${image.pulled ? 'Pulled' : 'Found'} ${spec.image.text}${spec.image.text.includes(image.digest) ? '' : ` (digest ${image.digest})`} in ${formatDuration(timings.pullMs)}`);
    await this.checkGpus(spec, image);
    if (!spec.healthCmd && !image.healthcheck) {
      log.warning(`${spec.image.text} declares no HEALTHCHECK and no health-cmd was given: Traefik will route to each new server as soon as it starts, before the model is ready, and a drain cannot be confirmed`);
    }

    const leaseMs = 2 * spec.healthTimeoutMs + 3 * spec.drainTimeoutMs + STOP_TIMEOUT_S * 1000 + 120_000;
    const lockOptions = { leaseMs, waitMs: leaseMs, purpose: `deploy of ${service}`, runUrl: spec.provenance.runUrl, log };
    let lock: HeldLock;
    try {
      // The lock container uses the image, which keeps a concurrent retire from pruning it.
      lock = (await acquireLock(this.docker, service, { ...lockOptions, image: image.id }))!;
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
      // Pruned between the pull and the lock: pull again.
      image = await ensureImage(this.docker, spec.image, spec.credentials);
      lock = (await acquireLock(this.docker, service, { ...lockOptions, image: image.id }))!;
    }
    try {
      return await this.deployLocked(spec, image, lock, log, t0, timings);
    } finally {
      await lock.release();
    }
  }

  private async deployLocked(spec: DeploySpec, image: PulledImage, lock: HeldLock, log: Log, t0: number, timings: DeployResult['timings']): Promise<DeployResult> {
    const { service, network, port } = spec.routing;
    const existing = await listManagedContainers(this.docker, service);
    const plan = planDeploy(existing, image.digest, spec.replicas, spec.strategy);
    const reused: NewServer[] = plan.reuse.map((server) => ({ id: server.id, name: server.name, digest: server.digest, url: server.url, reused: true }));
    if (plan.unchanged) {
      log.info(`${service} already serves ${shortDigest(image.digest)} with ${plan.reuse.length} server(s): nothing to change`);
      timings.totalMs = Date.now() - t0;
      return { digest: image.digest, image: image.reference, servers: reused, removed: [], unchanged: true, timings };
    }
    for (const leftover of plan.clear) {
      log.info(`Removing ${leftover.name}: same image, but ${leftover.state}${leftover.health !== 'none' ? `/${leftover.health}` : ''} (left by an earlier deploy)`);
      await removeContainer(this.docker, leftover.id);
    }

    const startAt = Date.now();
    const deployedAt = new Date();
    const labels = serverLabels(spec.routing, deployedServerIdentity(spec, image.digest, deployedAt));
    const hasHealthCheck = Boolean(spec.healthCmd ?? image.healthcheck);
    const created: NewContainer[] = [];
    const removeNew = async () => {
      await Promise.all(created.map((container) => removeContainer(this.docker, container.id)));
    };

    let watch: ContainerWatch | undefined;
    let confirmed = false;
    try {
      for (let i = 0; i < plan.create; i++) {
        const name = serverContainerName(service, image.digest);
        const container = await this.docker.createContainer({
          name,
          Image: image.reference.includes('@') ? image.reference : image.id,
          Env: serverEnvironment(spec, image.digest),
          Labels: labels,
          ...serverHealthcheck(spec, Boolean(image.healthcheck)),
          StopTimeout: STOP_TIMEOUT_S,
          HostConfig: {
            NetworkMode: network,
            RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
            ...(spec.gpus ? { DeviceRequests: deviceRequests(spec.gpus) } : {}),
          },
          NetworkingConfig: { EndpointsConfig: { [network]: {} } },
        } as Docker.ContainerCreateOptions);
        created.push({ id: container.id, name });
      }
      const fresh: NewServer[] = [];
      if (created.length > 0) {
        watch = await ContainerWatch.open(
          this.docker,
          created.map((container) => container.id),
        );
        for (const container of created) await this.docker.getContainer(container.id).start();
        timings.startMs = Date.now() - startAt;
        log.info(`Started ${created.map((c) => c.name).join(', ')}; waiting up to ${formatDuration(spec.healthTimeoutMs)} for ${hasHealthCheck ? 'healthy' : 'running'}`);

        const healthyAt = Date.now();
        const failure = await this.waitUntilServing(watch, created, spec.healthTimeoutMs, hasHealthCheck);
        watch.close();
        if (failure) throw await this.failDeploy(failure, created, image, removeNew);
        timings.healthyMs = Date.now() - healthyAt;

        for (const container of created) {
          const info = await this.docker.getContainer(container.id).inspect();
          const ip = info.NetworkSettings.Networks[network]?.IPAddress;
          fresh.push({ id: container.id, name: container.name, digest: image.digest, url: ip ? `http://${ip}:${port}` : undefined, reused: false });
        }
        log.info(`Healthy: ${fresh.map((s) => `${s.name} (${s.url ?? 'no address'})`).join(', ')} after ${formatDuration(timings.healthyMs)}`);
      } else {
        log.info(`${reused.map((s) => s.name).join(', ')} already serve ${shortDigest(image.digest)}: no new server needed`);
      }

      if (spec.traefikApi) {
        const traefikAt = Date.now();
        // Every server the service will keep, new or reused, must be routed before the old ones go.
        const urls = [...reused, ...fresh].map((server) => server.url).filter((url): url is string => Boolean(url));
        const listed = await new TraefikApi(spec.traefikApi).waitForUp(service, urls, spec.healthTimeoutMs);
        if (!listed) {
          const problem = `Traefik (${spec.traefikApi}) did not list ${urls.join(', ')} UP for ${service}@docker within ${formatDuration(spec.healthTimeoutMs)} (is Traefik watching network ${network}?)`;
          if (created.length === 0) throw new ResourceError(`Service ${service}`, `${problem}; the older servers were not touched`);
          throw await this.failDeploy({ container: created[0]!, problem: `was healthy, but ${problem}` }, created, image, removeNew);
        }
        timings.traefikMs = Date.now() - traefikAt;
        log.info(`Traefik lists ${urls.length} server(s) UP for ${service}@docker after ${formatDuration(timings.traefikMs)}`);
      }

      confirmed = true;
      const drainAt = Date.now();
      let removed: RemovalReport[] = [];
      if (plan.drain.length > 0) {
        if (!(await lock.stillHeld())) throw new ResourceError(`Service ${service}`, 'this deploy lost its lock (it outlived its lease and another run took it over); the older servers were left running');
        removed = await this.drainAll(plan.drain, { drainTimeoutMs: spec.drainTimeoutMs, traefikApi: spec.traefikApi }, log);
      } else if (spec.strategy === 'add' && existing.some((server) => server.digest !== image.digest)) {
        log.info(`strategy add: ${existing.filter((s) => s.digest !== image.digest).length} older server(s) keep serving beside the new one(s) until retire removes them`);
      }
      timings.drainMs = Date.now() - drainAt;
      timings.totalMs = Date.now() - t0;
      return { digest: image.digest, image: image.reference, servers: [...reused, ...fresh], removed, unchanged: false, timings };
    } catch (error) {
      watch?.close();
      if (error instanceof DeployError) throw error;
      // Anything else that broke before the new servers were confirmed: leave the service as it was.
      if (!confirmed) await removeNew();
      throw error;
    }
  }

  private async waitUntilServing(watch: ContainerWatch, created: NewContainer[], timeoutMs: number, hasHealthCheck: boolean): Promise<ServerFailure | undefined> {
    // Without a health check, "ready" is running for a moment, so a server that exits at once is caught.
    const steadyAfter = Date.now() + NO_HEALTHCHECK_STEADY_MS;
    const outcomes = created.map((container) =>
      watch.until<ServerFailure | 'ok'>(
        container.id,
        (status) => {
          if (!status.exists) return { container, problem: 'was removed by someone else while starting' };
          if (status.died) return { container, problem: `exited with code ${status.exitCode ?? '?'} before it became ${hasHealthCheck ? 'healthy' : 'ready'}` };
          if (status.health === 'unhealthy') return { container, problem: `reported unhealthy${status.lastProbe ? ` (last probe: ${status.lastProbe})` : ''}` };
          if (hasHealthCheck ? status.health === 'healthy' : status.state === 'running' && Date.now() >= steadyAfter) return 'ok';
          return undefined;
        },
        timeoutMs,
        (status) => ({ container, problem: `was not healthy within ${formatDuration(timeoutMs)} (health: ${status.health}${status.lastProbe ? `; last probe: ${status.lastProbe}` : ''})` }),
      ),
    );
    // The first failure ends the wait: the others are removed with it.
    return new Promise((resolve) => {
      let pending = outcomes.length;
      for (const outcome of outcomes) {
        void outcome.then((result) => {
          if (result !== 'ok') resolve(result);
          else if (--pending === 0) resolve(undefined);
        });
      }
    });
  }

  private async failDeploy(failure: ServerFailure, created: NewContainer[], image: PulledImage, removeNew: () => Promise<void>): Promise<DeployError> {
    const logs = await lastLogLines(this.docker, failure.container.id, 50);
    await removeNew();
    return new DeployError(
      `New server ${failure.container.name} (${image.reference}) ${failure.problem}. ` +
        `Removed the ${created.length} new server${created.length === 1 ? '' : 's'}; the older servers were not touched and keep serving.\n` +
        `Last 50 log lines of ${failure.container.name}:\n${logs || '(no output)'}`,
    );
  }

  private async drainAll(servers: readonly ManagedServer[], options: DrainOptions, log: Log): Promise<RemovalReport[]> {
    const reports = await mapLimit(servers, PARALLEL_REMOVALS, async (server) => {
      log.info(`Draining ${server.name} (${shortDigest(server.digest)}, ${server.state}${server.health !== 'none' ? `/${server.health}` : ''})`);
      return this.drainAndRemove(server, options, log);
    });
    warnUndrainable(reports, log);
    return reports;
  }

  listServers(service?: string): Promise<ManagedServer[]> {
    return listManagedContainers(this.docker, service);
  }

  readRequests(server: ManagedServer): Promise<RequestCount> {
    return readRequestCount(server.url);
  }

  async tryLockService(service: string, log: Log): Promise<ServiceLock | undefined> {
    const servers = await listManagedContainers(this.docker, service);
    const image = servers.find((server) => server.imageId)?.imageId;
    if (!image) return { release: async () => {} };
    return acquireLock(this.docker, service, { image, leaseMs: 15 * 60_000, waitMs: 0, purpose: `retire of ${service}`, log });
  }

  async drainAndRemove(server: ManagedServer, options: DrainOptions, log: Log): Promise<RemovalReport> {
    const report = await drainContainer(this.docker, server, options);
    // Servers without a health check are summed up in one warning by the caller.
    if (report.warning && report.outcome !== 'no-health-check') log.warning(report.warning);
    log.info(`${report.outcome === 'vanished' ? 'Already gone' : 'Removed'}: ${server.name} (${report.outcome}, ${report.seconds}s)`);
    return report;
  }

  /** `keepDigests`: manifest digests to keep even when no container here uses them (a Swarm service may run them here later). */
  async pruneImages(seen: readonly ManagedServer[], retired: readonly ManagedServer[], log: Log, keepDigests: ReadonlySet<string> = new Set()): Promise<PrunedImage[]> {
    const repositories = new Set(seen.map((server) => repositoryOf(server.image)));
    const retiredImages = new Set(retired.map((server) => server.imageId).filter(Boolean));
    const inUse = new Set((await this.docker.listContainers({ all: true })).map((container) => container.ImageID));
    const images = await this.docker.listImages({ all: false });
    const pruned: PrunedImage[] = [];
    for (const image of images) {
      if (inUse.has(image.Id)) continue;
      if ((image.RepoDigests ?? []).some((ref) => keepDigests.has(ref.slice(ref.indexOf('@') + 1)))) continue;
      const references = [...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])].filter((ref) => !ref.startsWith('<none>'));
      // Only the toolkit's own references go; an image also known under another name stays, untagged from ours.
      const ours = references.filter((ref) => repositories.has(repositoryOf(ref)));
      const untagged = references.length === 0 && retiredImages.has(image.Id);
      if (ours.length === 0 && !untagged) continue;
      try {
        for (const reference of ours) await this.docker.getImage(reference).remove().catch(ignore404);
        const others = references.filter((ref) => !ours.includes(ref));
        if (others.length === 0) await this.docker.getImage(image.Id).remove().catch(ignore404);
        pruned.push({ id: image.Id, references: ours });
        log.info(`Removed ${ours.length > 0 ? ours.join(', ') : image.Id} (no container uses it)${others.length > 0 ? `; the image stays as ${others[0]}` : ''}`);
      } catch (error) {
        log.info(`Kept image ${ours[0] ?? image.Id}: ${engineMessage(error)}`);
      }
    }
    return pruned;
  }
}

/** `registry/repo` of `registry/repo:tag` or `registry/repo@sha256:…`. */
export function repositoryOf(reference: string): string {
  const at = reference.indexOf('@');
  if (at >= 0) return reference.slice(0, at);
  const colon = reference.lastIndexOf(':');
  return colon > reference.lastIndexOf('/') ? reference.slice(0, colon) : reference;
}

function ignore404(error: unknown): void {
  if (statusOf(error) !== 404) throw error;
}
