import { describe, expect, it } from 'vitest';
import type { ProviderLog } from './docker-config';
import { emptyConfig, type DynamicConfig } from './dynamic';
import { decodeFileConfig, FileConfigError } from './file-config';
import { mergeSkippingDuplicates } from './file-provider';
import { buildRuntime } from './runtime';
import { WeightedRoundRobin } from './wrr';

// The file provider's decoding and the services it adds (weighted, mirroring), checked against
// Traefik's source (github.com/traefik/traefik, v3 master, fd5a576): each test names where Traefik
// defines the behaviour.

const WEIGHTED = `
http:
  routers:
    iris:
      rule: Host(\`iris.example.com\`)
      entryPoints: [web]
      service: iris
    iris-3f2a9c1d0b7e:
      rule: Host(\`iris.example.com\`) && Header(\`X-Model-Version\`, \`3f2a9c1d0b7e\`)
      entryPoints: [web]
      service: iris-3f2a9c1d0b7e@docker
  services:
    iris:
      weighted:
        services:
          - name: iris-3f2a9c1d0b7e@docker
            weight: 90
          - name: iris-8b1e77a0c4d2@docker
            weight: 10
`;

function dockerServices(...names: string[]): DynamicConfig {
  const config = emptyConfig();
  for (const name of names) config.services[name] = { loadBalancer: { servers: [{ url: `http://10.0.0.${names.indexOf(name) + 1}:8080` }], passHostHeader: true, options: {} } };
  return config;
}

describe('decoding a file (pkg/provider/file/file.go decodeConfiguration, paerser file decoder)', () => {
  it('reads routers and a weighted service; option names are case-insensitive, names are not', () => {
    const config = decodeFileConfig('iris.yml', WEIGHTED.replace('entryPoints: [web]', 'ENTRYPOINTS: [web]'));
    expect(config.routers.iris).toEqual({ rule: 'Host(`iris.example.com`)', service: 'iris', entryPoints: ['web'], middlewares: [], options: {} });
    expect(config.services.iris).toEqual({
      weighted: {
        services: [
          { name: 'iris-3f2a9c1d0b7e@docker', weight: 90 },
          { name: 'iris-8b1e77a0c4d2@docker', weight: 10 },
        ],
        healthCheck: false,
      },
    });
  });

  it('applies the dynamic types defaults: weight 1 (WRRService.SetDefaults), mirrorBody true and maxBodySize -1 (Mirroring.SetDefaults), passHostHeader true', () => {
    const config = decodeFileConfig(
      'x.yaml',
      `http:
  services:
    w: { weighted: { services: [{ name: a }], healthCheck: {} } }
    m: { mirroring: { service: a, mirrors: [{ name: b, percent: 10 }] } }
    a: { loadBalancer: { servers: [{ url: "http://10.0.0.1:80" }], healthCheck: { path: /health, interval: 1s } } }
`,
    );
    expect(config.services.w!.weighted).toEqual({ services: [{ name: 'a', weight: 1 }], healthCheck: true });
    expect(config.services.m!.mirroring).toEqual({ service: 'a', mirrors: [{ name: 'b', percent: 10 }], mirrorBody: true, maxBodySize: -1, healthCheck: false });
    expect(config.services.a!.loadBalancer).toEqual({ servers: [{ url: 'http://10.0.0.1:80' }], passHostHeader: true, options: { 'healthcheck.path': '/health', 'healthcheck.interval': '1s' } });
  });

  it.each([
    ['an unknown option', 'http:\n  routers:\n    r: { rule: "Host(`a`)", servise: s }\n', /http.routers.r: field not found, node: servise/],
    ['an unknown section', 'http:\n  routes: {}\n', /http: field not found, node: routes/],
    ['YAML that does not parse', 'http:\n  routers:\n    r: [\n', /x.yml: /],
    ['a weight that is not a number', 'http:\n  services:\n    w: { weighted: { services: [{ name: a, weight: ninety }] } }\n', /weight: expected an integer/],
    ['TOML, which the stand-in does not decode', '[http]', /TOML files are not decoded by the Traefik stand-in/],
  ])('fails the whole file on %s', (_case, content, message) => {
    const name = content === '[http]' ? 'x.toml' : 'x.yml';
    expect(() => decodeFileConfig(name, content)).toThrow(FileConfigError);
    expect(() => decodeFileConfig(name, content)).toThrow(message);
  });

  it('reads an empty file as an empty configuration', () => {
    expect(decodeFileConfig('empty.yml', '')).toEqual(emptyConfig());
  });
});

describe('a directory of files (file.go collectFileConfigs + provider.Merge with ResourceStrategySkipDuplicates)', () => {
  it('keeps the first file’s definition of a name and skips later ones with a warning', () => {
    const a = decodeFileConfig('a.yml', 'http:\n  services:\n    s: { loadBalancer: { servers: [{ url: "http://10.0.0.1" }] } }\n');
    const b = decodeFileConfig('b.yml', 'http:\n  services:\n    s: { loadBalancer: { servers: [{ url: "http://10.0.0.2" }] } }\n    t: { loadBalancer: { servers: [{ url: "http://10.0.0.3" }] } }\n');
    const logs: ProviderLog[] = [];
    const merged = mergeSkippingDuplicates(
      [
        { name: 'a.yml', config: a },
        { name: 'b.yml', config: b },
      ],
      logs,
    );
    expect(merged.services.s!.loadBalancer!.servers).toEqual([{ url: 'http://10.0.0.1' }]);
    expect(Object.keys(merged.services)).toEqual(['s', 't']);
    expect(logs).toEqual([{ level: 'warn', msg: 'HTTP service already configured, skipping: s (origin b.yml)' }]);
  });
});

describe('services referencing other providers (service.go BuildHTTP, getWRRServiceHandler; provider.GetQualifiedName)', () => {
  it('resolves name@docker from a file, and unqualified names to the file’s own provider', () => {
    const file = decodeFileConfig('iris.yml', WEIGHTED);
    const runtime = buildRuntime({ docker: dockerServices('iris-3f2a9c1d0b7e', 'iris-8b1e77a0c4d2'), file }, ['web', 'traefik'], ['web']);
    expect(runtime.routers['iris@file']).toMatchObject({ status: 'enabled', service: 'iris', using: ['web'] });
    // handler_http.go serviceRepresentation: the dynamic service, then status, usedBy, name, provider, type.
    expect(runtime.services['iris@file']).toEqual({
      weighted: {
        services: [
          { name: 'iris-3f2a9c1d0b7e@docker', weight: 90 },
          { name: 'iris-8b1e77a0c4d2@docker', weight: 10 },
        ],
      },
      status: 'enabled',
      usedBy: ['iris@file'],
      name: 'iris@file',
      provider: 'file',
      type: 'weighted',
    });
    // usedBy lists routers only (runtime.go PopulateUsedBy), not weighted parents.
    expect(runtime.services['iris-8b1e77a0c4d2@docker']!.usedBy).toEqual([]);
    expect(runtime.services['iris-3f2a9c1d0b7e@docker']!.usedBy).toEqual(['iris-3f2a9c1d0b7e@file']);
  });

  it('disables the router and the weighted service when a referenced service is missing, with Traefik’s messages', () => {
    const runtime = buildRuntime({ docker: dockerServices('iris-3f2a9c1d0b7e'), file: decodeFileConfig('iris.yml', WEIGHTED) }, ['web', 'traefik'], ['web']);
    const message = 'building HTTP service "iris-8b1e77a0c4d2@docker": the service "iris-8b1e77a0c4d2@docker" does not exist';
    expect(runtime.services['iris@file']).toMatchObject({ status: 'disabled', error: [message] });
    expect(runtime.routers['iris@file']).toMatchObject({ status: 'disabled', error: [message], using: [] });
    expect(runtime.routing.web!.map((target) => target.router)).toEqual(['iris-3f2a9c1d0b7e@file']);
  });

  it('leaves a service no router uses unbuilt: it stays enabled whatever it references (BuildHTTP runs per router)', () => {
    const file = decodeFileConfig('x.yml', 'http:\n  services:\n    lonely: { weighted: { services: [{ name: gone@docker }] } }\n');
    expect(buildRuntime({ file }, ['web'], ['web']).services['lonely@file']).toMatchObject({ status: 'enabled' });
  });

  it('refuses health propagation from a child without its own health check (getWRRServiceHandler RegisterStatusUpdater)', () => {
    const file = decodeFileConfig('iris.yml', WEIGHTED.replace('    iris:\n      weighted:\n', '    iris:\n      weighted:\n        healthCheck: {}\n'));
    const runtime = buildRuntime({ docker: dockerServices('iris-3f2a9c1d0b7e', 'iris-8b1e77a0c4d2'), file }, ['web'], ['web']);
    expect(runtime.routers['iris@file']!.error).toEqual(['cannot register iris-3f2a9c1d0b7e@docker as updater for iris@file: healthCheck not enabled in config for this WRR service']);
    const checked = dockerServices('iris-3f2a9c1d0b7e', 'iris-8b1e77a0c4d2');
    for (const service of Object.values(checked.services)) service.loadBalancer!.options['healthcheck.path'] = '/health';
    expect(buildRuntime({ docker: checked, file }, ['web'], ['web']).routers['iris@file']!.status).toBe('enabled');
  });

  it('takes a mirroring child’s status from its main service only when the mirroring service opts in (mirror.go RegisterStatusUpdater)', () => {
    const yaml = (mirrorCheck: string) => `http:
  routers:
    r: { rule: "Host(\`a\`)", service: w }
  services:
    w: { weighted: { healthCheck: {}, services: [{ name: m }] } }
    m: { mirroring: { service: main, mirrors: [{ name: main, percent: 10 }]${mirrorCheck} } }
    main: { loadBalancer: { servers: [{ url: "http://10.0.0.1" }], healthCheck: { path: /health } } }
`;
    expect(buildRuntime({ file: decodeFileConfig('x.yml', yaml('')) }, ['web'], ['web']).routers['r@file']!.error).toEqual(['cannot register m as updater for w@file: healthCheck not enabled in config for this mirroring service']);
    expect(buildRuntime({ file: decodeFileConfig('x.yml', yaml(', healthCheck: {}')) }, ['web'], ['web']).routers['r@file']!.status).toBe('enabled');
  });

  it.each([
    ['a service with two types', 'two: { loadBalancer: { servers: [] }, weighted: { services: [] } }', 'cannot create service: multi-types service not supported, consider declaring two different pieces of service instead'],
    ['a weighted service that contains itself', 'two: { weighted: { services: [{ name: two }] } }', 'building HTTP service "two": could not instantiate service two@file: recursion detected in service:two@file->service:two@file'],
    ['a mirror percent over 100', 'two: { mirroring: { service: a, mirrors: [{ name: a, percent: 101 }] } }\n    a: { loadBalancer: { servers: [{ url: "http://10.0.0.1" }] } }', 'percent must be between 0 and 100'],
    ['a service with no type', 'two: {}', 'the service "two@file" does not have any type defined'],
  ])('reports %s on the router', (_case, service, message) => {
    const file = decodeFileConfig('x.yml', `http:\n  routers:\n    r: { rule: "Host(\`a\`)", service: two }\n  services:\n    ${service}\n`);
    const runtime = buildRuntime({ file }, ['web'], ['web']);
    expect(runtime.routers['r@file']).toMatchObject({ status: 'disabled' });
    expect(runtime.routers['r@file']!.error).toContain(message);
  });
});

describe('router priority (router.go: priority 0 → httpmuxer.GetRulePriority = len(rule); mux.go sorts by priority)', () => {
  it('puts the pinned router (rule && Header) before the plain one because its rule is longer, and an explicit priority above both', () => {
    const file = decodeFileConfig('iris.yml', WEIGHTED);
    const runtime = buildRuntime({ docker: dockerServices('iris-3f2a9c1d0b7e', 'iris-8b1e77a0c4d2'), file }, ['web'], ['web']);
    expect(runtime.routing.web!.map((t) => [t.router, t.priority])).toEqual([
      ['iris-3f2a9c1d0b7e@file', 'Host(`iris.example.com`) && Header(`X-Model-Version`, `3f2a9c1d0b7e`)'.length],
      ['iris@file', 'Host(`iris.example.com`)'.length],
    ]);
    const facts = (headers: Record<string, string>) => ({ host: 'iris.example.com', path: '/', method: 'GET', headers, query: new URLSearchParams() });
    expect(runtime.routing.web!.find((t) => t.rule.matches(facts({ 'x-model-version': '3f2a9c1d0b7e' })))!.router).toBe('iris-3f2a9c1d0b7e@file');
    expect(runtime.routing.web!.find((t) => t.rule.matches(facts({})))!.router).toBe('iris@file');
    const explicit = decodeFileConfig('x.yml', WEIGHTED.replace('      service: iris\n', '      service: iris\n      priority: 1000\n'));
    expect(buildRuntime({ docker: dockerServices('iris-3f2a9c1d0b7e', 'iris-8b1e77a0c4d2'), file: explicit }, ['web'], ['web']).routing.web![0]!.router).toBe('iris@file');
  });
});

describe('weighted round robin (loadbalancer/wrr/wrr.go: earliest deadline first)', () => {
  it('gives each child exactly its weight over sum(weights) picks, spread out, and nothing at weight 0 (Balancer.Add)', () => {
    const wrr = new WeightedRoundRobin([
      { name: 'a', item: 'a', weight: 90 },
      { name: 'b', item: 'b', weight: 10 },
      { name: 'z', item: 'z', weight: 0 },
    ]);
    const picks = Array.from({ length: 100 }, () => wrr.next());
    expect(picks.filter((p) => p === 'a')).toHaveLength(90);
    expect(picks.filter((p) => p === 'b')).toHaveLength(10);
    expect(picks).not.toContain('z');
    // Spread, not bunched: b comes once in every 10 picks.
    for (let i = 0; i < 100; i += 10) expect(picks.slice(i, i + 10).filter((p) => p === 'b')).toHaveLength(1);
  });

  it('skips children marked down and reports when the whole balancer goes down or up (SetStatus)', () => {
    const wrr = new WeightedRoundRobin([
      { name: 'a', item: 'a', weight: 1 },
      { name: 'b', item: 'b', weight: 1 },
    ]);
    expect(wrr.setStatus('a', false)).toBe(false);
    expect(Array.from({ length: 4 }, () => wrr.next())).toEqual(['b', 'b', 'b', 'b']);
    expect(wrr.setStatus('b', false)).toBe(true);
    expect(wrr.next()).toBeUndefined();
    expect(wrr.setStatus('a', true)).toBe(true);
    expect(wrr.next()).toBe('a');
  });
});
