export { startGitHubApi } from './server';
export type { GitHubApi, GitHubApiOptions, PullRequestSeed, RecordedRequest, StoredComment, StoredStatus, Injection } from './server';
export { loadGitHubOpenApi } from './openapi';
