import { createHash } from 'node:crypto';
import { familyTypes, type Descriptor, type ImageManifest, type ManifestFamily } from '../registry/media-types';

/**
 * The new image's config and manifest: the base's config with the model layers' diff IDs and
 * history appended and the toolkit's labels set; the base's layers followed by the model's.
 * Pure and deterministic: the same inputs give the same bytes, so the same digest.
 */
export const Label = {
  source: 'org.opencontainers.image.source',
  revision: 'org.opencontainers.image.revision',
  created: 'org.opencontainers.image.created',
  baseName: 'org.opencontainers.image.base.name',
  baseDigest: 'org.opencontainers.image.base.digest',
  metrics: 'train-to-serve.metrics',
  modelDir: 'train-to-serve.model-dir',
} as const;

export interface ModelLayer {
  digest: string;
  size: number;
  /** What the history entry says made the layer. */
  createdBy: string;
}

export interface ComposeInput {
  family: ManifestFamily;
  baseManifest: ImageManifest;
  /** The base config exactly as parsed (unknown fields are kept). */
  baseConfig: Record<string, unknown>;
  layers: ModelLayer[];
  /** RFC 3339 time of the commit: `created` and history times, so rebuilding gives the same digest. */
  created: string;
  /** Labels on the image config (the toolkit's first, then the user's, which win). */
  labels: Record<string, string>;
  /** Annotations on the manifest (OCI manifests only). */
  annotations: Record<string, string>;
}

export interface ComposedImage {
  config: Buffer;
  configDescriptor: Descriptor;
  manifest: Buffer;
  manifestMediaType: string;
  digest: string;
}

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export function composeImage(input: ComposeInput): ComposedImage {
  const types = familyTypes(input.family);
  const base = input.baseConfig;
  const runConfig = (base.config && typeof base.config === 'object' ? base.config : {}) as Record<string, unknown>;
  const baseLabels = (runConfig.Labels && typeof runConfig.Labels === 'object' ? runConfig.Labels : {}) as Record<string, string>;
  const rootfs = (base.rootfs ?? { type: 'layers', diff_ids: [] }) as { type: string; diff_ids?: string[] };
  const history = Array.isArray(base.history) ? (base.history as unknown[]) : [];

  const config = {
    ...base,
    created: input.created,
    config: { ...runConfig, Labels: { ...baseLabels, ...input.labels } },
    rootfs: { ...rootfs, type: 'layers', diff_ids: [...(rootfs.diff_ids ?? []), ...input.layers.map((layer) => layer.digest)] },
    history: [...history, ...input.layers.map((layer) => ({ created: input.created, created_by: layer.createdBy, comment: 'train-to-serve publish' }))],
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDescriptor: Descriptor = { mediaType: types.config, digest: sha256(configBytes), size: configBytes.length };

  const manifest: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: types.manifest,
    config: configDescriptor,
    layers: [...input.baseManifest.layers, ...input.layers.map((layer) => ({ mediaType: types.layerTar, digest: layer.digest, size: layer.size }))],
  };
  if (input.family === 'oci' && Object.keys(input.annotations).length > 0) manifest.annotations = input.annotations;
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  return { config: configBytes, configDescriptor, manifest: manifestBytes, manifestMediaType: types.manifest, digest: sha256(manifestBytes) };
}

/** The metrics a published image recorded, from its config (what a later gate reads as baseline). */
export function imageLabels(config: Record<string, unknown>): Record<string, string> {
  const runConfig = config.config as { Labels?: Record<string, string> | null } | undefined;
  return { ...(runConfig?.Labels ?? {}) };
}
