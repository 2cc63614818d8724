import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubClient, type GitHubClient } from '../../src/github/client';
import { combineGateStatuses, gateStatusContext, readGateStatus, setCommitStatus, type GateContextStatus } from '../../src/github/statuses';
import { startGitHubApi, type GitHubApi } from '../support/github-api';

const status = (context: string, state: GateContextStatus['state']): GateContextStatus => ({ context, state, description: null, targetUrl: null, updatedAt: '2025-01-01T00:00:00Z' });

describe('gateStatusContext', () => {
  it.each([
    [undefined, 'train-to-serve/gate'],
    ['', 'train-to-serve/gate'],
    ['accuracy', 'train-to-serve/gate/accuracy'],
    [' eu/latency ', 'train-to-serve/gate/eu/latency'],
  ])('%j -> %s', (key, context) => expect(gateStatusContext(key)).toBe(context));
});

describe('combineGateStatuses', () => {
  it.each([
    ['no statuses', [], 'missing'],
    ['only other contexts', [status('ci/test', 'failure')], 'missing'],
    ['one passing gate', [status('train-to-serve/gate', 'success')], 'success'],
    ['every gate passing', [status('train-to-serve/gate/a', 'success'), status('train-to-serve/gate/b', 'success'), status('ci/test', 'failure')], 'success'],
    ['one failing gate', [status('train-to-serve/gate/a', 'success'), status('train-to-serve/gate/b', 'failure')], 'failure'],
    ['a failure beats an error', [status('train-to-serve/gate/a', 'error'), status('train-to-serve/gate/b', 'failure')], 'failure'],
    ['an error beats pending', [status('train-to-serve/gate/a', 'pending'), status('train-to-serve/gate/b', 'error')], 'error'],
    ['a pending gate', [status('train-to-serve/gate', 'success'), status('train-to-serve/gate/b', 'pending')], 'pending'],
    ['contexts are case-insensitive', [status('Train-To-Serve/Gate', 'failure')], 'failure'],
    ['a lookalike context is not a gate', [status('train-to-serve/gates', 'failure'), status('train-to-serve/gate', 'success')], 'success'],
  ] as const)('%s -> %s', (_, statuses, state) => {
    expect(combineGateStatuses([...statuses]).state).toBe(state);
  });
});

describe('commit statuses against the GitHub API stand-in', () => {
  let api: GitHubApi;
  let client: GitHubClient;
  beforeAll(async () => {
    api = await startGitHubApi();
    client = createGitHubClient({ token: 'ghs_x', baseUrl: api.url });
  });
  afterAll(() => api.stop());
  afterEach(() => expect(api.problems).toEqual([]));

  it('sets a status, shortening a description past GitHub’s 140 characters', async () => {
    const sha = '1'.repeat(40);
    api.addCommit(sha);
    await setCommitStatus(client, { owner: 'acme', repo: 'iris', sha, context: 'train-to-serve/gate', state: 'failure', description: 'd'.repeat(200), targetUrl: 'https://github.com/acme/iris/actions/runs/1' });
    const [stored] = api.statuses(sha);
    expect(stored).toMatchObject({ context: 'train-to-serve/gate', state: 'failure', targetUrl: 'https://github.com/acme/iris/actions/runs/1' });
    expect(stored!.description).toHaveLength(140);
  });

  it('reads the latest of every gate context on a commit', async () => {
    const sha = '2'.repeat(40);
    api.addStatus({ sha, context: 'train-to-serve/gate/accuracy', state: 'failure' });
    api.addStatus({ sha, context: 'train-to-serve/gate/accuracy', state: 'success' });
    api.addStatus({ sha, context: 'train-to-serve/gate/latency', state: 'success' });
    api.addStatus({ sha, context: 'ci/test', state: 'failure' });
    const verdict = await readGateStatus(client, { owner: 'acme', repo: 'iris', sha });
    expect(verdict.state).toBe('success');
    expect(verdict.contexts.map((c) => [c.context, c.state])).toEqual([
      ['train-to-serve/gate/accuracy', 'success'],
      ['train-to-serve/gate/latency', 'success'],
    ]);
    api.addStatus({ sha, context: 'train-to-serve/gate/latency', state: 'failure' });
    expect((await readGateStatus(client, { owner: 'acme', repo: 'iris', sha })).state).toBe('failure');
  });

  it('reads gate statuses past the first page of contexts', async () => {
    const sha = '3'.repeat(40);
    for (let i = 0; i < 130; i++) api.addStatus({ sha, context: `ci/job-${i}`, state: 'success' });
    api.addStatus({ sha, context: 'train-to-serve/gate', state: 'failure' });
    const before = api.requests.length;
    expect((await readGateStatus(client, { owner: 'acme', repo: 'iris', sha })).state).toBe('failure');
    expect(api.requests.slice(before).map((r) => r.query.page)).toEqual(['1', '2']);
  });

  it('says missing for a commit no gate ran on', async () => {
    const sha = '4'.repeat(40);
    api.addCommit(sha);
    expect(await readGateStatus(client, { owner: 'acme', repo: 'iris', sha })).toEqual({ state: 'missing', contexts: [] });
  });

  it('rejects for a commit GitHub does not know', async () => {
    await expect(readGateStatus(client, { owner: 'acme', repo: 'iris', sha: '5'.repeat(40) })).rejects.toMatchObject({ status: 404 });
  });
});
