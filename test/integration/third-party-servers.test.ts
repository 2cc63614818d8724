import { chmodSync, mkdtempSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureMessage, runAction, type ActionRunResult } from '../support/action-runner';
import { buildImage, docker, removeNetwork } from '../support/docker-cli';
import { tabularClassifier } from '../support/onnx-models';
import { waitFor } from '../support/ports';
import { ensureFastApiImage, type PythonServer } from '../support/python-image';
import { startRegistry, type TestRegistry } from '../support/registry';
import { containerLogs } from '../support/server-image';
import { startTraefikStandIn, type TraefikStandIn } from '../support/traefik';
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
const run = randomBytes(3).toString('hex');
const prefix = `ttst${run}`;
const network = `tts-third-${run}`;
const routingDir = mkdtempSync(join(tmpdir(), 'tts-third-routing-'));
chmodSync(routingDir, 0o755);
let registry: TestRegistry;
let traefik: TraefikStandIn;
const images: Record<string, string> = {};
const BODY = JSON.stringify({ instances: [[1, 2, 3, 4]] });

async function publish(name: string, local: string): Promise<void> {
  const reference = `${registry.host}/acme/third-${run}:${name}`;
  await docker(['tag', local, reference]);
  const out = await docker(['push', reference]);
  await docker(['rmi', reference]);
  images[name] = `${registry.host}/acme/third-${run}@${/digest: (sha256:[a-f0-9]{64})/.exec(out)![1]}`;
}

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
  registry = await startRegistry({ auth: 'basic' });
  await docker(['network', 'create', network]);
  traefik = await startTraefikStandIn({ network, constraints: `LabelRegex(\`train-to-serve.service\`, \`^${prefix}\`)`, file: { directory: routingDir } });
  await docker(['login', '-u', registry.username, '--password-stdin', registry.host], { input: registry.password });
  for (const server of ['uvicorn', 'gunicorn'] as PythonServer[]) {
    const v1 = await ensureFastApiImage(server, tabularClassifier());
    const v2 = await buildImage(`localhost/tts-third-${run}/${server}:v2`, { Dockerfile: `FROM ${v1}\nLABEL org.opencontainers.image.version=v2\n` });
    await publish(`${server}-v1`, v1);
    await publish(`${server}-v2`, v2);
    await docker(['rmi', v2]);
  }
  await docker(['logout', registry.host]);
}, 1_200_000);

afterAll(async () => {
  const mine = (await docker(['ps', '-aq', '--filter', `name=${prefix}`]).catch(() => '')).split('\n').filter(Boolean);
  if (mine.length > 0) await docker(['rm', '-f', '-v', ...mine]).catch(() => {});
  await traefik?.stop();
  await removeNetwork(network);
  await registry?.stop();
  await docker(['rmi', ...Object.values(images)]).catch(() => {});
});

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
