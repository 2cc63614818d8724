import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, removeNetwork } from './docker-cli';
import { tabularClassifier } from './onnx-models';
import { waitFor } from './ports';
import { ENGINE_WAIT_MS, containerLogs } from './server-image';
import { ensureFastApiImage, ensurePythonBaseImage, type PythonServer } from './python-image';

// The third-party servers deploy tests will use: a FastAPI app under uvicorn and under gunicorn,
// in images built from this machine's Python (no pulls). Each must start, answer on its own
// health path, predict, and expose its own metrics on its own port.
const suffix = randomBytes(4).toString('hex');
const network = `tts-pyimg-${suffix}`;
const containers: string[] = [];

beforeAll(async () => {
  await docker(['network', 'create', network]);
});

afterAll(async () => {
  if (containers.length) await docker(['rm', '-f', ...containers]).catch(() => undefined);
  await removeNetwork(network);
});

describe('Python serving images', { timeout: 1_200_000 }, () => {
  it('has a base with the interpreter and the serving venv, and nothing from the host beyond them', async () => {
    const base = await ensurePythonBaseImage();
    expect(base).toMatch(/^localhost\/train-to-serve\/python-base:[0-9a-f]{12}$/);
    const out = await docker(['run', '--rm', base, '/opt/venv/bin/python', '-c', 'import sys, onnxruntime, fastapi, uvicorn, gunicorn, prometheus_client; print(sys.prefix, onnxruntime.__version__)']);
    expect(out.trim()).toMatch(/^\/opt\/venv 1\.\d+\.\d+$/);
    await expect(docker(['run', '--rm', base, '/opt/venv/bin/python', '-c', 'import torch'])).rejects.toThrow(/No module named 'torch'/);
  });

  it.each(['uvicorn', 'gunicorn'] as PythonServer[])('serves the FastAPI app under %s: /ping, /invocations, metrics on 9100', async (server) => {
    const image = await ensureFastApiImage(server, tabularClassifier());
    const name = `tts-pyimg-${server}-${suffix}`;
    containers.push(name);
    await docker(['run', '-d', '--name', name, '--network', network, image]);
    const inspect = JSON.parse(await docker(['container', 'inspect', name])) as { NetworkSettings: { Networks: Record<string, { IPAddress: string }> }; Config: { Healthcheck?: unknown; User: string } }[];
    const ip = inspect[0]!.NetworkSettings.Networks[network]!.IPAddress;
    expect(inspect[0]!.Config.Healthcheck).toBeUndefined();
    expect(inspect[0]!.Config.User).toBe('1000');
    await waitFor(`${server} answering /ping (logs: ${await containerLogs(name).catch(() => '')})`, async () => (await fetch(`http://${ip}:8000/ping`).catch(() => undefined))?.status === 200, ENGINE_WAIT_MS, 500);
    expect(await (await fetch(`http://${ip}:8000/ping`)).json()).toMatchObject({ status: 'ok' });
    const answer = await fetch(`http://${ip}:8000/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: [[1, 2, 3, 4]] }) });
    expect(answer.status).toBe(200);
    const predictions = ((await answer.json()) as { predictions: number[][] }).predictions;
    expect(predictions[0]).toHaveLength(3);
    expect(predictions[0]!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect((await fetch(`http://${ip}:8000/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: [[1, 2]] }) })).status).toBe(400);
    const metrics = await (await fetch(`http://${ip}:9100/metrics`)).text();
    expect(metrics).toMatch(/^fastapi_inference_requests_total\{code="200"\} 1\.0$/m);
    expect(metrics).toMatch(/^fastapi_inference_requests_total\{code="400"\} 1\.0$/m);
    expect((await fetch(`http://${ip}:8000/metrics`)).status).toBe(404);
    const logs = await containerLogs(name);
    expect(logs).toMatch(server === 'gunicorn' ? /Booting worker with pid/ : /Uvicorn running on http:\/\/0\.0\.0\.0:8000/);
  });
});
