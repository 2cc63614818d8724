import { describe, expect, it } from 'vitest';
import { defaultCommentKey, planGatePublication, publishGateReport, type GatePublicationRequest } from '../../src/github/gate-publication';
import type { RunContext } from '../../src/runtime/context';

const HEAD = 'a'.repeat(40);
const MERGE = 'm'.repeat(40);

function run(extra: Partial<RunContext> = {}): RunContext {
  return {
    serverUrl: 'https://github.com',
    apiUrl: 'https://api.github.com',
    repository: { owner: 'acme', repo: 'iris' },
    sha: MERGE,
    ref: 'refs/pull/7/merge',
    eventName: 'pull_request',
    workflow: 'release',
    job: 'model',
    actor: 'octocat',
    runId: '1',
    runAttempt: '1',
    runUrl: 'https://github.com/acme/iris/actions/runs/1',
    payload: {},
    pullRequest: { number: 7, headSha: HEAD, merged: false, fromFork: false },
    ...extra,
  };
}

const request = (extra: Partial<GatePublicationRequest> = {}): GatePublicationRequest => ({
  context: run(),
  comment: undefined,
  commentKey: undefined,
  status: true,
  passed: true,
  headline: 'All 2 rules hold',
  hasToken: true,
  ...extra,
});

const push = run({ eventName: 'push', ref: 'refs/heads/main', pullRequest: undefined, sha: 'p'.repeat(40) });

describe('planGatePublication', () => {
  it('comments on the pull request and sets the status on its head commit, not the merge commit', () => {
    expect(planGatePublication(request())).toEqual({
      key: 'release/model',
      comment: { owner: 'acme', repo: 'iris', issueNumber: 7, fromFork: false },
      status: { owner: 'acme', repo: 'iris', sha: HEAD, context: 'train-to-serve/gate', state: 'success', description: 'All 2 rules hold', targetUrl: 'https://github.com/acme/iris/actions/runs/1' },
      skipped: [],
    });
  });

  it.each<[string, Partial<GatePublicationRequest>, Partial<ReturnType<typeof planGatePublication>>]>([
    ['a failing gate sets a failure status', { passed: false }, { status: expect.objectContaining({ state: 'failure' }) }],
    ['a given key names the comment and the status context', { commentKey: 'accuracy' }, { key: 'accuracy', status: expect.objectContaining({ context: 'train-to-serve/gate/accuracy' }) }],
    ['comment: false', { comment: false }, { comment: undefined, skipped: [] }],
    ['status: false', { status: false }, { status: undefined }],
    [
      'a push with the default comment: no comment, no warning, status on the pushed commit',
      { context: push },
      { comment: undefined, skipped: [{ reason: 'No comment: the push event has no pull request', warn: false }], status: expect.objectContaining({ sha: 'p'.repeat(40) }) },
    ],
    ['a push with comment: true warns', { context: push, comment: true }, { comment: undefined, skipped: [{ reason: 'Comment skipped: the push event has no pull request to comment on', warn: true }] }],
    [
      'no token',
      { hasToken: false },
      {
        comment: undefined,
        status: undefined,
        skipped: [
          { reason: 'Comment skipped: no github-token', warn: true },
          { reason: 'Commit status skipped: no github-token', warn: true },
        ],
      },
    ],
    [
      'a fork pull request is still tried (pull_request_target tokens can write)',
      { context: run({ pullRequest: { number: 7, headSha: HEAD, merged: false, fromFork: true } }) },
      { comment: { owner: 'acme', repo: 'iris', issueNumber: 7, fromFork: true } },
    ],
    ['outside a repository', { context: run({ repository: undefined }) }, { comment: undefined, status: undefined }],
  ])('%s', (_, extra, expected) => {
    const plan = planGatePublication(request(extra)) as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(expected)) {
      if (value === undefined) expect(plan[key], key).toBeUndefined();
      else expect(plan[key], key).toEqual(value);
    }
  });

  it.each([
    [{ workflow: 'release', job: 'model' }, 'release/model'],
    [{ workflow: '', job: 'model' }, 'model'],
    [{ workflow: '', job: '' }, 'gate'],
  ])('defaultCommentKey(%j) -> %s', (extra, key) => {
    expect(defaultCommentKey(run(extra))).toBe(key);
  });
});

describe('publishGateReport without a client', () => {
  it('warns about what the user asked for and could not get, and notes the rest', async () => {
    const warnings: string[] = [];
    const plan = planGatePublication(request({ context: push, comment: true, hasToken: false }));
    const result = await publishGateReport(undefined, plan, 'report', (m) => warnings.push(m));
    expect(warnings).toEqual(['Comment skipped: no github-token', 'Commit status skipped: no github-token']);
    expect(result).toEqual({ notes: warnings });
  });
});
