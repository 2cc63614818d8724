/**
 * npm run bench:deploy — three figures, measured side by side in one run on this engine:
 *
 * 1. deploy's overhead: the deploy action (a fresh process, as the runner starts it) against the
 *    engine's own pull + create + start + healthy for the same image and health check, through
 *    the Engine API with nothing else around it. Median of the rounds, alternating the two.
 * 2. failed requests during a replace under load: v1 → v2 with strategy replace while 8 loops send
 *    /predict through the Traefik stand-in's proxy.
 * 3. retire's time over 200 managed containers of one service (tiny: a sleep under docker-init, no
 *    health check, no network): 190 expired and retired, 10 fresh and kept; beside it, the engine's
 *    own time to stop and remove 190 such containers through the API, with the same parallelism.
 *
 * On a shared machine wall times swing with its load, so the CPU time the deploy process used is
 * printed too, and the load average.
 *
 * Targets: overhead < 1 s; 0 failed requests; retire of 200 < 10 s.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { connectEngine } from '../src/engine/connection';
import { HEALTH_RETRIES, HEALTH_TIMEOUT_MS, ms } from '../src/engine/containers';
import { DEFAULT_HEALTH_INTERVAL_MS } from '../src/serving/deploy-spec';
import { ContainerWatch } from '../src/engine/watch';
import { serverLabels } from '../src/serving/labels';
import { mapLimit } from '../src/async/pool';
import { PARALLEL_REMOVALS } from '../src/serving/limit';
import { runAction, failureMessage } from '../test/support/action-runner';
import { docker, ensureNodeBaseImage } from '../test/support/docker-cli';
import { startRegistry } from '../test/support/registry';
import { waitFor } from '../test/support/ports';
import { ensureModelImage, irisModel } from '../test/support/server-image';
import { startTraefikStandIn } from '../test/support/traefik';
import { startLoad } from '../test/support/traefik/load';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TINY_COUNT = 200;
const suffix = randomBytes(3).toString('hex');
const network = `tts-bench-${suffix}`;
const created: string[] = [];

/** CPU seconds used by this process's finished children (/proc/self/stat cutime + cstime). */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const seconds = (msValue: number) => `${(msValue / 1000).toFixed(2)} s`;

async function main(): Promise<void> {
  const engine = await connectEngine(undefined);
  const api = engine.docker;
  console.log(`Docker Engine ${engine.engineVersion} (API ${engine.apiVersion}); building images…`);
  const registry = await startRegistry();
  await docker(['network', 'create', network]);
  const traefik = await startTraefikStandIn({ network, constraints: `LabelRegex(\`train-to-serve.service\`, \`^ttsb${suffix}-\`)` });
  const pulled: string[] = [];
  try {
    const v1 = await push(registry.host, (await ensureModelImage(irisModel(), { repository: 'bench-model' })).reference, 'v1');
    const v2 = await push(registry.host, (await ensureModelImage({ ...irisModel(), name: 'iris-bench-v2' }, { repository: 'bench-model' })).reference, 'v2');
    pulled.push(v1, v2);

    // 1. Overhead.
    const engineTimes: number[] = [];
    const deployTimes: number[] = [];
    const deployCpu: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await forgetPull(v1);
      engineTimes.push(await engineOnly(api, v1));
      await forgetPull(v1);
      const service = `ttsb${suffix}-o${round}`;
      const started = Date.now();
      const cpuBefore = childrenCpuMs();
      const result = await runAction('deploy', { inputs: { image: v1, service, rule: `Host(\`${service}.bench\`)`, network, 'health-timeout': '60s' } });
      deployTimes.push(Date.now() - started);
      deployCpu.push(childrenCpuMs() - cpuBefore);
      if (result.exitCode !== 0) throw new Error(`deploy failed: ${failureMessage(result)}\n${result.log}`);
      created.push(...(JSON.parse(result.outputs.containers!) as { id: string }[]).map((c) => c.id));
      await removeAll(api);
    }
    const overhead = median(deployTimes) - median(engineTimes);

    // 2. Replace under load.
    const service = `ttsb${suffix}-load`;
    const host = `${service}.bench`;
    const inputs = { service, rule: `Host(\`${host}\`)`, network, 'traefik-api': traefik.apiUrl, 'health-timeout': '60s', 'drain-timeout': '30s' };
    const first = await runAction('deploy', { inputs: { ...inputs, image: v1 } });
    if (first.exitCode !== 0) throw new Error(`deploy v1 failed: ${failureMessage(first)}`);
    const load = startLoad({ url: traefik.webUrl, host, concurrency: 8 });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const replaceStarted = Date.now();
    const second = await runAction('deploy', { inputs: { ...inputs, image: v2 } });
    const replaceMs = Date.now() - replaceStarted;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const traffic = await load.stop();
    if (second.exitCode !== 0) throw new Error(`deploy v2 failed: ${failureMessage(second)}`);
    for (const server of JSON.parse(second.outputs.containers!) as { id: string }[]) created.push(server.id);
    await removeAll(api);

    // 3. Retire over 200 tiny managed containers.
    const tinyImage = await tinyServerImage();
    const tinyService = `ttsb${suffix}-tiny`;
    const createStarted = Date.now();
    await createTinyServers(api, tinyImage, tinyService);
    const createMs = Date.now() - createStarted;
    const retireStarted = Date.now();
    const retire = await runAction('retire', { inputs: { service: tinyService, 'drain-timeout': '10s', 'prune-images': 'false' }, timeoutMs: 300_000 });
    const retireMs = Date.now() - retireStarted;
    if (retire.exitCode !== 0) throw new Error(`retire failed: ${failureMessage(retire)}`);
    const retired = (JSON.parse(retire.outputs.retired!) as unknown[]).length;
    const kept = (JSON.parse(retire.outputs.kept!) as unknown[]).length;
    await removeAll(api);
    // The engine alone: stop (SIGTERM, grace) and remove the same number, as many at a time.
    await createTinyServers(api, tinyImage, `${tinyService}-engine`);
    const expiredIds = created.slice(0, TINY_COUNT - 10);
    const engineRemoveStarted = Date.now();
    await mapLimit(expiredIds, PARALLEL_REMOVALS, async (id) => {
      await api.getContainer(id).stop();
      await api.getContainer(id).remove({ v: true });
    });
    const engineRemoveMs = Date.now() - engineRemoveStarted;
    await removeAll(api);
    await docker(['rmi', tinyImage]).catch(() => {});

    console.log('');
    console.log(
      `Docker Engine ${engine.engineVersion}, ${ROUNDS} rounds, median; load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} on ${(await import('node:os')).cpus().length} CPUs at the end`,
    );
    console.log(`| measure | value | target |`);
    console.log(`| --- | --- | --- |`);
    console.log(`| engine only: pull + create + start + healthy (Engine API) | ${seconds(median(engineTimes))} (${engineTimes.map(seconds).join(', ')}) | |`);
    console.log(`| deploy action, first server of a service (whole process) | ${seconds(median(deployTimes))} (${deployTimes.map(seconds).join(', ')}) | |`);
    console.log(`| **deploy overhead** | **${seconds(overhead)}** | < 1 s ${overhead < 1000 ? 'met' : 'MISSED'} |`);
    console.log(`| CPU time of the deploy process (node start, bundle, engine calls) | ${seconds(median(deployCpu))} | |`);
    console.log(`| replace v1 → v2 under load (deploy, incl. drain) | ${seconds(replaceMs)} | |`);
    console.log(`| requests through the proxy during the replace: ok / **failed** | ${traffic.ok} / **${traffic.failed}** ${JSON.stringify(traffic.outcomes)} | 0 failed ${traffic.failed === 0 ? 'met' : 'MISSED'} |`);
    console.log(
      `| answered by model digest | ${Object.entries(traffic.digests)
        .map(([d, n]) => `${d.slice(7, 19)}: ${n}`)
        .join(', ')} | both versions |`,
    );
    console.log(`| **retire over ${TINY_COUNT} managed containers** (${retired} retired, ${kept} kept) | **${seconds(retireMs)}** | < 10 s ${retireMs < 10_000 ? 'met' : 'MISSED'} |`);
    console.log(`| engine only: stop + remove ${TINY_COUNT - 10} such containers, ${PARALLEL_REMOVALS} at a time | ${seconds(engineRemoveMs)} | |`);
    console.log(`| (setup: creating and starting the ${TINY_COUNT} containers) | ${seconds(createMs)} | |`);
    if (traffic.failures.length > 0) console.log(`\nfirst failures:\n${traffic.failures.join('\n')}`);
  } finally {
    await removeAll(api).catch(() => {});
    // The registry's names the pulls left on the local images.
    for (const reference of pulled) await forgetPull(reference);
    await traefik.stop();
    // The engine may still be releasing endpoints of containers it just removed.
    await waitFor(`network ${network} to be removed`, () => docker(['network', 'rm', network]).then(() => true), 30_000, 500).catch((error: Error) => console.error(error.message));
    await registry.stop();
  }
}

/** Push a local image to the bench registry and return its digest reference. */
async function push(registryHost: string, local: string, tag: string): Promise<string> {
  const reference = `${registryHost}/bench/iris-${suffix}:${tag}`;
  await docker(['tag', local, reference]);
  const out = await docker(['push', reference]);
  const digest = /digest: (sha256:[a-f0-9]{64})/.exec(out)![1];
  await docker(['rmi', reference]);
  return `${registryHost}/bench/iris-${suffix}@${digest}`;
}

/** Drop the registry reference so the next pull asks the registry again (layers stay local for both paths). */
async function forgetPull(reference: string): Promise<void> {
  await docker(['rmi', reference]).catch(() => {});
}

/** The engine's own path, through the Engine API alone: pull, create, start, wait for healthy. */
async function engineOnly(api: Docker, reference: string): Promise<number> {
  const started = Date.now();
  const stream = await api.pull(reference);
  await new Promise((resolve, reject) => api.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve(undefined))));
  const container = await api.createContainer({
    name: `ttsb${suffix}-engine-${Date.now().toString(36)}`,
    Image: reference,
    Healthcheck: { Interval: ms(DEFAULT_HEALTH_INTERVAL_MS), Timeout: ms(HEALTH_TIMEOUT_MS), Retries: HEALTH_RETRIES, StartPeriod: ms(60_000) },
    HostConfig: { NetworkMode: network },
  });
  created.push(container.id);
  const watch = await ContainerWatch.open(api, [container.id]);
  await container.start();
  const healthy = await watch.until(
    container.id,
    (s) => (s.health === 'healthy' ? true : s.died ? false : undefined),
    60_000,
    () => false,
  );
  watch.close();
  if (!healthy) throw new Error('engine-only container did not become healthy');
  const elapsed = Date.now() - started;
  await removeAll(api);
  return elapsed;
}

async function tinyServerImage(): Promise<string> {
  const base = await ensureNodeBaseImage();
  const context = mkdtempSync(join(tmpdir(), 'tts-bench-tiny-'));
  try {
    copyFileSync('/bin/sleep', join(context, 'sleep'));
    writeFileSync(join(context, 'Dockerfile'), `FROM ${base}\nCOPY sleep /bin/sleep\nCMD ["/bin/sleep", "infinity"]\n`);
    const reference = `localhost/tts-bench-tiny-${suffix}:1`;
    await docker(['build', '-q', '-t', reference, context], { env: { DOCKER_BUILDKIT: '0' } });
    return reference;
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

async function createTinyServers(api: Docker, image: string, service: string): Promise<void> {
  const now = Date.now();
  const indexes = Array.from({ length: TINY_COUNT }, (_, i) => i);
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < indexes.length) {
        const i = indexes[next++]!;
        const fresh = i >= TINY_COUNT - 10;
        const digest = `sha256:${i.toString(16).padStart(64, '0')}`;
        const labels = serverLabels(
          { service, rule: `Host(\`${service}.bench\`)`, entrypoints: ['web'], port: 8080, network },
          {
            service,
            image,
            digest,
            deployedAt: new Date(now - (TINY_COUNT - i) * 60_000),
            expiresAt: new Date(fresh ? now + 86_400_000 : now - 60_000),
            drainSignal: 'SIGUSR2',
            provenance: {},
          },
        );
        const container = await api.createContainer({
          name: `${service}-${i}`,
          Image: image,
          Labels: labels,
          // No network: creating and removing hundreds of endpoints at once on one bridge made this
          // engine (20.10) lose count of them, leaving a network that cannot be removed.
          HostConfig: { NetworkMode: 'none', Init: true },
        });
        created.push(container.id);
        await container.start();
      }
    }),
  );
}

async function removeAll(api: Docker): Promise<void> {
  const ids = created.splice(0);
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        await api
          .getContainer(id)
          .remove({ force: true, v: true })
          .catch(() => {});
      }
    }),
  );
}

await main();
