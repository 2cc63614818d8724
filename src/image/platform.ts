import { InputError, quote } from '../inputs/errors';
import type { Platform } from '../registry/media-types';

// Choosing a platform from an index is the registry layer's (resolveImage uses it).
export { formatPlatform, selectPlatform } from '../registry/platform';

/** `os/architecture[/variant]`, as `docker --platform` writes it. */
export function parsePlatform(input: string, raw: string): Platform {
  const parts = raw.trim().toLowerCase().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((part) => !/^[a-z0-9._-]+$/.test(part))) {
    throw new InputError(input, `expected os/architecture[/variant] such as linux/amd64, got ${quote(raw)}`);
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return variant ? { os, architecture, variant } : { os, architecture };
}
