import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubClient, type GitHubClient } from '../../src/github/client';
import { findPullRequestForCommit, getPullRequest } from '../../src/github/pulls';
import { startGitHubApi, type GitHubApi } from '../support/github-api';

describe('pull requests against the GitHub API stand-in', () => {
  let api: GitHubApi;
  let client: GitHubClient;
  const repo = { owner: 'acme', repo: 'iris' };
  beforeAll(async () => {
    api = await startGitHubApi();
    client = createGitHubClient({ token: 'ghs_x', baseUrl: api.url });
    api.addPullRequest({ number: 11, headSha: 'a'.repeat(40), merged: true, mergeCommitSha: 'b'.repeat(40), headRef: 'better-model' });
    // A later PR branched from the first one's head: it is associated with that commit too.
    api.addPullRequest({ number: 12, headSha: 'c'.repeat(40), commits: ['a'.repeat(40)] });
    api.addPullRequest({ number: 13, headSha: 'd'.repeat(40), fromFork: true });
  });
  afterAll(() => api.stop());
  afterEach(() => expect(api.problems).toEqual([]));

  it('gets a pull request as plain data', async () => {
    expect(await getPullRequest(client, { ...repo, pullNumber: 11 })).toEqual({
      number: 11,
      title: 'Pull request 11',
      state: 'closed',
      merged: true,
      mergeCommitSha: 'b'.repeat(40),
      headSha: 'a'.repeat(40),
      headRef: 'better-model',
      baseRef: 'main',
      fromFork: false,
      htmlUrl: 'https://github.com/acme/iris/pull/11',
    });
    expect((await getPullRequest(client, { ...repo, pullNumber: 13 })).fromFork).toBe(true);
  });

  it('finds the merged pull request of a pushed merge commit', async () => {
    const found = await findPullRequestForCommit(client, { ...repo, sha: 'b'.repeat(40) });
    expect(found).toMatchObject({ number: 11, merged: true, headSha: 'a'.repeat(40) });
    expect(api.requests.at(-1)).toMatchObject({ method: 'GET', path: `/repos/acme/iris/commits/${'b'.repeat(40)}/pulls` });
  });

  it('prefers the pull request whose head the commit is', async () => {
    expect((await findPullRequestForCommit(client, { ...repo, sha: 'a'.repeat(40) }))?.number).toBe(11);
    expect((await findPullRequestForCommit(client, { ...repo, sha: 'c'.repeat(40) }))?.number).toBe(12);
  });

  it('says undefined for a commit of no pull request', async () => {
    expect(await findPullRequestForCommit(client, { ...repo, sha: 'e'.repeat(40) })).toBeUndefined();
  });

  it('rejects a pull request that does not exist', async () => {
    await expect(getPullRequest(client, { ...repo, pullNumber: 404 })).rejects.toMatchObject({ status: 404 });
  });
});
