import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failureMessage, runAction } from '../support/action-runner';
import { startRegistry, type TestRegistry } from '../support/registry';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { pushNodeBase, registryApi, suffix } from '../support/base-images';

// A flaky network between publish and the registry: connections cut mid-upload, 500s, 429s with
// Retry-After, a token that stops being accepted. Publish must end with the same digest a clean
// run gives, or fail with one clear line and no tag moved.

const MODEL_BYTES = 2 * 1024 * 1024 + 5;

describe('publish through a faulty network', () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  let baseRepository: string;
  let modelDir: string;
  let cleanDigest: string;

  const publish = (target: string, host = proxy.host) =>
    runAction('publish', {
      inputs: { 'model-path': modelDir, 'base-image': `${host}/${baseRepository}:1`, image: `${host}/${target}`, tags: 'candidate', 'registry-password': '' },
      env: { SOURCE_DATE_EPOCH: '1714000000' },
      timeoutMs: 120_000,
    });

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'none' });
    baseRepository = `base/node-${suffix()}`;
    await pushNodeBase(registry, baseRepository);
    proxy = await startFaultProxy(registry.host);
    modelDir = mkdtempSync(join(tmpdir(), 'tts-model-'));
    writeFileSync(join(modelDir, 'weights.bin'), randomBytes(MODEL_BYTES));
    const clean = await publish(`acme/clean-${suffix()}`, registry.host);
    expect(failureMessage(clean), clean.log).toBeUndefined();
    cleanDigest = clean.outputs.digest!;
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
    if (modelDir) rmSync(modelDir, { recursive: true, force: true });
  });

  it('restarts an upload cut half way from a fresh session and ends with the clean digest', async () => {
    proxy.setRules([{ method: 'PUT', path: /\/blobs\/uploads\//, nth: 1, cutAfterBodyBytes: 1024 * 1024 }]);
    const result = await publish(`acme/cut-${suffix()}`);
    expect(failureMessage(result), result.log).toBeUndefined();
    expect(result.outputs.digest).toBe(cleanDigest);
    expect(proxy.requests.filter((r) => r.fault === 'cut')).toHaveLength(1);
    // Two upload sessions were opened for the model layer: the cut one and the fresh one.
    expect(proxy.requests.filter((r) => r.method === 'PUT' && r.path.includes('/blobs/uploads/'))).toHaveLength(3);
    expect(result.log).toMatch(/starting a fresh upload/);
  });

  it('rides out 500s, 503s and 429 with Retry-After on every kind of request', async () => {
    proxy.setRules([
      { method: 'GET', path: /\/manifests\//, nth: 1, respond: 500 },
      { method: 'HEAD', path: /\/blobs\//, nth: 2, respond: 429, headers: { 'retry-after': '1' } },
      { method: 'POST', path: /\/blobs\/uploads\//, nth: 2, respond: 503 },
      { method: 'PUT', path: /\/blobs\/uploads\//, nth: 1, respond: 500 },
      { method: 'PUT', path: /\/manifests\/sha256:/, nth: 1, respond: 502 },
    ]);
    const started = Date.now();
    const result = await publish(`acme/flaky-${suffix()}`);
    expect(failureMessage(result), result.log).toBeUndefined();
    expect(result.outputs.digest).toBe(cleanDigest);
    expect(
      proxy.requests
        .filter((r) => r.fault === 'respond')
        .map((r) => r.status)
        .sort(),
    ).toEqual([429, 500, 500, 502, 503]);
    // Retry-After: 1 was honoured.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('fails cleanly, with no tag and no manifest, when blob uploads keep failing', async () => {
    const target = `acme/down-${suffix()}`;
    proxy.setRules([{ method: 'PUT', path: /\/blobs\/uploads\//, respond: 500 }]);
    const result = await publish(target);
    expect(result.exitCode).toBe(1);
    expect(failureMessage(result)).toMatch(/^Registry 127\.0\.0\.1:\d+, repository acme\/down-\w+: uploading blob sha256:[a-f0-9]{64}: HTTP 500/);
    expect(failureMessage(result)!.split('\n')).toHaveLength(1);
    expect(await registryApi(registry).tags(target)).toEqual([]);
    expect(proxy.requests.some((r) => r.method === 'PUT' && r.path.includes(`${target}/manifests/`))).toBe(false);
  }, 90_000);

  it('moves no tag when the manifest cannot be stored by digest', async () => {
    const target = `acme/nomanifest-${suffix()}`;
    proxy.setRules([{ method: 'PUT', path: /\/manifests\//, respond: 500 }]);
    const result = await publish(target);
    expect(result.exitCode).toBe(1);
    expect(failureMessage(result)).toMatch(/storing manifest sha256:[a-f0-9]{64}: HTTP 500/);
    expect(proxy.requests.filter((r) => r.method === 'PUT' && r.path.includes(`${target}/manifests/candidate`))).toEqual([]);
    expect(await registryApi(registry).tags(target)).toEqual([]);
  }, 90_000);
});

describe('publish when the registry stops accepting its token', () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  let modelDir: string;
  const baseRepository = `base/node-${suffix()}`;

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token' });
    await pushNodeBase(registry, baseRepository);
    proxy = await startFaultProxy(registry.host);
    modelDir = mkdtempSync(join(tmpdir(), 'tts-model-'));
    writeFileSync(join(modelDir, 'weights.bin'), randomBytes(64 * 1024));
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
    if (modelDir) rmSync(modelDir, { recursive: true, force: true });
  });

  it('fetches a fresh token once on a 401 and goes on', async () => {
    const challenge = (await fetch(`${registry.url}/v2/`)).headers.get('www-authenticate')!;
    const target = `acme/renew-${suffix()}`;
    // The third HEAD of a blob is refused as if its token had expired.
    proxy.setRules([{ method: 'HEAD', path: /\/blobs\//, nth: 3, respond: 401, headers: { 'www-authenticate': `${challenge},scope="repository:${target}:pull,push"` } }]);
    const before = registry.tokenRequests.length;
    const result = await runAction('publish', {
      inputs: { 'model-path': modelDir, 'base-image': `${proxy.host}/${baseRepository}:1`, image: `${proxy.host}/${target}`, 'registry-username': registry.username, 'registry-password': registry.password },
      env: { SOURCE_DATE_EPOCH: '1714000000' },
    });
    expect(failureMessage(result), result.log).toBeUndefined();
    expect(registry.tokenRequests.length - before).toBe(2);
    expect(proxy.requests.filter((r) => r.status === 401)).toHaveLength(1);
  });
});
