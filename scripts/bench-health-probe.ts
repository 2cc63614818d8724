/**
 * npm run bench:health-probe — what a Docker health check costs the host, measured side by side in
 * one run on this engine: the same N reference-server containers (idle, model loaded) with no
 * health check, with the server's own probe (`node /app/index.mjs --healthcheck`) every 1 s and
 * every 2 s (deploy's default `health-interval`), and with a probe that does nearly nothing
 * (`node --version`) every 1 s. CPU is the whole host's (/proc/stat) over the same window after the
 * containers settle, so dockerd, containerd and runc's share of each exec counts.
 *
 * It prints the CPU each setting used (in cores), the ratio to no health check, and the CPU per
 * probe. The finding that sets deploy's default: the exec itself, not the probe's command, is most
 * of the cost.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import Docker from 'dockerode';
import { ms } from '../src/engine/containers';
import { ensureModelImage, irisModel } from '../test/support/server-image';

const COUNT = Number(process.env.BENCH_CONTAINERS ?? 8);
const SETTLE_MS = 12_000;
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 20_000);
const suffix = randomBytes(3).toString('hex');

/** Busy jiffies of all CPUs together (user, nice, system, irq, softirq, steal). */
function busyTicks(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return fields[0]! + fields[1]! + fields[2]! + fields[5]! + fields[6]! + fields[7]!;
}

const TICKS_PER_SECOND = 100;

async function cores(): Promise<number> {
  const before = busyTicks();
  const started = Date.now();
  await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
  return (busyTicks() - before) / TICKS_PER_SECOND / ((Date.now() - started) / 1000);
}

interface Setting {
  name: string;
  /** Docker's Healthcheck: `NONE` turns the image's off; no Test keeps the image's own probe. */
  healthcheck: { Test?: string[]; Interval?: number; Timeout?: number };
  probesPerSecond: number;
}

async function measure(api: Docker, image: string, setting: Setting, index: number): Promise<number> {
  const containers: Docker.Container[] = [];
  try {
    for (let i = 0; i < COUNT; i++) {
      const container = await api.createContainer({ name: `ttsbhp${suffix}-${index}-${i}`, Image: image, Healthcheck: setting.healthcheck });
      containers.push(container);
      await container.start();
    }
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    return await cores();
  } finally {
    await Promise.all(containers.map((container) => container.remove({ force: true }).catch(() => undefined)));
  }
}

async function main(): Promise<void> {
  const { reference } = await ensureModelImage(irisModel());
  const api = new Docker();
  const every = (seconds: number) => ({ Interval: ms(seconds * 1000), Timeout: ms(10_000) });
  const settings: Setting[] = [
    { name: 'no health check', healthcheck: { Test: ['NONE'] }, probesPerSecond: 0 },
    { name: 'server probe every 1s', healthcheck: every(1), probesPerSecond: COUNT },
    { name: 'server probe every 2s (default)', healthcheck: every(2), probesPerSecond: COUNT / 2 },
    { name: '`node --version` every 1s', healthcheck: { Test: ['CMD', 'node', '--version'], ...every(1) }, probesPerSecond: COUNT },
  ];
  const idle = await cores();
  console.log(`${COUNT} containers per setting, ${WINDOW_MS / 1000} s windows, ${cpus().length} cores, load ${loadavg()[0]!.toFixed(1)}; host idle: ${idle.toFixed(2)} cores`);
  const results: { setting: Setting; used: number }[] = [];
  for (const [index, setting] of settings.entries()) results.push({ setting, used: await measure(api, reference, setting, index) });
  const base = results[0]!.used;
  console.log('setting'.padEnd(34) + 'cores'.padStart(7) + '  ×none'.padStart(8) + '  CPU-s per probe');
  for (const { setting, used } of results) {
    const perProbe = setting.probesPerSecond > 0 ? ((used - base) / setting.probesPerSecond).toFixed(3) : '-';
    console.log(setting.name.padEnd(34) + used.toFixed(2).padStart(7) + (used / base).toFixed(1).padStart(8) + `  ${perProbe}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
