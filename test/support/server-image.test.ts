import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './action-runner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, docker, ensureNodeBaseImage, removeNetwork } from './docker-cli';
import { tabularClassifier } from './onnx-models';
import { oip } from './open-inference';
import { waitFor } from './ports';
import { ENGINE_WAIT_MS, SERVER_BUNDLE, containerLogs, ensureModelImage, ensureServerImage, irisModel, onnxRuntimeFiles } from './server-image';

// The images deploy tests start: they must become Docker-healthy, serve, and drain on SIGUSR2
// (unhealthy while still answering), exactly as the drain protocol in docs/traefik.md needs.
const suffix = randomBytes(4).toString('hex');
const network = `tts-srvimg-${suffix}`;
const containers: string[] = [];
const images: string[] = [];

interface Inspect {
  State: { Status: string; ExitCode: number; Health?: { Status: string; Log: { ExitCode: number }[] } };
  NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
}

async function inspect(name: string): Promise<Inspect> {
  return (JSON.parse(await docker(['container', 'inspect', name])) as Inspect[])[0]!;
}

async function run(image: string, label: string): Promise<{ name: string; url: string }> {
  const name = `tts-srvimg-${label}-${suffix}`;
  containers.push(name);
  await docker(['run', '-d', '--name', name, '--network', network, image]);
  const ip = (await inspect(name)).NetworkSettings.Networks[network]!.IPAddress;
  return { name, url: `http://${ip}:8080` };
}

const instance = { sepal_length: 6.7, sepal_width: 3.0, petal_length: 5.2, petal_width: 2.3 };

async function predict(url: string, values: unknown = instance): Promise<Response> {
  return fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: [values] }) });
}

beforeAll(async () => {
  await docker(['network', 'create', network]);
});

afterAll(async () => {
  if (containers.length) await docker(['rm', '-f', ...containers]).catch(() => undefined);
  if (images.length) await docker(['rmi', ...images]).catch(() => undefined);
  await removeNetwork(network);
});

describe('prediction server image', { timeout: 300_000 }, () => {
  it('is cached by content and declares the health probe, port and command', async () => {
    const first = await ensureServerImage();
    expect(first).toMatch(/^localhost\/train-to-serve\/prediction-server:[0-9a-f]{12}$/);
    expect(await ensureServerImage()).toBe(first);
    const config = (JSON.parse(await docker(['image', 'inspect', first])) as { Config: Record<string, unknown> }[])[0]!.Config as {
      Healthcheck: { Test: string[]; Interval: number };
      ExposedPorts: Record<string, unknown>;
      Cmd: string[];
      User: string;
    };
    expect(config.Healthcheck.Test).toEqual(['CMD', 'node', '/app/index.mjs', '--healthcheck']);
    expect(config.Healthcheck.Interval).toBe(2e9);
    expect(Object.keys(config.ExposedPorts)).toEqual(['8080/tcp']);
    expect(config.Cmd).toEqual(['node', '/app/index.mjs']);
    expect(config.User).toBe('1000');
  });

  it('becomes healthy, serves /predict, and after SIGUSR2 turns unhealthy while still answering', async () => {
    const image = await ensureModelImage(irisModel(), { training: { commit: 'abc1234def' } });
    const server = await run(image.reference, 'drain');
    await waitFor('healthy', async () => (await inspect(server.name)).State.Health?.Status === 'healthy', ENGINE_WAIT_MS, 200);

    const response = await predict(server.url);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { predictions: { class: string }[]; model: { digest: string } };
    expect(body.predictions[0]!.class).toBe('virginica');
    expect(body.model.digest).toBe(image.modelDigest);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain(`model_server_model_info{name="iris",model_digest="${image.modelDigest}",image_digest="",git_sha="abc1234def",format_version="1"} 1`);

    await docker(['kill', '--signal', 'SIGUSR2', server.name]);
    await waitFor('unhealthy after SIGUSR2', async () => (await inspect(server.name)).State.Health?.Status === 'unhealthy', ENGINE_WAIT_MS, 200);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(503);
    expect((await predict(server.url)).status).toBe(200);

    await docker(['stop', '--time', '10', server.name]);
    const stopped = await inspect(server.name);
    expect(stopped.State.ExitCode).toBe(0);
    const logs = await docker(['logs', server.name]);
    const events = logs
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { event: string }).event);
    expect(events).toEqual(['listening', 'ready', 'prediction', 'draining', 'prediction', 'signal', 'stopping', 'stopped']);
  });

  it('gives distinct images for distinct models', async () => {
    const v1 = await ensureModelImage(irisModel());
    const v2 = await ensureModelImage({ ...irisModel(), name: 'iris-v2' });
    expect(v1.id).not.toBe(v2.id);
    expect(v1.modelDigest).not.toBe(v2.modelDigest);
    expect((await ensureModelImage(irisModel())).id).toBe(v1.id);
  });

  it('has an "exits" variant that stops at once and says why', async () => {
    const image = await ensureModelImage(irisModel(), { behaviour: 'exits' });
    const server = await run(image.reference, 'exits');
    await waitFor('exit', async () => (await inspect(server.name)).State.Status === 'exited', ENGINE_WAIT_MS, 200);
    expect((await inspect(server.name)).State.ExitCode).toBe(1);
    expect(await containerLogs(server.name)).toMatch(/cannot load the model: \/model\/model\.json: not valid JSON/);
  });

  it('has a "never-healthy" variant that serves but fails every probe', async () => {
    const image = await ensureModelImage(irisModel(), { behaviour: 'never-healthy' });
    const server = await run(image.reference, 'never');
    await waitFor(
      'two failed probes',
      async () => {
        const health = (await inspect(server.name)).State.Health;
        return (health?.Log.length ?? 0) >= 2;
      },
      ENGINE_WAIT_MS,
      200,
    );
    const health = (await inspect(server.name)).State.Health!;
    expect(health.Status).not.toBe('healthy');
    expect(health.Log.every((entry) => entry.ExitCode === 1)).toBe(true);
    expect((await predict(server.url)).status).toBe(200);
  });

  it('has a "slow-start" variant that serves only after its delay', async () => {
    const image = await ensureModelImage(irisModel(), { behaviour: 'slow-start', startDelayMs: 3000 });
    const server = await run(image.reference, 'slow');
    const started = Date.now();
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    await waitFor('healthy', async () => (await inspect(server.name)).State.Health?.Status === 'healthy', ENGINE_WAIT_MS, 100);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2500);
    expect((await predict(server.url)).status).toBe(200);
  });

  it("builds from server/Dockerfile (users' image) and serves, non-root, with its HEALTHCHECK", async () => {
    // node:24-slim cannot be pulled here: the node-only base stands in for it; every other line is the user's.
    const dockerfile = readFileSync(join(repoRoot, 'server/Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:24-slim$/m);
    // node:24-slim has librt; the node-only base gets it from onnxRuntimeFiles' rootfs/ part.
    const runtime = await onnxRuntimeFiles();
    const rootfs = Object.fromEntries(Object.entries(runtime).filter(([path]) => path.startsWith('rootfs/')));
    const modules = Object.fromEntries(
      Object.entries(runtime)
        .filter(([path]) => path.startsWith('node_modules/'))
        .map(([path, bytes]) => [path, bytes]),
    );
    // Everything the Dockerfile's COPY lines may take, with the other platforms' binaries too: the
    // Dockerfile must pick linux/x64 alone.
    for (const other of ['darwin/arm64', 'win32/x64']) modules[`node_modules/onnxruntime-node/bin/napi-v6/${other}/onnxruntime_binding.node`] = Buffer.from('not for linux');
    const base = `localhost/train-to-serve/user-dockerfile-base:${suffix}`;
    await buildImage(base, { Dockerfile: `FROM ${await ensureNodeBaseImage()}\nCOPY rootfs/ /\n`, ...rootfs });
    const userImage = `localhost/train-to-serve/user-dockerfile:${suffix}`;
    const withModel = `localhost/train-to-serve/user-dockerfile-model:${suffix}`;
    const withOnnx = `localhost/train-to-serve/user-dockerfile-onnx:${suffix}`;
    images.push(withModel, withOnnx, userImage, base);
    await buildImage(userImage, { Dockerfile: dockerfile.replace(/^FROM node:24-slim$/m, `FROM ${base}`), 'dist/server/index.mjs': readFileSync(SERVER_BUNDLE), ...modules });
    const listing = await docker(['run', '--rm', '--entrypoint', 'node', userImage, '-e', "console.log(require('fs').readdirSync('/app/node_modules/onnxruntime-node/bin/napi-v6', { recursive: true }).join(' '))"]);
    expect(listing.trim().split(' ').sort()).toEqual(['linux', 'linux/x64', 'linux/x64/libonnxruntime.so.1', 'linux/x64/onnxruntime_binding.node']);
    await buildImage(withModel, { Dockerfile: `FROM ${userImage}\nCOPY model/ /model/\n`, 'model/model.json': JSON.stringify(irisModel()) });
    await buildImage(withOnnx, { Dockerfile: `FROM ${userImage}\nCOPY model/ /model/\n`, 'model/model.onnx': tabularClassifier(), 'model/model.onnx.json': JSON.stringify({ classes: ['a', 'b', 'c'], scores: 'logits' }) });
    const config = (JSON.parse(await docker(['image', 'inspect', withModel])) as { Config: { User: string; Healthcheck: { Test: string[] }; ExposedPorts: Record<string, unknown>; Env: string[] } }[])[0]!.Config;
    expect(config.User).toBe('node');
    expect(config.Healthcheck.Test).toEqual(['CMD', 'node', '/app/index.mjs', '--healthcheck']);
    expect(Object.keys(config.ExposedPorts)).toEqual(['8080/tcp']);
    expect(config.Env).toEqual(expect.arrayContaining(['MODEL_DIR=/model', 'PORT=8080']));
    const server = await run(withModel, 'user');
    const onnx = await run(withOnnx, 'user-onnx');
    await waitFor('healthy', async () => (await inspect(server.name)).State.Health?.Status === 'healthy', ENGINE_WAIT_MS, 250);
    expect((await predict(server.url)).status).toBe(200);
    await waitFor('ONNX healthy', async () => (await inspect(onnx.name)).State.Health?.Status === 'healthy', ENGINE_WAIT_MS, 250);
    expect((await predict(onnx.url, [6.7, 3.0, 5.2, 2.3])).status).toBe(200);
  });

  it('serves an ONNX model as the node user, CPU fallback logged, answers checked against the protocol', async () => {
    const image = await ensureModelImage(irisModel(), { onnx: { model: tabularClassifier(), sidecar: { name: 'tab', classes: ['a', 'b', 'c'], scores: 'logits' } } });
    expect(image.reference).toMatch(/^localhost\/train-to-serve\/model-server:/);
    const server = await run(image.reference, 'onnx');
    await waitFor('healthy', async () => (await inspect(server.name)).State.Health?.Status === 'healthy', ENGINE_WAIT_MS, 200);
    const answer = await oip(server.url, '/v2/models/tab/infer', { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] });
    expect(answer.status).toBe(200);
    expect((await oip(server.url, '/v2/models/tab')).body).toMatchObject({ platform: 'onnxruntime_onnx', versions: [image.modelDigest.slice(7, 19)] });
    const body = (await (await predict(server.url, [1, 2, 3, 4])).json()) as { model: { digest: string } };
    expect(body.model.digest).toBe(image.modelDigest);
    const logs = await containerLogs(server.name);
    expect(logs).toMatch(/"event":"onnx-provider","provider":"cpu","reason":"the CUDA provider library is not installed/);
    // ORT_DISABLE_TELEMETRY: the runtime's telemetry client never starts (it logs when it does).
    expect(logs).not.toMatch(/telemetry/i);
  });
});
