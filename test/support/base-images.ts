import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, ensureNodeBaseImage } from './docker-cli';
import type { TestRegistry } from './registry';

/**
 * Base images in a test registry, made the way users make them: `docker push` of the node base
 * (Docker schema 2 types), and a multi-platform OCI index assembled through the registry API
 * with plain fetch (independent of the client under test).
 */

export const suffix = () => randomBytes(3).toString('hex');

/** A Docker CLI config folder logged in to the registry, so tests never touch ~/.docker. */
export async function dockerConfigFor(registry: TestRegistry): Promise<{ dir: string; env: Record<string, string>; cleanup: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'tts-docker-config-'));
  if (registry.auth !== 'none') {
    await docker(['--config', dir, 'login', '--username', registry.username, '--password-stdin', registry.host], { input: registry.password });
  }
  return { dir, env: { DOCKER_CONFIG: dir }, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `docker push` the node base image as `<registry>/<repository>:<tag>`; returns the reference. */
export async function pushNodeBase(registry: TestRegistry, repository: string, tag = '1'): Promise<string> {
  return pushLocalImage(registry, await ensureNodeBaseImage(), `${registry.host}/${repository}:${tag}`);
}

/** `docker push` a local image as `reference` (logged in through a config folder of its own), leaving no local tag. */
export async function pushLocalImage(registry: TestRegistry, local: string, reference: string): Promise<string> {
  const config = await dockerConfigFor(registry);
  try {
    await docker(['tag', local, reference]);
    await docker(['--config', config.dir, 'push', reference]);
  } finally {
    await docker(['rmi', reference]).catch(() => {});
    config.cleanup();
  }
  return reference;
}

export const sha256 = (bytes: Buffer | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export interface FixtureDescriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** A manifest or index as the registry returned it (fields absent on the other kind). */
export interface FixtureManifest {
  mediaType?: string;
  config: FixtureDescriptor;
  layers: FixtureDescriptor[];
  manifests: (FixtureDescriptor & { platform?: { os: string; architecture: string } })[];
  annotations: Record<string, string>;
}

/** Raw registry API calls for fixtures (no-auth or basic registries). */
export function registryApi(registry: TestRegistry) {
  const auth: Record<string, string> = registry.auth === 'basic' ? { authorization: `Basic ${Buffer.from(`${registry.username}:${registry.password}`).toString('base64')}` } : {};
  const accept = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.docker.distribution.manifest.list.v2+json'].join(', ');
  return {
    async manifest(repository: string, reference: string): Promise<{ status: number; json: FixtureManifest; digest: string; mediaType: string }> {
      const response = await fetch(`${registry.url}/v2/${repository}/manifests/${reference}`, { headers: { ...auth, accept } });
      const text = await response.text();
      return {
        status: response.status,
        json: (response.status === 200 ? JSON.parse(text) : {}) as FixtureManifest,
        digest: response.headers.get('docker-content-digest') ?? '',
        mediaType: response.headers.get('content-type') ?? '',
      };
    },
    async blob(repository: string, digest: string): Promise<Buffer> {
      const response = await fetch(`${registry.url}/v2/${repository}/blobs/${digest}`, { headers: auth });
      if (response.status !== 200) throw new Error(`GET blob ${digest}: ${response.status}`);
      return Buffer.from(await response.arrayBuffer());
    },
    async blobStatus(repository: string, digest: string): Promise<number> {
      return (await fetch(`${registry.url}/v2/${repository}/blobs/${digest}`, { method: 'HEAD', headers: auth })).status;
    },
    async mount(repository: string, digest: string, from: string): Promise<number> {
      return (await fetch(`${registry.url}/v2/${repository}/blobs/uploads/?mount=${digest}&from=${from}`, { method: 'POST', headers: auth })).status;
    },
    async pushBlob(repository: string, bytes: Buffer): Promise<string> {
      const digest = sha256(bytes);
      const start = await fetch(`${registry.url}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers: auth });
      const location = new URL(start.headers.get('location')!, registry.url);
      location.searchParams.set('digest', digest);
      const put = await fetch(location, { method: 'PUT', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: bytes });
      if (put.status !== 201) throw new Error(`PUT blob: ${put.status} ${await put.text()}`);
      return digest;
    },
    async pushManifest(repository: string, reference: string, manifest: unknown, mediaType: string): Promise<string> {
      const bytes = Buffer.from(JSON.stringify(manifest));
      const response = await fetch(`${registry.url}/v2/${repository}/manifests/${reference}`, { method: 'PUT', headers: { ...auth, 'content-type': mediaType }, body: bytes });
      if (response.status !== 201) throw new Error(`PUT manifest: ${response.status} ${await response.text()}`);
      return sha256(bytes);
    },
    async tags(repository: string): Promise<string[]> {
      const response = await fetch(`${registry.url}/v2/${repository}/tags/list`, { headers: auth });
      if (response.status === 404) return [];
      return ((await response.json()) as { tags?: string[] | null }).tags ?? [];
    },
  };
}

/** A one-file uncompressed tar layer (for a tiny foreign-platform image). */
function tinyLayer(name: string, content: string): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0);
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${content.length.toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const data = Buffer.alloc(Math.ceil(content.length / 512) * 512);
  data.write(content);
  return Buffer.concat([header, data, Buffer.alloc(1024)]);
}

/**
 * A multi-platform OCI index in `repository:tag`: linux/amd64 is the node base (re-described with
 * OCI media types, blobs mounted from `dockerBase`), linux/arm64 a tiny image that only says so.
 */
export async function pushOciIndex(registry: TestRegistry, dockerBase: string, repository: string, tag = '1'): Promise<{ reference: string; amd64: string; arm64: string }> {
  const api = registryApi(registry);
  const [fromRepository, fromTag] = dockerBase.slice(registry.host.length + 1).split(':') as [string, string];
  const source = await api.manifest(fromRepository, fromTag);
  for (const blob of [source.json.config, ...source.json.layers]) {
    const status = await api.mount(repository, blob.digest, fromRepository);
    if (status !== 201) throw new Error(`mount ${blob.digest}: ${status}`);
  }
  const amd64Manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { ...source.json.config, mediaType: 'application/vnd.oci.image.config.v1+json' },
    layers: source.json.layers.map((layer) => ({ ...layer, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' })),
  };
  const amd64 = await api.pushManifest(repository, sha256(JSON.stringify(amd64Manifest)), amd64Manifest, amd64Manifest.mediaType);

  const layer = tinyLayer('etc/arch', 'arm64\n');
  const layerDigest = await api.pushBlob(repository, layer);
  const config = Buffer.from(
    JSON.stringify({ architecture: 'arm64', variant: 'v8', os: 'linux', config: { Env: ['PATH=/usr/local/bin:/usr/bin:/bin'] }, rootfs: { type: 'layers', diff_ids: [layerDigest] }, history: [{ created_by: 'fixture' }] }),
  );
  const configDigest = await api.pushBlob(repository, config);
  const arm64Manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
  };
  const arm64 = await api.pushManifest(repository, sha256(JSON.stringify(arm64Manifest)), arm64Manifest, arm64Manifest.mediaType);

  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { mediaType: amd64Manifest.mediaType, digest: amd64, size: JSON.stringify(amd64Manifest).length, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: arm64Manifest.mediaType, digest: arm64, size: JSON.stringify(arm64Manifest).length, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ],
  };
  await api.pushManifest(repository, tag, index, index.mediaType);
  return { reference: `${registry.host}/${repository}:${tag}`, amd64, arm64 };
}
