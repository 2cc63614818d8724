import { cpus, loadavg } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureMessage, runAction } from '../support/action-runner';
import { startCpuHog, type CpuHog } from '../support/cpu-hog';
import { fileRoutingNames, publishPlain, pushImage, startFileRoutingBed, stopFileRoutingBed, type FileRoutingBed } from '../support/file-routing-bed';
import { waitFor } from '../support/ports';
import { ensureModelImage, irisModel } from '../support/server-image';
import type { TraefikStandIn } from '../support/traefik';
import { startLoad } from '../support/traefik/load';
import { watchRouting } from '../support/traefik/routing-watch';

/**
 * A replace under load on a host whose every core is busy (issue 11, "Health signals that hold
 * under load"): one busy loop per core at normal priority, started before the deploy and killed
 * after it, plus 8 clients through the Traefik stand-in. In both routing modes: 0 failed
 * requests, and the stand-in's API never shows the service without a serving version.
 * - `routing: file`: the plain server (no SIGUSR2 handler, no HEALTHCHECK) with `health-path`;
 * - `routing: labels`: the reference server test image (drains on SIGUSR2, has a HEALTHCHECK).
 *
 * It saturates the machine on purpose, so vitest.config.ts runs this file alone, after all others.
 */
const names = fileRoutingNames('saturation');
const { prefix, network, routingDir } = names;
let bed: FileRoutingBed;
let traefik: TraefikStandIn;
let hog: CpuHog | undefined;
let images: Record<string, string>;

function deploy(service: string, image: string, inputs: Record<string, string>) {
  return runAction('deploy', {
    inputs: {
      image,
      service,
      rule: `Host(\`${service}.test\`)`,
      network,
      'traefik-api': traefik.apiUrl,
      // Upper bounds only: a saturated host is slow, not broken.
      'health-timeout': '180s',
      'drain-timeout': '60s',
      ...inputs,
    },
    timeoutMs: 600_000,
  });
}

/** Deploy v1, start 8 clients, saturate every core, replace v1 by v2, and report what was seen. */
async function replaceSaturated(mode: 'file' | 'labels', v1: string, v2: string, inputs: Record<string, string>) {
  const service = `${prefix}-${mode === 'file' ? 'f' : 'l'}`;
  const first = await deploy(service, v1, inputs);
  expect(failureMessage(first), first.log).toBeUndefined();
  await waitFor('v1 to answer through Traefik', async () => (await traefik.send(`${service}.test`, '/predict', { body: { instances: [[5.9, 3.0, 5.1, 1.8]] } })).status === 200, 60_000);
  const load = startLoad({ url: traefik.webUrl, host: `${service}.test`, concurrency: 8 });
  await waitFor('requests to flow', async () => load.current().ok > 40, 60_000);

  hog = await startCpuHog();
  const watch = watchRouting(traefik.apiUrl, service, mode);
  const started = Date.now();
  const result = await deploy(service, v2, inputs);
  const deployMs = Date.now() - started;
  const load1 = loadavg()[0]!;
  const routing = await watch.stop();
  const peak = hog.peakLoad();
  await hog.stop();
  hog = undefined;
  // Both versions answered: the new one is routed (a condition, not a pause) before the clients stop.
  await waitFor('the new version to answer the clients', async () => Object.keys(load.current().digests).length >= 2, 60_000).catch(() => {});
  const traffic = await load.stop();
  const requests = traffic.ok + traffic.failed;
  console.log(
    `[saturation] routing: ${mode}, ${cpus().length} busy loops on ${cpus().length} cores + 8 clients: ${requests} requests, ${traffic.failed} failed ${JSON.stringify(traffic.outcomes)}; ` +
      `deploy ${(deployMs / 1000).toFixed(1)} s; load average ${load1.toFixed(1)} at the end (1-min peak ${peak.toFixed(1)}); ` +
      `${routing.polls} routing snapshots, ${routing.gaps.length} without a serving version`,
  );
  expect(failureMessage(result), result.log).toBeUndefined();
  expect(traffic.failed, JSON.stringify(traffic)).toBe(0);
  expect(Object.keys(traffic.digests), 'both versions answered').toHaveLength(2);
  expect(routing.errors, 'the stand-in API answered every poll').toEqual([]);
  expect(routing.polls).toBeGreaterThan(0);
  expect(routing.gaps, 'snapshots in which no version could serve').toEqual([]);
}

beforeAll(async () => {
  bed = await startFileRoutingBed(names);
  ({ traefik, images } = bed);
  for (const version of ['v1', 'v2']) {
    await publishPlain(bed, `plain-${version}`);
    const model = await ensureModelImage(version === 'v1' ? irisModel() : { ...irisModel(), name: `iris-saturation-${version}` });
    await pushImage(bed, model.reference, `reference-${version}`);
  }
}, 600_000);

afterAll(async () => {
  await hog?.stop();
  await stopFileRoutingBed(bed, names);
});

describe('a replace under load while every core is saturated', () => {
  it('routing: file with a server that ignores SIGUSR2 and has no HEALTHCHECK (health-path): 0 failed, always a serving version', async () => {
    await replaceSaturated('file', images['plain-v1']!, images['plain-v2']!, { routing: 'file', 'routing-dir': routingDir, 'health-path': '/ready' });
  }, 1_500_000);

  it('routing: labels with the reference server (drains on SIGUSR2, HEALTHCHECK): 0 failed, always a serving version', async () => {
    await replaceSaturated('labels', images['reference-v1']!, images['reference-v2']!, {});
  }, 1_500_000);
});
