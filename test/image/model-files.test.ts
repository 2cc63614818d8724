import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageMode, scanModel } from '../../src/image/model-files';

// scanModel on real folders, files, modes and links in a temp dir.

const made: string[] = [];
function model(build: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'tts-scan-'));
  made.push(dir);
  build(dir);
  return dir;
}
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

const modes = async (dir: string, options?: { keepModes?: boolean }) => Object.fromEntries((await scanModel(dir, 'model', options)).entries.filter((e) => e.type !== 'symlink').map((e) => [e.path, (e.mode & 0o7777).toString(8)]));

describe('scanModel: symlinks are judged where the kernel would take them (issue 10, defect 8)', () => {
  it('refuses s -> . plus l -> s/../etc, which a textual check lets through', async () => {
    const dir = model((d) => {
      writeFileSync(join(d, 'weights.bin'), 'w');
      symlinkSync('.', join(d, 's'));
      symlinkSync('s/../etc', join(d, 'l'));
    });
    await expect(scanModel(dir, 'model')).rejects.toThrow('Input "model-path": "l" is a symlink to "s/../etc", outside the model directory');
  });

  it('refuses a chain of links that climbs out one step at a time', async () => {
    const dir = model((d) => {
      mkdirSync(join(d, 'a/b'), { recursive: true });
      writeFileSync(join(d, 'weights.bin'), 'w');
      symlinkSync('b', join(d, 'a/up'));
      symlinkSync('a/up/../../..', join(d, 'out'));
    });
    await expect(scanModel(dir, 'model')).rejects.toThrow('"out" is a symlink to "a/up/../../..", outside the model directory');
  });

  it('refuses a loop of links', async () => {
    const dir = model((d) => {
      writeFileSync(join(d, 'weights.bin'), 'w');
      symlinkSync('y', join(d, 'x'));
      symlinkSync('x', join(d, 'y'));
    });
    await expect(scanModel(dir, 'model')).rejects.toThrow('"x" is a symlink to "y", which loops back on itself');
  });

  it('keeps links that stay inside, through other links', async () => {
    const dir = model((d) => {
      mkdirSync(join(d, 'shards'));
      writeFileSync(join(d, 'shards/part-1.bin'), 'w');
      symlinkSync('shards', join(d, 'current'));
      symlinkSync('current/../shards/part-1.bin', join(d, 'latest.bin'));
    });
    const scan = await scanModel(dir, 'model');
    expect(scan.entries.filter((e) => e.type === 'symlink').map((e) => [e.path, e.linkTarget])).toEqual([
      ['model/current', 'shards'],
      ['model/latest.bin', 'current/../shards/part-1.bin'],
    ]);
  });
});

describe('scanModel: names', () => {
  it('refuses a file name that is not UTF-8 by name, not with a raw ENOENT', async () => {
    const dir = model((d) => {
      writeFileSync(join(d, 'ok.bin'), 'w');
      mkdirSync(join(d, 'sub'));
      writeFileSync(Buffer.concat([Buffer.from(`${d}/sub/bad-`), Buffer.from([0xff, 0xfe]), Buffer.from('.bin')]), 'w');
    });
    await expect(scanModel(dir, 'model')).rejects.toThrow('Input "model-path": "sub/bad-\\\\xff\\\\xfe.bin" has a name that is not valid UTF-8, which image layers and registries cannot carry; rename it');
  });
});

describe('scanModel: modes in the image (issue 10, defect 10; issue 13, item 4)', () => {
  const build = (d: string) => {
    mkdirSync(join(d, 'private'));
    mkdirSync(join(d, 'shared'));
    writeFileSync(join(d, 'setuid.bin'), 'w');
    writeFileSync(join(d, 'setgid.bin'), 'w');
    writeFileSync(join(d, 'secret.bin'), 'w');
    writeFileSync(join(d, 'open.bin'), 'w');
    writeFileSync(join(d, 'private/weights.bin'), 'w');
    chmodSync(join(d, 'setuid.bin'), 0o4755);
    chmodSync(join(d, 'setgid.bin'), 0o2750);
    chmodSync(join(d, 'secret.bin'), 0o600);
    chmodSync(join(d, 'open.bin'), 0o666);
    chmodSync(join(d, 'private'), 0o700);
    chmodSync(join(d, 'shared'), 0o1777);
    chmodSync(d, 0o750);
  };

  it('clears setuid, setgid, sticky and world-write, and makes everything readable by the server user', async () => {
    expect(await modes(model(build))).toEqual({
      model: '755',
      'model/open.bin': '664',
      'model/private': '755',
      'model/private/weights.bin': '644',
      'model/secret.bin': '644',
      'model/setgid.bin': '754',
      'model/setuid.bin': '755',
      'model/shared': '775',
    });
  });

  it('keeps the modes as they are on disk when asked (keep-file-modes)', async () => {
    const kept = await modes(model(build), { keepModes: true });
    expect(kept).toMatchObject({ 'model/setuid.bin': '4755', 'model/setgid.bin': '2750', 'model/secret.bin': '600', 'model/shared': '1777', 'model/private': '700' });
  });

  it('a single model file gets the same treatment', async () => {
    const dir = model((d) => {
      writeFileSync(join(d, 'model.onnx'), 'w');
      chmodSync(join(d, 'model.onnx'), 0o4700);
    });
    const scan = await scanModel(join(dir, 'model.onnx'), 'model');
    expect(scan.entries.find((e) => e.path === 'model/model.onnx')?.mode).toBe(0o744);
  });

  it.each([
    ['file', 0o644, 0o644],
    ['file', 0o755, 0o755],
    ['file', 0o640, 0o644],
    ['file', 0o4711, 0o755],
    ['file', 0o662, 0o664],
    ['directory', 0o700, 0o755],
    ['directory', 0o3777, 0o775],
    ['directory', 0o750, 0o755],
  ] as const)('%s 0o%o becomes 0o%o', (type, mode, expected) => {
    expect(imageMode(type, mode)).toBe(expected);
  });
});
