import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadGitHubOpenApi, type Operation } from './openapi';

/**
 * A STAND-IN for GitHub's REST API (api.github.com cannot be reached from tests). A local HTTP
 * server on loopback that:
 * - accepts only the operations in GitHub's published OpenAPI description that the toolkit uses,
 *   and checks each request's method, path, query and JSON body against it;
 * - builds every response from that description and validates it before sending, so its answers
 *   have GitHub's shapes;
 * - keeps pull requests, issue comments and commit statuses in memory, with GitHub's rules where
 *   the description is silent but GitHub is known to enforce them (comment bodies at most 65,536
 *   characters, status descriptions at most 140, statuses only on known commits);
 * - pages list responses as GitHub does (`per_page` default 30, at most 100; `page`; a `Link`
 *   header with prev/next/last/first, absent when everything fits on one page);
 * - can refuse chosen operations with 403 (a fork PR's read-only token) and fail the next
 *   requests of an operation with a 5xx (to show retries);
 * - records every request, and every mismatch with the description as a `problem`;
 * - answers one GraphQL query, `{ viewer { login } }` (GraphQL is outside the REST description:
 *   the answer has the shape of GitHub's GraphQL schema, `data.viewer.login`, and the login is the
 *   bot's, `github-actions[bot]`, for an installation token as GitHub answers it), at `/graphql`,
 *   or `/api/graphql` beside a GitHub Enterprise Server's `/api/v3`. Any other query is a problem.
 *
 * Differences from GitHub that do not matter to clients that follow `Link`: pages link to the
 * path that was asked for (GitHub links to `/repositories/<id>/…`).
 */

export interface GitHubApiOptions {
  /** Only this token is accepted (401 otherwise). Any token is accepted when unset. */
  token?: string;
  /** Serve under a path, as GitHub Enterprise Server does (`/api/v3`). */
  pathPrefix?: string;
  /** The login the token acts as (comment authors, status creators). */
  login?: string;
  /**
   * What kind of token it is. `installation` (the default: the job token is a GitHub App
   * installation token) is refused `GET /user` with 403, as GitHub refuses it ("Resource not
   * accessible by integration"); `user` (a personal access token) gets its user.
   */
  tokenKind?: 'installation' | 'user';
}

export interface PullRequestSeed {
  owner?: string;
  repo?: string;
  number: number;
  headSha: string;
  headRef?: string;
  baseRef?: string;
  state?: 'open' | 'closed';
  merged?: boolean;
  mergeCommitSha?: string;
  /** The head branch lives in another repository. */
  fromFork?: boolean;
  title?: string;
  /** Further commits of the PR (its head is always one). */
  commits?: string[];
}

export interface RecordedRequest {
  method: string;
  /** The path below `pathPrefix`, without the query. */
  path: string;
  query: Record<string, string>;
  body: unknown;
  operationId?: string;
  status: number;
  /** The Authorization header's scheme (`token`/`bearer`), never the token itself. */
  authScheme?: string;
}

export interface StoredComment {
  id: number;
  owner: string;
  repo: string;
  issueNumber: number;
  body: string;
  login: string;
  createdAt: string;
  updatedAt: string;
}

export interface StoredStatus {
  id: number;
  owner: string;
  repo: string;
  sha: string;
  state: 'error' | 'failure' | 'pending' | 'success';
  context: string;
  description: string | null;
  targetUrl: string | null;
  login: string;
  createdAt: string;
}

interface StoredPull extends Required<Omit<PullRequestSeed, 'mergeCommitSha' | 'commits'>> {
  mergeCommitSha: string | null;
  commits: string[];
  id: number;
}

export interface Injection {
  status: number;
  message?: string;
  /** Extra response headers, e.g. `retry-after` for a secondary rate limit. */
  headers?: Record<string, string>;
  /** How many requests it applies to: 1 by default, `Infinity` for every one. */
  times?: number;
}

export interface GitHubApi {
  /** What `GITHUB_API_URL` should be: `http://127.0.0.1:PORT[/prefix]`. */
  url: string;
  requests: RecordedRequest[];
  /** Requests or responses that did not match GitHub's description; tests expect none. */
  problems: string[];
  addPullRequest(seed: PullRequestSeed): void;
  /** A plain issue (pull requests are issues already). */
  addIssue(number: number, repository?: { owner: string; repo: string }): void;
  /** A commit that exists in the repository, so statuses can be set on it. */
  addCommit(sha: string, repository?: { owner: string; repo: string }): void;
  addComment(seed: { owner?: string; repo?: string; issueNumber: number; body: string; login?: string }): StoredComment;
  addStatus(seed: { owner?: string; repo?: string; sha: string; state: StoredStatus['state']; context: string; description?: string; login?: string }): StoredStatus;
  comments(issueNumber: number, repository?: { owner: string; repo: string }): StoredComment[];
  statuses(sha: string, repository?: { owner: string; repo: string }): StoredStatus[];
  /** Answer 403 "Resource not accessible by integration" to these operations until `allow`. */
  forbid(...operationIds: string[]): void;
  allow(...operationIds: string[]): void;
  /** Answer the next request(s) of an operation with this status instead of serving it. */
  inject(operationId: string, injection: Injection): void;
  /**
   * Called before an operation is served (after validation and injections); the answer waits for
   * a returned promise. Lets a test race two writers deterministically. Pass undefined to remove.
   */
  beforeServe(operationId: string, hook: ((request: RecordedRequest) => void | Promise<void>) | undefined): void;
  stop(): Promise<void>;
}

const DEFAULT_REPOSITORY = { owner: 'acme', repo: 'iris' };
const COMMENT_LIMIT = 65_536;
const STATUS_DESCRIPTION_LIMIT = 140;

class HttpAnswer {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
    /** GitHub sends it, but the description does not list this status for the operation. */
    readonly undocumented = false,
  ) {}
}

export async function startGitHubApi(options: GitHubApiOptions = {}): Promise<GitHubApi> {
  const openapi = loadGitHubOpenApi();
  const prefix = (options.pathPrefix ?? '').replace(/\/+$/, '');
  const actingLogin = options.login ?? 'github-actions[bot]';
  const requests: RecordedRequest[] = [];
  const problems: string[] = [];
  const pulls = new Map<string, StoredPull>();
  const issues = new Set<string>();
  const commits = new Set<string>();
  const comments: StoredComment[] = [];
  const statuses: StoredStatus[] = [];
  const forbidden = new Set<string>();
  const injections = new Map<string, Injection[]>();
  const hooks = new Map<string, (request: RecordedRequest) => void | Promise<void>>();
  let nextId = 1000;
  let clock = Date.parse('2025-01-01T00:00:00Z');
  const now = () => new Date((clock += 1000)).toISOString().replace(/\.\d{3}Z$/, 'Z');
  let origin = '';

  const repoKey = (owner: string, repo: string) => `${owner}/${repo}`.toLowerCase();
  const issueKey = (owner: string, repo: string, n: number) => `${repoKey(owner, repo)}#${n}`;
  const commitKey = (owner: string, repo: string, sha: string) => `${repoKey(owner, repo)}@${sha}`;
  const apiUrl = (path: string) => `${origin}${prefix}${path}`;

  function user(login: string) {
    const bot = login.endsWith('[bot]');
    return openapi.conform(
      { $ref: '#/$defs/simple-user' },
      {
        login,
        id: 41898282,
        node_id: 'MDM6Qm90NDE4OTgyODI=',
        type: bot ? 'Bot' : 'User',
        url: apiUrl(`/users/${encodeURIComponent(login)}`),
        html_url: `https://github.com/${encodeURIComponent(login)}`,
        avatar_url: 'https://avatars.githubusercontent.com/in/15368?v=4',
      },
    );
  }

  function repository(owner: string, repo: string) {
    return {
      id: 1296269,
      node_id: 'MDEwOlJlcG9zaXRvcnkxMjk2MjY5',
      name: repo,
      full_name: `${owner}/${repo}`,
      owner: user(owner),
      private: false,
      html_url: `https://github.com/${owner}/${repo}`,
      url: apiUrl(`/repos/${owner}/${repo}`),
      fork: false,
    };
  }

  function renderComment(comment: StoredComment) {
    return openapi.conform(openapi.responseSchema('issues/create-comment', 201), {
      id: comment.id,
      node_id: `IC_${comment.id}`,
      url: apiUrl(`/repos/${comment.owner}/${comment.repo}/issues/comments/${comment.id}`),
      html_url: `https://github.com/${comment.owner}/${comment.repo}/pull/${comment.issueNumber}#issuecomment-${comment.id}`,
      issue_url: apiUrl(`/repos/${comment.owner}/${comment.repo}/issues/${comment.issueNumber}`),
      body: comment.body,
      user: user(comment.login),
      created_at: comment.createdAt,
      updated_at: comment.updatedAt,
      author_association: comment.login.endsWith('[bot]') ? 'NONE' : 'MEMBER',
    });
  }

  function renderStatus(status: StoredStatus) {
    return {
      id: status.id,
      node_id: `SC_${status.id}`,
      url: apiUrl(`/repos/${status.owner}/${status.repo}/statuses/${status.sha}`),
      avatar_url: 'https://avatars.githubusercontent.com/in/15368?v=4',
      state: status.state,
      description: status.description,
      target_url: status.targetUrl,
      context: status.context,
      created_at: status.createdAt,
      updated_at: status.createdAt,
    };
  }

  function renderPull(pull: StoredPull, schemaOf: 'pulls/get' | 'repos/list-pull-requests-associated-with-commit') {
    const headRepo = pull.fromFork ? repository('a-fork', pull.repo) : repository(pull.owner, pull.repo);
    const fields: Record<string, unknown> = {
      id: pull.id,
      node_id: `PR_${pull.id}`,
      number: pull.number,
      state: pull.state,
      title: pull.title,
      locked: false,
      url: apiUrl(`/repos/${pull.owner}/${pull.repo}/pulls/${pull.number}`),
      html_url: `https://github.com/${pull.owner}/${pull.repo}/pull/${pull.number}`,
      issue_url: apiUrl(`/repos/${pull.owner}/${pull.repo}/issues/${pull.number}`),
      user: user('octocat'),
      head: { label: `${pull.fromFork ? 'a-fork' : pull.owner}:${pull.headRef}`, ref: pull.headRef, sha: pull.headSha, repo: headRepo, user: user(pull.fromFork ? 'a-fork' : pull.owner) },
      base: { label: `${pull.owner}:${pull.baseRef}`, ref: pull.baseRef, sha: '0000000000000000000000000000000000000000', repo: repository(pull.owner, pull.repo), user: user(pull.owner) },
      merge_commit_sha: pull.mergeCommitSha,
      merged_at: pull.merged ? '2025-01-01T00:00:00Z' : null,
      closed_at: pull.state === 'closed' ? '2025-01-01T00:00:00Z' : null,
      created_at: '2024-12-31T00:00:00Z',
      updated_at: '2025-01-01T00:00:00Z',
      draft: false,
    };
    if (schemaOf === 'pulls/get') Object.assign(fields, { merged: pull.merged, mergeable: null, merged_by: pull.merged ? user('octocat') : null });
    const schema = schemaOf === 'pulls/get' ? openapi.responseSchema('pulls/get', 200) : (openapi.responseSchema(schemaOf, 200).items as Record<string, unknown>);
    return openapi.conform(schema, fields);
  }

  /** One page of `items`, with GitHub's Link header when there is more than one page. */
  function page<T>(items: T[], query: Record<string, unknown>, path: string, rawQuery: URLSearchParams): { items: T[]; headers: Record<string, string> } {
    const asked = typeof query.per_page === 'number' && query.per_page > 0 ? query.per_page : 30;
    const perPage = Math.min(asked, 100);
    const pageNumber = typeof query.page === 'number' && query.page > 0 ? query.page : 1;
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const slice = items.slice((pageNumber - 1) * perPage, pageNumber * perPage);
    if (last === 1) return { items: slice, headers: {} };
    const link = (n: number) => {
      const params = new URLSearchParams(rawQuery);
      params.set('page', String(n));
      return `<${apiUrl(path)}?${params.toString()}>`;
    };
    const parts: string[] = [];
    if (pageNumber > 1) parts.push(`${link(Math.min(pageNumber - 1, last))}; rel="prev"`);
    if (pageNumber < last) parts.push(`${link(pageNumber + 1)}; rel="next"`, `${link(last)}; rel="last"`);
    if (pageNumber > 1) parts.push(`${link(1)}; rel="first"`);
    return { items: slice, headers: { link: parts.join(', ') } };
  }

  const notFound = () => new HttpAnswer(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' });
  // GitHub answers 422 to these even where its description lists no 422 for the operation.
  const invalid = (message: string, errors: unknown[] = []) => new HttpAnswer(422, { message, documentation_url: 'https://docs.github.com/rest', errors, status: '422' }, {}, true);

  function serve(operation: Operation, params: Record<string, string>, query: Record<string, unknown>, body: Record<string, unknown>, rawQuery: URLSearchParams, path: string): HttpAnswer {
    const { owner = '', repo = '' } = params;
    switch (operation.id) {
      case 'issues/list-comments': {
        const n = Number(params.issue_number);
        if (!issues.has(issueKey(owner, repo, n))) return notFound();
        const since = typeof query.since === 'string' ? Date.parse(query.since) : undefined;
        const all = comments
          .filter((c) => issueKey(c.owner, c.repo, c.issueNumber) === issueKey(owner, repo, n))
          .filter((c) => since === undefined || Date.parse(c.updatedAt) >= since)
          .sort((a, b) => a.id - b.id);
        const { items, headers } = page(all, query, path, rawQuery);
        return new HttpAnswer(200, items.map(renderComment), headers);
      }
      case 'issues/create-comment': {
        const n = Number(params.issue_number);
        if (!issues.has(issueKey(owner, repo, n))) return notFound();
        const text = String(body.body);
        if (text.length > COMMENT_LIMIT) return invalid('Validation Failed', [{ resource: 'IssueComment', code: 'unprocessable', field: 'data', message: `Body is too long (maximum is ${COMMENT_LIMIT} characters)` }]);
        const at = now();
        const comment: StoredComment = { id: nextId++, owner, repo, issueNumber: n, body: text, login: actingLogin, createdAt: at, updatedAt: at };
        comments.push(comment);
        return new HttpAnswer(201, renderComment(comment), { location: apiUrl(`/repos/${owner}/${repo}/issues/comments/${comment.id}`) });
      }
      case 'issues/update-comment': {
        const comment = comments.find((c) => c.id === Number(params.comment_id) && repoKey(c.owner, c.repo) === repoKey(owner, repo));
        if (!comment) return notFound();
        const text = String(body.body);
        if (text.length > COMMENT_LIMIT) return invalid('Validation Failed', [{ resource: 'IssueComment', code: 'unprocessable', field: 'data', message: `Body is too long (maximum is ${COMMENT_LIMIT} characters)` }]);
        comment.body = text;
        comment.updatedAt = now();
        return new HttpAnswer(200, renderComment(comment));
      }
      case 'issues/delete-comment': {
        const index = comments.findIndex((c) => c.id === Number(params.comment_id) && repoKey(c.owner, c.repo) === repoKey(owner, repo));
        if (index < 0) return notFound();
        comments.splice(index, 1);
        return new HttpAnswer(204, undefined);
      }
      case 'repos/create-commit-status': {
        const sha = params.sha!;
        if (!commits.has(commitKey(owner, repo, sha))) return invalid(`No commit found for SHA: ${sha}`);
        const description = typeof body.description === 'string' ? body.description : null;
        if (description && description.length > STATUS_DESCRIPTION_LIMIT) {
          return invalid('Validation Failed', [{ resource: 'Status', code: 'custom', field: 'description', message: `description is too long (maximum is ${STATUS_DESCRIPTION_LIMIT} characters)` }]);
        }
        const status: StoredStatus = {
          id: nextId++,
          owner,
          repo,
          sha,
          state: body.state as StoredStatus['state'],
          context: typeof body.context === 'string' ? body.context : 'default',
          description,
          targetUrl: typeof body.target_url === 'string' ? body.target_url : null,
          login: actingLogin,
          createdAt: now(),
        };
        statuses.push(status);
        return new HttpAnswer(201, openapi.conform(openapi.responseSchema('repos/create-commit-status', 201), { ...renderStatus(status), creator: user(actingLogin) }));
      }
      case 'repos/list-commit-statuses-for-ref': {
        const ref = params.ref!;
        if (!commits.has(commitKey(owner, repo, ref))) return notFound();
        const all = statusesOf(owner, repo, ref).reverse();
        const { items, headers } = page(all, query, path, rawQuery);
        const schema = openapi.responseSchema(operation.id, 200).items as Record<string, unknown>;
        return new HttpAnswer(
          200,
          items.map((s) => openapi.conform(schema, { ...renderStatus(s), creator: user(s.login) })),
          headers,
        );
      }
      case 'repos/get-combined-status-for-ref': {
        const ref = params.ref!;
        if (!commits.has(commitKey(owner, repo, ref))) return notFound();
        const latest = new Map<string, StoredStatus>();
        for (const status of statusesOf(owner, repo, ref)) latest.set(status.context.toLowerCase(), status);
        const all = [...latest.values()];
        const state = all.some((s) => s.state === 'error' || s.state === 'failure') ? 'failure' : all.length === 0 || all.some((s) => s.state === 'pending') ? 'pending' : 'success';
        const { items, headers } = page(all, query, path, rawQuery);
        return new HttpAnswer(
          200,
          openapi.conform(openapi.responseSchema(operation.id, 200), {
            state,
            statuses: items.map(renderStatus),
            sha: ref,
            total_count: all.length,
            repository: repository(owner, repo),
            commit_url: apiUrl(`/repos/${owner}/${repo}/commits/${ref}`),
            url: apiUrl(`/repos/${owner}/${repo}/commits/${ref}/status`),
          }),
          headers,
        );
      }
      case 'repos/list-pull-requests-associated-with-commit': {
        const sha = params.commit_sha!;
        const all = [...pulls.values()]
          .filter((p) => repoKey(p.owner, p.repo) === repoKey(owner, repo))
          .filter((p) => p.headSha === sha || p.mergeCommitSha === sha || p.commits.includes(sha))
          .sort((a, b) => b.number - a.number);
        const { items, headers } = page(all, query, path, rawQuery);
        return new HttpAnswer(
          200,
          items.map((p) => renderPull(p, 'repos/list-pull-requests-associated-with-commit')),
          headers,
        );
      }
      case 'pulls/get': {
        const pull = pulls.get(issueKey(owner, repo, Number(params.pull_number)));
        return pull ? new HttpAnswer(200, renderPull(pull, 'pulls/get')) : notFound();
      }
      case 'users/get-authenticated': {
        if ((options.tokenKind ?? 'installation') === 'installation') {
          return new HttpAnswer(403, { message: 'Resource not accessible by integration', documentation_url: operation.docs ?? 'https://docs.github.com/rest', status: '403' });
        }
        return new HttpAnswer(200, openapi.conform(openapi.responseSchema(operation.id, 200), { ...(user(actingLogin) as Record<string, unknown>), name: null, created_at: '2020-01-01T00:00:00Z', updated_at: '2020-01-01T00:00:00Z' }));
      }
      default:
        return notFound();
    }
  }

  /** The one GraphQL query the toolkit sends: who the token acts as. */
  function graphql(req: IncomingMessage, rawBody: string): HttpAnswer {
    if (options.token !== undefined && !/^(token|bearer) /i.test(req.headers.authorization ?? '')) return new HttpAnswer(401, { message: 'Bad credentials' });
    if (options.token !== undefined && (req.headers.authorization ?? '').split(' ')[1] !== options.token) return new HttpAnswer(401, { message: 'Bad credentials' });
    let query = '';
    try {
      const asked = (JSON.parse(rawBody) as { query?: unknown }).query;
      query = typeof asked === 'string' ? asked : JSON.stringify(asked ?? '');
    } catch {
      problems.push('POST graphql: body is not JSON');
    }
    if (!/^\s*(query\s*)?\{\s*viewer\s*\{\s*login\s*\}\s*\}\s*$/.test(query)) {
      problems.push(`POST graphql: the stand-in answers only { viewer { login } }, got ${JSON.stringify(query)}`);
      return new HttpAnswer(200, { errors: [{ message: 'the stand-in answers only { viewer { login } }' }] });
    }
    return new HttpAnswer(200, { data: { viewer: { login: actingLogin } } });
  }

  function statusesOf(owner: string, repo: string, sha: string): StoredStatus[] {
    return statuses.filter((s) => commitKey(s.owner, s.repo, s.sha) === commitKey(owner, repo, sha));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', origin);
    const method = (req.method ?? 'GET').toUpperCase();
    const record: RecordedRequest = {
      method,
      path: url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : url.pathname,
      query: Object.fromEntries(url.searchParams),
      body: undefined,
      status: 0,
      authScheme: /^(\w+) /.exec(req.headers.authorization ?? '')?.[1]?.toLowerCase(),
    };
    requests.push(record);
    let injected = false;

    const answer = (reply: HttpAnswer, operation?: Operation) => {
      record.status = reply.status;
      if (operation && !injected) {
        const found = reply.undocumented && !operation.responses[String(reply.status)] ? openapi.validateUndocumentedError(reply.body) : openapi.validateResponse(operation, reply.status, reply.body);
        for (const problem of found) problems.push(`stand-in answered ${method} ${record.path}: ${problem}`);
      }
      const headers: Record<string, string> = {
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': '4999',
        'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
        'x-ratelimit-resource': 'core',
        'x-github-request-id': `STANDIN:${requests.length}`,
        ...reply.headers,
      };
      if (reply.body === undefined) {
        res.writeHead(reply.status, headers).end();
      } else {
        res.writeHead(reply.status, { ...headers, 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(reply.body));
      }
    };

    const graphqlPath = prefix ? `${prefix.replace(/\/v3$/, '')}/graphql` : '/graphql';
    if (method === 'POST' && url.pathname === graphqlPath) return answer(graphql(req, rawBody));
    if (prefix && !url.pathname.startsWith(`${prefix}/`)) {
      problems.push(`${method} ${url.pathname} is outside ${prefix}`);
      return answer(notFound());
    }
    const route = openapi.route(method, record.path);
    if ('error' in route) {
      problems.push(`${method} ${record.path} is not an operation of GitHub's REST API that the toolkit uses (${route.error})`);
      return answer(notFound());
    }
    const { operation, params } = route;
    record.operationId = operation.id;

    if (options.token !== undefined) {
      const [scheme, credential] = (req.headers.authorization ?? '').split(' ');
      if (!scheme || !/^(token|bearer)$/i.test(scheme) || credential !== options.token) {
        return answer(new HttpAnswer(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' }));
      }
    }

    // GitHub refuses requests without a User-Agent.
    if (!req.headers['user-agent']) {
      problems.push(`${method} ${record.path}: no User-Agent header`);
      return answer(new HttpAnswer(403, { message: 'Request forbidden by administrative rules. Please make sure your request has a User-Agent header.', status: '403' }));
    }

    let body: unknown;
    if (rawBody !== '') {
      if (!/^application\/json/.test(req.headers['content-type'] ?? '')) problems.push(`${method} ${record.path}: body sent as ${req.headers['content-type'] ?? 'no content type'}, not JSON`);
      try {
        body = JSON.parse(rawBody);
      } catch {
        problems.push(`${method} ${record.path}: body is not JSON`);
        return answer(new HttpAnswer(400, { message: 'Problems parsing JSON', documentation_url: 'https://docs.github.com/rest', status: '400' }));
      }
    }
    record.body = body;
    const checked = openapi.validateRequest(operation, { params, query: url.searchParams, body, hasBody: rawBody !== '' });
    if (checked.problems.length) {
      for (const problem of checked.problems) problems.push(`${method} ${record.path}: ${problem}`);
      injected = true; // the answer is an error of the stand-in's own, not a documented response
      return answer(invalid(`Invalid request.\n\n${checked.problems.join('\n')}`));
    }

    const queue = injections.get(operation.id);
    const injection = queue?.[0];
    if (injection) {
      injection.times = (injection.times ?? 1) - 1;
      if (injection.times <= 0) queue.shift();
      injected = true;
      return answer(new HttpAnswer(injection.status, { message: injection.message ?? 'Server Error', documentation_url: 'https://docs.github.com/rest', status: String(injection.status) }, injection.headers));
    }
    if (forbidden.has(operation.id)) {
      return answer(new HttpAnswer(403, { message: 'Resource not accessible by integration', documentation_url: operation.docs ?? 'https://docs.github.com/rest', status: '403' }), operation.responses['403'] ? operation : undefined);
    }
    await hooks.get(operation.id)?.(record);
    answer(serve(operation, params, checked.query, (body ?? {}) as Record<string, unknown>, url.searchParams, record.path), operation);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      problems.push(`stand-in crashed on ${req.method} ${req.url}: ${error instanceof Error ? error.stack : String(error)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'stand-in error' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const at = (repository?: { owner: string; repo: string }) => repository ?? DEFAULT_REPOSITORY;

  return {
    url: `${origin}${prefix}`,
    requests,
    problems,
    addPullRequest(seed) {
      const owner = seed.owner ?? DEFAULT_REPOSITORY.owner;
      const repo = seed.repo ?? DEFAULT_REPOSITORY.repo;
      const pull: StoredPull = {
        owner,
        repo,
        number: seed.number,
        headSha: seed.headSha,
        headRef: seed.headRef ?? `feature-${seed.number}`,
        baseRef: seed.baseRef ?? 'main',
        state: seed.state ?? (seed.merged ? 'closed' : 'open'),
        merged: seed.merged ?? false,
        mergeCommitSha: seed.mergeCommitSha ?? null,
        fromFork: seed.fromFork ?? false,
        title: seed.title ?? `Pull request ${seed.number}`,
        commits: seed.commits ?? [],
        id: nextId++,
      };
      pulls.set(issueKey(owner, repo, seed.number), pull);
      issues.add(issueKey(owner, repo, seed.number));
      for (const sha of [pull.headSha, ...pull.commits, ...(pull.mergeCommitSha ? [pull.mergeCommitSha] : [])]) commits.add(commitKey(owner, repo, sha));
    },
    addIssue(number, repository) {
      const { owner, repo } = at(repository);
      issues.add(issueKey(owner, repo, number));
    },
    addCommit(sha, repository) {
      const { owner, repo } = at(repository);
      commits.add(commitKey(owner, repo, sha));
    },
    addComment(seed) {
      const owner = seed.owner ?? DEFAULT_REPOSITORY.owner;
      const repo = seed.repo ?? DEFAULT_REPOSITORY.repo;
      if (!issues.has(issueKey(owner, repo, seed.issueNumber))) throw new Error(`stand-in: no issue #${seed.issueNumber} in ${owner}/${repo}; add the pull request first`);
      const at = now();
      const comment: StoredComment = { id: nextId++, owner, repo, issueNumber: seed.issueNumber, body: seed.body, login: seed.login ?? 'octocat', createdAt: at, updatedAt: at };
      comments.push(comment);
      return comment;
    },
    addStatus(seed) {
      const owner = seed.owner ?? DEFAULT_REPOSITORY.owner;
      const repo = seed.repo ?? DEFAULT_REPOSITORY.repo;
      commits.add(commitKey(owner, repo, seed.sha));
      const status: StoredStatus = { id: nextId++, owner, repo, sha: seed.sha, state: seed.state, context: seed.context, description: seed.description ?? null, targetUrl: null, login: seed.login ?? 'ci-bot', createdAt: now() };
      statuses.push(status);
      return status;
    },
    comments(issueNumber, repository) {
      const { owner, repo } = at(repository);
      return comments.filter((c) => issueKey(c.owner, c.repo, c.issueNumber) === issueKey(owner, repo, issueNumber)).sort((a, b) => a.id - b.id);
    },
    statuses(sha, repository) {
      const { owner, repo } = at(repository);
      return statusesOf(owner, repo, sha);
    },
    forbid(...ids) {
      for (const id of ids) {
        if (!openapi.operations.has(id)) throw new Error(`stand-in: unknown operation ${id}`);
        forbidden.add(id);
      }
    },
    allow(...ids) {
      for (const id of ids) forbidden.delete(id);
    },
    inject(operationId, injection) {
      if (!openapi.operations.has(operationId)) throw new Error(`stand-in: unknown operation ${operationId}`);
      injections.set(operationId, [...(injections.get(operationId) ?? []), { ...injection }]);
    },
    beforeServe(operationId, hook) {
      if (!openapi.operations.has(operationId)) throw new Error(`stand-in: unknown operation ${operationId}`);
      if (hook) hooks.set(operationId, hook);
      else hooks.delete(operationId);
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
