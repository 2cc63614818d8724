// The release workflow's parts that can run off GitHub: the tag check and notes
// (scripts/release-notes.mjs), and the shell of its steps, taken from .github/workflows/release.yml
// and run with bash, real git and a bare remote, as the runner would run them.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { changelogSection, releaseOf } from '../../scripts/release-notes.mjs';

const repo = join(import.meta.dirname, '../..');
const scratch = mkdtempSync(join(tmpdir(), 'tts-release-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const CHANGELOG = `# Changelog

## [Unreleased]

- Something not released yet.

## [1.2.0] - 2026-12-24

### Added

- \`publish\` takes full references.

### Fixed

- A drain that waited too long.

## [1.2.0-rc.1] - 2026-12-20

- The candidate.

## [1.1.0] - 2026-11-30

- Older.

[1.2.0]: https://github.com/acme/train-to-serve/compare/v1.1.0...v1.2.0
`;

describe('changelogSection', () => {
  it('takes the body of one version up to the next section, and its date', () => {
    expect(changelogSection(CHANGELOG, '1.2.0')).toEqual({
      body: '### Added\n\n- `publish` takes full references.\n\n### Fixed\n\n- A drain that waited too long.',
      date: '2026-12-24',
    });
    expect(changelogSection(CHANGELOG, '1.1.0')).toEqual({ body: '- Older.', date: '2026-11-30' });
    expect(changelogSection(CHANGELOG, '1.2.0-rc.1')?.body).toBe('- The candidate.');
    expect(changelogSection(CHANGELOG, '1.3.0')).toBeUndefined();
    expect(changelogSection('## [2.0.0] - Unreleased\n\n- x\n', '2.0.0')).toEqual({ body: '- x', date: undefined });
  });
});

describe('releaseOf', () => {
  const facts = { packageVersion: '1.2.0', changelog: CHANGELOG };

  it('gives the version, the major tag and the notes of a release tag', () => {
    expect(releaseOf('v1.2.0', facts)).toEqual({
      version: '1.2.0',
      major: 'v1',
      prerelease: false,
      notes: '### Added\n\n- `publish` takes full references.\n\n### Fixed\n\n- A drain that waited too long.\n',
    });
    expect(releaseOf('v1.2.0-rc.1', { ...facts, packageVersion: '1.2.0-rc.1' })).toMatchObject({ major: 'v1', prerelease: true });
  });

  it.each([
    ['1.2.0', facts, 'tag "1.2.0" is not vX.Y.Z'],
    ['v1.2', facts, 'tag "v1.2" is not vX.Y.Z'],
    ['v01.2.0', facts, 'is not vX.Y.Z'],
    ['v1.1.0', facts, 'tag v1.1.0 is version 1.1.0, but package.json says 1.2.0'],
    ['v1.3.0', { ...facts, packageVersion: '1.3.0' }, 'CHANGELOG.md has no "## [1.3.0] - YYYY-MM-DD" section'],
    ['v2.0.0', { packageVersion: '2.0.0', changelog: '## [2.0.0] - Unreleased\n\n- x\n' }, "CHANGELOG.md's section for 2.0.0 has no release date"],
    ['v2.0.0', { packageVersion: '2.0.0', changelog: '## [2.0.0] - 2027-01-01\n\n## [1.0.0] - 2026-01-01\n- y\n' }, "CHANGELOG.md's section for 2.0.0 is empty"],
  ])('refuses %s', (tag, given, message) => {
    expect(() => releaseOf(tag, given)).toThrow(message);
  });

  it("finds this repository's first release in CHANGELOG.md at package.json's version", () => {
    const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;
    const section = changelogSection(readFileSync(join(repo, 'CHANGELOG.md'), 'utf8'), version);
    expect(section?.body).toContain('### Added');
  });
});

// The workflow's own steps, run with bash as the runner runs `run:` (bash -e {0}).
type Step = { id?: string; name?: string; run?: string; env?: Record<string, string> };
const workflow = parse(readFileSync(join(repo, '.github/workflows/release.yml'), 'utf8')) as { on: { push: { tags: string[] } }; jobs: Record<string, { steps: Step[] }> };
const step = (job: string, id: string) => {
  const found = workflow.jobs[job]!.steps.find((s) => s.id === id);
  if (!found?.run) throw new Error(`release.yml: job ${job} has no run step with id ${id}`);
  return found.run;
};
const runStep = (script: string, cwd: string, env: Record<string, string>) => spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], { cwd, env: { PATH: process.env.PATH, HOME: scratch, ...env }, encoding: 'utf8' });
const outputs = (file: string) => readFileSync(file, 'utf8');

describe('release.yml steps', () => {
  it('runs on version tags only', () => {
    expect(workflow.on.push.tags).toEqual(['v[0-9]+.[0-9]+.[0-9]+*']);
  });

  it('the tag step writes the notes and the outputs the other jobs read, and stops a wrong tag', () => {
    const dir = join(scratch, 'tag-step');
    mkdirSync(join(dir, 'scripts'), { recursive: true });
    copyFileSync(join(repo, 'scripts/release-notes.mjs'), join(dir, 'scripts/release-notes.mjs'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ version: '1.2.0' }));
    writeFileSync(join(dir, 'CHANGELOG.md'), CHANGELOG);
    const env = { RUNNER_TEMP: dir, GITHUB_OUTPUT: join(dir, 'output') };
    writeFileSync(env.GITHUB_OUTPUT, '');

    const good = runStep(step('check', 'tag'), dir, { ...env, GITHUB_REF_NAME: 'v1.2.0' });
    expect(good.status, good.stderr).toBe(0);
    expect(outputs(env.GITHUB_OUTPUT)).toBe('version=1.2.0\nmajor=v1\nprerelease=false\n');
    expect(readFileSync(join(dir, 'notes.md'), 'utf8')).toContain('- A drain that waited too long.\n');

    const bad = runStep(step('check', 'tag'), dir, { ...env, GITHUB_REF_NAME: 'v1.1.0' });
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim()).toBe('release v1.1.0: tag v1.1.0 is version 1.1.0, but package.json says 1.2.0: set the version and tag that commit');
  });

  it('the image step names the GHCR image in lower case, with the major tag only for a release', () => {
    const dir = join(scratch, 'names-step');
    mkdirSync(dir, { recursive: true });
    const output = join(dir, 'output');
    const names = (version: string, prerelease: string) => {
      writeFileSync(output, '');
      const result = runStep(step('image', 'names'), dir, { GITHUB_OUTPUT: output, GITHUB_REPOSITORY: 'Acme/Train-To-Serve', VERSION: version, MAJOR: 'v1', PRERELEASE: prerelease });
      expect(result.status, result.stderr).toBe(0);
      return outputs(output);
    };
    expect(names('1.2.0', 'false')).toBe('image=ghcr.io/acme/train-to-serve/prediction-server\ntags<<EOF\nghcr.io/acme/train-to-serve/prediction-server:1.2.0\nghcr.io/acme/train-to-serve/prediction-server:1\nEOF\n');
    expect(names('1.2.0-rc.1', 'true')).toBe('image=ghcr.io/acme/train-to-serve/prediction-server\ntags<<EOF\nghcr.io/acme/train-to-serve/prediction-server:1.2.0-rc.1\nEOF\n');
  });

  it('the major-tag step moves v1 on the remote to each new release', () => {
    const remote = join(scratch, 'remote.git');
    const work = join(scratch, 'work');
    const git = (cwd: string, ...args: string[]) =>
      execFileSync('git', args, { cwd, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: scratch, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' } }).trim();
    execFileSync('git', ['init', '--quiet', '--bare', remote]);
    mkdirSync(work);
    git(work, 'init', '--quiet');
    git(work, 'remote', 'add', 'origin', remote);
    const release = (version: string) => {
      git(work, 'commit', '--quiet', '--allow-empty', '-m', version);
      git(work, 'tag', `v${version}`);
      git(work, 'push', '--quiet', 'origin', 'HEAD:refs/heads/main', `refs/tags/v${version}`);
      const sha = git(work, 'rev-parse', 'HEAD');
      const result = runStep(step('release', 'major'), work, { MAJOR: 'v1', GITHUB_SHA: sha, GITHUB_REF_NAME: `v${version}` });
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toContain(`v1 now names ${sha} (v${version})`);
      return sha;
    };
    const first = release('1.0.0');
    expect(git(remote, 'rev-parse', 'v1^{commit}')).toBe(first);
    const second = release('1.1.0');
    expect(second).not.toBe(first);
    expect(git(remote, 'rev-parse', 'v1^{commit}')).toBe(second);
    expect(git(remote, 'rev-parse', 'v1.0.0^{commit}')).toBe(first);
  });
});
