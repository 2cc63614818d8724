import type Docker from 'dockerode';
import { formatDuration } from '../inputs/parse';
import type { DrainOptions, RemovalReport } from '../serving/engine';
import { LABELS, parseServerLabels } from '../serving/labels';
import type { ManagedServer } from '../serving/server';
import { TraefikApi } from '../traefik/api';
import { readRequestCount } from './server-metrics';
import type { MetricsSource } from '../serving/server-inputs';
import { SWARM_ROUTING_SETTLE_MS } from './swarm-spec';
import { removalReporter } from '../serving/drain-report';
import { engineMessage, statusOf } from './errors';
import { taskUrl, versionFromService, type SwarmService, type SwarmTask } from './swarm-state';

export class VanishedService extends Error {}

export async function inspectService(docker: Docker, id: string): Promise<SwarmService> {
  try {
    return (await docker.getService(id).inspect()) as SwarmService;
  } catch (error) {
    if (statusOf(error) === 404) throw new VanishedService();
    throw new Error(engineMessage(error));
  }
}

export async function listTasksOf(docker: Docker, serviceIds: string[]): Promise<SwarmTask[]> {
  if (serviceIds.length === 0) return [];
  return (await docker.listTasks({ filters: { service: serviceIds } })) as SwarmTask[];
}

/**
 * A service update that only changes the service's labels: Swarm leaves its tasks alone (labels
 * are not part of the task template), and Traefik's Swarm provider reads them at its next poll.
 * Swarm refuses an update based on an outdated version ("update out of sequence"): read again.
 */
export async function updateServiceLabels(docker: Docker, service: SwarmService, change: (labels: Record<string, string>) => Record<string, string>): Promise<void> {
  let current = service;
  for (let attempt = 1; ; attempt++) {
    const spec = { ...current.Spec, Labels: change({ ...(current.Spec.Labels ?? {}) }) };
    try {
      await docker.getService(current.ID).update({ _query: { version: current.Version.Index }, _body: spec });
      return;
    } catch (error) {
      if (statusOf(error) === 404) throw new VanishedService();
      if (attempt < 5 && /out of sequence/i.test(engineMessage(error))) {
        current = await inspectService(docker, current.ID);
        continue;
      }
      throw new Error(engineMessage(error));
    }
  }
}

export interface SwarmDrainContext {
  docker: Docker;
  /** This engine's node: its tasks' containers can be signalled directly. */
  localNodeId: string;
  /** Whether this process can reach the tasks' addresses on a network (it is attached to it). */
  canReach(network: string): Promise<boolean>;
  sleep?: (ms: number) => Promise<void>;
  /** Told the stop grace period when the service is removed: its tasks on other nodes may run that long. */
  onRemoved?: (stopGraceMs: number) => void;
}

/**
 * The drain of one model version on Swarm. The drain signal cannot be the first step here: a task
 * whose health check fails is killed and replaced by Swarm at once, long before Traefik's next
 * poll. So the version's routing is withdrawn instead (`traefik.enable=false` on the service, its
 * tasks untouched and still serving); with Traefik's API, the drain waits until none of its task
 * URLs is listed (at most drain-timeout), without it SWARM_ROUTING_SETTLE_MS (Traefik's default
 * 15 s poll, its 2 s throttle, a margin); then for the tasks' in-flight requests when this runner
 * can reach them; then the service is removed. Swarm then sends each task its stop signal (the
 * drain signal) and kills it after the stop grace period; the tasks on this node get SIGTERM at
 * once, which the reference server takes as a graceful stop, and are waited for. Under file
 * routing (`options.withdrawn`) the withdrawal and both waits were done by the caller: the
 * service is removed at once.
 */
export async function drainVersion(context: SwarmDrainContext, server: ManagedServer, options: DrainOptions): Promise<RemovalReport> {
  const { docker } = context;
  const sleep = context.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const started = Date.now();
  const report = removalReporter(server);
  try {
    const service = await inspectService(docker, server.id);
    const tasks = await listTasksOf(docker, [service.ID]);
    const version = versionFromService(service, tasks);
    const labels = service.Spec.Labels ?? {};
    const { network, port, metrics } = parseServerLabels(labels);
    let outcome: RemovalReport['outcome'];
    let warning: string | undefined;

    if (version.running.length === 0) {
      outcome = 'not-running';
    } else if (options.withdrawn) {
      // File routing: the caller took the version out of the weighted service, saw Traefik apply
      // it and waited for its requests to finish. Its labels stay: its pinned router and service
      // `<service>-<version>@swarm` go with it when Traefik's next poll finds it removed.
      outcome = 'withdrawn';
    } else {
      const earlier = Date.parse(labels[LABELS.draining] ?? '');
      let withdrawnAt = earlier;
      if (Number.isNaN(earlier)) {
        await updateServiceLabels(docker, service, (current) => ({ ...current, 'traefik.enable': 'false', [LABELS.draining]: new Date().toISOString() }));
        withdrawnAt = Date.now();
      }
      const urls = version.running.map((task) => taskUrl(task, network, port)).filter((url): url is string => Boolean(url));
      if (options.traefikApi && urls.length > 0) {
        const api = new TraefikApi(options.traefikApi, 'swarm');
        const gone = await Promise.all(urls.map((url) => api.waitForGone(server.service, url, options.drainTimeoutMs)));
        const kept = urls.filter((_, i) => !gone[i]);
        if (kept.length > 0) {
          warning = `Traefik still listed ${kept.join(', ')} for ${server.service}@swarm ${formatDuration(options.drainTimeoutMs)} after ${server.name}'s routing was withdrawn; removed it anyway`;
        }
      } else {
        const wait = withdrawnAt + SWARM_ROUTING_SETTLE_MS - Date.now();
        if (wait > 0) await sleep(wait);
      }
      if (network && (await context.canReach(network))) await waitForIdle(urls, Math.max(1000, started + options.drainTimeoutMs * 2 - Date.now()), metrics);
      outcome = 'drained';
    }

    // Every task container on this node, ended ones too: Swarm keeps them as task history and
    // removes them only after the service, and an image a container still names cannot be pruned.
    const local = tasks
      .filter((task) => task.NodeID === context.localNodeId)
      .map((task) => task.Status.ContainerStatus?.ContainerID)
      .filter((id): id is string => Boolean(id));
    try {
      await docker.getService(service.ID).remove();
    } catch (error) {
      if (statusOf(error) === 404) throw new VanishedService();
      throw new Error(engineMessage(error));
    }
    context.onRemoved?.(stopGraceMsOf(service));
    const deadline = Date.now() + stopGraceMsOf(service) + 10_000;
    await stopLocalContainers(docker, local, deadline - Date.now());
    const left = await waitForTasksGone(docker, service.ID, deadline - Date.now());
    if (left.length > 0) {
      const note = `${left.length} task(s) of ${server.name} had not stopped on node(s) ${left.join(', ')} when the wait ended; Swarm removes them when those nodes answer`;
      warning = warning ? `${warning}; ${note}` : note;
    }
    return report(outcome, warning);
  } catch (error) {
    if (error instanceof VanishedService) return report('vanished');
    throw error;
  }
}

function stopGraceMsOf(service: SwarmService): number {
  const grace = (service.Spec.TaskTemplate.ContainerSpec as { StopGracePeriod?: number } | undefined)?.StopGracePeriod;
  return grace ? grace / 1_000_000 : 10_000;
}

/**
 * After the service is gone, its tasks on this node: SIGTERM (a graceful stop; Swarm sent the
 * drain signal and would kill them only after the grace period), then wait until Swarm removed
 * the containers, so their images can be pruned.
 */
async function stopLocalContainers(docker: Docker, ids: string[], timeoutMs: number): Promise<void> {
  const ignore = (error: unknown) => {
    const status = statusOf(error);
    if (status !== 404 && status !== 409 && status !== 304) throw error;
  };
  await Promise.all(ids.map((id) => docker.getContainer(id).kill({ signal: 'SIGTERM' }).catch(ignore)));
  const deadline = Date.now() + timeoutMs;
  for (const id of ids) {
    while (Date.now() < deadline) {
      const exists = await docker
        .getContainer(id)
        .inspect()
        .then(() => true)
        .catch((error: unknown) => statusOf(error) !== 404);
      if (!exists) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/**
 * After the service is gone, until the managers no longer list its tasks on ready nodes. Tasks on
 * a node that is down are not waited for (Swarm cannot reach it). The managers may drop a task
 * before its node's agent has stopped the container: seen on three nodes, retired tasks ran on
 * (unhealthy, after the drain signal) until their stop grace period ended, 38 s after their
 * service had gone. Nothing routes to them by then; image pruning on other nodes waits for that
 * grace (src/engine/swarm-prune.ts). Returns the hostnames of the nodes still holding a task when
 * the time was up.
 */
export async function waitForTasksGone(docker: Docker, serviceId: string, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const tasks = await listTasksOf(docker, [serviceId]).catch(() => [] as SwarmTask[]);
    let waiting: SwarmTask[] = [];
    if (tasks.length > 0) {
      const nodes = (await docker.listNodes()) as { ID: string; Description?: { Hostname?: string }; Status?: { State?: string } }[];
      const ready = new Map(nodes.filter((node) => node.Status?.State === 'ready').map((node) => [node.ID, node.Description?.Hostname ?? node.ID]));
      waiting = tasks.filter((task) => task.NodeID && ready.has(task.NodeID) && task.Status.ContainerStatus?.ContainerID);
      if (Date.now() >= deadline || waiting.length === 0) return [...new Set(waiting.map((task) => ready.get(task.NodeID!)!))];
    } else {
      return [];
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Until no task reports a request in flight (tasks that report none, or cannot be read, are not waited on). */
async function waitForIdle(urls: readonly string[], timeoutMs: number, source: MetricsSource): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await Promise.all(urls.map((url) => readRequestCount(url, 1000, source)));
    if (counts.every((count) => !count.readable || !count.inFlight)) return;
    if (Date.now() >= deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
