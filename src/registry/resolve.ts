import type { FetchedManifest, RegistryClient } from './client';
import { RegistryError } from './errors';
import { familyOf, isIndexType, type Descriptor, type ImageIndex, type ImageManifest, type ManifestFamily, type Platform } from './media-types';
import { formatPlatform, selectPlatform } from './platform';

/**
 * From a reference to one image's manifest and config: fetch the manifest, resolve an index to
 * the platform's manifest, check the manifest names a config and layers, and read the config.
 * Publish (the base), the gate's baseline (labels) and promote (revisions) all read images so.
 */

/** An image config blob (`os`, `architecture`, `config.Labels`, `rootfs`, …), as parsed JSON. */
export type ImageConfig = Record<string, unknown>;

export interface ResolvedImage {
  manifest: ImageManifest;
  config: ImageConfig;
  /** The media type family of the image manifest: what an appended layer must match. */
  family: ManifestFamily;
  /** The image manifest's digest (the platform's, for an index). */
  digest: string;
  /** The platform chosen from an index (`linux/arm64/v8`); undefined for a single-image manifest. */
  platform?: string;
}

export interface ResolveOptions {
  /** Names the image in errors (`Base image ghcr.io/acme/base`); default `Image <repository>`. A bad manifest is named with its reference. */
  name?: string;
  /** For an index without the platform: take its first real platform instead of refusing. */
  anyPlatform?: boolean;
}

/** The reference itself has no manifest (HTTP 404 for the tag or digest asked; not for an index's entry). */
export class ImageNotFoundError extends RegistryError {}

/** An index without the platform asked for; `available` lists the platforms it has. */
export class PlatformNotFoundError extends RegistryError {
  constructor(
    resource: string,
    readonly wanted: Platform,
    readonly available: string[],
  ) {
    super(resource, `has no ${formatPlatform(wanted)} image, only ${available.length ? available.join(', ') : 'no platforms'}`);
  }
}

/** A manifest that is not the shape of an image: no config descriptor, or no layers list. */
export class ImageShapeError extends RegistryError {}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function isDescriptor(value: unknown): value is Descriptor {
  return isRecord(value) && typeof value.digest === 'string' && typeof value.mediaType === 'string' && typeof value.size === 'number';
}

/** The index a fetched manifest is, checked: every entry a descriptor. */
export function parseImageIndex(fetched: FetchedManifest, name: string): ImageIndex {
  const { manifests } = fetched.json;
  if (!Array.isArray(manifests) || !manifests.every(isDescriptor)) throw new ImageShapeError(name, 'has an index whose manifests are not descriptors');
  return { ...fetched.json, schemaVersion: 2, manifests };
}

/** The image manifest a fetched manifest is, checked: a config descriptor and a list of layer descriptors. */
export function parseImageManifest(fetched: FetchedManifest, name: string): ImageManifest {
  const { config, layers } = fetched.json;
  if (!isDescriptor(config) || !Array.isArray(layers) || !layers.every(isDescriptor)) throw new ImageShapeError(name, 'has a manifest without a config or layers');
  return { ...fetched.json, schemaVersion: 2, config, layers };
}

/** The config blob a manifest names, parsed. */
export async function readImageConfig(client: RegistryClient, repository: string, manifest: ImageManifest, name: string): Promise<ImageConfig> {
  const bytes = await client.getBlobBytes(repository, manifest.config.digest);
  let config: unknown;
  try {
    config = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new RegistryError(name, 'has a config that is not JSON');
  }
  if (!isRecord(config)) throw new RegistryError(name, 'has a config that is not a JSON object');
  return config;
}

/** The image `reference` (a tag or digest in `repository`) is for `platform`: its manifest and config. */
export async function resolveImage(client: RegistryClient, image: { repository: string; reference: string }, platform: Platform, options: ResolveOptions = {}): Promise<ResolvedImage> {
  const { repository, reference } = image;
  const name = options.name ?? `Image ${repository}`;
  let fetched: FetchedManifest;
  try {
    fetched = await client.getManifest(repository, reference);
  } catch (error) {
    if (error instanceof RegistryError && !(error instanceof ImageNotFoundError) && error.status === 404) {
      throw new ImageNotFoundError(error.resource, error.problem, error.status, error.code);
    }
    throw error;
  }
  let chosen: string | undefined;
  if (isIndexType(fetched.mediaType)) {
    const index = parseImageIndex(fetched, name);
    const { match, available } = selectPlatform(index.manifests, platform);
    const entry = match ?? (options.anyPlatform ? index.manifests.find((m) => m.platform?.os !== 'unknown') : undefined);
    if (!entry) throw new PlatformNotFoundError(name, platform, available);
    chosen = entry.platform ? formatPlatform(entry.platform) : undefined;
    fetched = await client.getManifest(repository, entry.digest);
    if (isIndexType(fetched.mediaType)) throw new ImageShapeError(name, `index entry ${entry.digest} is itself an index`);
  }
  const manifest = parseImageManifest(fetched, `${name}:${reference}`);
  const config = await readImageConfig(client, repository, manifest, name);
  return { manifest, config, family: familyOf(fetched.mediaType), digest: fetched.digest, platform: chosen };
}
