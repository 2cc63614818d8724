import { describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failureMessage, repoRoot, runAction, startAction, type ActionRunResult } from '../support/action-runner';
import { waitFor } from '../support/ports';
import { parseGpuCsv, QUERY_ARGS } from '../../src/gpu/probe';
import { fakeNvidiaSmi, fixtureFrames, pathWithoutNvidiaSmi, readFixture, RECORDED } from '../gpu/fake-nvidia-smi';
import { isAlive, leakyProcesses, pidsIn } from '../training/process-check';

/**
 * The train bundle started the way the runner starts it, with a real training script (logistic
 * regression by gradient descent, a few seconds of CPU work) and a stand-in nvidia-smi on PATH.
 */

function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tts-train-ws-'));
  copyFileSync(join(repoRoot, 'test/training/scripts/train.mjs'), join(dir, 'train.mjs'));
  return dir;
}

const json = <T = Record<string, unknown>>(path: string) => JSON.parse(readFileSync(path, 'utf8')) as T;
const warnings = (result: ActionRunResult) => result.annotations.filter((a) => a.level === 'warning').map((a) => a.message);

describe('train: a run on a shared GPU runner', () => {
  it('trains on the free GPUs, samples them without overlap, and records outputs, provenance and a summary', async () => {
    // Hand-written (no recording follows a runner over time); its 8th answer has [Unknown Error] in GPU 3's memory cells.
    const fake = fakeNvidiaSmi({ fixture: 'busy-four-a100-40gb-training.series', delaySeconds: 0.05 });
    const ws = workspace();
    // The training lasts until telemetry has sampled past that answer (query, -L, then samples).
    const untilSampled = `until [ "$(grep -vc '^-L$' ${fake.callsFile})" -ge 10 ]; do sleep 0.1; done`;
    const command = `node train.mjs --seconds 2 --env-out env.json\n${untilSampled}`;
    const result = await runAction('train', {
      workspace: ws,
      inputs: { run: command, gpus: '2', 'min-free-memory': '30000', 'telemetry-interval': '0.2' },
      env: { PATH: fake.path },
      event: { name: 'pull_request', payload: { pull_request: { number: 7, head: { sha: 'a'.repeat(40), repo: { full_name: 'acme/iris' } }, base: { repo: { full_name: 'acme/iris' } } } } },
    });
    expect(failureMessage(result), result.log).toBeUndefined();
    expect(result.exitCode).toBe(0);

    // The two idle GPUs, for the training process, in the order nvidia-smi numbers them.
    const seen = json(join(ws, 'env.json'));
    expect(seen).toMatchObject({ CUDA_VISIBLE_DEVICES: '0,3', CUDA_DEVICE_ORDER: 'PCI_BUS_ID', PYTHONUNBUFFERED: '1', inputs: [], cwd: ws });
    expect(result.log).toContain('GPUs: not using 1 NVIDIA A100-SXM4-40GB (2749 of 40960 MiB free, 100% busy): only 2749 MiB free, below min-free-memory 30000 MiB');
    // Output streamed into the step's log as it was printed.
    expect(result.log).toMatch(/trained \d+ epochs: accuracy 0\.9\d\d/);

    expect(result.outputs['model-path']).toBe(join(ws, 'model'));
    expect(result.outputs['metrics-file']).toBe(join(ws, 'metrics.json'));
    const metrics = JSON.parse(result.outputs.metrics!) as Record<string, number>;
    expect(metrics).toEqual(expect.objectContaining({ 'eval.samples': 800 }));
    expect(metrics.accuracy).toBeGreaterThan(0.9);
    expect(Number(result.outputs['duration-seconds'])).toBeGreaterThanOrEqual(2);

    // Telemetry: one nvidia-smi at a time, each sample the next recorded answer.
    expect(fake.overlaps()).toBe(0);
    expect(fake.running()).toEqual([]);
    expect(new Set(fake.calls())).toEqual(new Set([QUERY_ARGS.join(' '), '-L']));
    // The [Unknown Error] cells: a gap in GPU 3's memory series, one warning, and the training passed.
    expect(warnings(result)).toEqual([
      'GPU telemetry: a sample lacked GPU 3 memory.used (nvidia-smi printed [Unknown Error]), memory.free (nvidia-smi printed [Unknown Error]): left as a gap in the series, sampling continues (warned once; the summary counts them)',
    ]);
    expect(result.summary).toContain('_Telemetry: 0 sample(s) failed and 1 lacked a reading;');
    const summary = JSON.parse(result.outputs['gpu-summary']!) as { index: number; uuid: string; peakMemoryMiB: number; meanUtilizationPercent: number; samples: number }[];
    expect(summary.map((gpu) => gpu.index)).toEqual([0, 3]);
    const frames = fixtureFrames('busy-four-a100-40gb-training.series').map((frame) => parseGpuCsv(frame));
    for (const gpu of summary) {
      expect(gpu.samples).toBeGreaterThanOrEqual(8);
      const rows = frames.slice(1, gpu.samples + 1).map((frame) => frame.find((row) => row.uuid === gpu.uuid)!);
      expect(gpu.peakMemoryMiB).toBe(Math.max(...rows.map((row) => row.memoryUsedMiB ?? -1)));
      expect(gpu.meanUtilizationPercent).toBe(Math.round((rows.reduce((sum, row) => sum + row.utilizationPercent!, 0) / rows.length) * 10) / 10);
    }

    const record = json<{ durationSeconds: number; finishedAt: string; startedAt: string }>(join(ws, 'model/training.json'));
    expect(record).toMatchObject({
      schema: 'train-to-serve/training/v1',
      repository: 'acme/iris',
      commit: '0123456789abcdef0123456789abcdef01234567',
      ref: 'refs/heads/main',
      pullRequest: { number: 7, headSha: 'a'.repeat(40) },
      runUrl: 'https://github.com/acme/iris/actions/runs/4242',
      command,
      workingDirectory: '.',
      metricsFile: 'metrics.json',
      metrics,
      gpus: summary.map((gpu): unknown => expect.objectContaining({ uuid: gpu.uuid, name: 'NVIDIA A100-SXM4-40GB', memoryTotalMiB: 40960, peakMemoryMiB: gpu.peakMemoryMiB })),
    });
    expect(record.durationSeconds).toBe(Number(result.outputs['duration-seconds']));
    expect(Date.parse(record.finishedAt) - Date.parse(record.startedAt)).toBeGreaterThanOrEqual(2000);

    expect(result.summary).toContain('## ✅ Training finished');
    expect(result.summary).toContain(`| 3 | NVIDIA A100-SXM4-40GB | \`${summary[1]!.uuid}\` |`);
    expect(result.summary).toMatch(/```mermaid\nxychart-beta\n {2}title "GPU utilisation \(%\)"/);
    expect(result.summary).toContain('| accuracy |');
    expect(result.summary).toContain('provenance in `model/training.json`');
  });

  it('warns when a GPU that was working sits at 0% for a long stretch', async () => {
    const fake = fakeNvidiaSmi({ fixture: 'stalled-two-h100-pcie.series', delaySeconds: 0.02 });
    const ws = workspace();
    // Trains until telemetry has processed two working answers (the 4th and 5th) and the 20 idle ones after them.
    const untilStalled = `until [ "$(grep -vc '^-L$' ${fake.callsFile})" -ge 27 ]; do sleep 0.1; done`;
    const result = await runAction('train', {
      workspace: ws,
      inputs: { run: `node train.mjs --seconds 0.5\n${untilStalled}`, 'telemetry-interval': '0.1' },
      env: { PATH: fake.path },
    });
    expect(result.exitCode, result.log).toBe(0);
    const stalls = warnings(result).filter((w) => w.includes('0% utilisation'));
    expect(stalls.map((w) => w.slice(0, 'GPU 0 (NVIDIA H100 PCIe) has been at 0% utilisation'.length)).sort()).toEqual(['GPU 0 (NVIDIA H100 PCIe) has been at 0% utilisation', 'GPU 1 (NVIDIA H100 PCIe) has been at 0% utilisation']);
    expect(stalls[0]).toContain('training may be stalled');
    expect(result.summary).toContain('> ⚠️ GPU 0 was idle (0%) for 20 samples');
  });
});

/** What recordings.test.ts checks each recording gives: the exact failure message, with its exit code. */
const recorded = (file: string) => JSON.parse(readFileSync(join(RECORDED, `${file}.expected.json`), 'utf8')) as { exitCode: number; stream?: 'stdout' | 'stderr'; asTrainAnswer: string };

describe('train: GPU checks fail before training starts', () => {
  it.each([
    ['fewer GPUs than asked', { fixture: 'h200-590.48.01-query-gpu-csv-allfields-load.txt' }, { gpus: '2' }, 'GPUs: asked for 2 GPUs, but this runner has only 1; found 1 GPU: 0 NVIDIA H200 (110796 of 143771 MiB free, 100% busy)'],
    [
      'every GPU busy (hand-written: a shared four-GPU runner)',
      { fixture: 'busy-four-a100-40gb-training.series' },
      { 'min-free-memory': '50000' },
      'GPUs: asked for all GPUs with at least 50000 MiB free, but none qualifies; found 4 GPUs: 0 NVIDIA A100-SXM4-40GB (40956 of 40960 MiB free, 0% busy); 1 NVIDIA A100-SXM4-40GB (2749 of 40960 MiB free, 100% busy)',
    ],
    [
      'a GPU id the runner does not have',
      { fixture: 'l40s-595.80-query-gpu-csv-allfields-load.txt' },
      { gpus: '0,3' },
      'GPUs: asked for GPUs 0, 3, but this runner has no GPU 3; found 1 GPU: 0 NVIDIA L40S (44225 of 46068 MiB free, 9% busy)',
    ],
  ])('%s', async (_, fakeOptions, inputs, message) => {
    const fake = fakeNvidiaSmi(fakeOptions);
    const ws = workspace();
    const result = await runAction('train', { workspace: ws, inputs: { run: 'node train.mjs --seconds 0.2 --env-out env.json', ...inputs }, env: { PATH: fake.path } });
    expect(result.exitCode).toBe(1);
    expect(failureMessage(result)).toContain(message);
    expect(existsSync(join(ws, 'env.json'))).toBe(false);
    expect(fake.calls()).toEqual([QUERY_ARGS.join(' '), '-L']);
  });

  // Recorded driver failures replayed as nvidia-smi's answer: the step fails on the first call with
  // the driver's words, the exit code and what to do; nothing waits, retries or trains.
  it.each([
    ['the driver not loaded', 'error-driver-not-communicating.txt', 'Driver not loaded: the NVIDIA kernel module is not loaded'],
    ['a driver upgraded under the runner (NVML 535.161, exit 18)', 'error-nvml-version-mismatch-535.161-exit18.txt', 'reboot the runner'],
    ['a driver upgraded under the runner (older message without the version line)', 'error-nvml-version-mismatch-460-era-no-version-line.txt', 'reboot the runner'],
    ['a GPU fallen off the bus', 'error-device-handle-gpu-is-lost-linux.txt', 'take this runner out of rotation (drain the node), then reset the GPU (nvidia-smi -r -i 0000:02:00.0)'],
    ['a GPU that stopped answering (Unknown Error)', 'error-device-handle-unknown-error-2024-tesla-p4.txt', 'GPU lost: the GPU at 0000:07:00.0'],
    ['NVML failing on stdout with stderr empty (exit 255)', 'error-nvml-unknown-error-exit255.txt', 'NVML failed to start'],
    ['no GPU found', 'error-no-devices-were-found-rtx-5090.txt', 'No GPU found'],
    ['insufficient permissions', 'error-nvlink-insufficient-permissions-v100.txt', "Permissions: the runner's user may not query the GPUs"],
  ])('%s', async (_, file, hint) => {
    const expected = recorded(file);
    const fake = fakeNvidiaSmi({ fixture: file, exitCode: expected.exitCode, stream: expected.stream });
    const ws = workspace();
    const result = await runAction('train', { workspace: ws, inputs: { run: 'node train.mjs --seconds 0.2 --env-out env.json' }, env: { PATH: fake.path } });
    expect(result.exitCode).toBe(1);
    expect(failureMessage(result)).toBe(expected.asTrainAnswer);
    expect(failureMessage(result)).toContain(`exited with code ${expected.exitCode}, saying "${readFixture(file).replace(/\s+/g, ' ').trim()}"`);
    expect(failureMessage(result)).toContain(hint);
    expect(existsSync(join(ws, 'env.json'))).toBe(false);
    expect(fake.calls()).toEqual([QUERY_ARGS.join(' ')]);
  });

  it('gpus: all (the default) on a runner without nvidia-smi fails and says so', async () => {
    const ws = workspace();
    const result = await runAction('train', { workspace: ws, inputs: { run: 'node train.mjs --seconds 0.2 --env-out env.json' }, env: { PATH: pathWithoutNvidiaSmi() } });
    expect(result.exitCode).toBe(1);
    expect(failureMessage(result)).toBe('nvidia-smi: is not on PATH: this runner has no NVIDIA driver tools installed');
    expect(existsSync(join(ws, 'env.json'))).toBe(false);
  });

  it('gpus: none never runs nvidia-smi and hides the GPUs from the training', async () => {
    const fake = fakeNvidiaSmi({ fixture: 'h200-590.48.01-query-gpu-csv-allfields-load.txt' });
    const ws = workspace();
    mkdirSync(join(ws, 'sub'));
    copyFileSync(join(ws, 'train.mjs'), join(ws, 'sub/train.mjs'));
    const result = await runAction('train', {
      workspace: ws,
      inputs: { run: 'node train.mjs --seconds 0.3 --env-out env.json', gpus: 'none', 'working-directory': 'sub' },
      env: { PATH: fake.path },
    });
    expect(result.exitCode, result.log).toBe(0);
    expect(fake.calls()).toEqual([]);
    expect(json(join(ws, 'sub/env.json'))).toMatchObject({ CUDA_VISIBLE_DEVICES: '', cwd: join(ws, 'sub') });
    expect(result.outputs['model-path']).toBe(join(ws, 'sub/model'));
    expect(JSON.parse(result.outputs['gpu-summary']!)).toEqual([]);
    expect(json(join(ws, 'sub/model/training.json'))).toMatchObject({ workingDirectory: 'sub', metricsFile: 'sub/metrics.json', gpus: [] });
    expect(result.summary).toContain('- **GPUs** none (`gpus: none`)');
  });
});

describe('train: a runner with MIG on (recorded H100 80GB HBM3, driver 590.48.01, four instances)', () => {
  const mig = { fixture: 'h100-80gb-hbm3-mig-enabled-590.48.01-query-gpu-csv-allfields-load.txt', list: { fixture: 'h100-80gb-hbm3-mig-4inst-590.48.01-list-gpus.txt' } };
  const instance = 'MIG-00000002-0000-0000-0000-000000000002';

  it('gpus: all (the default) means whole GPUs: the step names MIG and the instances to pick from', async () => {
    const fake = fakeNvidiaSmi(mig);
    const ws = workspace();
    const result = await runAction('train', { workspace: ws, inputs: { run: 'node train.mjs --seconds 0.2 --env-out env.json' }, env: { PATH: fake.path } });
    expect(result.exitCode).toBe(1);
    expect(failureMessage(result)).toBe(
      'GPUs: asked for all GPUs, but none qualifies; found 1 GPU: 0 NVIDIA H100 80GB HBM3 (69956 of 81559 MiB free, utilisation unknown ([N/A]), MIG on: 4 instances); MIG is on for GPU 0: name instances by UUID: MIG-00000000-0000-0000-0000-000000000000 (3g.40gb), MIG-00000001-0000-0000-0000-000000000001 (2g.20gb), MIG-00000002-0000-0000-0000-000000000002 (1g.10gb), MIG-00000003-0000-0000-0000-000000000003 (1g.10gb)',
    );
    expect(result.log).toContain('GPUs: 0 NVIDIA H100 80GB HBM3 has MIG on, with 4 instances: MIG-00000000-0000-0000-0000-000000000000 (3g.40gb),');
    expect(existsSync(join(ws, 'env.json'))).toBe(false);
    expect(fake.calls()).toEqual([QUERY_ARGS.join(' '), '-L']);
  });

  it('gpus: a MIG- UUID trains on that instance, which CUDA_VISIBLE_DEVICES gets by UUID', async () => {
    const fake = fakeNvidiaSmi(mig);
    const ws = workspace();
    const result = await runAction('train', {
      workspace: ws,
      inputs: { run: 'node train.mjs --seconds 0.5 --env-out env.json', gpus: instance, 'telemetry-interval': '0.1' },
      env: { PATH: fake.path },
    });
    expect(result.exitCode, result.log).toBe(0);
    expect(json(join(ws, 'env.json'))).toMatchObject({ CUDA_VISIBLE_DEVICES: instance });
    expect(result.log).toContain(`GPUs: using 0 NVIDIA H100 80GB HBM3 MIG 1g.10gb (${instance})`);
    expect(result.log).toContain('In gpus, all, a count, an index or a GPU- UUID mean whole GPUs; a MIG instance is used only when named by its MIG- UUID');
    expect(result.log).toContain('GPU telemetry: MIG instances are not sampled');
    // Nothing sampled: nvidia-smi reports memory and utilisation per GPU, never per instance.
    expect(fake.calls()).toEqual([QUERY_ARGS.join(' '), '-L']);
    expect(JSON.parse(result.outputs['gpu-summary']!)).toEqual([{ index: 0, uuid: instance, name: 'NVIDIA H100 80GB HBM3 MIG 1g.10gb', memoryTotalMiB: null, peakMemoryMiB: null, meanUtilizationPercent: null, samples: 0 }]);
    expect(result.summary).toContain(`- **GPUs** 1 of 1: 0 (MIG 1g.10gb \`${instance}\`)`);
    expect(result.summary).toContain('- **MIG** on for GPU 0 (4 instances)');
  });
});

describe('train: a driver that breaks during training', () => {
  it('keeps training when telemetry samples start failing (the GPU fell off the bus): gaps, one warning, a passed step', async () => {
    const fake = fakeNvidiaSmi({
      fixture: 'h200-590.48.01-query-gpu-csv-allfields-load.txt',
      later: { fixture: 'error-device-handle-gpu-is-lost-linux.txt', exitCode: 15, fromCall: 4 },
      delaySeconds: 0.02,
    });
    const ws = workspace();
    const untilFailing = `until [ "$(grep -vc '^-L$' ${fake.callsFile})" -ge 7 ]; do sleep 0.1; done`;
    const result = await runAction('train', {
      workspace: ws,
      inputs: { run: `node train.mjs --seconds 0.2\n${untilFailing}`, 'telemetry-interval': '0.1' },
      env: { PATH: fake.path },
    });
    expect(result.exitCode, result.log).toBe(0);
    expect(warnings(result)).toEqual([`GPU telemetry: a sample failed, sampling continues and the series has a gap: ${recorded('error-device-handle-gpu-is-lost-linux.txt').asTrainAnswer} (warned once; the summary counts them)`]);
    const [gpu] = JSON.parse(result.outputs['gpu-summary']!) as { samples: number; peakMemoryMiB: number; meanUtilizationPercent: number }[];
    // The samples before the GPU was lost; the lost ones are gaps, not zeros.
    expect(gpu).toMatchObject({ samples: 2, peakMemoryMiB: 32362, meanUtilizationPercent: 100 });
    expect(result.summary).toMatch(/_Telemetry: [3-9]\d* sample\(s\) failed and 0 lacked a reading;/);
  });
});

describe('train: the env input', () => {
  it('reaches the command, and its values are masked before anything prints them', async () => {
    const ws = workspace();
    const secret = 'wandb-key-0123456789abcdef';
    const result = await runAction('train', {
      workspace: ws,
      inputs: { run: 'node train.mjs --seconds 0.2 --env-out env.json && echo "key is $WANDB_API_KEY"', gpus: 'none', env: `WANDB_API_KEY=${secret}\nWANDB_PROJECT=iris` },
    });
    expect(result.exitCode, result.log).toBe(0);
    expect(json(join(ws, 'env.json'))).toMatchObject({ WANDB_API_KEY: secret, WANDB_PROJECT: 'iris' });
    expect(result.masked).toContain(secret);
    // The runner replaces masked values in what the command prints; the action itself never prints them.
    expect(result.log.split('\n').filter((line) => line.includes(secret) && !line.startsWith('key is'))).toEqual([]);
    expect(result.summary).not.toContain(secret);
    expect(readFileSync(join(ws, 'model/training.json'), 'utf8')).not.toContain(secret);
  });
});

describe('train: which env values are masked (issue 10, defect 9)', () => {
  it('masks values that could be secrets, never short ones like 1, which would hide every 1 in the log', async () => {
    const ws = workspace();
    const result = await runAction('train', {
      workspace: ws,
      inputs: { run: 'node train.mjs --seconds 0.2', gpus: 'none', env: 'EPOCHS=1\nSEED=42\nLR=0.0001\nDEBUG=true\nMODE=fast\nWANDB_API_KEY=wandb-key-abcdef0123456789' },
    });
    expect(result.exitCode, result.log).toBe(0);
    expect(result.masked.sort()).toEqual(['fast', 'wandb-key-abcdef0123456789']);
  });
});

describe('train: limits and cancellation leave no process behind', () => {
  it('kills the training and everything it started at the timeout', async () => {
    const ws = workspace();
    const pidFile = join(ws, 'pids');
    const started = Date.now();
    const result = await runAction('train', {
      workspace: ws,
      inputs: { run: `${leakyProcesses(pidFile)}\nnode train.mjs --seconds 1000`, gpus: 'none', 'timeout-minutes': '0.05' },
    });
    expect(result.exitCode).toBe(1);
    expect(failureMessage(result)).toMatch(/^Training exceeded timeout-minutes \(3s\): stopped the training command and the \d+ processes it ran after \d+s \(SIGTERM, then SIGKILL after 10s\)$/);
    const pids = pidsIn(pidFile);
    expect(pids).toHaveLength(7);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.summary).toContain('## ❌ Training failed');
  });

  it('forwards cancellation: SIGTERM to the action stops the training group, SIGKILL after the grace period, and the step fails', async () => {
    const fake = fakeNvidiaSmi({ fixture: 'h200-590.48.01-query-gpu-csv-allfields-load.txt', delaySeconds: 0.1 });
    const ws = workspace();
    const pidFile = join(ws, 'pids');
    const { child, result } = startAction('train', {
      workspace: ws,
      inputs: { run: `${leakyProcesses(pidFile, { ignoreTerm: true })}\nnode train.mjs --seconds 1000`, 'telemetry-interval': '0.1' },
      env: { PATH: fake.path },
    });
    await waitFor('the training to start its processes', async () => pidsIn(pidFile).length === 7 && fake.calls().length >= 3, 20_000);
    const cancelledAt = Date.now();
    child.kill('SIGTERM');
    const run = await result;
    const took = Date.now() - cancelledAt;
    expect(run.exitCode).toBe(1);
    expect(run.log).toContain('Received SIGTERM: stopping the training');
    expect(failureMessage(run)).toMatch(/^Training was cancelled \(SIGTERM received\): stopped the training command and the \d+ processes it ran after \d+s$/);
    // They ignored SIGTERM: SIGKILL came after the 5 s grace, well before the runner's own SIGKILL.
    expect(took).toBeGreaterThanOrEqual(5_000);
    expect(took).toBeLessThan(9_500);
    expect(pidsIn(pidFile).filter(isAlive)).toEqual([]);
    expect(fake.running()).toEqual([]);
    expect(fake.overlaps()).toBe(0);
    expect(run.summary).toContain('## ❌ Training failed');
    expect(run.summary).toContain('| 0 | NVIDIA H200 |');
  });

  it('stops processes a successful training left running, with a warning', async () => {
    const ws = workspace();
    const result = await runAction('train', {
      workspace: ws,
      inputs: { run: 'sleep 1000 &\necho $! > bg.pid\nnode train.mjs --seconds 0.2', gpus: 'none' },
    });
    expect(result.exitCode, result.log).toBe(0);
    expect(warnings(result)).toEqual([expect.stringMatching(/^The training command exited but left 1 process running \(\d+ sleep\); they were stopped$/)]);
    expect(isAlive(pidsIn(join(ws, 'bg.pid'))[0]!)).toBe(false);
  });
});

describe('train: what the training leaves behind is checked', () => {
  it.each([
    ['a failing command', 'node train.mjs --seconds 0.2\nexit 3', /^Training command failed with exit code 3 after \d+ms|^Training command failed with exit code 3 after \ds$/],
    ['no model', 'node train.mjs --seconds 0.2 --model elsewhere', /^Model path "model": does not exist after training \(.*\/model\): the training command succeeded but wrote no model there$/],
    ['an empty model folder', 'node train.mjs --seconds 0.2 --model elsewhere && mkdir model', /^Model path "model": is empty after training/],
    ['a model file instead of a folder', 'node train.mjs --seconds 0.2 --model elsewhere && echo weights > model', /^Model path "model": is a file; it must be a folder holding the model/],
    ['no metrics', 'node train.mjs --seconds 0.2 --metrics other.json', /^Metrics file ".*\/metrics\.json": does not exist$/],
    ['broken metrics', 'node train.mjs --seconds 0.2 && echo \'{"accuracy": NaN}\' > metrics.json', /^Metrics file ".*\/metrics\.json": metric "accuracy" is not a finite number \(NaN\)$/],
  ])('%s fails clearly', async (_, run, message) => {
    const ws = workspace();
    const result = await runAction('train', { workspace: ws, inputs: { run, gpus: 'none' } });
    expect(result.exitCode).toBe(1);
    expect(failureMessage(result)).toMatch(message);
    expect(existsSync(join(ws, 'model/training.json'))).toBe(false);
    expect(result.summary).toContain('## ❌ Training failed');
  });

  it('warns about a model folder nothing in this run wrote', async () => {
    const ws = workspace();
    const result = await runAction('train', { workspace: ws, inputs: { run: 'node train.mjs --seconds 0.2 && touch -d 2020-01-01 model/weights.json', gpus: 'none' } });
    expect(result.exitCode, result.log).toBe(0);
    expect(warnings(result)).toEqual([expect.stringContaining('Nothing in model path "model" was written by this run (newest file from 2020-01-01')]);
  });
});

describe('train: cache', () => {
  it('a runner without the cache service: warnings, and the training still runs and passes', async () => {
    const ws = workspace();
    const result = await runAction('train', {
      workspace: ws,
      inputs: { run: 'mkdir -p data && echo tokens > data/t && node train.mjs --seconds 0.2', gpus: 'none', 'cache-path': 'data', 'cache-key': 'tok-linux-abc' },
      env: { ACTIONS_CACHE_URL: undefined, ACTIONS_RESULTS_URL: undefined },
    });
    expect(result.exitCode, result.log).toBe(0);
    expect(warnings(result)).toEqual([
      'Cache not restored: the GitHub Actions cache service is not available to this step (neither ACTIONS_CACHE_URL nor ACTIONS_RESULTS_URL is set). Training starts without data.',
      'Cache not saved: the GitHub Actions cache service is not available to this step (neither ACTIONS_CACHE_URL nor ACTIONS_RESULTS_URL is set).',
    ]);
    expect(json(join(ws, 'model/training.json')).cache).toEqual({ key: 'tok-linux-abc' });
    expect(result.summary).toContain('- **Cache** `data`: not restored:');
  });
});

describe('train: bad inputs name the input and run nothing', () => {
  it.each([
    [{ run: '' }, 'Input "run": is required: the shell command that trains the model'],
    [{ gpus: 'two' }, 'Input "gpus": "two" is neither a GPU index nor a GPU UUID'],
    [{ 'timeout-minutes': '0' }, 'Input "timeout-minutes": must be greater than zero, got 0'],
    [{ env: 'WANDB_API_KEY' }, 'Input "env": line 1: expected KEY=VALUE'],
    [{ 'telemetry-interval': '0.01' }, 'Input "telemetry-interval": must be 0 (off) or at least 0.1 seconds, got 0.01'],
    [{ 'working-directory': 'nowhere' }, 'Input "working-directory": "'],
    [{ 'container-image': 'localhost/x:1', 'working-directory': '..' }, 'Input "working-directory": must be inside the workspace'],
    [{ 'container-image': 'localhost/x:1', 'model-path': '/srv/models/iris' }, 'Input "model-path": must be inside the workspace'],
    [{ 'container-image': 'ghcr.io/Acme/Trainer:1' }, 'Input "container-image": "ghcr.io/Acme/Trainer:1" is not a valid image reference: repository names must be lower-case'],
  ])('%j', async (inputs, message) => {
    const ws = workspace();
    const result = await runAction('train', { workspace: ws, inputs: { run: 'node train.mjs --seconds 0.2 --env-out env.json', gpus: 'none', ...inputs } });
    expect(result.exitCode).toBe(1);
    expect(failureMessage(result)).toContain(message);
    expect(existsSync(join(ws, 'env.json'))).toBe(false);
  });
});
