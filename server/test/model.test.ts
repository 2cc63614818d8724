import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { irisModel } from '../../test/support/server-image';
import { loadModelDir as loadDir } from '../src/load';
import { parseModel, parseProvenance, predict } from '../src/model';

const loadModelDir = (dir: string) => loadDir(dir, { runtime: 'native', provider: 'cpu', log: () => {} });

const good = irisModel();
const variant = (change: Record<string, unknown>) => JSON.stringify({ ...good, ...change });

describe('parseModel', () => {
  it('accepts the model examples/iris/train.py writes', () => {
    const model = parseModel(JSON.stringify(good));
    expect(model.features).toEqual(['sepal_length', 'sepal_width', 'petal_length', 'petal_width']);
    expect(model.classes).toEqual(['setosa', 'versicolor', 'virginica']);
  });

  it.each([
    ['not JSON', '{"format": ', /not valid JSON/],
    ['an array', '[]', /must be a JSON object/],
    ['another format', variant({ format: 'onnx' }), /format must be "train-to-serve.linear-classifier", got "onnx"/],
    ['a newer format version', variant({ formatVersion: 2 }), /formatVersion 2 is not supported \(this server reads version 1\)/],
    ['no name', variant({ name: '' }), /name must be a non-empty string/],
    ['no features', variant({ features: [] }), /features must be a non-empty array/],
    ['duplicate classes', variant({ classes: ['a', 'a', 'b'] }), /classes has duplicate names/],
    ['one class', variant({ classes: ['a'], weights: [[0, 0, 0, 0]], bias: [0] }), /at least two classes/],
    ['short mean', variant({ standardize: { mean: [0], scale: [1, 1, 1, 1] } }), /standardize.mean has 1 entries, expected 4/],
    ['zero scale', variant({ standardize: { mean: [0, 0, 0, 0], scale: [1, 0, 1, 1] } }), /standardize.scale\[1\] is zero/],
    ['a missing weight row', variant({ weights: [[1, 2, 3, 4]] }), /weights must be an array of 3 rows/],
    [
      'a non-number weight',
      variant({
        weights: [
          [1, 2, 3, 4],
          [1, 2, 3, 4],
          [1, 2, 'x', 4],
        ],
      }),
      /weights\[2\]\[2\] is not a finite number/,
    ],
    ['a short bias', variant({ bias: [0, 0] }), /bias has 2 entries, expected 3/],
  ])('rejects %s, naming the field', (_case, text, message) => {
    expect(() => parseModel(text, 'model.json')).toThrow(message);
  });
});

describe('predict', () => {
  const model = parseModel(JSON.stringify(good));

  it('gives probabilities that sum to one and picks the most likely class', () => {
    for (const [values, expected] of [
      [[5.1, 3.5, 1.4, 0.2], 'setosa'],
      [[6.4, 3.2, 4.5, 1.5], 'versicolor'],
      [[6.3, 3.3, 6.0, 2.5], 'virginica'],
    ] as const) {
      const prediction = predict(model, values);
      expect(prediction.class).toBe(expected);
      const probabilities = Object.values(prediction.probabilities);
      expect(probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      expect(Math.max(...probabilities)).toBe(prediction.probabilities[expected]);
    }
  });

  it('stays finite for extreme inputs', () => {
    const prediction = predict(model, [1e6, -1e6, 1e6, 1e6]);
    expect(Object.values(prediction.probabilities).every(Number.isFinite)).toBe(true);
  });
});

describe('provenance from training.json', () => {
  it.each([
    [
      { commit: 'abc', runUrl: 'https://x/runs/1' },
      { gitSha: 'abc', runUrl: 'https://x/runs/1' },
    ],
    [{ git: { sha: 'def' } }, { gitSha: 'def' }],
    [
      { source: { commit: 'f00' }, run_url: 'u' },
      { gitSha: 'f00', runUrl: 'u' },
    ],
    [{ unrelated: 1 }, {}],
  ])('reads %j', (doc, expected) => {
    const provenance = parseProvenance(JSON.stringify(doc));
    expect(Object.fromEntries(Object.entries(provenance).filter(([, v]) => v !== undefined))).toEqual(expected);
  });
});

describe('loadModelDir', () => {
  it('digests model.json and reads training.json when present', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tts-model-'));
    writeFileSync(join(dir, 'model.json'), '{"format":"train-to-serve.linear-classifier"}');
    await expect(loadModelDir(dir)).rejects.toThrow(/formatVersion undefined is not supported/);
    writeFileSync(join(dir, 'model.json'), JSON.stringify(good));
    writeFileSync(join(dir, 'training.json'), JSON.stringify({ commit: '0123456' }));
    const loaded = await loadModelDir(dir);
    expect(loaded.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(loaded.provenance.gitSha).toBe('0123456');
    writeFileSync(join(dir, 'training.json'), '{');
    await expect(loadModelDir(dir)).rejects.toThrow(/training.json: not valid JSON/);
  });

  it('says where it looked when there is no model', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tts-model-'));
    await expect(loadModelDir(dir)).rejects.toThrow(`${dir}/model.json: no model found (set MODEL_DIR, or put the model's model.json or model.onnx in ${dir})`);
  });
});
