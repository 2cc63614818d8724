import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubClient, type GitHubClient } from '../../src/github/client';
import { COMMENT_BODY_LIMIT, findStickyComment, stickyCommentMarker, upsertStickyComment } from '../../src/github/comments';
import { startGitHubApi, type GitHubApi } from '../support/github-api';

describe('stickyCommentMarker', () => {
  it.each([
    ['release/model', '<!-- train-to-serve:sticky-comment key=release%2Fmodel -->'],
    ['a --> b', '<!-- train-to-serve:sticky-comment key=a%20%2D%2D%3E%20b -->'],
    ['<script>', '<!-- train-to-serve:sticky-comment key=%3Cscript%3E -->'],
  ])('%j -> %s', (key, marker) => {
    expect(stickyCommentMarker(key)).toBe(marker);
  });

  it('tells apart keys where one is a prefix of the other', () => {
    expect(`${stickyCommentMarker('ab')}\n`.startsWith(`${stickyCommentMarker('a')}\n`)).toBe(false);
  });
});

describe('upsertStickyComment against the GitHub API stand-in', () => {
  let api: GitHubApi;
  let client: GitHubClient;
  let pr = 100;
  const nextPr = () => {
    pr += 1;
    api.addPullRequest({ number: pr, headSha: `${pr}`.padStart(40, 'a') });
    return pr;
  };
  beforeAll(async () => {
    api = await startGitHubApi({ token: 'ghs_commenttoken' });
    client = createGitHubClient({ token: 'ghs_commenttoken', baseUrl: api.url });
  });
  afterAll(() => api.stop());
  afterEach(() => expect(api.problems).toEqual([]));

  const ref = (issueNumber: number, key = 'ci/gate') => ({ owner: 'acme', repo: 'iris', issueNumber, key });

  it('creates the comment once, then updates it in place', async () => {
    const n = nextPr();
    const first = await upsertStickyComment(client, { ...ref(n), body: 'first' });
    const second = await upsertStickyComment(client, { ...ref(n), body: 'second' });
    expect(first.action).toBe('created');
    expect(second).toEqual({ ...first, action: 'updated' });
    expect(api.comments(n).map((c) => c.body)).toEqual([`${stickyCommentMarker('ci/gate')}\nsecond`]);
    expect(second.url).toBe(`https://github.com/acme/iris/pull/${n}#issuecomment-${first.id}`);
  });

  it('finds its comment behind 250 others, on the third page', async () => {
    const n = nextPr();
    for (let i = 0; i < 120; i++) api.addComment({ issueNumber: n, body: `chatter ${i}` });
    // Someone quoting the marker further down is not the sticky comment.
    api.addComment({ issueNumber: n, body: `> see ${stickyCommentMarker('ci/gate')}` });
    for (let i = 0; i < 90; i++) api.addComment({ issueNumber: n, body: `chatter ${i}` });
    const created = await upsertStickyComment(client, { ...ref(n), body: 'v1' });
    for (let i = 0; i < 40; i++) api.addComment({ issueNumber: n, body: `later ${i}` });
    expect(api.comments(n)).toHaveLength(252);

    const before = api.requests.length;
    const updated = await upsertStickyComment(client, { ...ref(n), body: 'v2' });
    expect(updated).toEqual({ ...created, action: 'updated' });
    expect(api.comments(n).filter((c) => c.body.startsWith(stickyCommentMarker('ci/gate')))).toHaveLength(1);
    const lists = api.requests.slice(before).filter((r) => r.operationId === 'issues/list-comments');
    expect(lists.map((r) => r.query.page ?? '1')).toEqual(['1', '2', '3']);
    expect(lists.every((r) => r.query.per_page === '100')).toBe(true);
  });

  it('keeps one comment per key', async () => {
    const n = nextPr();
    await upsertStickyComment(client, { ...ref(n, 'train/gate-accuracy'), body: 'accuracy' });
    await upsertStickyComment(client, { ...ref(n, 'train/gate-latency'), body: 'latency' });
    await upsertStickyComment(client, { ...ref(n, 'train/gate-accuracy'), body: 'accuracy 2' });
    expect(api.comments(n).map((c) => c.body.split('\n')[1])).toEqual(['accuracy 2', 'latency']);
    expect((await findStickyComment(client, ref(n, 'train/gate-latency')))?.body).toBe(`${stickyCommentMarker('train/gate-latency')}\nlatency`);
    expect(await findStickyComment(client, ref(n, 'train/gate'))).toBeUndefined();
  });

  it('settles on the oldest comment when another run created one at the same moment', async () => {
    const n = nextPr();
    const marker = stickyCommentMarker('ci/gate');
    let raced = false;
    api.beforeServe('issues/create-comment', () => {
      if (raced) return;
      raced = true;
      api.addComment({ issueNumber: n, body: `${marker}\nfrom the other run`, login: 'github-actions[bot]' });
    });
    const result = await upsertStickyComment(client, { ...ref(n), body: 'mine' });
    expect(raced).toBe(true);
    expect(result.action).toBe('updated');
    expect(api.comments(n).map((c) => [c.id, c.body])).toEqual([[result.id, `${marker}\nmine`]]);
    expect(api.requests.some((r) => r.operationId === 'issues/delete-comment')).toBe(true);
  });

  it('cuts a body over GitHub’s limit, with a note, so GitHub accepts it', async () => {
    const n = nextPr();
    const body = Array.from({ length: 3000 }, (_, i) => `| row ${i} | ${'x'.repeat(30)} |`).join('\n');
    await upsertStickyComment(client, { ...ref(n), body });
    const stored = api.comments(n)[0]!.body;
    expect(stored.length).toBeLessThanOrEqual(COMMENT_BODY_LIMIT);
    expect(stored).toContain('Report truncated');
  });

  it('never edits or adopts a comment someone else wrote with the marker (issue 10, defect 3)', async () => {
    const n = nextPr();
    const marker = stickyCommentMarker('ci/gate');
    const planted = api.addComment({ issueNumber: n, body: `${marker}\n## Gate passed`, login: 'mallory' });
    const before = api.requests.length;
    const first = await upsertStickyComment(client, { ...ref(n), body: 'mine' });
    expect(first.action).toBe('created');
    expect(first.id).not.toBe(planted.id);
    const second = await upsertStickyComment(client, { ...ref(n), body: 'mine again' });
    expect(second).toEqual({ ...first, action: 'updated' });
    expect(api.comments(n).map((c) => [c.login, c.body])).toEqual([
      ['mallory', `${marker}\n## Gate passed`],
      ['github-actions[bot]', `${marker}\nmine again`],
    ]);
    expect(api.requests.slice(before).filter((r) => r.operationId === 'issues/delete-comment')).toHaveLength(0);
  });

  it('keeps its own comment when a stranger races it with the marker', async () => {
    const n = nextPr();
    const marker = stickyCommentMarker('ci/gate');
    let raced = false;
    api.beforeServe('issues/create-comment', () => {
      if (raced) return;
      raced = true;
      api.addComment({ issueNumber: n, body: `${marker}\nplanted`, login: 'mallory' });
    });
    const result = await upsertStickyComment(client, { ...ref(n), body: 'mine' });
    expect(result.action).toBe('created');
    expect(api.comments(n).map((c) => [c.login, c.body.split('\n')[1]])).toEqual([
      ['mallory', 'planted'],
      ['github-actions[bot]', 'mine'],
    ]);
  });

  it('passes a 403 on to the caller', async () => {
    const n = nextPr();
    api.forbid('issues/create-comment');
    try {
      await expect(upsertStickyComment(client, { ...ref(n), body: 'x' })).rejects.toMatchObject({ status: 403 });
    } finally {
      api.allow('issues/create-comment');
    }
  });
});

describe('sticky comments with a personal access token', () => {
  let api: GitHubApi;
  let client: GitHubClient;
  beforeAll(async () => {
    api = await startGitHubApi({ token: 'ghp_personaltoken', tokenKind: 'user', login: 'release-bot' });
    client = createGitHubClient({ token: 'ghp_personaltoken', baseUrl: api.url });
    api.addPullRequest({ number: 7, headSha: 'b'.repeat(40) });
  });
  afterAll(() => api.stop());
  afterEach(() => expect(api.problems).toEqual([]));

  it('finds its comment by the user GET /user names, not by the job token’s bot', async () => {
    const marker = stickyCommentMarker('ci/gate');
    api.addComment({ issueNumber: 7, body: `${marker}\nby the bot`, login: 'github-actions[bot]' });
    const first = await upsertStickyComment(client, { owner: 'acme', repo: 'iris', issueNumber: 7, key: 'ci/gate', body: 'v1' });
    const second = await upsertStickyComment(client, { owner: 'acme', repo: 'iris', issueNumber: 7, key: 'ci/gate', body: 'v2' });
    expect(second).toEqual({ ...first, action: 'updated' });
    expect(api.comments(7).map((c) => [c.login, c.body.split('\n')[1]])).toEqual([
      ['github-actions[bot]', 'by the bot'],
      ['release-bot', 'v2'],
    ]);
    expect(api.requests.some((r) => r.operationId === 'users/get-authenticated' && r.status === 200)).toBe(true);
  });
});
