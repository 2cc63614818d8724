import { describe, expect, it } from 'vitest';
import { composeImage, imageLabels, type ComposeInput } from '../../src/image/compose';
import { MediaType, type ImageManifest } from '../../src/registry/media-types';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const baseManifest: ImageManifest = {
  schemaVersion: 2,
  mediaType: MediaType.dockerManifest,
  config: { mediaType: MediaType.dockerConfig, digest: digest('c'), size: 100 },
  layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: digest('1'), size: 10 }],
};
const baseConfig = {
  architecture: 'amd64',
  os: 'linux',
  created: '2020-01-01T00:00:00Z',
  config: { Env: ['PATH=/usr/bin'], Cmd: ['node', 'server.js'], Labels: { maintainer: 'ml', 'org.opencontainers.image.source': 'https://example.com/server' } },
  rootfs: { type: 'layers', diff_ids: [digest('d')] },
  history: [{ created: '2020-01-01T00:00:00Z', created_by: 'base' }],
  custom: { kept: true },
};
const input = (overrides: Partial<ComposeInput> = {}): ComposeInput => ({
  family: 'docker',
  baseManifest,
  baseConfig,
  layers: [{ digest: digest('a'), size: 2048, createdBy: 'COPY weights.bin /model # train-to-serve publish' }],
  created: '2024-04-24T23:06:40Z',
  labels: { 'org.opencontainers.image.source': 'https://github.com/acme/iris', 'org.opencontainers.image.revision': 'abc' },
  annotations: { 'org.opencontainers.image.revision': 'abc' },
  ...overrides,
});

/** The parts of a composed config these tests read. */
interface ParsedConfig {
  rootfs: { diff_ids: string[] };
  history: unknown[];
  created: string;
  config: { Cmd: string[]; Labels: Record<string, string> };
  custom: unknown;
  [key: string]: unknown;
}

describe('composeImage', () => {
  it('extends the base config: diff IDs, history, labels laid over the base’s, everything else kept', () => {
    const composed = composeImage(input());
    const config = JSON.parse(composed.config.toString()) as ParsedConfig;
    expect(config.rootfs.diff_ids).toEqual([digest('d'), digest('a')]);
    expect(config.history).toEqual([baseConfig.history[0], { created: '2024-04-24T23:06:40Z', created_by: 'COPY weights.bin /model # train-to-serve publish', comment: 'train-to-serve publish' }]);
    expect(config.created).toBe('2024-04-24T23:06:40Z');
    expect(config.config.Cmd).toEqual(['node', 'server.js']);
    expect(config.custom).toEqual({ kept: true });
    expect(imageLabels(config)).toEqual({ maintainer: 'ml', 'org.opencontainers.image.source': 'https://github.com/acme/iris', 'org.opencontainers.image.revision': 'abc' });
  });

  it('keeps a Docker base’s types, with uncompressed tar layers Docker 20.10 pulls, and no annotations', () => {
    const composed = composeImage(input());
    const manifest = JSON.parse(composed.manifest.toString()) as ImageManifest;
    expect(composed.manifestMediaType).toBe(MediaType.dockerManifest);
    expect(manifest.config).toEqual({ mediaType: MediaType.dockerConfig, digest: composed.configDescriptor.digest, size: composed.config.length });
    expect(manifest.layers).toEqual([baseManifest.layers[0], { mediaType: MediaType.dockerLayerTar, digest: digest('a'), size: 2048 }]);
    expect(manifest.annotations).toBeUndefined();
  });

  it('keeps an OCI base’s types and writes the annotations', () => {
    const composed = composeImage(input({ family: 'oci', baseManifest: { ...baseManifest, mediaType: MediaType.ociManifest } }));
    const manifest = JSON.parse(composed.manifest.toString()) as ImageManifest;
    expect(manifest.mediaType).toBe(MediaType.ociManifest);
    expect(manifest.config.mediaType).toBe(MediaType.ociConfig);
    expect(manifest.layers[1]!.mediaType).toBe(MediaType.ociLayerTar);
    expect(manifest.annotations).toEqual({ 'org.opencontainers.image.revision': 'abc' });
  });

  it('is deterministic, and the digest follows any change', () => {
    expect(composeImage(input()).digest).toBe(composeImage(input()).digest);
    expect(composeImage(input({ created: '2024-04-25T00:00:00Z' })).digest).not.toBe(composeImage(input()).digest);
    expect(composeImage(input({ labels: { x: 'y' } })).digest).not.toBe(composeImage(input()).digest);
  });

  it('handles a base config without labels, rootfs or history', () => {
    const composed = composeImage(input({ baseConfig: { architecture: 'amd64', os: 'linux' } }));
    const config = JSON.parse(composed.config.toString()) as ParsedConfig;
    expect(config.rootfs).toEqual({ type: 'layers', diff_ids: [digest('a')] });
    expect(config.history).toHaveLength(1);
    expect(config.config.Labels['org.opencontainers.image.revision']).toBe('abc');
  });
});
