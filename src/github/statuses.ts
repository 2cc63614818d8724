import type { GitHubClient } from './client';

/**
 * Commit statuses of the gate: `train-to-serve/gate`, or `train-to-serve/gate/<key>` for a gate
 * given its own `comment-key`. Branch protection can require them; `promote` reads them back
 * with `readGateStatus` before it moves a production tag.
 */

export const GATE_STATUS_CONTEXT = 'train-to-serve/gate';
/** GitHub refuses status descriptions over 140 characters. */
export const STATUS_DESCRIPTION_LIMIT = 140;

export type CommitState = 'success' | 'failure' | 'pending' | 'error';

export interface CommitRef {
  owner: string;
  repo: string;
  sha: string;
}

/** The status context of a gate: the key only when the user gave one. */
export function gateStatusContext(key?: string): string {
  return key === undefined || key.trim() === '' ? GATE_STATUS_CONTEXT : `${GATE_STATUS_CONTEXT}/${key.trim()}`;
}

export function isGateContext(context: string): boolean {
  const lower = context.toLowerCase();
  return lower === GATE_STATUS_CONTEXT || lower.startsWith(`${GATE_STATUS_CONTEXT}/`);
}

export async function setCommitStatus(client: GitHubClient, status: CommitRef & { context: string; state: CommitState; description?: string; targetUrl?: string }): Promise<{ id: number }> {
  const description = status.description && status.description.length > STATUS_DESCRIPTION_LIMIT ? `${status.description.slice(0, STATUS_DESCRIPTION_LIMIT - 1)}…` : status.description;
  const { data } = await client.rest.repos.createCommitStatus({
    owner: status.owner,
    repo: status.repo,
    sha: status.sha,
    state: status.state,
    context: status.context,
    ...(description ? { description } : {}),
    ...(status.targetUrl ? { target_url: status.targetUrl } : {}),
  });
  return { id: data.id };
}

export interface GateContextStatus {
  context: string;
  state: CommitState;
  description: string | null;
  targetUrl: string | null;
  updatedAt: string;
}

export interface GateStatus {
  /**
   * `missing`: no gate status on the commit. Otherwise the worst of the latest status of each gate
   * context: failure, then error, then pending; success only when every gate context succeeded.
   */
  state: CommitState | 'missing';
  contexts: GateContextStatus[];
}

/** Combine the latest status of each gate context (other contexts are ignored). Pure. */
export function combineGateStatuses(latest: GateContextStatus[]): GateStatus {
  const contexts = latest.filter((s) => isGateContext(s.context));
  const has = (state: CommitState) => contexts.some((s) => s.state === state);
  const state = contexts.length === 0 ? 'missing' : has('failure') ? 'failure' : has('error') ? 'error' : has('pending') ? 'pending' : 'success';
  return { state, contexts };
}

/**
 * The gate's verdict on a commit: every `train-to-serve/gate` and `train-to-serve/gate/*` status
 * (the latest of each context, from GitHub's combined status, all pages), combined.
 */
export async function readGateStatus(client: GitHubClient, ref: CommitRef): Promise<GateStatus> {
  const latest: GateContextStatus[] = [];
  const perPage = 100;
  for (let page = 1; ; page++) {
    const { data } = await client.rest.repos.getCombinedStatusForRef({ owner: ref.owner, repo: ref.repo, ref: ref.sha, per_page: perPage, page });
    for (const s of data.statuses) {
      latest.push({ context: s.context, state: s.state as CommitState, description: s.description, targetUrl: s.target_url, updatedAt: s.updated_at });
    }
    if (data.statuses.length < perPage || latest.length >= data.total_count) break;
  }
  return combineGateStatuses(latest);
}
