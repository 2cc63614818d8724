import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failureMessage, runAction } from '../support/action-runner';
import { readImageLabels } from '../../src/image/metadata';
import { startRegistry, type TestRegistry } from '../support/registry';
import { pushNodeBase, pushOciIndex, registryApi, suffix } from '../support/base-images';

// The bad-input catalogue: every mistake gets one line naming the input, and nothing is pushed
// under the target tag.

describe('publish refuses bad input clearly and pushes nothing', () => {
  let registry: TestRegistry;
  let root: string;
  let base: string;
  let index: string;
  let socketServer: Server;
  const target = `acme/refused-${suffix()}`;
  const dirs: Record<string, string> = {};

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'basic' });
    base = await pushNodeBase(registry, `base/node-${suffix()}`);
    index = (await pushOciIndex(registry, base, `base/multi-${suffix()}`)).reference;
    root = mkdtempSync(join(tmpdir(), 'tts-bad-models-'));
    const model = (name: string, files: Record<string, string> = { 'weights.bin': 'w' }) => {
      const dir = join(root, name);
      mkdirSync(dir, { recursive: true });
      for (const [file, content] of Object.entries(files)) {
        mkdirSync(join(dir, file, '..'), { recursive: true });
        writeFileSync(join(dir, file), content);
      }
      dirs[name] = dir;
      return dir;
    };
    model('good');
    model('empty', {});
    mkdirSync(join(root, 'empty', 'sub'));
    writeFileSync(join(root, 'empty-file.bin'), '');
    symlinkSync('../../etc/passwd', join(model('escaping'), 'passwd'));
    symlinkSync('/etc/hostname', join(model('absolute'), 'host'));
    execFileSync('mkfifo', [join(model('fifo'), 'queue')]);
    const socketPath = join(model('socket'), 'server.sock');
    socketServer = createServer();
    await new Promise<void>((resolve) => socketServer.listen(socketPath, resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => (socketServer ? socketServer.close(resolve) : resolve(undefined)));
    await registry?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const cases: [string, () => Record<string, string>, RegExp][] = [
    ['model-path not given', () => ({ 'model-path': '' }), /^Input "model-path": is required$/],
    ['model-path missing', () => ({ 'model-path': join(root, 'nope') }), /^Input "model-path": ".*nope" does not exist$/],
    ['model-path an empty directory', () => ({ 'model-path': dirs.empty! }), /^Input "model-path": ".*empty" holds no files$/],
    ['model-path an empty file', () => ({ 'model-path': join(root, 'empty-file.bin') }), /^Input "model-path": ".*empty-file\.bin" is an empty file$/],
    ['a symlink escaping the model directory', () => ({ 'model-path': dirs.escaping! }), /^Input "model-path": "passwd" is a symlink to "\.\.\/\.\.\/etc\/passwd", outside the model directory$/],
    ['an absolute symlink', () => ({ 'model-path': dirs.absolute! }), /^Input "model-path": "host" is a symlink to the absolute path "\/etc\/hostname"/],
    ['a named pipe', () => ({ 'model-path': dirs.fifo! }), /^Input "model-path": "queue" is a named pipe/],
    ['a socket', () => ({ 'model-path': dirs.socket! }), /^Input "model-path": "server\.sock" is a socket/],
    ['an upper-case image', () => ({ image: `${registry.host}/Acme/Iris` }), /^Input "image": ".*\/Acme\/Iris" is not a valid image reference: repository names must be lower-case \(try "acme\/iris"\)$/],
    ['an image with a tag', () => ({ image: `${registry.host}/${target}:v1` }), /^Input "image": .* give the repository without a tag here$/],
    ['an image with a URL scheme', () => ({ image: `https://${registry.host}/${target}` }), /^Input "image": .*leave out the URL scheme/],
    ['a base image with a bad digest', () => ({ 'base-image': `${base}@sha256:abc` }), /^Input "base-image": .*the digest "sha256:abc" is not sha256: followed by 64/],
    ['an unknown base tag', () => ({ 'base-image': `${base.slice(0, base.lastIndexOf(':'))}:nope` }), /^Input "base-image": 127\.0\.0\.1:\d+\/base\/node-\w+ has no tag "nope"$/],
    ['a wrong password', () => ({ 'registry-password': 'wrong' }), /^Input "registry-password": Registry 127\.0\.0\.1:\d+.*refused the credentials of user "octocat" \(check registry-username and registry-password\)$/],
    ['a platform the base index lacks', () => ({ 'base-image': index, platform: 'linux/s390x' }), /^Input "platform": linux\/s390x is not in the base image .* which has linux\/amd64, linux\/arm64\/v8$/],
    ['a malformed platform', () => ({ platform: 'amd64' }), /^Input "platform": expected os\/architecture\[\/variant\]/],
    ['a bad tag', () => ({ tags: 'ok\n-bad' }), /^Input "tags": "-bad" is not a valid tag/],
    [
      'a tag in another repository',
      () => ({ tags: `${registry.host}/${target}:ok\n${registry.host}/acme/elsewhere:v1` }),
      /^Input "tags": "127\.0\.0\.1:\d+\/acme\/elsewhere:v1" is in 127\.0\.0\.1:\d+\/acme\/elsewhere, not in 127\.0\.0\.1:\d+\/acme\/refused-\w+ \(the image input\): publish pushes to that one repository$/,
    ],
    ['a reference without a tag', () => ({ tags: `${registry.host}/${target}` }), /^Input "tags": ".*" names no tag \(write .*:TAG, or only TAG\)$/],
    ['a relative model-dir', () => ({ 'model-dir': 'model' }), /^Input "model-dir": must be an absolute path/],
    ['a bad label line', () => ({ labels: 'no-equals-sign' }), /^Input "labels": line 1: expected KEY=VALUE/],
    ['a missing metrics file', () => ({ metrics: join(root, 'metrics.json') }), /^Input "metrics": Metrics file ".*metrics\.json": does not exist$/],
  ];

  it.each(cases)('%s', async (_name, inputs, message) => {
    const result = await runAction('publish', {
      inputs: {
        'model-path': dirs.good!,
        'base-image': base,
        image: `${registry.host}/${target}`,
        tags: 'latest',
        'registry-username': registry.username,
        'registry-password': registry.password,
        ...inputs(),
      },
      env: { SOURCE_DATE_EPOCH: '1714000000' },
    });
    expect(result.exitCode).toBe(1);
    const errors = result.annotations.filter((a) => a.level === 'error');
    expect(errors).toHaveLength(1);
    expect(failureMessage(result)).toMatch(message);
    expect(await registryApi(registry).tags(target)).toEqual([]);
  });

  it('publishes when nothing is wrong (the catalogue above is not failing for another reason)', async () => {
    const result = await runAction('publish', {
      inputs: { 'model-path': dirs.good!, 'base-image': base, image: `${registry.host}/${target}-ok`, tags: 'latest', 'registry-username': registry.username, 'registry-password': registry.password },
      env: { SOURCE_DATE_EPOCH: '1714000000' },
    });
    expect(failureMessage(result), result.log).toBeUndefined();
    expect(await registryApi(registry).tags(`${target}-ok`)).toEqual(['latest']);
  });

  it("takes docker/metadata-action's tags and labels outputs as they are", async () => {
    const image = `${registry.host}/${target}-meta`;
    // The two outputs as docker/metadata-action writes them on a pull request: full references one
    // a line, and OCI labels whose revision is the merge commit and whose time is the clock's.
    const result = await runAction('publish', {
      inputs: {
        'model-path': dirs.good!,
        'base-image': base,
        image,
        tags: `${image}:pr-17\n${image}:sha-feedfac\n`,
        labels: [
          'org.opencontainers.image.title=iris',
          'org.opencontainers.image.description=',
          'org.opencontainers.image.version=pr-17',
          'org.opencontainers.image.created=2026-11-30T10:00:00.000Z',
          'org.opencontainers.image.revision=0000000000000000000000000000000000000001',
        ].join('\n'),
        'registry-username': registry.username,
        'registry-password': registry.password,
      },
      env: { SOURCE_DATE_EPOCH: '1714000000', GITHUB_SHA: 'feedfacefeedfacefeedfacefeedfacefeedface' },
    });
    expect(failureMessage(result), result.log).toBeUndefined();
    expect(result.outputs.tags!.split('\n')).toEqual([`${image}:pr-17`, `${image}:sha-feedfac`]);
    const api = registryApi(registry);
    expect((await api.tags(`${target}-meta`)).sort()).toEqual(['pr-17', 'sha-feedfac']);
    const manifest = (await api.manifest(`${target}-meta`, 'pr-17')).json;
    const config = JSON.parse((await api.blob(`${target}-meta`, manifest.config.digest)).toString()) as { config: { Labels: Record<string, string> } };
    expect(config.config.Labels).toMatchObject({
      'org.opencontainers.image.title': 'iris',
      'org.opencontainers.image.description': '',
      'org.opencontainers.image.version': 'pr-17',
      'org.opencontainers.image.created': '2024-04-24T23:06:40Z',
      'org.opencontainers.image.revision': 'feedfacefeedfacefeedfacefeedfacefeedface',
    });
    const warning = result.annotations.find((a) => a.level === 'warning' && a.message.includes('provenance'))?.message;
    expect(warning).toMatch(/^Input "labels": org\.opencontainers\.image\.created, org\.opencontainers\.image\.revision are written by the toolkit/);
  });

  // Issue 10, defect 4: user labels could overwrite the revision promote checks. This failed before:
  // the image carried the user's revision.
  it('keeps the toolkit’s provenance labels and annotations over the user’s, with a warning', async () => {
    const forged = '0'.repeat(40);
    const result = await runAction('publish', {
      inputs: {
        'model-path': dirs.good!,
        'base-image': base,
        image: `${registry.host}/${target}-labels`,
        tags: 'latest',
        'registry-username': registry.username,
        'registry-password': registry.password,
        labels: `org.opencontainers.image.revision=${forged}\norg.opencontainers.image.source=https://github.com/someone/else\ntrain-to-serve.metrics={"accuracy":1}\nteam=vision`,
        annotations: `org.opencontainers.image.revision=${forged}`,
      },
      env: { SOURCE_DATE_EPOCH: '1714000000' },
    });
    expect(failureMessage(result), result.log).toBeUndefined();
    const warning = result.annotations.find((a) => a.level === 'warning' && a.message.includes('provenance'))?.message;
    expect(warning).toMatch(/^Input "labels": org\.opencontainers\.image\.revision, org\.opencontainers\.image\.source, train-to-serve\.metrics are written by the toolkit \(provenance\); the given values are ignored$/);
    const labels = await readImageLabels(`${registry.host}/${target}-labels:latest`, { credentials: { username: registry.username, password: registry.password } });
    expect(labels?.['org.opencontainers.image.revision']).toBe('0123456789abcdef0123456789abcdef01234567');
    expect(labels?.['org.opencontainers.image.source']).toBe('https://github.com/acme/iris');
    expect(labels?.['train-to-serve.metrics']).toBeUndefined();
    expect(labels?.team).toBe('vision');
  });
});
