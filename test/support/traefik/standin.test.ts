import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { docker, removeNetwork } from '../docker-cli';
import { waitFor } from '../ports';
import { ENGINE_WAIT_MS, ensureModelImage, irisModel, type ModelImage } from '../server-image';
import { startTraefikStandIn, type TraefikStandIn } from './index';
import { startLoad } from './load';

// The Traefik stand-in against the real engine and real containers: one test per rule of
// docs/traefik.md. The engine is shared with other test files, so each stand-in only sees this run's
// containers (a constraint on a label with a random suffix), and every name carries the suffix.

const suffix = randomBytes(4).toString('hex');
const network = `tts-traefik-${suffix}`;
const otherNetwork = `tts-traefik-b-${suffix}`;
const runLabel = 'train-to-serve.test-run';
const constraints = `Label(\`${runLabel}\`, \`${suffix}\`)`;
const created: string[] = [];

let v1: ModelImage;
let v2: ModelImage;
let lenient: TraefikStandIn; // allowEmptyServices=true (docs/traefik.md's recommended setting)
let strict: TraefikStandIn; // allowEmptyServices=false

const host = (service: string) => `${service}.example.test`;

/** The routing labels of docs/traefik.md for one service, plus this run's constraint label. */
function routingLabels(service: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    [runLabel]: suffix,
    'traefik.enable': 'true',
    'traefik.docker.network': network,
    [`traefik.http.routers.${service}.rule`]: `Host(\`${host(service)}\`)`,
    [`traefik.http.routers.${service}.entrypoints`]: 'web',
    [`traefik.http.routers.${service}.service`]: service,
    [`traefik.http.services.${service}.loadbalancer.server.port`]: '8080',
    ...extra,
  };
}

interface Started {
  name: string;
  ip: string;
  url: string;
}

async function ipOn(name: string, net = network): Promise<string> {
  const networks = JSON.parse(await docker(['container', 'inspect', '--format', '{{json .NetworkSettings.Networks}}', name])) as Record<string, { IPAddress: string }>;
  return networks[net]?.IPAddress ?? '';
}

async function run(label: string, labels: Record<string, string>, options: { image?: string; args?: string[]; command?: string[]; create?: boolean } = {}): Promise<Started> {
  const name = `tts-traefik-${label}-${suffix}`;
  created.push(name);
  const labelArgs = Object.entries(labels).flatMap(([key, value]) => ['--label', `${key}=${value}`]);
  await docker([options.create ? 'create' : 'run', ...(options.create ? [] : ['-d']), '--name', name, '--network', network, ...labelArgs, ...(options.args ?? []), options.image ?? v1.reference, ...(options.command ?? [])]);
  const ip = options.create ? '' : await ipOn(name);
  return { name, ip, url: `http://${ip}:8080` };
}

async function health(name: string): Promise<string> {
  return (await docker(['container', 'inspect', '--format', '{{if .State.Health}}{{.State.Health.Status}}{{end}}', name])).trim();
}

/**
 * Events are handled in order and each rebuild lists every container: once a container started
 * after others is listed, the stand-in has seen those others too.
 */
async function barrier(standIn: TraefikStandIn, label: string): Promise<void> {
  const service = `barrier-${label}`;
  const started = await run(`barrier-${label}`, routingLabels(service), { args: ['--no-healthcheck'] });
  await standIn.waitForServers(service, [started.url]);
}

function send(standIn: TraefikStandIn, hostname: string, path = '/predict'): Promise<{ status: number; text: string }> {
  return standIn.send(hostname, path, path === '/predict' ? { body: { instances: [[5.1, 3.5, 1.4, 0.2]] } } : {}).then(({ status, text }) => ({ status, text }));
}

beforeAll(async () => {
  await docker(['network', 'create', network]);
  await docker(['network', 'create', otherNetwork]);
  v1 = await ensureModelImage(irisModel());
  v2 = await ensureModelImage({ ...irisModel(), name: 'iris-v2' });
  [lenient, strict] = await Promise.all([startTraefikStandIn({ network, constraints, allowEmptyServices: true }), startTraefikStandIn({ network, constraints, allowEmptyServices: false, logLevel: 'debug' })]);
});

// Each test's containers go with it: each probes its health every second, and a file's worth of
// them (25) kept two cores saturated, so later tests waited past their deadlines.
afterEach(async () => {
  const mine = created.splice(0);
  if (mine.length) await docker(['rm', '-f', ...mine]).catch(() => undefined);
});

afterAll(async () => {
  await Promise.all([lenient?.stop(), strict?.stop()]);
  await removeNetwork(network);
  await removeNetwork(otherNetwork);
});

describe('Traefik stand-in: Docker provider rules', { timeout: 300_000 }, () => {
  it('routes a healthy enabled container and serves the API shape of docs/traefik.md', async () => {
    const a = await run('api', routingLabels('api'));
    const second = await run('api-2', routingLabels('api-2'));
    await lenient.waitForServers('api', [a.url]);
    await lenient.waitForServers('api-2', [second.url]);
    expect(await lenient.service('api')).toEqual({
      loadBalancer: { servers: [{ url: a.url }], passHostHeader: true },
      status: 'enabled',
      usedBy: ['api@docker'],
      name: 'api@docker',
      provider: 'docker',
      type: 'loadbalancer',
      serverStatus: { [a.url]: 'UP' },
    });
    expect(await lenient.router('api')).toEqual({ entryPoints: ['web'], service: 'api', rule: `Host(\`${host('api')}\`)`, status: 'enabled', using: ['web'], name: 'api@docker', provider: 'docker' });
    const missing = await fetch(`${lenient.apiUrl}/api/http/services/nope@docker`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ message: 'service not found: nope@docker' });

    const page = await fetch(`${lenient.apiUrl}/api/http/services?per_page=1`);
    expect(page.headers.get('x-next-page')).toBe('2');
    expect(((await page.json()) as unknown[]).length).toBe(1);
    const search = (await (await fetch(`${lenient.apiUrl}/api/http/routers?search=api@`)).json()) as { name: string }[];
    expect(search.map((r) => r.name)).toEqual(['api@docker']);
    const overview = (await (await fetch(`${lenient.apiUrl}/api/overview`)).json()) as { http: { routers: { total: number } }; providers: string[] };
    expect(overview.http.routers.total).toBeGreaterThanOrEqual(1);
    expect(overview.providers).toEqual(['Docker']);
    const raw = (await (await fetch(`${lenient.apiUrl}/api/rawdata`)).json()) as { services: Record<string, unknown> };
    expect(raw.services['api@docker']).toMatchObject({ status: 'enabled', serverStatus: { [a.url]: 'UP' } });
    expect(((await (await fetch(`${lenient.apiUrl}/api/version`)).json()) as { Version: string }).Version).toMatch(/stand-in/);
    const ping = await fetch(`${lenient.apiUrl}/ping`);
    expect([ping.status, await ping.text()]).toEqual([200, 'OK']);

    const answer = await send(lenient, host('api'));
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ model: { digest: v1.modelDigest } });
    expect(await send(lenient, 'unknown.example.test')).toEqual({ status: 404, text: '404 page not found\n' });
    expect((await lenient.requestCounts('api'))['200']).toBe(1);
  });

  it('ignores containers without traefik.enable=true and containers outside the constraints', async () => {
    const notEnabled = routingLabels('hidden');
    delete notEnabled['traefik.enable'];
    await run('not-enabled', notEnabled);
    await run('disabled', routingLabels('hidden', { 'traefik.enable': 'false' }));
    await run('other-run', routingLabels('hidden', { [runLabel]: 'someone-else' }));
    await barrier(lenient, 'enable');
    expect(await lenient.service('hidden')).toBeUndefined();
    expect(await lenient.router('hidden')).toBeUndefined();
  });

  it('takes the IP on the traefik.docker.network network, and the port label or else the lowest exposed port', async () => {
    const twoNetworks = await run('two-networks', routingLabels('netpick', { 'traefik.docker.network': otherNetwork }), { create: true });
    await docker(['network', 'connect', otherNetwork, twoNetworks.name]);
    await docker(['start', twoNetworks.name]);
    const otherIp = await ipOn(twoNetworks.name, otherNetwork);
    expect(otherIp).not.toBe(await ipOn(twoNetworks.name, network));
    await lenient.waitForServers('netpick', [`http://${otherIp}:8080`]);

    const exposedLabels = routingLabels('portpick', { 'traefik.http.services.portpick.loadbalancer.passhostheader': 'true' });
    delete exposedLabels['traefik.http.services.portpick.loadbalancer.server.port'];
    const exposed = await run('exposed', exposedLabels, { args: ['--expose', '7000', '--expose', '9000'] });
    await lenient.waitForServers('portpick', [`http://${exposed.ip}:7000`]);
  });

  it('filters containers whose health is starting; routes one without HEALTHCHECK at once; drops one turned unhealthy', async () => {
    const never = await ensureModelImage(irisModel(), { behaviour: 'never-healthy' });
    const starting = await run('starting', routingLabels('starting'), { image: never.reference });
    const unprobed = await run('unprobed', routingLabels('unprobed'), { args: ['--no-healthcheck'] });
    await strict.waitForServers('unprobed', [unprobed.url]);
    await barrier(strict, 'health');
    expect(await health(starting.name)).not.toBe('healthy');
    expect(await strict.service('starting')).toBeUndefined();
    // With allowEmptyServices the router stays, over an empty service.
    expect((await lenient.service('starting'))?.loadBalancer?.servers).toBeUndefined();
    expect((await lenient.router('starting'))?.status).toBe('enabled');

    const drained = await run('drained', routingLabels('drained'));
    await strict.waitForServers('drained', [drained.url]);
    await docker(['kill', '--signal', 'SIGUSR2', drained.name]);
    await strict.waitForServers('drained', []);
    expect(await health(drained.name)).toBe('unhealthy');
    // Gone from the proxy while the server itself still answers.
    expect((await fetch(`${drained.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"instances":[[1,2,3,4]]}' })).status).toBe(200);
  });

  it('answers 503 for a service whose servers are all unhealthy with allowEmptyServices, 404 without', async () => {
    const only = await run('empty', routingLabels('empty'));
    await Promise.all([lenient.waitForServers('empty', [only.url]), strict.waitForServers('empty', [only.url])]);
    expect((await send(lenient, host('empty'))).status).toBe(200);
    await docker(['kill', '--signal', 'SIGUSR2', only.name]);
    await Promise.all([lenient.waitForServers('empty', []), strict.waitForServers('empty', [])]);
    expect(await send(lenient, host('empty'))).toEqual({ status: 503, text: 'no available server\n' });
    expect(await send(strict, host('empty'))).toEqual({ status: 404, text: '404 page not found\n' });
  });

  it('merges containers with identical labels into one load balancer and round-robins between them', async () => {
    const a = await run('merge-a', routingLabels('merge'), { image: v1.reference });
    const b = await run('merge-b', routingLabels('merge'), { image: v2.reference });
    await lenient.waitForServers('merge', [a.url, b.url]);
    const digests: string[] = [];
    for (let i = 0; i < 10; i++) {
      const answer = await send(lenient, host('merge'));
      expect(answer.status).toBe(200);
      digests.push((JSON.parse(answer.text) as { model: { digest: string } }).model.digest);
    }
    // Round robin alternates (a reload in between restarts the rotation, as Traefik's does).
    const alternations = digests.slice(1).filter((digest, i) => digest !== digests[i]).length;
    expect(alternations).toBeGreaterThanOrEqual(8);
    expect(await lenient.requestCounts('merge')).toEqual({ '200': 10 });
  });

  it('deletes a router for everyone when one container differs in router labels, and the service when it differs in load-balancer labels', async () => {
    const a = await run('conflict-a', routingLabels('conflict'));
    await lenient.waitForServers('conflict', [a.url]);
    expect((await send(lenient, host('conflict'))).status).toBe(200);

    const odd = await run('conflict-rule', routingLabels('conflict', { 'traefik.http.routers.conflict.rule': 'Host(`elsewhere.example.test`)' }));
    await lenient.waitForServers('conflict', [a.url, odd.url]);
    expect(await lenient.router('conflict')).toBeUndefined();
    expect((await send(lenient, host('conflict'))).status).toBe(404);
    await docker(['rm', '-f', odd.name]);
    await waitFor('router back', async () => (await lenient.router('conflict'))?.status === 'enabled', ENGINE_WAIT_MS, 50);
    expect((await send(lenient, host('conflict'))).status).toBe(200);

    await run('conflict-lb', routingLabels('conflict', { 'traefik.http.services.conflict.loadbalancer.passhostheader': 'false' }));
    await waitFor('service deleted', async () => (await lenient.service('conflict')) === undefined, ENGINE_WAIT_MS, 50);
    const router = await lenient.router('conflict');
    expect(router).toMatchObject({ status: 'disabled', error: ['the service "conflict@docker" does not exist'] });
    expect((await send(lenient, host('conflict'))).status).toBe(404);
  });

  it('matches Host and PathPrefix rules, the longer rule first', async () => {
    const health = await run('paths-health', {
      ...routingLabels('paths-health'),
      'traefik.http.routers.paths-health.rule': `Host(\`${host('paths')}\`) && PathPrefix(\`/healthz\`)`,
    });
    const all = await run('paths-all', { ...routingLabels('paths-all'), 'traefik.http.routers.paths-all.rule': `Host(\`${host('paths')}\`)` });
    await lenient.waitForServers('paths-health', [health.url]);
    await lenient.waitForServers('paths-all', [all.url]);
    expect((await send(lenient, host('paths'), '/healthz')).status).toBe(200);
    expect((await send(lenient, host('paths'))).status).toBe(200);
    expect(await lenient.requestCounts('paths-health')).toEqual({ '200': 1 });
    expect(await lenient.requestCounts('paths-all')).toEqual({ '200': 1 });
  });
});

describe('Traefik stand-in: events and timing', { timeout: 300_000 }, () => {
  it('does not reconfigure on kill or stop: a container keeps its place until it has exited', async () => {
    // PID 1 without a SIGTERM handler ignores SIGTERM, so `docker stop -t 3` leaves it running for 3 s.
    const stubborn = await run('stubborn', routingLabels('stubborn'), { args: ['--no-healthcheck'], command: ['node', '-e', 'setInterval(() => {}, 1000)'] });
    await strict.waitForServers('stubborn', [stubborn.url]);
    const stopping = docker(['stop', '--time', '3', stubborn.name]);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(await strict.serverUrls('stubborn')).toEqual([stubborn.url]);
    await stopping;
    await strict.waitForServers('stubborn', []);
  });

  it("never applies two configurations less than Traefik's 2 s apart, and holds back changes that come sooner", async () => {
    // A burst: three containers started by one command, their start events a fraction of a second apart.
    const services = ['burst-1', 'burst-2', 'burst-3'];
    const burst: Started[] = [];
    for (const service of services) burst.push(await run(service, routingLabels(service), { args: ['--no-healthcheck'], create: true }));
    await docker(['start', ...burst.map((container) => container.name)]);
    for (const [i, container] of burst.entries()) await strict.waitForServers(services[i]!, [`http://${await ipOn(container.name)}:8080`]);

    // Over everything this stand-in did: every publish (applied, or skipped as unchanged) of the
    // throttle, and every configuration the provider pushed into it.
    const at = (line: Record<string, unknown>) => Date.parse(line.time as string);
    const publishes = strict
      .logs()
      .filter((line) => line.msg === 'Configuration applied' || line.msg === 'Skipping unchanged configuration')
      .map(at);
    const pushes = strict
      .logs()
      .filter((line) => line.msg === 'Provider event received')
      .map(at);
    expect(publishes.length).toBeGreaterThan(1);
    const gaps = publishes.slice(1).map((time, i) => time - publishes[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1990);
    // Some pushes came within 1.9 s after a publish: by the gaps above, they waited for the 2 s.
    const heldBack = pushes.filter((push) => publishes.some((publish) => push > publish && push - publish < 1900));
    expect(heldBack.length).toBeGreaterThan(0);
  });
});

describe('Traefik stand-in: removing a server under load', () => {
  it('drops requests when a serving container is just stopped, and none when it is drained first (SIGUSR2, unhealthy, gone from the API, then stop)', { timeout: 300_000 }, async () => {
    const keep = await run('load-keep', routingLabels('load'), { image: v1.reference });
    const stopped = await run('load-stopped', routingLabels('load'), { image: v2.reference });
    await lenient.waitForServers('load', [keep.url, stopped.url]);

    // A plain `docker stop`: the proxy keeps sending requests to the server until its `die` event is applied.
    let load = startLoad({ url: lenient.webUrl, host: host('load'), concurrency: 6 });
    await waitFor('traffic on both servers', async () => Object.keys(load.current().digests).length === 2, ENGINE_WAIT_MS, 50);
    await docker(['stop', '--time', '10', stopped.name]);
    await lenient.waitForServers('load', [keep.url]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const plain = await load.stop();
    expect(plain.failed, `outcomes ${JSON.stringify(plain.outcomes)}`).toBeGreaterThan(0);
    // Refused or reset connections (502), and requests sent to the address of a container that is gone.
    expect(Object.keys(plain.outcomes).filter((outcome) => !['200', '502', '504', 'UNANSWERED'].includes(outcome))).toEqual([]);

    // The drain protocol of docs/traefik.md.
    const drained = await run('load-drained', routingLabels('load'), { image: v2.reference });
    await lenient.waitForServers('load', [keep.url, drained.url]);
    load = startLoad({ url: lenient.webUrl, host: host('load'), concurrency: 6 });
    await waitFor('traffic on both servers', async () => (load.current().digests[v2.modelDigest] ?? 0) > 20, ENGINE_WAIT_MS, 50);
    await docker(['kill', '--signal', 'SIGUSR2', drained.name]);
    await waitFor('unhealthy', async () => (await health(drained.name)) === 'unhealthy', ENGINE_WAIT_MS, 100);
    await lenient.waitForServers('load', [keep.url]);
    await waitFor('no request in flight on the drained server', async () => (await (await fetch(`${drained.url}/metrics`)).text()).split('\n').includes('model_server_predict_in_flight 0'), ENGINE_WAIT_MS, 50);
    await docker(['stop', '--time', '10', drained.name]);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const safe = await load.stop();
    expect(safe.failed, `outcomes ${JSON.stringify(safe.outcomes)} ${safe.failures.join('; ')}`).toBe(0);
    expect(safe.ok).toBeGreaterThan(50);
    expect(safe.digests[v2.modelDigest]).toBeGreaterThan(0);
  });
});

describe('Traefik stand-in: a file provider beside the Docker provider', { timeout: 300_000 }, () => {
  it('routes a weighted @file service to version services @docker, counts requests on the version, and disables the router while a version is missing (service.go BuildHTTP)', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'traefik-routing-'));
    const both = await startTraefikStandIn({ network, constraints, file: { directory } });
    try {
      const version = (digest: string) => `xp-${digest}-${suffix}`;
      const labels = (name: string) => ({
        [runLabel]: suffix,
        'traefik.enable': 'true',
        'traefik.docker.network': network,
        [`traefik.http.services.${name}.loadbalancer.server.port`]: '8080',
        [`traefik.http.routers.${name}.rule`]: `Host(\`${host(name)}\`)`,
      });
      const old = await run('xp-old', labels(version('old')), { image: v1.reference });
      writeFileSync(
        join(directory, 'xp.yml'),
        `http:\n  routers:\n    xp:\n      rule: Host(\`${host('xp')}\`)\n      service: xp\n  services:\n    xp:\n      weighted:\n        services:\n          - { name: ${version('old')}@docker, weight: 1 }\n          - { name: ${version('new')}@docker, weight: 1 }\n`,
      );
      await both.waitForServers(version('old'), [old.url]);
      await waitFor('xp@file disabled for the missing version', async () => (await both.router('xp@file'))?.status === 'disabled', ENGINE_WAIT_MS, 50);
      expect((await both.router('xp@file'))!.error).toEqual([`building HTTP service "${version('new')}@docker": the service "${version('new')}@docker" does not exist`]);
      const fresh = await run('xp-new', labels(version('new')), { image: v2.reference });
      await waitFor('xp@file enabled once the version exists', async () => (await both.router('xp@file'))?.status === 'enabled', ENGINE_WAIT_MS, 50);
      // With allowEmptyServices the version's service exists while its container is `starting`
      // (no server): the weighted parent then sends that version's share into 503s. Wait for it.
      await both.waitForServers(version('new'), [fresh.url]);
      const digests: Record<string, number> = {};
      for (let i = 0; i < 4; i++) {
        const answer = await send(both, host('xp'));
        expect(answer.status).toBe(200);
        const digest = (JSON.parse(answer.text) as { model: { digest: string } }).model.digest;
        digests[digest] = (digests[digest] ?? 0) + 1;
      }
      expect(digests).toEqual({ [v1.modelDigest]: 2, [v2.modelDigest]: 2 });
      // Counted on each version's @docker service, as Traefik labels it; never on the weighted parent.
      expect(await both.requestCounts(`${version('old')}@docker`)).toEqual({ '200': 2 });
      expect(await both.requestCounts('xp@file')).toEqual({});
    } finally {
      await both.stop();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
