import type { Credentials } from '../registry/auth';
import { RegistryClient } from '../registry/client';
import { RegistryError } from '../registry/errors';
import { isIndexType, type ImageIndex, type ImageManifest, type Platform } from '../registry/media-types';
import { imageLabels, Label } from './compose';
import { selectPlatform } from './platform';
import { parseImageReference } from '../registry/reference';

/**
 * Reading what an image says about itself (its config's labels) without pulling it: the
 * manifest (the platform's, for an index) and the config blob only.
 */
export interface ReadImageOptions {
  credentials?: Credentials;
  platform?: Platform;
  /** The input the reference came from, for error messages. */
  input?: string;
  log?: (message: string) => void;
}

/** The config labels of an image, or undefined when the registry has no such image. */
export async function readImageLabels(reference: string, options: ReadImageOptions = {}): Promise<Record<string, string> | undefined> {
  const ref = parseImageReference(reference, options.input ?? 'image');
  const client = new RegistryClient({ registry: ref.registry, credentials: options.credentials, scopes: [{ repository: ref.repository, actions: ['pull'] }], log: options.log });
  const notFound = (error: unknown) => {
    if (error instanceof RegistryError && error.status === 404) return undefined;
    throw error;
  };
  let fetched = await client.getManifest(ref.repository, ref.digest ?? ref.tag ?? 'latest').catch(notFound);
  if (!fetched) return undefined;
  if (isIndexType(fetched.mediaType)) {
    const index = fetched.json as unknown as ImageIndex;
    const { match } = selectPlatform(index.manifests ?? [], options.platform ?? { os: 'linux', architecture: 'amd64' });
    const entry = match ?? index.manifests?.find((m) => m.platform?.os !== 'unknown');
    if (!entry) return undefined;
    fetched = await client.getManifest(ref.repository, entry.digest);
  }
  const manifest = fetched.json as unknown as ImageManifest;
  if (!manifest.config?.digest) return undefined;
  const config = JSON.parse((await client.getBlobBytes(ref.repository, manifest.config.digest)).toString('utf8')) as Record<string, unknown>;
  return imageLabels(config);
}

/**
 * The `train-to-serve.metrics` label publish recorded, or undefined when the image does not exist
 * or has no such label: what the gate's `baseline` reads from an image reference.
 */
export async function readImageMetrics(reference: string, options: ReadImageOptions = {}): Promise<string | undefined> {
  return (await readImageLabels(reference, options))?.[Label.metrics];
}
