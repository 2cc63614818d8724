import type Docker from 'dockerode';
import { rolloutDurationMs } from '../rollout/spec';
import { networkInterfaces } from 'node:os';
import { InputError, ResourceError, quote } from '../inputs/errors';
import { formatDuration } from '../inputs/parse';
import type { DeploySpec } from '../serving/deploy-spec';
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
import { LABELS, parseServerLabels, routingLabels, shortDigest } from '../serving/labels';
import { checkRoutingAgainst } from '../serving/routing-check';
import type { ManagedServer } from '../serving/server';
import { TraefikApi } from '../traefik/api';
import { connectEngine, type Engine } from './connection';
import { readLogTail } from './log-tail';
import { confirmListed, deployImage, DockerEngine } from './docker-engine';
import { acquireStoreLock } from './lock';
import { ensureImage } from './pull';
import { readRequestCount } from './server-metrics';
import { ulimitRefusal } from './server-runtime';
import { drainVersion, inspectService, listTasksOf, VanishedService } from './swarm-drain';
import { swarmLockStore } from './swarm-lock';
import { pruneSwarmImages } from './swarm-prune';
import { versionServiceSpec } from './swarm-spec';
import { engineMessage, statusOf } from './errors';
import { assessRollout, describeTask, inSubnet, summarizeTasks, TASK_FAILURES, taskName, taskUrl, versionFromService, type SwarmService, type SwarmTask, type SwarmVersion } from './swarm-state';

/** How long a version without a health check must keep running to count as started. */
const NO_HEALTHCHECK_STEADY_MS = 2000;
const POLL_MS = 500;

interface SwarmInfo {
  LocalNodeState?: string;
  ControlAvailable?: boolean;
  NodeID?: string;
  Error?: string;
}

interface NetworkFacts {
  id: string;
  subnets: string[];
}

/**
 * Docker Swarm: each model version of a service is one Swarm service, `<service>-<12 hex of the
 * digest>`, with `replicas` tasks, Traefik's labels (Swarm provider) and the toolkit's on the
 * service. Versions sit side by side exactly as containers do in docker mode, so `strategy: add`,
 * the drain of older versions and retire keep their meaning. Under `routing: labels` Traefik merges
 * the versions' tasks into one load balancer because their routing labels are identical; under
 * `routing: file` each version is Traefik's service `<service>-<version>@swarm` with a pinned
 * router, weighted by the routing file (docs/routing.md). See README "engine: swarm".
 */
export class SwarmEngine implements ServingEngine {
  readonly kind = 'swarm' as const;
  readonly unit = 'version' as const;
  readonly endpoint: string;
  readonly docker: Docker;
  /** This node's engine, for what Swarm leaves to each node: pulling and pruning images. */
  private readonly node: DockerEngine;
  private readonly networks = new Map<string, Promise<NetworkFacts | undefined>>();
  private localNodeId?: string;
  /** When the tasks of the versions this engine removed have ended on every node at the latest (removal + stop grace period). */
  private tasksEndBy = 0;

  /**
   * @param nodePruneImage retire's `node-prune-image`: an image with a Docker CLI that prunes
   * images on every node (src/engine/swarm-prune.ts); without it, only this node is pruned.
   */
  constructor(
    readonly engine: Engine,
    private readonly nodePruneImage?: string,
  ) {
    this.docker = engine.docker;
    this.endpoint = engine.endpoint;
    this.node = new DockerEngine(engine);
  }

  static async connect(dockerHost: string | undefined, nodePruneImage?: string): Promise<SwarmEngine> {
    const engine = new SwarmEngine(await connectEngine(dockerHost), nodePruneImage);
    await engine.requireManager();
    return engine;
  }

  async close(): Promise<void> {}

  /** Swarm's API answers only on a manager: say so before anything else. */
  private async requireManager(): Promise<string> {
    if (this.localNodeId) return this.localNodeId;
    const info = (await this.docker.info()) as { Swarm?: SwarmInfo };
    const swarm = info.Swarm ?? {};
    if (swarm.LocalNodeState !== 'active' || !swarm.ControlAvailable || !swarm.NodeID) {
      const state = swarm.LocalNodeState === 'active' ? 'a worker, not a manager' : `not in a swarm (state: ${swarm.LocalNodeState || 'unknown'}${swarm.Error ? `, ${swarm.Error}` : ''})`;
      throw new ResourceError(`Docker Engine at ${this.endpoint}`, `is ${state}; engine swarm needs a Swarm manager: run the job on a manager node (or point docker-host at one), or create a swarm with docker swarm init`);
    }
    this.localNodeId = swarm.NodeID;
    return swarm.NodeID;
  }

  private network(name: string): Promise<NetworkFacts | undefined> {
    let known = this.networks.get(name);
    if (!known) {
      known = (async () => {
        try {
          const info = (await this.docker.getNetwork(name).inspect()) as { Id: string; Name: string; Scope?: string; Driver?: string; IPAM?: { Config?: { Subnet?: string }[] } };
          if (info.Scope !== 'swarm') {
            throw new InputError(
              'network',
              `${quote(name)} is a ${info.Scope ?? 'local'}-scope ${info.Driver ?? ''} network; Swarm services attach to swarm-scope networks: create one with docker network create --driver overlay --attachable ${name}, and attach Traefik to it`,
            );
          }
          return { id: info.Id, subnets: (info.IPAM?.Config ?? []).map((config) => config.Subnet ?? '').filter(Boolean) };
        } catch (error) {
          if (statusOf(error) === 404) return undefined;
          if (error instanceof InputError) throw error;
          throw new ResourceError(`Docker Engine at ${this.endpoint}`, engineMessage(error));
        }
      })();
      this.networks.set(name, known);
    }
    return known;
  }

  /**
   * Tasks' addresses are on the swarm's overlay network, which a runner reaches only when it is
   * attached to it (a runner container on the `--attachable` network). Anywhere else the address
   * is not routed (and may lead somewhere else entirely), so no request is sent to it.
   */
  private async canReach(network: string): Promise<boolean> {
    const facts = await this.network(network).catch(() => undefined);
    if (!facts) return false;
    const addresses = Object.values(networkInterfaces())
      .flat()
      .filter((entry) => entry && entry.family === 'IPv4' && !entry.internal)
      .map((entry) => entry!.address);
    return addresses.some((address) => facts.subnets.some((subnet) => inSubnet(address, subnet)));
  }

  async checkDeploy(spec: DeploySpec): Promise<void> {
    await this.requireManager();
    const { network, service } = spec.routing;
    if (!(await this.network(network))) {
      throw new InputError('network', `no Swarm network ${quote(network)} on the engine at ${this.endpoint} (create it with docker network create --driver overlay --attachable ${network}, and attach Traefik to it)`);
    }
    if (spec.options.healthPath && !spec.options.rollback && !(await this.canReach(network))) {
      throw new InputError(
        'health-path',
        `engine swarm: this runner is not attached to network ${quote(network)}, so it cannot probe the tasks' ${spec.options.healthPath} (their addresses are on that overlay network); run the runner as a container attached to it (docker run --network ${network} …, or docker network connect ${network} <runner>), or drop health-path and give health-cmd so Swarm checks readiness itself`,
      );
    }
    if (spec.traefikApi) await new TraefikApi(spec.traefikApi, 'swarm').check();
    const routed = (await this.listVersions(service)).map((version) => version.server).filter((server) => !server.labels[LABELS.draining]);
    // File routing gives every version labels of its own: nothing to conflict.
    if (spec.routingChoice.mode === 'labels') checkRoutingAgainst(routed, routingLabels(spec.routing, 'swarm'), service);
  }

  private async listVersions(service?: string): Promise<SwarmVersion[]> {
    const label = [`${LABELS.managed}=true`, ...(service ? [`${LABELS.service}=${service}`] : [])];
    const services = (await this.docker.listServices({ filters: { label } })) as unknown as SwarmService[];
    const tasks = await listTasksOf(
      this.docker,
      services.map((s) => s.ID),
    );
    return services.map((s) => versionFromService(s, tasks));
  }

  async pullImage(spec: DeploySpec, log: Log): Promise<DeployImage> {
    await this.requireManager();
    // Pulled on this node to learn the digest (and so a task here starts at once); every node
    // that runs a task pulls it by that digest with the credentials the service was created with.
    const image = await ensureImage(this.docker, spec.image, spec.credentials, log);
    if (!image.reference.includes('@')) {
      log.warning(`${spec.image.text} comes from no registry (no manifest digest): only nodes that already hold it can run its tasks; push it to a registry and deploy it by digest`);
    }
    if (spec.credentials && !spec.nodeCredentials && /^ghs_/.test(spec.credentials.password)) {
      log.warning(
        `Swarm keeps registry-password with the service for later pulls on any node (a task rescheduled onto a node without the image); a GitHub job token stops working when this job ends, and such a pull then fails: give node-registry-username and node-registry-password, a read-only credential that lives on`,
      );
    }
    return deployImage(image);
  }

  async lockDeploy(spec: DeploySpec, _image: DeployImage, log: Log): Promise<DeployLock> {
    const { service } = spec.routing;
    const leaseMs = 2 * spec.healthTimeoutMs + 3 * spec.drainTimeoutMs + 180_000 + rolloutDurationMs(spec.progressive);
    return (await acquireStoreLock(swarmLockStore(this.docker, service), service, { leaseMs, waitMs: leaseMs, purpose: `deploy of ${service}`, runUrl: spec.provenance.runUrl, log }))!;
  }

  async removeServer(server: ManagedServer): Promise<void> {
    await this.removeService(server.id);
  }

  async startServers(spec: DeploySpec, image: DeployImage, _count: number, log: Log): Promise<StartedServers> {
    const networkFacts = (await this.network(spec.routing.network))!;
    const serviceSpec = versionServiceSpec(spec, { reference: image.reference, digest: image.digest, healthcheck: image.healthcheck }, new Date(), networkFacts.id);
    // Swarm keeps this credential with the service for every later pull on any node.
    const pullCredential = spec.nodeCredentials ?? spec.credentials;
    const auth = pullCredential ? { username: pullCredential.username, password: pullCredential.password, serveraddress: spec.image.registry } : undefined;
    const handle = (await this.docker.createService(auth as unknown as Record<string, unknown>, serviceSpec as unknown as Docker.CreateServiceOptions)) as unknown as { id: string };
    const hasHealthCheck = Boolean(spec.healthCmd ?? image.healthcheck);
    log.info(`Created Swarm service ${serviceSpec.Name} with ${spec.replicas} task(s); waiting up to ${formatDuration(spec.healthTimeoutMs)} for ${hasHealthCheck ? 'them to pass their health check' : 'them to run'}`);
    return { ids: [handle.id], names: [serviceSpec.Name] };
  }

  async waitServing(spec: DeploySpec, image: DeployImage, started: StartedServers): Promise<{ servers: NewServer[] } | { failure: ServerFailure }> {
    const created = await inspectService(this.docker, started.ids[0]!);
    const outcome = await this.waitForRollout(created, spec.replicas, spec.healthTimeoutMs, Boolean(spec.healthCmd ?? image.healthcheck));
    if (outcome.kind !== 'running') {
      const refusal = ulimitRefusal(outcome.problem, spec.process.ulimits, "the Docker Engine of the task's node");
      return { failure: { id: outcome.kind === 'failed' ? outcome.task.ID : undefined, problem: refusal ? `${outcome.problem} (${refusal.message})` : outcome.problem } };
    }
    return { servers: this.tasksOf(await this.readVersion(created.ID), false) };
  }

  /** The failed version's task errors and last log lines; then the version is removed. */
  async discardStarted(started: StartedServers, image: DeployImage, failure: ServerFailure): Promise<DeployError> {
    const [id, name] = [started.ids[0]!, started.names[0]!];
    const tasks = await listTasksOf(this.docker, [id]).catch(() => [] as SwarmTask[]);
    const troubled = tasks.filter((task) => TASK_FAILURES.includes(task.Status.State)).map((task) => `  ${describeTask(name, task)}`);
    const subject = tasks.find((task) => task.ID === failure.id) ?? tasks.find((task) => task.Status.ContainerStatus?.ContainerID) ?? tasks[0];
    const logs = subject ? await this.taskLogs(subject.ID) : '';
    await this.removeService(id).catch(() => {});
    return new DeployError(
      `New version ${name} (${image.reference}) ${failure.problem}. ` +
        `Removed the Swarm service ${name}; the older versions were not touched and keep serving.\n` +
        (troubled.length > 0 ? `Task errors:\n${troubled.join('\n')}\n` : '') +
        (subject ? `Last 50 log lines of task ${taskName(name, subject)}:\n${logs || '(no output)'}` : ''),
    );
  }

  async scaleVersion(server: ManagedServer, spec: DeploySpec, log: Log): Promise<void> {
    const version = await this.readVersion(server.id);
    log.info(`${server.name} already serves ${shortDigest(server.digest)}: scaling it from ${version.replicas} to ${spec.replicas} task(s)`);
    await this.scale(version.service, spec.replicas);
    const outcome = await this.waitForRollout(version.service, spec.replicas, spec.healthTimeoutMs, false, new Set(version.tasks.map((task) => task.ID)));
    if (outcome.kind === 'failed') throw new ResourceError(`Service ${spec.routing.service}`, `scaling ${server.name} to ${spec.replicas}: ${outcome.problem}`);
  }

  async serversOf(reused: readonly ManagedServer[]): Promise<NewServer[]> {
    const versions = await Promise.all(reused.map((server) => this.readVersion(server.id)));
    return versions.flatMap((version) => this.tasksOf(version, true));
  }

  confirmRouted(spec: DeploySpec, servers: readonly NewServer[]): Promise<string | undefined> {
    return confirmListed(spec, servers, 'swarm', `is Traefik's Swarm provider on, and attached to network ${spec.routing.network}?`);
  }

  /** One NewServer per running task of the version: the tasks are what Traefik routes to. */
  private tasksOf(version: SwarmVersion, reused: boolean): NewServer[] {
    const { network, port } = parseServerLabels(version.server.labels);
    return version.running.map((task) => ({
      id: task.ID,
      name: taskName(version.server.name, task),
      digest: version.server.digest,
      url: taskUrl(task, network, port),
      reused,
    }));
  }

  private async readVersion(id: string): Promise<SwarmVersion> {
    const service = await inspectService(this.docker, id);
    return versionFromService(service, await listTasksOf(this.docker, [id]));
  }

  private async scale(service: SwarmService, replicas: number): Promise<void> {
    let current = service;
    for (let attempt = 1; ; attempt++) {
      const spec = { ...current.Spec, Mode: { Replicated: { Replicas: replicas } } };
      try {
        await this.docker.getService(current.ID).update({ _query: { version: current.Version.Index }, _body: spec });
        return;
      } catch (error) {
        if (attempt < 5 && /out of sequence/i.test(engineMessage(error))) {
          current = await inspectService(this.docker, current.ID);
          continue;
        }
        throw new ResourceError(`Service ${current.Spec.Name}`, engineMessage(error));
      }
    }
  }

  /**
   * Poll the version's tasks until `replicas` run (for a version without a health check: run for
   * a moment, so a server that exits at once is caught), one fails, or the time is up.
   */
  private async waitForRollout(
    service: SwarmService,
    replicas: number,
    timeoutMs: number,
    hasHealthCheck: boolean,
    earlier: ReadonlySet<string> = new Set(),
  ): Promise<{ kind: 'running' } | { kind: 'failed'; task: SwarmTask; problem: string } | { kind: 'timeout'; problem: string }> {
    const deadline = Date.now() + timeoutMs;
    let steadySince: number | undefined;
    let last = '';
    for (;;) {
      const tasks = await listTasksOf(this.docker, [service.ID]);
      const rollout = assessRollout(service.Spec.Name, tasks, replicas, earlier);
      if (rollout.kind === 'failed') return rollout;
      if (rollout.kind === 'running') {
        steadySince ??= Date.now();
        if (hasHealthCheck || Date.now() - steadySince >= NO_HEALTHCHECK_STEADY_MS) return { kind: 'running' };
      } else {
        steadySince = undefined;
        last = rollout.summary;
      }
      if (Date.now() >= deadline) {
        const probe = await this.lastProbe(tasks);
        return { kind: 'timeout', problem: `was not running within ${formatDuration(timeoutMs)} (${last || summarizeTasks(service.Spec.Name, tasks)}${probe ? `; last probe: ${probe}` : ''})` };
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** The last health probe of a task still starting on this node, for the timeout message. */
  private async lastProbe(tasks: readonly SwarmTask[]): Promise<string | undefined> {
    const starting = tasks.find((task) => task.DesiredState === 'running' && task.Status.State === 'starting' && task.NodeID === this.localNodeId);
    const id = starting?.Status.ContainerStatus?.ContainerID;
    if (!id) return undefined;
    try {
      const info = await this.docker.getContainer(id).inspect();
      const log = info.State.Health?.Log ?? [];
      const last = log[log.length - 1];
      return last ? `exit ${last.ExitCode}: ${last.Output.trim().slice(0, 300)}` : undefined;
    } catch {
      return undefined;
    }
  }

  private async taskLogs(taskId: string): Promise<string> {
    try {
      return (await readLogTail(this.docker, 'tasks', taskId, 50)).trimEnd();
    } catch (error) {
      return `(logs unavailable: ${engineMessage(error)})`;
    }
  }

  private async removeService(id: string): Promise<void> {
    try {
      await this.docker.getService(id).remove();
    } catch (error) {
      if (statusOf(error) !== 404) throw new ResourceError(`Swarm service ${id}`, engineMessage(error));
    }
  }

  async listServers(service?: string): Promise<ManagedServer[]> {
    await this.requireManager();
    return (await this.listVersions(service)).map((version) => version.server);
  }

  /** The version's request counter: the sum over its running tasks, read on the overlay network. */
  async readRequests(server: ManagedServer): Promise<RequestCount> {
    const { network, port, metrics } = parseServerLabels(server.labels);
    if (!network) return { readable: false, problem: `${server.name} has no traefik.swarm.network label` };
    if (!(await this.canReach(network))) {
      return {
        readable: false,
        problem: `this runner is not attached to network ${network}, so it cannot read the tasks' /metrics (run the runner as a container on that --attachable network to use in-use-window with engine swarm)`,
      };
    }
    let version: SwarmVersion;
    try {
      version = await this.readVersion(server.id);
    } catch (error) {
      if (error instanceof VanishedService) return { readable: false, problem: `${server.name} is gone` };
      throw error;
    }
    const urls = version.running.map((task) => taskUrl(task, network, port));
    if (urls.length === 0 || urls.some((url) => !url)) return { readable: false, problem: `${server.name} has no running task with an address on ${network}` };
    const counts = await Promise.all(urls.map((url) => readRequestCount(url, undefined, metrics)));
    let requests = 0;
    let inFlight = 0;
    for (const count of counts) {
      if (!count.readable) return count;
      requests += count.requests;
      inFlight += count.inFlight ?? 0;
    }
    return { readable: true, requests, inFlight };
  }

  async tryLockService(service: string, log: Log, leaseMs: number): Promise<DeployLock | undefined> {
    return acquireStoreLock(swarmLockStore(this.docker, service), service, { leaseMs, waitMs: 0, purpose: `retire of ${service}`, log });
  }

  async drainAndRemove(server: ManagedServer, options: DrainOptions, log: Log): Promise<RemovalReport> {
    const localNodeId = await this.requireManager();
    const onRemoved = (graceMs: number) => {
      this.tasksEndBy = Math.max(this.tasksEndBy, Date.now() + graceMs);
    };
    const report = await drainVersion({ docker: this.docker, localNodeId, canReach: (network) => this.canReach(network), onRemoved }, server, options);
    if (report.warning) log.warning(report.warning);
    log.info(`${report.outcome === 'vanished' ? 'Already gone' : 'Removed'}: ${server.name} (${report.outcome}, ${report.seconds}s)`);
    return report;
  }

  /** This node's images, then with `node-prune-image` every node's (src/engine/swarm-prune.ts). */
  pruneImages(seen: readonly ManagedServer[], retired: readonly ManagedServer[], log: Log): Promise<PrunedImage[]> {
    return pruneSwarmImages({ docker: this.docker, node: this.node, nodePruneImage: this.nodePruneImage, tasksEndBy: this.tasksEndBy }, seen, retired, log);
  }

  /**
   * Prepared on the node this runner talks to (a manager), like the pull that learns a deploy's
   * digest: a task scheduled here starts without a pull; other nodes pull when Swarm gives them a task.
   */
  async prepareImage(spec: DeploySpec, log: Log): Promise<PreparedImage> {
    await this.requireManager();
    const prepared = await this.node.prepareImage(spec);
    log.info(`engine swarm: prepared on this node (${this.endpoint}) only; other nodes pull ${shortDigest(prepared.digest)} when Swarm gives them a task`);
    return prepared;
  }

  prunePrepared(options: PrunePreparedOptions, log: Log): Promise<PrunedImage[]> {
    return this.node.prunePrepared(options, log);
  }
}
