import { describe, expect, it } from 'vitest';
import { parsePlatform, selectPlatform } from '../../src/image/platform';
import type { Descriptor } from '../../src/registry/media-types';

const entry = (digest: string, os: string, architecture: string, variant?: string): Descriptor => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest,
  size: 1,
  platform: variant ? { os, architecture, variant } : { os, architecture },
});

const index = [entry('amd64', 'linux', 'amd64'), entry('arm64', 'linux', 'arm64', 'v8'), entry('armv6', 'linux', 'arm', 'v6'), entry('armv7', 'linux', 'arm', 'v7'), entry('att', 'unknown', 'unknown')];

describe('selectPlatform', () => {
  it.each([
    ['linux/amd64', 'amd64'],
    ['linux/arm64', 'arm64'],
    ['linux/arm64/v8', 'arm64'],
    ['linux/arm/v7', 'armv7'],
    ['linux/arm', 'armv7'],
    ['linux/arm/v6', 'armv6'],
    ['linux/s390x', undefined],
    ['windows/amd64', undefined],
  ])('%s → %s', (wanted, digest) => {
    const { match, available } = selectPlatform(index, parsePlatform('platform', wanted));
    expect(match?.digest).toBe(digest);
    expect(available).toEqual(['linux/amd64', 'linux/arm64/v8', 'linux/arm/v6', 'linux/arm/v7']);
  });

  it.each(['amd64', 'linux/', 'linux/amd64/v1/x', 'linux amd64'])('refuses the platform %j', (text) => {
    expect(() => parsePlatform('platform', text)).toThrow('Input "platform": expected os/architecture[/variant]');
  });
});
