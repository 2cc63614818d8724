import { RegistryClient, sha256Digest } from '../../src/registry/client';
import { MediaType, type Descriptor, type Platform } from '../../src/registry/media-types';

/**
 * Small images written straight to a real registry through the client (no Docker): configs,
 * layers, manifests and indexes shaped as each test needs, the registry's own validation applying.
 */
export class RegistryFixtures {
  constructor(
    readonly client: RegistryClient,
    readonly repository: string,
  ) {}

  async blob(bytes: Buffer, mediaType: string): Promise<Descriptor> {
    await this.client.uploadBlob(this.repository, { digest: sha256Digest(bytes), size: bytes.length, open: () => [bytes] });
    return { mediaType, digest: sha256Digest(bytes), size: bytes.length };
  }

  /** A manifest or index document (schemaVersion and mediaType added), stored by digest or under `tag`. */
  async manifest(document: Record<string, unknown>, mediaType: string, tag?: string): Promise<Descriptor> {
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, ...document }));
    const digest = await this.client.putManifest(this.repository, tag ?? sha256Digest(bytes), bytes, mediaType);
    return { mediaType, digest, size: bytes.length };
  }

  /** An image for one platform: a config naming it with `labels`, one layer, an OCI manifest. */
  async image(platform: Platform, labels: Record<string, string>, tag?: string): Promise<Descriptor> {
    const config = await this.blob(Buffer.from(JSON.stringify({ ...platform, config: { Labels: labels }, rootfs: { type: 'layers', diff_ids: [] } })), MediaType.ociConfig);
    const layer = await this.blob(Buffer.from(`layer of ${JSON.stringify(labels)} for ${platform.os}/${platform.architecture}`), MediaType.ociLayerTar);
    return { ...(await this.manifest({ config, layers: [layer] }, MediaType.ociManifest, tag)), platform };
  }
}
