import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseModel, predict } from '../../server/src/model';
import { repoRoot } from '../support/action-runner';

const script = join(repoRoot, 'examples/iris/train.py');
const dataset = join(repoRoot, 'examples/iris/iris.csv');

function hasPython(): boolean {
  try {
    execFileSync('python3', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function train(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('python3', [script, ...args], { cwd: mkdtempSync(join(tmpdir(), 'tts-iris-')) }, (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

describe('the Iris data set', () => {
  it("holds Fisher's 150 rows, 50 of each species", () => {
    const rows = readFileSync(dataset, 'utf8').trim().split('\n');
    expect(rows[0]).toBe('sepal_length,sepal_width,petal_length,petal_width,species');
    const body = rows.slice(1).map((line) => line.split(','));
    expect(body).toHaveLength(150);
    const counts: Record<string, number> = {};
    for (const row of body) counts[row[4]!] = (counts[row[4]!] ?? 0) + 1;
    expect(counts).toEqual({ setosa: 50, versicolor: 50, virginica: 50 });
    // Column sums of the published data (as in R's datasets::iris).
    const sums = [0, 1, 2, 3].map((j) => Math.round(body.reduce((sum, row) => sum + Number(row[j]), 0) * 10) / 10);
    expect(sums).toEqual([876.5, 458.6, 563.7, 179.9]);
  });
});

describe.skipIf(!hasPython())('examples/iris/train.py (python3 stdlib)', () => {
  it('writes model.json and metrics.json, reproducibly, in the format the server reads', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tts-iris-out-'));
    const result = await train(['--model-dir', join(out, 'model'), '--metrics', join(out, 'eval/metrics.json')]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^trained iris on 120 samples for 300 epochs: test accuracy 1\.0000/);

    const modelText = readFileSync(join(out, 'model/model.json'), 'utf8');
    // The committed test fixture is exactly what the script writes with its defaults.
    expect(modelText).toBe(readFileSync(join(repoRoot, 'test/support/fixtures/iris-model.json'), 'utf8'));

    const metrics = JSON.parse(readFileSync(join(out, 'eval/metrics.json'), 'utf8')) as Record<string, unknown>;
    expect(metrics).toMatchObject({ accuracy: 1, samples: { train: 120, test: 30 }, epochs: 300, f1: { setosa: 1, versicolor: 1, virginica: 1, macro: 1 } });
    expect(metrics.loss).toBeGreaterThan(0);
    expect(metrics.latency_p95_ms).toBeGreaterThan(0);

    // The server's arithmetic agrees with the trainer's: same hits over all 150 rows.
    const model = parseModel(modelText);
    const rows = readFileSync(dataset, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(','));
    const hits = rows.filter((row) => predict(model, row.slice(0, 4).map(Number)).class === row[4]).length;
    const fit = metrics.train as { accuracy: number };
    expect(hits).toBe(Math.round(30 * (metrics.accuracy as number) + 120 * fit.accuracy));
  });

  it('trains a different model with other options (a second version for deploy demos)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tts-iris-out-'));
    const result = await train(['--epochs', '20', '--model-dir', join(out, 'model'), '--metrics', join(out, 'metrics.json')]);
    expect(result.code).toBe(0);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { accuracy: number; epochs: number };
    expect(metrics.epochs).toBe(20);
    expect(metrics.accuracy).toBeLessThan(1);
    expect(readFileSync(join(out, 'model/model.json'), 'utf8')).not.toBe(readFileSync(join(repoRoot, 'test/support/fixtures/iris-model.json'), 'utf8'));
  });

  it('rejects bad options with one clear line', async () => {
    const result = await train(['--epochs', '0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/error: --epochs must be at least 1/);
  });
});
