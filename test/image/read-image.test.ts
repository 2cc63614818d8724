import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readImageLabels } from '../../src/image/metadata';
import { promoteImage } from '../../src/image/promote';
import { RegistryClient } from '../../src/registry/client';
import { MediaType } from '../../src/registry/media-types';
import { parseImageReference } from '../../src/registry/reference';
import { startRegistry, type TestRegistry } from '../support/registry';
import { RegistryFixtures } from '../support/registry-fixtures';

// What the gate (labels) and promote (revisions) read from images through resolveImage's parts,
// against the real distribution registry.

const REVISION = 'org.opencontainers.image.revision';

describe('reading images: labels and revisions', () => {
  let registry: TestRegistry;
  let push: RegistryFixtures;
  const repository = 't/read';
  const image = (reference: string) => `${registry.host}/${repository}${reference}`;

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'none' });
    push = new RegistryFixtures(new RegistryClient({ registry: registry.host, retry: { baseDelayMs: 10 } }), repository);
  });
  afterAll(() => registry?.stop());

  it("reads a single image's labels, and nothing for a tag the registry does not have", async () => {
    await push.image({ os: 'linux', architecture: 'amd64' }, { [REVISION]: 'aaa', 'train-to-serve.metrics': '{"accuracy":0.9}' }, 'single');
    expect(await readImageLabels(image(':single'))).toEqual({ [REVISION]: 'aaa', 'train-to-serve.metrics': '{"accuracy":0.9}' });
    expect(await readImageLabels(image(':absent'))).toBeUndefined();
  });

  it("reads an index's labels from the platform asked for, else from any platform it has", async () => {
    const arm64 = await push.image({ os: 'linux', architecture: 'arm64', variant: 'v8' }, { which: 'arm64' });
    const riscv = await push.image({ os: 'linux', architecture: 'riscv64' }, { which: 'riscv64' });
    await push.manifest({ manifests: [arm64, riscv] }, MediaType.ociIndex, 'multi');
    expect(await readImageLabels(image(':multi'), { platform: { os: 'linux', architecture: 'riscv64' } })).toEqual({ which: 'riscv64' });
    expect(await readImageLabels(image(':multi'))).toEqual({ which: 'arm64' });
  });

  it('reads no labels from a manifest that is not an image', async () => {
    const { digest, size } = await push.blob(Buffer.from('{"os":"linux","architecture":"amd64"}'), MediaType.ociConfig);
    const layer = await push.blob(Buffer.from('a layer'), MediaType.ociLayerTar);
    await push.manifest({ config: { digest, size }, layers: [layer] }, MediaType.ociManifest, 'odd');
    expect(await readImageLabels(image(':odd'))).toBeUndefined();
  });

  it("promote collects every platform's revision, counts the unlabelled, skips attestations, and tags the same digest", async () => {
    const amd64 = await push.image({ os: 'linux', architecture: 'amd64' }, { [REVISION]: 'bbb' });
    const arm64 = await push.image({ os: 'linux', architecture: 'arm64' }, { [REVISION]: 'bbb' });
    const bare = await push.image({ os: 'linux', architecture: 's390x' }, {});
    const attestation = await push.image({ os: 'unknown', architecture: 'unknown' }, { [REVISION]: 'not-a-platform' });
    const index = await push.manifest({ manifests: [amd64, arm64, bare, attestation] }, MediaType.ociIndex, 'pr-7');

    const checked: string[][] = [];
    const result = await promoteImage({ image: parseImageReference(image(''), 'image'), source: 'pr-7', targets: ['production'], check: (found) => Promise.resolve(void checked.push(found.revisions)) });
    expect(result).toMatchObject({ digest: index.digest, mediaType: MediaType.ociIndex, revisions: ['bbb'], unlabelled: 1, targets: [{ tag: 'production' }] });
    expect(checked).toEqual([['bbb']]);
    expect(await readImageLabels(image(':production'))).toEqual({ [REVISION]: 'bbb' });
  });
});
