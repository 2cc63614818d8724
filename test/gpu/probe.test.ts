import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeGpu, freeMemoryMiB, interpretNvidiaSmi, parseGpuCsv, probeGpus, QUERY_ARGS, runNvidiaSmi, type GpuRecord } from '../../src/gpu/probe';
import { FIXTURES, fakeNvidiaSmi, pathWithoutNvidiaSmi } from './fake-nvidia-smi';

const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

describe('parseGpuCsv', () => {
  it('reads one A100', () => {
    expect(parseGpuCsv(fixture('one-a100-80gb.csv'))).toEqual<GpuRecord[]>([
      {
        index: 0,
        uuid: 'GPU-566bf9d7-c55a-45f8-91a6-e55e9b9b1325',
        name: 'NVIDIA A100-SXM4-80GB',
        memoryTotalMiB: 81920,
        memoryUsedMiB: 0,
        utilizationPercent: 0,
      },
    ]);
  });

  it('reads an eight-GPU node in index order', () => {
    const gpus = parseGpuCsv(fixture('eight-h100-80gb.csv'));
    expect(gpus.map((gpu) => gpu.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(new Set(gpus.map((gpu) => gpu.name))).toEqual(new Set(['NVIDIA H100 80GB HBM3']));
    expect(gpus.every((gpu) => gpu.memoryTotalMiB === 81559 && /^GPU-[0-9a-f-]{36}$/.test(gpu.uuid))).toBe(true);
  });

  it('reads busy GPUs and their free memory', () => {
    const gpus = parseGpuCsv(fixture('busy-four-a100-40gb.csv'));
    expect(gpus.map((gpu) => [gpu.index, freeMemoryMiB(gpu), gpu.utilizationPercent])).toEqual([
      [0, 40956, 0],
      [1, 2749, 100],
      [2, 16383, 87],
      [3, 40956, 0],
    ]);
  });

  it.each([
    ['[N/A] memory on a unified-memory part', '0, GPU-0e2c, NVIDIA GB10, [N/A], [N/A], 3', { memoryTotalMiB: null, memoryUsedMiB: null, utilizationPercent: 3 }],
    ['[Not Supported] utilisation', '0, GPU-0e2c, NVIDIA A16, 15356, 0, [Not Supported]', { memoryTotalMiB: 15356, memoryUsedMiB: 0, utilizationPercent: null }],
    ['CRLF line endings', '0, GPU-0e2c, NVIDIA L4, 23034, 0, 0\r\n', { memoryTotalMiB: 23034 }],
    ['a comma in the name', '0, GPU-0e2c, Vendor, Model X, 100, 50, 7', { name: 'Vendor, Model X', memoryTotalMiB: 100, memoryUsedMiB: 50, utilizationPercent: 7 }],
  ])('%s', (_, text, expected) => {
    expect(parseGpuCsv(text)[0]).toMatchObject(expected);
  });

  it.each([
    ['a driver message printed with exit code 0', "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", 'not a GPU row'],
    ['too few fields', '0, GPU-0e2c, NVIDIA L4, 23034', 'not a GPU row'],
    ['units left in', '0, GPU-0e2c, NVIDIA L4, 23034 MiB, 0 MiB, 0 %', 'memory.total is not a number'],
  ])('refuses %s', (_, text, message) => {
    expect(() => parseGpuCsv(text)).toThrow(message);
  });
});

describe('interpretNvidiaSmi', () => {
  it.each([
    [
      'the driver not loaded',
      { exitCode: 9, stdout: fixture('driver-not-loaded.txt'), stderr: '' },
      "nvidia-smi: failed (exit code 9: the NVIDIA driver is not loaded): NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.",
    ],
    ['no devices', { exitCode: 6, stdout: fixture('no-devices.txt'), stderr: '' }, 'nvidia-smi: failed (exit code 6: no GPU was found): No devices were found'],
    [
      'a library/driver version mismatch',
      { exitCode: 18, stdout: fixture('version-mismatch.txt'), stderr: '' },
      'nvidia-smi: failed (exit code 18: the NVIDIA driver and the NVML library versions do not match (reboot after a driver upgrade)): Failed to initialize NVML: Driver/library version mismatch NVML library version: 550.127',
    ],
    ['an unknown code', { exitCode: 42, stdout: '', stderr: 'something odd' }, 'nvidia-smi: failed (exit code 42: exited with code 42): something odd'],
    ['missing', { exitCode: null, stdout: '', stderr: 'spawn nvidia-smi ENOENT', notFound: true }, 'nvidia-smi: is not on PATH: this runner has no NVIDIA driver tools installed'],
    ['hung', { exitCode: null, stdout: '', stderr: '', timedOut: true }, 'nvidia-smi: did not answer in time'],
    ['success with no rows', { exitCode: 0, stdout: '\n', stderr: '' }, 'nvidia-smi: listed no GPUs'],
  ])('%s', (_, result, message) => {
    expect(() => interpretNvidiaSmi(result)).toThrow(message);
  });

  it('returns records on success', () => {
    expect(interpretNvidiaSmi({ exitCode: 0, stdout: fixture('eight-h100-80gb.csv'), stderr: '' })).toHaveLength(8);
  });
});

describe('probeGpus against a stand-in nvidia-smi on PATH', () => {
  it('passes exactly the query arguments and reads the answer', async () => {
    const fake = fakeNvidiaSmi({ fixture: 'busy-four-a100-40gb.csv' });
    const gpus = await probeGpus({ env: { ...process.env, PATH: fake.path } });
    expect(gpus).toHaveLength(4);
    expect(fake.calls()).toEqual([QUERY_ARGS.join(' ')]);
    expect(QUERY_ARGS).toEqual(['--query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu', '--format=csv,noheader,nounits']);
  });

  it('names the driver error', async () => {
    const fake = fakeNvidiaSmi({ fixture: 'driver-not-loaded.txt', exitCode: 9 });
    await expect(probeGpus({ env: { ...process.env, PATH: fake.path } })).rejects.toThrow(/exit code 9: the NVIDIA driver is not loaded\): NVIDIA-SMI has failed/);
  });

  it('says nvidia-smi is missing when it is not on PATH', async () => {
    await expect(probeGpus({ env: { ...process.env, PATH: pathWithoutNvidiaSmi() } })).rejects.toThrow('nvidia-smi: is not on PATH');
  });

  it('kills an nvidia-smi that hangs', async () => {
    const fake = fakeNvidiaSmi({ fixture: 'one-a100-80gb.csv', delaySeconds: 30 });
    const started = Date.now();
    const result = await runNvidiaSmi({ env: { ...process.env, PATH: fake.path }, timeoutMs: 300 });
    expect(result.timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('describeGpu', () => {
  it('says what a GPU has free', () => {
    expect(describeGpu(parseGpuCsv(fixture('busy-four-a100-40gb.csv'))[1]!)).toBe('1 NVIDIA A100-SXM4-40GB (2749 of 40960 MiB free, 100% busy)');
    expect(describeGpu(parseGpuCsv('0, GPU-0e2c, NVIDIA GB10, [N/A], [N/A], [N/A]')[0]!)).toBe('0 NVIDIA GB10 (memory unknown)');
  });
});
