import { describe, expect, it } from 'vitest';
import { serviceFigures } from '../../src/traefik/metrics';

// Traefik's Prometheus names and labels: v2 pkg/metrics/prometheus.go (service requests total,
// service open connections); v3 dropped the per-service open connections for
// traefik_open_connections{entrypoint,protocol} (docs: migrate/v2-to-v3-details.md, Metrics).
describe('serviceFigures', () => {
  const v2 = [
    '# HELP traefik_service_requests_total How many HTTP requests processed on a service, partitioned by status code, protocol, and method.',
    'traefik_service_requests_total{code="200",method="POST",protocol="http",service="iris-3f2a9c1b7d4e@docker"} 40',
    'traefik_service_requests_total{code="503",method="POST",protocol="http",service="iris-3f2a9c1b7d4e@docker"} 2',
    'traefik_service_requests_total{code="200",method="POST",protocol="http",service="iris-0123456789ab@docker"} 7',
    'traefik_service_open_connections{method="POST",protocol="http",service="iris-3f2a9c1b7d4e@docker"} 3',
  ].join('\n');

  it('sums one service’s requests over codes and methods, and reads its open connections (v2)', () => {
    expect(serviceFigures(v2, 'iris-3f2a9c1b7d4e@docker')).toEqual({ requests: 42, open: 3 });
    expect(serviceFigures(v2, 'iris-0123456789ab@docker')).toEqual({ requests: 7, open: 0 });
  });

  it('leaves open undefined when Traefik has no per-service gauge (v3), never 0', () => {
    const v3 = ['traefik_open_connections{entrypoint="web",protocol="HTTP"} 5', 'traefik_service_requests_total{code="200",method="GET",protocol="http",service="iris-3f2a9c1b7d4e@docker"} 4'].join('\n');
    expect(serviceFigures(v3, 'iris-3f2a9c1b7d4e@docker')).toEqual({ requests: 4 });
  });

  it('matches the service label exactly, escapes included', () => {
    const text = 'traefik_service_requests_total{code="200",service="a\\"b@file"} 2\ntraefik_service_requests_total{code="200",service="a@file"} 9';
    expect(serviceFigures(text, 'a"b@file')).toEqual({ requests: 2 });
  });
});
