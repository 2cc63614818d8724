import { readFileSync } from 'node:fs';

/**
 * What the runner tells an action about the run, read from the environment it sets
 * (https://docs.github.com/actions/reference/variables-reference). Plain data, so domain code
 * and tests can build one without a runner.
 */
export interface RunContext {
  serverUrl: string;
  apiUrl: string;
  /** `owner/name`, or undefined outside a repository (local runs). */
  repository?: { owner: string; repo: string };
  sha: string;
  ref: string;
  eventName: string;
  workflow: string;
  job: string;
  actor: string;
  runId: string;
  runAttempt: string;
  /** Link to this run's page, when the run has one. */
  runUrl?: string;
  /** The event payload (`GITHUB_EVENT_PATH`), or `{}`. */
  payload: Record<string, unknown>;
  /** Set on pull_request / pull_request_target events. */
  pullRequest?: PullRequestRef;
}

export interface PullRequestRef {
  number: number;
  headSha: string;
  merged: boolean;
  mergeSha?: string;
  /** True when the head lives in another repository (fork PRs get a read-only token). */
  fromFork: boolean;
}

export function readRunContext(env: NodeJS.ProcessEnv = process.env): RunContext {
  const serverUrl = (env.GITHUB_SERVER_URL ?? 'https://github.com').replace(/\/+$/, '');
  const apiUrl = (env.GITHUB_API_URL ?? 'https://api.github.com').replace(/\/+$/, '');
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? '').split('/');
  const repository = owner && repo ? { owner, repo } : undefined;
  const runId = env.GITHUB_RUN_ID ?? '';
  const payload = readPayload(env.GITHUB_EVENT_PATH);
  return {
    serverUrl,
    apiUrl,
    repository,
    sha: env.GITHUB_SHA ?? '',
    ref: env.GITHUB_REF ?? '',
    eventName: env.GITHUB_EVENT_NAME ?? '',
    workflow: env.GITHUB_WORKFLOW ?? '',
    job: env.GITHUB_JOB ?? '',
    actor: env.GITHUB_ACTOR ?? '',
    runId,
    runAttempt: env.GITHUB_RUN_ATTEMPT ?? '1',
    runUrl: repository && runId ? `${serverUrl}/${owner}/${repo}/actions/runs/${runId}` : undefined,
    payload,
    pullRequest: pullRequestOf(payload),
  };
}

function readPayload(path: string | undefined): Record<string, unknown> {
  if (!path) return {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function pullRequestOf(payload: Record<string, unknown>): PullRequestRef | undefined {
  type Side = { sha?: string; repo?: { full_name?: string } };
  const pr = payload.pull_request as { number?: unknown; head?: Side; base?: Side; merged?: unknown; merge_commit_sha?: unknown } | undefined;
  if (!pr || typeof pr.number !== 'number') return undefined;
  const headRepo = pr.head?.repo?.full_name;
  const baseRepo = pr.base?.repo?.full_name;
  return {
    number: pr.number,
    headSha: String(pr.head?.sha ?? ''),
    merged: pr.merged === true,
    mergeSha: typeof pr.merge_commit_sha === 'string' ? pr.merge_commit_sha : undefined,
    fromFork: Boolean(headRepo && baseRepo && headRepo !== baseRepo),
  };
}
