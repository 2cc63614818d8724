import { describe, expect, it } from 'vitest';
import { describeGpu, interpretNvidiaSmi, parseGpuCsv, probeGpus, QUERY_ARGS, runNvidiaSmi, withMigInstances } from '../../src/gpu/probe';
import { diagnose } from '../../src/gpu/failures';
import { fakeNvidiaSmi, pathWithoutNvidiaSmi, readFixture } from './fake-nvidia-smi';

/** Recordings (test/fixtures/nvidia-smi-public); recordings.test.ts runs every one of them. */
const H100_MIG = 'h100-80gb-hbm3-mig-enabled-590.48.01-query-gpu-csv-allfields-load.txt';
const H100_MIG_LIST = 'h100-80gb-hbm3-mig-4inst-590.48.01-list-gpus.txt';
const H200 = 'h200-590.48.01-query-gpu-csv-allfields-load.txt';

describe('the query train asks', () => {
  it('asks only fields every recorded driver answers, with a header and units', () => {
    expect(QUERY_ARGS).toEqual(['--query-gpu=index,uuid,name,memory.total,memory.used,memory.free,utilization.gpu', '--format=csv']);
    // Every field is a column of every full-field recording, from a 2026 Windows WDDM driver to a datacenter H100.
    for (const file of [H100_MIG, H200, 'l40s-595.80-query-gpu-csv-allfields-load.txt', 'rtx-2080-super-windows-wddm-610.62-query-gpu-csv-allfields-load.txt']) {
      const header = readFixture(file)
        .split('\n')[0]!
        .split(', ')
        .map((cell) => cell.replace(/ \[.*\]$/, ''));
      for (const field of QUERY_ARGS[0]!.slice('--query-gpu='.length).split(',')) expect(header).toContain(field);
    }
  });
});

describe('parseGpuCsv', () => {
  it('reads free memory as the driver reports it, which leaves out the memory it reserves', () => {
    const [gpu] = parseGpuCsv(readFixture(H100_MIG));
    expect(gpu).toMatchObject({ memoryTotalMiB: 81559, memoryUsedMiB: 11125, memoryFreeMiB: 69956 });
    // total − used would claim 479 MiB more (memory.reserved in the same recording).
    expect(gpu!.memoryTotalMiB! - gpu!.memoryUsedMiB! - gpu!.memoryFreeMiB!).toBe(478);
  });

  it('maps a canonical header name to the field asked for (gpu_name is printed as name)', () => {
    const text = readFixture('rtx-2080-ti-windows-442.19-query-gpu-csv-nounits-unknown-error.txt');
    expect(() => parseGpuCsv(text)).toThrow('answered without index, uuid, memory.total, memory.used (its columns: name, utilization.gpu');
  });

  it.each([
    ['a comma in the name', 'index, uuid, name, memory.total [MiB], memory.used [MiB], utilization.gpu [%]\n0, GPU-0e2c, Vendor, Model X, 100 MiB, 50 MiB, 7 %\n', { name: 'Vendor, Model X', memoryFreeMiB: 50 }],
    ['CRLF line endings', 'index, uuid, name, memory.total [MiB], memory.used [MiB], utilization.gpu [%]\r\n0, GPU-0e2c, NVIDIA L4, 23034 MiB, 0 MiB, 0 %\r\n', { memoryTotalMiB: 23034 }],
    ['values without units (nounits)', 'index, uuid, name, memory.total [MiB], memory.used [MiB], utilization.gpu [%]\n0, GPU-0e2c, NVIDIA L4, 23034, 1, 0\n', { memoryUsedMiB: 1 }],
  ])('%s (hand-written: no recording has it)', (_, text, expected) => {
    expect(parseGpuCsv(text)[0]).toMatchObject(expected);
  });

  it.each([
    ['a unit other than MiB', 'index, uuid, name, memory.total [GiB], memory.used [MiB], utilization.gpu [%]\n0, GPU-0e2c, X, 80, 1, 0', 'reports memory.total in GiB, not MiB'],
    ['text where a number belongs', 'index, uuid, name, memory.total [MiB], memory.used [MiB], utilization.gpu [%]\n0, GPU-0e2c, X, lots, 1, 0', 'printed "lots" for memory.total, which is not a number of MiB'],
    ['a short row', 'index, uuid, name, memory.total [MiB], memory.used [MiB], utilization.gpu [%]\n0, GPU-0e2c', 'which is not a row of the 6 fields'],
  ])('refuses %s (hand-written)', (_, text, message) => {
    expect(() => parseGpuCsv(text)).toThrow(message);
  });
});

describe('interpretNvidiaSmi', () => {
  it.each([
    ['missing', { exitCode: null, stdout: '', stderr: 'spawn nvidia-smi ENOENT', notFound: true }, 'nvidia-smi: is not on PATH: this runner has no NVIDIA driver tools installed'],
    ['hung', { exitCode: null, stdout: '', stderr: '', timedOut: true }, 'nvidia-smi: did not answer in time'],
    ['success with only a header', { exitCode: 0, stdout: 'index, uuid, name, memory.total [MiB], memory.used [MiB], utilization.gpu [%]\n', stderr: '' }, 'nvidia-smi: listed no GPUs'],
    ['an unfamiliar failure', { exitCode: 42, stdout: '', stderr: 'something odd' }, 'nvidia-smi: exited with code 42, saying "something odd". Run nvidia-smi on the runner'],
  ])('%s', (_, result, message) => {
    expect(() => interpretNvidiaSmi(result)).toThrow(message);
  });

  it("reads a driver's message printed with exit code 0 as the failure it is", () => {
    expect(() => interpretNvidiaSmi({ exitCode: 0, stdout: readFixture('error-nvml-unknown-error-exit255.txt'), stderr: '' })).toThrow(
      'nvidia-smi: exited with code 0, saying "Failed to initialize NVML: Unknown Error". NVML failed to start',
    );
  });
});

describe('diagnose', () => {
  it.each([
    [9, 'driver-not-loaded'],
    [18, 'version-mismatch'],
    [15, 'gpu-lost'],
    [4, 'permissions'],
    [6, 'no-devices'],
  ])('falls back on the manual for exit code %i when the words are unfamiliar', (code, kind) => {
    expect(diagnose('something new', code)?.kind).toBe(kind);
  });

  it('knows nothing of an unfamiliar message with an unfamiliar code', () => {
    expect(diagnose('something new', 255)).toBeUndefined();
  });
});

describe('MIG', () => {
  it('attaches the instances nvidia-smi -L lists to their GPU, matched by UUID', () => {
    const gpus = withMigInstances(parseGpuCsv(readFixture(H100_MIG)), { exitCode: 0, stdout: readFixture(H100_MIG_LIST), stderr: '' });
    expect(gpus[0]!.mig).toEqual([
      { profile: '3g.40gb', device: 0, uuid: 'MIG-00000000-0000-0000-0000-000000000000' },
      { profile: '2g.20gb', device: 1, uuid: 'MIG-00000001-0000-0000-0000-000000000001' },
      { profile: '1g.10gb', device: 2, uuid: 'MIG-00000002-0000-0000-0000-000000000002' },
      { profile: '1g.10gb', device: 3, uuid: 'MIG-00000003-0000-0000-0000-000000000003' },
    ]);
    expect(describeGpu(gpus[0]!)).toBe('0 NVIDIA H100 80GB HBM3 (69956 of 81559 MiB free, utilisation unknown ([N/A]), MIG on: 4 instances)');
  });

  it('leaves a GPU without MIG lines as a whole GPU', () => {
    const gpus = withMigInstances(parseGpuCsv(readFixture(H200)), { exitCode: 0, stdout: 'GPU 0: NVIDIA H200 (UUID: GPU-00000000-0000-0000-0000-000000000000)\n', stderr: '' });
    expect(gpus[0]!.mig).toBeUndefined();
  });

  it('probes the query, then -L, through the stand-in', async () => {
    const fake = fakeNvidiaSmi({ fixture: H100_MIG, list: { fixture: H100_MIG_LIST } });
    const gpus = await probeGpus({ env: { ...process.env, PATH: fake.path } });
    expect(gpus[0]!.mig).toHaveLength(4);
    expect(fake.calls()).toEqual([QUERY_ARGS.join(' '), '-L']);
  });

  it('fails when -L fails after the query answered (the GPU went away in between)', async () => {
    const fake = fakeNvidiaSmi({ fixture: H200, list: { fixture: 'error-device-handle-gpu-is-lost-linux.txt', exitCode: 15 } });
    await expect(probeGpus({ env: { ...process.env, PATH: fake.path } })).rejects.toThrow('nvidia-smi: exited with code 15, saying "Unable to determine the device handle for GPU 0000:02:00.0: GPU is lost.');
  });
});

describe('running nvidia-smi', () => {
  it('says nvidia-smi is missing when it is not on PATH', async () => {
    await expect(probeGpus({ env: { ...process.env, PATH: pathWithoutNvidiaSmi() } })).rejects.toThrow('nvidia-smi: is not on PATH');
  });

  it('kills an nvidia-smi that hangs', async () => {
    const fake = fakeNvidiaSmi({ fixture: H200, delaySeconds: 30 });
    const result = await runNvidiaSmi({ env: { ...process.env, PATH: fake.path }, timeoutMs: 300 });
    expect(result.timedOut).toBe(true);
    expect(fake.running()).toEqual([]);
  });
});

describe('describeGpu', () => {
  it('says what a GPU has free and what nvidia-smi printed where it had no value', () => {
    expect(describeGpu(parseGpuCsv(readFixture(H200))[0]!)).toBe('0 NVIDIA H200 (110796 of 143771 MiB free, 100% busy)');
    const [gb10] = parseGpuCsv('index, uuid, name, memory.total [MiB], memory.used [MiB], memory.free [MiB], utilization.gpu [%]\n0, GPU-0e2c, NVIDIA GB10, [N/A], [N/A], [N/A], [N/A]\n');
    expect(describeGpu(gb10!)).toBe('0 NVIDIA GB10 (memory unknown (nvidia-smi printed memory.free [N/A], memory.total [N/A], memory.used [N/A]), utilisation unknown ([N/A]))');
  });
});
