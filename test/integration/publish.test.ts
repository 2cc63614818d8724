import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { failureMessage, runAction, type ActionRunResult } from '../support/action-runner';
import { startRegistry, type RegistryAuth, type TestRegistry } from '../support/registry';
import { docker } from '../support/docker-cli';
import { dockerConfigFor, pushNodeBase, pushOciIndex, registryApi, sha256, suffix } from '../support/base-images';

// publish against the real registry in each auth mode GHCR users meet, checked the way a user
// would: docker pull + docker run of the result, skopeo inspect of its labels.

const SOURCE_DATE_EPOCH = '1714000000';
const CREATED = '2024-04-24T23:06:40Z';

function makeModel(): { dir: string; files: Record<string, { sha: string; mode: number }> } {
  const dir = mkdtempSync(join(tmpdir(), 'tts-model-'));
  const put = (name: string, bytes: Buffer | string, mode = 0o644) => {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), bytes);
    chmodSync(join(dir, name), mode);
  };
  put('weights.bin', randomBytes(3 * 1024 * 1024 + 17));
  put('config.json', JSON.stringify({ layers: 4 }));
  put('tokenizer/vocab.txt', 'a\nb\nc\n');
  put('bin/predict.sh', '#!/bin/sh\necho hi\n', 0o755);
  symlinkSync('weights.bin', join(dir, 'latest.bin'));
  const files: Record<string, { sha: string; mode: number }> = {};
  for (const name of ['weights.bin', 'config.json', 'tokenizer/vocab.txt', 'bin/predict.sh']) {
    files[name] = { sha: sha256(readFileSync(join(dir, name))).slice(7), mode: name.endsWith('.sh') ? 0o755 : 0o644 };
  }
  return { dir, files };
}

/** What /model holds inside a container of the image, reported by the image's own node. */
const INSPECT_MODEL = `
const fs = require('fs'), path = require('path'), crypto = require('crypto');
const out = {};
const walk = (dir, rel) => { for (const name of fs.readdirSync(dir).sort()) {
  const abs = path.join(dir, name), r = rel ? rel + '/' + name : name, st = fs.lstatSync(abs);
  if (st.isSymbolicLink()) out[r] = { link: fs.readlinkSync(abs) };
  else if (st.isDirectory()) walk(abs, r);
  else out[r] = { sha: crypto.createHash('sha256').update(fs.readFileSync(abs)).digest('hex'), mode: st.mode & 0o7777, uid: st.uid, mtime: st.mtimeMs };
} };
walk(process.argv[1], '');
console.log(JSON.stringify(out));
`;

interface SkopeoInspect {
  Labels: Record<string, string>;
  Digest: string;
  Architecture: string;
}

function skopeoInspect(reference: string, registry: TestRegistry): Promise<SkopeoInspect> {
  const creds = registry.auth === 'none' ? [] : ['--creds', `${registry.username}:${registry.password}`];
  return new Promise((resolve, reject) =>
    execFile('skopeo', ['inspect', '--tls-verify=false', ...creds, `docker://${reference}`], (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(JSON.parse(stdout) as SkopeoInspect))),
  );
}

function publish(registry: TestRegistry, inputs: Record<string, string>, env: Record<string, string> = {}, event?: { name: string; payload: Record<string, unknown> }): Promise<ActionRunResult> {
  return runAction('publish', {
    inputs: {
      ...(registry.auth === 'none' ? { 'registry-password': '' } : { 'registry-username': registry.username, 'registry-password': registry.password }),
      ...inputs,
    },
    env: { SOURCE_DATE_EPOCH, ...env },
    event,
  });
}

describe.each(['none', 'basic', 'token'] as RegistryAuth[])('publish to a registry with auth %s', (auth) => {
  let registry: TestRegistry;
  let base: string;
  let model: ReturnType<typeof makeModel>;
  const target = `acme/iris-${suffix()}`;
  const pulled: string[] = [];
  const cleanups: (() => void)[] = [];

  beforeAll(async () => {
    registry = await startRegistry({ auth });
    base = await pushNodeBase(registry, `base/node-${suffix()}`);
    model = makeModel();
  });
  afterAll(async () => {
    for (const reference of pulled) await docker(['rmi', '--force', reference]).catch(() => {});
    for (const cleanup of cleanups) cleanup();
    await registry?.stop();
    if (model) rmSync(model.dir, { recursive: true, force: true });
  });

  it('pushes the model onto the base, runnable by docker, labelled, and a second publish uploads no model byte', async () => {
    const metricsDir = mkdtempSync(join(tmpdir(), 'tts-metrics-'));
    cleanups.push(() => rmSync(metricsDir, { recursive: true, force: true }));
    writeFileSync(join(metricsDir, 'metrics.json'), JSON.stringify({ accuracy: 0.953, eval: { loss: 0.12 } }));
    const event = { name: 'pull_request', payload: { pull_request: { number: 17, head: { sha: 'feedfacefeedfacefeedfacefeedfacefeedface' }, base: {} } } };
    const first = await publish(registry, { 'model-path': model.dir, 'base-image': base, image: `${registry.host}/${target}`, metrics: join(metricsDir, 'metrics.json'), labels: 'team=vision' }, {}, event);
    expect(failureMessage(first), first.log).toBeUndefined();
    expect(first.exitCode).toBe(0);
    const digest = first.outputs.digest!;
    expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(first.outputs.image).toBe(`${registry.host}/${target}@${digest}`);
    expect(first.outputs.tags!.split('\n')).toEqual([`${registry.host}/${target}:sha-feedfac`, `${registry.host}/${target}:pr-17`]);
    expect(first.summary).toContain('Published model image');
    expect(first.summary).toMatch(/Model bytes uploaded \| 3\.0 MiB/);

    // The registry API: both tags name the digest, media types stay in the base's (Docker) family.
    const api = registryApi(registry.auth === 'token' ? { ...registry, auth: 'none' } : registry);
    if (auth !== 'token') {
      for (const tag of ['sha-feedfac', 'pr-17']) expect((await api.manifest(target, tag)).digest).toBe(digest);
      const manifest = (await api.manifest(target, digest)).json;
      expect(manifest.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
      expect(manifest.layers.at(-1)?.mediaType).toBe('application/vnd.docker.image.rootfs.diff.tar');
    }

    // skopeo sees the labels.
    const inspected = await skopeoInspect(`${registry.host}/${target}:pr-17`, registry);
    expect(inspected.Digest).toBe(digest);
    expect(inspected.Labels).toMatchObject({
      'org.opencontainers.image.source': 'https://github.com/acme/iris',
      'org.opencontainers.image.revision': 'feedfacefeedfacefeedfacefeedfacefeedface',
      'org.opencontainers.image.created': CREATED,
      'train-to-serve.model-dir': '/model',
      team: 'vision',
    });
    expect(JSON.parse(inspected.Labels['train-to-serve.metrics']!)).toEqual({ accuracy: 0.953, 'eval.loss': 0.12 });

    // docker pull + docker run: the model inside is byte for byte the one on disk.
    if (auth !== 'basic') {
      const config = await dockerConfigFor(registry);
      cleanups.push(config.cleanup);
      const reference = `${registry.host}/${target}@${digest}`;
      await docker(['--config', config.dir, 'pull', reference]);
      pulled.push(reference);
      const inside = JSON.parse(await docker(['run', '--rm', '--name', `tts-publish-${suffix()}`, reference, 'node', '-e', INSPECT_MODEL, '/model'])) as Record<
        string,
        { sha?: string; mode?: number; uid?: number; mtime?: number; link?: string }
      >;
      for (const [name, { sha, mode }] of Object.entries(model.files)) expect(inside[name], name).toMatchObject({ sha, mode, uid: 0, mtime: 0 });
      expect(inside['latest.bin']).toEqual({ link: 'weights.bin' });
    }

    // Unchanged: the same digest, and not one model byte uploaded.
    const second = await publish(registry, { 'model-path': model.dir, 'base-image': base, image: `${registry.host}/${target}`, annotations: 'a=b' }, {}, event);
    expect(failureMessage(second), second.log).toBeUndefined();
    expect(second.annotations).toContainEqual({ level: 'warning', message: expect.stringContaining('Docker manifest types, which carry no annotations') });
    expect(second.summary).toMatch(/Model bytes uploaded \| 0 B/);
    expect(second.summary).toMatch(/Model bytes skipped \(the registry had them\) \| 3\.0 MiB/);
    // Metrics and labels differ, so the config differs; without them the digests match exactly:
    const third = await publish(registry, { 'model-path': model.dir, 'base-image': base, image: `${registry.host}/${target}`, tags: 'again', annotations: 'a=b' }, {}, event);
    expect(third.outputs.digest).toBe(second.outputs.digest);

    if (auth !== 'none') {
      // The password never shows: not in the log, outputs, summary or labels.
      for (const result of [first, second, third]) {
        expect(result.masked).toContain(registry.password);
        expect(result.log).not.toContain(registry.password);
        expect(JSON.stringify(result.outputs)).not.toContain(registry.password);
        expect(result.summary).not.toContain(registry.password);
      }
      expect(JSON.stringify(inspected)).not.toContain(registry.password);
    }
    if (auth === 'token') {
      // One token asked for push on the target and pull on the base, together (what a mount needs).
      const baseRepository = base.slice(registry.host.length + 1).split(':')[0];
      expect(registry.tokenRequests.some((r) => r.user === registry.username && r.scopes.includes(`repository:${target}:pull,push`) && r.scopes.includes(`repository:${baseRepository}:pull`))).toBe(true);
    }
  }, 180_000);
});

describe('publish onto a multi-platform OCI index', () => {
  let registry: TestRegistry;
  let index: Awaited<ReturnType<typeof pushOciIndex>>;
  let model: ReturnType<typeof makeModel>;
  const pulled: string[] = [];

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'none' });
    const base = await pushNodeBase(registry, `base/node-${suffix()}`);
    index = await pushOciIndex(registry, base, `base/multi-${suffix()}`);
    model = makeModel();
  });
  afterAll(async () => {
    for (const reference of pulled) await docker(['rmi', '--force', reference]).catch(() => {});
    await registry?.stop();
    if (model) rmSync(model.dir, { recursive: true, force: true });
  });

  it('takes linux/amd64 by default, keeps OCI media types, and the image runs', async () => {
    const target = `acme/multi-${suffix()}`;
    const result = await publish(registry, { 'model-path': join(model.dir, 'weights.bin'), 'base-image': index.reference, image: `${registry.host}/${target}`, 'model-dir': '/opt/models/iris', annotations: 'com.example.team=vision' });
    expect(failureMessage(result), result.log).toBeUndefined();
    const api = registryApi(registry);
    const manifest = await api.manifest(target, result.outputs.digest!);
    expect(manifest.json.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(manifest.json.layers.at(-1)?.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
    expect(manifest.json.annotations).toMatchObject({
      'org.opencontainers.image.revision': '0123456789abcdef0123456789abcdef01234567',
      'org.opencontainers.image.source': 'https://github.com/acme/iris',
      'org.opencontainers.image.base.name': index.reference,
      'com.example.team': 'vision',
    });
    const baseAmd64 = await api.manifest(index.reference.slice(registry.host.length + 1).split(':')[0]!, index.amd64);
    expect(manifest.json.layers.slice(0, -1)).toEqual(baseAmd64.json.layers);
    expect(result.summary).toContain('linux/amd64');

    const reference = result.outputs.image!;
    await docker(['pull', reference]);
    pulled.push(reference);
    const inside = JSON.parse(await docker(['run', '--rm', '--name', `tts-publish-${suffix()}`, reference, 'node', '-e', INSPECT_MODEL, '/opt/models/iris'])) as Record<string, { sha: string }>;
    expect(inside['weights.bin']!.sha).toBe(model.files['weights.bin']!.sha);
  }, 180_000);

  it('takes another platform when asked', async () => {
    const target = `acme/multi-${suffix()}`;
    const result = await publish(registry, { 'model-path': join(model.dir, 'config.json'), 'base-image': index.reference, image: `${registry.host}/${target}`, platform: 'linux/arm64' });
    expect(failureMessage(result), result.log).toBeUndefined();
    const inspected = await skopeoInspect(`${result.outputs.image}`, registry);
    expect(inspected.Architecture).toBe('arm64');
  });
});
