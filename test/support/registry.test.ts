import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from './registry';

// The registry stand-up the publish, promote and deploy tests rely on: each auth mode really
// refuses what it should, so a client test passing against it means something.
describe.each(['none', 'basic', 'token'] as const)('test registry with auth %s', (auth) => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth });
  });
  afterAll(() => registry?.stop());

  it('answers the API root as its auth mode says', async () => {
    const anonymous = await fetch(`${registry.url}/v2/`);
    expect(anonymous.status).toBe(auth === 'none' ? 200 : 401);
    if (auth === 'basic') expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    if (auth === 'token') expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/token",service="tts-test-registry"/);
  });
});

describe('basic auth registry', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'basic' });
  });
  afterAll(() => registry?.stop());

  it('accepts the right password and refuses a wrong one', async () => {
    const basic = (password: string) => ({ authorization: `Basic ${Buffer.from(`${registry.username}:${password}`).toString('base64')}` });
    expect((await fetch(`${registry.url}/v2/`, { headers: basic(registry.password) })).status).toBe(200);
    expect((await fetch(`${registry.url}/v2/`, { headers: basic('wrong') })).status).toBe(401);
  });
});

describe('token auth registry', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token' });
  });
  afterAll(() => registry?.stop());

  it('issues tokens the registry trusts, scoped to what was granted', async () => {
    const challenge = await fetch(`${registry.url}/v2/acme/iris/tags/list`);
    const header = challenge.headers.get('www-authenticate') ?? '';
    expect(header).toContain('scope="repository:acme/iris:pull"');
    const realm = /realm="([^"]+)"/.exec(header)![1]!;
    const basic = `Basic ${Buffer.from(`${registry.username}:${registry.password}`).toString('base64')}`;
    const tokenFor = async (scope: string) => {
      const response = await fetch(`${realm}?service=tts-test-registry&scope=${encodeURIComponent(scope)}`, { headers: { authorization: basic } });
      return ((await response.json()) as { token: string }).token;
    };
    const good = await tokenFor('repository:acme/iris:pull');
    // The repository does not exist yet: 404 NAME_UNKNOWN means the token was accepted.
    expect((await fetch(`${registry.url}/v2/acme/iris/tags/list`, { headers: { authorization: `Bearer ${good}` } })).status).toBe(404);
    const other = await tokenFor('repository:acme/other:pull');
    expect((await fetch(`${registry.url}/v2/acme/iris/tags/list`, { headers: { authorization: `Bearer ${other}` } })).status).toBe(401);
    const bad = await fetch(`${realm}?service=tts-test-registry&scope=repository:acme/iris:pull`, { headers: { authorization: `Basic ${Buffer.from(`${registry.username}:nope`).toString('base64')}` } });
    expect(bad.status).toBe(401);
    expect(registry.tokenRequests.map((r) => r.scopes)).toContainEqual(['repository:acme/iris:pull']);
  });
});
