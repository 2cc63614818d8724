import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGitHubClient } from '../../../src/github/client';
import { repoRoot } from '../action-runner';
import { loadGitHubOpenApi, startGitHubApi, type GitHubApi } from './index';

// The stand-in's own tests: it must hold the toolkit to GitHub's contract, so it has to reject
// what GitHub's description rejects, answer in GitHub's shapes, and page like GitHub.

const HEAD = 'c0ffee0000000000000000000000000000000001';

async function call(api: GitHubApi, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers: { authorization: 'token t', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

describe('the OpenAPI extract', () => {
  it('comes from @octokit/openapi and holds every operation the toolkit calls', () => {
    const fixture = JSON.parse(readFileSync(join(repoRoot, 'test/fixtures/github-openapi.json'), 'utf8')) as { source: string };
    expect(fixture.source).toMatch(/^@octokit\/openapi@\d+\.\d+\.\d+ /);
    const ids = [...loadGitHubOpenApi().operations.keys()];
    for (const id of ['issues/list-comments', 'issues/create-comment', 'issues/update-comment', 'repos/create-commit-status', 'repos/get-combined-status-for-ref', 'repos/list-pull-requests-associated-with-commit', 'pulls/get']) {
      expect(ids).toContain(id);
    }
  });

  it('rejects responses that do not have GitHub’s shape', () => {
    const openapi = loadGitHubOpenApi();
    const create = openapi.operations.get('issues/create-comment')!;
    expect(openapi.validateResponse(create, 201, { id: 1, body: 'x' })).toEqual([expect.stringMatching(/must have required property/)]);
    expect(openapi.validateResponse(create, 201, openapi.conform(openapi.responseSchema('issues/create-comment', 201), { id: 1, body: 'x' }))).toEqual([]);
    expect(openapi.validateResponse(create, 500, {})).toEqual(['status 500 is not a documented response of issues/create-comment']);
  });
});

describe('startGitHubApi', () => {
  let api: GitHubApi;
  beforeAll(async () => {
    api = await startGitHubApi({ token: 't' });
    api.addPullRequest({ number: 5, headSha: HEAD });
  });
  afterAll(() => api.stop());
  afterEach(() => {
    api.problems.length = 0;
  });

  it('creates, lists and updates comments in GitHub’s shapes', async () => {
    const created = await call(api, 'POST', '/repos/acme/iris/issues/5/comments', { body: 'hello' });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`${api.url}/repos/acme/iris/issues/comments/${String(created.body!.id)}`);
    const updated = await call(api, 'PATCH', `/repos/acme/iris/issues/comments/${String(created.body!.id)}`, { body: 'edited' });
    expect(updated.body).toMatchObject({ id: created.body!.id, body: 'edited', user: { login: 'github-actions[bot]', type: 'Bot' } });
    expect(api.comments(5).map((c) => c.body)).toEqual(['edited']);
    expect(api.problems).toEqual([]);
  });

  it.each([
    ['a body that misses a required field', 'POST', '/repos/acme/iris/issues/5/comments', { text: 'x' }, 422, /request body: \(root\) must have required property 'body'/],
    ['a body of the wrong type', 'POST', '/repos/acme/iris/statuses/' + HEAD, { state: 'green' }, 422, /request body: \/state must be equal to one of the allowed values/],
    ['a query parameter GitHub does not define', 'GET', '/repos/acme/iris/issues/5/comments?perpage=100', undefined, 422, /query parameter "perpage" is not defined/],
    ['a query parameter of the wrong type', 'GET', '/repos/acme/iris/issues/5/comments?per_page=many', undefined, 422, /query parameter "per_page"="many": \(root\) must be integer/],
    ['a path parameter of the wrong type', 'GET', '/repos/acme/iris/issues/five/comments', undefined, 422, /path parameter "issue_number"="five"/],
    ['a method the path does not have', 'PUT', '/repos/acme/iris/issues/5/comments', { body: 'x' }, 404, /\(no-method\)/],
    ['an operation outside the extract', 'GET', '/repos/acme/iris/issues', undefined, 404, /not an operation .* \(no-path\)/],
    ['a body that is not JSON', 'POST', '/repos/acme/iris/issues/5/comments', '{"body": ', 400, /body is not JSON/],
  ])('rejects %s', async (_, method, path, body, status, problem) => {
    const answer = await call(api, method, path, body);
    expect(answer.status).toBe(status);
    expect(api.problems).toEqual([expect.stringMatching(problem)]);
  });

  it('answers 401 to a wrong token, as GitHub does', async () => {
    expect((await call(api, 'GET', '/repos/acme/iris/issues/5/comments', undefined, { authorization: 'token nope' })).status).toBe(401);
  });

  it('enforces GitHub’s limits that the description does not state', async () => {
    const long = await call(api, 'POST', '/repos/acme/iris/issues/5/comments', { body: 'x'.repeat(65_537) });
    expect(long.status).toBe(422);
    expect(JSON.stringify(long.body)).toContain('Body is too long (maximum is 65536 characters)');
    const description = await call(api, 'POST', `/repos/acme/iris/statuses/${HEAD}`, { state: 'success', description: 'd'.repeat(141) });
    expect(description.status).toBe(422);
    const unknownCommit = await call(api, 'POST', `/repos/acme/iris/statuses/${'f'.repeat(40)}`, { state: 'success' });
    expect(unknownCommit).toMatchObject({ status: 422, body: { message: `No commit found for SHA: ${'f'.repeat(40)}` } });
    expect((await call(api, 'POST', '/repos/acme/iris/issues/404/comments', { body: 'x' })).status).toBe(404);
    expect(api.problems).toEqual([]);
  });

  it('pages lists like GitHub: per_page (default 30, at most 100), page, and a Link header', async () => {
    api.addPullRequest({ number: 6, headSha: 'c0ffee0000000000000000000000000000000002' });
    for (let i = 0; i < 250; i++) api.addComment({ issueNumber: 6, body: `comment ${i}` });

    const first = await call(api, 'GET', '/repos/acme/iris/issues/6/comments');
    expect((first.body as unknown as unknown[]).length).toBe(30);
    const second = await call(api, 'GET', '/repos/acme/iris/issues/6/comments?per_page=100&page=2');
    expect((second.body as unknown as { body: string }[]).map((c) => c.body)[0]).toBe('comment 100');
    const base = `${api.url}/repos/acme/iris/issues/6/comments`;
    expect(second.headers.get('link')).toBe(`<${base}?per_page=100&page=1>; rel="prev", <${base}?per_page=100&page=3>; rel="next", <${base}?per_page=100&page=3>; rel="last", <${base}?per_page=100&page=1>; rel="first"`);
    const capped = await call(api, 'GET', '/repos/acme/iris/issues/6/comments?per_page=500');
    expect((capped.body as unknown as unknown[]).length).toBe(100);
    const single = await call(api, 'GET', '/repos/acme/iris/issues/5/comments');
    expect(single.headers.get('link')).toBeNull();

    // Octokit's paginate follows the Link header to the end.
    const client = createGitHubClient({ token: 't', baseUrl: api.url });
    const all = await client.paginate(client.rest.issues.listComments, { owner: 'acme', repo: 'iris', issue_number: 6, per_page: 100 });
    expect(all.map((c) => c.body)).toEqual(Array.from({ length: 250 }, (_, i) => `comment ${i}`));
    expect(api.problems).toEqual([]);
  });

  it('refuses chosen operations with 403 until allowed again', async () => {
    api.forbid('issues/create-comment');
    const refused = await call(api, 'POST', '/repos/acme/iris/issues/5/comments', { body: 'x' });
    expect(refused).toMatchObject({ status: 403, body: { message: 'Resource not accessible by integration' } });
    api.allow('issues/create-comment');
    expect((await call(api, 'POST', '/repos/acme/iris/issues/5/comments', { body: 'x' })).status).toBe(201);
    expect(api.problems).toEqual([]);
  });

  it('fails the next request of an operation once, and Octokit’s retry gets through', async () => {
    api.inject('issues/list-comments', { status: 500 });
    expect((await call(api, 'GET', '/repos/acme/iris/issues/5/comments')).status).toBe(500);
    expect((await call(api, 'GET', '/repos/acme/iris/issues/5/comments')).status).toBe(200);

    api.inject('repos/create-commit-status', { status: 502 });
    const client = createGitHubClient({ token: 't', baseUrl: api.url });
    const before = api.requests.length;
    const { data } = await client.rest.repos.createCommitStatus({ owner: 'acme', repo: 'iris', sha: HEAD, state: 'pending', context: 'retry-test' });
    expect(data.state).toBe('pending');
    expect(api.requests.slice(before).map((r) => r.status)).toEqual([502, 201]);
    expect(api.problems).toEqual([]);
  });

  it('makes Octokit wait out a secondary rate limit and retry, with a warning', async () => {
    api.inject('issues/create-comment', { status: 403, message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.', headers: { 'retry-after': '1' } });
    const notes: string[] = [];
    const client = createGitHubClient({ token: 't', baseUrl: api.url, warn: (m) => notes.push(m) });
    const before = api.requests.length;
    await client.rest.issues.createComment({ owner: 'acme', repo: 'iris', issue_number: 5, body: 'after the limit' });
    expect(api.requests.slice(before).map((r) => r.status)).toEqual([403, 201]);
    expect(notes).toEqual([expect.stringMatching(/^GitHub secondary rate limit hit on POST \/repos\/\{owner\}\/\{repo\}\/issues\/\{issue_number\}\/comments; retrying in 1s$/)]);
    expect(api.problems).toEqual([]);
  });

  it('refuses a request without a User-Agent, as GitHub does', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${api.url}/repos/acme/iris/pulls/5`, { headers: { authorization: 'token t' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
    expect(api.problems).toEqual(['GET /repos/acme/iris/pulls/5: no User-Agent header']);
  });

  it('keeps the latest status of each context (case-insensitive) in the combined status', async () => {
    const sha = 'c0ffee0000000000000000000000000000000003';
    api.addCommit(sha);
    api.addStatus({ sha, state: 'failure', context: 'ci/test' });
    api.addStatus({ sha, state: 'success', context: 'CI/test' });
    api.addStatus({ sha, state: 'pending', context: 'lint' });
    const combined = await call(api, 'GET', `/repos/acme/iris/commits/${sha}/status`);
    expect(combined.body).toMatchObject({ state: 'pending', total_count: 2, sha });
    expect((combined.body!.statuses as { context: string; state: string }[]).map((s) => [s.context, s.state])).toEqual([
      ['CI/test', 'success'],
      ['lint', 'pending'],
    ]);
    const list = await call(api, 'GET', `/repos/acme/iris/commits/${sha}/statuses`);
    expect((list.body as unknown as { state: string }[]).map((s) => s.state)).toEqual(['pending', 'success', 'failure']);
    expect((await call(api, 'GET', `/repos/acme/iris/commits/${'e'.repeat(40)}/status`)).status).toBe(404);
    expect(api.problems).toEqual([]);
  });

  it('serves pull requests and the pull requests associated with a commit', async () => {
    api.addPullRequest({ number: 9, headSha: 'c0ffee0000000000000000000000000000000009', merged: true, mergeCommitSha: 'beef000000000000000000000000000000000009', fromFork: true });
    const pull = await call(api, 'GET', '/repos/acme/iris/pulls/9');
    expect(pull.body).toMatchObject({ number: 9, merged: true, state: 'closed', merge_commit_sha: 'beef000000000000000000000000000000000009', head: { sha: 'c0ffee0000000000000000000000000000000009', repo: { full_name: 'a-fork/iris' } } });
    const associated = await call(api, 'GET', '/repos/acme/iris/commits/beef000000000000000000000000000000000009/pulls');
    expect((associated.body as unknown as { number: number }[]).map((p) => p.number)).toEqual([9]);
    expect((await call(api, 'GET', '/repos/acme/iris/pulls/99')).status).toBe(404);
    expect(api.problems).toEqual([]);
  });

  it('serves under a path prefix, as GitHub Enterprise Server does', async () => {
    const ghes = await startGitHubApi({ pathPrefix: '/api/v3' });
    try {
      ghes.addPullRequest({ number: 1, headSha: HEAD });
      expect(ghes.url).toMatch(/\/api\/v3$/);
      const client = createGitHubClient({ token: 'x', baseUrl: ghes.url });
      await client.rest.issues.createComment({ owner: 'acme', repo: 'iris', issue_number: 1, body: 'on GHES' });
      expect(ghes.comments(1).map((c) => c.body)).toEqual(['on GHES']);
      expect(ghes.requests.map((r) => r.path)).toEqual(['/repos/acme/iris/issues/1/comments']);
      expect(ghes.problems).toEqual([]);
    } finally {
      await ghes.stop();
    }
  });

  it('records requests without the token', () => {
    expect(api.requests.length).toBeGreaterThan(0);
    expect(JSON.stringify(api.requests)).not.toContain('token t');
    expect(api.requests.every((r) => r.authScheme === 'token')).toBe(true);
  });
});
