import type { GitHubClient } from './client';

/**
 * Who a token acts as, so the toolkit touches only what it wrote itself. A personal access token
 * (or an OAuth or user-to-server token) is a user: `GET /user` names it. An installation token
 * (the job token is one, of the GitHub Actions app) is refused `GET /user` with 403; GraphQL's
 * `viewer` names its bot (`github-actions[bot]` for the job token). Undefined when neither answers:
 * callers then learn the login from the first comment they create.
 */
export async function tokenLogin(client: GitHubClient): Promise<string | undefined> {
  try {
    const { data } = await client.rest.users.getAuthenticated();
    if (data.login) return data.login;
  } catch {
    // An installation token, or a token without the user scope: ask GraphQL.
  }
  try {
    const answer = await client.graphql<{ viewer?: { login?: string } }>('query { viewer { login } }');
    return answer.viewer?.login || undefined;
  } catch {
    return undefined;
  }
}

/** GitHub logins are case-insensitive. */
export function sameLogin(a: string | undefined | null, b: string | undefined | null): boolean {
  return typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();
}
