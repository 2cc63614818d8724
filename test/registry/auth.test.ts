import { describe, expect, it } from 'vitest';
import { mergeChallengeScope, parseChallenge, scopeStrings, type ScopeRequest } from '../../src/registry/auth';

describe('parseChallenge', () => {
  it.each([
    ['Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:acme/iris:pull"', { scheme: 'bearer', params: { realm: 'https://ghcr.io/token', service: 'ghcr.io', scope: 'repository:acme/iris:pull' } }],
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push",error="insufficient_scope"',
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:a/b:pull,push', error: 'insufficient_scope' } },
    ],
    ['Basic realm="Registry Realm"', { scheme: 'basic', params: { realm: 'Registry Realm' } }],
    ['basic realm=tts', { scheme: 'basic', params: { realm: 'tts' } }],
    ['Bearer realm = "x\\"y" , service=z', { scheme: 'bearer', params: { realm: 'x"y', service: 'z' } }],
  ])('%s', (header, expected) => {
    expect(parseChallenge(header)).toEqual(expected);
  });

  it('has nothing to say about an absent header', () => {
    expect(parseChallenge(undefined)).toBeUndefined();
    expect(parseChallenge('')).toBeUndefined();
  });
});

describe('token scopes', () => {
  it('asks push on the target and pull on the base in one request, adding what a challenge names', () => {
    const scopes: ScopeRequest = new Map([
      ['acme/iris', new Set(['pull', 'push'] as const)],
      ['acme/server', new Set(['pull'] as const)],
    ]);
    expect(scopeStrings(scopes)).toEqual(['repository:acme/iris:pull,push', 'repository:acme/server:pull']);
    expect(mergeChallengeScope(scopes, 'repository:acme/iris:pull')).toBe(false);
    expect(mergeChallengeScope(scopes, 'repository:other/base:pull')).toBe(true);
    expect(scopeStrings(scopes)).toEqual(['repository:acme/iris:pull,push', 'repository:acme/server:pull', 'repository:other/base:pull']);
    expect(mergeChallengeScope(scopes, 'registry:catalog:*')).toBe(false);
  });
});
