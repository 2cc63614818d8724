import { describe, expect, it } from 'vitest';
import { parseGpuCsv, type CommandResult } from '../../src/gpu/probe';
import { waitFor } from '../support/ports';
import { StallDetector, TelemetryRecorder, TelemetrySampler, type TelemetryPoint } from '../../src/gpu/telemetry';
import { fakeNvidiaSmi, fixtureFrames, readFixture } from './fake-nvidia-smi';

// Hand-written (test/fixtures/nvidia-smi/README.md): no recording follows a runner over time.
const frames = fixtureFrames('busy-four-a100-40gb-training.series').map((frame) => parseGpuCsv(frame));
const all = frames[0]!;
const H100_MIG = 'h100-80gb-hbm3-mig-enabled-590.48.01-query-gpu-csv-allfields-load.txt';
const ours = [all[0]!, all[3]!];

describe('TelemetryRecorder', () => {
  it('keeps exact peak memory and mean utilisation for the chosen GPUs only', () => {
    const recorder = new TelemetryRecorder(ours);
    const samples = frames.slice(1, 11);
    samples.forEach((frame, i) => recorder.add(i * 1000, frame));
    const summary = recorder.summary();
    expect(summary.map((gpu) => gpu.index)).toEqual([0, 3]);
    for (const gpu of summary) {
      const rows = samples.map((frame) => frame.find((row) => row.uuid === gpu.uuid)!);
      // Frame 7 has [Unknown Error] for GPU 3's memory: skipped, never counted as 0.
      expect(gpu.peakMemoryMiB).toBe(Math.max(...rows.map((row) => row.memoryUsedMiB ?? -1)));
      const mean = rows.reduce((sum, row) => sum + row.utilizationPercent!, 0) / rows.length;
      expect(gpu.meanUtilizationPercent).toBe(Math.round(mean * 10) / 10);
      expect(gpu.samples).toBe(10);
    }
    expect(recorder.timeSeries()).toHaveLength(10);
    expect(Object.keys(recorder.timeSeries()[0]!.gpus).sort()).toEqual(ours.map((gpu) => gpu.uuid).sort());
  });

  it('skips missing values rather than counting them as zero: the recorded H100 with MIG on has no utilisation', () => {
    const [gpu] = parseGpuCsv(readFixture(H100_MIG));
    const recorder = new TelemetryRecorder([gpu!]);
    recorder.add(0, [gpu!]);
    recorder.add(1000, [gpu!]);
    expect(recorder.summary()[0]).toMatchObject({ peakMemoryMiB: 11125, meanUtilizationPercent: null, samples: 2 });
    expect(recorder.timeSeries()[0]!.gpus[gpu!.uuid]).toEqual({ utilizationPercent: null, memoryUsedMiB: 11125 });
  });

  it('a failed sample, or a GPU missing from an answer, is a gap: null readings at that time', () => {
    const recorder = new TelemetryRecorder(ours);
    recorder.add(0, frames[1]!);
    recorder.add(1000, []);
    recorder.add(
      2000,
      frames[2]!.filter((row) => row.uuid !== ours[1]!.uuid),
    );
    const series = recorder.timeSeries();
    expect(series[1]!.gpus).toEqual({ [ours[0]!.uuid]: { utilizationPercent: null, memoryUsedMiB: null }, [ours[1]!.uuid]: { utilizationPercent: null, memoryUsedMiB: null } });
    expect(series[2]!.gpus[ours[1]!.uuid]).toEqual({ utilizationPercent: null, memoryUsedMiB: null });
    expect(recorder.summary().map((gpu) => gpu.samples)).toEqual([2, 1]);
  });

  it('halves the series resolution instead of growing without bound, statistics stay exact', () => {
    const gpu = ours[0]!;
    const recorder = new TelemetryRecorder([gpu], 16);
    for (let i = 0; i < 1000; i++) recorder.add(i * 100, [{ ...gpu, utilizationPercent: i % 2 ? 100 : 0, memoryUsedMiB: i }]);
    const series = recorder.timeSeries();
    expect(series.length).toBeLessThanOrEqual(16);
    expect(series.length).toBeGreaterThanOrEqual(8);
    expect(series[0]!.atMs).toBe(0);
    // Merged points average utilisation (alternating 0/100 gives 50) and keep the peak memory.
    expect(series[0]!.gpus[gpu.uuid]!.utilizationPercent).toBe(50);
    expect(Math.max(...series.map((p) => p.gpus[gpu.uuid]!.memoryUsedMiB!))).toBe(999);
    expect(recorder.summary()[0]).toMatchObject({ peakMemoryMiB: 999, meanUtilizationPercent: 50, samples: 1000 });
  });
});

const point = (atMs: number, utils: Record<string, number | null>): TelemetryPoint => ({
  atMs,
  gpus: Object.fromEntries(Object.entries(utils).map(([uuid, u]) => [uuid, { utilizationPercent: u, memoryUsedMiB: 100 }])),
});

describe('StallDetector', () => {
  const gpus = [
    { uuid: 'A', index: 0 },
    { uuid: 'B', index: 1 },
  ];
  const run = (utils: [number | null, number | null][], window = 3) => {
    const detector = new StallDetector(gpus, window);
    const stalls = utils.flatMap(([a, b], i) => detector.add(point(i * 1000, { A: a, B: b })));
    return { stalls: stalls.map((s) => [s.index, s.fromMs, s.toMs, s.samples]), neverUsed: detector.neverUsed().map((n) => n.index) };
  };

  it.each<[string, [number | null, number | null][], { stalls: number[][]; neverUsed: number[] }]>([
    [
      'busy all along',
      [
        [90, 80],
        [95, 85],
        [99, 90],
        [97, 92],
      ],
      { stalls: [], neverUsed: [] },
    ],
    [
      'idle start-up is not a stall',
      [
        [0, 0],
        [0, 0],
        [0, 0],
        [0, 0],
        [90, 90],
      ],
      { stalls: [], neverUsed: [] },
    ],
    [
      'one GPU stops after working',
      [
        [90, 90],
        [0, 90],
        [0, 90],
        [0, 90],
        [0, 90],
      ],
      { stalls: [[0, 1000, 3000, 3]], neverUsed: [] },
    ],
    [
      'a short pause is not a stall',
      [
        [90, 90],
        [0, 90],
        [0, 90],
        [90, 90],
        [0, 90],
      ],
      { stalls: [], neverUsed: [] },
    ],
    [
      'reported once per stretch, again after work resumes',
      [
        [90, 90],
        [0, 90],
        [0, 90],
        [0, 90],
        [0, 90],
        [50, 90],
        [0, 90],
        [0, 90],
        [0, 90],
      ],
      {
        stalls: [
          [0, 1000, 3000, 3],
          [0, 6000, 8000, 3],
        ],
        neverUsed: [],
      },
    ],
    [
      'both GPUs hang together',
      [
        [90, 90],
        [0, 0],
        [0, 0],
        [0, 0],
      ],
      {
        stalls: [
          [0, 1000, 3000, 3],
          [1, 1000, 3000, 3],
        ],
        neverUsed: [],
      },
    ],
    [
      'a GPU never used',
      [
        [90, 0],
        [90, 0],
        [90, 0],
      ],
      { stalls: [], neverUsed: [1] },
    ],
    [
      'too few samples to call a GPU unused',
      [
        [90, 0],
        [90, 0],
      ],
      { stalls: [], neverUsed: [] },
    ],
    [
      'samples without a value are skipped',
      [
        [90, 90],
        [0, 90],
        [null, 90],
        [0, 90],
        [0, 90],
      ],
      { stalls: [[0, 1000, 4000, 3]], neverUsed: [] },
    ],
  ])('%s', (_, utils, expected) => {
    expect(run(utils)).toEqual(expected);
  });
});

function delayedRun(ms: number, answer: string, log: { active: number; maxActive: number; calls: number; starts?: number[] }) {
  return (register: (kill: () => void) => void) =>
    new Promise<CommandResult>((resolve) => {
      log.calls += 1;
      log.starts?.push(performance.now());
      log.active += 1;
      log.maxActive = Math.max(log.maxActive, log.active);
      const timer = setTimeout(() => {
        log.active -= 1;
        resolve({ exitCode: 0, stdout: answer, stderr: '' });
      }, ms);
      register(() => {
        clearTimeout(timer);
        log.active -= 1;
        resolve({ exitCode: null, stdout: '', stderr: '' });
      });
    });
}

describe('TelemetrySampler', () => {
  const answer = fixtureFrames('busy-four-a100-40gb-training.series')[5]!;

  it('never runs two samples at once when nvidia-smi is slower than the interval', async () => {
    const log = { active: 0, maxActive: 0, calls: 0, starts: [] as number[] };
    const sampler = new TelemetrySampler({ gpus: ours, intervalMs: 20, run: delayedRun(60, answer, log) });
    await waitFor('four samples', async () => log.calls >= 4, 20_000, 10);
    await sampler.stop();
    expect(log.maxActive).toBe(1);
    expect(log.active).toBe(0);
  });

  it('waits out the rest of the interval after a fast sample', async () => {
    const log = { active: 0, maxActive: 0, calls: 0, starts: [] as number[] };
    const sampler = new TelemetrySampler({ gpus: ours, intervalMs: 100, run: delayedRun(5, answer, log) });
    await waitFor('four samples', async () => log.calls >= 4, 20_000, 10);
    await sampler.stop();
    // A busy machine only lengthens the gaps; none is shorter than the interval.
    const gaps = log.starts.slice(1).map((start, i) => start - log.starts[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(95);
    // A sample still in flight when stop() came is killed and not recorded.
    expect(sampler.recorder.summary()[0]!.samples).toBeGreaterThanOrEqual(log.calls - 1);
  });

  it('stop() kills a sample in flight and leaves nothing running', async () => {
    const log = { active: 0, maxActive: 0, calls: 0 };
    const sampler = new TelemetrySampler({ gpus: ours, intervalMs: 10, run: delayedRun(10_000, answer, log) });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await sampler.stop();
    expect(Date.now() - started).toBeLessThan(500);
    expect(log.active).toBe(0);
    expect(sampler.recorder.summary()[0]!.samples).toBe(0);
  });

  it('keeps sampling through an [Unknown Error] cell and a failed sample: gaps in the series, one warning', async () => {
    // The recorded H200 under load; the same answer with its memory.used cell as nvidia-smi prints
    // it when the read fails; and a recorded failure (a Tesla P4 that stopped answering).
    const h200 = readFixture('h200-590.48.01-query-gpu-csv-allfields-load.txt');
    const [gpu] = parseGpuCsv(h200);
    const lines = h200.split('\n');
    const at = lines[0]!.split(', ').indexOf('memory.used [MiB]');
    const row = lines[1]!.split(', ');
    row[at] = '[Unknown Error]';
    const unknownCell = [lines[0], row.join(', '), ''].join('\n');
    const failed = readFixture('error-device-handle-unknown-error-2024-tesla-p4.txt');
    const answers: CommandResult[] = [
      { exitCode: 0, stdout: h200, stderr: '' },
      { exitCode: 0, stdout: unknownCell, stderr: '' },
      { exitCode: 255, stdout: failed, stderr: '' },
      { exitCode: 0, stdout: h200, stderr: '' },
      { exitCode: 0, stdout: unknownCell, stderr: '' },
      { exitCode: 255, stdout: failed, stderr: '' },
    ];
    let calls = 0;
    const errors: string[] = [];
    const points: TelemetryPoint[] = [];
    const sampler = new TelemetrySampler({
      gpus: [gpu!],
      intervalMs: 1,
      run: async () => answers[Math.min(calls++, answers.length - 1)] ?? { exitCode: 0, stdout: h200, stderr: '' },
      onPoint: (point) => points.push(point),
      onError: (message) => errors.push(message),
    });
    await waitFor('eight samples', async () => points.length >= 8, 10_000);
    await sampler.stop();
    expect(errors).toEqual(['a sample lacked GPU 0 memory.used (nvidia-smi printed [Unknown Error]): left as a gap in the series, sampling continues']);
    const memory = points.slice(0, 6).map((point) => point.gpus[gpu!.uuid]!.memoryUsedMiB);
    expect(memory).toEqual([32362, null, null, 32362, null, null]);
    expect(points.slice(0, 6).map((point) => point.gpus[gpu!.uuid]!.utilizationPercent)).toEqual([100, 100, null, 100, 100, null]);
    expect(sampler.gaps).toBe(2);
    expect(sampler.failures).toBeGreaterThanOrEqual(2);
    expect(sampler.recorder.summary()[0]).toMatchObject({ peakMemoryMiB: 32362, meanUtilizationPercent: 100 });
  });

  it('runs the stand-in nvidia-smi one process at a time, through its time series', async () => {
    const fake = fakeNvidiaSmi({ fixture: 'busy-four-a100-40gb-training.series', delaySeconds: 0.08 });
    const original = process.env.PATH;
    process.env.PATH = fake.path;
    const points: TelemetryPoint[] = [];
    let sampler: TelemetrySampler;
    try {
      sampler = new TelemetrySampler({ gpus: ours, intervalMs: 20, onPoint: (p) => points.push(p) });
      await waitFor('three samples', async () => points.length >= 3, 20_000);
      await sampler.stop();
    } finally {
      process.env.PATH = original;
    }
    const calls = fake.calls().length;
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(fake.overlaps()).toBe(0);
    expect(fake.running()).toEqual([]);
    // Each answer is the next frame of the recording.
    const expected = frames.slice(0, points.length).map((frame) => frame.find((row) => row.uuid === ours[0]!.uuid)!.memoryUsedMiB);
    expect(points.map((p) => p.gpus[ours[0]!.uuid]!.memoryUsedMiB)).toEqual(expected);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(fake.calls().length).toBe(calls);
  });
});
