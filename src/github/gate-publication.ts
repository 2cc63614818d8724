import type { RunContext } from '../runtime/context';
import type { GitHubClient } from './client';
import { upsertStickyComment } from './comments';
import { describeGitHubError, httpStatusOf } from './errors';
import { gateStatusContext, setCommitStatus, type CommitState } from './statuses';

/**
 * Where the gate's verdict goes on GitHub: the sticky comment on the pull request and the commit
 * status. Planning is a pure function of the run and the inputs; carrying it out never fails the
 * step: a refused or failed call becomes a warning, because the verdict (the step's result and
 * the job summary) stands without it.
 */

export interface GatePublicationRequest {
  context: RunContext;
  /** The `comment` input: undefined means "on pull requests". */
  comment: boolean | undefined;
  /** The `comment-key` input. */
  commentKey: string | undefined;
  /** The `status` input. */
  status: boolean;
  passed: boolean;
  /** One line for the status description. */
  headline: string;
  hasToken: boolean;
}

export interface GatePublicationPlan {
  key: string;
  comment?: { owner: string; repo: string; issueNumber: number; fromFork: boolean };
  status?: { owner: string; repo: string; sha: string; context: string; state: CommitState; description: string; targetUrl?: string };
  /** What will not be done, and whether it deserves a warning (the user asked for it). */
  skipped: { reason: string; warn: boolean }[];
}

export function defaultCommentKey(context: RunContext): string {
  const parts = [context.workflow, context.job].filter((part) => part.trim() !== '');
  return parts.length ? parts.join('/') : 'gate';
}

export function planGatePublication(request: GatePublicationRequest): GatePublicationPlan {
  const { context } = request;
  const key = request.commentKey?.trim() || defaultCommentKey(context);
  const plan: GatePublicationPlan = { key, skipped: [] };
  const repository = context.repository;
  const pr = context.pullRequest;

  const wantComment = request.comment ?? pr !== undefined;
  if (wantComment) {
    if (!repository) plan.skipped.push({ reason: 'Comment skipped: GITHUB_REPOSITORY is not set', warn: true });
    else if (!request.hasToken) plan.skipped.push({ reason: 'Comment skipped: no github-token', warn: true });
    else if (!pr) plan.skipped.push({ reason: `Comment skipped: the ${context.eventName || 'current'} event has no pull request to comment on`, warn: true });
    else plan.comment = { ...repository, issueNumber: pr.number, fromFork: pr.fromFork };
  } else if (request.comment === undefined) {
    plan.skipped.push({ reason: `No comment: the ${context.eventName || 'current'} event has no pull request`, warn: false });
  }

  if (request.status) {
    const sha = pr?.headSha || context.sha;
    if (!repository) plan.skipped.push({ reason: 'Commit status skipped: GITHUB_REPOSITORY is not set', warn: true });
    else if (!request.hasToken) plan.skipped.push({ reason: 'Commit status skipped: no github-token', warn: true });
    else if (!sha) plan.skipped.push({ reason: 'Commit status skipped: no commit SHA (GITHUB_SHA is not set)', warn: true });
    else {
      plan.status = {
        ...repository,
        sha,
        context: gateStatusContext(request.commentKey),
        state: request.passed ? 'success' : 'failure',
        description: request.headline,
        ...(context.runUrl ? { targetUrl: context.runUrl } : {}),
      };
    }
  }
  return plan;
}

export interface GatePublicationResult {
  commentUrl?: string;
  commentAction?: 'created' | 'updated';
  statusSet?: { context: string; sha: string; state: CommitState };
  /** One line each, for the job summary and the log. */
  notes: string[];
}

export async function publishGateReport(client: GitHubClient | undefined, plan: GatePublicationPlan, body: string, warn: (message: string) => void): Promise<GatePublicationResult> {
  const result: GatePublicationResult = { notes: [] };
  for (const { reason, warn: loud } of plan.skipped) {
    if (loud) warn(reason);
    result.notes.push(reason);
  }
  if (!client) return result;

  if (plan.comment) {
    const { owner, repo, issueNumber, fromFork } = plan.comment;
    try {
      const comment = await upsertStickyComment(client, { owner, repo, issueNumber, key: plan.key, body });
      result.commentUrl = comment.url;
      result.commentAction = comment.action;
      result.notes.push(`Comment ${comment.action} on pull request #${issueNumber}: ${comment.url}`);
    } catch (error) {
      const why = httpStatusOf(error) === 403 ? (fromFork ? ' (a pull request from a fork gets a read-only token)' : ' (the token lacks pull-requests: write or issues: write)') : '';
      const message = `Could not comment on pull request #${issueNumber}: ${describeGitHubError(error)}${why}; the report is in the job summary`;
      warn(message);
      result.notes.push(message);
    }
  }

  if (plan.status) {
    const { owner, repo, sha, context, state, description, targetUrl } = plan.status;
    try {
      await setCommitStatus(client, { owner, repo, sha, context, state, description, ...(targetUrl ? { targetUrl } : {}) });
      result.statusSet = { context, sha, state };
      result.notes.push(`Commit status ${context}: ${state} on ${sha.slice(0, 7)}`);
    } catch (error) {
      const why = httpStatusOf(error) === 403 ? ' (the token lacks statuses: write)' : '';
      const message = `Could not set commit status ${context} on ${sha.slice(0, 7)}: ${describeGitHubError(error)}${why}`;
      warn(message);
      result.notes.push(message);
    }
  }
  return result;
}
