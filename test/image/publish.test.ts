import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publishModelImage, type PublishRequest } from '../../src/image/publish';
import { parseImageReference } from '../../src/registry/reference';
import { startRegistry, type TestRegistry } from '../support/registry';
import { pushNodeBase, registryApi, suffix } from '../support/base-images';

// publishModelImage against two real registries: a base on one is streamed registry to registry
// into the other, and a model split over several layers arrives whole.

describe('publishModelImage across registries', () => {
  let source: TestRegistry;
  let target: TestRegistry;
  let base: string;
  let modelDir: string;

  beforeAll(async () => {
    [source, target] = await Promise.all([startRegistry({ auth: 'none' }), startRegistry({ auth: 'basic' })]);
    base = await pushNodeBase(source, `base/node-${suffix()}`);
    modelDir = mkdtempSync(join(tmpdir(), 'tts-model-'));
    mkdirSync(join(modelDir, 'shards'));
    for (const n of [1, 2, 3]) writeFileSync(join(modelDir, 'shards', `part-${n}.bin`), randomBytes(300 * 1024));
    for (const n of [1, 2, 3, 4]) writeFileSync(join(modelDir, `small-${n}.json`), JSON.stringify({ n, pad: 'x'.repeat(40 * 1024) }));
  });
  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
    if (modelDir) rmSync(modelDir, { recursive: true, force: true });
  });

  const request = (repository: string): PublishRequest => ({
    modelPath: modelDir,
    modelDir: 'srv/model',
    base: parseImageReference(base, 'base-image'),
    target: parseImageReference(`${target.host}/${repository}`, 'image'),
    tags: ['v1'],
    platform: { os: 'linux', architecture: 'amd64' },
    labels: { 'org.opencontainers.image.revision': 'abc' },
    annotations: {},
    created: '2024-01-01T00:00:00Z',
    credentials: { username: target.username, password: target.password },
    layerPlan: { limit: 400 * 1024, ownLayerAt: 256 * 1024, maxLayers: 16 },
  });

  it('copies base layers from the other registry and spreads the model over layers under the limit', async () => {
    const repository = `acme/split-${suffix()}`;
    const result = await publishModelImage(request(repository));
    const baseLayers = result.layers.filter((l) => l.origin === 'base');
    expect(baseLayers.map((l) => l.action)).toEqual(baseLayers.map(() => 'copied'));
    const modelLayers = result.layers.filter((l) => l.origin === 'model');
    // Three shards alone, the small files in layers of at most 400 KiB.
    expect(modelLayers.filter((l) => /^shards\/part-\d\.bin$/.test(l.contents ?? ''))).toHaveLength(3);
    expect(modelLayers.length).toBeGreaterThanOrEqual(4);
    for (const layer of modelLayers) expect(layer.size).toBeLessThanOrEqual(400 * 1024);
    expect(result.modelBytesUploaded).toBe(modelLayers.reduce((sum, l) => sum + l.size, 0));

    // Unpack every model layer in order, as the engine would, and compare with the source.
    const api = registryApi(target);
    const manifest = (await api.manifest(repository, 'v1')).json;
    expect(manifest.layers).toHaveLength(baseLayers.length + modelLayers.length);
    const out = mkdtempSync(join(tmpdir(), 'tts-unpacked-'));
    try {
      for (const layer of manifest.layers.slice(baseLayers.length)) execFileSync('tar', ['-x', '-f', '-', '-C', out], { input: await api.blob(repository, layer.digest) });
      for (const name of ['shards/part-1.bin', 'shards/part-3.bin', 'small-2.json']) {
        expect(readFileSync(join(out, 'srv/model', name)).equals(readFileSync(join(modelDir, name))), name).toBe(true);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('skips what the target already has on a second publish', async () => {
    const repository = `acme/again-${suffix()}`;
    const first = await publishModelImage(request(repository));
    const second = await publishModelImage(request(repository));
    expect(second.digest).toBe(first.digest);
    expect(second.modelBytesUploaded).toBe(0);
    expect(second.bytesSent).toBe(0);
    expect(second.layers.every((l) => l.action === 'present')).toBe(true);
  });

  // Issue 10 defect 10, issue 13 item 4: a root-owned image must not carry setuid files or hide the model from a non-root server.
  it.each([
    [false, ['-rwxr-xr-x model/run.sh', '-rw-r--r-- model/weights.bin', 'drwxrwxr-x model/shared/']],
    [true, ['-rwsr-xr-x model/run.sh', '-rw------- model/weights.bin', 'drwxrwxrwt model/shared/']],
  ])('keep-file-modes %s: the modes the layers carry', async (keepModes, expected) => {
    const repository = `acme/modes-${suffix()}`;
    const dir = mkdtempSync(join(tmpdir(), 'tts-modes-'));
    try {
      writeFileSync(join(dir, 'weights.bin'), 'w');
      writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\n');
      mkdirSync(join(dir, 'shared'));
      chmodSync(join(dir, 'weights.bin'), 0o600);
      chmodSync(join(dir, 'run.sh'), 0o4755);
      chmodSync(join(dir, 'shared'), 0o1777);
      const result = await publishModelImage({ ...request(repository), modelPath: dir, modelDir: 'model', keepModes });
      const api = registryApi(target);
      const listing: string[] = [];
      for (const layer of result.layers.filter((l) => l.origin === 'model')) {
        const text = execFileSync('tar', ['-tvf', '-'], { input: await api.blob(repository, layer.digest), encoding: 'utf8' });
        for (const line of text.trim().split('\n')) listing.push(`${line.split(/\s+/)[0]} ${line.split(/\s+/).at(-1)}`);
      }
      expect(listing).toEqual(expect.arrayContaining(expected));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Issue 10, defect 7: a local file error is not a network reset; it is not retried.
  it.each([
    ['grows', (path: string) => appendFileSync(path, 'more')],
    ['keeps its size but changes its bytes', (path: string) => writeFileSync(path, randomBytes(300 * 1024))],
  ])('fails at once, naming the file, when a model file %s between hashing and upload; no tag moves', async (_how, change) => {
    const repository = `acme/changing-${suffix()}`;
    const dir = mkdtempSync(join(tmpdir(), 'tts-changing-'));
    writeFileSync(join(dir, 'big.bin'), randomBytes(300 * 1024));
    writeFileSync(join(dir, 'small.json'), '{}');
    const said: string[] = [];
    let changed = false;
    const log = (message: string) => {
      said.push(message);
      // Said just before the layer's upload starts, after its hash pass.
      if (!changed && message.startsWith('Uploading model layer') && message.endsWith(': big.bin')) {
        changed = true;
        change(join(dir, 'big.bin'));
      }
    };
    try {
      const failed = publishModelImage({ ...request(repository), modelPath: dir, log, retry: { baseDelayMs: 1, maxDelayMs: 1 } });
      await expect(failed).rejects.toThrow(new RegExp(`^Model file "${join(dir, 'big.bin')}": changed`));
      expect(changed).toBe(true);
      expect(said.filter((line) => /trying again|fresh upload/.test(line))).toEqual([]);
      expect((await registryApi(target).manifest(repository, 'v1')).status).toBe(404);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a base on another registry that needs credentials it is not given', async () => {
    const privateBase = await pushNodeBase(target, `private/node-${suffix()}`);
    const other = await startRegistry({ auth: 'none' });
    try {
      await expect(publishModelImage({ ...request('x/y'), base: parseImageReference(privateBase, 'base-image'), target: parseImageReference(`${other.host}/acme/x`, 'image'), credentials: undefined })).rejects.toThrow(
        /^Input "base-image": .*private\/node-\w+ refused anonymous access/,
      );
    } finally {
      await other.stop();
    }
  });
});
