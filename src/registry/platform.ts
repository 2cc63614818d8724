import type { Descriptor, Platform } from './media-types';

export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

/** Variants a platform means when none is written (what containerd normalises them to). */
const DEFAULT_VARIANT: Record<string, string> = { arm64: 'v8', arm: 'v7' };

/**
 * Pick the manifest for `wanted` from an index's entries. Returns the descriptor, or the list of
 * platforms the index does have (attestation entries, `unknown/unknown`, are not platforms).
 */
export function selectPlatform(manifests: Descriptor[], wanted: Platform): { match?: Descriptor; available: string[] } {
  const real = manifests.filter((entry) => entry.platform && entry.platform.os !== 'unknown');
  const variantOf = (platform: Platform) => platform.variant ?? DEFAULT_VARIANT[platform.architecture];
  const candidates = real.filter((entry) => entry.platform!.os === wanted.os && entry.platform!.architecture === wanted.architecture);
  // No variant asked: the one the architecture means by default (arm → v7), else any.
  const match = candidates.find((entry) => variantOf(entry.platform!) === variantOf(wanted)) ?? (wanted.variant === undefined ? candidates[0] : undefined);
  return { match, available: real.map((entry) => formatPlatform(entry.platform!)) };
}
