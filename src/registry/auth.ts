/**
 * Registry authentication: the `WWW-Authenticate` challenge a registry answers 401 with, and the
 * scopes a bearer token is asked for (the distribution token spec, which ghcr.io/token follows).
 */
export interface Challenge {
  /** Lower case: `basic`, `bearer`, or a scheme this client does not speak. */
  scheme: string;
  params: Record<string, string>;
}

/** Parse `Bearer realm="…",service="…",scope="…"` (quoted or bare values, commas inside quotes kept). */
export function parseChallenge(header: string | null | undefined): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*([A-Za-z][A-Za-z0-9_-]*)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  const param = /([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/gy;
  const rest = match[2]!;
  let found: RegExpExecArray | null;
  while ((found = param.exec(rest)) !== null && found[0] !== '') {
    params[found[1]!.toLowerCase()] = found[2] !== undefined ? found[2].replace(/\\(.)/g, '$1') : found[3]!;
  }
  return { scheme: match[1]!.toLowerCase(), params };
}

export type Action = 'pull' | 'push';

/** Which actions the client needs on which repositories: asked for together in one token. */
export type ScopeRequest = Map<string, Set<Action>>;

export function scopeStrings(scopes: ScopeRequest): string[] {
  return [...scopes.entries()].filter(([, actions]) => actions.size > 0).map(([repository, actions]) => `repository:${repository}:${['pull', 'push'].filter((a) => actions.has(a as Action)).join(',')}`);
}

/** Add the scope a challenge names (`repository:a/b:pull`) to what will be asked for. */
export function mergeChallengeScope(scopes: ScopeRequest, scope: string | undefined): boolean {
  let changed = false;
  for (const item of (scope ?? '').split(' ')) {
    const [type, name, actions] = item.split(':');
    if (type !== 'repository' || !name || !actions) continue;
    const set = scopes.get(name) ?? new Set<Action>();
    for (const action of actions.split(',')) {
      if ((action === 'pull' || action === 'push') && !set.has(action)) {
        set.add(action);
        changed = true;
      }
    }
    scopes.set(name, set);
  }
  return changed;
}

export interface Credentials {
  username: string;
  password: string;
}

export function basicAuthorization({ username, password }: Credentials): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}
