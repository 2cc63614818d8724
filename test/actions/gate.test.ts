import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failureMessage, runAction, type ActionRunOptions, type ActionRunResult } from '../support/action-runner';
import { startGitHubApi, type GitHubApi } from '../support/github-api';

// The gate bundle (dist/gate/index.mjs), started the way the runner starts it, talking to the
// GitHub REST API stand-in that checks every call against GitHub's OpenAPI description.

const TOKEN = 'ghs_gateTestToken0123456789abcdefABCDEF';
const MERGE_SHA = '0123456789abcdef0123456789abcdef01234567'; // GITHUB_SHA of a pull_request run: the test merge
const RULES = ['# quality', 'accuracy >= 0.92', 'latency_p95_ms <= baseline * 1.10', 'loss <= baseline + 2%  # relative'].join('\n');
const GOOD = { accuracy: 0.94, latency_p95_ms: 38, loss: 0.2, eval: { f1: 0.9 }, model: 'logreg' };
const BASELINE = { accuracy: 0.93, latency_p95_ms: 40, loss: 0.2 };

let api: GitHubApi;
const results: ActionRunResult[] = [];
let nextPr = 40;

function headOf(pr: number): string {
  return `${pr}`.padStart(40, 'c');
}

function newPullRequest(options: { fromFork?: boolean } = {}): number {
  nextPr += 1;
  api.addPullRequest({ number: nextPr, headSha: headOf(nextPr), fromFork: options.fromFork ?? false });
  return nextPr;
}

function prEvent(pr: number, fromFork = false): ActionRunOptions['event'] {
  return {
    name: 'pull_request',
    payload: {
      action: 'synchronize',
      number: pr,
      pull_request: {
        number: pr,
        merged: false,
        head: { sha: headOf(pr), ref: `feature-${pr}`, repo: { full_name: fromFork ? 'someone/iris' : 'acme/iris' } },
        base: { ref: 'main', repo: { full_name: 'acme/iris' } },
      },
    },
  };
}

function workspace(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tts-gate-ws-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  return dir;
}

async function gate(options: { inputs: ActionRunOptions['inputs']; event?: ActionRunOptions['event']; files?: Record<string, unknown>; env?: Record<string, string> }): Promise<ActionRunResult> {
  const result = await runAction('gate', {
    inputs: options.inputs,
    event: options.event ?? { name: 'push', payload: {} },
    token: TOKEN,
    workspace: workspace(options.files ?? { 'metrics.json': GOOD, 'baseline.json': BASELINE }),
    env: { GITHUB_API_URL: api.url, ...options.env },
  });
  results.push(result);
  return result;
}

const gateComments = (pr: number) => api.comments(pr).filter((c) => c.body.startsWith('<!-- train-to-serve:sticky-comment'));
const warnings = (result: ActionRunResult) => result.annotations.filter((a) => a.level === 'warning').map((a) => a.message);

beforeAll(async () => {
  api = await startGitHubApi({ token: TOKEN });
});
afterAll(() => api.stop());
afterEach(() => {
  expect(api.problems).toEqual([]);
});

describe('gate on a pull request', () => {
  it('creates one comment, sets the status on the head commit, and sets every output', async () => {
    const pr = newPullRequest();
    const result = await gate({ inputs: { metrics: 'metrics.json', rules: RULES, baseline: 'baseline.json' }, event: prEvent(pr) });
    expect(result.exitCode, result.log).toBe(0);
    expect(warnings(result)).toEqual([]);

    const comments = gateComments(pr);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body.split('\n')[0]).toBe('<!-- train-to-serve:sticky-comment key=release%2Fmodel -->');
    expect(comments[0]!.body).toContain('### ✅ Gate passed: all 3 rules hold');
    expect(comments[0]!.body).toContain('| `latency_p95_ms` | 38 | 40 | −2 (−5%) | `latency_p95_ms <= baseline * 1.10` (44) | ✅ pass |');
    expect(comments[0]!.body).toContain('```mermaid\nxychart-beta');

    expect(api.statuses(headOf(pr))).toEqual([expect.objectContaining({ context: 'train-to-serve/gate', state: 'success', description: 'All 3 rules hold', targetUrl: 'https://github.com/acme/iris/actions/runs/4242' })]);
    expect(api.statuses(MERGE_SHA)).toEqual([]);

    expect(result.outputs.passed).toBe('true');
    expect(JSON.parse(result.outputs.violations!)).toEqual([]);
    expect(result.outputs['comment-url']).toBe(`https://github.com/acme/iris/pull/${pr}#issuecomment-${comments[0]!.id}`);
    expect(`<!-- train-to-serve:sticky-comment key=release%2Fmodel -->\n${result.outputs.report}`).toBe(comments[0]!.body);
    expect(result.summary).toContain('### ✅ Gate passed: all 3 rules hold');
    expect(result.summary).toContain(`- Comment created on pull request #${pr}: ${result.outputs['comment-url']}`);
    expect(result.summary).toContain(`- Commit status train-to-serve/gate: success on ${headOf(pr).slice(0, 7)}`);
  });

  it('updates the same comment on the next run, and fails the step on a violation', async () => {
    const pr = newPullRequest();
    const first = await gate({ inputs: { metrics: 'metrics.json', rules: RULES, baseline: 'baseline.json' }, event: prEvent(pr) });
    const [created] = gateComments(pr);

    const worse = { ...GOOD, accuracy: 0.9, latency_p95_ms: 45 };
    const second = await gate({ inputs: { metrics: 'metrics.json', rules: RULES, baseline: 'baseline.json' }, event: prEvent(pr), files: { 'metrics.json': worse, 'baseline.json': BASELINE } });
    expect(second.exitCode).toBe(1);
    expect(failureMessage(second)).toBe('Gate failed: 2 of 3 rules violated: accuracy >= 0.92 (0.9); latency_p95_ms <= baseline * 1.10 (45 vs 44)');

    const comments = gateComments(pr);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.id).toBe(created!.id);
    expect(comments[0]!.body).toContain('### ❌ Gate failed: 2 of 3 rules violated');
    expect(second.outputs['comment-url']).toBe(first.outputs['comment-url']);
    expect(second.outputs.passed).toBe('false');
    expect(JSON.parse(second.outputs.violations!)).toEqual([
      { metric: 'accuracy', rule: 'accuracy >= 0.92', line: 2, value: 0.9, threshold: 0.92, baseline: 0.93 },
      { metric: 'latency_p95_ms', rule: 'latency_p95_ms <= baseline * 1.10', line: 3, value: 45, threshold: expect.closeTo(44, 9), baseline: 40 },
    ]);
    expect(api.statuses(headOf(pr)).map((s) => s.state)).toEqual(['success', 'failure']);
    expect(api.statuses(headOf(pr)).at(-1)!.description).toBe('2 of 3 rules violated: accuracy, latency_p95_ms');
    expect(second.summary).toContain('### ❌ Gate failed');
  });

  it('still finds its comment on a pull request with 250 other comments', async () => {
    const pr = newPullRequest();
    for (let i = 0; i < 150; i++) api.addComment({ issueNumber: pr, body: `review comment ${i}` });
    await gate({ inputs: { metrics: 'metrics.json', rules: RULES, baseline: 'baseline.json' }, event: prEvent(pr) });
    for (let i = 0; i < 100; i++) api.addComment({ issueNumber: pr, body: `later comment ${i}` });
    expect(api.comments(pr)).toHaveLength(251);

    const result = await gate({ inputs: { metrics: 'metrics.json', rules: 'accuracy >= 0.5', baseline: 'baseline.json' }, event: prEvent(pr) });
    expect(result.exitCode, result.log).toBe(0);
    expect(api.comments(pr)).toHaveLength(251);
    expect(gateComments(pr)).toHaveLength(1);
    expect(gateComments(pr)[0]!.body).toContain('`accuracy >= 0.5`');
    expect(result.summary).toContain(`- Comment updated on pull request #${pr}`);
  });

  it('keeps one comment per key, and one status context per key', async () => {
    const pr = newPullRequest();
    const accuracy = await gate({ inputs: { metrics: 'metrics.json', rules: 'accuracy >= 0.92', 'comment-key': 'accuracy' }, event: prEvent(pr) });
    const latency = await gate({ inputs: { metrics: 'metrics.json', rules: 'latency_p95_ms <= 30', 'comment-key': 'latency', 'fail-on-violation': false }, event: prEvent(pr) });
    await gate({ inputs: { metrics: 'metrics.json', rules: 'accuracy >= 0.93', 'comment-key': 'accuracy' }, event: prEvent(pr) });
    expect(latency.exitCode).toBe(0);
    expect(warnings(latency)).toEqual(['Gate failed: 1 of 1 rule violated: latency_p95_ms <= 30 (38) (fail-on-violation: false)']);

    const comments = gateComments(pr);
    expect(comments.map((c) => c.body.split('\n')[0])).toEqual(['<!-- train-to-serve:sticky-comment key=accuracy -->', '<!-- train-to-serve:sticky-comment key=latency -->']);
    expect(comments[0]!.body).toContain('`accuracy >= 0.93`');
    expect(accuracy.outputs['comment-url']).toContain(`#issuecomment-${comments[0]!.id}`);
    expect(api.statuses(headOf(pr)).map((s) => [s.context, s.state])).toEqual([
      ['train-to-serve/gate/accuracy', 'success'],
      ['train-to-serve/gate/latency', 'failure'],
      ['train-to-serve/gate/accuracy', 'success'],
    ]);
  });

  it('leaves one comment when two runs with the same key race to create it', async () => {
    const pr = newPullRequest();
    let arrived = 0;
    let releaseFirst: (() => void) | undefined;
    // Hold the first create until the second arrives: both runs have looked and found nothing.
    api.beforeServe('issues/create-comment', () => {
      arrived += 1;
      if (arrived === 1) return new Promise<void>((resolve) => (releaseFirst = resolve));
      releaseFirst?.();
    });
    try {
      const runs = await Promise.all([1, 2].map(() => gate({ inputs: { metrics: 'metrics.json', rules: 'accuracy >= 0.9' }, event: prEvent(pr) })));
      expect(runs.map((r) => r.exitCode)).toEqual([0, 0]);
      expect(arrived).toBe(2);
      const comments = gateComments(pr);
      expect(comments).toHaveLength(1);
      expect(runs.map((r) => r.outputs['comment-url'])).toEqual([0, 1].map(() => `https://github.com/acme/iris/pull/${pr}#issuecomment-${comments[0]!.id}`));
      expect(api.requests.filter((r) => r.operationId === 'issues/delete-comment' && r.status === 204)).toHaveLength(1);
    } finally {
      api.beforeServe('issues/create-comment', undefined);
    }
  });

  it('talks to GitHub Enterprise Server under GITHUB_API_URL’s path', async () => {
    const ghes = await startGitHubApi({ token: TOKEN, pathPrefix: '/api/v3' });
    try {
      ghes.addPullRequest({ number: 3, headSha: headOf(3) });
      const result = await gate({ inputs: { metrics: 'metrics.json', rules: 'accuracy >= 0.9' }, event: prEvent(3), env: { GITHUB_API_URL: ghes.url } });
      expect(result.exitCode, result.log).toBe(0);
      expect(ghes.comments(3)).toHaveLength(1);
      expect(ghes.statuses(headOf(3))).toHaveLength(1);
      expect(ghes.problems).toEqual([]);
    } finally {
      await ghes.stop();
    }
  });

  it('gets through a 500 from GitHub by retrying', async () => {
    const pr = newPullRequest();
    api.inject('issues/list-comments', { status: 500 });
    const result = await gate({ inputs: { metrics: 'metrics.json', rules: 'accuracy >= 0.9' }, event: prEvent(pr) });
    expect(result.exitCode, result.log).toBe(0);
    expect(gateComments(pr)).toHaveLength(1);
    const lists = api.requests.filter((r) => r.operationId === 'issues/list-comments' && r.path === `/repos/acme/iris/issues/${pr}/comments`);
    expect(lists[0]!.status).toBe(500);
    expect(lists[1]!.status).toBe(200);
  });
});

describe('gate where GitHub refuses or there is no pull request', () => {
  it('turns a 403 on the comment into a warning and still writes the summary and the status', async () => {
    const pr = newPullRequest();
    api.forbid('issues/create-comment');
    try {
      const result = await gate({ inputs: { metrics: 'metrics.json', rules: RULES, baseline: 'baseline.json' }, event: prEvent(pr) });
      expect(result.exitCode, result.log).toBe(0);
      expect(warnings(result)).toEqual([`Could not comment on pull request #${pr}: GitHub answered 403: Resource not accessible by integration (the token lacks pull-requests: write or issues: write); the report is in the job summary`]);
      expect(gateComments(pr)).toEqual([]);
      expect(result.outputs['comment-url']).toBe('');
      expect(result.outputs.passed).toBe('true');
      expect(result.summary).toContain('### ✅ Gate passed');
      expect(api.statuses(headOf(pr))).toHaveLength(1);
    } finally {
      api.allow('issues/create-comment');
    }
  });

  it('on a fork’s pull request (read-only token) warns for the comment and the status, and the verdict stands', async () => {
    const pr = newPullRequest({ fromFork: true });
    api.forbid('issues/create-comment', 'repos/create-commit-status');
    try {
      const result = await gate({ inputs: { metrics: 'metrics.json', rules: 'accuracy >= 0.99' }, event: prEvent(pr, true) });
      expect(result.exitCode).toBe(1);
      expect(failureMessage(result)).toBe('Gate failed: 1 of 1 rule violated: accuracy >= 0.99 (0.94)');
      expect(warnings(result)).toEqual([
        `Could not comment on pull request #${pr}: GitHub answered 403: Resource not accessible by integration (a pull request from a fork gets a read-only token); the report is in the job summary`,
        `Could not set commit status train-to-serve/gate on ${headOf(pr).slice(0, 7)}: GitHub answered 403: Resource not accessible by integration (the token lacks statuses: write)`,
      ]);
      expect(result.summary).toContain('### ❌ Gate failed: 1 of 1 rule violated');
    } finally {
      api.allow('issues/create-comment', 'repos/create-commit-status');
    }
  });

  it('on a push sets the status on the pushed commit and comments nowhere', async () => {
    const sha = 'feed000000000000000000000000000000000001';
    api.addCommit(sha);
    const before = api.requests.length;
    const result = await gate({ inputs: { metrics: 'metrics.json', rules: RULES, baseline: 'baseline.json' }, env: { GITHUB_SHA: sha } });
    expect(result.exitCode, result.log).toBe(0);
    expect(warnings(result)).toEqual([]);
    expect(api.requests.slice(before).map((r) => r.operationId)).toEqual(['repos/create-commit-status']);
    expect(api.statuses(sha)).toEqual([expect.objectContaining({ context: 'train-to-serve/gate', state: 'success' })]);
    expect(result.summary).toContain('- No comment: the push event has no pull request');
    expect(result.outputs['comment-url']).toBe('');
  });

  it('on a push with comment: true warns that there is no pull request', async () => {
    const result = await gate({ inputs: { metrics: 'metrics.json', rules: 'accuracy >= 0.9', comment: true, status: false } });
    expect(result.exitCode).toBe(0);
    expect(warnings(result)).toEqual(['Comment skipped: the push event has no pull request to comment on']);
    expect(result.summary).toContain('### ✅ Gate passed');
  });
});

describe('gate with bad inputs', () => {
  it.each<[string, Record<string, string>, Record<string, unknown> | undefined, string]>([
    ['a bad rule line', { metrics: 'metrics.json', rules: 'accuracy >= 0.9\nloss =< 0.3' }, undefined, 'Input "rules": line 2 "loss =< 0.3": unknown operator "=<" (did you mean <=?); use one of >=, <=, >, <, ==, !='],
    ['NaN in the metrics', { metrics: 'metrics.json', rules: 'accuracy >= 0.9' }, { 'metrics.json': '{"accuracy": NaN}' }, 'Input "metrics": Metrics file "metrics.json": metric "accuracy" is not a finite number (NaN)'],
    ['a missing metrics file', { metrics: 'missing.json', rules: 'accuracy >= 0.9' }, undefined, 'Input "metrics": Metrics file "missing.json": does not exist'],
    ['an empty metrics file', { metrics: 'metrics.json', rules: 'accuracy >= 0.9' }, { 'metrics.json': '' }, 'Input "metrics": Metrics file "metrics.json": is empty'],
    [
      'a missing baseline file',
      { metrics: 'metrics.json', rules: 'accuracy >= baseline', baseline: 'base.json' },
      undefined,
      'Input "baseline": file "base.json" does not exist, and it is not an image reference (host/repository:tag or host/repository@sha256:…)',
    ],
    ['a bad on-missing-baseline', { metrics: 'metrics.json', rules: 'accuracy >= 0.9', 'on-missing-baseline': 'skip' }, undefined, 'Input "on-missing-baseline": expected one of pass, fail, got "skip"'],
    ['a bad boolean', { metrics: 'metrics.json', rules: 'accuracy >= 0.9', status: 'sometimes' }, undefined, 'Input "status": expected true or false, got "sometimes"'],
    ['no rules', { metrics: 'metrics.json', rules: '# nothing yet' }, undefined, 'Input "rules": holds no rules (one a line, like "accuracy >= 0.92")'],
  ])('%s: fails with one line and calls GitHub for nothing', async (_, inputs, files, message) => {
    const pr = newPullRequest();
    const before = api.requests.length;
    const result = await gate({ inputs, event: prEvent(pr), ...(files ? { files } : {}) });
    expect(result.exitCode).toBe(1);
    expect(failureMessage(result)).toBe(message);
    expect(result.annotations.filter((a) => a.level === 'error')).toHaveLength(1);
    expect(api.requests.length).toBe(before);
    expect(result.outputs).toEqual({});
  });
});

describe('the token', () => {
  it('is masked, and never appears in a log, an output or a summary', () => {
    expect(results.length).toBeGreaterThan(10);
    for (const result of results) {
      expect(result.masked).toContain(TOKEN);
      expect(result.log).not.toContain(TOKEN);
      expect(result.summary).not.toContain(TOKEN);
      expect(JSON.stringify(result.outputs)).not.toContain(TOKEN);
    }
    // It did reach GitHub, as a token header.
    expect(api.requests.filter((r) => r.authScheme === 'token').length).toBeGreaterThan(10);
  });
});
