import type Docker from 'dockerode';
import { rolloutDurationMs } from '../rollout/spec';
import { InputError, ResourceError, quote } from '../inputs/errors';
import { formatDuration } from '../inputs/parse';
import { deployedServerIdentity, type DeploySpec } from '../serving/deploy-spec';
import {
  DeployError,
  type DeployImage,
  type DeployLock,
  type DrainOptions,
  type Log,
  type NewServer,
  type PreparedImage,
  type PrunedImage,
  type PrunePreparedOptions,
  type RemovalReport,
  type RequestCount,
  type ServerFailure,
  type ServingEngine,
  type StartedServers,
} from '../serving/engine';
import { parseServerLabels, routingLabels, serverLabels, versionServiceName } from '../serving/labels';
import { checkRoutingAgainst } from '../serving/routing-check';
import { serverContainerName } from '../serving/names';
import type { ManagedServer } from '../serving/server';
import { TraefikApi } from '../traefik/api';
import { connectEngine, type Engine } from './connection';
import { STOP_TIMEOUT_S, httpHealthCheck, lastLogLines, listManagedContainers, removeContainer, serverEnvironment, serverHealthcheck } from './containers';
import { drainContainer } from './drain';
import { deviceRequests, describeGpus } from './gpus';
import { acquireLock } from './lock';
import { ensureImage, type PulledImage } from './pull';
import { PREPARED_REPOSITORY, prepareImage, prunePrepared } from './prepared';
import { readRequestCount } from './server-metrics';
import { containerRuntime, ulimitRefusal } from './server-runtime';
import { engineMessage, statusOf } from './errors';
import { ContainerWatch } from './watch';
import { waitReady } from '../serving/readiness';
import { checkAll } from '../async/checks';

/** How long a server without a health check must keep running to count as started. */
const NO_HEALTHCHECK_STEADY_MS = 2000;

/** The Docker Engine: servers are containers that Traefik's Docker provider discovers by label. */
export class DockerEngine implements ServingEngine {
  readonly kind = 'docker' as const;
  readonly unit = 'server' as const;
  /** Started servers' event watches, opened before their start and handed to waitServing. */
  private readonly watches = new Map<StartedServers, ContainerWatch>();
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
    const networkCheck = this.docker
      .getNetwork(network)
      .inspect()
      .catch((error: unknown) => {
        if (statusOf(error) === 404) throw new InputError('network', `no Docker network ${quote(network)} on the engine at ${this.endpoint} (create it, or name the network Traefik watches)`);
        throw new ResourceError(`Docker Engine at ${this.endpoint}`, engineMessage(error));
      });
    await checkAll([
      networkCheck,
      spec.traefikApi ? new TraefikApi(spec.traefikApi).check() : undefined,
      this.checkCpus(spec),
      // File routing gives every version labels of its own: nothing to conflict.
      spec.routingChoice.mode === 'labels' ? listManagedContainers(this.docker, service).then((servers) => checkRoutingAgainst(servers, routingLabels(spec.routing), service)) : undefined,
    ]);
  }

  /** The engine refuses a CPU limit above the host's CPUs only when it creates the container: say so first. */
  private async checkCpus(spec: DeploySpec): Promise<void> {
    const nanoCpus = spec.process.nanoCpus;
    if (nanoCpus === undefined) return;
    const { NCPU } = (await this.docker.info()) as { NCPU?: number };
    if (NCPU && nanoCpus > NCPU * 1e9) throw new InputError('cpus', `the Docker Engine at ${this.endpoint} has ${NCPU} CPUs, fewer than the ${nanoCpus / 1e9} asked for`);
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
        throw new ResourceError(`Docker Engine at ${this.endpoint}`, `has no GPU runtime, so gpus (${describeGpus(spec.gpus)}) cannot be given to the servers: install the NVIDIA Container Toolkit on the host (engine said: ${message})`);
      }
    } finally {
      await removeContainer(this.docker, probe.id);
    }
  }

  async pullImage(spec: DeploySpec, log: Log): Promise<DeployImage> {
    const image = await ensureImage(this.docker, spec.image, spec.credentials, log);
    await this.checkGpus(spec, image);
    return deployImage(image);
  }

  prepareImage(spec: DeploySpec): Promise<PreparedImage> {
    return prepareImage(this.docker, spec);
  }

  prunePrepared(options: PrunePreparedOptions, log: Log): Promise<PrunedImage[]> {
    return prunePrepared(this.docker, options, log);
  }

  async lockDeploy(spec: DeploySpec, image: DeployImage, log: Log): Promise<DeployLock> {
    const { service } = spec.routing;
    const leaseMs = 2 * spec.healthTimeoutMs + 3 * spec.drainTimeoutMs + STOP_TIMEOUT_S * 1000 + 120_000 + rolloutDurationMs(spec.progressive);
    const lockOptions = { leaseMs, waitMs: leaseMs, purpose: `deploy of ${service}`, runUrl: spec.provenance.runUrl, log };
    try {
      // The lock container uses the image, which keeps a concurrent retire from pruning it.
      return (await acquireLock(this.docker, service, { ...lockOptions, image: image.id }))!;
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
      // Pruned between the pull and the lock: pull again.
      const again = await ensureImage(this.docker, spec.image, spec.credentials);
      return (await acquireLock(this.docker, service, { ...lockOptions, image: again.id }))!;
    }
  }

  async removeServer(server: ManagedServer): Promise<void> {
    await removeContainer(this.docker, server.id);
  }

  async startServers(spec: DeploySpec, image: DeployImage, count: number, log: Log): Promise<StartedServers> {
    const { service, network } = spec.routing;
    const httpHealth = httpHealthCheck(spec);
    const labels = serverLabels(spec.routing, deployedServerIdentity(spec, image.digest, new Date()), 'docker', spec.routingChoice.mode, httpHealth);
    const started: StartedServers = { ids: [], names: [] };
    try {
      for (let i = 0; i < count; i++) {
        const name = serverContainerName(service, image.digest);
        const { HostConfig: limits, ...argv } = containerRuntime(spec.process);
        const container = await this.docker.createContainer({
          name,
          Image: image.reference.includes('@') ? image.reference : image.id,
          Env: serverEnvironment(spec, image.digest),
          Labels: labels,
          ...argv,
          ...(httpHealth ? { Healthcheck: { Test: ['NONE'] } } : serverHealthcheck(spec, image.healthcheck)),
          StopTimeout: STOP_TIMEOUT_S,
          HostConfig: {
            ...limits,
            NetworkMode: network,
            RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
            ...(spec.gpus ? { DeviceRequests: deviceRequests(spec.gpus) } : {}),
          },
          NetworkingConfig: { EndpointsConfig: { [network]: {} } },
        });
        started.ids.push(container.id);
        started.names.push(name);
      }
      // Subscribed before the start, so no health change is missed.
      this.watches.set(started, await ContainerWatch.open(this.docker, started.ids));
      for (const id of started.ids) await this.docker.getContainer(id).start();
    } catch (error) {
      this.watches.get(started)?.close();
      await Promise.all(started.ids.map((id) => removeContainer(this.docker, id)));
      throw ulimitRefusal(engineMessage(error), spec.process.ulimits, `the Docker Engine at ${this.endpoint}`) ?? error;
    }
    const awaited = httpHealth ? `GET ${httpHealth.path} to answer 2xx` : spec.healthCmd || image.healthcheck ? 'healthy' : 'running';
    log.info(`Started ${started.names.join(', ')}; waiting up to ${formatDuration(spec.healthTimeoutMs)} for ${awaited}`);
    return started;
  }

  async waitServing(spec: DeploySpec, image: DeployImage, started: StartedServers): Promise<{ servers: NewServer[] } | { failure: ServerFailure }> {
    const watch = this.watches.get(started) ?? (await ContainerWatch.open(this.docker, started.ids));
    this.watches.delete(started);
    const httpHealth = httpHealthCheck(spec);
    const admit = httpHealth ? (id: string, deadline: number) => this.answers(watch, id, spec, httpHealth.path, deadline) : undefined;
    const failure = await waitUntilServing(watch, started, spec.healthTimeoutMs, !httpHealth && Boolean(spec.healthCmd ?? image.healthcheck), admit).finally(() => watch.close());
    if (failure) return { failure };
    const servers: NewServer[] = [];
    for (const [i, id] of started.ids.entries()) {
      const info = await this.docker.getContainer(id).inspect();
      const ip = info.NetworkSettings.Networks[spec.routing.network]?.IPAddress;
      servers.push({ id, name: started.names[i]!, digest: image.digest, url: ip ? `http://${ip}:${spec.routing.port}` : undefined, reused: false });
    }
    return { servers };
  }

  /** A running server's first 2xx on `path`; a failure as soon as it exits or is removed. */
  private async answers(watch: ContainerWatch, id: string, spec: DeploySpec, path: string, deadline: number): Promise<ServerFailure | 'ok'> {
    const info = await this.docker.getContainer(id).inspect();
    const ip = info.NetworkSettings.Networks[spec.routing.network]?.IPAddress;
    if (!ip) return { id, problem: `has no address on ${spec.routing.network}` };
    const problem = await waitReady(`http://${ip}:${spec.routing.port}`, path, Math.max(1000, deadline - Date.now()), () => {
      const status = watch.status(id);
      if (!status.exists) return 'was removed by someone else while starting';
      if (status.died) return `exited with code ${status.exitCode ?? '?'} before it answered GET ${path}`;
      return undefined;
    });
    return problem ? { id, problem: `was not ready: ${problem}` } : 'ok';
  }

  async discardStarted(started: StartedServers, image: DeployImage, failure: ServerFailure): Promise<DeployError> {
    this.watches.get(started)?.close();
    this.watches.delete(started);
    const subject = Math.max(0, started.ids.indexOf(failure.id ?? ''));
    const name = started.names[subject]!;
    const logs = await lastLogLines(this.docker, started.ids[subject]!, 50);
    await Promise.all(started.ids.map((id) => removeContainer(this.docker, id)));
    return new DeployError(
      `New server ${name} (${image.reference}) ${failure.problem}. ` +
        `Removed the ${started.ids.length} new server${started.ids.length === 1 ? '' : 's'}; the older servers were not touched and keep serving.\n` +
        `Last 50 log lines of ${name}:\n${logs || '(no output)'}`,
    );
  }

  scaleVersion(): Promise<void> {
    return Promise.reject(new Error('the Docker engine counts servers, not versions: nothing to scale'));
  }

  serversOf(reused: readonly ManagedServer[]): Promise<NewServer[]> {
    return Promise.resolve(reused.map((server) => ({ id: server.id, name: server.name, digest: server.digest, url: server.url, reused: true })));
  }

  confirmRouted(spec: DeploySpec, servers: readonly NewServer[]): Promise<string | undefined> {
    return confirmListed(spec, servers, 'docker', `is Traefik watching network ${spec.routing.network}?`);
  }

  listServers(service?: string): Promise<ManagedServer[]> {
    return listManagedContainers(this.docker, service);
  }

  readRequests(server: ManagedServer): Promise<RequestCount> {
    return readRequestCount(server.url, undefined, parseServerLabels(server.labels).metrics);
  }

  async tryLockService(service: string, log: Log, leaseMs: number): Promise<DeployLock | undefined> {
    const servers = await listManagedContainers(this.docker, service);
    const image = servers.find((server) => server.imageId)?.imageId;
    if (!image) return { release: async () => {}, stillHeld: () => Promise.resolve(true) };
    return acquireLock(this.docker, service, { image, leaseMs, waitMs: 0, purpose: `retire of ${service}`, log });
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
      // Prepared for a deploy that has not come yet: prunePrepared decides by its age.
      if (references.some((ref) => ref.startsWith(`${PREPARED_REPOSITORY}/`))) continue;
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

/**
 * Wait until every started container serves; the first failure ends the wait. With `admit`, a
 * running container serves once `admit` says so (its first 2xx on health-path).
 */
async function waitUntilServing(watch: ContainerWatch, started: StartedServers, timeoutMs: number, hasHealthCheck: boolean, admit?: (id: string, deadline: number) => Promise<ServerFailure | 'ok'>): Promise<ServerFailure | undefined> {
  const deadline = Date.now() + timeoutMs;
  // Without a health check, "ready" is running for a moment, so a server that exits at once is caught.
  const steadyAfter = admit ? 0 : Date.now() + NO_HEALTHCHECK_STEADY_MS;
  const outcomes = started.ids.map(async (id) => {
    const running = await watch.until<ServerFailure | 'ok'>(
      id,
      (status) => {
        if (!status.exists) return { id, problem: 'was removed by someone else while starting' };
        if (status.died) return { id, problem: `exited with code ${status.exitCode ?? '?'} before it became ${hasHealthCheck ? 'healthy' : 'ready'}` };
        if (status.health === 'unhealthy') return { id, problem: `reported unhealthy${status.lastProbe ? ` (last probe: ${status.lastProbe})` : ''}` };
        if (hasHealthCheck ? status.health === 'healthy' : status.state === 'running' && Date.now() >= steadyAfter) return 'ok';
        return undefined;
      },
      timeoutMs,
      (status) => ({ id, problem: `was not ${hasHealthCheck ? 'healthy' : 'running'} within ${formatDuration(timeoutMs)} (health: ${status.health}${status.lastProbe ? `; last probe: ${status.lastProbe}` : ''})` }),
    );
    return running === 'ok' && admit ? admit(id, deadline) : running;
  });
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

export function deployImage(image: PulledImage & { pulled: boolean }): DeployImage {
  return { digest: image.digest, reference: image.reference, id: image.id, healthcheck: Boolean(image.healthcheck), pulled: image.pulled, entrypoint: image.entrypoint, cmd: image.cmd };
}

/** Label routing's confirmation: Traefik's API lists every server UP under `<service>@<provider>`. */
export async function confirmListed(spec: DeploySpec, servers: readonly NewServer[], provider: 'docker' | 'swarm', hint: string): Promise<string | undefined> {
  if (!spec.traefikApi) return undefined;
  const urls = servers.map((server) => server.url).filter((url): url is string => Boolean(url));
  // File routing: each version is its own Traefik service, which must be UP before it gets weight.
  const name = spec.routingChoice.mode === 'file' && servers[0] ? versionServiceName(spec.routing.service, servers[0].digest) : spec.routing.service;
  const listed = await new TraefikApi(spec.traefikApi, provider).waitForUp(name, urls, spec.healthTimeoutMs);
  if (listed) return undefined;
  return `Traefik (${spec.traefikApi}) did not list ${urls.join(', ')} UP for ${name}@${provider} within ${formatDuration(spec.healthTimeoutMs)} (${hint})`;
}
