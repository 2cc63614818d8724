import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseGpuCsv } from '../../src/gpu/probe';
import { gpuEnvironment, parseGpuRequest, selectGpus, type GpuRequest } from '../../src/gpu/select';
import { FIXTURES } from './fake-nvidia-smi';

const gpus = (name: string) => parseGpuCsv(readFileSync(join(FIXTURES, name), 'utf8'));
const one = gpus('one-a100-80gb.csv');
const eight = gpus('eight-h100-80gb.csv');
const busy = gpus('busy-four-a100-40gb.csv');

describe('parseGpuRequest', () => {
  it.each<[string, GpuRequest]>([
    ['all', { kind: 'all' }],
    [' ALL ', { kind: 'all' }],
    ['none', { kind: 'none' }],
    ['2', { kind: 'count', count: 2 }],
    ['0,3', { kind: 'ids', ids: ['0', '3'] }],
    ['0, 3', { kind: 'ids', ids: ['0', '3'] }],
    ['3,', { kind: 'ids', ids: ['3'] }],
    ['device=3', { kind: 'ids', ids: ['3'] }],
    ['device=1,2', { kind: 'ids', ids: ['1', '2'] }],
    ['GPU-566bf9d7-c55a-45f8-91a6-e55e9b9b1325', { kind: 'ids', ids: ['GPU-566bf9d7-c55a-45f8-91a6-e55e9b9b1325'] }],
  ])('%j', (raw, expected) => {
    expect(parseGpuRequest('gpus', raw)).toEqual(expected);
  });

  it.each([
    ['0', 'Input "gpus": a count of 0 GPUs: write none to train without GPUs'],
    ['some', 'Input "gpus": "some" is neither a GPU index nor a GPU UUID'],
    ['0,x', 'Input "gpus": "x" is neither a GPU index nor a GPU UUID'],
    ['1,01', 'Input "gpus": GPU "01" is listed twice'],
    [',', 'Input "gpus": expected all, none, a count like 2, or ids like 0,3, got ","'],
    ['-1', 'Input "gpus": "-1" is neither a GPU index nor a GPU UUID'],
  ])('refuses %j', (raw, message) => {
    expect(() => parseGpuRequest('gpus', raw)).toThrow(message);
  });
});

const indices = (selection: { chosen: { index: number }[] }) => selection.chosen.map((gpu) => gpu.index);

describe('selectGpus', () => {
  it.each<[string, GpuRequest, typeof eight, number | undefined, number[]]>([
    ['all of one', { kind: 'all' }, one, undefined, [0]],
    ['all of eight', { kind: 'all' }, eight, undefined, [0, 1, 2, 3, 4, 5, 6, 7]],
    ['a count from eight takes the lowest indices when all are idle', { kind: 'count', count: 4 }, eight, undefined, [0, 1, 2, 3]],
    ['ids in index order', { kind: 'ids', ids: ['7', '2'] }, eight, undefined, [2, 7]],
    ['ids by UUID, in any case', { kind: 'ids', ids: [eight[5]!.uuid.toUpperCase()] }, eight, undefined, [5]],
    ['all on a shared runner takes the GPUs with room', { kind: 'all' }, busy, 20000, [0, 3]],
    ['a count on a shared runner prefers idle GPUs even without min-free-memory', { kind: 'count', count: 2 }, busy, undefined, [0, 3]],
    ['a count of three takes the least loaded busy GPU next', { kind: 'count', count: 3 }, busy, undefined, [0, 2, 3]],
    ['a lower min-free-memory lets a half-busy GPU in', { kind: 'all' }, busy, 16000, [0, 2, 3]],
    ['min-free-memory equal to the free memory qualifies', { kind: 'ids', ids: ['2'] }, busy, 16383, [2]],
    ['none chooses nothing', { kind: 'none' }, busy, undefined, []],
  ])('%s', (_, request, found, minFree, expected) => {
    expect(indices(selectGpus(request, found, minFree))).toEqual(expected);
  });

  it('says why each GPU was left out', () => {
    const { skipped } = selectGpus({ kind: 'all' }, busy, 20000);
    expect(skipped.map(({ gpu, reason }) => [gpu.index, reason])).toEqual([
      [1, 'only 2749 MiB free, below min-free-memory 20000 MiB'],
      [2, 'only 16383 MiB free, below min-free-memory 20000 MiB'],
    ]);
  });

  it.each<[string, GpuRequest, typeof eight, number | undefined, string]>([
    [
      'more than the runner has',
      { kind: 'count', count: 2 },
      one,
      undefined,
      'GPUs: asked for 2 GPUs, but this runner has only 1; found 1 GPU: 0 NVIDIA A100-SXM4-80GB (81920 of 81920 MiB free, 0% busy)',
    ],
    [
      'more than qualify',
      { kind: 'count', count: 3 },
      busy,
      20000,
      'GPUs: asked for 3 GPUs with at least 20000 MiB free, but only 2 qualify; found 4 GPUs: 0 NVIDIA A100-SXM4-40GB (40956 of 40960 MiB free, 0% busy); 1 NVIDIA A100-SXM4-40GB (2749 of 40960 MiB free, 100% busy); 2 NVIDIA A100-SXM4-40GB (16383 of 40960 MiB free, 87% busy); 3 NVIDIA A100-SXM4-40GB (40956 of 40960 MiB free, 0% busy)',
    ],
    ['all, when none qualifies', { kind: 'all' }, one, 90000, 'GPUs: asked for all GPUs with at least 90000 MiB free, but none qualifies; found 1 GPU: 0 NVIDIA A100-SXM4-80GB'],
    ['an index that does not exist', { kind: 'ids', ids: ['0', '8'] }, eight, undefined, 'GPUs: asked for GPUs 0, 8, but this runner has no GPU 8; found 8 GPUs'],
    ['a UUID that does not exist', { kind: 'ids', ids: ['GPU-00000000-0000-0000-0000-000000000000'] }, one, undefined, 'but this runner has no GPU GPU-00000000-0000-0000-0000-000000000000'],
    [
      'a named GPU that is busy',
      { kind: 'ids', ids: ['0', '1'] },
      busy,
      20000,
      'GPUs: asked for GPUs 0, 1 with at least 20000 MiB free, but GPU 1 has only 2749 MiB free, below min-free-memory 20000 MiB; found 4 GPUs',
    ],
    [
      'a GPU whose memory is unknown, with min-free-memory',
      { kind: 'all' },
      parseGpuCsv('0, GPU-0e2c, NVIDIA GB10, [N/A], [N/A], 0'),
      1000,
      'but none qualifies; found 1 GPU: 0 NVIDIA GB10 (memory unknown, 0% busy)',
    ],
  ])('fails clearly: %s', (_, request, found, minFree, message) => {
    expect(() => selectGpus(request, found, minFree)).toThrow(message);
  });
});

describe('gpuEnvironment', () => {
  it('points CUDA at the chosen indices in PCI bus order on the host', () => {
    expect(gpuEnvironment([busy[0]!, busy[3]!], 'host')).toEqual({ CUDA_DEVICE_ORDER: 'PCI_BUS_ID', CUDA_VISIBLE_DEVICES: '0,3' });
    expect(gpuEnvironment([], 'host')).toEqual({ CUDA_DEVICE_ORDER: 'PCI_BUS_ID', CUDA_VISIBLE_DEVICES: '' });
  });

  it('names the chosen GPUs by UUID for a container, and none with void', () => {
    expect(gpuEnvironment([busy[0]!, busy[3]!], 'container')).toEqual({ NVIDIA_VISIBLE_DEVICES: `${busy[0]!.uuid},${busy[3]!.uuid}` });
    // CUDA images set NVIDIA_VISIBLE_DEVICES=all themselves; void overrides that on a runtime that injects GPUs by default.
    expect(gpuEnvironment([], 'container')).toEqual({ NVIDIA_VISIBLE_DEVICES: 'void' });
  });
});
