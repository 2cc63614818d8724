import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { RegistryClient, sha256Digest } from '../../src/registry/client';
import { RegistryAuthError, RegistryError } from '../../src/registry/errors';
import { MediaType } from '../../src/registry/media-types';
import { startRegistry, type TestRegistry } from '../support/registry';
import { readBody } from '../../src/registry/http';

// The client against the real distribution registry: blobs, mounts, manifests, and each auth mode.

const blobOf = (bytes: Buffer) => ({
  digest: sha256Digest(bytes),
  size: bytes.length,
  open: async function* () {
    for (let i = 0; i < bytes.length; i += 64 * 1024) yield bytes.subarray(i, i + 64 * 1024);
  },
});

describe('registry client, no auth', () => {
  let registry: TestRegistry;
  let client: RegistryClient;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'none' });
    client = new RegistryClient({ registry: registry.host, retry: { baseDelayMs: 10 } });
  });
  afterAll(() => registry?.stop());

  it('uploads a blob in one streamed PUT, HEADs it and streams it back', async () => {
    const bytes = randomBytes(300_000);
    const blob = blobOf(bytes);
    expect(await client.headBlob('t/blobs', blob.digest)).toBeUndefined();
    const sentBefore = client.bytesSent;
    await client.uploadBlob('t/blobs', blob);
    expect(client.bytesSent - sentBefore).toBe(bytes.length);
    expect(await client.headBlob('t/blobs', blob.digest)).toBe(bytes.length);
    expect((await readBody(await client.getBlob('t/blobs', blob.digest))).equals(bytes)).toBe(true);
  });

  it('lets the registry refuse bytes that do not match the digest, without retrying', async () => {
    const blob = { ...blobOf(randomBytes(1000)), digest: sha256Digest('something else') };
    const error = await client.uploadBlob('t/blobs', blob).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).message).toMatch(/HTTP 400 \(DIGEST_INVALID/);
  });

  it('mounts a blob from another repository (201), and opens an upload when it cannot (202)', async () => {
    const blob = blobOf(randomBytes(2000));
    await client.uploadBlob('t/source', blob);
    expect(await client.mountBlob('t/target', blob.digest, 't/source')).toEqual({ mounted: true });
    expect(await client.headBlob('t/target', blob.digest)).toBe(2000);

    const other = blobOf(randomBytes(3000));
    const mount = await client.mountBlob('t/target', other.digest, 't/does-not-have-it');
    expect(mount.mounted).toBe(false);
    expect(mount.mounted === false && mount.location).toBeTruthy();
    await client.uploadBlob('t/target', other, { location: mount.mounted === false ? mount.location : undefined });
    expect(await client.headBlob('t/target', other.digest)).toBe(3000);
  });

  it('stores a manifest by digest and tag, and reads back the same bytes', async () => {
    const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
    await client.uploadBlob('t/manifests', blobOf(config));
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: sha256Digest(config), size: config.length }, layers: [] }));
    const digest = await client.putManifest('t/manifests', sha256Digest(manifest), manifest, MediaType.ociManifest);
    await client.putManifest('t/manifests', 'v1', manifest, MediaType.ociManifest);
    const fetched = await client.getManifest('t/manifests', 'v1');
    expect(fetched.digest).toBe(digest);
    expect(fetched.bytes.equals(manifest)).toBe(true);
    expect(fetched.mediaType).toBe(MediaType.ociManifest);
    expect((await client.headManifest('t/manifests', 'v1'))?.digest).toBe(digest);
    expect(await client.headManifest('t/manifests', 'v2')).toBeUndefined();
    expect(await client.listTags('t/manifests')).toEqual(['v1']);
    await expect(client.getManifest('t/manifests', 'v2')).rejects.toMatchObject({ status: 404 });
  });

  it('gives up on a registry that does not answer, naming it', async () => {
    const gone = new RegistryClient({ registry: '127.0.0.1:9', retry: { attempts: 2, baseDelayMs: 10 } });
    await expect(gone.headBlob('a/b', sha256Digest('x'))).rejects.toThrow(/^Registry 127\.0\.0\.1:9, repository a\/b: HEAD \/v2\/a\/b\/blobs\/sha256:\w+ failed after 2 tries: .*ECONNREFUSED/);
  });
});

describe('registry client, basic auth', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'basic' });
  });
  afterAll(() => registry?.stop());

  it('answers the Basic challenge with the credentials', async () => {
    const client = new RegistryClient({ registry: registry.host, credentials: { username: registry.username, password: registry.password } });
    await client.uploadBlob('t/basic', blobOf(Buffer.from('hello')));
    expect(await client.headBlob('t/basic', sha256Digest('hello'))).toBe(5);
  });

  it('reports refused credentials and missing ones as auth errors', async () => {
    const wrong = new RegistryClient({ registry: registry.host, credentials: { username: registry.username, password: 'nope' } });
    await expect(wrong.headBlob('t/basic', sha256Digest('x'))).rejects.toThrow(`Registry ${registry.host}, repository t/basic: refused the credentials of user "${registry.username}"`);
    const anonymous = new RegistryClient({ registry: registry.host });
    await expect(anonymous.headBlob('t/basic', sha256Digest('x'))).rejects.toThrow('requires a username and password');
  });
});

describe('registry client, token auth', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token', anonymousPull: ['public/base'], grant: (_user, repository, wanted) => (repository.startsWith('readonly/') ? wanted.filter((a) => a === 'pull') : wanted) });
  });
  afterAll(() => registry?.stop());

  it('asks one token for every declared scope and reuses it', async () => {
    const client = new RegistryClient({
      registry: registry.host,
      credentials: { username: registry.username, password: registry.password },
      scopes: [
        { repository: 'acme/iris', actions: ['pull', 'push'] },
        { repository: 'acme/server', actions: ['pull'] },
      ],
    });
    const before = registry.tokenRequests.length;
    const serverClient = new RegistryClient({ registry: registry.host, credentials: { username: registry.username, password: registry.password }, scopes: [{ repository: 'acme/server', actions: ['pull', 'push'] }] });
    await serverClient.uploadBlob('acme/server', blobOf(Buffer.from('base layer')));
    expect(await client.mountBlob('acme/iris', sha256Digest('base layer'), 'acme/server')).toEqual({ mounted: true });
    await client.headBlob('acme/iris', sha256Digest('base layer'));
    const mine = registry.tokenRequests.slice(before).filter((r) => r.scopes.includes('repository:acme/iris:pull,push'));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toEqual({ user: registry.username, scopes: ['repository:acme/iris:pull,push', 'repository:acme/server:pull'] });
  });

  it('reads anonymously where the registry allows it, and says so when it does not', async () => {
    const owner = new RegistryClient({ registry: registry.host, credentials: { username: registry.username, password: registry.password } });
    await owner.uploadBlob('public/base', blobOf(Buffer.from('public')));
    const anonymous = new RegistryClient({ registry: registry.host });
    expect(await anonymous.headBlob('public/base', sha256Digest('public'))).toBe(6);
    const error = await anonymous.uploadBlob('public/base', blobOf(Buffer.from('nope'))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryAuthError);
  });

  it('refuses with an auth error when the token lacks push', async () => {
    const client = new RegistryClient({ registry: registry.host, credentials: { username: registry.username, password: registry.password }, scopes: [{ repository: 'readonly/x', actions: ['pull', 'push'] }] });
    const error = await client.uploadBlob('readonly/x', blobOf(Buffer.from('x'))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryAuthError);
    expect((error as Error).message).toMatch(/^Registry 127\.0\.0\.1:\d+, repository readonly\/x: refused access even with a fresh token/);
  });

  it('reports a token service that refuses the password', async () => {
    const client = new RegistryClient({ registry: registry.host, credentials: { username: registry.username, password: 'wrong' } });
    await expect(client.headBlob('acme/iris', sha256Digest('x'))).rejects.toThrow(/token service refused the credentials of user "octocat"/);
  });
});
