import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { paginate } from './api';
import { emptyConfig, type DynamicConfig, type Router } from './dynamic';
import { Balancer } from './proxy';
import { buildRuntime } from './runtime';
import { readStaticConfig } from './static-config';
import { createThrottle } from './throttle';

const router = (over: Partial<Router> = {}): Router => ({ rule: 'Host(`iris.example.com`)', service: 'iris', entryPoints: ['web'], middlewares: [], options: {}, ...over });
function config(routers: Record<string, Router>, servers: string[] = ['http://172.20.0.5:8080']): DynamicConfig {
  return { ...emptyConfig(), routers, services: { iris: { loadBalancer: { servers: servers.map((url) => ({ url })), passHostHeader: true, options: {} } } } };
}

describe('runtime statuses, as the API reports them', () => {
  it('serves the shape of docs/traefik.md for a service and its router', () => {
    const runtime = buildRuntime({ docker: config({ iris: router() }, ['http://172.20.0.5:8080', 'http://172.20.0.6:8080']) }, ['web', 'traefik'], ['web']);
    expect(runtime.services['iris@docker']).toEqual({
      loadBalancer: { servers: [{ url: 'http://172.20.0.5:8080' }, { url: 'http://172.20.0.6:8080' }], passHostHeader: true },
      status: 'enabled',
      usedBy: ['iris@docker'],
      name: 'iris@docker',
      provider: 'docker',
      type: 'loadbalancer',
      serverStatus: { 'http://172.20.0.5:8080': 'UP', 'http://172.20.0.6:8080': 'UP' },
    });
    expect(runtime.routers['iris@docker']).toEqual({ entryPoints: ['web'], service: 'iris', rule: 'Host(`iris.example.com`)', status: 'enabled', using: ['web'], name: 'iris@docker', provider: 'docker' });
    expect(runtime.routing.web!.map((target) => target.router)).toEqual(['iris@docker']);
    expect(runtime.routing.traefik).toEqual([]);
  });

  it.each([
    ['a rule that does not parse', router({ rule: 'Host(`a`' }), 'disabled', /error while adding rule Host\(`a`: expected "\)"/],
    ['a missing service', router({ service: 'nope' }), 'disabled', /the service "nope@docker" does not exist/],
    ['no known entry point', router({ entryPoints: ['websecure'] }), 'disabled', /entryPoint "websecure" doesn't exist/],
    ['one unknown entry point of two', router({ entryPoints: ['web', 'websecure'] }), 'warning', /entryPoint "websecure" doesn't exist/],
    ['middlewares', router({ middlewares: ['strip'] }), 'disabled', /middlewares are not implemented by the Traefik stand-in/],
  ])('marks %s', (_case, r, status, message) => {
    const runtime = buildRuntime({ docker: config({ iris: r }) }, ['web', 'traefik'], ['web']);
    const info = runtime.routers['iris@docker']!;
    expect(info.status).toBe(status);
    expect(info.error?.join('\n')).toMatch(message);
    expect(runtime.routing.web!.length).toBe(status === 'disabled' ? 0 : 1);
  });

  it('attaches routers without entry points to the default ones, higher priority (longer rule) first', () => {
    const runtime = buildRuntime(
      { docker: config({ short: router({ rule: 'Host(`a`)', entryPoints: [] }), long: router({ rule: 'Host(`a`) && PathPrefix(`/v1`)', entryPoints: [] }), pinned: router({ rule: 'Host(`b`)', priority: 1000 }) }) },
      ['web', 'other', 'traefik'],
      ['web', 'other'],
    );
    expect(runtime.routing.web!.map((t) => t.router)).toEqual(['pinned@docker', 'long@docker', 'short@docker']);
    expect(runtime.routing.other!.map((t) => t.router)).toEqual(['long@docker', 'short@docker']);
  });

  it('omits servers and serverStatus for an empty service (allowEmptyServices)', () => {
    const runtime = buildRuntime({ docker: config({ iris: router() }, []) }, ['web'], ['web']);
    expect(runtime.services['iris@docker']!.loadBalancer).toEqual({ passHostHeader: true });
    expect(runtime.services['iris@docker']!.serverStatus).toBeUndefined();
    expect(runtime.routing.web![0]!.node).toEqual({ kind: 'loadBalancer', name: 'iris@docker', servers: [], passHostHeader: true });
  });
});

describe('API paging', () => {
  const items = Array.from({ length: 5 }, (_, i) => i);
  it.each([
    ['', [0, 1, 2, 3, 4], 1],
    ['per_page=2', [0, 1], 2],
    ['per_page=2&page=2', [2, 3], 3],
    ['per_page=2&page=3', [4], 1],
  ])('%s', (query, page, nextPage) => {
    expect(paginate(items, new URLSearchParams(query))).toEqual({ page, nextPage });
  });
  it.each(['per_page=2&page=4', 'page=0', 'per_page=x'])('refuses %s', (query) => {
    expect(paginate(items, new URLSearchParams(query))).toHaveProperty('error');
  });
});

describe('weighted round robin', () => {
  it('alternates equal servers and honours weights', () => {
    const equal = new Balancer([{ url: 'a' }, { url: 'b' }]);
    expect(Array.from({ length: 4 }, () => equal.next()!.url)).toEqual(['a', 'b', 'a', 'b']);
    const weighted = new Balancer([
      { url: 'a', weight: 3 },
      { url: 'b', weight: 1 },
      { url: 'z', weight: 0 },
    ]);
    const picks = Array.from({ length: 8 }, () => weighted.next()!.url);
    expect(picks.filter((u) => u === 'a')).toHaveLength(6);
    expect(picks).not.toContain('z');
    expect(new Balancer([]).next()).toBeUndefined();
  });
});

describe("Traefik's provider throttle", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('applies the first change at once, then at most one (the newest) per period', () => {
    const applied: string[] = [];
    const throttle = createThrottle<string>(2000, (message) => applied.push(message));
    throttle.push('a');
    expect(applied).toEqual(['a']);
    vi.advanceTimersByTime(500);
    throttle.push('b');
    throttle.push('c');
    expect(applied).toEqual(['a']);
    vi.advanceTimersByTime(1499);
    expect(applied).toEqual(['a']);
    vi.advanceTimersByTime(1);
    expect(applied).toEqual(['a', 'c']);
    vi.advanceTimersByTime(2000);
    expect(applied).toEqual(['a', 'c']);
    throttle.push('d');
    expect(applied).toEqual(['a', 'c', 'd']);
    throttle.close();
    throttle.push('e');
    vi.advanceTimersByTime(5000);
    expect(applied).toEqual(['a', 'c', 'd']);
  });
});

describe('static configuration (Traefik flags and file)', () => {
  const files: Record<string, string> = {
    'traefik.yml': [
      'entryPoints:',
      '  Web:',
      '    address: "127.0.0.1:8081"',
      'api:',
      '  insecure: true',
      'ping: {}',
      'metrics:',
      '  prometheus: {}',
      'providers:',
      '  providersThrottleDuration: 500ms',
      '  docker:',
      '    exposedByDefault: false',
      '    network: edge',
      '    allowEmptyServices: true',
      '',
    ].join('\n'),
  };
  const read = (path: string) => files[path] ?? '';

  it('reads the minimal static config of docs/traefik.md from a file', () => {
    const config = readStaticConfig(['--configFile=traefik.yml'], read);
    expect(config.entryPoints).toEqual({ Web: { address: '127.0.0.1:8081' }, traefik: { address: ':8080' } });
    expect(config.api).toBe(true);
    expect(config.ping).toEqual({ entryPoint: 'traefik' });
    expect(config.metrics).toEqual({ entryPoint: 'traefik' });
    expect(config.providersThrottleMs).toBe(500);
    expect(config.docker).toMatchObject({ exposedByDefault: false, network: 'edge', allowEmptyServices: true, watch: true, defaultRule: 'Host(`{{ normalize .Name }}`)' });
  });

  it('reads the same from flags, keys case-insensitive, flags over the file', () => {
    const config = readStaticConfig(['--configFile=traefik.yml', '--entrypoints.traefik.address=127.0.0.1:0', '--providers.docker.NETWORK=other', '--providers.docker.constraints=Label(`a`,`b`)'], read);
    expect(config.entryPoints.traefik).toEqual({ address: '127.0.0.1:0' });
    expect(config.docker).toMatchObject({ network: 'other', constraints: 'Label(`a`,`b`)' });
    const defaults = readStaticConfig(['--providers.docker', '--entryPoints.web.address=:80'], read);
    expect(defaults.docker).toMatchObject({ exposedByDefault: true, allowEmptyServices: false });
    expect(defaults.providersThrottleMs).toBe(2000);
    expect(defaults.api).toBe(false);
  });

  it("reads v3 providers.swarm with Traefik's defaults: exposed by default, polled every 15 s", () => {
    const defaults = readStaticConfig(['--providers.swarm=true'], read);
    expect(defaults.swarm).toEqual({ endpoint: undefined, watch: true, exposedByDefault: true, constraints: undefined, network: undefined, allowEmptyServices: false, defaultRule: 'Host(`{{ normalize .Name }}`)', refreshMs: 15_000 });
    expect(defaults.docker).toBeUndefined();
    const set = readStaticConfig(
      ['--providers.swarm.exposedByDefault=false', '--providers.swarm.network=edge', '--providers.swarm.refreshSeconds=2', '--providers.swarm.allowEmptyServices=true', '--providers.swarm.endpoint=unix:///var/run/docker.sock'],
      read,
    );
    expect(set.swarm).toMatchObject({ exposedByDefault: false, network: 'edge', refreshMs: 2000, allowEmptyServices: true, endpoint: 'unix:///var/run/docker.sock' });
    expect(readStaticConfig(['--providers.swarm.refreshSeconds=500ms'], read).swarm?.refreshMs).toBe(500);
  });

  it.each([
    [['--api=true'], /api.insecure=true/],
    [['--providers.kubernetesCRD=true'], /providers.kubernetescrd: not implemented by the Traefik stand-in \(it implements providers.docker, providers.swarm and providers.file\)/],
    [['--providers.file.watch=true'], /providers.file: set directory or filename/],
    [['--providers.docker.swarmMode=true'], /swarmMode: Traefik v2 spelling, not implemented by the stand-in; use v3's providers.swarm/],
    [['--providers.swarm.refreshSeconds=often'], /providers.swarm.refreshSeconds: expected a duration/],
    [['--providers.swarm.refreshSeconds=0'], /providers.swarm.refreshSeconds: must be greater than zero/],
    [['--providers.swarm.constraints=Host(`x`)'], /providers.swarm.constraints: unsupported matcher "Host"/],
    [['--providers.docker.constraints=Host(`x`)'], /providers.docker.constraints: unsupported matcher "Host"/],
    [['--entryPoints.web.address=localhost'], /entryPoints.web.address: expected \[host\]:port/],
    [['--providers.providersThrottleDuration=soon'], /expected a duration like 2s/],
    [['web'], /unexpected argument "web"/],
  ])('refuses %j', (args, message) => {
    expect(() => readStaticConfig(args, read)).toThrow(message);
  });
});
