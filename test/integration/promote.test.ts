import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failureMessage, runAction, type ActionRunResult } from '../support/action-runner';
import { startRegistry, type TestRegistry } from '../support/registry';
import { startGitHubApi, type GitHubApi } from '../support/github-api';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { pushNodeBase, suffix } from '../support/base-images';

// promote against the real registry (token auth, as GHCR) and the GitHub REST stand-in: the
// digest that was gated is the digest that ships, no layer byte moves, and an image whose gate
// did not pass stays where it is.

const TOKEN = 'ghs_promotetoken0123456789';
const sha = () => randomBytes(20).toString('hex');

describe('promote', () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  let api: GitHubApi;
  let modelDir: string;
  let base: string;
  let image: string;
  let pr = 100;
  const results: ActionRunResult[] = [];

  const registryInputs = () => ({ 'registry-username': registry.username, 'registry-password': registry.password });

  /** Publish a model for a pull request (through the proxy), as the PR workflow does. */
  async function publishFor(number: number, headSha: string): Promise<string> {
    writeFileSync(join(modelDir, 'weights.bin'), randomBytes(256 * 1024));
    const result = await runAction('publish', {
      inputs: { 'model-path': modelDir, 'base-image': base, image, ...registryInputs() },
      event: { name: 'pull_request', payload: { pull_request: { number, head: { sha: headSha }, base: {} } } },
      env: { SOURCE_DATE_EPOCH: '1714000000' },
    });
    expect(failureMessage(result), result.log).toBeUndefined();
    return result.outputs.digest!;
  }

  async function promote(inputs: Record<string, string>, event: { name: string; payload: Record<string, unknown> }, env: Record<string, string> = {}): Promise<ActionRunResult> {
    const result = await runAction('promote', { inputs: { image, ...registryInputs(), ...inputs }, event, token: TOKEN, env: { GITHUB_API_URL: api.url, ...env } });
    results.push(result);
    return result;
  }

  const merged = (number: number, headSha: string, mergeSha = sha()) => ({
    name: 'pull_request',
    payload: { action: 'closed', pull_request: { number, merged: true, merge_commit_sha: mergeSha, head: { sha: headSha, repo: { full_name: 'acme/iris' } }, base: { repo: { full_name: 'acme/iris' } } } },
  });

  const tagDigest = async (tag: string) => {
    const response = await runAction('promote', { inputs: { image, source: tag, targets: `probe-${suffix()}`, 'require-gate': 'false', ...registryInputs() } });
    return response.outputs.digest;
  };

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token' });
    proxy = await startFaultProxy(registry.host);
    api = await startGitHubApi({ token: TOKEN });
    const baseRepository = `base/node-${suffix()}`;
    await pushNodeBase(registry, baseRepository);
    base = `${proxy.host}/${baseRepository}:1`;
    image = `${proxy.host}/acme/iris-${suffix()}`;
    modelDir = mkdtempSync(join(tmpdir(), 'tts-model-'));
  });
  afterAll(async () => {
    await api?.stop();
    await proxy?.stop();
    await registry?.stop();
    if (modelDir) rmSync(modelDir, { recursive: true, force: true });
  });
  afterEach(() => {
    expect(api.problems).toEqual([]);
    for (const result of results.splice(0)) {
      for (const secret of [registry.password, TOKEN]) {
        expect(result.log).not.toContain(secret);
        expect(result.summary).not.toContain(secret);
        expect(JSON.stringify(result.outputs)).not.toContain(secret);
      }
    }
  });

  it('moves production to the merged pull request’s gated digest without moving a layer byte', async () => {
    const number = ++pr;
    const head = sha();
    const digest = await publishFor(number, head);
    api.addStatus({ sha: head, state: 'success', context: 'train-to-serve/gate' });

    const uploadsBefore = proxy.bodyBytesForwarded(/\/blobs\//);
    const manifestPutsBefore = proxy.requests.filter((r) => r.method === 'PUT').length;
    const result = await promote({}, merged(number, head));
    expect(failureMessage(result), result.log).toBeUndefined();
    expect(result.outputs.digest).toBe(digest);
    expect(result.outputs.image).toBe(`${image}@${digest}`);
    expect(proxy.bodyBytesForwarded(/\/blobs\//) - uploadsBefore).toBe(0);
    const puts = proxy.requests.filter((r) => r.method === 'PUT').slice(manifestPutsBefore);
    expect(puts.map((r) => r.path)).toEqual([`/v2/${image.slice(proxy.host.length + 1)}/manifests/production`]);
    expect(result.summary).toContain('Promoted model image');
    expect(result.summary).toContain(head.slice(0, 12));
    expect(await tagDigest('production')).toBe(digest);
  });

  it('finds the pull request of a pushed merge commit, and moves several tags', async () => {
    const number = ++pr;
    const head = sha();
    const mergeSha = sha();
    const digest = await publishFor(number, head);
    api.addPullRequest({ number, headSha: head, state: 'closed', merged: true, mergeCommitSha: mergeSha });
    api.addStatus({ sha: head, state: 'success', context: 'train-to-serve/gate' });
    const result = await promote({ targets: 'production, stable' }, { name: 'push', payload: {} }, { GITHUB_SHA: mergeSha });
    expect(failureMessage(result), result.log).toBeUndefined();
    expect(result.outputs.digest).toBe(digest);
    expect(result.log).toContain(`came from pull request #${number}: promoting pr-${number}`);
    expect(await tagDigest('stable')).toBe(digest);
    expect(await tagDigest('production')).toBe(digest);
  });

  it.each([
    ['failure', /its revision, commit ([a-f0-9]{40}), has train-to-serve\/gate status "failure", not "success": not promoted/],
    ['pending', /its revision, commit ([a-f0-9]{40}), has train-to-serve\/gate status "pending", not "success"/],
    [undefined, /its revision, commit ([a-f0-9]{40}), has no train-to-serve\/gate status/],
  ] as const)('refuses an image whose gate is %s, naming the commit, and leaves production alone', async (state, message) => {
    const before = await tagDigest('production');
    const number = ++pr;
    const head = sha();
    await publishFor(number, head);
    if (state) api.addStatus({ sha: head, state, context: 'train-to-serve/gate' });
    else api.addCommit(head);
    const result = await promote({}, merged(number, head));
    expect(result.exitCode).toBe(1);
    expect(failureMessage(result)).toMatch(message);
    expect(message.exec(failureMessage(result)!)![1]).toBe(head);
    expect(await tagDigest('production')).toBe(before);
  });

  // Issue 10, defect 4: a failing gate on the last push skips publish, so pr-N still names the
  // previous commit's image, whose gate passed. These failed before: merging promoted it.
  it('refuses pr-N when it holds an older commit than the merged head, naming both, and leaves production alone', async () => {
    const before = await tagDigest('production');
    const number = ++pr;
    const older = sha();
    const head = sha();
    await publishFor(number, older);
    api.addStatus({ sha: older, state: 'success', context: 'train-to-serve/gate' });
    api.addStatus({ sha: head, state: 'failure', context: 'train-to-serve/gate' });
    const result = await promote({}, merged(number, head));
    expect(result.exitCode).toBe(1);
    expect(failureMessage(result)).toMatch(new RegExp(`revision, commit ${older}, is not the head of pull request #${number}, commit ${head}`));
    expect(await tagDigest('production')).toBe(before);
  });

  it('refuses the same on a push, comparing with the head of the associated pull request', async () => {
    const before = await tagDigest('production');
    const number = ++pr;
    const older = sha();
    const head = sha();
    const mergeSha = sha();
    await publishFor(number, older);
    api.addPullRequest({ number, headSha: head, state: 'closed', merged: true, mergeCommitSha: mergeSha, commits: [older] });
    api.addStatus({ sha: older, state: 'success', context: 'train-to-serve/gate' });
    const result = await promote({}, { name: 'push', payload: {} }, { GITHUB_SHA: mergeSha });
    expect(result.exitCode).toBe(1);
    expect(failureMessage(result)).toMatch(new RegExp(`revision, commit ${older}, is not the head of pull request #${number}, commit ${head}`));
    expect(await tagDigest('production')).toBe(before);
  });

  it('promotes an ungated image by digest when require-gate is false', async () => {
    const number = ++pr;
    const digest = await publishFor(number, sha());
    const apiCallsBefore = api.requests.length;
    const result = await promote({ source: digest, targets: 'canary', 'require-gate': 'false' }, { name: 'workflow_dispatch', payload: {} });
    expect(failureMessage(result), result.log).toBeUndefined();
    expect(result.outputs.digest).toBe(digest);
    expect(result.summary).toContain('not checked');
    // Nothing asked GitHub: the gate was not consulted.
    expect(api.requests.length).toBe(apiCallsBefore);
    expect(await tagDigest('canary')).toBe(digest);
  });

  it.each([
    ['an unknown source tag', { source: 'pr-99999' }, undefined, /^Input "source": .* has no tag "pr-99999"$/],
    ['a malformed source', { source: 'not a tag' }, undefined, /^Input "source": expected a tag/],
    ['a pull request closed unmerged', {}, { name: 'pull_request', payload: { pull_request: { number: 5, merged: false, head: { sha: sha() }, base: {} } } }, /^Input "source": not given, and pull request #5 is not merged/],
    ['a pushed commit with no pull request', {}, { name: 'push', payload: {} }, /^Input "source": not given, and commit [a-f0-9]{7} belongs to no pull request/],
    ['a bad target tag', { source: 'pr-1', targets: 'production,:bad' }, undefined, /^Input "targets": ":bad" is not a valid tag/],
    ['a wrong registry password', { source: 'pr-1', 'registry-password': 'wrong' }, undefined, /^Input "registry-password": .*refused the credentials/],
  ] as const)('refuses %s clearly', async (_name, inputs, event, message) => {
    const result = await promote({ ...inputs }, event ?? { name: 'workflow_dispatch', payload: {} }, { GITHUB_SHA: sha() });
    expect(result.exitCode).toBe(1);
    expect(failureMessage(result)).toMatch(message);
  });
});
