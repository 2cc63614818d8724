import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { repoRoot } from '../../support/action-runner';
import { DOCKER, docker } from '../../support/docker-cli';
import { waitFor } from '../../support/ports';

/**
 * The three-node swarm `scripts/cluster.sh up` starts (docs/cluster.md): three Docker engines in
 * containers of their own, each reached on a loopback port, all three Swarm managers, and a
 * registry (basic auth) on the cluster's network that the inner engines use as a plain-HTTP one.
 */
export interface ClusterNode {
  /** The node's hostname, as Swarm reports it (`node1`…). */
  name: string;
  /** `tcp://127.0.0.1:PORT`: this node's Engine API. */
  endpoint: string;
  /** Its address on the cluster's network (this host reaches it; it is a network the tests made). */
  ip: string;
  /** The container on this host that runs the node's engine. */
  container: string;
}

export interface Cluster {
  nodes: ClusterNode[];
  registry: { host: string; username: string; password: string };
}

export function readCluster(): Cluster {
  const file = join(repoRoot, '.tmp/cluster/cluster.env');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`no cluster (${file} is missing): run the cluster suite with npm run test:cluster, or start it with bash scripts/cluster.sh up`);
  }
  const env = Object.fromEntries(
    text
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const at = line.indexOf('=');
        return [line.slice(0, at), line.slice(at + 1).replace(/^'|'$/g, '')];
      }),
  );
  const names = env.TTS_CLUSTER_NODES!.split(' ');
  const endpoints = env.TTS_CLUSTER_ENDPOINTS!.split(' ');
  const ips = env.TTS_CLUSTER_IPS!.split(' ');
  return {
    nodes: names.map((name, i) => ({ name, endpoint: endpoints[i]!, ip: ips[i]!, container: `${env.TTS_CLUSTER_NAME}-${name}` })),
    registry: { host: env.TTS_CLUSTER_REGISTRY!, username: env.TTS_CLUSTER_REGISTRY_USER!, password: env.TTS_CLUSTER_REGISTRY_PASSWORD! },
  };
}

/**
 * Point this test process at the cluster: every `docker` call of the test support (and every
 * action the tests run, through DOCKER_HOST) talks to `node`'s engine; the Docker CLI's logins go
 * to a folder of this run, never to ~/.docker.
 */
export function useCluster(cluster: Cluster, node = cluster.nodes[0]!): void {
  process.env.DOCKER_HOST = node.endpoint;
  process.env.DOCKER_CONFIG = mkdtempSync(join(tmpdir(), 'tts-cluster-docker-config-'));
}

/** The Docker CLI against one node's engine. */
export function onNode(node: ClusterNode, args: string[], options: { input?: string } = {}): Promise<string> {
  return docker(args, { ...options, env: { DOCKER_HOST: node.endpoint } });
}

/** The engine of the node itself, on this host (the container that runs it). */
export function hostDocker(args: string[]): Promise<string> {
  return docker(args, { env: { DOCKER_HOST: '' } });
}

export interface PlacedTask {
  /** `<service>.<slot>` */
  name: string;
  node: string;
  state: string;
  containerId?: string;
}

/** The tasks Swarm wants running for a service, with the node each runs on. */
export async function placedTasks(service: string): Promise<PlacedTask[]> {
  const ids = (await docker(['service', 'ps', '-q', '--no-trunc', '--filter', 'desired-state=running', service])).split('\n').filter(Boolean);
  if (ids.length === 0) return [];
  const tasks = JSON.parse(await docker(['inspect', ...ids])) as { Slot?: number; NodeID: string; Status: { State: string; ContainerStatus?: { ContainerID?: string } } }[];
  const nodes = new Map(
    (await docker(['node', 'ls', '--format', '{{.ID}} {{.Hostname}}']))
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ') as [string, string]),
  );
  return tasks.map((task) => ({ name: `${service}.${task.Slot}`, node: nodes.get(task.NodeID) ?? task.NodeID, state: task.Status.State, containerId: task.Status.ContainerStatus?.ContainerID })).sort((a, b) => a.name.localeCompare(b.name));
}

/** Print where each task of a service runs (the cluster suite's record of the spread). */
export async function printPlacement(label: string, service: string): Promise<PlacedTask[]> {
  const tasks = await placedTasks(service);
  console.log(`${label}: ${service} on ${new Set(tasks.map((task) => task.node)).size} node(s): ${tasks.map((task) => `${task.name}@${task.node} (${task.state})`).join(', ')}`);
  return tasks;
}

/**
 * `/predict` requests a task has answered: its server's counter, read inside the task container
 * through the engine of the node it runs on (the tasks' overlay addresses are not reachable
 * from this host).
 */
export async function predictRequests(node: ClusterNode, containerId: string): Promise<number> {
  const script = "fetch('http://127.0.0.1:8080/metrics').then((r) => r.text()).then((t) => console.log(t))";
  const text = await onNode(node, ['exec', containerId, 'node', '-e', script]);
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^model_server_predict_requests_total(?:\{[^}]*\})? (\S+)$/.exec(line);
    if (match) total += Number(match[1]);
  }
  return total;
}

/** Kill a node: its engine and every container on it stop at once, as when a machine dies. */
export async function killNode(node: ClusterNode): Promise<void> {
  await hostDocker(['kill', node.container]);
}

/** Start a killed node again and wait until the swarm lists it ready. */
export async function restartNode(node: ClusterNode): Promise<void> {
  await hostDocker(['start', node.container]);
  await waitFor(`${node.name} to be ready in the swarm again`, async () => (await docker(['node', 'inspect', '--format', '{{.Status.State}}', node.name]).catch(() => '')).trim() === 'ready', 120_000, 500);
}

/**
 * An image with a Docker CLI (Debian's, with the libraries ldd lists), imported on every node
 * under a local name: what retire's `node-prune-image` runs on each node. A local name is never
 * pulled; Swarm runs it from each node's own image store (the pre-pulled image a user would use
 * is `docker:<version>-cli`).
 */
export async function ensureDockerCliImage(cluster: Cluster): Promise<string> {
  const reference = 'localhost/train-to-serve/docker-cli:1';
  const root = mkdtempSync(join(tmpdir(), 'tts-docker-cli-'));
  try {
    const binary = realpathSync(DOCKER);
    const place = (source: string, target: string) => {
      mkdirSync(join(root, dirname(target)), { recursive: true });
      copyFileSync(realpathSync(source), join(root, target));
    };
    place(binary, '/usr/bin/docker');
    const { stdout: ldd } = await promisify(execFile)('ldd', [binary]);
    for (const match of ldd.matchAll(/(\/\S+)\s+\(0x/g)) place(match[1]!, match[1]!);
    mkdirSync(join(root, 'tmp'), { recursive: true });
    const { stdout: tar } = await promisify(execFile)('tar', ['-C', root, '-c', '.'], { encoding: 'buffer', maxBuffer: 512 * 1024 * 1024 });
    for (const node of cluster.nodes) {
      await docker(['import', '--change', 'ENV PATH=/usr/bin', '-', reference], { input: tar, env: { DOCKER_HOST: node.endpoint } });
    }
    return reference;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Whether a node's engine holds an image. */
export async function nodeHasImage(node: ClusterNode, reference: string): Promise<boolean> {
  return onNode(node, ['image', 'inspect', reference]).then(
    () => true,
    () => false,
  );
}

export async function setAvailability(node: ClusterNode, availability: 'active' | 'drain'): Promise<void> {
  await docker(['node', 'update', '--availability', availability, node.name]);
}

/** Whether the swarm holds a service's deploy lock (a Swarm config), asked of one manager. */
export async function lockExists(node: ClusterNode, service: string): Promise<boolean> {
  return (await onNode(node, ['config', 'ls', '--filter', `name=tts-lock-${service}`, '--format', '{{.Name}}'])).split('\n').includes(`tts-lock-${service}`);
}
