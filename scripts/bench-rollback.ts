/**
 * npm run bench:rollback — how fast `routing: file` rolls back to a kept version under load.
 *
 * One service under 8 keep-alive clients through the Traefik stand-in (Docker provider beside a
 * watched file provider directory, the default 2 s provider throttle), served by the plain server
 * image (test/support/plain-server.ts: no SIGUSR2 handler, no HEALTHCHECK, `/ready`). deploy v1,
 * then v2 with `keep-previous`, so v1 runs on at weight 0. Then, per round, side by side:
 *
 * 1. the deploy action with `rollback: true` (a fresh process, as the runner starts it), timed
 *    from the step's start until every request is answered by v1: the moment after which the load
 *    generator's per-digest counts show no answer from v2 any more;
 * 2. the floor: the same routing file (the one step 1 wrote) renamed into the directory by hand,
 *    timed the same way. What is left is Traefik's part: its file watcher and provider throttle;
 * 3. the same by hand right after another change of the directory, so the rename lands in the
 *    provider throttle's 2 s sleep (providersThrottleDuration): the worst case Traefik adds.
 *
 * Between the two, v2 is deployed again (its digest is kept, so that too only flips weights).
 * Median of BENCH_ROUNDS rounds (default 3); the failed requests of the whole run are counted.
 * Target: the rollback in < 3 s, 0 failed requests.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAction, failureMessage } from '../test/support/action-runner';
import { docker, pushByDigest } from '../test/support/docker-cli';
import { buildPlainServer } from '../test/support/plain-server';
import { waitFor } from '../test/support/ports';
import { startRegistry } from '../test/support/registry';
import { startTraefikStandIn } from '../test/support/traefik';
import { startLoad, type RunningLoad } from '../test/support/traefik/load';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const suffix = randomBytes(3).toString('hex');
const service = `ttsbr${suffix}`;
const network = `tts-bench-rollback-${suffix}`;
const routingDir = mkdtempSync(join(tmpdir(), 'tts-bench-rollback-'));
chmodSync(routingDir, 0o755);
const routingFile = join(routingDir, `${service}.yml`);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const digestOf = (reference: string) => reference.slice(reference.indexOf('@') + 1);

/**
 * From `startedAt` until every answer comes from `digest`: polls the load's counts every 10 ms and
 * notes when an answer from another version was last seen. Done once `action` has settled and
 * `digest` has answered 200 requests in a row since then.
 */
async function timeToAll(load: RunningLoad, digest: string, startedAt: number, action: Promise<unknown>): Promise<number> {
  let settled = false;
  void action.finally(() => (settled = true)).catch(() => {});
  const counts = () => {
    const now = load.current();
    return { target: now.digests[digest] ?? 0, other: now.ok - (now.digests[digest] ?? 0) };
  };
  let lastOther = startedAt;
  let { target: targetAtLastOther, other: otherCount } = counts();
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline) {
    const { target, other } = counts();
    if (other > otherCount) {
      otherCount = other;
      lastOther = Date.now();
      targetAtLastOther = target;
    } else if (settled && target - targetAtLastOther >= 200) {
      return lastOther - startedAt;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`requests still reached another version than ${digest.slice(7, 19)} 5 minutes after the flip`);
}

/** Let Traefik's provider throttle (providersThrottleDuration, 2 s) run out since the last change. */
const throttleIdle = () => new Promise((resolve) => setTimeout(resolve, 2500));

/** Rename a whole file into the watched directory (the service's routing file by default). */
function replaceFile(text: string, target = routingFile): void {
  const temp = join(routingDir, '.bench.tmp');
  writeFileSync(temp, text);
  renameSync(temp, target);
}

async function main(): Promise<void> {
  console.log(`Building the plain server image twice, starting a registry and the Traefik stand-in…`);
  const registry = await startRegistry();
  await docker(['network', 'create', network]);
  const traefik = await startTraefikStandIn({ network, constraints: `LabelRegex(\`train-to-serve.service\`, \`^${service}\`)`, file: { directory: routingDir } });
  const images: string[] = [];
  try {
    for (const version of ['v1', 'v2']) {
      const local = await buildPlainServer(`localhost/tts-bench-rollback-${suffix}/plain:${version}`, version);
      images.push(await pushByDigest(local, `${registry.host}/bench/plain-${suffix}`, version));
      await docker(['rmi', local]);
    }
    const [v1, v2] = images as [string, string];
    const inputs = {
      service,
      rule: `Host(\`${service}.bench\`)`,
      network,
      routing: 'file',
      'routing-dir': routingDir,
      'health-path': '/ready',
      'keep-previous': '1h',
      'traefik-api': traefik.apiUrl,
      'health-timeout': '120s',
    };
    const deploy = async (extra: Record<string, string>) => {
      const result = await runAction('deploy', { inputs: { ...inputs, ...extra }, timeoutMs: 300_000 });
      if (result.exitCode !== 0) throw new Error(`deploy ${JSON.stringify(extra)} failed: ${failureMessage(result)}\n${result.log}`);
      return result;
    };
    await deploy({ image: v1 });
    await deploy({ image: v2 });

    const load = startLoad({ url: traefik.webUrl, host: `${service}.bench`, concurrency: 8 });
    await waitFor('v2 to answer the clients', () => Promise.resolve((load.current().digests[digestOf(v2)] ?? 0) > 100), 60_000);
    const rollback: number[] = [];
    const direct: number[] = [];
    const asleep: number[] = [];
    const logs: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // 1. The action. Each measured flip starts with Traefik's provider throttle idle (no change
      // in the last 2 s), as a rollback on a quiet service does; a change inside the throttle's
      // sleep waits out the rest of it (at most 2 s more, for both measures alike).
      await throttleIdle();
      const started = Date.now();
      const step = deploy({ image: v1, rollback: 'true' });
      rollback.push(await timeToAll(load, digestOf(v1), started, step));
      logs.push(((await step).log.match(/^.*Traefik applied it after.*$/m) ?? [''])[0].trim());
      const toV1 = readFileSync(routingFile, 'utf8');
      // Back to v2 (kept, so only a flip), then the floor: the same file, renamed in by hand.
      const forward = deploy({ image: v2 });
      await timeToAll(load, digestOf(v2), Date.now(), forward);
      const toV2 = readFileSync(routingFile, 'utf8');
      await throttleIdle();
      const written = Date.now();
      replaceFile(toV1);
      direct.push(await timeToAll(load, digestOf(v1), written, Promise.resolve()));
      replaceFile(toV2);
      await timeToAll(load, digestOf(v2), Date.now(), Promise.resolve());
      // 3. The same by hand, just after Traefik applied another change (a probe router in a file
      // of its own, seen in the API): the throttle sleeps, and the rename waits out the rest of it.
      await throttleIdle();
      replaceFile(
        `http:\n  routers:\n    bench-probe-${round}:\n      rule: Host(\`probe-${round}.bench\`)\n      service: bench-probe\n  services:\n    bench-probe:\n      loadBalancer:\n        servers:\n          - url: http://127.0.0.1:9\n`,
        join(routingDir, 'bench-probe.yml'),
      );
      await waitFor('Traefik to apply the probe router', async () => (await traefik.router(`bench-probe-${round}@file`)) !== undefined, 30_000, 10);
      const throttled = Date.now();
      replaceFile(toV1);
      asleep.push(await timeToAll(load, digestOf(v1), throttled, Promise.resolve()));
      await throttleIdle();
      replaceFile(toV2);
      await timeToAll(load, digestOf(v2), Date.now(), Promise.resolve());
      console.log(`round ${round + 1}: rollback ${seconds(rollback.at(-1)!)}, routing file by hand ${seconds(direct.at(-1)!)}, by hand in the throttle's sleep ${seconds(asleep.at(-1)!)}`);
    }
    const traffic = await load.stop();

    console.log('');
    console.log(
      `${ROUNDS} rounds, median; 8 clients; load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} on ${cpus().length} CPUs at the end`,
    );
    console.log('| measure | value | target |');
    console.log('| --- | --- | --- |');
    console.log(`| **rollback** (deploy \`rollback: true\`): step start → 100 % of requests on v1 | **${seconds(median(rollback))}** (${rollback.map(seconds).join(', ')}) | < 3 s ${median(rollback) < 3000 ? 'met' : 'MISSED'} |`);
    console.log(`| floor: the same routing file renamed in by hand → 100 % on v1 | ${seconds(median(direct))} (${direct.map(seconds).join(', ')}) | |`);
    console.log(`| the same by hand right after another change (Traefik's 2 s provider throttle asleep) | ${seconds(median(asleep))} (${asleep.map(seconds).join(', ')}) | |`);
    console.log(`| the action's own part (median difference) | ${seconds(median(rollback) - median(direct))} | |`);
    console.log(`| requests during the run: ok / **failed** | ${traffic.ok} / **${traffic.failed}** ${JSON.stringify(traffic.outcomes)} | 0 failed ${traffic.failed === 0 ? 'met' : 'MISSED'} |`);
    console.log(`\nThe action's log: ${logs.join(' | ')}`);
    if (traffic.failures.length > 0) console.log(`\nfirst failures:\n${traffic.failures.join('\n')}`);
  } finally {
    const mine = (await docker(['ps', '-aq', '--filter', `label=train-to-serve.service=${service}`]).catch(() => '')).split('\n').filter(Boolean);
    if (mine.length > 0) await docker(['rm', '-f', '-v', ...mine]).catch(() => {});
    await traefik.stop();
    await waitFor(`network ${network} to be removed`, () => docker(['network', 'rm', network]).then(() => true), 30_000, 500).catch((error: Error) => console.error(error.message));
    await registry.stop();
    if (images.length > 0) await docker(['rmi', ...images]).catch(() => {});
    rmSync(routingDir, { recursive: true, force: true });
  }
}

await main();
