import { describe, expect, it } from 'vitest';
import { parseMetrics } from '../../src/metrics/file';
import { renderSummary } from '../../src/training/summary';
import type { TrainReport } from '../../src/training/train';

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
});
