import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureMessage, runAction, type ActionRunResult } from '../support/action-runner';
import { buildImage, docker } from '../support/docker-cli';
import { fileRoutingNames, pushImage, startFileRoutingBed, stopFileRoutingBed, type FileRoutingBed } from '../support/file-routing-bed';
import { tabularClassifier } from '../support/onnx-models';
import { waitFor } from '../support/ports';
import { ensureFastApiImage, type PythonServer } from '../support/python-image';
import type { TestRegistry } from '../support/registry';
import { containerLogs } from '../support/server-image';
import type { TraefikStandIn } from '../support/traefik';
import { startLoad } from '../support/traefik/load';

/**
 * Issue 13, part 5: the FastAPI app of test/support/python/fastapi_app.py under uvicorn and under
 * gunicorn (one uvicorn worker), images built from this machine's Python, deployed with the real
 * deploy bundle through a real registry and the Traefik stand-in (Docker provider and a watched
 * file-provider directory). Neither server knows the toolkit's drain signal and neither image has
 * a HEALTHCHECK, so they are deployed with `routing: file` and their own health path (/ping), with
 * their request counter on their own metrics port (9100). Each is replaced under 4 clients: no
 * request may fail.
 */
const names = fileRoutingNames('third');
const { prefix, network, routingDir } = names;
let bed: FileRoutingBed;
let registry: TestRegistry;
let traefik: TraefikStandIn;
let images: Record<string, string>;
const BODY = JSON.stringify({ instances: [[1, 2, 3, 4]] });

function deploy(service: string, image: string, extra: Record<string, string> = {}): Promise<ActionRunResult> {
  return runAction('deploy', {
    inputs: {
      image,
      service,
      rule: `Host(\`${service}.test\`)`,
      network,
      port: '8000',
      routing: 'file',
      'routing-dir': routingDir,
      'health-path': '/ping',
      'metrics-port': '9100',
      'request-metric': 'fastapi_inference_requests_total',
      'traefik-api': traefik.apiUrl,
      'registry-username': registry.username,
      'registry-password': registry.password,
      'health-timeout': '120s',
      'drain-timeout': '20s',
      ...extra,
    },
    timeoutMs: 400_000,
  });
}

beforeAll(async () => {
  bed = await startFileRoutingBed(names, { auth: 'basic' });
  ({ registry, traefik, images } = bed);
  for (const server of ['uvicorn', 'gunicorn'] as PythonServer[]) {
    const v1 = await ensureFastApiImage(server, tabularClassifier());
    const v2 = await buildImage(`localhost/${network}/${server}:v2`, { Dockerfile: `FROM ${v1}\nLABEL org.opencontainers.image.version=v2\n` });
    await pushImage(bed, v1, `${server}-v1`);
    await pushImage(bed, v2, `${server}-v2`);
    await docker(['rmi', v2]);
  }
}, 1_200_000);

afterAll(() => stopFileRoutingBed(bed, names));

describe('third-party Python servers deployed with routing: file', () => {
  it.each(['uvicorn', 'gunicorn'] as PythonServer[])(
    '%s: deployed on its own health path, replaced and its old version retired under 4 clients with no failed request',
    async (server) => {
      const service = `${prefix}-${server}`;
      const first = await deploy(service, images[`${server}-v1`]!);
      expect(failureMessage(first), first.log).toBeUndefined();
      const load = startLoad({ url: traefik.webUrl, host: `${service}.test`, path: '/invocations', body: BODY, concurrency: 4 });
      await waitFor('requests to flow through Traefik', async () => load.current().ok > 20, 60_000, 250);
      // v1 stays at weight 0 (keep-previous) until retire finds it expired and unused.
      const second = await deploy(service, images[`${server}-v2`]!, { 'keep-previous': '1h' });
      expect(failureMessage(second), second.log).toBeUndefined();
      await waitFor('requests on the new version', async () => load.current().ok > 40, 60_000, 250);
      const retire = await runAction('retire', {
        inputs: { service, routing: 'file', 'routing-dir': routingDir, 'traefik-api': traefik.apiUrl, 'max-age': '1s', keep: '1', 'in-use-window': '3s', 'drain-timeout': '20s', 'prune-images': 'false' },
        timeoutMs: 400_000,
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      const traffic = await load.stop();
      console.log(`[third-party] ${server} replace and retire under 4 clients: ${traffic.ok} ok, ${traffic.failed} failed ${JSON.stringify(traffic.outcomes)}`);
      expect(failureMessage(retire), retire.log).toBeUndefined();
      const retired = JSON.parse(retire.outputs.retired!) as { digest: string }[];
      const v1 = images[`${server}-v1`]!;
      expect(retired.map((entry) => entry.digest)).toEqual([v1.slice(v1.indexOf('@') + 1)]);
      expect(traffic.failed, JSON.stringify(traffic)).toBe(0);
      expect(traffic.ok).toBeGreaterThan(20);

      // One server left, the new version, carrying where its counter is.
      const ids = (await docker(['ps', '-q', '--filter', `label=train-to-serve.service=${service}`])).split('\n').filter(Boolean);
      expect(ids).toHaveLength(1);
      const [left] = JSON.parse(await docker(['inspect', ids[0]!])) as { Config: { Image: string; Labels: Record<string, string> } }[];
      expect(left!.Config.Image).toBe(images[`${server}-v2`]);
      expect(left!.Config.Labels).toMatchObject({ 'train-to-serve.metrics-port': '9100', 'train-to-serve.request-metric': 'fastapi_inference_requests_total' });
      // gunicorn's master was never signalled: no second master, one worker booted.
      if (server === 'gunicorn') expect((await containerLogs(ids[0]!)).match(/Booting worker with pid/g) ?? []).toHaveLength(1);
    },
    1_200_000,
  );
});
