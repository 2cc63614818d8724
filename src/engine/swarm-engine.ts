import type Docker from 'dockerode';
import { networkInterfaces } from 'node:os';
import { InputError, ResourceError, quote } from '../inputs/errors';
import { formatDuration } from '../inputs/parse';
import type { DeploySpec } from '../serving/deploy-spec';
import { planDeploy } from '../serving/deploy-plan';
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
import { LABELS, parseServerLabels, routingLabels, shortDigest } from '../serving/labels';
import { mapLimit, PARALLEL_REMOVALS } from '../serving/limit';
import { checkRoutingAgainst } from '../serving/routing-check';
import type { ManagedServer } from '../serving/server';
import { TraefikApi } from '../traefik/api';
import { connectEngine, type Engine } from './connection';
import { demuxLogs } from './containers';
import { DockerEngine } from './docker-engine';
import { acquireStoreLock, type HeldLock } from './lock';
import { ensureImage, type PulledImage } from './pull';
import { readRequestCount } from './server-metrics';
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
 * the drain of older versions and retire keep their meaning; Traefik merges the versions' tasks
 * into one load balancer because their routing labels are identical. See README "engine: swarm".
 */
export class SwarmEngine implements ServingEngine {
  readonly kind = 'swarm' as const;
  readonly endpoint: string;
  readonly docker: Docker;
  /** This node's engine, for what Swarm leaves to each node: pulling and pruning images. */
  private readonly node: DockerEngine;
  private readonly networks = new Map<string, Promise<NetworkFacts | undefined>>();
  private localNodeId?: string;

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
      throw new ResourceError(
        `Docker Engine at ${this.endpoint}`,
        `is ${state}; engine swarm needs a Swarm manager: run the job on a manager node (or point docker-host at one), or create a swarm with docker swarm init`,
      );
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
    if (spec.traefikApi) await new TraefikApi(spec.traefikApi, 'swarm').check();
    const routed = (await this.listVersions(service)).map((version) => version.server).filter((server) => !server.labels[LABELS.draining]);
    checkRoutingAgainst(routed, routingLabels(spec.routing, 'swarm'), service);
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

  async deploy(spec: DeploySpec, log: Log): Promise<DeployResult> {
    const t0 = Date.now();
    const timings = { pullMs: 0, startMs: 0, healthyMs: 0, traefikMs: 0, drainMs: 0, totalMs: 0 };
    const { service } = spec.routing;
    await this.requireManager();

    // Pulled on this node to learn the digest (and so a task here starts at once); every node
    // that runs a task pulls it by that digest with the credentials the service was created with.
    const image = await ensureImage(this.docker, spec.image, spec.credentials);
    timings.pullMs = Date.now() - t0;
    log.info(`${image.pulled ? 'Pulled' : 'Found'} ${spec.image.text}${spec.image.text.includes(image.digest) ? '' : ` (digest ${image.digest})`} in ${formatDuration(timings.pullMs)}`);
    if (!image.reference.includes('@')) {
      log.warning(`${spec.image.text} comes from no registry (no manifest digest): only nodes that already hold it can run its tasks; push it to a registry and deploy it by digest`);
    }
    if (spec.credentials && !spec.nodeCredentials && /^ghs_/.test(spec.credentials.password)) {
      log.warning(`Swarm keeps registry-password with the service for later pulls on any node (a task rescheduled onto a node without the image); a GitHub job token stops working when this job ends, and such a pull then fails: give node-registry-username and node-registry-password, a read-only credential that lives on`);
    }
    if (!spec.healthCmd && !image.healthcheck) {
      log.warning(`${spec.image.text} declares no HEALTHCHECK and no health-cmd was given: Swarm reports each task running, and Traefik routes to it, as soon as it starts, before the model is ready`);
    }

    const leaseMs = 2 * spec.healthTimeoutMs + 3 * spec.drainTimeoutMs + 180_000;
    const lock = (await acquireStoreLock(swarmLockStore(this.docker, service), service, {
      leaseMs,
      waitMs: leaseMs,
      purpose: `deploy of ${service}`,
      runUrl: spec.provenance.runUrl,
      log,
    }))!;
    try {
      return await this.deployLocked(spec, image, lock, log, t0, timings);
    } finally {
      await lock.release();
    }
  }

  private async deployLocked(spec: DeploySpec, image: PulledImage, lock: HeldLock, log: Log, t0: number, timings: DeployResult['timings']): Promise<DeployResult> {
    const { service, network } = spec.routing;
    const versions = await this.listVersions(service);
    // One server per version: the version's own replicas are Swarm's business.
    const plan = planDeploy(
      versions.map((version) => version.server),
      image.digest,
      1,
      spec.strategy,
    );
    const byId = new Map(versions.map((version) => [version.server.id, version]));
    let kept = plan.reuse[0] ? byId.get(plan.reuse[0].id) : undefined;
    const rescale = kept !== undefined && kept.replicas !== spec.replicas;
    if (plan.unchanged && !rescale) {
      log.info(`${service} already serves ${shortDigest(image.digest)} with ${kept!.running.length} task(s) of ${kept!.server.name}: nothing to change`);
      timings.totalMs = Date.now() - t0;
      return { digest: image.digest, image: image.reference, servers: this.serversOf(kept!, new Set(kept!.running.map((task) => task.ID))), removed: [], unchanged: true, timings };
    }
    for (const leftover of plan.clear) {
      log.info(`Removing ${leftover.name}: same image, but not serving (${leftover.state}; left by an earlier deploy)`);
      await this.removeService(leftover.id);
    }

    let created: SwarmService | undefined;
    let confirmed = false;
    /** Tasks that served before this deploy: reported as reused. */
    let earlier = new Set(kept?.running.map((task) => task.ID) ?? []);
    try {
      const startAt = Date.now();
      if (kept && rescale) {
        log.info(`${kept.server.name} already serves ${shortDigest(image.digest)}: scaling it from ${kept.replicas} to ${spec.replicas} task(s)`);
        await this.scale(kept.service, spec.replicas);
        timings.startMs = Date.now() - startAt;
        const outcome = await this.waitForRollout(kept.service, spec.replicas, spec.healthTimeoutMs, false, new Set(kept.tasks.map((task) => task.ID)));
        if (outcome.kind === 'failed') throw new ResourceError(`Service ${service}`, `scaling ${kept.server.name} to ${spec.replicas}: ${outcome.problem}`);
        kept = await this.readVersion(kept.service.ID);
        timings.healthyMs = Date.now() - startAt - timings.startMs;
      } else if (!kept) {
        const networkFacts = (await this.network(network))!;
        const serviceSpec = versionServiceSpec(spec, { reference: image.reference, digest: image.digest, healthcheck: Boolean(image.healthcheck) }, new Date(), networkFacts.id);
        // Swarm keeps this credential with the service for every later pull on any node.
        const pullCredential = spec.nodeCredentials ?? spec.credentials;
        const auth = pullCredential ? { username: pullCredential.username, password: pullCredential.password, serveraddress: spec.image.registry } : undefined;
        const handle = (await this.docker.createService(auth as unknown as Record<string, unknown>, serviceSpec as unknown as Docker.CreateServiceOptions)) as unknown as { id: string };
        created = await inspectService(this.docker, handle.id);
        timings.startMs = Date.now() - startAt;
        const hasHealthCheck = Boolean(spec.healthCmd ?? image.healthcheck);
        log.info(`Created Swarm service ${serviceSpec.Name} with ${spec.replicas} task(s); waiting up to ${formatDuration(spec.healthTimeoutMs)} for ${hasHealthCheck ? 'them to pass their health check' : 'them to run'}`);
        const healthyAt = Date.now();
        const outcome = await this.waitForRollout(created, spec.replicas, spec.healthTimeoutMs, hasHealthCheck);
        if (outcome.kind !== 'running') throw await this.failDeploy(created, image, outcome.kind === 'failed' ? outcome : { problem: outcome.problem });
        timings.healthyMs = Date.now() - healthyAt;
        kept = await this.readVersion(created.ID);
        earlier = new Set();
      } else {
        log.info(`${kept.server.name} already serves ${shortDigest(image.digest)}: no new version needed`);
      }
      const servers = this.serversOf(kept, earlier);
      if (created) log.info(`Running: ${servers.map((s) => `${s.name} (${s.url ?? 'no address'})`).join(', ')} after ${formatDuration(timings.healthyMs)}`);

      if (spec.traefikApi) {
        const traefikAt = Date.now();
        const urls = servers.map((server) => server.url).filter((url): url is string => Boolean(url));
        const listed = await new TraefikApi(spec.traefikApi, 'swarm').waitForUp(service, urls, spec.healthTimeoutMs);
        if (!listed) {
          const problem = `Traefik (${spec.traefikApi}) did not list ${urls.join(', ')} UP for ${service}@swarm within ${formatDuration(spec.healthTimeoutMs)} (is Traefik's Swarm provider on, and attached to network ${network}?)`;
          if (!created) throw new ResourceError(`Service ${service}`, `${problem}; the older versions were not touched`);
          throw await this.failDeploy(created, image, { problem: `was running, but ${problem}` });
        }
        timings.traefikMs = Date.now() - traefikAt;
        log.info(`Traefik lists ${urls.length} server(s) UP for ${service}@swarm after ${formatDuration(timings.traefikMs)}`);
      }

      confirmed = true;
      const drainAt = Date.now();
      let removed: RemovalReport[] = [];
      if (plan.drain.length > 0) {
        if (!(await lock.stillHeld())) throw new ResourceError(`Service ${service}`, 'this deploy lost its lock (it outlived its lease and another run took it over); the older versions were left running');
        removed = await mapLimit(plan.drain, PARALLEL_REMOVALS, (server) => {
          log.info(`Draining ${server.name} (${shortDigest(server.digest)}, ${server.state})`);
          return this.drainAndRemove(server, { drainTimeoutMs: spec.drainTimeoutMs, traefikApi: spec.traefikApi }, log);
        });
        warnUndrainable(removed, log);
      } else if (spec.strategy === 'add' && versions.some((version) => version.server.digest !== image.digest)) {
        log.info(`strategy add: ${versions.filter((v) => v.server.digest !== image.digest).length} older version(s) keep serving beside the new one until retire removes them`);
      }
      timings.drainMs = Date.now() - drainAt;
      timings.totalMs = Date.now() - t0;
      return { digest: image.digest, image: image.reference, servers, removed, unchanged: false, timings };
    } catch (error) {
      if (error instanceof DeployError) throw error;
      // Anything else that broke before the new version was confirmed: leave the service as it was.
      if (!confirmed && created) await this.removeService(created.ID).catch(() => {});
      throw error;
    }
  }

  /** One NewServer per running task of the version: the tasks are what Traefik routes to. */
  private serversOf(version: SwarmVersion, reused: ReadonlySet<string>): NewServer[] {
    const { network, port } = parseServerLabels(version.server.labels);
    return version.running.map((task) => ({
      id: task.ID,
      name: taskName(version.server.name, task),
      digest: version.server.digest,
      url: taskUrl(task, network, port),
      reused: reused.has(task.ID),
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
        await this.docker.getService(current.ID).update({ _query: { version: current.Version.Index }, _body: spec } as unknown as Record<string, unknown>);
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

  /** The failed version's task errors and last log lines; then the version is removed. */
  private async failDeploy(created: SwarmService, image: PulledImage, failure: { task?: SwarmTask; problem: string }): Promise<DeployError> {
    const name = created.Spec.Name;
    const tasks = await listTasksOf(this.docker, [created.ID]).catch(() => [] as SwarmTask[]);
    const troubled = tasks.filter((task) => TASK_FAILURES.includes(task.Status.State)).map((task) => `  ${describeTask(name, task)}`);
    const subject = failure.task ?? tasks.find((task) => task.Status.ContainerStatus?.ContainerID) ?? tasks[0];
    const logs = subject ? await this.taskLogs(subject.ID) : '';
    await this.removeService(created.ID).catch(() => {});
    return new DeployError(
      `New version ${name} (${image.reference}) ${failure.problem}. ` +
        `Removed the Swarm service ${name}; the older versions were not touched and keep serving.\n` +
        (troubled.length > 0 ? `Task errors:\n${troubled.join('\n')}\n` : '') +
        (subject ? `Last 50 log lines of task ${taskName(name, subject)}:\n${logs || '(no output)'}` : ''),
    );
  }

  private async taskLogs(taskId: string): Promise<string> {
    try {
      const task = this.docker.getTask(taskId) as unknown as { logs(options: Record<string, unknown>): Promise<Buffer> };
      const raw = await task.logs({ stdout: true, stderr: true, tail: 50, follow: false });
      return demuxLogs(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw))).trimEnd();
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
    const { network, port } = parseServerLabels(server.labels);
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
    const counts = await Promise.all(urls.map((url) => readRequestCount(url)));
    let requests = 0;
    let inFlight = 0;
    for (const count of counts) {
      if (!count.readable) return count;
      requests += count.requests;
      inFlight += count.inFlight ?? 0;
    }
    return { readable: true, requests, inFlight };
  }

  async tryLockService(service: string, log: Log): Promise<ServiceLock | undefined> {
    return acquireStoreLock(swarmLockStore(this.docker, service), service, { leaseMs: 15 * 60_000, waitMs: 0, purpose: `retire of ${service}`, log });
  }

  async drainAndRemove(server: ManagedServer, options: DrainOptions, log: Log): Promise<RemovalReport> {
    const localNodeId = await this.requireManager();
    const report = await drainVersion({ docker: this.docker, localNodeId, canReach: (network) => this.canReach(network) }, server, options);
    if (report.warning) log.warning(report.warning);
    log.info(`${report.outcome === 'vanished' ? 'Already gone' : 'Removed'}: ${server.name} (${report.outcome}, ${report.seconds}s)`);
    return report;
  }

  /** This node's images, then with `node-prune-image` every node's (src/engine/swarm-prune.ts). */
  pruneImages(seen: readonly ManagedServer[], retired: readonly ManagedServer[], log: Log): Promise<PrunedImage[]> {
    return pruneSwarmImages({ docker: this.docker, node: this.node, nodePruneImage: this.nodePruneImage }, seen, retired, log);
  }
}

