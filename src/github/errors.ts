/**
 * What went wrong with a GitHub API call, in one line a person can act on. Octokit's RequestError
 * carries the HTTP status and GitHub's message; it never carries the token (Octokit redacts it).
 */

export function httpStatusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

/** 403 (a read-only token, e.g. on a fork's pull request) or 404 (no access to the repository). */
export function isPermissionDenied(error: unknown): boolean {
  const status = httpStatusOf(error);
  return status === 403 || status === 404;
}

export function describeGitHubError(error: unknown): string {
  const status = httpStatusOf(error);
  const response = (error as { response?: { data?: unknown } } | null)?.response;
  const data = response?.data as { message?: unknown } | undefined;
  const message = typeof data?.message === 'string' ? data.message.split('\n')[0] : error instanceof Error ? error.message.split('\n')[0] : String(error);
  return status ? `GitHub answered ${status}: ${message}` : `GitHub could not be reached: ${message}`;
}
