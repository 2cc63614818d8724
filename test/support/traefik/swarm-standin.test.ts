import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { docker } from '../docker-cli';
import { waitFor } from '../ports';
import { ENGINE_WAIT_MS, ensureModelImage, irisModel, type ModelImage } from '../server-image';
import { createOverlayNetwork, ensureSwarm, removeOverlayNetwork, removeServices } from '../swarm';
import { startTraefikStandIn, type TraefikStandIn } from './index';

// The stand-in's Swarm provider against a real single-node swarm: labels on services, one server
// per running task at its overlay address, polling. The stand-in runs in a container on the test's
// attachable overlay network (as Traefik runs in a swarm): the host cannot reach task addresses.
// Every service carries this run's label, which the stand-in's constraint selects.

const suffix = randomBytes(4).toString('hex');
const prefix = `ttsst${suffix}`;
const network = `tts-swarm-st-${suffix}`;
const otherNetwork = `tts-swarm-st-b-${suffix}`;
const runLabel = 'train-to-serve.test-run';
const REFRESH_MS = 1000;

let model: ModelImage;
let never: ModelImage;
let traefik: TraefikStandIn;

const host = (service: string) => `${service}.example.test`;

function routingLabels(service: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    [runLabel]: suffix,
    'traefik.enable': 'true',
    'traefik.swarm.network': network,
    [`traefik.http.routers.${service}.rule`]: `Host(\`${host(service)}\`)`,
    [`traefik.http.routers.${service}.entrypoints`]: 'web',
    [`traefik.http.routers.${service}.service`]: service,
    [`traefik.http.services.${service}.loadbalancer.server.port`]: '8080',
    ...extra,
  };
}

interface TaskInspect {
  ID: string;
  DesiredState: string;
  Status: { State: string };
  NetworksAttachments?: { Network: { Spec: { Name: string } }; Addresses: string[] }[];
}

async function tasksOf(name: string): Promise<TaskInspect[]> {
  const ids = (await docker(['service', 'ps', '-q', '--no-trunc', name])).split('\n').filter(Boolean);
  return ids.length ? (JSON.parse(await docker(['inspect', ...ids])) as TaskInspect[]) : [];
}

/** The running tasks' URLs on `net`, once `count` tasks run. */
async function runningUrls(name: string, count: number, net = network): Promise<string[]> {
  let urls: string[] = [];
  await waitFor(
    `${count} running task(s) of ${name}`,
    async () => {
      const running = (await tasksOf(name)).filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
      urls = running.map((t) => `http://${t.NetworksAttachments!.find((a) => a.Network.Spec.Name === net)!.Addresses[0]!.split('/')[0]}:8080`);
      return running.length === count;
    },
    ENGINE_WAIT_MS,
    250,
  );
  return urls.sort();
}

async function createService(label: string, options: { labels?: Record<string, string>; containerLabels?: Record<string, string>; replicas?: number; image?: string; networks?: string[] }): Promise<string> {
  const name = `${prefix}-${label}`;
  const args = ['service', 'create', '--detach', '--no-resolve-image', '--name', name, '--replicas', String(options.replicas ?? 1)];
  for (const net of options.networks ?? [network]) args.push('--network', net);
  for (const [key, value] of Object.entries(options.labels ?? {})) args.push('--label', `${key}=${value}`);
  for (const [key, value] of Object.entries(options.containerLabels ?? {})) args.push('--container-label', `${key}=${value}`);
  await docker([...args, options.image ?? model.reference]);
  return name;
}

/**
 * Every poll lists every service: once a service created after the others is listed, the poll
 * that listed it saw the others as they were.
 */
async function barrier(label: string): Promise<void> {
  const name = await createService(`barrier-${label}`, { labels: routingLabels(`barrier-${label}`) });
  await traefik.waitForServers(`barrier-${label}`, await runningUrls(name, 1));
}

beforeAll(async () => {
  await ensureSwarm();
  await createOverlayNetwork(network);
  await createOverlayNetwork(otherNetwork);
  model = await ensureModelImage(irisModel());
  never = await ensureModelImage(irisModel(), { behaviour: 'never-healthy' });
  traefik = await startTraefikStandIn({
    provider: 'swarm',
    container: { network },
    network,
    constraints: `Label(\`${runLabel}\`, \`${suffix}\`)`,
    refreshMs: REFRESH_MS,
    logLevel: 'debug',
  });
}, 180_000);

// Each test's services go with it: every task probes its health every second, and a file's
// worth of them kept two cores busy for the tests after.
afterEach(async () => {
  await removeServices(prefix);
});

afterAll(async () => {
  await traefik?.stop();
  await removeServices(prefix);
  await removeOverlayNetwork(network);
  await removeOverlayNetwork(otherNetwork);
});

describe('Traefik stand-in: Swarm provider rules on a real swarm', { timeout: 240_000 }, () => {
  it('routes each running task of a service labelled on the service, at its address on traefik.swarm.network, as <name>@swarm', async () => {
    const a = await createService('a', { labels: routingLabels('a'), replicas: 2 });
    const containersOnly = await createService('labels-on-containers', { labels: { [runLabel]: suffix }, containerLabels: routingLabels('hidden') });
    const twoNetworks = await createService('two-networks', { labels: routingLabels('netpick', { 'traefik.swarm.network': otherNetwork }), networks: [network, otherNetwork] });
    const vip = await createService('vip', { labels: routingLabels('vip', { 'traefik.swarm.lbswarm': 'true' }), replicas: 2 });

    const aUrls = await runningUrls(a, 2);
    await traefik.waitForServers('a', aUrls);
    const listed = (await traefik.service('a'))!;
    listed.loadBalancer?.servers?.sort((x, y) => x.url.localeCompare(y.url));
    expect(listed).toEqual({
      loadBalancer: { servers: aUrls.map((url) => ({ url })), passHostHeader: true },
      status: 'enabled',
      usedBy: ['a@swarm'],
      name: 'a@swarm',
      provider: 'swarm',
      type: 'loadbalancer',
      serverStatus: Object.fromEntries(aUrls.map((url) => [url, 'UP'])),
    });
    expect(await traefik.router('a')).toMatchObject({ name: 'a@swarm', provider: 'swarm', status: 'enabled', rule: `Host(\`${host('a')}\`)` });
    const overview = (await (await fetch(`${traefik.apiUrl}/api/overview`)).json()) as { providers: string[] };
    expect(overview.providers).toEqual(['Swarm']);
    // Through the proxy, to both tasks.
    const answers = await Promise.all(Array.from({ length: 4 }, () => traefik.send(host('a'), '/predict', { body: { instances: [[5.1, 3.5, 1.4, 0.2]] } })));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);

    await traefik.waitForServers('netpick', await runningUrls(twoNetworks, 1, otherNetwork));
    const vipAddress = (await docker(['service', 'inspect', '--format', '{{json .Endpoint.VirtualIPs}}', vip])).trim();
    const networkId = (await docker(['network', 'inspect', '--format', '{{.Id}}', network])).trim();
    const virtualIp = (JSON.parse(vipAddress) as { NetworkID: string; Addr: string }[]).find((entry) => entry.NetworkID === networkId)!.Addr.split('/')[0];
    await runningUrls(vip, 2);
    await traefik.waitForServers('vip', [`http://${virtualIp}:8080`]);

    await runningUrls(containersOnly, 1);
    await barrier('labels');
    expect(await traefik.service('hidden')).toBeUndefined();
    expect(await traefik.router('hidden')).toBeUndefined();
  });

  it('leaves out tasks Swarm holds starting, drops a service whose routing is withdrawn at the next poll while its tasks keep running, and polls every refreshSeconds', async () => {
    const starting = await createService('starting', { labels: routingLabels('starting'), image: never.reference });
    await waitFor('the never-healthy task to start', async () => (await tasksOf(starting)).some((t) => t.Status.State === 'starting'), ENGINE_WAIT_MS, 250);
    await barrier('starting');
    expect((await tasksOf(starting)).some((t) => t.Status.State === 'running')).toBe(false);
    // allowEmptyServices (the stand-in helper's default): the router stays, over no server (503).
    expect(await traefik.serverUrls('starting')).toEqual([]);
    expect((await traefik.router('starting'))?.status).toBe('enabled');
    expect((await traefik.send(host('starting'), '/predict', { body: { instances: [[1, 2, 3, 4]] } })).status).toBe(503);

    const b = await createService('b', { labels: routingLabels('b') });
    const urls = await runningUrls(b, 1);
    await traefik.waitForServers('b', urls);
    const before = (await tasksOf(b)).map((t) => t.ID);
    const withdrawnAt = Date.now();
    await docker(['service', 'update', '--detach', '--label-add', 'traefik.enable=false', b]);
    await traefik.waitForServers('b', []);
    // Gone within one poll and the 2 s throttle, and Swarm restarted nothing.
    expect(Date.now() - withdrawnAt).toBeLessThan(REFRESH_MS + 2000 + 3000);
    const after = await tasksOf(b);
    expect(after.map((t) => t.ID)).toEqual(before);
    expect(after.every((t) => t.Status.State === 'running')).toBe(true);

    const polls = traefik
      .logs()
      .filter((line) => line.msg === 'Provider event received' && line.trigger === 'poll')
      .map((line) => Date.parse(line.time as string));
    expect(polls.length).toBeGreaterThan(5);
    const gaps = polls.slice(1).map((time, i) => time - polls[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(REFRESH_MS - 50);
  });
});
