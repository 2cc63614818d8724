import { InputError, quote } from '../inputs/errors';
import type { Descriptor, Platform } from '../registry/media-types';

/** `os/architecture[/variant]`, as `docker --platform` writes it. */
export function parsePlatform(input: string, raw: string): Platform {
  const parts = raw.trim().toLowerCase().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((part) => !/^[a-z0-9._-]+$/.test(part))) {
    throw new InputError(input, `expected os/architecture[/variant] such as linux/amd64, got ${quote(raw)}`);
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return variant ? { os, architecture, variant } : { os, architecture };
}

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
  const match =
    candidates.find((entry) => variantOf(entry.platform!) === variantOf(wanted)) ?? (wanted.variant === undefined ? candidates[0] : undefined);
  return { match, available: real.map((entry) => formatPlatform(entry.platform!)) };
}
