import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../ports';
import { backend, closeBackends, lb, writeAtomically, type Backend } from './file-test-support';
import { startTraefikStandIn, type TraefikStandIn } from './index';

// The stand-in's file provider as a process, with real HTTP servers behind it. Each test cites
// where Traefik defines the behaviour (github.com/traefik/traefik, v3 master fd5a576).

let directory: string;
let traefik: TraefikStandIn;
let a: Backend;
let b: Backend;

beforeAll(async () => {
  a = await backend('a');
  b = await backend('b');
});
afterAll(closeBackends);

describe('providers.file.directory with watch (pkg/provider/file/file.go Provide, addWatcher)', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'traefik-file-'));
    // A short throttle keeps the tests quick; throttling itself is checked below with a long one.
    traefik = await startTraefikStandIn({ provider: 'file', file: { directory }, throttleMs: 200, logLevel: 'debug' });
  });
  afterAll(async () => {
    await traefik?.stop();
    rmSync(directory, { recursive: true, force: true });
  });
  afterEach(() => {
    for (const name of ['iris.yml', 'broken.yml', 'other.yml']) rmSync(join(directory, name), { force: true });
  });

  it('lists the file provider in /api/overview (handler_overview.go getProviders)', async () => {
    const overview = (await (await fetch(`${traefik.apiUrl}/api/overview`)).json()) as { providers: string[] };
    expect(overview.providers).toEqual(['File']);
  });

  it('sees a file renamed into the directory, and splits traffic 90/10 by weighted round robin', async () => {
    writeAtomically(
      directory,
      'iris.yml',
      `http:
  routers:
    iris:
      rule: Host(\`iris.example.com\`)
      entryPoints: [web]
      service: iris
  services:
    iris:
      weighted:
        services:
          - name: iris-a
            weight: 90
          - name: iris-b@file
            weight: 10
${lb('iris-a', a.url)}${lb('iris-b', b.url)}`,
    );
    await waitFor('iris@file in the API', async () => (await traefik.service('iris@file')) !== undefined, 15_000, 50);
    expect(await traefik.service('iris@file')).toEqual({
      weighted: {
        services: [
          { name: 'iris-a', weight: 90 },
          { name: 'iris-b@file', weight: 10 },
        ],
      },
      status: 'enabled',
      usedBy: ['iris@file'],
      name: 'iris@file',
      provider: 'file',
      type: 'weighted',
    });
    expect(await traefik.router('iris@file')).toMatchObject({ status: 'enabled', service: 'iris', rule: 'Host(`iris.example.com`)', using: ['web'] });
    const answers: Record<string, number> = {};
    for (let i = 0; i < 100; i++) {
      const { text } = await traefik.send('iris.example.com');
      answers[text] = (answers[text] ?? 0) + 1;
    }
    expect(answers).toEqual({ a: 90, b: 10 });
  });

  it('keeps the previous configuration when a file fails to parse, and applies the fixed file (file.go applyConfiguration returns before sendConfigToChannel)', async () => {
    writeAtomically(directory, 'iris.yml', `http:\n  routers:\n    iris: { rule: "Host(\`iris.example.com\`)", service: iris-a }\n  services:\n${lb('iris-a', a.url)}`);
    await waitFor('iris routed', async () => (await traefik.send('iris.example.com')).text === 'a', 15_000, 50);
    const before = traefik.logs().length;
    writeFileSync(join(directory, 'broken.yml'), 'http:\n  routers:\n    r: [\n');
    await waitFor(
      'the parse error logged',
      async () =>
        traefik
          .logs()
          .slice(before)
          .some((line) => line.msg === 'Error occurred during watcher callback' && String(line.error).includes('broken.yml')),
      15_000,
      50,
    );
    // The other file's router still routes: nothing was sent, so nothing changed.
    expect((await traefik.send('iris.example.com')).text).toBe('a');
    writeAtomically(directory, 'broken.yml', `http:\n  routers:\n    fixed: { rule: "Host(\`fixed.example.com\`)", service: iris-a }\n`);
    await waitFor('the fixed file applied', async () => (await traefik.send('fixed.example.com')).status === 200, 15_000, 50);
  });

  it('removes the routers and services of a removed file (the next build does not read it)', async () => {
    writeAtomically(directory, 'other.yml', `http:\n  routers:\n    other: { rule: "Host(\`other.example.com\`)", service: other }\n  services:\n${lb('other', b.url)}`);
    await waitFor('other routed', async () => (await traefik.send('other.example.com')).text === 'b', 15_000, 50);
    rmSync(join(directory, 'other.yml'));
    await waitFor('other gone', async () => (await traefik.send('other.example.com')).status === 404, 15_000, 50);
    expect(await traefik.service('other@file')).toBeUndefined();
  });

  it('reports a router whose service is in a provider that has no such service (service.go BuildHTTP)', async () => {
    writeAtomically(directory, 'iris.yml', `http:\n  routers:\n    iris: { rule: "Host(\`iris.example.com\`)", service: iris }\n  services:\n    iris:\n      weighted:\n        services:\n          - name: iris-3f2a9c1d0b7e@docker\n`);
    await waitFor('iris@file in the API', async () => (await traefik.router('iris@file'))?.status === 'disabled', 15_000, 50);
    const message = 'building HTTP service "iris-3f2a9c1d0b7e@docker": the service "iris-3f2a9c1d0b7e@docker" does not exist';
    expect(await traefik.router('iris@file')).toMatchObject({ status: 'disabled', error: [message] });
    expect(await traefik.service('iris@file')).toMatchObject({ status: 'disabled', error: [message] });
    expect((await traefik.send('iris.example.com')).status).toBe(404);
  });

  it('routes a request with the version header to the pinned router, whose longer rule wins (router.go GetRulePriority)', async () => {
    writeAtomically(
      directory,
      'iris.yml',
      `http:
  routers:
    iris: { rule: "Host(\`iris.example.com\`)", service: iris-a }
    iris-b: { rule: "Host(\`iris.example.com\`) && Header(\`X-Model-Version\`, \`8b1e77a0c4d2\`)", service: iris-b }
  services:
${lb('iris-a', a.url)}${lb('iris-b', b.url)}`,
    );
    await waitFor('both routers', async () => (await traefik.router('iris-b@file'))?.status === 'enabled', 15_000, 50);
    expect((await traefik.send('iris.example.com')).text).toBe('a');
    expect((await traefik.send('iris.example.com', '/', { headers: { 'X-Model-Version': '8b1e77a0c4d2' } })).text).toBe('b');
    expect((await traefik.send('iris.example.com', '/', { headers: { 'X-Model-Version': 'other' } })).text).toBe('a');
  });
});

describe('the provider throttle applies to the file provider too (aggregator.go maybeThrottledProvide)', { timeout: 60_000 }, () => {
  it('applies the first configuration at once and holds a change until the throttle period ends', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'traefik-file-'));
    writeFileSync(join(dir, 'iris.yml'), `http:\n  routers:\n    iris: { rule: "Host(\`iris.example.com\`)", service: iris-a }\n  services:\n${lb('iris-a', a.url)}`);
    const slow = await startTraefikStandIn({ provider: 'file', file: { directory: dir }, throttleMs: 60_000, logLevel: 'debug' });
    try {
      await waitFor('iris routed', async () => (await slow.send('iris.example.com')).text === 'a', 15_000, 50);
      const before = slow.logs().length;
      writeAtomically(dir, 'iris.yml', `http:\n  routers:\n    iris: { rule: "Host(\`iris.example.com\`)", service: iris-b }\n  services:\n${lb('iris-b', b.url)}`);
      await waitFor(
        'the change received by the throttle',
        async () =>
          slow
            .logs()
            .slice(before)
            .some((line) => line.msg === 'Provider event received'),
        15_000,
        50,
      );
      expect((await slow.send('iris.example.com')).text).toBe('a');
      expect((await slow.router('iris@file'))?.service).toBe('iris-a');
    } finally {
      await slow.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('providers.file.filename (file.go: watches the file and its directory, reacts to that name only)', { timeout: 60_000 }, () => {
  it('sees an atomic rename over the file, and ignores other files in the directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'traefik-file-'));
    const filename = join(dir, 'dynamic.yml');
    writeFileSync(filename, `http:\n  routers:\n    iris: { rule: "Host(\`iris.example.com\`)", service: iris-a }\n  services:\n${lb('iris-a', a.url)}`);
    const single = await startTraefikStandIn({ provider: 'file', file: { filename }, throttleMs: 200 });
    try {
      await waitFor('iris routed', async () => (await single.send('iris.example.com')).text === 'a', 15_000, 50);
      writeFileSync(join(dir, 'ignored.yml'), `http:\n  routers:\n    ignored: { rule: "Host(\`ignored.example.com\`)", service: iris-a }\n`);
      writeAtomically(dir, 'dynamic.yml', `http:\n  routers:\n    iris: { rule: "Host(\`iris.example.com\`)", service: iris-b }\n  services:\n${lb('iris-b', b.url)}`);
      await waitFor('the renamed file applied', async () => (await single.send('iris.example.com')).text === 'b', 15_000, 50);
      expect((await single.send('ignored.example.com')).status).toBe(404);
    } finally {
      await single.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs on without the provider when the directory is missing, logging it (aggregator: "Cannot start the provider")', async () => {
    const missing = join(tmpdir(), `traefik-missing-${process.pid}-${Date.now()}`);
    const standIn = await startTraefikStandIn({ provider: 'file', file: { directory: missing } });
    try {
      await waitFor('the error logged', async () => standIn.logs().some((line) => line.msg === 'Cannot start the provider' && String(line.error).includes('unable to read directory')), 15_000, 50);
      // The overview still lists it: Traefik lists the providers of its static configuration.
      expect(((await (await fetch(`${standIn.apiUrl}/api/overview`)).json()) as { providers: string[] }).providers).toEqual(['File']);
    } finally {
      await standIn.stop();
    }
    mkdirSync(missing);
    rmSync(missing, { recursive: true });
  });
});
