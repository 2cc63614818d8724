import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startServer } from '../../server/test/server-process';
import { repoRoot } from '../support/action-runner';
import { oip } from '../support/open-inference';
import { pythonReference } from '../support/ort-reference';

// examples/pytorch/train.py with Debian's torch (the .venv scripts/python-env.sh makes sees it),
// then its model.onnx in the real server, answers compared with ONNX Runtime's Python package.
const PYTHON = join(repoRoot, '.venv/bin/python');

function train(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(PYTHON, [join(repoRoot, 'examples/pytorch/train.py'), ...args], { cwd: mkdtempSync(join(tmpdir(), 'tts-pt-')), timeout: 600_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('examples/pytorch/train.py', { timeout: 600_000 }, () => {
  it('trains on the digits, exports model.onnx and its sidecar, and the server answers as ONNX Runtime does', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tts-pt-out-'));
    const result = await train(['--epochs', '6', '--model-dir', join(out, 'model'), '--metrics', join(out, 'metrics.json')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^trained digits on 1437 samples for 6 epochs on cpu: test accuracy 0\.9\d+/);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as Record<string, unknown>;
    expect(metrics).toMatchObject({ samples: { train: 1437, test: 360 }, epochs: 6, device: 'cpu' });
    expect(metrics.accuracy).toBeGreaterThan(0.9);
    expect(metrics.onnx_max_abs_diff).toBeLessThan(1e-4);
    const sidecar = JSON.parse(readFileSync(join(out, 'model/model.onnx.json'), 'utf8')) as { classes: string[]; features: string[] };
    expect(sidecar).toMatchObject({ name: 'digits', output: 'logits', scores: 'logits', classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] });
    expect(sidecar.features).toHaveLength(64);

    const server = await startServer({ MODEL_DIR: join(out, 'model') });
    try {
      const meta = await oip(server.url, '/v2/models/digits');
      expect(meta.body).toMatchObject({ platform: 'onnxruntime_onnx', inputs: [{ name: 'image', datatype: 'FP32', shape: [-1, 1, 8, 8] }], outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 10] }] });
      // Eight digits of the data set, as the trainer sees them.
      const { stdout } = await promisify(execFile)(PYTHON, ['-c', 'import json; from sklearn.datasets import load_digits; d = load_digits(); print(json.dumps({"data": d.data[:8].tolist(), "target": d.target[:8].tolist()}))']);
      const digits = JSON.parse(stdout) as { data: number[][]; target: number[] };
      const input = { name: 'image', shape: [8, 1, 8, 8], datatype: 'FP32', data: digits.data.flat() };
      const answer = await oip(server.url, '/v2/models/digits/infer', { inputs: [input] });
      const reference = await pythonReference(join(out, 'model/model.onnx'), [input]);
      const logits = (answer.body.outputs as { data: number[] }[])[0]!.data;
      // float32 on both sides, same runtime version: agreement to 1e-5 relative (stated in the docs).
      reference.outputs[0]!.data.forEach((value, i) => expect(Math.abs(logits[i]! - value)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(value))));
      const predicted = await fetch(`${server.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: digits.data }) });
      const classes = ((await predicted.json()) as { predictions: { class: string }[] }).predictions.map((p) => Number(p.class));
      expect(classes.filter((c, i) => c === digits.target[i]).length).toBeGreaterThanOrEqual(7);
    } finally {
      server.kill('SIGKILL');
    }
  });

  it('rejects bad options with one clear line', async () => {
    const result = await train(['--epochs', '0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/error: --epochs must be at least 1/);
  });
});
