import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { explainAuthError, githubRegistryHost, parseCredentialInputs, resolveCredentials } from '../../src/registry/credentials';
import { dockerLogin, dockerServerAddress } from '../../src/registry/docker-config';
import { RegistryAuthError } from '../../src/registry/errors';

/** A Docker config folder holding `config` (and helper scripts), as docker login leaves it. */
function dockerConfig(config: unknown, helpers: Record<string, string> = {}): NodeJS.ProcessEnv {
  const dir = mkdtempSync(join(tmpdir(), 'tts-docker-config-unit-'));
  writeFileSync(join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  for (const [name, script] of Object.entries(helpers)) {
    writeFileSync(join(dir, `docker-credential-${name}`), `#!/bin/sh\n${script}\n`);
    chmodSync(join(dir, `docker-credential-${name}`), 0o755);
  }
  return { DOCKER_CONFIG: dir, PATH: `${dir}:${process.env.PATH ?? ''}`, HOME: dir };
}
const basic = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64');

describe('which GitHub registry the job token may go to', () => {
  it.each([
    ['https://github.com', 'ghcr.io'],
    ['https://ghes.acme.internal', 'containers.ghes.acme.internal'],
    ['https://acme.ghe.com/', 'containers.acme.ghe.com'],
  ])('%s -> %s', (server, registry) => expect(githubRegistryHost(server)).toBe(registry));

  const env = dockerConfig({ auths: {} });
  it.each([
    ['ghcr.io', 'https://github.com', 'job-token'],
    ['docker.io', 'https://github.com', 'anonymous'],
    ['ghcr.io.evil.example', 'https://github.com', 'anonymous'],
    ['127.0.0.1:5000', 'https://github.com', 'anonymous'],
    ['containers.ghes.acme.internal', 'https://ghes.acme.internal', 'job-token'],
    ['ghcr.io', 'https://ghes.acme.internal', 'anonymous'],
  ])('%s on %s: %s', async (registry, serverUrl, source) => {
    const resolved = await resolveCredentials(registry, { githubToken: 'ghs_job', actor: 'octocat', serverUrl, env });
    expect(resolved.source).toBe(source);
    if (source === 'job-token') expect(resolved.credentials).toEqual({ username: 'octocat', password: 'ghs_job' });
    else expect(resolved.credentials).toBeUndefined();
  });

  it('prefers the user’s inputs, then docker login, then the job token', async () => {
    const logged = dockerConfig({ auths: { 'ghcr.io': { auth: basic('robot', 'pat') } } });
    expect((await resolveCredentials('ghcr.io', { inputs: { username: 'u', password: 'p' }, githubToken: 't', serverUrl: 'https://github.com', env: logged })).source).toBe('inputs');
    const masked: string[] = [];
    const fromLogin = await resolveCredentials('ghcr.io', { githubToken: 't', serverUrl: 'https://github.com', env: logged, mask: (s) => masked.push(s) });
    expect(fromLogin).toMatchObject({ source: 'docker-login', credentials: { username: 'robot', password: 'pat' } });
    expect(masked).toEqual(['pat']);
  });
});

describe('docker login credentials', () => {
  it.each([
    ['an auths entry by host', { auths: { 'registry.acme.io': { auth: basic('ci', 's3cret:with:colons') } } }, { username: 'ci', password: 's3cret:with:colons' }],
    ['an auths entry written as a URL', { auths: { 'https://registry.acme.io/v2/': { auth: basic('ci', 'pw') } } }, { username: 'ci', password: 'pw' }],
    ['username and password fields', { auths: { 'registry.acme.io': { username: 'ci', password: 'pw' } } }, { username: 'ci', password: 'pw' }],
    ['no entry for the registry', { auths: { 'other.acme.io': { auth: basic('ci', 'pw') } } }, undefined],
    ['an entry for a registry whose name only starts the same', { auths: { 'registry.acme.io.evil.example': { auth: basic('ci', 'pw') } } }, undefined],
  ])('%s', async (_name, config, expected) => {
    const found = await dockerLogin('registry.acme.io', { env: dockerConfig(config) });
    expect(found && { username: found.username, password: found.password }).toEqual(expected);
  });

  it('finds nothing when there is no config.json', async () => {
    expect(await dockerLogin('registry.acme.io', { env: { DOCKER_CONFIG: mkdtempSync(join(tmpdir(), 'tts-none-')) } })).toBeUndefined();
  });

  it('files Docker Hub under its index URL, as docker login does', () => {
    expect(dockerServerAddress('docker.io')).toBe('https://index.docker.io/v1/');
    expect(dockerServerAddress('ghcr.io')).toBe('ghcr.io');
  });

  it('asks credHelpers first, with the server address on stdin, as Docker does', async () => {
    const env = dockerConfig(
      { auths: { 'registry.acme.io': { auth: basic('stale', 'stale') } }, credsStore: 'store', credHelpers: { 'registry.acme.io': 'acme' } },
      { acme: 'read -r server; [ "$1" = get ] && printf \'{"ServerURL":"%s","Username":"AWS","Secret":"token-for-%s"}\' "$server" "$server"', store: 'exit 1' },
    );
    expect(await dockerLogin('registry.acme.io', { env })).toMatchObject({ username: 'AWS', password: 'token-for-registry.acme.io', from: 'docker-credential-acme' });
  });

  it('asks the credsStore helper, and reads "credentials not found" as none', async () => {
    const env = dockerConfig(
      { credsStore: 'store' },
      { store: 'read -r server; if [ "$server" = https://index.docker.io/v1/ ]; then echo \'{"Username":"hub","Secret":"pw"}\'; else echo "credentials not found in native keychain"; exit 1; fi' },
    );
    expect(await dockerLogin('docker.io', { env })).toMatchObject({ username: 'hub', password: 'pw' });
    expect(await dockerLogin('quay.io', { env })).toBeUndefined();
  });

  it.each([
    ['a helper that is not on PATH', { credsStore: 'nowhere' }, {}, /^Docker credential helper docker-credential-nowhere: is not on PATH, asked for registry\.acme\.io$/],
    ['a helper that fails', { credsStore: 'broken' }, { broken: 'echo boom; exit 3' }, /^Docker credential helper docker-credential-broken: failed \(boom\)/],
    ['a helper that answers garbage', { credsStore: 'garbage' }, { garbage: 'echo not json' }, /answered something that is not JSON/],
    ['an identity token', { auths: { 'registry.acme.io': { identitytoken: 'refresh' } } }, {}, /holds an identity token for registry\.acme\.io/],
    ['a config that is not JSON', '{"auths": ', {}, /^Docker config ".*config\.json": is not valid JSON/],
    ['a helper name with a path in it', { credsStore: '../../bin/sh' }, {}, /names the credential helper "\.\.\/\.\.\/bin\/sh", which is not a helper name/],
  ])('refuses %s, naming it', async (_name, config, helpers, message) => {
    await expect(dockerLogin('registry.acme.io', { env: dockerConfig(config, helpers as Record<string, string>) })).rejects.toThrow(message);
  });
});

describe('credential inputs and auth errors', () => {
  it.each([
    [undefined, undefined, undefined],
    ['ci', 'pw', { username: 'ci', password: 'pw' }],
  ])('%j / %j', (user, password, expected) => expect(parseCredentialInputs(user, password)).toEqual(expected));

  it.each([
    ['ci', undefined, /^Input "registry-password": registry-username and registry-password go together/],
    [undefined, 'pw', /^Input "registry-username": registry-username and registry-password go together/],
  ])('refuses %j / %j', (user, password, message) => expect(() => parseCredentialInputs(user, password)).toThrow(message));

  const refused = new RegistryAuthError('Registry r.io', 'refused the credentials', 401);
  it.each([
    ['inputs', /^Input "registry-password": Registry r\.io: refused the credentials \(check registry-username and registry-password\)$/],
    ['docker-login', /^Input "registry-password": .*the credentials docker login left in \/x\/config\.json: log in again/],
    ['job-token', /^Input "github-token": .*the job token was used for r\.io/],
    ['anonymous', /^Input "registry-password": .*no credentials for r\.io: run docker login for it first/],
  ] as const)('names the input to fix for credentials from %s', (source, message) => {
    expect((explainAuthError(refused, { registry: 'r.io', source, from: '/x/config.json' }) as Error).message).toMatch(message);
  });

  it('passes other errors through', () => {
    const other = new Error('reset');
    expect(explainAuthError(other, { registry: 'r.io', source: 'inputs' })).toBe(other);
  });
});
