import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { failureMessage, runAction, type ActionRunResult } from '../support/action-runner';
import { docker, ensureNodeBaseImage } from '../support/docker-cli';
import { fileRoutingNames, predictVersion, publishPlain, type FileRoutingBed } from '../support/file-routing-bed';
import { waitFor } from '../support/ports';
import { startRegistry } from '../support/registry';
import { createOverlayNetwork, ensureSwarm, removeOverlayNetwork, removeServices } from '../support/swarm';
import { startTraefikStandIn } from '../support/traefik';
import { startLoad, type LoadResult } from '../support/traefik/load';
import { watchRouting } from '../support/traefik/routing-watch';

/**
 * `engine: swarm` with `routing: file` on the real single-node swarm: each version is a Swarm
 * service with Traefik's Swarm-provider labels for its own service and pinned router, and the
 * toolkit's weighted service in `<routing-dir>/<service>.yml` names `<service>-<version>@swarm`.
 * The Traefik stand-in runs in a container on the test's attachable overlay network with its Swarm
 * provider (polling every second) beside its file provider watching the routing-dir. Task
 * addresses live on that overlay, which the host cannot reach, so deploy and retire run the way a
 * user runs them for health-path: in a runner container attached to the overlay network (the
 * committed bundle, node, the engine's socket, the routing-dir mounted at the same path). The
 * server is the plain server (test/support/plain-server.ts): node as PID 1, no SIGUSR2 handler, no
 * HEALTHCHECK, `/ready` 503 for its first 1.5 s.
 */
const names = fileRoutingNames('file-swarm');
const { prefix, network, routingDir } = names;
let bed: FileRoutingBed;
let runnerImage: string;
const short = (image: string) => image.slice(image.indexOf('@sha256:') + 8, image.indexOf('@sha256:') + 20);
const digestOf = (image: string) => image.slice(image.indexOf('@') + 1);
const versionName = (service: string, version: string) => `${service}-${short(bed.images[version]!)}`;

/** The routing inputs every run gets; Traefik's API as the runner container reaches it. */
function fileInputs(): Record<string, string> {
  return { engine: 'swarm', routing: 'file', 'routing-dir': routingDir, 'traefik-api': bed.traefik.inNetwork!.apiUrl, 'drain-timeout': '20s' };
}

function deploy(service: string, version: string, inputs: Record<string, string> = {}): Promise<ActionRunResult> {
  return runAction('deploy', {
    inputs: { image: bed.images[version]!, service, rule: `Host(\`${service}.test\`)`, network, 'health-path': '/ready', 'health-timeout': '60s', ...fileInputs(), ...inputs },
    container: { network, image: runnerImage, volumes: [routingDir] },
    // A serving host under load (this suite runs beside others on two cores) is slow, not broken.
    timeoutMs: 400_000,
  });
}

/** One prediction through the stand-in's `web` entry point; `version` is the plain server's. */
function predict(service: string, headers: Record<string, string> = {}): Promise<{ status: number; version?: string }> {
  return predictVersion(bed.traefik.webUrl, service, headers);
}

/** The Swarm services (model versions) of a service, with their ids. */
async function versionsOf(service: string): Promise<string[]> {
  return (await docker(['service', 'ls', '--filter', `label=train-to-serve.service=${service}`, '--format', '{{.Name}} {{.ID}}'])).split('\n').filter(Boolean).sort();
}

const namesOf = (versions: string[]) => versions.map((line) => line.split(' ')[0]);

/** The children of `<service>@file` with weight above 0, as Traefik serves it now. */
async function weighted(service: string): Promise<string[]> {
  const info = await bed.traefik.service(`${service}@file`);
  return (info?.weighted?.services ?? []).filter((child) => child.weight > 0).map((child) => child.name);
}

/**
 * Until stopped: first whether the Swarm service `name` exists, then (read after it) whether
 * Traefik's weighted service still routes to `name@swarm`. A poll that finds the service gone
 * while Traefik still routes to it means it was removed before Traefik stopped routing to it.
 */
function watchRemovalOrder(service: string, name: string): { stop(): Promise<{ polls: number; early: number; gone: boolean }> } {
  let running = true;
  const seen = { polls: 0, early: 0, gone: false };
  const loop = (async () => {
    while (running) {
      const exists = (await docker(['service', 'ls', '-q', '--filter', `name=${name}`])).trim() !== '';
      const routed = (await weighted(service)).includes(`${name}@swarm`);
      seen.polls++;
      if (!exists) seen.gone = true;
      if (!exists && routed) seen.early++;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return seen;
    },
  };
}

async function underLoad<T>(service: string, work: () => Promise<T>): Promise<{ traffic: LoadResult; value: T }> {
  const load = startLoad({ url: bed.traefik.webUrl, host: `${service}.test`, concurrency: 8 });
  await waitFor('requests to flow', async () => load.current().ok > 40, 60_000);
  const value = await work();
  await new Promise((resolve) => setTimeout(resolve, 500));
  return { traffic: await load.stop(), value };
}

beforeAll(async () => {
  await ensureSwarm();
  runnerImage = await ensureNodeBaseImage();
  const registry = await startRegistry();
  await createOverlayNetwork(network);
  const traefik = await startTraefikStandIn({
    provider: 'swarm',
    container: { network },
    network,
    constraints: `LabelRegex(\`train-to-serve.service\`, \`^${prefix}\`)`,
    refreshMs: 1000,
    file: { directory: routingDir },
  });
  bed = { names, registry, traefik, images: {} };
  for (const version of ['v1', 'v2', 'v3']) await publishPlain(bed, version);
}, 300_000);

// Each test's services go when it ends: their tasks would otherwise load the next test's machine.
afterEach(() => removeServices(prefix), 120_000);

afterAll(async () => {
  await bed?.traefik.stop();
  await removeServices(prefix);
  const locks = (await docker(['config', 'ls', '--format', '{{.Name}}']).catch(() => '')).split('\n').filter((name) => name.startsWith(`tts-lock-${prefix}`));
  if (locks.length > 0) await docker(['config', 'rm', ...locks]).catch(() => {});
  await removeOverlayNetwork(network);
  await bed?.registry.stop();
  const local = (await docker(['images', '--format', '{{.Repository}}@{{.Digest}}']).catch(() => '')).split('\n').filter((ref) => ref.includes(`/acme/plain-${network}@`));
  if (local.length > 0) await docker(['rmi', '-f', ...local]).catch(() => {});
  rmSync(routingDir, { recursive: true, force: true });
}, 180_000);

describe('engine swarm with routing file', () => {
  it('replaces v1 by v2 under 8 clients with no failed request, removing v1 only after Traefik stopped routing to it', async () => {
    const service = `${prefix}-a`;
    const first = await deploy(service, 'v1');
    expect(failureMessage(first), first.log).toBeUndefined();
    const v1 = versionName(service, 'v1');
    const v2 = versionName(service, 'v2');

    // The version's service carries the Swarm provider's labels of its own service and pinned router, nothing shared.
    const labels = (JSON.parse(await docker(['service', 'inspect', v1])) as { Spec: { Labels: Record<string, string>; TaskTemplate: { ContainerSpec: { StopSignal?: string } } } }[])[0]!.Spec;
    expect(Object.fromEntries(Object.entries(labels.Labels).filter(([key]) => key.startsWith('traefik.')))).toEqual({
      'traefik.enable': 'true',
      'traefik.swarm.network': network,
      [`traefik.http.routers.${v1}.rule`]: `(Host(\`${service}.test\`)) && Header(\`X-Model-Version\`, \`${short(bed.images.v1!)}\`)`,
      [`traefik.http.routers.${v1}.entrypoints`]: 'web',
      [`traefik.http.routers.${v1}.service`]: v1,
      [`traefik.http.services.${v1}.loadbalancer.server.port`]: '8080',
    });
    expect(labels.TaskTemplate.ContainerSpec.StopSignal).toBe('SIGTERM');
    expect(readFileSync(join(routingDir, `${service}.yml`), 'utf8')).toContain(`name: ${v1}@swarm`);
    expect(await weighted(service)).toEqual([`${v1}@swarm`]);
    await waitFor('v1 to answer through Traefik', async () => (await predict(service)).status === 200, 60_000);

    const gaps = watchRouting(bed.traefik.apiUrl, service, 'file');
    const order = watchRemovalOrder(service, v1);
    const { traffic, value: second } = await underLoad(service, () => deploy(service, 'v2'));
    const seen = await order.stop();
    const routing = await gaps.stop();
    console.log(`[swarm-file] replace under 8 clients: ${traffic.ok} ok, ${traffic.failed} failed ${JSON.stringify(traffic.outcomes)}; ${seen.polls} order polls, ${routing.polls} routing snapshots`);
    expect(failureMessage(second), second.log).toBeUndefined();
    expect(traffic.failed, JSON.stringify(traffic)).toBe(0);
    expect(Object.keys(traffic.digests).sort(), JSON.stringify(traffic.digests)).toEqual([digestOf(bed.images.v1!), digestOf(bed.images.v2!)].sort());
    expect(routing.gaps, routing.gaps.join('\n')).toEqual([]);
    // The removal happened while watched, and never while Traefik's weighted service still named v1.
    expect(seen.gone).toBe(true);
    expect(seen.early).toBe(0);
    // The deploy's own account in the same order: Traefik applied the weights, then v1 was removed without a drain signal.
    const applied = second.log.indexOf(`Routing ${service}: ${v2}@swarm (weight 1); Traefik applied it`);
    const removed = second.log.indexOf(`Removed: ${v1} (withdrawn`);
    expect(applied, second.log).toBeGreaterThan(-1);
    expect(removed, second.log).toBeGreaterThan(applied);
    expect(JSON.parse(second.outputs.removed!)).toEqual([expect.objectContaining({ name: v1, outcome: 'withdrawn' })]);
    expect(namesOf(await versionsOf(service))).toEqual([v2]);
    const table = readFileSync(join(routingDir, `${service}.yml`), 'utf8');
    expect(table).toContain(`name: ${v2}@swarm`);
    expect(table).not.toContain(v1);
    expect(await predict(service)).toMatchObject({ status: 200, version: 'v2' });
  }, 900_000);

  it('keeps the previous version at weight 0 with keep-previous and rolls back under 8 clients by flipping the weights, starting nothing', async () => {
    const service = `${prefix}-b`;
    for (const version of ['v1', 'v2']) {
      const result = await deploy(service, version, { 'keep-previous': '1h' });
      expect(failureMessage(result), result.log).toBeUndefined();
    }
    const [v1, v2] = [versionName(service, 'v1'), versionName(service, 'v2')];
    const before = await versionsOf(service);
    expect(namesOf(before)).toEqual([v1, v2].sort());
    expect(await weighted(service)).toEqual([`${v2}@swarm`]);
    await waitFor('v2 to answer through Traefik', async () => (await predict(service)).version === 'v2', 60_000);
    // Out of the weighted service but still serving through its pinned router.
    expect(await predict(service, { 'X-Model-Version': short(bed.images.v1!) })).toMatchObject({ status: 200, version: 'v1' });

    const { traffic, value: back } = await underLoad(service, () => deploy(service, 'v2', { rollback: 'true', 'keep-previous': '1h' }));
    console.log(`[swarm-file] rollback under 8 clients: ${traffic.ok} ok, ${traffic.failed} failed ${JSON.stringify(traffic.outcomes)}`);
    expect(failureMessage(back), back.log).toBeUndefined();
    expect(back.log).toContain('no pull, no start');
    expect(traffic.failed, JSON.stringify(traffic)).toBe(0);
    expect(Object.keys(traffic.digests).sort(), JSON.stringify(traffic.digests)).toEqual([digestOf(bed.images.v1!), digestOf(bed.images.v2!)].sort());
    // The same two Swarm services (same ids): nothing was started or removed.
    expect(await versionsOf(service)).toEqual(before);
    expect(await weighted(service)).toEqual([`${v1}@swarm`]);
    for (let i = 0; i < 10; i++) expect(await predict(service)).toMatchObject({ status: 200, version: 'v1' });
  }, 900_000);

  it('retire removes an expired version no one calls and keeps one still called through its pinned router', async () => {
    const service = `${prefix}-c`;
    // v3 serves; v1 and v2 run on at weight 0 (keep-previous), all past max-age when retire runs.
    for (const version of ['v1', 'v2', 'v3']) {
      const result = await deploy(service, version, { 'keep-previous': '1h' });
      expect(failureMessage(result), result.log).toBeUndefined();
    }
    const [v1, v2, v3] = ['v1', 'v2', 'v3'].map((version) => versionName(service, version));
    expect(namesOf(await versionsOf(service))).toEqual([v1!, v2!, v3!].sort());
    await waitFor('v3 to answer through Traefik', async () => (await predict(service)).version === 'v3', 60_000);

    let pinned = 0;
    let calling = true;
    const caller = (async () => {
      while (calling) {
        expect(await predict(service, { 'X-Model-Version': short(bed.images.v1!) })).toMatchObject({ status: 200, version: 'v1' });
        pinned++;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const { traffic, value: retire } = await underLoad(service, async () => {
      await waitFor('the pinned calls to flow', () => pinned > 3, 60_000);
      return runAction('retire', {
        inputs: { service, ...fileInputs(), 'max-age': '1s', keep: '1', 'in-use-window': '5s', 'prune-images': 'false' },
        container: { network, image: runnerImage, volumes: [routingDir] },
        timeoutMs: 400_000,
      });
    });
    calling = false;
    await caller;
    console.log(`[swarm-file] retire under 8 clients + a pinned caller (${pinned} calls to v1): ${traffic.ok} ok, ${traffic.failed} failed`);
    expect(failureMessage(retire), retire.log).toBeUndefined();
    expect(traffic.failed, JSON.stringify(traffic)).toBe(0);
    const retired = JSON.parse(retire.outputs.retired!) as { digest: string; outcome: string }[];
    const kept = JSON.parse(retire.outputs.kept!) as { digest: string; reason: string }[];
    expect(retired).toEqual([expect.objectContaining({ digest: digestOf(bed.images.v2!), outcome: 'withdrawn' })]);
    expect(kept.find((entry) => entry.digest === digestOf(bed.images.v1!))?.reason).toMatch(/^in use: \d+ requests? in the last 5s/);
    expect(kept.find((entry) => entry.digest === digestOf(bed.images.v3!))?.reason).toMatch(/one of the newest 1 serving server/);
    expect(namesOf(await versionsOf(service))).toEqual([v1!, v3!].sort());
    expect(await predict(service, { 'X-Model-Version': short(bed.images.v1!) })).toMatchObject({ status: 200, version: 'v1' });
    expect(await predict(service)).toMatchObject({ status: 200, version: 'v3' });
  }, 900_000);

  it('refuses health-path from a runner that cannot reach the overlay network, in one line, before anything changes', async () => {
    const service = `${prefix}-d`;
    // The actions on the host, as a runner that is not attached to the network.
    const result = await runAction('deploy', {
      inputs: { image: bed.images.v1!, service, rule: `Host(\`${service}.test\`)`, network, 'health-path': '/ready', ...fileInputs(), 'traefik-api': bed.traefik.apiUrl },
      timeoutMs: 120_000,
    });
    expect(result.exitCode).toBe(1);
    const message = failureMessage(result)!;
    expect(message).toMatch(new RegExp(`^Input "health-path": engine swarm: this runner is not attached to network "${network}", so it cannot probe the tasks' /ready`));
    expect(message.split('\n')).toHaveLength(1);
    expect(await versionsOf(service)).toEqual([]);
    expect(() => readFileSync(join(routingDir, `${service}.yml`))).toThrow();
    expect(result.log).not.toMatch(/Pulled|Created Swarm service/);
  }, 300_000);
});
