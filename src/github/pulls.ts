import type { GitHubClient } from './client';

/** A pull request as the toolkit needs it: plain data. */
export interface PullRequestInfo {
  number: number;
  title: string;
  state: 'open' | 'closed';
  merged: boolean;
  /** The commit on the base branch (merge, squash or last rebased commit) once merged; GitHub's test merge before. */
  mergeCommitSha?: string;
  headSha: string;
  headRef: string;
  baseRef: string;
  /** The head branch lives in another repository. */
  fromFork: boolean;
  htmlUrl: string;
}

interface PullLike {
  number: number;
  title: string;
  state: string;
  merged_at: string | null;
  merge_commit_sha: string | null;
  html_url: string;
  head: { sha: string; ref: string; repo: { full_name: string } | null };
  base: { ref: string; repo: { full_name: string } };
}

function toInfo(pull: PullLike, merged?: boolean): PullRequestInfo {
  return {
    number: pull.number,
    title: pull.title,
    state: pull.state === 'open' ? 'open' : 'closed',
    merged: merged ?? pull.merged_at !== null,
    ...(pull.merge_commit_sha ? { mergeCommitSha: pull.merge_commit_sha } : {}),
    headSha: pull.head.sha,
    headRef: pull.head.ref,
    baseRef: pull.base.ref,
    fromFork: pull.head.repo === null || pull.head.repo.full_name.toLowerCase() !== pull.base.repo.full_name.toLowerCase(),
    htmlUrl: pull.html_url,
  };
}

export async function getPullRequest(client: GitHubClient, ref: { owner: string; repo: string; pullNumber: number }): Promise<PullRequestInfo> {
  const { data } = await client.rest.pulls.get({ owner: ref.owner, repo: ref.repo, pull_number: ref.pullNumber });
  return toInfo(data, data.merged);
}

/**
 * The pull request a pushed commit came from (`GET /repos/{owner}/{repo}/commits/{sha}/pulls`):
 * the merged PR whose merge commit it is, else a PR whose head it is, else a merged PR that
 * contains it, else the first one GitHub lists. Undefined when no PR is associated.
 */
export async function findPullRequestForCommit(client: GitHubClient, ref: { owner: string; repo: string; sha: string }): Promise<PullRequestInfo | undefined> {
  const pulls = (await client.paginate(client.rest.repos.listPullRequestsAssociatedWithCommit, { owner: ref.owner, repo: ref.repo, commit_sha: ref.sha, per_page: 100 })).map((p) => toInfo(p as PullLike));
  return pulls.find((p) => p.merged && p.mergeCommitSha === ref.sha) ?? pulls.find((p) => p.headSha === ref.sha) ?? pulls.find((p) => p.merged) ?? pulls[0];
}
