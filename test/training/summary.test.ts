import { describe, expect, it } from 'vitest';
import { parseMetrics } from '../../src/metrics/file';
import { renderSummary } from '../../src/training/summary';
import type { TrainReport } from '../../src/training/train';
import { parseGpuCsv, withMigInstances } from '../../src/gpu/probe';
import { selectGpus } from '../../src/gpu/select';
import { readFixture } from '../gpu/fake-nvidia-smi';

const report = (over: Partial<TrainReport> = {}): TrainReport => ({
  plan: {
    command: 'python train.py --tag `x` | tee log',
    workspace: '/ws',
    workingDirectory: '/ws',
    gpus: { kind: 'none' },
    modelPath: 'model',
    metricsFile: 'metrics.json',
    telemetryIntervalMs: 5000,
    cache: { paths: ['data'], key: 'd-2', restoreKeys: ['d-'] },
  },
  shownModelPath: 'model',
  shownMetricsFile: 'metrics.json',
  modelPath: '/ws/model',
  metricsFile: '/ws/metrics.json',
  found: [],
  chosen: [],
  skipped: [],
  stats: [],
  gpus: [],
  series: [],
  stalls: [],
  telemetryFailures: 0,
  telemetryGaps: 0,
  ...over,
});

describe('renderSummary', () => {
  it('keeps user text from breaking the markdown', () => {
    const markdown = renderSummary(
      report({
        durationSeconds: 83.4,
        metrics: parseMetrics('{"acc|top1": 0.9, "note": "<b>hi</b>"}', 'file "m"'),
        model: { files: 1, bytes: 3, newestMs: 0 },
        cacheRestore: { status: 'partial', key: 'd-1' },
        cacheSave: { status: 'saved', key: 'd-2' },
      }),
    );
    expect(markdown).toContain('- **Command** ``python train.py --tag `x` \\| tee log``');
    expect(markdown).toContain('- **Duration** 1m23s (83.4 s)');
    expect(markdown).toContain('- **Cache** `data`: restored `d-1` (prefix match for `d-2`); saved `d-2`');
    expect(markdown).toContain('| acc\\|top1 | 0.9 |');
    expect(markdown).toContain('| note | &lt;b&gt;hi&lt;/b&gt; |');
    expect(markdown).toContain('- **Model** `model` (1 file), provenance in `model/training.json`');
  });

  it('says why a run failed, in one quoted line, and leaves the model out', () => {
    const markdown = renderSummary(report({ durationSeconds: 3 }), 'Training exceeded timeout-minutes (3s): stopped the training command\nafter 3s');
    expect(markdown.split('\n').slice(0, 3)).toEqual(['## ❌ Training failed', '', '> Training exceeded timeout-minutes (3s): stopped the training command after 3s']);
    expect(markdown).not.toContain('**Model**');
  });

  it('names MIG, what gpus means there, and the instance used (the recorded H100 with MIG on)', () => {
    const found = withMigInstances(parseGpuCsv(readFixture('h100-80gb-hbm3-mig-enabled-590.48.01-query-gpu-csv-allfields-load.txt')), {
      exitCode: 0,
      stdout: readFixture('h100-80gb-hbm3-mig-4inst-590.48.01-list-gpus.txt'),
      stderr: '',
    });
    const { chosen } = selectGpus({ kind: 'ids', ids: ['MIG-00000001-0000-0000-0000-000000000001'] }, found);
    const stats = chosen.map((gpu) => ({ ...gpu, peakMemoryMiB: null, meanUtilizationPercent: null, samples: 0 }));
    const markdown = renderSummary(report({ plan: { ...report().plan, gpus: { kind: 'ids', ids: [chosen[0]!.uuid] } }, found, chosen, stats }));
    expect(markdown).toContain('- **GPUs** 1 of 1: 0 (MIG 2g.20gb `MIG-00000001-0000-0000-0000-000000000001`)');
    expect(markdown).toContain('- **MIG** on for GPU 0 (4 instances): `gpus` takes whole GPUs by index or `GPU-` UUID, and MIG instances only by `MIG-` UUID');
    expect(markdown).toContain('| 0 | NVIDIA H100 80GB HBM3 MIG 2g.20gb | `MIG-00000001-0000-0000-0000-000000000001` | – | – | 0 |');
  });

  it('counts telemetry gaps', () => {
    const stats = [{ index: 0, uuid: 'GPU-1', name: 'X', memoryTotalMiB: 1, peakMemoryMiB: 1, meanUtilizationPercent: 1, samples: 3 }];
    expect(renderSummary(report({ stats, telemetryFailures: 2, telemetryGaps: 1 }))).toContain('_Telemetry: 2 sample(s) failed and 1 lacked a reading; each is a gap in the series (the charts draw a gap as the value before it)._');
  });
});
