import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { int64Model, tabularClassifier, unsupportedOpModel } from '../../test/support/onnx-models';
import { oip } from '../../test/support/open-inference';
import { pythonReference } from '../../test/support/ort-reference';
import { modelDir, predict, startServer, type ServerProcess } from './server-process';

// ONNX models in the bundled server (a real process, real onnxruntime-node), compared with ONNX
// Runtime's own Python package on the same inputs (the .venv that scripts/python-env.sh makes).

/** float32 models: the two runtimes may order the float operations differently. */
const TOLERANCE = 1e-6;

const sidecar = { name: 'flowers', features: ['a', 'b', 'c', 'd'], classes: ['x', 'y', 'z'], output: 'logits', scores: 'logits' };
const rows = [
  [5.1, 3.5, 1.4, 0.2],
  [6.2, 2.9, 4.3, 1.3],
  [7.7, 3.0, 6.1, 2.3],
  [-1, 0, 0.5, 1e-3],
];

describe('an ONNX classifier with its sidecar', () => {
  let server: ServerProcess;
  let dir: string;
  beforeAll(async () => {
    dir = modelDir({ 'model.onnx': tabularClassifier(), 'model.onnx.json': JSON.stringify(sidecar) });
    server = await startServer({ MODEL_DIR: dir, MAX_BATCH_SIZE: '8' });
  });
  afterAll(() => server?.kill('SIGKILL'));

  it('reads its signature and logs the CPU fallback when the CUDA provider is not installed', async () => {
    const ready = await server.waitForEvent('ready');
    expect(ready).toMatchObject({ model: 'flowers', format: 'onnx', device: 'cpu', features: sidecar.features, classes: sidecar.classes });
    expect(ready.inputs).toEqual([{ name: 'features', datatype: 'FP32', shape: [-1, 4] }]);
    const fallback = server.events.find((e) => e.event === 'onnx-provider');
    expect(fallback).toMatchObject({ provider: 'cpu', reason: expect.stringContaining('libonnxruntime_providers_cuda.so') });
    const view = (await (await fetch(`${server.url}/model`)).json()) as Record<string, unknown>;
    expect(view).toMatchObject({ name: 'flowers', format: 'onnx', device: 'cpu', digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
  });

  it('answers /predict and /infer as ONNX Runtime for Python does on the same inputs', async () => {
    const answer = await predict(server.url, { instances: [rows[0], Object.fromEntries(sidecar.features.map((f, j) => [f, rows[1]![j]])), rows[2], rows[3]] });
    expect(answer.status).toBe(200);
    const inferred = await oip(server.url, '/v2/models/flowers/infer', { id: 'cmp-1', inputs: [{ name: 'features', shape: [4, 4], datatype: 'FP32', data: rows.flat() }] });
    expect(inferred.status).toBe(200);
    const reference = await pythonReference(join(dir, 'model.onnx'), [{ name: 'features', datatype: 'FP32', shape: [4, 4], data: rows.flat() }]);
    expect(reference.version).toMatch(/^1\./);
    const outputs = inferred.body.outputs as { name: string; shape: number[]; data: number[]; datatype: string }[];
    expect(outputs.map((o) => o.name)).toEqual(['logits', 'probabilities']);
    for (const expected of reference.outputs) {
      const got = outputs.find((o) => o.name === expected.name)!;
      expect(got.shape).toEqual(expected.shape);
      expect(got.datatype).toBe('FP32');
      got.data.forEach((value, i) => expect(Math.abs(value - expected.data[i]!)).toBeLessThanOrEqual(TOLERANCE * Math.max(1, Math.abs(expected.data[i]!))));
    }
    // /predict: softmax of the logits output, in the sidecar's class order.
    const probabilities = reference.outputs.find((o) => o.name === 'probabilities')!.data;
    const predictions = answer.body.predictions as { class: string; probabilities: Record<string, number> }[];
    predictions.forEach((p, i) => {
      sidecar.classes.forEach((c, k) => expect(Math.abs(p.probabilities[c]! - probabilities[i * 3 + k]!)).toBeLessThanOrEqual(TOLERANCE));
      const top = [0, 1, 2].reduce((best, k) => (probabilities[i * 3 + k]! > probabilities[i * 3 + best]! ? k : best), 0);
      expect(p.class).toBe(sidecar.classes[top]);
    });
  });

  it('answers 400 to an input of the wrong shape, on both routes, and keeps serving', async () => {
    const short = await predict(server.url, { instances: [[1, 2, 3]] });
    expect(short.status).toBe(400);
    expect(short.body.error).toBe('instances[0]: expected 4 values (a, b, c, d), got 3');
    const wrong = await oip(server.url, '/v2/models/flowers/infer', { inputs: [{ name: 'features', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] }] });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe("inputs[0] (features): shape [2, 3] does not fit the model's [batch, 4]");
    const type = await oip(server.url, '/v2/models/flowers/infer', { inputs: [{ name: 'features', shape: [1, 4], datatype: 'INT32', data: [1, 2, 3, 4] }] });
    expect(type.status).toBe(400);
    expect(type.body.error).toBe('inputs[0] (features): datatype must be FP32, got "INT32"');
    const big = await oip(server.url, '/v2/models/flowers/infer', { inputs: [{ name: 'features', shape: [9, 4], datatype: 'FP32', data: new Array(36).fill(0) }] });
    expect(big.status).toBe(400);
    expect((await predict(server.url, { instances: [rows[0]] })).status).toBe(200);
  });
});

describe('ONNX models without labels', () => {
  it('serves INT64 tensors through /infer, and /predict says why it cannot', async () => {
    const server = await startServer({ MODEL_DIR: modelDir({ 'model.onnx': int64Model() }) });
    try {
      const meta = await oip(server.url, '/v2/models/model');
      expect(meta.body).toMatchObject({ name: 'model', platform: 'onnxruntime_onnx', inputs: [{ name: 'x', datatype: 'INT64', shape: [-1, 2] }] });
      const answer = await oip(server.url, '/v2/models/model/infer', {
        inputs: [
          {
            name: 'x',
            shape: [2, 2],
            datatype: 'INT64',
            data: [
              [1, 2],
              [3, -9007199254740991],
            ],
          },
        ],
      });
      expect(answer.body.outputs).toEqual([{ name: 'y', datatype: 'INT64', shape: [2, 2], data: [2, 3, 4, -9007199254740990] }]);
      const fraction = await oip(server.url, '/v2/models/model/infer', { inputs: [{ name: 'x', shape: [1, 2], datatype: 'INT64', data: [1, 2.5] }] });
      expect(fraction.status).toBe(400);
      expect(fraction.body.error).toMatch(/^inputs\[0\]\.data\[1\]: expected an integer \(INT64\)/);
      const predicted = await predict(server.url, { instances: [[1, 2]] });
      expect(predicted.status).toBe(400);
      expect(predicted.body.error).toMatch(/no classes \(an ONNX model names them in model\.onnx\.json\).*POST \/v2\/models\/model\/infer$/);
    } finally {
      server.kill('SIGKILL');
    }
  });
});

describe('bad ONNX models fail at start, never as a healthy server', () => {
  it.each([
    ['a corrupt file', { 'model.onnx': Buffer.from('this is not a protobuf model') }, /cannot load the model: .*model\.onnx: ONNX Runtime cannot load it \(.*protobuf parsing failed/],
    ['an operator no runtime has', { 'model.onnx': unsupportedOpModel() }, /model\.onnx: ONNX Runtime cannot load it \(.*No Op registered for FrobnicateTensor/],
    ['both formats in one directory', { 'model.onnx': tabularClassifier(), 'model.json': '{}' }, /holds both model\.json and model\.onnx/],
    [
      'a sidecar whose classes do not fit',
      { 'model.onnx': tabularClassifier(), 'model.onnx.json': JSON.stringify({ classes: ['a', 'b'], scores: 'logits' }) },
      /model\.onnx\.json: classes names 2 classes, but output logits has shape \[-1, 3\]/,
    ],
    ['a sidecar without scores', { 'model.onnx': tabularClassifier(), 'model.onnx.json': JSON.stringify({ classes: ['a', 'b', 'c'] }) }, /scores is required with classes/],
    ['a sidecar with too many features', { 'model.onnx': tabularClassifier(), 'model.onnx.json': JSON.stringify({ features: ['a', 'b', 'c', 'd', 'e'] }) }, /features names 5 values, the model's input takes 4/],
  ])('%s', async (_case, files, message) => {
    const server = await startServer({ MODEL_DIR: modelDir(files) }, { waitReady: false });
    expect(await server.exited).toBe(1);
    expect(server.stderr()).toMatch(message);
    expect(server.events.some((e) => e.event === 'ready')).toBe(false);
  });

  it('refuses ONNX_PROVIDER=cuda where CUDA is not installed', async () => {
    const server = await startServer({ MODEL_DIR: modelDir({ 'model.onnx': tabularClassifier() }), ONNX_PROVIDER: 'cuda' }, { waitReady: false });
    expect(await server.exited).toBe(1);
    expect(server.stderr()).toMatch(/model\.onnx: ONNX Runtime cannot load it/);
  });
});
