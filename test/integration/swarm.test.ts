import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureMessage, runAction, startAction, type ActionRunResult } from '../support/action-runner';
import { docker, imageExists } from '../support/docker-cli';
import { waitFor } from '../support/ports';
import { startRegistry, type TestRegistry } from '../support/registry';
import { ENGINE_WAIT_MS, ensureModelImage, irisModel, type ModelImageOptions } from '../support/server-image';
import { createOverlayNetwork, ensureSwarm, removeOverlayNetwork, removeServices } from '../support/swarm';
import { startTraefikStandIn, type TraefikStandIn } from '../support/traefik';
import { startLoad } from '../support/traefik/load';

/**
 * deploy and retire with `engine: swarm` on a real single-node swarm, a real registry (basic
 * auth) and the Traefik stand-in's Swarm provider (polling every second), run in a container on
 * the test's attachable overlay network as Traefik runs in a swarm. The actions themselves run on
 * the host, like a runner on a manager node: they reach the engine and Traefik's API, not the
 * overlay.
 */
const run = randomBytes(3).toString('hex');
const prefix = `ttsw${run}`;
const network = `tts-swarm-${run}`;
let registry: TestRegistry;
let traefik: TraefikStandIn;
const images: Record<string, string> = {};

interface ServiceInspect {
  ID: string;
  Spec: {
    Name: string;
    Labels: Record<string, string>;
    TaskTemplate: {
      ContainerSpec: { Image: string; Env?: string[]; Labels?: Record<string, string>; StopSignal?: string; StopGracePeriod?: number; Healthcheck?: Record<string, unknown> };
      Networks?: { Target: string }[];
      RestartPolicy?: Record<string, unknown>;
    };
    Mode: { Replicated?: { Replicas: number } };
    UpdateConfig?: Record<string, unknown>;
    RollbackConfig?: Record<string, unknown>;
  };
  UpdateStatus?: { State: string };
}

async function inspectService(name: string): Promise<ServiceInspect | undefined> {
  try {
    return (JSON.parse(await docker(['service', 'inspect', name])) as ServiceInspect[])[0];
  } catch {
    return undefined;
  }
}

/** The Swarm services (model versions) of a service, by the toolkit's label. */
async function versionsOf(service: string): Promise<string[]> {
  return (await docker(['service', 'ls', '--filter', `label=train-to-serve.service=${service}`, '--format', '{{.Name}}'])).split('\n').filter(Boolean).sort();
}

async function runningTasks(name: string): Promise<string[]> {
  return (await docker(['service', 'ps', '-q', '--no-trunc', '--filter', 'desired-state=running', name])).split('\n').filter(Boolean).sort();
}

async function lockExists(service: string): Promise<boolean> {
  return (await docker(['config', 'ls', '--filter', `name=tts-lock-${service}`, '--format', '{{.Name}}'])).split('\n').includes(`tts-lock-${service}`);
}

/** Push a model image to the test registry and drop the local registry name, so deploy really pulls. */
async function publish(name: string, model: Record<string, unknown>, options: ModelImageOptions = {}): Promise<void> {
  const local = (await ensureModelImage(model, { repository: 'swarm-test-model', ...options })).reference;
  const reference = `${registry.host}/acme/iris-${run}:${name}`;
  await docker(['tag', local, reference]);
  const out = await docker(['push', reference]);
  await docker(['rmi', reference]);
  images[name] = `${registry.host}/acme/iris-${run}@${/digest: (sha256:[a-f0-9]{64})/.exec(out)![1]}`;
}

const digestOf = (image: string) => image.slice(image.indexOf('@') + 1);
const short = (image: string) => digestOf(image).slice(7, 19);
const versionName = (service: string, image: string) => `${service}-${short(image)}`;

function deploy(service: string, image: string, inputs: Record<string, string> = {}): Promise<ActionRunResult> {
  return runAction('deploy', {
    inputs: {
      image,
      service,
      rule: `Host(\`${service}.test\`)`,
      network,
      engine: 'swarm',
      'traefik-api': traefik.apiUrl,
      'registry-username': registry.username,
      'registry-password': registry.password,
      'health-timeout': '60s',
      'drain-timeout': '20s',
      ...inputs,
    },
  });
}

function retire(service: string, inputs: Record<string, string> = {}): Promise<ActionRunResult> {
  return runAction('retire', { inputs: { service, engine: 'swarm', 'traefik-api': traefik.apiUrl, 'drain-timeout': '20s', ...inputs } });
}

async function predict(service: string): Promise<{ status: number; digest?: string }> {
  const answer = await traefik.send(`${service}.test`, '/predict', { body: { instances: [[5.1, 3.5, 1.4, 0.2]] } });
  let digest: string | undefined;
  try {
    digest = (JSON.parse(answer.text) as { model?: { digest?: string } }).model?.digest;
  } catch {
    // not the server's JSON
  }
  return { status: answer.status, digest };
}

beforeAll(async () => {
  await ensureSwarm();
  registry = await startRegistry({ auth: 'basic' });
  await createOverlayNetwork(network);
  traefik = await startTraefikStandIn({
    provider: 'swarm',
    container: { network },
    network,
    constraints: `LabelRegex(\`train-to-serve.service\`, \`^${prefix}\`)`,
    refreshMs: 1000,
  });
  await docker(['login', '-u', registry.username, '--password-stdin', registry.host], { input: registry.password });
  // Models of their own: an image another test file's containers use is never pruned.
  await publish('v1', { ...irisModel(), name: 'iris-swarm-v1' });
  await publish('v2', { ...irisModel(), name: 'iris-swarm-v2' });
  await publish('v3-exits', irisModel(), { behaviour: 'exits' });
  await publish('never-healthy', irisModel(), { behaviour: 'never-healthy' });
  await publish('slow', { ...irisModel(), name: 'iris-swarm-slow' }, { behaviour: 'slow-start', startDelayMs: 6000 });
  await docker(['logout', registry.host]);
}, 300_000);

afterAll(async () => {
  await traefik?.stop();
  await removeServices(prefix);
  const locks = (await docker(['config', 'ls', '--format', '{{.Name}}']).catch(() => '')).split('\n').filter((name) => name.startsWith(`tts-lock-${prefix}`));
  if (locks.length > 0) await docker(['config', 'rm', ...locks]).catch(() => {});
  await removeOverlayNetwork(network);
  await registry?.stop();
  const local = (await docker(['images', '--format', '{{.Repository}}@{{.Digest}}']).catch(() => '')).split('\n').filter((ref) => ref.includes(`/acme/iris-${run}@`));
  if (local.length > 0) await docker(['rmi', '-f', ...local]).catch(() => {});
});

describe('deploy and retire with engine: swarm', () => {
  it('runs v1 as a Swarm service, replaces it with v2 under load without a failed request, rolls an operator update through start-first, and removes a broken v3 with its task errors and logs while v2 serves', async () => {
    const service = `${prefix}-a`;
    const secret = `tok-${randomBytes(8).toString('hex')}`;

    const first = await deploy(service, images.v1!, { replicas: '2', env: `API_TOKEN=${secret}`, ttl: '36h' });
    expect(failureMessage(first), first.log).toBeUndefined();
    const v1Name = versionName(service, images.v1!);
    const v1Tasks = JSON.parse(first.outputs.containers!) as { id: string; name: string; url: string; reused: boolean }[];
    expect(v1Tasks.map((task) => task.name).sort()).toEqual([`${v1Name}.1`, `${v1Name}.2`]);
    expect(v1Tasks.every((task) => /^http:\/\/10\.\d+\.\d+\.\d+:8080$/.test(task.url) && !task.reused)).toBe(true);
    expect(await traefik.serverUrls(service)).toEqual(v1Tasks.map((task) => task.url).sort());
    expect(await predict(service)).toMatchObject({ status: 200 });

    // Everything lives on the Swarm service: Traefik's labels for its Swarm provider, the toolkit's, the rollout policy.
    const v1 = (await inspectService(v1Name))!;
    const networkId = (await docker(['network', 'inspect', '--format', '{{.Id}}', network])).trim();
    expect(Object.fromEntries(Object.entries(v1.Spec.Labels).filter(([key]) => key.startsWith('traefik.')))).toEqual({
      'traefik.enable': 'true',
      'traefik.swarm.network': network,
      [`traefik.http.routers.${service}.rule`]: `Host(\`${service}.test\`)`,
      [`traefik.http.routers.${service}.entrypoints`]: 'web',
      [`traefik.http.routers.${service}.service`]: service,
      [`traefik.http.services.${service}.loadbalancer.server.port`]: '8080',
    });
    expect(v1.Spec.Labels).toMatchObject({
      'train-to-serve.managed': 'true',
      'train-to-serve.service': service,
      'train-to-serve.image-digest': digestOf(images.v1!),
      'train-to-serve.image': images.v1,
      'train-to-serve.git-sha': '0123456789abcdef0123456789abcdef01234567',
      'train-to-serve.drain-signal': 'SIGUSR2',
    });
    expect(Date.parse(v1.Spec.Labels['train-to-serve.expires-at']!) - Date.parse(v1.Spec.Labels['train-to-serve.deployed-at']!)).toBe(36 * 3_600_000);
    const container = v1.Spec.TaskTemplate.ContainerSpec;
    expect(container.Image).toBe(images.v1);
    expect(container.Healthcheck).toEqual({ Interval: 2e9, Timeout: 10e9, Retries: 3, StartPeriod: 60e9 });
    expect([container.StopSignal, container.StopGracePeriod]).toEqual(['SIGUSR2', 20e9]);
    expect(container.Env).toEqual(expect.arrayContaining([`API_TOKEN=${secret}`, `TRAIN_TO_SERVE_IMAGE_DIGEST=${digestOf(images.v1!)}`]));
    expect(container.Labels ?? {}).not.toHaveProperty('train-to-serve.managed');
    expect(v1.Spec.TaskTemplate.Networks).toEqual([{ Target: networkId }]);
    expect(v1.Spec.Mode.Replicated?.Replicas).toBe(2);
    expect(v1.Spec.UpdateConfig).toMatchObject({ Parallelism: 1, Order: 'start-first', FailureAction: 'rollback', MaxFailureRatio: 0 });
    expect(v1.Spec.RollbackConfig).toMatchObject({ Parallelism: 1, Order: 'start-first', FailureAction: 'pause' });
    // The task containers are not the docker engine mode's servers: its retire never sees them.
    expect((await docker(['ps', '-q', '--filter', 'label=train-to-serve.managed=true', '--filter', `label=com.docker.swarm.service.name=${v1Name}`])).trim()).toBe('');
    expect(first.masked).toEqual(expect.arrayContaining([secret, registry.password]));
    expect(first.log).not.toContain(secret);
    expect(first.log).not.toContain(registry.password);

    // v2 replaces v1 while requests flow through the proxy.
    let load = startLoad({ url: traefik.webUrl, host: `${service}.test`, concurrency: 4 });
    await waitFor('requests to flow', async () => load.current().ok > 20, ENGINE_WAIT_MS);
    const second = await deploy(service, images.v2!);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    let traffic = await load.stop();
    expect(failureMessage(second), second.log).toBeUndefined();
    expect(traffic.failed, JSON.stringify(traffic)).toBe(0);
    expect(Object.keys(traffic.digests).length, JSON.stringify(traffic.digests)).toBe(2);
    const v2Name = versionName(service, images.v2!);
    const v2Tasks = JSON.parse(second.outputs.containers!) as { name: string; url: string }[];
    expect(v2Tasks.map((task) => task.name)).toEqual([`${v2Name}.1`]);
    expect(JSON.parse(second.outputs.removed!)).toEqual([expect.objectContaining({ id: v1.ID, name: v1Name, outcome: 'drained' })]);
    expect(await versionsOf(service)).toEqual([v2Name]);
    expect(await traefik.serverUrls(service)).toEqual([v2Tasks[0]!.url]);
    expect(second.summary).toMatch(/Drained and removed/);

    // The same digest again: nothing changes.
    const again = await deploy(service, images.v2!);
    expect(failureMessage(again), again.log).toBeUndefined();
    expect(again.log).toContain('nothing to change');
    expect(JSON.parse(again.outputs.containers!)).toEqual([expect.objectContaining({ name: `${v2Name}.1`, reused: true })]);

    // The same digest with another replica count scales that version, up and down.
    const up = await deploy(service, images.v2!, { replicas: '2' });
    expect(failureMessage(up), up.log).toBeUndefined();
    expect(up.log).toContain(`${v2Name} already serves ${short(images.v2!)}: scaling it from 1 to 2 task(s)`);
    const scaled = JSON.parse(up.outputs.containers!) as { name: string; url: string; reused: boolean }[];
    expect(scaled.map((task) => [task.name, task.reused])).toEqual([
      [`${v2Name}.1`, true],
      [`${v2Name}.2`, false],
    ]);
    expect(await traefik.serverUrls(service)).toEqual(scaled.map((task) => task.url).sort());
    const down = await deploy(service, images.v2!, { replicas: '1' });
    expect(failureMessage(down), down.log).toBeUndefined();
    expect(JSON.parse(down.outputs.containers!)).toHaveLength(1);
    await traefik.waitForServers(
      service,
      (JSON.parse(down.outputs.containers!) as { url: string }[]).map((task) => task.url),
    );
    v2Tasks.splice(0, 1, ...(JSON.parse(down.outputs.containers!) as { name: string; url: string }[]));

    // Routing settings that differ from the running version would break Traefik's router: refused.
    const moved = await deploy(service, images.v1!, { rule: 'Host(`elsewhere.test`)' });
    expect(failureMessage(moved)).toMatch(new RegExp(`^Input "rule": differs from the running server ${v2Name} of ${service} \\(traefik\\.http\\.routers\\.${service}\\.rule: Host`));

    // An operator's `docker service update --force`: Swarm starts the new task first, and stops
    // the old one with the drain signal, which keeps it answering until Traefik's next poll; this
    // Traefik polls every 6 s, so a plain SIGTERM would fail requests for seconds. With the image
    // gone from this node, the new task must pull it with the credentials deploy gave Swarm.
    const polling = await startTraefikStandIn({
      provider: 'swarm',
      container: { network },
      network,
      constraints: `LabelRegex(\`train-to-serve.service\`, \`^${service}$\`)`,
      refreshMs: 6000,
    });
    try {
      await polling.waitForServers(service, [v2Tasks[0]!.url]);
      await docker(['rmi', '-f', images.v2!]);
      const oldTasks = await runningTasks(v2Name);
      load = startLoad({ url: polling.webUrl, host: `${service}.test`, concurrency: 4 });
      await waitFor('requests to flow', async () => load.current().ok > 20, ENGINE_WAIT_MS);
      await docker(['service', 'update', '--force', '--detach=false', '--quiet', v2Name], { timeoutMs: 180_000 });
      await waitFor('Traefik to list the new task only', async () => (await polling.serverUrls(service)).length === 1 && !(await polling.serverUrls(service)).includes(v2Tasks[0]!.url), ENGINE_WAIT_MS, 200);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      traffic = await load.stop();
      expect(traffic.failed, JSON.stringify(traffic)).toBe(0);
      expect(traffic.ok).toBeGreaterThan(100);
      expect((await inspectService(v2Name))!.UpdateStatus?.State).toBe('completed');
      expect(await runningTasks(v2Name)).not.toEqual(oldTasks);
      expect(await imageExists(images.v2!)).toBe(true);
    } finally {
      await polling.stop();
    }

    // A v3 that exits at once: its service is removed, its task errors and logs are in the error, v2 serves on.
    const servingBefore = await traefik.serverUrls(service);
    const broken = await deploy(service, images['v3-exits']!, { 'health-timeout': '30s' });
    expect(broken.exitCode).toBe(1);
    const message = failureMessage(broken)!;
    const v3Name = versionName(service, images['v3-exits']!);
    expect(message).toMatch(new RegExp(`^New version ${v3Name} \\(.*\\) task ${v3Name}\\.1 failed: task: non-zero exit \\(1\\)\\. Removed the Swarm service ${v3Name}; the older versions were not touched and keep serving\\.`));
    expect(message).toContain(`Last 50 log lines of task ${v3Name}.1:`);
    expect(message).toContain('cannot load the model');
    expect(await versionsOf(service)).toEqual([v2Name]);
    expect(await traefik.serverUrls(service)).toEqual(servingBefore);
    expect(await predict(service)).toMatchObject({ status: 200 });
    expect(await lockExists(service)).toBe(false);
  }, 420_000);

  it('finishes a deploy killed halfway, times out a version that never turns healthy, keeps versions side by side with add, and retires the expired one through the Swarm drain', async () => {
    const service = `${prefix}-b`;
    const first = await deploy(service, images.v1!, { ttl: '1s' });
    expect(failureMessage(first), first.log).toBeUndefined();
    const v1Name = versionName(service, images.v1!);
    const v2Name = versionName(service, images.slow!);

    // Killed while its new version starts (the server loads for 6 s): the lock and a version that
    // is not serving are left behind. The rerun takes the lock over and starts that version again.
    const inputs = {
      image: images.slow!,
      service,
      rule: `Host(\`${service}.test\`)`,
      network,
      engine: 'swarm',
      strategy: 'add',
      'traefik-api': traefik.apiUrl,
      'registry-username': registry.username,
      'registry-password': registry.password,
      'health-timeout': '60s',
      'drain-timeout': '20s',
    };
    const killed = startAction('deploy', { inputs });
    await waitFor('the new version to be created', async () => (await versionsOf(service)).includes(v2Name), ENGINE_WAIT_MS, 100);
    killed.child.kill('SIGKILL');
    expect((await killed.result).signal).toBe('SIGKILL');
    expect(await lockExists(service)).toBe(true);
    const added = await runAction('deploy', { inputs });
    expect(failureMessage(added), added.log).toBeUndefined();
    expect(added.log).toMatch(/Taking over the deploy lock of .*: its holder \(pid \d+ on .*\) is gone/);
    expect(added.log).toContain(`Removing ${v2Name}: same image, but starting`);
    expect(added.log).toContain('strategy add: 1 older server(s) keep serving');
    expect(await versionsOf(service)).toEqual([v1Name, v2Name].sort());
    expect(await lockExists(service)).toBe(false);
    await traefik.waitForServers(
      service,
      [...(JSON.parse(first.outputs.containers!) as { url: string }[]), ...(JSON.parse(added.outputs.containers!) as { url: string }[])].map((s) => s.url),
    );
    const digests = new Set<string>();
    for (let i = 0; i < 6; i++) digests.add((await predict(service)).digest ?? '');
    expect(digests.size).toBe(2);

    const never = await deploy(service, images['never-healthy']!, { 'health-timeout': '6s' });
    const neverName = versionName(service, images['never-healthy']!);
    // The last probe's output is added when the task has been probed already (a loaded machine may not have got to it).
    expect(failureMessage(never)).toMatch(
      new RegExp(
        `^New version ${neverName} \\(.*\\) was not running within 6s \\(0 of 1 task running; ${neverName}\\.1 starting: starting(; last probe: exit 1: .*)?\\)\\. Removed the Swarm service ${neverName}; the older versions were not touched and keep serving\\.`,
      ),
    );
    expect(await versionsOf(service)).toEqual([v1Name, v2Name].sort());

    // A dry run, and a run that must know whether v1 is in use, change nothing: from the host the
    // tasks' overlay addresses cannot be reached, so usage is unknown and v1 stays.
    const dry = await retire(service, { 'dry-run': 'true' });
    expect(failureMessage(dry), dry.log).toBeUndefined();
    expect(JSON.parse(dry.outputs.retired!)).toEqual([expect.objectContaining({ name: v1Name, outcome: 'dry-run' })]);
    expect(JSON.parse(dry.outputs.kept!)).toEqual([expect.objectContaining({ name: v2Name, reason: expect.stringMatching(/^not expired/) })]);
    const unknown = await retire(service, { 'in-use-window': '1s' });
    expect(failureMessage(unknown), unknown.log).toBeUndefined();
    expect(JSON.parse(unknown.outputs.retired!)).toEqual([]);
    expect(JSON.parse(unknown.outputs.kept!)).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: v1Name, reason: expect.stringMatching(new RegExp(`whether it is in use is unknown: this runner is not attached to network ${network}`)) })]),
    );
    expect(await versionsOf(service)).toEqual([v1Name, v2Name].sort());

    const real = await retire(service);
    expect(failureMessage(real), real.log).toBeUndefined();
    expect(JSON.parse(real.outputs.retired!)).toEqual([expect.objectContaining({ name: v1Name, outcome: 'drained', reason: expect.stringMatching(/^expired/) })]);
    expect(JSON.parse(real.outputs.kept!)).toEqual([expect.objectContaining({ name: v2Name })]);
    expect(await versionsOf(service)).toEqual([v2Name]);
    expect(await traefik.serverUrls(service)).toEqual((JSON.parse(added.outputs.containers!) as { url: string }[]).map((s) => s.url));
    expect(real.summary).toMatch(new RegExp(`\\| ${service} \\| \`${v1Name}\` \\| .* \\| \\*\\*retired\\*\\* \\| expired .*; drained in`));
    // On this node, the image only v1 ran went; the one v2 runs stays.
    expect(await imageExists(images.v1!), real.log).toBe(false);
    expect(await imageExists(images.slow!)).toBe(true);
    expect(await lockExists(service)).toBe(false);
  }, 300_000);

  it('refuses what Swarm cannot do, naming the input, before creating anything', async () => {
    const service = `${prefix}-bad`;
    const bridge = `tts-swarm-bridge-${run}`;
    await docker(['network', 'create', bridge]);
    try {
      const cases: [Record<string, string>, RegExp][] = [
        [{ gpus: 'all' }, /^Input "gpus": engine swarm cannot give GPUs to a service: Swarm has no device requests .* Deploy GPU models with engine: docker/],
        [{ network: bridge }, new RegExp(`^Input "network": "${bridge}" is a local-scope bridge network; Swarm services attach to swarm-scope networks: create one with docker network create --driver overlay --attachable`)],
        [{ network: `tts-no-such-network-${run}` }, /^Input "network": no Swarm network "tts-no-such-network-/],
        [{ service: `${service}-${'x'.repeat(40)}` }, /^Input "service": with engine swarm, at most 50 characters/],
      ];
      for (const [changes, expected] of cases) {
        const result = await deploy(service, images.v1!, changes);
        expect(result.exitCode).toBe(1);
        expect(failureMessage(result)).toMatch(expected);
        expect(failureMessage(result)).not.toContain('\n');
      }
      expect(await versionsOf(service)).toEqual([]);
      expect(await lockExists(service)).toBe(false);
    } finally {
      await docker(['network', 'rm', bridge]).catch(() => {});
    }
  }, 120_000);
});
