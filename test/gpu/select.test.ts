import { describe, expect, it } from 'vitest';
import { parseGpuList } from '../../src/gpu/mig';
import { parseGpuCsv, withMigInstances, type GpuRecord } from '../../src/gpu/probe';
import { gpuEnvironment, parseGpuRequest, selectGpus, type GpuRequest } from '../../src/gpu/select';
import { readFixture } from './fake-nvidia-smi';

/** Recordings (test/fixtures/nvidia-smi-public). */
// A shared 8-GPU box: GPU 0 idle with 802 MiB used, the others 60–86% busy with 6.4–10 GB used.
const TITAN_FIELDS = ['index', 'uuid', 'name', 'temperature.gpu', 'utilization.gpu', 'memory.used', 'memory.total'];
const eight = parseGpuCsv(readFixture('gtx-titan-x-x8-query-gpu-csv-noheader-nounits.txt'), TITAN_FIELDS);
const one = parseGpuCsv(readFixture('h200-590.48.01-query-gpu-csv-allfields-load.txt'));
const h100Mig = withMigInstances(parseGpuCsv(readFixture('h100-80gb-hbm3-mig-enabled-590.48.01-query-gpu-csv-allfields-load.txt')), {
  exitCode: 0,
  stdout: readFixture('h100-80gb-hbm3-mig-4inst-590.48.01-list-gpus.txt'),
  stderr: '',
});
// Four A100s, MIG on GPU 0 only, as nvidia-smi -L lists them (that recording has no query answer beside it).
const a100 = parseGpuList(readFixture('a100-sxm4-80gb-x4-mig-on-gpu0-535.54.03-list-gpus.txt')).map((gpu): GpuRecord => ({
  index: gpu.index,
  uuid: gpu.uuid,
  name: gpu.name,
  memoryTotalMiB: 81920,
  memoryUsedMiB: 4,
  memoryFreeMiB: 81916,
  utilizationPercent: gpu.mig.length ? null : 0,
  unknown: gpu.mig.length ? { 'utilization.gpu': '[N/A]' } : {},
  ...(gpu.mig.length ? { mig: gpu.mig } : {}),
}));

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
  it.each<[string, GpuRequest, GpuRecord[], number | undefined, number[]]>([
    ['all of one', { kind: 'all' }, one, undefined, [0]],
    ['all of eight', { kind: 'all' }, eight, undefined, [0, 1, 2, 3, 4, 5, 6, 7]],
    ['a count takes the least memory in use first', { kind: 'count', count: 2 }, eight, undefined, [0, 5]],
    ['equal memory in use: the less busy first', { kind: 'count', count: 3 }, eight, undefined, [0, 3, 5]],
    ['ids in index order', { kind: 'ids', ids: ['7', '2'] }, eight, undefined, [2, 7]],
    ['ids by UUID, in any case', { kind: 'ids', ids: [eight[5]!.uuid.toUpperCase()] }, eight, undefined, [5]],
    ['all with min-free-memory takes the GPUs with room', { kind: 'all' }, eight, 5760, [0, 2, 3, 5, 7]],
    ['min-free-memory equal to the free memory qualifies', { kind: 'ids', ids: ['5'] }, eight, 5766, [5]],
    ['none chooses nothing', { kind: 'none' }, eight, undefined, []],
    ['a count on a runner with MIG on one GPU takes whole GPUs', { kind: 'count', count: 2 }, a100, undefined, [1, 2]],
  ])('%s', (_, request, found, minFree, expected) => {
    expect(indices(selectGpus(request, found, minFree))).toEqual(expected);
  });

  it('says why each GPU was left out', () => {
    const { skipped } = selectGpus({ kind: 'all' }, eight, 5760);
    expect(skipped.map(({ gpu, reason }) => [gpu.index, reason])).toEqual([
      [1, 'only 2174 MiB free, below min-free-memory 5760 MiB'],
      [4, 'only 5747 MiB free, below min-free-memory 5760 MiB'],
      [6, 'only 5755 MiB free, below min-free-memory 5760 MiB'],
    ]);
  });

  describe('unknown values are treated conservatively', () => {
    // GPU 0 of the eight, with the reading nvidia-smi could not give replaced by what it prints then.
    const unknownUtil: GpuRecord = { ...eight[0]!, utilizationPercent: null, unknown: { 'utilization.gpu': '[N/A]' } };
    const unknownMemory: GpuRecord = { ...eight[0]!, memoryUsedMiB: null, memoryFreeMiB: null, unknown: { 'memory.used': '[Unknown Error]' } };

    it('unknown utilisation ranks as fully busy', () => {
      const gpus = [{ ...eight[3]!, memoryUsedMiB: 802 }, unknownUtil, ...eight.slice(1, 3)];
      expect(indices(selectGpus({ kind: 'count', count: 1 }, gpus))).toEqual([3]);
    });

    it('unknown memory in use ranks after every known one', () => {
      expect(indices(selectGpus({ kind: 'count', count: 1 }, [unknownMemory, eight[1]!]))).toEqual([1]);
    });

    it('unknown free memory never meets min-free-memory, and the reason says what nvidia-smi printed', () => {
      expect(() => selectGpus({ kind: 'ids', ids: ['0'] }, [unknownMemory], 1)).toThrow('but GPU 0 has unknown free memory (nvidia-smi printed memory.used [Unknown Error]), so it cannot be shown to have min-free-memory 1 MiB');
    });

    it('without min-free-memory, all still takes a GPU whose values are unknown', () => {
      expect(indices(selectGpus({ kind: 'all' }, [unknownMemory]))).toEqual([0]);
    });
  });

  it.each<[string, GpuRequest, GpuRecord[], number | undefined, string]>([
    ['more than the runner has', { kind: 'count', count: 2 }, one, undefined, 'GPUs: asked for 2 GPUs, but this runner has only 1; found 1 GPU: 0 NVIDIA H200 (110796 of 143771 MiB free, 100% busy)'],
    ['more than qualify', { kind: 'count', count: 2 }, eight, 6000, 'GPUs: asked for 2 GPUs with at least 6000 MiB free, but only 1 qualifies; found 8 GPUs: 0 GeForce GTX TITAN X (11404 of 12206 MiB free, 0% busy); 1 GeForce GTX TITAN X'],
    ['all, when none qualifies', { kind: 'all' }, one, 200000, 'GPUs: asked for all GPUs with at least 200000 MiB free, but none qualifies; found 1 GPU: 0 NVIDIA H200'],
    ['an index that does not exist', { kind: 'ids', ids: ['0', '8'] }, eight, undefined, 'GPUs: asked for GPUs 0, 8, but this runner has no GPU 8; found 8 GPUs'],
    ['a UUID that does not exist', { kind: 'ids', ids: ['GPU-00000000-0000-0000-0000-000000000001'] }, one, undefined, 'but this runner has no GPU GPU-00000000-0000-0000-0000-000000000001'],
    ['a named GPU that is busy', { kind: 'ids', ids: ['0', '1'] }, eight, 5000, 'GPUs: asked for GPUs 0, 1 with at least 5000 MiB free, but GPU 1 has only 2174 MiB free, below min-free-memory 5000 MiB; found 8 GPUs'],
  ])('fails clearly: %s', (_, request, found, minFree, message) => {
    expect(() => selectGpus(request, found, minFree)).toThrow(message);
  });
});

describe('selectGpus on MIG', () => {
  const instance = 'MIG-00000002-0000-0000-0000-000000000002';

  it('all means whole GPUs: a GPU with MIG on is not one, and the message names its instances', () => {
    expect(() => selectGpus({ kind: 'all' }, h100Mig)).toThrow(
      'GPUs: asked for all GPUs, but none qualifies; found 1 GPU: 0 NVIDIA H100 80GB HBM3 (69956 of 81559 MiB free, utilisation unknown ([N/A]), MIG on: 4 instances); MIG is on for GPU 0: name instances by UUID: MIG-00000000-0000-0000-0000-000000000000 (3g.40gb), MIG-00000001-0000-0000-0000-000000000001 (2g.20gb), MIG-00000002-0000-0000-0000-000000000002 (1g.10gb), MIG-00000003-0000-0000-0000-000000000003 (1g.10gb)',
    );
  });

  it('an index of a GPU with MIG on is refused with its instances', () => {
    expect(() => selectGpus({ kind: 'ids', ids: ['0'] }, h100Mig)).toThrow('but GPU 0: MIG is on, so CUDA cannot use it whole; name one of its instances in gpus instead: MIG-00000000-0000-0000-0000-000000000000 (3g.40gb)');
  });

  it('a MIG- UUID picks that instance, which CUDA and the container runtime get by UUID', () => {
    const { chosen, skipped } = selectGpus({ kind: 'ids', ids: [instance] }, h100Mig);
    expect(chosen).toEqual([expect.objectContaining({ index: 0, uuid: instance, name: 'NVIDIA H100 80GB HBM3 MIG 1g.10gb', instanceOf: { uuid: h100Mig[0]!.uuid, profile: '1g.10gb' } })]);
    expect(skipped).toEqual([]);
    expect(gpuEnvironment(chosen, 'host')).toEqual({ CUDA_DEVICE_ORDER: 'PCI_BUS_ID', CUDA_VISIBLE_DEVICES: instance });
    expect(gpuEnvironment(chosen, 'container')).toEqual({ NVIDIA_VISIBLE_DEVICES: instance });
  });

  it('an instance has no free memory of its own in nvidia-smi, so min-free-memory refuses it', () => {
    expect(() => selectGpus({ kind: 'ids', ids: [instance] }, h100Mig, 1000)).toThrow('unknown free memory (nvidia-smi reports memory per GPU, not per MIG instance; leave min-free-memory unset to use MIG instances)');
  });

  it('mixing an instance and a whole GPU names both by UUID', () => {
    const { chosen } = selectGpus({ kind: 'ids', ids: ['3', 'MIG-ce861fb0-a248-58ce-a9a8-f9adbc22a66a'] }, a100);
    expect(gpuEnvironment(chosen, 'host').CUDA_VISIBLE_DEVICES).toBe('MIG-ce861fb0-a248-58ce-a9a8-f9adbc22a66a,GPU-69ec2344-ebac-b028-f88f-452abb3d7f11');
  });

  it('lists a few instances and counts the rest on a big MIG node', () => {
    const list = parseGpuList(readFixture('h100-80gb-hbm3-x8-mig-7x1g.10gb-list-gpus.txt'));
    const gpus = list.map((gpu): GpuRecord => ({ ...a100[1]!, index: gpu.index, uuid: gpu.uuid, name: gpu.name, mig: gpu.mig }));
    expect(() => selectGpus({ kind: 'count', count: 1 }, gpus)).toThrow(/but only 0 qualify; .*MIG-4d0efb7d-0970-51d9-b761-0686be6b8af3 \(1g\.10gb\), .* and 48 more \(nvidia-smi -L lists them\)$/);
  });
});

describe('gpuEnvironment', () => {
  it('points CUDA at the chosen indices in PCI bus order on the host', () => {
    expect(gpuEnvironment([eight[0]!, eight[3]!], 'host')).toEqual({ CUDA_DEVICE_ORDER: 'PCI_BUS_ID', CUDA_VISIBLE_DEVICES: '0,3' });
    expect(gpuEnvironment([], 'host')).toEqual({ CUDA_DEVICE_ORDER: 'PCI_BUS_ID', CUDA_VISIBLE_DEVICES: '' });
  });

  it('names the chosen GPUs by UUID for a container, and none with void', () => {
    expect(gpuEnvironment([eight[0]!, eight[3]!], 'container')).toEqual({ NVIDIA_VISIBLE_DEVICES: `${eight[0]!.uuid},${eight[3]!.uuid}` });
    // CUDA images set NVIDIA_VISIBLE_DEVICES=all themselves; void overrides that on a runtime that injects GPUs by default.
    expect(gpuEnvironment([], 'container')).toEqual({ NVIDIA_VISIBLE_DEVICES: 'void' });
  });
});
