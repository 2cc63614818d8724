import { describe, expect, it } from 'vitest';
import { LABELS, parseServerLabels, routingDifferences, routingLabels, serverLabels, shortDigest, versionServiceName, type RoutingSettings, type ServerIdentity } from '../../src/serving/labels';
import { buildDockerConfiguration, DEFAULT_RULE } from '../support/traefik/docker-config';
import { healthCheckSpec } from '../support/traefik/services';

const routing: RoutingSettings = { service: 'iris', rule: 'Host(`iris.example.com`)', entrypoints: ['web'], port: 8080, network: 'edge' };
const v1: ServerIdentity = {
  service: 'iris',
  image: '127.0.0.1:5000/acme/iris@sha256:' + '1'.repeat(64),
  digest: 'sha256:' + '1'.repeat(64),
  deployedAt: new Date('2026-01-01T00:00:00Z'),
  expiresAt: new Date('2026-01-08T00:00:00Z'),
  drainSignal: 'SIGUSR2',
  provenance: { gitSha: 'abc123', runUrl: 'https://github.com/acme/iris/actions/runs/1', pr: 7 },
};
const v2: ServerIdentity = { ...v1, digest: 'sha256:' + '2'.repeat(64), image: 'x@sha256:' + '2'.repeat(64), deployedAt: new Date('2026-01-02T00:00:00Z'), expiresAt: null, provenance: {} };

describe('routing labels', () => {
  it('are exactly the labels of docs/traefik.md', () => {
    expect(routingLabels(routing)).toEqual({
      'traefik.enable': 'true',
      'traefik.docker.network': 'edge',
      'traefik.http.routers.iris.rule': 'Host(`iris.example.com`)',
      'traefik.http.routers.iris.entrypoints': 'web',
      'traefik.http.routers.iris.service': 'iris',
      'traefik.http.services.iris.loadbalancer.server.port': '8080',
    });
  });

  it('name the network for the Swarm provider with traefik.swarm.network, and read back from either', () => {
    const swarm = routingLabels(routing, 'swarm');
    expect(Object.keys(swarm).filter((key) => key.includes('.network'))).toEqual(['traefik.swarm.network']);
    expect({ ...swarm, 'traefik.swarm.network': undefined }).toEqual({ ...routingLabels(routing), 'traefik.docker.network': undefined });
    expect(parseServerLabels(serverLabels(routing, v1, 'swarm'))).toMatchObject({ network: 'edge', port: 8080, service: 'iris' });
  });

  it('are byte-identical across model versions, while the toolkit labels differ', () => {
    const a = serverLabels(routing, v1);
    const b = serverLabels(routing, v2);
    expect(routingDifferences(a, b)).toEqual([]);
    const traefikA = Object.entries(a).filter(([k]) => k.startsWith('traefik.'));
    const traefikB = Object.entries(b).filter(([k]) => k.startsWith('traefik.'));
    expect(JSON.stringify(traefikA)).toBe(JSON.stringify(traefikB));
    expect(a[LABELS.imageDigest]).not.toBe(b[LABELS.imageDigest]);
  });

  it("file routing with an HTTP health check: the version's load balancer gets Traefik's healthcheck, which the Docker provider reads (stand-in)", () => {
    const labels = serverLabels(routing, v1, 'docker', 'file', { path: '/v2/health/ready', intervalMs: 2000, timeoutMs: 10_000 });
    const name = versionServiceName('iris', v1.digest);
    expect(Object.entries(labels).filter(([key]) => key.includes('healthcheck'))).toEqual([
      [`traefik.http.services.${name}.loadbalancer.healthcheck.path`, '/v2/health/ready'],
      [`traefik.http.services.${name}.loadbalancer.healthcheck.interval`, '2000ms'],
      [`traefik.http.services.${name}.loadbalancer.healthcheck.timeout`, '10000ms'],
    ]);
    expect(Object.keys(serverLabels(routing, v1, 'docker', 'file')).filter((key) => key.includes('healthcheck'))).toEqual([]);
    // No Docker HEALTHCHECK (health ""): the provider lists the server at once, and checks it over HTTP.
    const built = buildDockerConfiguration([{ id: 'a1', name: '/iris-a', state: 'running', health: '', labels, networks: { edge: '172.20.0.2' }, ports: ['8080/tcp'] }], {
      exposedByDefault: false,
      network: 'edge',
      allowEmptyServices: false,
      defaultRule: DEFAULT_RULE,
    });
    const balancer = built.config.services[name]!.loadBalancer!;
    expect(balancer.servers.map((server) => server.url)).toEqual(['http://172.20.0.2:8080']);
    expect(healthCheckSpec(balancer.options)).toMatchObject({ path: '/v2/health/ready', intervalMs: 2000, timeoutMs: 10_000 });
  });

  it('names each routing difference', () => {
    const changed = routingLabels({ ...routing, rule: 'Host(`new.example.com`)', entrypoints: ['web', 'websecure'] });
    expect(routingDifferences(routingLabels(routing), changed)).toEqual(['traefik.http.routers.iris.entrypoints: web → web,websecure', 'traefik.http.routers.iris.rule: Host(`iris.example.com`) → Host(`new.example.com`)']);
  });
});

describe('toolkit labels', () => {
  it('carry every label of DESIGN.md and read back', () => {
    const labels = serverLabels(routing, v1);
    for (const key of ['managed', 'service', 'image-digest', 'deployed-at', 'expires-at', 'git-sha', 'run-url', 'pr']) {
      expect(labels).toHaveProperty(`train-to-serve.${key}`);
    }
    expect(labels[LABELS.managed]).toBe('true');
    expect(labels[LABELS.expiresAt]).toBe('2026-01-08T00:00:00.000Z');
    expect(parseServerLabels(labels)).toEqual({
      managed: true,
      service: 'iris',
      digest: v1.digest,
      image: v1.image,
      deployedAt: v1.deployedAt,
      expiresAt: v1.expiresAt,
      drainSignal: 'SIGUSR2',
      port: 8080,
      network: 'edge',
      gitSha: 'abc123',
      runUrl: 'https://github.com/acme/iris/actions/runs/1',
      pr: 7,
      metrics: {},
    });
    expect(labels).not.toHaveProperty(LABELS.metricsPort);
  });

  it('record metrics-port, metrics-path and request-metric when deploy was given them, for retire to read back', () => {
    const labels = serverLabels(routing, { ...v1, metrics: { port: 8002, path: '/stats', requestMetric: 'vllm:request_success_total' } });
    expect(labels).toMatchObject({ [LABELS.metricsPort]: '8002', [LABELS.metricsPath]: '/stats', [LABELS.requestMetric]: 'vllm:request_success_total' });
    expect(parseServerLabels(labels).metrics).toEqual({ port: 8002, path: '/stats', requestMetric: 'vllm:request_success_total' });
    // Labels anyone with access to the engine could have changed: what does not parse is not used.
    expect(parseServerLabels({ ...labels, [LABELS.metricsPort]: '99999', [LABELS.metricsPath]: 'stats', [LABELS.requestMetric]: 'a b' }).metrics).toEqual({});
  });

  it('write never and empty provenance, and read them back', () => {
    const labels = serverLabels(routing, v2);
    expect(labels[LABELS.expiresAt]).toBe('never');
    expect(labels[LABELS.pr]).toBe('');
    const parsed = parseServerLabels(labels);
    expect(parsed.expiresAt).toBeNull();
    expect(parsed.pr).toBeUndefined();
    expect(parsed.gitSha).toBeUndefined();
  });

  it('leave unreadable values undefined rather than guessing', () => {
    const parsed = parseServerLabels({ [LABELS.managed]: 'true', [LABELS.expiresAt]: 'tomorrow', [LABELS.deployedAt]: '' });
    expect(parsed.expiresAt).toBeUndefined();
    expect(parsed.deployedAt).toBeUndefined();
    expect(parseServerLabels(undefined).managed).toBe(false);
  });

  it('shortens digests for names and tables', () => expect(shortDigest('sha256:0123456789abcdef')).toBe('0123456789ab'));
});
