import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../ports';
import { backend, closeBackends, lb, serviceRequests, writeAtomically, type Backend } from './file-test-support';
import { startTraefikStandIn, type TraefikStandIn } from './index';

// Weighted and mirroring services from the file provider, as a process in front of real HTTP
// servers: where requests go, what Prometheus counts, and how health propagates. Each test names
// where Traefik defines the behaviour (github.com/traefik/traefik, v3 master fd5a576).

let directory: string;
let traefik: TraefikStandIn;
let a: Backend;
let b: Backend;
let failing: Backend;

const metrics = async () => (await fetch(`${traefik.apiUrl}/metrics`)).text();

/** Writes one routing file for `host` and waits until its router is enabled. */
async function route(file: string, host: string, services: string): Promise<void> {
  writeAtomically(directory, `${file}.yml`, `http:\n  routers:\n    ${file}:\n      rule: Host(\`${host}\`)\n      service: ${file}\n  services:\n${services}`);
  await waitFor(`${file}@file enabled`, async () => (await traefik.router(`${file}@file`))?.status === 'enabled', 30_000, 50);
}

beforeAll(async () => {
  [a, b, failing] = await Promise.all([backend('a'), backend('b'), backend('failing', 500)]);
  directory = mkdtempSync(join(tmpdir(), 'traefik-services-'));
  traefik = await startTraefikStandIn({ provider: 'file', file: { directory }, throttleMs: 100 });
});
afterAll(async () => {
  await traefik?.stop();
  closeBackends();
  rmSync(directory, { recursive: true, force: true });
});

describe('Prometheus service metrics (observability/metrics/prometheus.go; service.go getLoadBalancerServiceHandler)', { timeout: 90_000 }, () => {
  it('counts a request through a weighted service on the load balancer that answered it, never on the weighted parent', async () => {
    await route('split', 'split.example.com', `    split:\n      weighted:\n        services:\n          - { name: split-a, weight: 3 }\n          - { name: split-b, weight: 1 }\n${lb('split-a', a.url)}${lb('split-b', failing.url)}`);
    for (let i = 0; i < 8; i++) await traefik.send('split.example.com');
    const samples = serviceRequests(await metrics());
    expect(samples).toContainEqual({ labels: 'code="200",method="GET",protocol="http",service="split-a@file"', value: 6 });
    expect(samples).toContainEqual({ labels: 'code="500",method="GET",protocol="http",service="split-b@file"', value: 2 });
    expect(samples.filter((sample) => sample.labels.includes('service="split@file"'))).toEqual([]);
  });

  it('observes durations in the default buckets 0.1, 0.3, 1.2, 5 (initStandardRegistry), and has the v3 open-connections and retries metrics', async () => {
    const text = await metrics();
    const buckets = text
      .split('\n')
      .filter((line) => line.startsWith('traefik_service_request_duration_seconds_bucket{') && line.includes('service="split-a@file"'))
      .map((line) => /le="([^"]+)"/.exec(line)![1]);
    expect(buckets).toEqual(['0.1', '0.3', '1.2', '5', '+Inf']);
    // v3 replaced traefik_service_open_connections with traefik_open_connections{entrypoint,protocol} (migrate/v2-to-v3-details.md).
    expect(text).toMatch(/^traefik_open_connections\{entrypoint="traefik",protocol="TCP"\} [1-9]/m);
    expect(text).not.toMatch(/traefik_service_open_connections/);
    expect(text).toMatch(/^# TYPE traefik_service_retries_total counter$/m);
  });
});

describe('active health checks and their propagation (healthcheck.go; wrr.go SetStatus; service.go getWRRServiceHandler)', { timeout: 90_000 }, () => {
  it('marks a failing server DOWN in the API and in traefik_service_server_up, and the weighted parent stops sending to that child', async () => {
    const check = '        healthCheck:\n          path: /health\n          interval: 100ms\n          timeout: 2s\n';
    await route(
      'healthy',
      'healthy.example.com',
      `    healthy:\n      weighted:\n        healthCheck: {}\n        services:\n          - { name: healthy-a, weight: 1 }\n          - { name: healthy-b, weight: 1 }\n${lb('healthy-a', a.url, check)}${lb('healthy-b', b.url, check)}`,
    );
    // Servers start UP (runtime.UpdateServerStatus when the balancer is built).
    expect((await traefik.service('healthy-a@file'))?.serverStatus).toEqual({ [a.url]: 'UP' });
    await waitFor('server_up 1 for healthy-a', async () => (await metrics()).includes(`traefik_service_server_up{service="healthy-a@file",url="${a.url}"} 1`), 30_000, 50);
    a.healthy = false;
    try {
      await waitFor('healthy-a DOWN', async () => (await traefik.service('healthy-a@file'))?.serverStatus?.[a.url] === 'DOWN', 30_000, 50);
      expect(await metrics()).toContain(`traefik_service_server_up{service="healthy-a@file",url="${a.url}"} 0`);
      const answers = await Promise.all(Array.from({ length: 6 }, () => traefik.send('healthy.example.com')));
      expect(answers.map((answer) => [answer.status, answer.text])).toEqual(Array.from({ length: 6 }, () => [200, 'b']));
    } finally {
      a.healthy = true;
    }
    await waitFor('healthy-a UP again', async () => (await traefik.service('healthy-a@file'))?.serverStatus?.[a.url] === 'UP', 30_000, 50);
    const texts = new Set<string>();
    for (let i = 0; i < 4; i++) texts.add((await traefik.send('healthy.example.com')).text);
    expect([...texts].sort()).toEqual(['a', 'b']);
  });
});

describe('mirroring (loadbalancer/mirror/mirror.go)', { timeout: 90_000 }, () => {
  it('answers from the main service only, copies percent % of requests with their body to the mirror, and counts the copies on the mirror’s service', async () => {
    await route('shadow', 'shadow.example.com', `    shadow:\n      mirroring:\n        service: shadow-main\n        mirrors:\n          - { name: shadow-copy, percent: 50 }\n${lb('shadow-main', a.url)}${lb('shadow-copy', failing.url)}`);
    expect(await traefik.service('shadow@file')).toEqual({
      mirroring: { service: 'shadow-main', mirrorBody: true, maxBodySize: -1, mirrors: [{ name: 'shadow-copy', percent: 50 }] },
      status: 'enabled',
      usedBy: ['shadow@file'],
      name: 'shadow@file',
      provider: 'file',
      type: 'mirroring',
    });
    const seenBefore = failing.seen.length;
    const answers = [];
    for (let i = 0; i < 10; i++) answers.push(await traefik.send('shadow.example.com', '/predict', { body: { n: i } }));
    // Users see only the main service's answers, never the mirror's 500s.
    expect(answers.map((answer) => [answer.status, answer.text])).toEqual(Array.from({ length: 10 }, () => [200, 'a']));
    // getActiveMirrors: mirror when count*100 < total*percent, so requests 1, 3, 5, 7, 9.
    await waitFor('5 copies at the mirror', async () => failing.seen.length - seenBefore === 5, 30_000, 50);
    expect(failing.seen.slice(seenBefore).map((seen) => seen.body)).toEqual([0, 2, 4, 6, 8].map((n) => JSON.stringify({ n })));
    const samples = serviceRequests(await metrics());
    expect(samples).toContainEqual({ labels: 'code="500",method="POST",protocol="http",service="shadow-copy@file"', value: 5 });
    expect(samples.filter((sample) => sample.labels.includes('service="shadow@file"'))).toEqual([]);
  });

  it('does not mirror a request whose body is over maxBodySize, and sends copies without a body when mirrorBody is false', async () => {
    await route(
      'capped',
      'capped.example.com',
      `    capped:\n      mirroring:\n        service: capped-main\n        maxBodySize: 8\n        mirrors:\n          - { name: capped-copy, percent: 100 }\n${lb('capped-main', a.url)}${lb('capped-copy', b.url)}`,
    );
    const before = b.seen.length;
    expect((await traefik.send('capped.example.com', '/big', { body: 'x'.repeat(100) })).text).toBe('a');
    expect((await traefik.send('capped.example.com', '/small', { body: 'tiny' })).text).toBe('a');
    await waitFor('the small request copied', async () => b.seen.slice(before).some((seen) => seen.path === '/small'), 30_000, 50);
    expect(b.seen.slice(before).map((seen) => [seen.path, seen.body])).toEqual([['/small', 'tiny']]);
    expect(a.seen.filter((seen) => seen.path === '/big').at(-1)?.body).toBe('x'.repeat(100));

    await route(
      'bodiless',
      'bodiless.example.com',
      `    bodiless:\n      mirroring:\n        service: bodiless-main\n        mirrorBody: false\n        mirrors:\n          - { name: bodiless-copy, percent: 100 }\n${lb('bodiless-main', a.url)}${lb('bodiless-copy', b.url)}`,
    );
    expect((await traefik.send('bodiless.example.com', '/nobody', { body: 'payload' })).text).toBe('a');
    await waitFor('the copy without body', async () => b.seen.some((seen) => seen.path === '/nobody'), 30_000, 50);
    expect(b.seen.find((seen) => seen.path === '/nobody')!.body).toBe('');
    expect(a.seen.filter((seen) => seen.path === '/nobody').at(-1)?.body).toBe('payload');
  });
});
