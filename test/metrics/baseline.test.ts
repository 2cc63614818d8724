import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveBaseline } from '../../src/metrics/baseline';

describe('resolveBaseline', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tts-baseline-'));
  writeFileSync(join(dir, 'base.json'), JSON.stringify({ accuracy: 0.93, eval: { loss: 0.2 } }));
  writeFileSync(join(dir, 'broken.json'), '{"accuracy": NaN}');
  mkdirSync(join(dir, 'folder'));
  const image = 'ghcr.io/acme/iris:production';

  it('is undefined when no baseline is given', async () => {
    expect(await resolveBaseline(undefined)).toBeUndefined();
    expect(await resolveBaseline('  ')).toBeUndefined();
  });

  it('reads a metrics file', async () => {
    const baseline = await resolveBaseline(join(dir, 'base.json'));
    expect(baseline).toMatchObject({ kind: 'file', source: join(dir, 'base.json') });
    expect(baseline?.kind === 'file' && baseline.metrics.numbers.get('eval.loss')).toBe(0.2);
  });

  it.each([
    ['broken.json', 'Metrics file "DIR/broken.json": metric "accuracy" is not a finite number (NaN)'],
    ['folder', 'Metrics file "DIR/folder": is a directory, not a file'],
    ['nope.json', 'Input "baseline": file "DIR/nope.json" does not exist, and it is not an image reference (host/repository:tag or host/repository@sha256:…)'],
  ])('names the file when %s is not a usable metrics file', async (name, message) => {
    await expect(resolveBaseline(join(dir, name))).rejects.toThrow(message.replace(/DIR/g, dir));
  });

  it('sends an image reference to the image reader and parses the label it returns', async () => {
    const asked: string[] = [];
    const baseline = await resolveBaseline(image, {
      readImageMetrics: async (reference) => {
        asked.push(reference);
        return JSON.stringify({ accuracy: 0.91, 'eval.loss': 0.25 });
      },
    });
    expect(asked).toEqual([image]);
    expect(baseline).toMatchObject({ kind: 'image', source: image });
    expect(baseline?.kind === 'image' && [...baseline.metrics.numbers]).toEqual([
      ['accuracy', 0.91],
      ['eval.loss', 0.25],
    ]);
  });

  // Issue 10, suspected and confirmed: the pull request controls the checkout, so a file it adds
  // under the reference's name must not replace the production image's metrics.
  it('takes a reference as the image even when the checkout has a file of that name; ./ names the file', async () => {
    const checkout = mkdtempSync(join(tmpdir(), 'tts-checkout-'));
    mkdirSync(join(checkout, 'ghcr.io/acme'), { recursive: true });
    writeFileSync(join(checkout, image), JSON.stringify({ accuracy: 0 }));
    const previous = process.cwd();
    process.chdir(checkout);
    try {
      const asked: string[] = [];
      const readImageMetrics = async (reference: string) => {
        asked.push(reference);
        return JSON.stringify({ accuracy: 0.97 });
      };
      const baseline = await resolveBaseline(image, { readImageMetrics });
      expect(baseline).toMatchObject({ kind: 'image', source: image });
      expect(asked).toEqual([image]);
      expect(await resolveBaseline(`./${image}`, { readImageMetrics })).toMatchObject({ kind: 'file', source: `./${image}` });
    } finally {
      process.chdir(previous);
    }
  });

  it('reports an image without recorded metrics as a missing baseline', async () => {
    expect(await resolveBaseline(image, { readImageMetrics: async () => undefined })).toEqual({
      kind: 'missing',
      source: image,
      reason: `image ${image} does not exist or has no train-to-serve.metrics label`,
    });
  });

  it('names the image when its label does not hold metrics', async () => {
    await expect(resolveBaseline(image, { readImageMetrics: async () => '{"accuracy": "NaN"}' })).rejects.toThrow(`Metrics label train-to-serve.metrics of image "${image}": metric "accuracy" is not a finite number (NaN)`);
  });

  it('passes the reader’s own errors through', async () => {
    await expect(resolveBaseline(image, { readImageMetrics: async () => Promise.reject(new Error('Registry ghcr.io: 401 unauthorized')) })).rejects.toThrow('Registry ghcr.io: 401 unauthorized');
  });

  it('says clearly that image references need a reader when none is wired', async () => {
    await expect(resolveBaseline(image)).rejects.toThrow(`Input "baseline": "${image}" is an image reference, but this build of gate cannot read metrics from images yet; pass a metrics file`);
  });
});
