import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/support/ports';
import { SERVER_BUNDLE, irisModel } from '../../test/support/server-image';
import { modelDir, predict, startServer, type ServerProcess } from './server-process';

// The bundle dist/server/index.mjs as a real process, spoken to over real HTTP.

const named = { sepal_length: 6.3, sepal_width: 3.3, petal_length: 6.0, petal_width: 2.5 };

function healthcheck(port: number): Promise<number> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [SERVER_BUNDLE, '--healthcheck'], { env: { PORT: String(port) } });
    child.on('exit', (code) => resolve(code ?? -1));
  });
}

function metricValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('a ready server', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    const dir = modelDir({ 'model.json': JSON.stringify(irisModel()), 'training.json': JSON.stringify({ commit: 'c0ffee1' }) });
    server = await startServer({ MODEL_DIR: dir, MAX_BODY_BYTES: '4096', MAX_BATCH_SIZE: '20', TRAIN_TO_SERVE_IMAGE_DIGEST: 'sha256:1111' });
  });
  afterAll(() => server?.kill('SIGKILL'));

  it('answers /healthz 200 and the health probe exits 0', async () => {
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready' });
    expect(await healthcheck(server.port)).toBe(0);
  });

  it('predicts a batch, echoes the request id and logs one JSON line per prediction', async () => {
    const result = await predict(server.url, { instances: [named, [5.0, 3.4, 1.5, 0.2]] }, { 'x-request-id': 'req-42' });
    expect(result.status).toBe(200);
    expect(result.headers.get('x-request-id')).toBe('req-42');
    const body = result.body as { predictions: { class: string; probabilities: Record<string, number> }[]; model: { name: string; digest: string }; requestId: string };
    expect(body.predictions.map((p) => p.class)).toEqual(['virginica', 'setosa']);
    expect(Object.keys(body.predictions[0]!.probabilities)).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(body.model.name).toBe('iris');
    expect(body.requestId).toBe('req-42');

    const logged = () => server.events.filter((e) => e.event === 'prediction' && e.requestId === 'req-42');
    await waitFor('two prediction lines', async () => logged().length === 2);
    const [first, second] = logged();
    expect(first).toMatchObject({ model: 'iris', modelDigest: body.model.digest, imageDigest: 'sha256:1111', index: 0, batchSize: 2, input: named, output: body.predictions[0] });
    expect(second).toMatchObject({ index: 1, input: [5.0, 3.4, 1.5, 0.2], output: body.predictions[1] });
    expect(typeof first!.latencyMs).toBe('number');
    expect(Date.parse(first!.time as string)).not.toBeNaN();
  });

  it('makes up a request id when none (or a malformed one) is sent', async () => {
    const result = await predict(server.url, { instances: [named] }, { 'x-request-id': 'has spaces and "quotes"' });
    expect(result.body.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([
    ['bad JSON', '{"instances": [', 400, /^body is not valid JSON/],
    ['a missing feature', { instances: [{ sepal_length: 1, sepal_width: 1, petal_length: 1 }] }, 400, /^instances\[0\]: missing feature "petal_width"$/],
    ['a batch over MAX_BATCH_SIZE', { instances: Array(21).fill([1, 2, 3, 4]) }, 400, /at most 20 per request/],
    ['a body over MAX_BODY_BYTES', { instances: Array(200).fill([1.123456, 2.123456, 3.123456, 4.123456]) }, 413, /over the limit of 4096 bytes/],
  ])('answers %s with %i and a clear message', async (_case, body, status, message) => {
    const result = await predict(server.url, body);
    expect(result.status).toBe(status);
    expect(result.body.error).toMatch(message);
  });

  it('refuses a body that is not JSON by type, and wrong methods and paths', async () => {
    const form = await predict(server.url, { instances: [named] }, { 'content-type': 'text/csv' });
    expect(form.status).toBe(415);
    expect(form.body.error).toBe('Content-Type must be application/json, got "text/csv"');
    const get = await fetch(`${server.url}/predict`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const missing = await fetch(`${server.url}/nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toMatch(/POST \/predict/);
  });

  it('stops reading a chunked body once it passes the limit', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${server.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write('{"instances": [');
      for (let i = 0; i < 300; i++) req.write('[1.5, 2.5, 3.5, 4.5],');
      req.end('[1, 2, 3, 4]]}');
    });
    expect(status).toBe(413);
  });

  it('exposes Prometheus metrics: requests by code, predictions by class, latency, in-flight, model info', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const model = (await (await fetch(`${server.url}/model`)).json()) as { digest: string; gitSha: string; imageDigest: string };
    expect(model).toMatchObject({ gitSha: 'c0ffee1', imageDigest: 'sha256:1111' });
    expect(metricValue(text, `model_server_model_info{name="iris",model_digest="${model.digest}",image_digest="sha256:1111",git_sha="c0ffee1",format_version="1"}`)).toBe(1);
    expect(metricValue(text, 'model_server_predict_requests_total{code="200"}')).toBeGreaterThanOrEqual(2);
    expect(metricValue(text, 'model_server_predict_requests_total{code="400"}')).toBeGreaterThanOrEqual(3);
    expect(metricValue(text, 'model_server_predict_requests_total{code="413"}')).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'model_server_predictions_total{class="virginica"}')).toBeGreaterThanOrEqual(2);
    expect(metricValue(text, 'model_server_predict_duration_seconds_count{code="200"}')).toBeGreaterThanOrEqual(2);
    expect(metricValue(text, 'model_server_predict_in_flight')).toBe(0);
    expect(metricValue(text, 'model_server_ready')).toBe(1);
    expect(metricValue(text, 'model_server_draining')).toBe(0);
    expect(text).toContain('process_cpu_seconds_total');
  });
});

describe('readiness', () => {
  it('is 503 while the model loads, and /predict says so', async () => {
    // A FIFO as model.json: reading it blocks until the test writes the model, holding the server in "loading".
    const dir = mkdtempSync(join(tmpdir(), 'tts-model-'));
    const fifo = join(dir, 'model.json');
    await promisify(execFile)('mkfifo', [fifo]);
    const server = await startServer({ MODEL_DIR: dir }, { waitReady: false });
    try {
      await server.waitForEvent('listening');
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(503);
      expect(await health.json()).toEqual({ status: 'loading' });
      expect(await healthcheck(server.port)).toBe(1);
      const early = await predict(server.url, { instances: [named] });
      expect(early.status).toBe(503);
      expect(early.body.error).toBe('the model is still loading');
      writeFileSync(fifo, JSON.stringify(irisModel()));
      await server.waitForEvent('ready');
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      server.kill('SIGKILL');
    }
  });

  it('turns 503 on SIGUSR2 while /predict keeps answering', async () => {
    const server = await startServer();
    try {
      server.kill('SIGUSR2');
      await server.waitForEvent('draining');
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(503);
      expect(await health.json()).toEqual({ status: 'draining' });
      expect(await healthcheck(server.port)).toBe(1);
      expect((await predict(server.url, { instances: [named] })).status).toBe(200);
      const text = await (await fetch(`${server.url}/metrics`)).text();
      expect(metricValue(text, 'model_server_draining')).toBe(1);
      expect(metricValue(text, 'model_server_ready')).toBe(0);
    } finally {
      server.kill('SIGKILL');
    }
  });
});

describe('prediction log switch', () => {
  it('writes no prediction lines with PREDICTION_LOG=off, and still answers', async () => {
    const server = await startServer({ PREDICTION_LOG: 'off' });
    try {
      expect((await predict(server.url, { instances: [named] })).status).toBe(200);
      const text = await (await fetch(`${server.url}/metrics`)).text();
      expect(metricValue(text, 'model_server_predict_requests_total{code="200"}')).toBe(1);
      expect(server.events.filter((e) => e.event === 'prediction')).toEqual([]);
    } finally {
      server.kill('SIGKILL');
    }
  });
});

describe('graceful stop', () => {
  function slowRequest(url: string): { response: Promise<{ status: number; connection: string | undefined }>; finish: () => void } {
    const body = JSON.stringify({ instances: [named] });
    const req = request(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
    const response = new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      req.on('response', (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, connection: res.headers.connection });
      });
      req.on('error', reject);
    });
    req.write(body.slice(0, 10));
    return { response, finish: () => req.end(body.slice(10)) };
  }

  it('on SIGTERM refuses new connections, finishes the request in flight, then exits 0', async () => {
    const server = await startServer();
    const inFlight = slowRequest(server.url);
    await new Promise((r) => setTimeout(r, 100));
    server.kill('SIGTERM');
    await server.waitForEvent('stopping');
    expect(server.events.find((e) => e.event === 'stopping')).toMatchObject({ inFlight: 1 });
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    inFlight.finish();
    expect(await inFlight.response).toEqual({ status: 200, connection: 'close' });
    expect(await server.exited).toBe(0);
    expect(server.events.at(-1)).toMatchObject({ event: 'stopped', timedOut: false, unfinished: 0 });
  });

  it('gives up on a stuck request after SHUTDOWN_TIMEOUT_SECONDS', async () => {
    const server = await startServer({ SHUTDOWN_TIMEOUT_SECONDS: '1' });
    const stuck = slowRequest(server.url);
    stuck.response.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(server.events.at(-1)).toMatchObject({ event: 'stopped', timedOut: true, unfinished: 1 });
  });
});

describe('failing loudly at start', () => {
  it.each([
    ['no model', {}, /cannot load the model: .*model\.json: no model found/],
    [
      'a corrupt model',
      { 'model.json': '{"format": "train-to-serve.linear-classifier", "formatVersion": 1, "name": "x", "features": ["a"], "classes": ["p", "q"], "standardize": {"mean": [0], "scale": [1]}, "weights": [[1]], "bias": [0, 0]}' },
      /weights must be an array of 2 rows/,
    ],
  ])('exits 1 with %s', async (_case, files, message) => {
    const server = await startServer({ MODEL_DIR: modelDir(files) }, { waitReady: false });
    expect(await server.exited).toBe(1);
    expect(server.stderr()).toMatch(message);
  });

  it('exits 1 on a bad setting', async () => {
    const server = await startServer({ PORT: '1', MAX_BATCH_SIZE: 'many' }, { waitReady: false });
    expect(await server.exited).toBe(1);
    expect(server.stderr()).toContain('configuration: MAX_BATCH_SIZE: expected a whole number, got \\"many\\"');
  });
});
