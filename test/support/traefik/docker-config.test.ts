import { describe, expect, it } from 'vitest';
import { buildDockerConfiguration, DEFAULT_RULE, renderDefaultRule, type ContainerFacts, type DockerProviderOptions } from './docker-config';
import { decodeLabels, normalize } from './labels';

// Table-driven checks of each rule of docs/traefik.md's Docker provider section, on plain data.

const options: DockerProviderOptions = { exposedByDefault: false, network: 'edge', allowEmptyServices: false, defaultRule: DEFAULT_RULE };

const routing = {
  'traefik.enable': 'true',
  'traefik.docker.network': 'edge',
  'traefik.http.routers.iris.rule': 'Host(`iris.example.com`)',
  'traefik.http.routers.iris.entrypoints': 'web',
  'traefik.http.routers.iris.service': 'iris',
  'traefik.http.services.iris.loadbalancer.server.port': '8080',
};

let counter = 0;
function container(over: Partial<ContainerFacts> = {}): ContainerFacts {
  counter++;
  return {
    id: `id${counter}`,
    name: `/iris-${counter}`,
    state: 'running',
    health: 'healthy',
    labels: { ...routing },
    networks: { edge: `172.20.0.${counter + 1}`, bridge: `172.17.0.${counter + 1}` },
    ports: ['8080/tcp'],
    ...over,
  };
}

function urls(result: ReturnType<typeof buildDockerConfiguration>, service = 'iris'): string[] | undefined {
  return result.config.services[service]?.loadBalancer?.servers.map((server) => server.url);
}

describe('which containers become servers', () => {
  it.each([
    ['traefik.enable=true, running, healthy', {}, true],
    ['no traefik.enable with exposedByDefault=false', { labels: { ...routing, 'traefik.enable': undefined as unknown as string } }, false],
    ['traefik.enable=false', { labels: { ...routing, 'traefik.enable': 'false' } }, false],
    ['no HEALTHCHECK (health "")', { health: '' }, true],
    ['health starting', { health: 'starting' }, false],
    ['health unhealthy', { health: 'unhealthy' }, false],
    ['exited', { state: 'exited' }, false],
    ['paused', { state: 'paused' }, false],
  ])('%s → %s', (_case, over, served) => {
    const facts = container(over);
    if (facts.labels['traefik.enable'] === undefined) delete facts.labels['traefik.enable'];
    const result = buildDockerConfiguration([facts], options);
    expect(urls(result)).toEqual(served ? [`http://${facts.networks.edge}:8080`] : undefined);
  });

  it('serves containers without traefik.enable when exposedByDefault is true', () => {
    const facts = container();
    delete facts.labels['traefik.enable'];
    expect(urls(buildDockerConfiguration([facts], { ...options, exposedByDefault: true }))).toHaveLength(1);
  });

  it('keeps only containers matching the constraints', () => {
    const mine = container({ labels: { ...routing, 'test.run': 'a' } });
    const theirs = container({ labels: { ...routing, 'test.run': 'b' } });
    const result = buildDockerConfiguration([mine, theirs], { ...options, constraints: 'Label(`test.run`, `a`)' });
    expect(urls(result)).toEqual([`http://${mine.networks.edge}:8080`]);
  });

  it('with allowEmptyServices keeps the router and an empty service for an unhealthy container', () => {
    const result = buildDockerConfiguration([container({ health: 'unhealthy' })], { ...options, allowEmptyServices: true });
    expect(result.config.routers.iris).toBeDefined();
    expect(urls(result)).toEqual([]);
    const mixed = buildDockerConfiguration([container({ health: 'starting' }), container()], { ...options, allowEmptyServices: true });
    expect(urls(mixed)).toHaveLength(1);
  });
});

describe('server URLs', () => {
  it.each([
    ['the network label', { labels: { ...routing, 'traefik.docker.network': 'bridge' } }, 'http://172.17.0.X:8080'],
    ['the provider network when no label', { labels: { ...routing, 'traefik.docker.network': undefined as unknown as string } }, 'http://172.20.0.X:8080'],
    ['the port label over exposed ports', { ports: ['9000/tcp', '8080/tcp'] }, 'http://172.20.0.X:8080'],
    [
      'the lowest exposed port without a port label',
      { labels: { ...routing, 'traefik.http.services.iris.loadbalancer.server.port': undefined as unknown as string, 'traefik.http.services.iris.loadbalancer.passhostheader': 'true' }, ports: ['9000/tcp', '8081/tcp', '10000/tcp'] },
      'http://172.20.0.X:8081',
    ],
    ['the scheme label', { labels: { ...routing, 'traefik.http.services.iris.loadbalancer.server.scheme': 'https' } }, 'https://172.20.0.X:8080'],
  ])('uses %s', (_case, over, expected) => {
    const facts = container(over);
    for (const [key, value] of Object.entries(facts.labels)) if (value === undefined) delete facts.labels[key];
    const result = buildDockerConfiguration([facts], options);
    expect(urls(result)).toEqual([expected.replace('X', String(Number(facts.id.slice(2)) + 1))]);
  });

  it('falls back to the first network when the named one is missing, with a warning', () => {
    const facts = container({ networks: { other: '10.0.0.9' } });
    const result = buildDockerConfiguration([facts], options);
    expect(urls(result)).toEqual(['http://10.0.0.9:8080']);
    expect(result.logs.some((log) => log.level === 'warn' && /Could not find network named "edge"/.test(log.msg))).toBe(true);
  });

  it('skips a container without an IP or without a port, saying why', () => {
    const noIp = buildDockerConfiguration([container({ networks: {} })], options);
    expect(urls(noIp)).toBeUndefined();
    expect(noIp.logs.at(-1)?.msg).toMatch(/unable to find the IP address/);
    const facts = container({ ports: [] });
    delete facts.labels['traefik.http.services.iris.loadbalancer.server.port'];
    const noPort = buildDockerConfiguration([facts], options);
    expect(urls(noPort)).toBeUndefined();
    expect(noPort.logs.at(-1)?.msg).toMatch(/port is missing/);
  });

  it('records per-server weights', () => {
    const result = buildDockerConfiguration([container({ labels: { ...routing, 'traefik.http.services.iris.loadbalancer.server.weight': '3' } })], options);
    expect(result.config.services.iris!.loadBalancer!.servers[0]!.weight).toBe(3);
  });
});

describe('merging containers of one service', () => {
  it('pools identical labels into one load balancer, one server each', () => {
    const a = container();
    const b = container();
    const result = buildDockerConfiguration([a, b], options);
    expect(urls(result)?.sort()).toEqual([`http://${a.networks.edge}:8080`, `http://${b.networks.edge}:8080`].sort());
    expect(result.config.routers.iris).toMatchObject({ rule: 'Host(`iris.example.com`)', service: 'iris', entryPoints: ['web'] });
  });

  it('de-duplicates servers by URL', () => {
    const a = container();
    const b = container({ networks: a.networks });
    expect(urls(buildDockerConfiguration([a, b], options))).toHaveLength(1);
  });

  it('lets per-server port and weight differ', () => {
    const a = container();
    const b = container({ labels: { ...routing, 'traefik.http.services.iris.loadbalancer.server.port': '9090', 'traefik.http.services.iris.loadbalancer.server.weight': '2' } });
    expect(urls(buildDockerConfiguration([a, b], options))).toHaveLength(2);
  });

  it.each([
    ['a different rule deletes the router for everyone', { 'traefik.http.routers.iris.rule': 'Host(`iris.example.org`)' }, 'router'],
    ['different entry points delete the router', { 'traefik.http.routers.iris.entrypoints': 'web,websecure' }, 'router'],
    ['a different priority deletes the router', { 'traefik.http.routers.iris.priority': '10' }, 'router'],
    ['a different passHostHeader deletes the service', { 'traefik.http.services.iris.loadbalancer.passhostheader': 'false' }, 'service'],
    ['a sticky cookie on one deletes the service', { 'traefik.http.services.iris.loadbalancer.sticky.cookie.name': 'lb' }, 'service'],
  ])('%s', (_case, extra, deleted) => {
    const result = buildDockerConfiguration([container(), container({ labels: { ...routing, ...extra } })], options);
    if (deleted === 'router') {
      expect(result.config.routers.iris).toBeUndefined();
      expect(result.conflicts.routers).toEqual(['iris']);
      expect(urls(result)).toHaveLength(2);
    } else {
      expect(result.config.services.iris).toBeUndefined();
      expect(result.conflicts.services).toEqual(['iris']);
    }
    expect(result.logs.some((log) => log.level === 'error' && /defined multiple times with different configurations/.test(log.msg))).toBe(true);
  });

  it('treats label keys case-insensitively when comparing', () => {
    const upper = Object.fromEntries(Object.entries(routing).map(([key, value]) => [key.replace('loadbalancer', 'loadBalancer').replace('entrypoints', 'entryPoints'), value]));
    expect(urls(buildDockerConfiguration([container(), container({ labels: upper })], options))).toHaveLength(2);
  });
});

describe('defaults', () => {
  it('gives a container without router or service labels a service and a Host rule named after it', () => {
    const result = buildDockerConfiguration([container({ name: '/my_app.1', labels: { 'traefik.enable': 'true' } })], options);
    expect(result.config.services['my-app-1']).toBeDefined();
    expect(result.config.routers['my-app-1']).toMatchObject({ rule: 'Host(`my-app-1`)', service: 'my-app-1', entryPoints: [] });
  });

  it('points a router without a service at the only service, and drops it when there are several', () => {
    const labels: Record<string, string> = { ...routing };
    delete labels['traefik.http.routers.iris.service'];
    expect(buildDockerConfiguration([container({ labels })], options).config.routers.iris?.service).toBe('iris');
    const result = buildDockerConfiguration([container({ labels: { ...labels, 'traefik.http.services.other.loadbalancer.server.port': '8080' } })], options);
    expect(result.config.routers.iris).toBeUndefined();
    expect(result.logs.some((log) => /too many services/.test(log.msg))).toBe(true);
  });

  it('leaves a router pointing at a service the labels do not declare (the runtime disables it)', () => {
    const labels: Record<string, string> = { ...routing };
    delete labels['traefik.http.services.iris.loadbalancer.server.port'];
    const facts = container({ labels });
    const result = buildDockerConfiguration([facts], options);
    expect(result.config.routers.iris?.service).toBe('iris');
    expect(Object.keys(result.config.services)).toEqual([normalize(facts.name)]);
  });

  it('skips a container with an unknown option, saying which', () => {
    const result = buildDockerConfiguration([container({ labels: { ...routing, 'traefik.http.routers.iris.rules': 'x' } })], options);
    expect(result.config.routers).toEqual({});
    expect(result.logs.at(-1)?.msg).toMatch(/traefik.http.routers.iris.rules: field not found, node: rules/);
  });

  it('renders default rule templates', () => {
    expect(renderDefaultRule('Host(`{{ normalize .Name }}.example.com`)', { Name: 'a_b', ContainerName: 'c', Labels: {} })).toBe('Host(`a-b.example.com`)');
    expect(renderDefaultRule('Host(`{{ .ContainerName }}`)', { Name: 'a', ContainerName: 'c.d', Labels: {} })).toBe('Host(`c.d`)');
  });
});

describe('label decoding', () => {
  it('reads routers, services and middlewares; ignores tcp/udp', () => {
    const decoded = decodeLabels({
      ...routing,
      'traefik.http.routers.iris.middlewares': 'strip, auth',
      'traefik.http.middlewares.strip.stripprefix.prefixes': '/v1',
      'traefik.tcp.routers.db.rule': 'HostSNI(`*`)',
      'com.example.other': 'x',
    });
    expect(decoded.routers.iris).toMatchObject({ rule: 'Host(`iris.example.com`)', entryPoints: ['web'], middlewares: ['strip', 'auth'] });
    expect(decoded.services.iris).toMatchObject({ passHostHeader: true, server: { port: '8080' } });
    expect(decoded.middlewares.strip).toEqual({ 'stripprefix.prefixes': '/v1' });
    expect(decoded.ignored).toEqual(['traefik.tcp.routers.db.rule']);
  });

  it.each([
    [{ 'traefik.http.services.iris.weighted.services': 'a' }, /field not found, node: weighted/],
    [{ 'traefik.http.routers.iris.priority': 'high' }, /invalid priority "high"/],
    [{ 'traefik.http.services.iris.loadbalancer.passhostheader': 'maybe' }, /invalid boolean "maybe"/],
    [{ 'traefik.http.routers': 'x' }, /expected traefik.http.<routers\|services\|middlewares>.<name>.<option>/],
  ])('refuses %j', (labels, message) => {
    expect(() => decodeLabels(labels)).toThrow(message);
  });

  it('normalizes names like Traefik', () => {
    expect(normalize('/my_app.1')).toBe('my-app-1');
    expect(normalize('iris--v2')).toBe('iris-v2');
  });
});
