import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkModelFolder, provenanceRecord, writeProvenance } from '../../src/training/artifacts';
import { readRunContext } from '../../src/runtime/context';

const folder = (files: Record<string, string>) => {
  const dir = mkdtempSync(join(tmpdir(), 'tts-model-'));
  for (const [name, content] of Object.entries(files)) {
    // A name ending in / is an empty folder.
    mkdirSync(join(dir, name.endsWith('/') ? name : join(name, '..')), { recursive: true });
    if (!name.endsWith('/')) writeFileSync(join(dir, name), content);
  }
  return dir;
};

describe('checkModelFolder', () => {
  it('counts the files of a model, nested folders included', async () => {
    const check = await checkModelFolder(folder({ 'weights.bin': 'abcd', 'tokenizer/vocab.txt': 'xy' }), 'model');
    expect(check).toMatchObject({ files: 2, bytes: 6 });
    expect(check.newestMs).toBeGreaterThan(Date.now() - 60_000);
  });

  it.each([
    ['a missing folder', undefined, /^Model path "model": does not exist after training/],
    ['an empty folder', {}, /^Model path "model": is empty after training/],
    ['a folder holding only an earlier training.json', { 'training.json': '{}' }, /^Model path "model": is empty after training/],
    ['a folder holding only empty folders', { 'checkpoints/': '', 'logs/tensorboard/': '' }, /^Model path "model": is empty after training/],
  ])('refuses %s', async (_, files, message) => {
    const path = files === undefined ? join(tmpdir(), 'tts-no-such-model-folder') : folder(files);
    await expect(checkModelFolder(path, 'model')).rejects.toThrow(message);
  });

  it('refuses a file: training.json must go into a folder', async () => {
    const dir = folder({ 'model.pt': 'weights' });
    await expect(checkModelFolder(join(dir, 'model.pt'), 'model.pt')).rejects.toThrow(
      'Model path "model.pt": is a file; it must be a folder holding the model, so training.json can be written beside it (save to e.g. model.pt/model.pt with model-path: model.pt)',
    );
  });
});

describe('provenance record', () => {
  it('records the run, the command, the GPUs and the metrics', async () => {
    const context = readRunContext({
      GITHUB_REPOSITORY: 'acme/iris',
      GITHUB_SHA: 'c0ffee'.padEnd(40, '0'),
      GITHUB_REF: 'refs/pull/7/merge',
      GITHUB_RUN_ID: '99',
      GITHUB_RUN_ATTEMPT: '2',
      GITHUB_WORKFLOW: 'train',
      GITHUB_JOB: 'gpu',
    });
    const record = provenanceRecord({
      context,
      command: 'python train.py',
      workingDirectory: '.',
      startedAt: new Date('2026-01-01T00:00:00Z'),
      finishedAt: new Date('2026-01-01T01:02:03.456Z'),
      gpus: [{ index: 0, uuid: 'GPU-1', name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, peakMemoryMiB: 70000, meanUtilizationPercent: 93.4, samples: 744 }],
      metricsFile: 'metrics.json',
      metrics: { accuracy: 0.93 },
      cache: { key: 'k-2', restoredFrom: 'k-1' },
    });
    expect(record).toEqual({
      schema: 'train-to-serve/training/v1',
      repository: 'acme/iris',
      commit: 'c0ffee'.padEnd(40, '0'),
      ref: 'refs/pull/7/merge',
      pullRequest: undefined,
      runUrl: 'https://github.com/acme/iris/actions/runs/99',
      runId: '99',
      runAttempt: '2',
      workflow: 'train',
      job: 'gpu',
      command: 'python train.py',
      containerImage: undefined,
      workingDirectory: '.',
      startedAt: '2026-01-01T00:00:00.000Z',
      finishedAt: '2026-01-01T01:02:03.456Z',
      durationSeconds: 3723.5,
      gpus: [{ index: 0, uuid: 'GPU-1', name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, peakMemoryMiB: 70000, meanUtilizationPercent: 93.4, samples: 744 }],
      metricsFile: 'metrics.json',
      metrics: { accuracy: 0.93 },
      cache: { key: 'k-2', restoredFrom: 'k-1' },
    });
    const dir = folder({ 'w.bin': 'x' });
    const path = await writeProvenance(dir, record);
    expect(path).toBe(join(dir, 'training.json'));
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ commit: record.commit, durationSeconds: 3723.5 });
  });
});
