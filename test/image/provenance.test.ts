import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitTime, defaultTags, parsePublishTags, parseTags, toolkitLabels, withProvenance } from '../../src/image/provenance';
import { parseImageReference } from '../../src/registry/reference';

describe('defaultTags', () => {
  it.each<[string, number | undefined, string[]]>([
    ['0123456789abcdef0123456789abcdef01234567', undefined, ['sha-0123456']],
    ['feedfacefeedfacefeedfacefeedfacefeedface', 12, ['sha-feedfac', 'pr-12']],
    ['', undefined, []],
  ])('%s, PR %s', (sha, pr, expected) => {
    expect(defaultTags(sha, pr)).toEqual(expected);
  });
});

describe('parseTags', () => {
  it('keeps valid tags once each and refuses the rest by name', () => {
    expect(parseTags('tags', ['latest', 'v1.2_3', 'latest'])).toEqual(['latest', 'v1.2_3']);
    expect(() => parseTags('tags', [])).toThrow('Input "tags": names no tags');
    expect(() => parseTags('tags', ['ok', '.hidden'])).toThrow('Input "tags": ".hidden" is not a valid tag');
    expect(() => parseTags('targets', ['x'.repeat(129)])).toThrow('Input "targets"');
  });
});

// docker/metadata-action's outputs, in the shape its README documents (tags: full references one a
// line; labels: KEY=VALUE one a line, the revision being github.sha, the merge commit on a PR).
const metadataTags = 'ghcr.io/acme/iris:pr-17\nghcr.io/acme/iris:sha-feedfac';
const metadataLabels = new Map([
  ['org.opencontainers.image.title', 'iris'],
  ['org.opencontainers.image.description', ''],
  ['org.opencontainers.image.source', 'https://github.com/acme/iris'],
  ['org.opencontainers.image.version', 'pr-17'],
  ['org.opencontainers.image.created', '2026-11-30T10:00:00.000Z'],
  ['org.opencontainers.image.revision', '0000000000000000000000000000000000000001'],
  ['org.opencontainers.image.licenses', 'MIT'],
]);

describe('parsePublishTags', () => {
  const target = parseImageReference('ghcr.io/acme/iris', 'image', { tag: false, digest: false });

  it("takes docker/metadata-action's full references into the target repository, and bare tags", () => {
    expect(parsePublishTags('tags', metadataTags.split('\n'), target)).toEqual(['pr-17', 'sha-feedfac']);
    expect(parsePublishTags('tags', ['latest', 'ghcr.io/acme/iris:latest', 'v1'], target)).toEqual(['latest', 'v1']);
  });

  it('refuses another repository, a reference without a tag, a digest and bad tags, naming tags', () => {
    expect(() => parsePublishTags('tags', ['ghcr.io/acme/other:pr-17'], target)).toThrow(
      'Input "tags": "ghcr.io/acme/other:pr-17" is in ghcr.io/acme/other, not in ghcr.io/acme/iris (the image input): publish pushes to that one repository',
    );
    expect(() => parsePublishTags('tags', ['docker.io/acme/iris:1'], target)).toThrow('is in docker.io/acme/iris, not in ghcr.io/acme/iris');
    expect(() => parsePublishTags('tags', ['ghcr.io/acme/iris'], target)).toThrow('Input "tags": "ghcr.io/acme/iris" names no tag (write ghcr.io/acme/iris:TAG, or only TAG)');
    expect(() => parsePublishTags('tags', [`ghcr.io/acme/iris@sha256:${'a'.repeat(64)}`], target)).toThrow('give the repository without a digest here');
    expect(() => parsePublishTags('tags', ['ghcr.io/acme/iris:-bad'], target)).toThrow(/^Input "tags": .*the tag "-bad"/);
    expect(() => parsePublishTags('tags', ['-bad'], target)).toThrow('Input "tags": "-bad" is not a valid tag');
  });
});

describe('withProvenance', () => {
  const toolkit = toolkitLabels({ sourceUrl: 'https://github.com/acme/iris', revision: 'feedfacefeedfacefeedfacefeedfacefeedface', created: '2024-01-01T00:00:00Z' }, undefined, 'model');

  it("takes docker/metadata-action's labels, but keeps the toolkit's provenance (the gated commit, its time, the source)", () => {
    const { merged, ignored } = withProvenance(metadataLabels, toolkit);
    expect(merged).toEqual({
      ...toolkit,
      'org.opencontainers.image.title': 'iris',
      'org.opencontainers.image.description': '',
      'org.opencontainers.image.version': 'pr-17',
      'org.opencontainers.image.licenses': 'MIT',
    });
    expect(ignored.sort()).toEqual(['org.opencontainers.image.created', 'org.opencontainers.image.revision']);
  });

  it('never lets a user label stand in for a provenance label the toolkit left out, and keeps odd keys as labels', () => {
    const { ['org.opencontainers.image.revision']: _revision, ...withoutRevision } = toolkit;
    const { merged, ignored } = withProvenance(
      new Map([
        ['org.opencontainers.image.revision', 'abc'],
        ['__proto__', 'x'],
        ['constructor', 'y'],
      ]),
      withoutRevision,
    );
    expect(merged['org.opencontainers.image.revision']).toBeUndefined();
    expect(ignored).toEqual(['org.opencontainers.image.revision']);
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(Object.keys(merged)).toEqual(expect.arrayContaining(['__proto__', 'constructor']));
  });
});

describe('toolkitLabels', () => {
  it('writes source, revision, created, model dir and metrics', () => {
    expect(toolkitLabels({ sourceUrl: 'https://github.com/acme/iris', revision: 'abc', created: '2024-01-01T00:00:00Z' }, '{"accuracy":0.9}', 'model')).toEqual({
      'org.opencontainers.image.source': 'https://github.com/acme/iris',
      'org.opencontainers.image.revision': 'abc',
      'org.opencontainers.image.created': '2024-01-01T00:00:00Z',
      'train-to-serve.model-dir': '/model',
      'train-to-serve.metrics': '{"accuracy":0.9}',
    });
  });
});

describe('commitTime', () => {
  const base = { env: {}, workspace: tmpdir(), revisions: [], payload: {} };

  it('takes SOURCE_DATE_EPOCH first', async () => {
    expect(await commitTime({ ...base, env: { SOURCE_DATE_EPOCH: '1714000000' } })).toBe('2024-04-24T23:06:40Z');
  });

  it('reads the commit time from git in the workspace', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'tts-git-'));
    try {
      const git = (...args: string[]) =>
        execFileSync('git', args, {
          cwd: repo,
          env: { ...process.env, GIT_AUTHOR_DATE: '2023-05-06T07:08:09Z', GIT_COMMITTER_DATE: '2023-05-06T07:08:09Z', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' },
          encoding: 'utf8',
        }).trim();
      git('init', '-q');
      writeFileSync(join(repo, 'f'), 'x');
      git('add', 'f');
      git('commit', '-qm', 'x');
      const sha = git('rev-parse', 'HEAD');
      expect(await commitTime({ ...base, workspace: repo, revisions: [sha] })).toBe('2023-05-06T07:08:09Z');
      // An unknown revision (a PR head outside a shallow checkout) falls back to HEAD.
      expect(await commitTime({ ...base, workspace: repo, revisions: ['f'.repeat(40)] })).toBe('2023-05-06T07:08:09Z');
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });

  it('falls back to the push event’s head commit, then to nothing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'tts-nogit-'));
    try {
      expect(await commitTime({ ...base, workspace: empty, payload: { head_commit: { timestamp: '2022-02-02T02:02:02+01:00' } } })).toBe('2022-02-02T01:02:02Z');
      expect(await commitTime({ ...base, workspace: empty })).toBeUndefined();
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
