import { LABELS, parseServerLabels } from '../serving/labels';
import type { Health, ManagedServer } from '../serving/server';

/**
 * What the Swarm engine reads of Swarm's services and tasks (Engine API `GET /services`,
 * `GET /tasks`), and the pure readings of it the deploy and drain steps act on. On Swarm one
 * model version of a service is one Swarm service (`<service>-<12 hex of the digest>`) with
 * `replicas` tasks; a version is what deploy and retire see as one server.
 */
export interface SwarmTask {
  ID: string;
  ServiceID: string;
  NodeID?: string;
  Slot?: number;
  CreatedAt?: string;
  DesiredState: string;
  Status: {
    Timestamp?: string;
    State: string;
    Message?: string;
    Err?: string;
    ContainerStatus?: { ContainerID?: string; ExitCode?: number };
  };
  NetworksAttachments?: { Network: { ID: string; Spec?: { Name?: string } }; Addresses?: string[] }[];
}

export interface SwarmServiceSpec {
  Name: string;
  Labels?: Record<string, string>;
  TaskTemplate: Record<string, unknown>;
  Mode?: { Replicated?: { Replicas?: number }; Global?: Record<string, never> };
  [key: string]: unknown;
}

export interface SwarmService {
  ID: string;
  CreatedAt?: string;
  Version: { Index: number };
  Spec: SwarmServiceSpec;
  Endpoint?: { VirtualIPs?: { NetworkID: string; Addr: string }[] };
}

/** A model version as Swarm runs it, with the tasks read along with it. */
export interface SwarmVersion {
  server: ManagedServer;
  service: SwarmService;
  tasks: SwarmTask[];
  /** Tasks Swarm wants running and reports running: the ones Traefik routes to. */
  running: SwarmTask[];
  /** The desired replica count. */
  replicas: number;
}

/** Task states before `running`, in Swarm's order. */
const IN_PROGRESS = ['new', 'allocated', 'pending', 'assigned', 'accepted', 'preparing', 'ready', 'starting'];
/** Task states that mean the task ended while it was meant to run. */
export const TASK_FAILURES = ['failed', 'rejected', 'orphaned', 'complete'];

export function isRunningTask(task: SwarmTask): boolean {
  return task.DesiredState === 'running' && task.Status.State === 'running';
}

/** `iris-3f2a9c1b7d4e.1`: how `docker service ps` and Traefik name a replicated task. */
export function taskName(serviceName: string, task: SwarmTask): string {
  return task.Slot ? `${serviceName}.${task.Slot}` : `${serviceName}.${task.ID.slice(0, 12)}`;
}

/** The task's address on the named network (`10.0.1.5`), without the prefix length. */
export function taskAddress(task: SwarmTask, network: string): string | undefined {
  const attachment = task.NetworksAttachments?.find((a) => a.Network.Spec?.Name === network || a.Network.ID === network);
  const address = attachment?.Addresses?.[0];
  return address ? address.split('/')[0] : undefined;
}

export function taskUrl(task: SwarmTask, network: string | undefined, port: number | undefined): string | undefined {
  if (!network || !port) return undefined;
  const ip = taskAddress(task, network);
  if (!ip) return undefined;
  return `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
}

/** Newest first: the order to read a task's story in. */
function newestTasks(tasks: readonly SwarmTask[]): SwarmTask[] {
  return [...tasks].sort((a, b) => Date.parse(b.Status.Timestamp ?? b.CreatedAt ?? '') - Date.parse(a.Status.Timestamp ?? a.CreatedAt ?? ''));
}

/** A version's state word for tables: `running`, or why no task runs. */
function stateOf(running: number, tasks: readonly SwarmTask[], replicas: number): string {
  if (running > 0) return 'running';
  if (replicas === 0) return 'scaled to 0';
  const latest = newestTasks(tasks)[0];
  if (!latest) return 'no task';
  if (latest.DesiredState === 'running' && IN_PROGRESS.includes(latest.Status.State)) return latest.Status.State === 'starting' ? 'starting' : 'pending';
  return 'no running task';
}

/**
 * A Swarm service labelled `train-to-serve.managed` as deploy and retire see it. Serving (state
 * `running`, health `healthy`) means at least one task runs: Swarm reports a task running only
 * once its health check passed, and Traefik routes to running tasks. A version whose routing a
 * drain withdrew is `unhealthy`: Traefik no longer routes to it.
 */
export function versionFromService(service: SwarmService, allTasks: readonly SwarmTask[]): SwarmVersion {
  const labels = service.Spec.Labels ?? {};
  const parsed = parseServerLabels(labels);
  const tasks = allTasks.filter((task) => task.ServiceID === service.ID);
  const running = tasks.filter(isRunningTask).sort((a, b) => (a.Slot ?? 0) - (b.Slot ?? 0));
  const replicas = service.Spec.Mode?.Replicated?.Replicas ?? (service.Spec.Mode?.Global ? running.length : 0);
  const withdrawn = Boolean(labels[LABELS.draining]) || labels['traefik.enable'] === 'false';
  const health: Health = withdrawn ? 'unhealthy' : running.length > 0 ? 'healthy' : 'starting';
  const created = service.CreatedAt ? new Date(service.CreatedAt) : new Date(0);
  const containerSpec = service.Spec.TaskTemplate.ContainerSpec as { Image?: string } | undefined;
  return {
    service,
    tasks,
    running,
    replicas,
    server: {
      id: service.ID,
      name: service.Spec.Name,
      service: parsed.service ?? '',
      digest: parsed.digest ?? '',
      image: parsed.image ?? containerSpec?.Image ?? '',
      deployedAt: parsed.deployedAt ?? created,
      expiresAt: parsed.expiresAt,
      state: stateOf(running.length, tasks, replicas),
      health,
      url: running.map((task) => taskUrl(task, parsed.network, parsed.port)).find(Boolean),
      drainSignal: parsed.drainSignal ?? 'SIGUSR2',
      replicas,
      labels,
    },
  };
}

/** One task's trouble, as `docker service ps` would show it. */
export function describeTask(serviceName: string, task: SwarmTask): string {
  const why = task.Status.Err || task.Status.Message || '';
  const exit = task.Status.ContainerStatus?.ExitCode;
  const exitText = exit !== undefined && exit !== 0 && !why.includes(`(${exit})`) ? ` (exit code ${exit})` : '';
  return `${taskName(serviceName, task)} ${task.Status.State}${why ? `: ${why}` : ''}${exitText}`;
}

export type Rollout =
  /** Every wanted replica runs. */
  | { kind: 'running'; running: SwarmTask[] }
  /** A task ended while it was meant to run: the version is broken. */
  | { kind: 'failed'; task: SwarmTask; problem: string }
  | { kind: 'waiting'; summary: string };

/**
 * Where a new version's rollout stands, from its tasks. Any task that failed, was rejected (a
 * pull the node could not make, for instance) or exited counts as a failure at once: Swarm would
 * restart it, but a version whose first tasks die is broken, and the older versions keep serving.
 */
export function assessRollout(serviceName: string, allTasks: readonly SwarmTask[], replicas: number, earlier: ReadonlySet<string> = new Set()): Rollout {
  // Tasks that existed before this rollout (when it scales a running version) may have failed long ago.
  const tasks = allTasks.filter((task) => !earlier.has(task.ID) || isRunningTask(task));
  const failed = newestTasks(tasks).find((task) => TASK_FAILURES.includes(task.Status.State));
  if (failed) {
    const exit = failed.Status.ContainerStatus?.ExitCode;
    const problem =
      failed.Status.State === 'complete'
        ? `exited with code ${exit ?? 0} instead of serving`
        : failed.Status.State === 'rejected'
          ? `was rejected by Swarm: ${failed.Status.Err || failed.Status.Message || 'no reason given'}`
          : `failed: ${failed.Status.Err || failed.Status.Message || 'no reason given'}${exit !== undefined && !(failed.Status.Err ?? '').includes(`(${exit})`) ? ` (exit code ${exit})` : ''}`;
    return { kind: 'failed', task: failed, problem: `task ${taskName(serviceName, failed)} ${problem}` };
  }
  const running = tasks.filter(isRunningTask).sort((a, b) => (a.Slot ?? 0) - (b.Slot ?? 0));
  if (running.length >= replicas) return { kind: 'running', running };
  return {
    kind: 'waiting',
    summary: summarizeTasks(
      serviceName,
      tasks.filter((task) => task.DesiredState === 'running'),
    ),
  };
}

/** `1 of 2 running; iris-….2 starting; iris-….1 pending: no suitable node (…)` */
export function summarizeTasks(serviceName: string, tasks: readonly SwarmTask[]): string {
  const running = tasks.filter(isRunningTask).length;
  const others = tasks.filter((task) => !isRunningTask(task)).map((task) => describeTask(serviceName, task));
  return [`${running} of ${tasks.length} task${tasks.length === 1 ? '' : 's'} running`, ...others].join('; ');
}

/** Whether `ip` (IPv4) lies in `cidr` (`10.0.1.0/24`). */
export function inSubnet(ip: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  const toNumber = (text: string) => {
    const parts = text.split('.').map(Number);
    if (parts.length !== 4 || parts.some((part) => !Number.isInteger(part) || part < 0 || part > 255)) return undefined;
    return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
  };
  const a = toNumber(ip);
  const b = base ? toNumber(base) : undefined;
  if (a === undefined || b === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (a & mask) === (b & mask);
}
