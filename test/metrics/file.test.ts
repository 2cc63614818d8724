import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMetricsFile, MAX_METRICS_FILE_BYTES, metricsToJson, parseMetrics } from '../../src/metrics/file';

describe('parseMetrics', () => {
  it('flattens nested JSON to dotted names and keeps non-numeric leaves apart', () => {
    const metrics = parseMetrics(JSON.stringify({ accuracy: 0.93, eval: { loss: 0.2, per_class: [0.9, 0.8] }, model: 'lr', ok: true, note: null }), 'file "m.json"');
    expect([...metrics.numbers]).toEqual([
      ['accuracy', 0.93],
      ['eval.loss', 0.2],
      ['eval.per_class.0', 0.9],
      ['eval.per_class.1', 0.8],
    ]);
    expect(metricsToJson(metrics)).toEqual({ accuracy: 0.93, 'eval.loss': 0.2, 'eval.per_class.0': 0.9, 'eval.per_class.1': 0.8, model: 'lr', ok: true, note: null });
  });

  it('reads YAML', () => {
    const metrics = parseMetrics('accuracy: 0.91\nlatency:\n  p95_ms: 38\n', 'file "m.yaml"');
    expect(metrics.numbers.get('latency.p95_ms')).toBe(38);
  });

  it.each([
    ['', 'Metrics file "m.json": is empty'],
    ['   \n', 'Metrics file "m.json": is empty'],
    ['{"accuracy": NaN}', 'Metrics file "m.json": metric "accuracy" is not a finite number (NaN)'],
    ['{"loss": Infinity}', 'Metrics file "m.json": metric "loss" is not a finite number (Infinity)'],
    ['loss: .inf', 'Metrics file "m.json": metric "loss" is not a finite number (Infinity)'],
    ['loss: .nan', 'Metrics file "m.json": metric "loss" is not a finite number (NaN)'],
    ['{"a": 1,', 'Metrics file "m.json": is neither valid JSON nor YAML'],
    ['[1, 2]', 'Metrics file "m.json": must hold a mapping'],
    ['just text', 'Metrics file "m.json": must hold a mapping'],
    ['{}', 'Metrics file "m.json": holds no metrics'],
    ['a: 1\na: 2', 'Metrics file "m.json": is neither valid JSON nor YAML'],
  ])('%j -> %s', (text, message) => {
    expect(() => parseMetrics(text, 'file "m.json"')).toThrow(message);
  });
});

describe('loadMetricsFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tts-metrics-'));
  it('reads a file', async () => {
    writeFileSync(join(dir, 'ok.json'), '{"accuracy": 0.9}');
    expect((await loadMetricsFile(join(dir, 'ok.json'))).numbers.get('accuracy')).toBe(0.9);
  });
  it('names a missing file', async () => {
    await expect(loadMetricsFile(join(dir, 'nope.json'))).rejects.toThrow(`Metrics file "${join(dir, 'nope.json')}": does not exist`);
  });
  it('names a directory given as the file', async () => {
    mkdirSync(join(dir, 'folder'));
    await expect(loadMetricsFile(join(dir, 'folder'))).rejects.toThrow('is a directory, not a file');
  });
  // Training code writes this file: it may be anything (issue 10, unbounded reads).
  it('refuses a file over the limit without reading it', async () => {
    const path = join(dir, 'huge.json');
    writeFileSync(path, '');
    truncateSync(path, MAX_METRICS_FILE_BYTES + 1);
    await expect(loadMetricsFile(path)).rejects.toThrow(`Metrics file "${path}": is ${MAX_METRICS_FILE_BYTES + 1} bytes, more than the 8.0 MiB this file may hold`);
  });
  it('refuses a named pipe instead of waiting on it for ever', async () => {
    const path = join(dir, 'pipe.json');
    execFileSync('mkfifo', [path]);
    await expect(loadMetricsFile(path)).rejects.toThrow(`Metrics file "${path}": is not a regular file (a pipe, socket or device)`);
  });
});
