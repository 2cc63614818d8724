import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tabularClassifier } from '../../test/support/onnx-models';
import { OIP_FIXTURE, oip } from '../../test/support/open-inference';
import { irisModel } from '../../test/support/server-image';
import { modelDir, predict, startServer, type ServerProcess } from './server-process';

// The Open Inference Protocol (KServe v2) routes of the bundled server. Every answer is checked
// against the protocol's OpenAPI description by `oip` (test/support/open-inference.ts).

const iris = irisModel() as { name: string; features: string[]; classes: string[] };
const row = [6.3, 3.3, 6.0, 2.5];

describe('the Open Inference Protocol on the linear model', () => {
  let server: ServerProcess;
  let version: string;
  beforeAll(async () => {
    server = await startServer({ MODEL_DIR: modelDir(), MAX_BATCH_SIZE: '3' });
    version = String((await server.waitForEvent('ready')).modelDigest).slice(7, 19);
  });
  afterAll(() => server?.kill('SIGKILL'));

  it('uses the fixture from the protocol repository', () => {
    expect(OIP_FIXTURE.source).toMatch(/^https:\/\/github\.com\/kserve\/open-inference-protocol\/blob\/[0-9a-f]{40}\/specification\/protocol\/open_inference_rest\.yaml$/);
    expect(Object.keys(OIP_FIXTURE.$defs)).toEqual(expect.arrayContaining(['inference_request', 'inference_response', 'metadata_model_response']));
  });

  it('answers server metadata, liveness and readiness', async () => {
    expect(await oip(server.url, '/v2')).toEqual({ status: 200, body: { name: 'train-to-serve', version: '1', extensions: [] } });
    expect(await oip(server.url, '/v2/health/live')).toEqual({ status: 200, body: { live: true } });
    expect(await oip(server.url, '/v2/health/ready')).toEqual({ status: 200, body: { ready: true } });
  });

  it('describes the model from its own signature, with and without a version', async () => {
    const expected = {
      name: iris.name,
      versions: [version],
      platform: 'train-to-serve_linear',
      inputs: [{ name: 'input', datatype: 'FP64', shape: [-1, 4] }],
      outputs: [
        { name: 'probabilities', datatype: 'FP64', shape: [-1, 3] },
        { name: 'label', datatype: 'BYTES', shape: [-1] },
      ],
    };
    expect(await oip(server.url, `/v2/models/${iris.name}`)).toEqual({ status: 200, body: expected });
    expect(await oip(server.url, `/v2/models/${iris.name}/versions/${version}`)).toEqual({ status: 200, body: expected });
    expect(await oip(server.url, `/v2/models/${iris.name}/ready`)).toEqual({ status: 200, body: { name: iris.name, ready: true } });
    const unknown = await oip(server.url, '/v2/models/resnet');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe(`unknown model "resnet": this server serves "${iris.name}"`);
    expect((await oip(server.url, `/v2/models/${iris.name}/versions/0000`)).status).toBe(404);
  });

  it('infers typed tensors, the same numbers /predict gives, flat or nested data', async () => {
    const body = { id: 'req-7', inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP64', data: [row, [5.1, 3.5, 1.4, 0.2]] }] };
    const answer = await oip(server.url, `/v2/models/${iris.name}/infer`, body);
    expect(answer.status).toBe(200);
    const predicted = (await predict(server.url, { instances: [row, [5.1, 3.5, 1.4, 0.2]] })).body.predictions as { class: string; probabilities: Record<string, number> }[];
    expect(answer.body).toEqual({
      model_name: iris.name,
      model_version: version,
      id: 'req-7',
      outputs: [
        { name: 'probabilities', datatype: 'FP64', shape: [2, 3], data: predicted.flatMap((p) => iris.classes.map((c) => p.probabilities[c])) },
        { name: 'label', datatype: 'BYTES', shape: [2], data: predicted.map((p) => p.class) },
      ],
    });
    const onlyLabel = await oip(server.url, `/v2/models/${iris.name}/infer`, { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP64', data: row }], outputs: [{ name: 'label' }] });
    expect(onlyLabel.body.outputs).toEqual([{ name: 'label', datatype: 'BYTES', shape: [1], data: [predicted[0]!.class] }]);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^model_server_predict_requests_total\{code="200"\} [3-9]/m);
  });

  it.each([
    ['not JSON', undefined, '{"inputs": [', /^body is not valid JSON/],
    ['no inputs', { id: 'x' }, undefined, /^inputs must be an array of tensors/],
    ['an unknown input', { inputs: [{ name: 'pixels', shape: [1, 4], datatype: 'FP64', data: row }] }, undefined, /^inputs\[0\]: unknown input "pixels" \(the model's inputs: input\)$/],
    ['too few values', { inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP64', data: row }] }, undefined, /^inputs\[0\] \(input\): shape \[2, 4\] holds 8 values, data has 4$/],
    ['a string among numbers', { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP64', data: [1, 2, '3', 4] }] }, undefined, /^inputs\[0\]\.data\[2\]: expected a number \(FP64\), got the string "3"$/],
    ['a batch over the limit', { inputs: [{ name: 'input', shape: [4, 4], datatype: 'FP64', data: new Array(16).fill(1) }] }, undefined, /batch of 4 is over the limit of 3/],
    ['an unknown output', { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP64', data: row }], outputs: [{ name: 'logits' }] }, undefined, /^outputs\[0\]: unknown output "logits"/],
  ])('answers 400 with the protocol error object to %s', async (_case, body, raw, message) => {
    const answer = await oip(server.url, `/v2/models/${iris.name}/infer`, body, { invalidRequest: true, ...(raw ? { raw } : {}) });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatch(message);
  });
});

describe('readiness through the protocol', () => {
  it('drains like /healthz: ready turns 503 on SIGUSR2 while infer keeps answering', async () => {
    const server = await startServer({ MODEL_DIR: modelDir({ 'model.onnx': tabularClassifier(), 'model.onnx.json': JSON.stringify({ name: 'tab' }) }) });
    try {
      expect((await oip(server.url, '/v2/health/ready')).status).toBe(200);
      server.kill('SIGUSR2');
      await server.waitForEvent('draining');
      expect(await oip(server.url, '/v2/health/ready')).toEqual({ status: 503, body: { ready: false } });
      expect((await fetch(`${server.url}/healthz`)).status).toBe(503);
      expect(await oip(server.url, '/v2/health/live')).toEqual({ status: 200, body: { live: true } });
      expect(await oip(server.url, '/v2/models/tab/ready')).toEqual({ status: 200, body: { name: 'tab', ready: true } });
      const answer = await oip(server.url, '/v2/models/tab/infer', { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] });
      expect(answer.status).toBe(200);
    } finally {
      server.kill('SIGKILL');
    }
  });
});
