import { randomBytes } from 'node:crypto';
import { failureMessage, startAction, type ActionRunResult, type StartedAction } from '../../support/action-runner';
import { docker } from '../../support/docker-cli';
import { waitFor } from '../../support/ports';
import { ensureModelImage, irisModel, type ModelImageOptions } from '../../support/server-image';
import { removeOverlayNetwork, removeServices } from '../../support/swarm';
import { startTraefikStandIn, type TraefikStandIn } from '../../support/traefik';
import { readCluster, useCluster, type Cluster } from './cluster';

/**
 * What every cluster test file shares: the cluster (DOCKER_HOST points at node1, a manager), an
 * attachable overlay network of the file's own, the Traefik stand-in in a container on that
 * network on node1, polling node1's engine as Traefik's Swarm provider does, and model images in
 * the cluster's registry (pushed from node1, then untagged there, so deploys really pull).
 */
const ACTION_TIMEOUT_MS = 280_000;

export interface ClusterRun {
  cluster: Cluster;
  prefix: string;
  network: string;
  traefik: TraefikStandIn;
  /** Published images by name: `<registry>/acme/iris-<run>@sha256:…`. */
  images: Record<string, string>;
  publish(name: string, model?: Record<string, unknown>, options?: ModelImageOptions): Promise<string>;
  deploy(service: string, image: string, inputs?: Record<string, string>, env?: Record<string, string>): Promise<ActionRunResult>;
  /** The same deploy, started: for a test that acts while it runs. */
  startDeploy(service: string, image: string, inputs?: Record<string, string>, env?: Record<string, string>): StartedAction;
  retire(service: string, inputs?: Record<string, string>, env?: Record<string, string>): Promise<ActionRunResult>;
  startRetire(service: string, inputs?: Record<string, string>, env?: Record<string, string>): StartedAction;
  cleanup(): Promise<void>;
}

export async function startClusterRun(tag: string): Promise<ClusterRun> {
  const cluster = readCluster();
  useCluster(cluster);
  // A file that runs after one that killed and restarted a node starts with every node back.
  await waitFor(
    `all ${cluster.nodes.length} nodes ready and active in the swarm`,
    async () => (await docker(['node', 'ls', '--format', '{{.Status}} {{.Availability}}']).catch(() => '')).split('\n').filter((line) => line === 'Ready Active').length === cluster.nodes.length,
    120_000,
    500,
  );
  const run = randomBytes(3).toString('hex');
  const prefix = `tts${tag}${run}`;
  const network = `tts-cl-${tag}-${run}`;
  const { registry } = cluster;
  const images: Record<string, string> = {};
  await docker(['network', 'create', '--driver', 'overlay', '--attachable', network]);
  await docker(['login', '-u', registry.username, '--password-stdin', registry.host], { input: registry.password });
  const standIn = () =>
    startTraefikStandIn({
      provider: 'swarm',
      container: { network, address: cluster.nodes[0]!.ip },
      network,
      constraints: `LabelRegex(\`train-to-serve.service\`, \`^${prefix}\`)`,
      refreshMs: 1000,
    });
  // A container's attach to an overlay network is a round trip to the managers, which a loaded
  // machine can make time out ("attaching to network failed ... context deadline exceeded").
  const traefik = await standIn().catch((error: Error) => {
    if (!/attaching to network failed/.test(error.message)) throw error;
    return standIn();
  });

  const self: ClusterRun = {
    cluster,
    prefix,
    network,
    traefik,
    images,
    async publish(name, model = { ...irisModel(), name: `iris-cluster-${name}` }, options = {}) {
      const local = (await ensureModelImage(model, { repository: 'cluster-test-model', ...options })).reference;
      const reference = `${registry.host}/acme/iris-${run}:${name}`;
      await docker(['tag', local, reference]);
      const out = await docker(['push', reference]);
      await docker(['rmi', reference]);
      images[name] = `${registry.host}/acme/iris-${run}@${/digest: (sha256:[a-f0-9]{64})/.exec(out)![1]}`;
      return images[name];
    },
    deploy(service, image, inputs = {}, env = {}) {
      return self.startDeploy(service, image, inputs, env).result;
    },
    startDeploy(service, image, inputs = {}, env = {}) {
      // Three nested engines on the same cores: an action may take minutes on a loaded machine.
      return startAction('deploy', {
        timeoutMs: ACTION_TIMEOUT_MS,
        inputs: {
          image,
          service,
          rule: `Host(\`${service}.test\`)`,
          network,
          engine: 'swarm',
          'traefik-api': traefik.apiUrl,
          'registry-username': registry.username,
          'registry-password': registry.password,
          'health-timeout': '120s',
          'drain-timeout': '20s',
          ...inputs,
        },
        env,
      });
    },
    retire(service, inputs = {}, env = {}) {
      return self.startRetire(service, inputs, env).result;
    },
    startRetire(service, inputs = {}, env = {}) {
      return startAction('retire', { timeoutMs: ACTION_TIMEOUT_MS, inputs: { service, engine: 'swarm', 'traefik-api': traefik.apiUrl, 'drain-timeout': '20s', ...inputs }, env });
    },
    async cleanup() {
      await traefik.stop();
      await removeServices(prefix);
      const locks = (await docker(['config', 'ls', '--format', '{{.Name}}']).catch(() => '')).split('\n').filter((name) => name.startsWith(`tts-lock-${prefix}`));
      if (locks.length > 0) await docker(['config', 'rm', ...locks]).catch(() => {});
      await removeOverlayNetwork(network);
    },
  };
  return self;
}

export function expectDeployed(result: ActionRunResult): void {
  const message = failureMessage(result);
  if (message !== undefined) throw new Error(`${message}\n${result.log}`);
}
