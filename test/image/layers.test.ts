import { describe, expect, it } from 'vitest';
import { planLayers, type LayerPlanOptions } from '../../src/image/layers';
import { tarSize, type TarEntry } from '../../src/image/tar';

const dir = (path: string): TarEntry => ({ path, type: 'directory', mode: 0o755, size: 0 });
const file = (path: string, size: number): TarEntry => ({ path, type: 'file', mode: 0o644, size, source: `/src/${path}` });
const link = (path: string): TarEntry => ({ path, type: 'symlink', mode: 0o777, size: 0, linkTarget: 'x' });
const KiB = 1024;
const options: LayerPlanOptions = { limit: 100 * KiB, ownLayerAt: 40 * KiB, maxLayers: 4 };
const paths = (layers: TarEntry[][]) => layers.map((layer) => layer.map((e) => e.path));

describe('planLayers', () => {
  it.each<[string, TarEntry[], string[][]]>([
    ['small files share one layer', [dir('model'), file('model/a', 10), file('model/b', 20), link('model/c')], [['model', 'model/a', 'model/b', 'model/c']]],
    [
      'a large file gets a layer of its own, with its directories',
      [dir('model'), file('model/config.json', 10), dir('model/w'), file('model/w/shard-1', 50 * KiB), file('model/w/shard-2', 60 * KiB)],
      [
        ['model', 'model/config.json', 'model/w'],
        ['model', 'model/w', 'model/w/shard-1'],
        ['model', 'model/w', 'model/w/shard-2'],
      ],
    ],
    ['no layer for directories the large files carry anyway', [dir('opt'), dir('opt/model'), file('opt/model/weights', 50 * KiB)], [['opt', 'opt/model', 'opt/model/weights']]],
    [
      'an empty directory is kept',
      [dir('model'), dir('model/empty'), file('model/weights', 50 * KiB)],
      [
        ['model', 'model/empty'],
        ['model', 'model/weights'],
      ],
    ],
    [
      'small files spill into a second layer at the limit, which repeats their directories',
      [dir('model'), dir('model/d'), file('model/d/a', 35 * KiB), file('model/d/b', 35 * KiB), file('model/d/c', 35 * KiB)],
      [
        ['model', 'model/d', 'model/d/a', 'model/d/b'],
        ['model', 'model/d', 'model/d/c'],
      ],
    ],
  ])('%s', (_name, entries, expected) => {
    const layers = planLayers(entries, options);
    expect(paths(layers)).toEqual(expected);
    for (const layer of layers) expect(tarSize(layer)).toBeLessThanOrEqual(options.limit);
  });

  it('packs large files together rather than exceed the layer count', () => {
    const entries = [dir('m'), ...[1, 2, 3, 4, 5, 6].map((n) => file(`m/shard-${n}`, 41 * KiB))];
    const layers = planLayers(entries, options);
    expect(layers.length).toBeLessThanOrEqual(options.maxLayers);
    expect(layers.flat().filter((e) => e.type === 'file')).toHaveLength(6);
    for (const layer of layers) expect(tarSize(layer)).toBeLessThanOrEqual(options.limit);
  });

  it('refuses a file no layer can hold, by name', () => {
    expect(() => planLayers([dir('m'), file('m/huge', 200 * KiB)], options)).toThrow('Model file "/src/m/huge": is 200 KiB, larger than one image layer may be (100 KiB); split it into parts');
  });

  it('is stable: adding a file leaves the other large files’ layers as they were', () => {
    const before = planLayers([dir('m'), file('m/a', 50 * KiB), file('m/c', 50 * KiB)], options);
    const after = planLayers([dir('m'), file('m/a', 50 * KiB), file('m/b', 50 * KiB), file('m/c', 50 * KiB)], options);
    expect(after).toContainEqual(before[0]);
    expect(after).toContainEqual(before[1]);
  });
});
