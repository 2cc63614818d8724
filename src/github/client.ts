import { GitHub, getOctokitOptions } from '@actions/github/lib/utils';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';

/** Octokit with the REST methods, pagination, retries on 5xx, and rate-limit handling. */
const ToolkitOctokit = GitHub.plugin(retry, throttling);
export type GitHubClient = InstanceType<typeof ToolkitOctokit>;

export interface GitHubClientOptions {
  token: string;
  /** `GITHUB_API_URL`: https://api.github.com, or a GitHub Enterprise Server's `/api/v3`. */
  baseUrl: string;
  /** Where notes about retries go (the action passes `core.warning`). */
  warn?: (message: string) => void;
  /** Rate-limit retries before giving up. */
  maxRateLimitRetries?: number;
}

export function createGitHubClient({ token, baseUrl, warn = () => {}, maxRateLimitRetries = 2 }: GitHubClientOptions): GitHubClient {
  const onLimit = (kind: string) => (retryAfter: number, options: { method: string; url: string }, _octokit: unknown, retryCount: number) => {
    if (retryCount >= maxRateLimitRetries) {
      warn(`GitHub ${kind} rate limit hit on ${options.method} ${options.url}; giving up after ${retryCount} retries`);
      return false;
    }
    warn(`GitHub ${kind} rate limit hit on ${options.method} ${options.url}; retrying in ${retryAfter}s`);
    return true;
  };
  return new ToolkitOctokit({
    ...getOctokitOptions(token, { baseUrl }),
    baseUrl,
    throttle: { onRateLimit: onLimit('primary'), onSecondaryRateLimit: onLimit('secondary') },
    retry: { doNotRetry: [400, 401, 403, 404, 410, 422, 451] },
  });
}
