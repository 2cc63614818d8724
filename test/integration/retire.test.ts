import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectEngine } from '../../src/engine/connection';
import { DockerEngine } from '../../src/engine/docker-engine';
import { ms } from '../../src/engine/containers';
import { DEFAULT_HEALTH_INTERVAL_MS } from '../../src/serving/deploy-spec';
import { serverLabels } from '../../src/serving/labels';
import { runRetire } from '../../src/serving/retire';
import type { Log } from '../../src/serving/engine';
import { failureMessage, runAction } from '../support/action-runner';
import { docker, imageExists } from '../support/docker-cli';
import { waitFor } from '../support/ports';
import { ensureModelImage, irisModel } from '../support/server-image';
import { startTraefikStandIn, type TraefikStandIn } from '../support/traefik';

/**
 * retire over a mixed population of real servers (the reference server image), created with the
 * label contract deploy writes: expired, fresh, never-expiring, unmanaged, in use, ignoring the
 * drain signal, crashed, and the last healthy server of a service.
 */
const run = randomBytes(3).toString('hex');
const service = `ttsr${run}`;
const other = `ttsr${run}-solo`;
const network = `tts-retire-${run}`;
const repository = `localhost/tts-retire-${run}/iris`;
let api: Docker;
let traefik: TraefikStandIn;
const ids: Record<string, string> = {};

const hours = (h: number) => new Date(Date.now() + h * 3_600_000);

interface ServerSpec {
  service?: string;
  image: string;
  deployedAt: Date;
  expiresAt: Date | null;
  managed?: boolean;
  healthCmd?: string[];
  cmd?: string[];
}

async function createServer(name: string, spec: ServerSpec): Promise<string> {
  const svc = spec.service ?? service;
  const digest = `sha256:${randomBytes(32).toString('hex')}`;
  const labels = serverLabels(
    { service: svc, rule: `Host(\`${svc}.test\`)`, entrypoints: ['web'], port: 8080, network },
    { service: svc, image: spec.image, digest, deployedAt: spec.deployedAt, expiresAt: spec.expiresAt, drainSignal: 'SIGUSR2', provenance: {} },
  );
  if (spec.managed === false) delete labels['train-to-serve.managed'];
  const container = await api.createContainer({
    name: `${service}-${name}`,
    Image: spec.image,
    Labels: labels,
    ...(spec.cmd ? { Cmd: spec.cmd } : {}),
    Healthcheck: { ...(spec.healthCmd ? { Test: spec.healthCmd } : {}), Interval: ms(DEFAULT_HEALTH_INTERVAL_MS), Retries: 2, StartPeriod: ms(30_000) },
    StopTimeout: 30,
    HostConfig: { NetworkMode: network, RestartPolicy: { Name: spec.cmd ? 'no' : 'unless-stopped' } },
  });
  await container.start();
  ids[name] = container.id;
  return container.id;
}

async function exists(id: string): Promise<boolean> {
  try {
    await api.getContainer(id).inspect();
    return true;
  } catch {
    return false;
  }
}

async function ipOf(id: string): Promise<string> {
  return (await api.getContainer(id).inspect()).NetworkSettings.Networks[network]!.IPAddress;
}

/** Requests straight to one server, as a client pinned to it would send them. */
function hammer(ip: string): { stop: () => Promise<number> } {
  let running = true;
  let count = 0;
  const once = () =>
    new Promise<void>((resolve) => {
      const req = request({ host: ip, port: 8080, path: '/predict', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume().on('end', () => {
          count++;
          resolve();
        });
      });
      req.on('error', () => resolve());
      req.end(JSON.stringify({ instances: [[6.0, 2.9, 4.5, 1.5]] }));
    });
  const loop = (async () => {
    while (running) {
      await once();
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return count;
    },
  };
}

beforeAll(async () => {
  api = (await connectEngine(undefined)).docker;
  await docker(['network', 'create', network]);
  traefik = await startTraefikStandIn({ network, constraints: `LabelRegex(\`train-to-serve.service\`, \`^ttsr${run}\`)` });
  // Two models, so two images: the old one is used only by servers that retire removes.
  const oldModel = await ensureModelImage({ ...irisModel(), name: 'iris-retired' }, { repository: 'retire-test-model' });
  const model = await ensureModelImage(irisModel(), { repository: 'retire-test-model' });
  await docker(['tag', oldModel.reference, `${repository}:old`]);
  await docker(['tag', model.reference, `${repository}:new`]);
  const old = `${repository}:old`;
  const current = `${repository}:new`;
  await Promise.all([
    createServer('old', { image: old, deployedAt: hours(-30), expiresAt: hours(-6) }),
    createServer('stuck', { image: current, deployedAt: hours(-20), expiresAt: hours(-2), healthCmd: ['CMD', 'node', '-e', '0'] }),
    createServer('crashed', { image: current, deployedAt: hours(-10), expiresAt: hours(-1), cmd: ['node', '-e', 'process.exit(3)'] }),
    createServer('busy', { image: current, deployedAt: hours(-9), expiresAt: hours(-1) }),
    createServer('newest', { image: current, deployedAt: hours(-0.5), expiresAt: hours(-0.25) }),
    createServer('fresh', { image: current, deployedAt: hours(-1), expiresAt: hours(40) }),
    createServer('forever', { image: current, deployedAt: hours(-500), expiresAt: null }),
    createServer('unmanaged', { image: current, deployedAt: hours(-50), expiresAt: hours(-40), managed: false }),
    createServer('solo', { service: other, image: current, deployedAt: hours(-50), expiresAt: hours(-40) }),
  ]);
  await waitFor(
    'the population to settle',
    async () => {
      const states = await Promise.all(Object.entries(ids).map(async ([name, id]) => [name, await api.getContainer(id).inspect()] as const));
      return states.every(([name, info]) => (name === 'crashed' ? info.State.Status === 'exited' : info.State.Health?.Status === 'healthy'));
    },
    60_000,
    250,
  );
}, 180_000);

afterAll(async () => {
  await Promise.all(
    Object.values(ids).map((id) =>
      api
        .getContainer(id)
        .remove({ force: true, v: true })
        .catch(() => {}),
    ),
  );
  await traefik?.stop();
  await docker(['network', 'rm', network]).catch(() => {});
  await docker(['rmi', `${repository}:old`, `${repository}:new`]).catch(() => {});
});

describe('retire', () => {
  it('a dry run reports and changes nothing; the real run removes exactly the expired servers nobody needs', async () => {
    // 'stuck' ignores the drain signal, so it waits out the whole drain-timeout; 'old' must turn
    // unhealthy within it: two failed 2 s probes, each of which may take seconds on a busy host.
    const inputs = { service, 'drain-timeout': '25s', 'traefik-api': traefik.apiUrl, 'in-use-window': '3s' };
    const before = await Promise.all(Object.values(ids).map((id) => api.getContainer(id).inspect()));

    let busy = hammer(await ipOf(ids.busy!));
    const dry = await runAction('retire', { inputs: { ...inputs, 'dry-run': 'true' } });
    await busy.stop();
    expect(failureMessage(dry), dry.log).toBeUndefined();
    const wouldGo = (JSON.parse(dry.outputs.retired!) as { name: string; outcome: string }[]).map((s) => s.name).sort();
    expect(wouldGo, dry.outputs.kept).toEqual([`${service}-crashed`, `${service}-old`, `${service}-stuck`]);
    expect(dry.summary).toContain('dry run: nothing changed');
    expect(dry.summary).toContain('would retire');
    const after = await Promise.all(Object.values(ids).map((id) => api.getContainer(id).inspect()));
    expect(after.map((c) => [c.Id, c.State.Status, c.State.StartedAt])).toEqual(before.map((c) => [c.Id, c.State.Status, c.State.StartedAt]));
    expect(await imageExists(`${repository}:old`)).toBe(true);

    busy = hammer(await ipOf(ids.busy!));
    const oldUrl = `http://${await ipOf(ids.old!)}:8080`;
    expect(await traefik.serverUrls(service)).toContain(oldUrl);
    const real = await runAction('retire', { inputs });
    const sent = await busy.stop();
    expect(sent).toBeGreaterThan(5);
    expect(failureMessage(real), real.log).toBeUndefined();

    const retired = JSON.parse(real.outputs.retired!) as { name: string; outcome: string; reason: string }[];
    expect(Object.fromEntries(retired.map((s) => [s.name, s.outcome]))).toEqual({
      [`${service}-old`]: 'drained',
      [`${service}-stuck`]: 'ignored-signal',
      [`${service}-crashed`]: 'not-running',
    });
    const kept = Object.fromEntries((JSON.parse(real.outputs.kept!) as { name: string; reason: string }[]).map((s) => [s.name, s.reason]));
    expect(kept).toEqual({
      [`${service}-busy`]: expect.stringMatching(/^in use: \d+ requests in the last 3s \(expired 1h[0-9ms]* ago\)$/),
      [`${service}-newest`]: `expired, but one of the newest 1 serving server of ${service} (keep: 1)`,
      [`${service}-fresh`]: expect.stringMatching(/^not expired \(expires in 1d15h/),
      [`${service}-forever`]: 'never expires',
    });
    for (const name of ['old', 'stuck', 'crashed']) expect(await exists(ids[name]!), name).toBe(false);
    for (const name of ['busy', 'newest', 'fresh', 'forever', 'unmanaged', 'solo']) expect(await exists(ids[name]!), name).toBe(true);
    expect(await traefik.serverUrls(service)).not.toContain(oldUrl);

    // The last healthy server of another service stays, expired or not.
    const solo = await runAction('retire', { inputs: { service: other } });
    expect(failureMessage(solo)).toBeUndefined();
    expect(JSON.parse(solo.outputs.retired!)).toEqual([]);
    expect(JSON.parse(solo.outputs.kept!)).toEqual([expect.objectContaining({ name: `${service}-solo`, reason: `expired, but one of the newest 1 serving server of ${other} (keep: 1)` })]);
    expect(await exists(ids.solo!)).toBe(true);

    // The server that ignored the drain signal was stopped anyway, with a warning.
    expect(real.annotations).toEqual(expect.arrayContaining([{ level: 'warning', message: `${service}-stuck still reported healthy 25s after SIGUSR2; stopped it anyway` }]));
    // The table, in the log and the summary.
    expect(real.log).toMatch(/SERVICE\s+SERVER\s+DIGEST\s+AGE\s+EXPIRY\s+DECISION\s+REASON/);
    expect(real.summary).toMatch(new RegExp(`\\| ${service} \\| \`${service}-old\` \\| \`[0-9a-f]{12}\` \\| 1d6h[0-9ms]* \\| 6h[0-9ms]* ago \\| \\*\\*retired\\*\\* \\| expired 6h[0-9ms]* ago, no requests in the last 3s; drained in`));
    // The image only the retired server used went; the one still in use stayed.
    expect(await imageExists(`${repository}:old`)).toBe(false);
    expect(await imageExists(`${repository}:new`)).toBe(true);
  }, 180_000);

  it('tolerates a server that vanishes mid-run', async () => {
    const victim = await createServer('vanishing', { image: `${repository}:new`, deployedAt: hours(-12), expiresAt: hours(-3) });
    const engine = await DockerEngine.connect(undefined);
    // Someone else removes the server between retire's listing under the lock (its second
    // listing: the first one only decides which services to lock) and its drain.
    const listServers = engine.listServers.bind(engine);
    let listings = 0;
    engine.listServers = async (name?: string) => {
      const servers = await listServers(name);
      if (++listings === 2) await api.getContainer(victim).remove({ force: true });
      return servers;
    };
    const warnings: string[] = [];
    const log: Log = { info: () => {}, warning: (m) => warnings.push(m) };
    // keep: 10 protects every serving server left; the victim is still starting, so not protected.
    const result = await runRetire(engine, { service, keep: 10, dryRun: false, drainTimeoutMs: 3000, pruneImages: false }, log);
    const entry = result.entries.find((e) => e.server.id === victim)!;
    expect(entry.decision.action).toBe('retire');
    expect(entry.removal?.outcome).toBe('vanished');
    expect(result.retired.map((e) => `${e.server.name}: ${e.decision.reason}`)).toEqual([expect.stringMatching(/-vanishing: expired/)]);
    expect(warnings).toEqual([]);
  }, 60_000);
});
