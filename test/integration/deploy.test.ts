import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureMessage, runAction, startAction, type ActionRunResult } from '../support/action-runner';
import { buildImage, docker } from '../support/docker-cli';
import { waitFor } from '../support/ports';
import { startRegistry, type TestRegistry } from '../support/registry';
import { ensureModelImage, irisModel, type ModelImageOptions } from '../support/server-image';
import { startTraefikStandIn, type TraefikStandIn } from '../support/traefik';
import { startLoad } from '../support/traefik/load';

/**
 * deploy against the real engine, a real registry (basic auth) and the Traefik stand-in: the
 * reference server in model images that are healthy, exit at once, never turn healthy, or start
 * slowly.
 */
const run = randomBytes(3).toString('hex');
const prefix = `ttsd${run}`;
const network = `tts-deploy-${run}`;
let registry: TestRegistry;
let traefik: TraefikStandIn;
const images: Record<string, string> = {};

interface ContainerInspect {
  Id: string;
  Name: string;
  Config: { Labels: Record<string, string>; Env: string[]; Healthcheck?: { Test?: string[]; Interval?: number; StartPeriod?: number; Retries?: number }; StopTimeout?: number };
  HostConfig: { RestartPolicy: { Name: string } };
  State: { Status: string; Health?: { Status: string } };
}

async function inspect(id: string): Promise<ContainerInspect | undefined> {
  try {
    return (JSON.parse(await docker(['inspect', id])) as ContainerInspect[])[0];
  } catch {
    return undefined;
  }
}

/** Containers (running or not) of a service, by the toolkit's label. */
async function serversOf(service: string): Promise<ContainerInspect[]> {
  const ids = (await docker(['ps', '-aq', '--filter', `label=train-to-serve.service=${service}`])).split('\n').filter(Boolean);
  return (await Promise.all(ids.map(inspect))).filter((c): c is ContainerInspect => c !== undefined);
}

async function lockExists(service: string): Promise<boolean> {
  return (await docker(['ps', '-aq', '--filter', `name=^train-to-serve-lock-${service}$`])).trim() !== '';
}

/** Push a model image to the test registry and drop the local registry name, so deploy really pulls. */
async function publish(name: string, model: Record<string, unknown>, options: ModelImageOptions & { noHealthcheck?: boolean } = {}): Promise<void> {
  let local = (await ensureModelImage(model, { repository: 'deploy-test-model', ...options })).reference;
  if (options.noHealthcheck) local = await buildImage(`localhost/tts-deploy-${run}/no-healthcheck:1`, { Dockerfile: `FROM ${local}\nHEALTHCHECK NONE\n` });
  const reference = `${registry.host}/acme/iris-${run}:${name}`;
  await docker(['tag', local, reference]);
  const out = await docker(['push', reference]);
  await docker(['rmi', reference]);
  images[name] = `${registry.host}/acme/iris-${run}@${/digest: (sha256:[a-f0-9]{64})/.exec(out)![1]}`;
}

const digestOf = (image: string) => image.slice(image.indexOf('@') + 1);
const short = (image: string) => digestOf(image).slice(7, 19);

function deploy(service: string, image: string, inputs: Record<string, string> = {}): Promise<ActionRunResult> {
  return runAction('deploy', {
    inputs: {
      image,
      service,
      rule: `Host(\`${service}.test\`)`,
      network,
      'traefik-api': traefik.apiUrl,
      'registry-username': registry.username,
      'registry-password': registry.password,
      'health-timeout': '60s',
      'drain-timeout': '20s',
      ...inputs,
    },
  });
}

/** One prediction through the stand-in's proxy (node:http: fetch does not let a caller set Host). */
function predict(service: string): Promise<{ status: number; digest?: string }> {
  const body = JSON.stringify({ instances: [[5.1, 3.5, 1.4, 0.2]] });
  return new Promise((resolve, reject) => {
    const req = request(`${traefik.webUrl}/predict`, { method: 'POST', headers: { host: `${service}.test`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        let digest: string | undefined;
        try {
          digest = (JSON.parse(text) as { model?: { digest?: string } }).model?.digest;
        } catch {
          // not the server's JSON
        }
        resolve({ status: res.statusCode ?? 0, digest });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  registry = await startRegistry({ auth: 'basic' });
  await docker(['network', 'create', network]);
  traefik = await startTraefikStandIn({ network, constraints: `LabelRegex(\`train-to-serve.service\`, \`^${prefix}\`)` });
  await docker(['login', '-u', registry.username, '--password-stdin', registry.host], { input: registry.password });
  await publish('v1', irisModel());
  await publish('v2', { ...irisModel(), name: 'iris-deploy-v2' });
  await publish('v3-exits', irisModel(), { behaviour: 'exits' });
  await publish('never-healthy', irisModel(), { behaviour: 'never-healthy' });
  await publish('slow', { ...irisModel(), name: 'iris-deploy-slow' }, { behaviour: 'slow-start', startDelayMs: 3000 });
  await publish('v4', { ...irisModel(), name: 'iris-deploy-v4' });
  await publish('no-healthcheck', irisModel(), { noHealthcheck: true });
  await docker(['rmi', `localhost/tts-deploy-${run}/no-healthcheck:1`]);
  await docker(['logout', registry.host]);
}, 300_000);

afterAll(async () => {
  const ids = (await docker(['ps', '-aq', '--filter', `label=train-to-serve.lock`]).catch(() => '')).split('\n').filter(Boolean);
  const mine = (await docker(['ps', '-aq', '--filter', `name=${prefix}`]).catch(() => '')).split('\n').filter(Boolean);
  const locks = [];
  for (const id of ids) {
    const container = await inspect(id);
    if (container?.Config.Labels['train-to-serve.lock']?.startsWith(prefix)) locks.push(id);
  }
  if (mine.length + locks.length > 0) await docker(['rm', '-f', '-v', ...mine, ...locks]).catch(() => {});
  await traefik?.stop();
  await docker(['network', 'rm', network]).catch(() => {});
  await registry?.stop();
  await docker(['rmi', ...Object.values(images)]).catch(() => {});
});

describe('deploy', () => {
  it('starts v1, replaces it with v2 under load without a failed request, and leaves v2 serving when v3 fails', async () => {
    const service = `${prefix}-a`;
    const secret = `tok-${randomBytes(8).toString('hex')}`;

    // v1: a first server, with labels, health check, env and provenance.
    const first = await deploy(service, images.v1!, { env: `API_TOKEN=${secret}\nMODE=blue`, ttl: '36h' });
    expect(failureMessage(first), first.log).toBeUndefined();
    expect(first.outputs.digest).toBe(digestOf(images.v1!));
    const [v1] = JSON.parse(first.outputs.containers!) as { id: string; name: string; url: string }[];
    expect(v1!.name).toMatch(new RegExp(`^${service}-${short(images.v1!)}-[0-9a-f]{4}$`));
    expect(await traefik.serverUrls(service)).toEqual([v1!.url]);
    expect(await predict(service)).toMatchObject({ status: 200 });

    const v1Container = (await inspect(v1!.id))!;
    const labels = v1Container.Config.Labels;
    const routing = Object.fromEntries(Object.entries(labels).filter(([key]) => key.startsWith('traefik.')));
    expect(routing).toEqual({
      'traefik.enable': 'true',
      'traefik.docker.network': network,
      [`traefik.http.routers.${service}.rule`]: `Host(\`${service}.test\`)`,
      [`traefik.http.routers.${service}.entrypoints`]: 'web',
      [`traefik.http.routers.${service}.service`]: service,
      [`traefik.http.services.${service}.loadbalancer.server.port`]: '8080',
    });
    expect(labels).toMatchObject({
      'train-to-serve.managed': 'true',
      'train-to-serve.service': service,
      'train-to-serve.image-digest': digestOf(images.v1!),
      'train-to-serve.image': images.v1,
      'train-to-serve.git-sha': '0123456789abcdef0123456789abcdef01234567',
      'train-to-serve.run-url': 'https://github.com/acme/iris/actions/runs/4242',
      'train-to-serve.pr': '',
      'train-to-serve.drain-signal': 'SIGUSR2',
    });
    const deployedAt = Date.parse(labels['train-to-serve.deployed-at']!);
    expect(Math.abs(deployedAt - Date.now())).toBeLessThan(120_000);
    expect(Date.parse(labels['train-to-serve.expires-at']!) - deployedAt).toBe(36 * 3_600_000);
    expect(v1Container.Config.Healthcheck).toMatchObject({ Test: ['CMD', 'node', '/app/index.mjs', '--healthcheck'], Interval: 2e9, StartPeriod: 60e9, Retries: 3 });
    expect(v1Container.HostConfig.RestartPolicy.Name).toBe('unless-stopped');
    expect(v1Container.Config.StopTimeout).toBe(30);
    expect(v1Container.Config.Env).toEqual(expect.arrayContaining([`API_TOKEN=${secret}`, 'MODE=blue', `TRAIN_TO_SERVE_IMAGE_DIGEST=${digestOf(images.v1!)}`]));
    // Secrets are masked by the runner and never printed by the action.
    expect(first.masked).toEqual(expect.arrayContaining([secret, registry.password]));
    expect(first.log).not.toContain(secret);
    expect(first.log).not.toContain(registry.password);
    expect(first.summary).toContain(v1!.name);

    // v2 replaces v1 while requests flow through the proxy.
    const load = startLoad({ url: traefik.webUrl, host: `${service}.test`, concurrency: 4 });
    await waitFor('requests to flow', async () => load.current().ok > 20);
    const second = await deploy(service, images.v2!);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const traffic = await load.stop();
    expect(failureMessage(second), second.log).toBeUndefined();
    expect(traffic.failed, JSON.stringify(traffic)).toBe(0);
    expect(Object.keys(traffic.digests).length, JSON.stringify(traffic.digests)).toBe(2);
    const [v2] = JSON.parse(second.outputs.containers!) as { id: string; name: string; url: string }[];
    expect(JSON.parse(second.outputs.removed!)).toEqual([expect.objectContaining({ id: v1!.id, name: v1!.name, outcome: 'drained' })]);
    expect(await inspect(v1!.id)).toBeUndefined();
    expect(await traefik.serverUrls(service)).toEqual([v2!.url]);
    const v2Labels = (await inspect(v2!.id))!.Config.Labels;
    expect(Object.fromEntries(Object.entries(v2Labels).filter(([key]) => key.startsWith('traefik.')))).toEqual(routing);
    expect(second.summary).toMatch(/Drained and removed/);

    // The same digest again: nothing changes.
    const again = await deploy(service, images.v2!);
    expect(failureMessage(again)).toBeUndefined();
    expect(again.log).toContain('nothing to change');
    expect((await serversOf(service)).map((c) => c.Id)).toEqual([v2!.id]);

    // Routing settings that differ from the running servers would break Traefik's router: refused.
    const moved = await deploy(service, images.v1!, { rule: `Host(\`elsewhere.test\`)` });
    expect(failureMessage(moved)).toMatch(new RegExp(`^Input "rule": differs from the running server ${v2!.name} of ${service} \\(traefik\\.http\\.routers\\.${service}\\.rule: Host`));

    // A v3 that exits at once: removed, its logs in the error, v2 untouched and serving.
    const broken = await deploy(service, images['v3-exits']!, { 'health-timeout': '30s' });
    expect(broken.exitCode).toBe(1);
    const message = failureMessage(broken)!;
    expect(message).toMatch(
      new RegExp(`^New server ${service}-${short(images['v3-exits']!)}-[0-9a-f]{4} \\(.*\\) exited with code 1 before it became healthy\\. Removed the 1 new server; the older servers were not touched and keep serving\\.`),
    );
    expect(message).toContain('Last 50 log lines of');
    expect(message).toContain('cannot load the model');
    expect((await serversOf(service)).map((c) => c.Id)).toEqual([v2!.id]);
    expect((await inspect(v2!.id))!.State.Health!.Status).toBe('healthy');
    expect(await traefik.serverUrls(service)).toEqual([v2!.url]);
    expect(await predict(service)).toMatchObject({ status: 200 });
    expect(await lockExists(service)).toBe(false);
  }, 240_000);

  it('fails a server that never turns healthy, waits for a slow one, keeps the old beside the new with add, and later only drains it', async () => {
    const service = `${prefix}-b`;
    // Without traefik-api: drains give Traefik its throttle time instead of asking it.
    const first = await deploy(service, images.v1!, { 'traefik-api': '' });
    expect(failureMessage(first), first.log).toBeUndefined();
    const [v1] = JSON.parse(first.outputs.containers!) as { id: string }[];

    const never = await deploy(service, images['never-healthy']!, { 'health-timeout': '4s', 'traefik-api': '' });
    expect(failureMessage(never)).toMatch(new RegExp(`^New server ${service}-${short(images['never-healthy']!)}-[0-9a-f]{4} .* was not healthy within 4s \\(health: starting; last probe: exit 1`));
    expect((await serversOf(service)).map((c) => c.Id)).toEqual([v1!.id]);

    const slow = await deploy(service, images.slow!, { strategy: 'add', replicas: '2' });
    expect(failureMessage(slow), slow.log).toBeUndefined();
    const added = JSON.parse(slow.outputs.containers!) as { id: string; url: string }[];
    expect(added).toHaveLength(2);
    expect(JSON.parse(slow.outputs.removed!)).toEqual([]);
    expect(slow.log).toContain('strategy add: 1 older server(s) keep serving');
    const running = await serversOf(service);
    expect(running.map((c) => c.Id).sort()).toEqual([v1!.id, ...added.map((s) => s.id)].sort());
    expect(running.every((c) => c.State.Health?.Status === 'healthy')).toBe(true);
    expect((await traefik.serverUrls(service)).length).toBe(3);

    // The state a replace killed after its servers turned healthy leaves: the rerun starts nothing
    // new, confirms the servers it keeps with Traefik, and drains the old one.
    const finish = await deploy(service, images.slow!, { replicas: '2' });
    expect(failureMessage(finish), finish.log).toBeUndefined();
    expect((JSON.parse(finish.outputs.containers!) as { id: string; reused: boolean }[]).map((s) => [s.id, s.reused]).sort()).toEqual(added.map((s) => [s.id, true]).sort());
    expect(JSON.parse(finish.outputs.removed!)).toEqual([expect.objectContaining({ id: v1!.id, outcome: 'drained' })]);
    expect(finish.log).toContain('no new server needed');
    expect(await traefik.serverUrls(service)).toEqual(added.map((s) => s.url).sort());
  }, 180_000);

  it('a deploy killed halfway and run again ends with only the new servers, taking over the stale lock', async () => {
    const service = `${prefix}-c`;
    const first = await deploy(service, images.v1!);
    expect(failureMessage(first), first.log).toBeUndefined();
    const [v1] = JSON.parse(first.outputs.containers!) as { id: string }[];

    const inputs = {
      image: images.slow!,
      service,
      rule: `Host(\`${service}.test\`)`,
      network,
      'traefik-api': traefik.apiUrl,
      'registry-username': registry.username,
      'registry-password': registry.password,
      'health-timeout': '60s',
      'drain-timeout': '20s',
    };
    const killed = startAction('deploy', { inputs });
    await waitFor('the new server to be created', async () => (await serversOf(service)).some((c) => c.Config.Labels['train-to-serve.image-digest'] === digestOf(images.slow!)), 60_000);
    killed.child.kill('SIGKILL');
    const dead = await killed.result;
    expect(dead.signal).toBe('SIGKILL');
    expect(await lockExists(service)).toBe(true);

    const rerun = await runAction('deploy', { inputs });
    expect(failureMessage(rerun), rerun.log).toBeUndefined();
    expect(rerun.log).toMatch(/Taking over the deploy lock of .*: its holder \(pid \d+ on .*\) is gone/);
    const servers = await serversOf(service);
    expect(servers).toHaveLength(1);
    expect(servers[0]!.Config.Labels['train-to-serve.image-digest']).toBe(digestOf(images.slow!));
    expect(servers[0]!.State.Health?.Status).toBe('healthy');
    expect(await inspect(v1!.id)).toBeUndefined();
    expect(await lockExists(service)).toBe(false);
    // Traefik applies each provider change after its throttle (2 s), so the drained server's
    // removal may still be on its way when the step ends; the list must settle on the new one.
    const [kept] = JSON.parse(rerun.outputs.containers!) as { url: string }[];
    await traefik.waitForServers(service, [kept!.url], 15_000);
  }, 180_000);

  it('a pull the registry refuses, or GPUs the engine cannot give, change nothing; an image without a health check deploys with a warning', async () => {
    const service = `${prefix}-d`;
    const first = await deploy(service, images.v1!);
    expect(failureMessage(first), first.log).toBeUndefined();
    const before = (await serversOf(service)).map((c) => c.Id);

    const refused = await deploy(service, images.v4!, { 'registry-password': 'wrong-password' });
    expect(failureMessage(refused)).toMatch(new RegExp(`^Image ${images.v4!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: pull failed: .*(unauthorized|authentication required|no basic auth)`, 'i'));
    expect(refused.log).not.toContain('wrong-password');

    const gpus = await deploy(service, images.v4!, { gpus: 'all' });
    expect(failureMessage(gpus)).toMatch(/^Docker Engine at unix:\/\/.*: has no GPU runtime, so gpus \(all GPUs\) cannot be given to the servers: install the NVIDIA Container Toolkit/);

    expect((await serversOf(service)).map((c) => c.Id)).toEqual(before);
    expect((await docker(['ps', '-aq', '--filter', `name=train-to-serve-gpu-probe-${service}`])).trim()).toBe('');
    expect(await lockExists(service)).toBe(false);

    // An image without a health check deploys, with a warning, and its drain cannot be confirmed.
    const unchecked = await deploy(service, images['no-healthcheck']!);
    expect(failureMessage(unchecked), unchecked.log).toBeUndefined();
    expect(unchecked.annotations.map((a) => a.message)).toEqual(expect.arrayContaining([expect.stringMatching(/declares no HEALTHCHECK and no health-cmd was given: Traefik will route to each new server as soon as it starts/)]));
    const [bare] = JSON.parse(unchecked.outputs.containers!) as { id: string; url: string }[];
    expect((await inspect(bare!.id))!.Config.Healthcheck?.Test ?? ['NONE']).toEqual(['NONE']);
    expect(await traefik.serverUrls(service)).toEqual([bare!.url]);
    const back = await deploy(service, images.v1!);
    expect(failureMessage(back), back.log).toBeUndefined();
    expect(JSON.parse(back.outputs.removed!)).toEqual([expect.objectContaining({ id: bare!.id, outcome: 'no-health-check' })]);
    expect(back.annotations.map((a) => a.message)).toEqual(expect.arrayContaining([expect.stringMatching(/^1 server\(s\) had no health check/)]));
  }, 120_000);
});
