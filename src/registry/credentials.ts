import { InputError } from '../inputs/errors';
import type { Credentials } from './auth';
import { dockerLogin } from './docker-config';
import { RegistryAuthError } from './errors';

/**
 * Which credentials go to which registry: the one place every action decides it.
 *
 * 1. `registry-username` and `registry-password`, when given: to the registry of the action's own
 *    image (publish's target, promote's image, deploy's image, gate's baseline), nowhere else.
 * 2. `docker login` credentials for that exact registry (see docker-config.ts): what
 *    docker/login-action leaves for ECR, GAR, ACR, Docker Hub, Harbor.
 * 3. The job token (`github-token`), only to the GitHub container registry: `ghcr.io` for
 *    github.com, `containers.<host>` for GitHub Enterprise Server and GHE.com.
 * 4. Nothing: anonymous.
 */

/** `registry-username` and `registry-password`, both given. */
export type CredentialInputs = Credentials;

export interface CredentialOptions {
  /** The user's registry-username/password, for the action's own registry only. */
  inputs?: CredentialInputs;
  /** The job token (`github-token`): sent to the GitHub container registry only. */
  githubToken?: string;
  /** `github.actor`, the user name sent with the job token. */
  actor?: string;
  /** `GITHUB_SERVER_URL`: which GitHub the job token belongs to. */
  serverUrl: string;
  env: NodeJS.ProcessEnv;
  /** Hide a secret found in Docker's config from the log. */
  mask?: (secret: string) => void;
}

export type CredentialSource = 'inputs' | 'docker-login' | 'job-token' | 'anonymous';

export interface ResolvedCredentials {
  registry: string;
  credentials?: Credentials;
  source: CredentialSource;
  /** For docker-login: the config file or helper they came from. */
  from?: string;
}

/** registry-username and registry-password as given: both, or neither. */
export function parseCredentialInputs(username: string | undefined, password: string | undefined): CredentialInputs | undefined {
  const user = username?.trim() || undefined;
  const secret = password || undefined;
  if (Boolean(user) !== Boolean(secret)) {
    throw new InputError(user ? 'registry-password' : 'registry-username', 'registry-username and registry-password go together: give both or neither');
  }
  return user && secret ? { username: user, password: secret } : undefined;
}

/** The GitHub container registry of the GitHub the run is on. */
export function githubRegistryHost(serverUrl: string): string {
  let host: string;
  try {
    host = new URL(serverUrl).host.toLowerCase();
  } catch {
    host = 'github.com';
  }
  return host === 'github.com' || host === 'www.github.com' ? 'ghcr.io' : `containers.${host}`;
}

export function isGitHubRegistry(registry: string, serverUrl: string): boolean {
  return registry.toLowerCase() === githubRegistryHost(serverUrl);
}

export async function resolveCredentials(registry: string, options: CredentialOptions): Promise<ResolvedCredentials> {
  if (options.inputs) {
    return { registry, credentials: options.inputs, source: 'inputs' };
  }
  const login = await dockerLogin(registry, { env: options.env });
  if (login) {
    options.mask?.(login.password);
    return { registry, credentials: { username: login.username, password: login.password }, source: 'docker-login', from: login.from };
  }
  if (options.githubToken && isGitHubRegistry(registry, options.serverUrl)) {
    return { registry, credentials: { username: options.actor || 'github-actions', password: options.githubToken }, source: 'job-token' };
  }
  return { registry, source: 'anonymous' };
}

/**
 * A registry's refusal as the input the user should fix: the credentials inputs, the job token,
 * or a docker login. Anything else passes through unchanged.
 */
export function explainAuthError(error: unknown, resolved: ResolvedCredentials, doing?: string): unknown {
  if (!(error instanceof RegistryAuthError)) return error;
  const context = doing ? `${doing}; ` : '';
  switch (resolved.source) {
    case 'inputs':
      return new InputError('registry-password', `${error.message} (${context}check registry-username and registry-password)`);
    case 'docker-login':
      return new InputError('registry-password', `${error.message} (${context}the credentials docker login left in ${resolved.from}: log in again, or give registry-username and registry-password)`);
    case 'job-token':
      return new InputError('github-token', `${error.message} (${context}the job token was used for ${resolved.registry}: give the job the packages permission it needs, or give registry-username and registry-password)`);
    case 'anonymous':
      return new InputError('registry-password', `${error.message} (${context}no credentials for ${resolved.registry}: run docker login for it first, or give registry-username and registry-password)`);
  }
}
