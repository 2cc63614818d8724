import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureMessage, runAction, type ActionRunResult } from '../support/action-runner';
import { docker } from '../support/docker-cli';
import { waitFor } from '../support/ports';
import { bedDeployInputs, fileRoutingNames, predictVersion, publishPlain, startFileRoutingBed, stopFileRoutingBed, type FileRoutingBed } from '../support/file-routing-bed';
import { startLoad, type LoadResult } from '../support/traefik/load';

/**
 * routing: file against the real engine, a real registry and the Traefik stand-in running the
 * Docker provider beside a watched file provider directory, with a server image that ignores
 * SIGUSR2 and has no HEALTHCHECK (test/support/plain-server.ts). Under 8 clients: the same replace
 * drops requests in label mode and none in file mode; keep-previous and rollback flip weights.
 */
const names = fileRoutingNames('routing');
const { prefix, routingDir } = names;
let bed: FileRoutingBed;
const short = (image: string) => image.slice(image.indexOf('@sha256:') + 8, image.indexOf('@sha256:') + 20);

function deploy(service: string, image: string, inputs: Record<string, string> = {}): Promise<ActionRunResult> {
  return runAction('deploy', {
    inputs: {
      ...bedDeployInputs(bed, service, image, false),
      'registry-username': bed.registry.username,
      'registry-password': bed.registry.password,
      ...inputs,
    },
    // A serving host under load (this suite runs beside others on two cores) is slow, not broken.
    timeoutMs: 400_000,
  });
}

const fileInputs = { routing: 'file', 'routing-dir': routingDir, 'health-path': '/ready' };

function get(service: string, headers: Record<string, string> = {}): Promise<{ status: number; version?: string }> {
  return predictVersion(bed.traefik.webUrl, service, headers);
}

/** Replace v1 by v2 under 8 clients; the traffic seen from the first to the last request. */
async function replaceUnderLoad(service: string, inputs: Record<string, string>): Promise<{ traffic: LoadResult; result: ActionRunResult }> {
  const first = await deploy(service, bed.images.v1!, inputs);
  expect(failureMessage(first), first.log).toBeUndefined();
  await waitFor('v1 to answer through Traefik', async () => (await get(service)).status === 200, 30_000);
  const load = startLoad({ url: bed.traefik.webUrl, host: `${service}.test`, concurrency: 8 });
  await waitFor('requests to flow', async () => load.current().ok > 40, 30_000);
  const result = await deploy(service, bed.images.v2!, inputs);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const traffic = await load.stop();
  console.log(`[routing] ${inputs.routing ?? 'labels'} replace under 8 clients: ${traffic.ok} ok, ${traffic.failed} failed ${JSON.stringify(traffic.outcomes)}`);
  return { traffic, result };
}

beforeAll(async () => {
  bed = await startFileRoutingBed(names, { auth: 'basic' });
  await publishPlain(bed, 'v1');
  await publishPlain(bed, 'v2');
  await publishPlain(bed, 'v3');
}, 300_000);

afterAll(() => stopFileRoutingBed(bed, names));

describe('routing: file with a server that ignores SIGUSR2 and has no HEALTHCHECK', () => {
  it('label mode drops requests when that server is replaced under load (the reason file mode exists)', async () => {
    const { traffic, result } = await replaceUnderLoad(`${prefix}-l`, {});
    expect(failureMessage(result), result.log).toBeUndefined();
    expect(result.log).toMatch(/had no health check/);
    expect(traffic.failed, JSON.stringify(traffic.outcomes)).toBeGreaterThan(0);
  }, 900_000);

  it('file mode replaces it under 8 clients with no failed request, keeps the previous version for an instant rollback, and flips back', async () => {
    const service = `${prefix}-f`;
    const { traffic, result } = await replaceUnderLoad(service, { ...fileInputs, 'keep-previous': '1h' });
    expect(failureMessage(result), result.log).toBeUndefined();
    expect(traffic.failed, JSON.stringify(traffic)).toBe(0);
    expect(traffic.ok).toBeGreaterThan(0);

    // The table: the main router over v2 alone; v1 kept at weight 0, still reachable when pinned.
    const table = readFileSync(join(routingDir, `${service}.yml`), 'utf8');
    expect(table).toContain(`${service}-${short(bed.images.v2!)}@docker`);
    expect(table).not.toContain(`name: ${service}-${short(bed.images.v1!)}@docker`);
    expect(await bed.traefik.serverUrls(`${service}-${short(bed.images.v1!)}`)).toHaveLength(1);
    expect(await get(service)).toMatchObject({ status: 200, version: 'v2' });
    expect(await get(service, { 'X-Model-Version': short(bed.images.v1!) })).toMatchObject({ status: 200, version: 'v1' });

    // Rollback under load: no pull, no start, weights flip back.
    const load = startLoad({ url: bed.traefik.webUrl, host: `${service}.test`, concurrency: 8 });
    await waitFor('requests to flow', async () => load.current().ok > 40, 30_000);
    const back = await deploy(service, bed.images.v2!, { ...fileInputs, rollback: 'true', 'keep-previous': '1h' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const during = await load.stop();
    console.log(`[routing] rollback under 8 clients: ${during.ok} ok, ${during.failed} failed ${JSON.stringify(during.outcomes)}`);
    expect(failureMessage(back), back.log).toBeUndefined();
    expect(back.log).toContain('no pull, no start');
    expect(back.log).not.toMatch(/Pulled|Started/);
    expect(during.failed, JSON.stringify(during)).toBe(0);
    for (let i = 0; i < 10; i++) expect(await get(service)).toMatchObject({ status: 200, version: 'v1' });
  }, 1_200_000);

  it('retire: an expired version still called through its pinned router is kept and reported; an unused one is removed, however busy the service', async () => {
    const service = `${prefix}-r`;
    // v3 serves; v1 and v2 run on at weight 0 (keep-previous), both past max-age when retire runs.
    for (const version of ['v1', 'v2', 'v3']) {
      const result = await deploy(service, bed.images[version]!, { ...fileInputs, 'keep-previous': '1h' });
      expect(failureMessage(result), result.log).toBeUndefined();
    }
    const containers = async (version: string) => (await docker(['ps', '-q', '--filter', `label=train-to-serve.service=${service}`, '--filter', `name=${short(bed.images[version]!)}`])).split('\n').filter(Boolean);
    for (const version of ['v1', 'v2', 'v3']) expect(await containers(version), version).toHaveLength(1);
    await waitFor('v3 to answer through Traefik', async () => (await get(service)).version === 'v3', 60_000);

    // The service is busy (8 clients on its main router) and one client keeps calling v1 on purpose.
    const load = startLoad({ url: bed.traefik.webUrl, host: `${service}.test`, concurrency: 8 });
    let pinned = 0;
    let calling = true;
    const caller = (async () => {
      while (calling) {
        const answer = await get(service, { 'X-Model-Version': short(bed.images.v1!) });
        expect(answer).toMatchObject({ status: 200, version: 'v1' });
        pinned++;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    await waitFor('the service traffic and the pinned calls to flow', async () => load.current().ok > 40 && pinned > 3, 60_000);
    const retire = await runAction('retire', {
      inputs: { service, routing: 'file', 'routing-dir': routingDir, 'traefik-api': bed.traefik.apiUrl, 'max-age': '1s', keep: '1', 'in-use-window': '5s', 'drain-timeout': '20s', 'prune-images': 'false' },
      timeoutMs: 400_000,
    });
    calling = false;
    await caller;
    const traffic = await load.stop();
    console.log(`[routing] retire under 8 clients + a pinned caller (${pinned} calls to v1): ${traffic.ok} ok, ${traffic.failed} failed`);
    expect(failureMessage(retire), retire.log).toBeUndefined();
    expect(traffic.failed, JSON.stringify(traffic)).toBe(0);

    const retired = JSON.parse(retire.outputs.retired!) as { digest: string }[];
    const kept = JSON.parse(retire.outputs.kept!) as { digest: string; reason: string }[];
    const digest = (version: string) => bed.images[version]!.slice(bed.images[version]!.indexOf('@') + 1);
    expect(retired.map((entry) => entry.digest)).toEqual([digest('v2')]);
    expect(kept.find((entry) => entry.digest === digest('v1'))?.reason).toMatch(/^in use: \d+ requests? in the last 5s/);
    expect(kept.find((entry) => entry.digest === digest('v3'))?.reason).toMatch(/one of the newest 1 serving server/);
    expect(await containers('v2')).toEqual([]);
    expect(await containers('v1')).toHaveLength(1);
    expect(await get(service, { 'X-Model-Version': short(bed.images.v1!) })).toMatchObject({ status: 200, version: 'v1' });
    expect(await get(service)).toMatchObject({ status: 200, version: 'v3' });
  }, 1_200_000);

  it('refuses bad routing inputs with a one-line error, changing nothing', async () => {
    const service = `${prefix}-bad`;
    const cases: [Record<string, string>, RegExp][] = [
      [{ routing: 'file' }, /Input "routing-dir": is required with routing: file/],
      [{ ...fileInputs, 'routing-dir': join(routingDir, 'missing') }, /Input "routing-dir": .* does not exist/],
      [{ ...fileInputs, rule: 'Host(`a`' }, /Input "rule"/],
      [{ ...fileInputs, rollback: 'true' }, /Input "rollback": no previous version is kept/],
      [{ routing: 'ribbons' }, /Input "routing"/],
    ];
    for (const [inputs, message] of cases) {
      const result = await deploy(service, bed.images.v1!, inputs);
      expect(failureMessage(result)).toMatch(message);
      expect(failureMessage(result)!.split('\n')).toHaveLength(1);
    }
    expect((await docker(['ps', '-aq', '--filter', `label=train-to-serve.service=${service}`])).trim()).toBe('');
  }, 300_000);
});

describe('routing: file with health-path: HTTP checks instead of the image HEALTHCHECK (Docker engine)', () => {
  const inspect = async (service: string) => {
    const ids = (await docker(['ps', '-aq', '--filter', `label=train-to-serve.service=${service}`])).split('\n').filter(Boolean);
    expect(ids).toHaveLength(1);
    return (JSON.parse(await docker(['inspect', ids[0]!])) as { Config: { Healthcheck?: { Test?: string[] }; Labels: Record<string, string> }; State: { Health?: unknown } }[])[0]!;
  };

  it('admits a server on its first 2xx on health-path with no exec probe; Traefik checks it over HTTP after; health-cmd keeps the exec check', async () => {
    const image = await publishPlain(bed, 'hc', { healthcheck: true });
    const service = `${prefix}-hc`;
    const result = await deploy(service, image, fileInputs);
    expect(failureMessage(result), result.log).toBeUndefined();
    expect(result.log).toMatch(/^Started \S+; waiting up to 1m for GET \/ready to answer 2xx$/m);
    const info = await inspect(service);
    expect(info.Config.Healthcheck?.Test).toEqual(['NONE']);
    expect(info.State.Health).toBeUndefined();
    const balancer = `traefik.http.services.${service}-${short(image)}.loadbalancer`;
    expect(info.Config.Labels[`${balancer}.healthcheck.path`]).toBe('/ready');
    expect(info.Config.Labels[`${balancer}.healthcheck.interval`]).toBe('2000ms');
    expect(await get(service)).toMatchObject({ status: 200, version: 'hc' });
    // Traefik's API (the stand-in's) lists the version with its HTTP health check, its server UP.
    const listed = await bed.traefik.service(`${service}-${short(image)}@docker`);
    expect(JSON.stringify(listed?.loadBalancer)).toContain('"path":"/ready"');
    expect(Object.values(listed?.serverStatus ?? {})).toEqual(['UP']);

    const withCmd = `${prefix}-hcc`;
    const kept = await deploy(withCmd, image, { ...fileInputs, 'health-cmd': '["node", "-e", "process.exit(0)"]' });
    expect(failureMessage(kept), kept.log).toBeUndefined();
    expect(kept.log).toMatch(/^Started \S+; waiting up to 1m for healthy$/m);
    const keptInfo = await inspect(withCmd);
    expect(keptInfo.Config.Healthcheck?.Test).toEqual(['CMD', 'node', '-e', 'process.exit(0)']);
    expect(Object.keys(keptInfo.Config.Labels).filter((key) => key.includes('healthcheck'))).toEqual([]);
  }, 400_000);

  it('a server that exits before it answers fails the deploy at once, naming the exit, and the older version keeps serving', async () => {
    const service = `${prefix}-exit`;
    const first = await deploy(service, bed.images.v1!, fileInputs);
    expect(failureMessage(first), first.log).toBeUndefined();
    const dies = await publishPlain(bed, 'dies', { exitAfterMs: 300 });
    const result = await deploy(service, dies, { ...fileInputs, 'health-timeout': '5m' });
    expect(failureMessage(result)).toMatch(/^New server \S+ \(.*\) was not ready: exited with code 3 before it answered GET \/ready\. Removed the 1 new server/);
    expect(await get(service)).toMatchObject({ status: 200, version: 'v1' });
    expect((await docker(['ps', '-aq', '--filter', `label=train-to-serve.service=${service}`])).split('\n').filter(Boolean)).toHaveLength(1);
  }, 400_000);
});
