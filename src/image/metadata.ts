import type { Credentials } from '../registry/auth';
import { RegistryClient } from '../registry/client';
import type { Platform } from '../registry/media-types';
import { ImageNotFoundError, ImageShapeError, PlatformNotFoundError, resolveImage } from '../registry/resolve';
import { imageLabels, Label } from './compose';
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
  const tagOrDigest = ref.digest ?? ref.tag ?? 'latest';
  try {
    // An index without the platform asked for: any of its platforms carries the same labels.
    const { config } = await resolveImage(client, { repository: ref.repository, reference: tagOrDigest }, options.platform ?? { os: 'linux', architecture: 'amd64' }, { anyPlatform: true });
    return imageLabels(config);
  } catch (error) {
    // No such image, an index without platforms, a manifest without a config: no labels.
    if (error instanceof ImageNotFoundError || error instanceof PlatformNotFoundError || error instanceof ImageShapeError) return undefined;
    throw error;
  }
}

/**
 * The `train-to-serve.metrics` label publish recorded, or undefined when the image does not exist
 * or has no such label: what the gate's `baseline` reads from an image reference.
 */
export async function readImageMetrics(reference: string, options: ReadImageOptions = {}): Promise<string | undefined> {
  return (await readImageLabels(reference, options))?.[Label.metrics];
}
