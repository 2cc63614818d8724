import { describe, expect, it } from 'vitest';
import { bucketSeries, telemetryCharts } from '../../src/gpu/chart';
import { parseGpuCsv } from '../../src/gpu/probe';
import { TelemetryRecorder, type TelemetryPoint } from '../../src/gpu/telemetry';
import { fixtureFrames } from './fake-nvidia-smi';

const series = (utils: (number | null)[], stepMs = 1000): TelemetryPoint[] => utils.map((u, i): TelemetryPoint => ({ atMs: i * stepMs, gpus: u === null ? {} : { A: { utilizationPercent: u, memoryUsedMiB: i * 10 } } }));

describe('bucketSeries', () => {
  it.each([
    ['fewer points than buckets: one per point', [10, 20, 30], 10, [10, 20, 30]],
    ['buckets average utilisation', [0, 100, 50, 50], 2, [50, 50]],
    ['no values', [null, null], 4, []],
  ])('%s', (_, utils, buckets, expected) => {
    expect(bucketSeries(series(utils), 'A', 'utilizationPercent', buckets)).toEqual(expected);
  });

  it('takes the peak memory of each bucket', () => {
    expect(bucketSeries(series([1, 1, 1, 1]), 'A', 'memoryUsedMiB', 2)).toEqual([10, 30]);
  });

  it('fills a bucket without samples with the value before it', () => {
    const points = [...series([80]), { atMs: 9000, gpus: { A: { utilizationPercent: 20, memoryUsedMiB: 5 } } }];
    expect(bucketSeries(points, 'A', 'utilizationPercent', 2)).toEqual([80, 20]);
  });
});

describe('telemetryCharts', () => {
  const frames = fixtureFrames('busy-four-a100-40gb-training.series').map((frame) => parseGpuCsv(frame));
  const ours = [frames[0]![0]!, frames[0]![3]!];
  const recorder = new TelemetryRecorder(ours);
  frames.slice(1).forEach((frame, i) => recorder.add(i * 5000, frame));

  it('draws utilisation and memory as Mermaid xychart lines, one per GPU, in GPU order', () => {
    const markdown = telemetryCharts(recorder.summary(), recorder.timeSeries())!;
    const blocks = [...markdown.matchAll(/```mermaid\n([\s\S]*?)\n```/g)].map((m) => m[1]!);
    expect(blocks).toHaveLength(2);
    const [util, memory] = blocks as [string, string];
    expect(util.split('\n').slice(0, 4)).toEqual(['xychart-beta', '  title "GPU utilisation (%)"', '  x-axis "time (minutes)" 0 --> 5', '  y-axis "utilisation %" 0 --> 100']);
    const lines = util.split('\n').filter((line) => line.startsWith('  line ['));
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      const values = JSON.parse(line.slice('  line '.length)) as number[];
      expect(values.length).toBeLessThanOrEqual(60);
      expect(values.every((v) => v >= 0 && v <= 100)).toBe(true);
    }
    expect(memory).toContain('y-axis "MiB" 0 --> 40960');
    expect(markdown).toContain('_59 samples. Lines in GPU order: 0, 3._');
  });

  it('draws nothing from a single sample', () => {
    const single = new TelemetryRecorder(ours);
    single.add(0, frames[1]!);
    expect(telemetryCharts(single.summary(), single.timeSeries())).toBeUndefined();
  });
});
