import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/registry/client';
import { MediaType, type Platform } from '../../src/registry/media-types';
import { ImageNotFoundError, ImageShapeError, PlatformNotFoundError, resolveImage } from '../../src/registry/resolve';
import { startRegistry, type TestRegistry } from '../support/registry';
import { RegistryFixtures } from '../support/registry-fixtures';

// resolveImage against the real distribution registry: every manifest and blob below is pushed
// to it and read back over HTTP, so the registry's own validation applies to each fixture.

describe('resolveImage', () => {
  let registry: TestRegistry;
  let client: RegistryClient;
  let push: RegistryFixtures;
  const repository = 't/resolve';
  const linuxAmd64: Platform = { os: 'linux', architecture: 'amd64' };
  const pushBlob = (bytes: Buffer, mediaType: string) => push.blob(bytes, mediaType);
  const pushManifest = (document: Record<string, unknown>, mediaType: string, tag?: string) => push.manifest(document, mediaType, tag);
  const pushImage = (platform: Platform, label: string, tag?: string) => push.image(platform, { which: label }, tag);

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'none' });
    client = new RegistryClient({ registry: registry.host, retry: { baseDelayMs: 10 } });
    push = new RegistryFixtures(client, repository);
  });
  afterAll(() => registry?.stop());

  it('reads a single-image manifest and its config, with no platform chosen', async () => {
    const pushed = await pushImage({ os: 'linux', architecture: 'arm64' }, 'single', 'single');
    const resolved = await resolveImage(client, { repository, reference: 'single' }, linuxAmd64);
    expect(resolved.digest).toBe(pushed.digest);
    expect(resolved.platform).toBeUndefined();
    expect(resolved.family).toBe('oci');
    expect(resolved.manifest.layers).toHaveLength(1);
    expect(resolved.config).toMatchObject({ architecture: 'arm64', config: { Labels: { which: 'single' } } });
  });

  it("resolves an index to the platform's manifest, attestation entries aside", async () => {
    const amd64 = await pushImage(linuxAmd64, 'amd64');
    const arm64 = await pushImage({ os: 'linux', architecture: 'arm64', variant: 'v8' }, 'arm64');
    const attestation = { ...(await pushImage({ os: 'unknown', architecture: 'unknown' }, 'attestation')), platform: { os: 'unknown', architecture: 'unknown' } };
    await pushManifest({ manifests: [amd64, arm64, attestation] }, MediaType.ociIndex, 'multi');

    const resolved = await resolveImage(client, { repository, reference: 'multi' }, { os: 'linux', architecture: 'arm64' });
    expect(resolved.digest).toBe(arm64.digest);
    expect(resolved.platform).toBe('linux/arm64/v8');
    expect(resolved.config).toMatchObject({ config: { Labels: { which: 'arm64' } } });
    expect((await resolveImage(client, { repository, reference: 'multi' }, linuxAmd64)).config).toMatchObject({ config: { Labels: { which: 'amd64' } } });
  });

  it('refuses a platform the index lacks, listing the ones it has', async () => {
    const error = await resolveImage(client, { repository, reference: 'multi' }, { os: 'linux', architecture: 's390x' }, { name: 'Base image b' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PlatformNotFoundError);
    expect((error as PlatformNotFoundError).available).toEqual(['linux/amd64', 'linux/arm64/v8']);
    expect((error as Error).message).toBe('Base image b: has no linux/s390x image, only linux/amd64, linux/arm64/v8');
  });

  it('takes any platform of the index when asked to', async () => {
    const resolved = await resolveImage(client, { repository, reference: 'multi' }, { os: 'linux', architecture: 's390x' }, { anyPlatform: true });
    expect(resolved.platform).toBe('linux/amd64');
  });

  it('refuses an index inside an index', async () => {
    const inner = await pushManifest({ manifests: [await pushImage(linuxAmd64, 'inner')] }, MediaType.ociIndex);
    await pushManifest({ manifests: [{ ...inner, platform: linuxAmd64 }] }, MediaType.ociIndex, 'nested');
    const error = await resolveImage(client, { repository, reference: 'nested' }, linuxAmd64).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageShapeError);
    expect((error as Error).message).toBe(`Image t/resolve: index entry ${inner.digest} is itself an index`);
  });

  it('refuses a manifest without layers', async () => {
    const config = await pushBlob(Buffer.from('{"os":"linux","architecture":"amd64"}'), MediaType.ociConfig);
    await pushManifest({ config }, MediaType.ociManifest, 'no-layers');
    const error = await resolveImage(client, { repository, reference: 'no-layers' }, linuxAmd64).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageShapeError);
    expect((error as Error).message).toBe('Image t/resolve:no-layers: has a manifest without a config or layers');
  });

  it('refuses a manifest whose config is not a descriptor', async () => {
    // The registry refuses a manifest with no config at all; a config without its media type it stores.
    const { digest, size } = await pushBlob(Buffer.from('{"os":"linux","architecture":"amd64","rootfs":{}}'), MediaType.ociConfig);
    const layer = await pushBlob(Buffer.from('a layer'), MediaType.ociLayerTar);
    await pushManifest({ config: { digest, size }, layers: [layer] }, MediaType.ociManifest, 'no-config');
    const error = await resolveImage(client, { repository, reference: 'no-config' }, linuxAmd64).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageShapeError);
    expect((error as Error).message).toBe('Image t/resolve:no-config: has a manifest without a config or layers');
  });

  it('refuses a config that is not JSON', async () => {
    const config = await pushBlob(Buffer.from('{"os": "linux", '), MediaType.ociConfig);
    const layer = await pushBlob(Buffer.from('another layer'), MediaType.ociLayerTar);
    await pushManifest({ config, layers: [layer] }, MediaType.ociManifest, 'bad-config');
    await expect(resolveImage(client, { repository, reference: 'bad-config' }, linuxAmd64)).rejects.toThrow(/^Image t\/resolve: has a config that is not JSON$/);
  });

  it('tells a missing reference (ImageNotFoundError, HTTP 404) from other failures', async () => {
    const error = await resolveImage(client, { repository, reference: 'absent' }, linuxAmd64).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageNotFoundError);
    expect(error).toMatchObject({ status: 404 });
  });
});
