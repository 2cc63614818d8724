import type Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import type { Log, PrunedImage } from '../serving/engine';
import type { ManagedServer } from '../serving/server';
import { repositoryOf, type DockerEngine } from './docker-engine';
import { LABELS } from '../serving/labels';
import { readLogTail } from './log-tail';
import { engineMessage, statusOf } from './errors';
import type { SwarmService, SwarmTask } from './swarm-state';

/**
 * Image pruning on every node of a swarm. Swarm has no cluster-wide image API, and a manager's
 * Engine API reaches only its own node's images; so retire runs one task on every node: a Swarm
 * global job (Engine API 1.41, `Mode: {GlobalJob: {}}`) of an image with a Docker CLI (the
 * `node-prune-image` input, e.g. `docker:27-cli`), with that node's Docker socket mounted, running
 * `docker image rm` on the retired versions' references. The engine itself refuses to remove an
 * image a container on that node still uses (running or stopped), so no task anywhere loses its
 * image; the references are the retired versions' `repo@sha256:…` that no Swarm service still runs.
 */
export interface NodePrune {
  node: string;
  /** References the node's engine removed (it printed `Untagged:`). */
  removed: string[];
  /** What it refused or did not hold, one line each, as the engine said it. */
  refused: string[];
}

interface SwarmNode {
  ID: string;
  Description?: { Hostname?: string };
  Status?: { State?: string };
  Spec?: { Availability?: string };
}

const TERMINAL = new Set(['complete', 'failed', 'rejected', 'shutdown', 'orphaned', 'remove']);
const JOB_WAIT_MS = 180_000;

/** A node's refusal because a container there still uses the image. */
const IN_USE = /is using its referenced image|image is being used by/;
const PRUNE_ROUNDS = 3;
const PRUNE_RETRY_MS = 3_000;

/**
 * Prune jobs until no node refuses because a container still uses an image: at most three jobs,
 * each for the references still refused. When a service is removed, Swarm deletes its tasks from
 * the managers' store at once, while each node's agent sends the stop signal (the drain signal)
 * and kills the container only after the stop grace period (seen on three nodes: retired tasks
 * still running, unhealthy, 38 s after the service had gone). So a refusal on the first job is
 * usually a retired task about to end: the second job runs once `tasksEndBy` has passed (the
 * latest removal plus its grace period; at least PRUNE_RETRY_MS later), the third PRUNE_RETRY_MS
 * after that for an agent slow to remove the container. A container that keeps using the image
 * (one outside the toolkit) is still refused then, and its image kept. Per node: every reference
 * removed in any job, the refusals of its last job.
 */
export async function pruneUntilSettled(
  runJob: (references: readonly string[], round: number) => Promise<NodePrune[]>,
  references: readonly string[],
  clock: { now(): number; wait(ms: number): Promise<void> },
  tasksEndBy = 0,
): Promise<NodePrune[]> {
  const byNode = new Map<string, NodePrune>();
  let pending = [...references];
  for (let round = 1; pending.length > 0; round++) {
    for (const result of await runJob(pending, round)) {
      const earlier = byNode.get(result.node);
      byNode.set(result.node, { node: result.node, removed: [...(earlier?.removed ?? []), ...result.removed], refused: result.refused });
    }
    const blocked = [...byNode.values()].flatMap((result) => result.refused.filter((line) => IN_USE.test(line)));
    pending = pending.filter((reference) => blocked.some((line) => line.includes(reference)));
    if (pending.length === 0 || round >= PRUNE_ROUNDS) break;
    await clock.wait(round === 1 ? Math.max(PRUNE_RETRY_MS, tasksEndBy - clock.now()) : PRUNE_RETRY_MS);
  }
  return [...byNode.values()].sort((a, b) => a.node.localeCompare(b.node));
}

export async function pruneOnEveryNode(docker: Docker, pruneImage: string, references: readonly string[], log: Log, { warnSkipped = true }: { warnSkipped?: boolean } = {}): Promise<NodePrune[]> {
  if (references.length === 0) return [];
  const name = `tts-prune-${randomBytes(4).toString('hex')}`;
  const spec = {
    Name: name,
    Labels: { [LABELS.managed]: 'prune-job' },
    TaskTemplate: {
      ContainerSpec: {
        Image: pruneImage,
        Command: ['docker', 'image', 'rm', ...references],
        Mounts: [{ Type: 'bind', Source: '/var/run/docker.sock', Target: '/var/run/docker.sock' }],
      },
      RestartPolicy: { Condition: 'none', MaxAttempts: 0 },
    },
    Mode: { GlobalJob: {} },
  };
  const handle = (await docker.createService(spec as unknown as Docker.CreateServiceOptions)) as unknown as { id: string };
  try {
    const deadline = Date.now() + JOB_WAIT_MS;
    let tasks: SwarmTask[] = [];
    const nodes = (await docker.listNodes()) as SwarmNode[];
    const hostnames = new Map(nodes.map((node) => [node.ID, node.Description?.Hostname ?? node.ID]));
    // A job runs only where Swarm may schedule: ready nodes whose availability is active.
    const eligible = nodes.filter((node) => node.Status?.State === 'ready' && node.Spec?.Availability === 'active').map((node) => node.ID);
    const skipped = nodes.filter((node) => !eligible.includes(node.ID));
    if (skipped.length > 0 && warnSkipped) {
      log.warning(
        `Images were not pruned on ${skipped.map((node) => `${hostnames.get(node.ID)} (${node.Status?.State === 'ready' ? node.Spec?.Availability : node.Status?.State})`).join(', ')}: Swarm runs no task there; the next retire prunes them`,
      );
    }
    for (;;) {
      tasks = (await docker.listTasks({ filters: { service: [handle.id] } })) as SwarmTask[];
      const done = tasks.filter((task) => TERMINAL.has(task.Status.State));
      // Every eligible node ran it, and nothing is still to run: Swarm was seen (three nodes) to
      // run a node's failed job task a second time, which may remove what the first could not.
      if (eligible.every((id) => done.some((task) => task.NodeID === id)) && done.length === tasks.length) break;
      if (Date.now() >= deadline) {
        log.warning(`The image prune job ${name} had not finished on every node after ${JOB_WAIT_MS / 1000}s; images stay on the nodes it did not reach`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    // One result per node, over all of its tasks: what any removed, and what none did.
    const byNode = new Map<string, NodePrune>();
    for (const task of tasks.filter((candidate) => TERMINAL.has(candidate.Status.State))) {
      const output = await taskOutput(docker, task.ID);
      const node = hostnames.get(task.NodeID ?? '') ?? task.NodeID ?? '?';
      const result = byNode.get(node) ?? { node, removed: [], refused: [] };
      result.removed.push(...references.filter((reference) => output.includes(`Untagged: ${reference}`) && !result.removed.includes(reference)));
      const refused = output
        .split('\n')
        .filter((line) => /^Error/.test(line.trim()))
        .map((line) => line.trim());
      if (task.Status.State !== 'complete' && refused.length === 0) refused.push(`${task.Status.State}: ${task.Status.Err ?? task.Status.Message ?? ''}`.trim());
      result.refused.push(...refused);
      byNode.set(node, result);
    }
    for (const result of byNode.values()) result.refused = [...new Set(result.refused.filter((line) => !result.removed.some((reference) => line.includes(reference))))];
    return [...byNode.values()].sort((a, b) => a.node.localeCompare(b.node));
  } finally {
    await docker
      .getService(handle.id)
      .remove()
      .catch((error: unknown) => {
        if (statusOf(error) !== 404) log.warning(`Could not remove the image prune job ${name}: ${engineMessage(error)}`);
      });
  }
}

async function taskOutput(docker: Docker, taskId: string): Promise<string> {
  try {
    return await readLogTail(docker, 'tasks', taskId);
  } catch (error) {
    return `Error: logs unavailable: ${engineMessage(error)}`;
  }
}

/** `sha256:…` of each image a Swarm service (any, not only the toolkit's) names by digest. */
export function serviceDigests(services: readonly Pick<SwarmService, 'Spec'>[]): Set<string> {
  const digests = new Set<string>();
  for (const service of services) {
    const image = (service.Spec.TaskTemplate as { ContainerSpec?: { Image?: string } }).ContainerSpec?.Image ?? '';
    const at = image.indexOf('@');
    if (at >= 0) digests.add(image.slice(at + 1));
  }
  return digests;
}

/**
 * Retire's pruning on a swarm: this node's images as in docker mode, except that an image any
 * Swarm service names stays (a task may be scheduled here again, and the credential Swarm kept
 * for that pull may have expired); then, with `node-prune-image`, the retired versions' images
 * on every node, through a global job.
 */
export async function pruneSwarmImages(context: { docker: Docker; node: DockerEngine; nodePruneImage?: string; tasksEndBy?: number }, seen: readonly ManagedServer[], retired: readonly ManagedServer[], log: Log): Promise<PrunedImage[]> {
  const { docker } = context;
  const used = serviceDigests((await docker.listServices()) as unknown as SwarmService[]);
  const pruned = await context.node.pruneImages(seen, retired, log, used);
  const references = [...new Set(retired.filter((server) => server.digest && !used.has(server.digest)).map((server) => `${repositoryOf(server.image)}@${server.digest}`))];
  const nodes = ((await docker.listNodes()) as unknown[]).length;
  if (references.length === 0 || nodes < 2) return pruned;
  if (!context.nodePruneImage) {
    log.warning(`Images of the retired versions were pruned on this node only; the other ${nodes - 1} node(s) of the swarm keep them: give retire a node-prune-image (an image with a Docker CLI) to prune every node`);
    return pruned;
  }
  const image = context.nodePruneImage;
  const runJob = (pending: readonly string[], round: number) => pruneOnEveryNode(docker, image, pending, log, { warnSkipped: round === 1 });
  const clock = { now: () => Date.now(), wait: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)) };
  for (const result of await pruneUntilSettled(runJob, references, clock, context.tasksEndBy)) {
    const refused = result.refused.filter((line) => !/No such image/i.test(line));
    log.info(`Node ${result.node}: ${result.removed.length > 0 ? `removed ${result.removed.join(', ')}` : 'nothing to remove'}${refused.length > 0 ? `; kept: ${refused.join('; ')}` : ''}`);
    for (const reference of result.removed) pruned.push({ id: reference.slice(reference.indexOf('@') + 1), references: [reference], node: result.node });
  }
  return pruned;
}
