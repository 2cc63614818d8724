import { describe, expect, it } from 'vitest';
import { healthFromStatus, serverFromListing, serverHealthcheck } from '../../src/engine/containers';
import type Docker from 'dockerode';

describe('healthFromStatus', () => {
  it.each([
    ['Up 3 minutes (healthy)', 'healthy'],
    ['Up 1 second (health: starting)', 'starting'],
    ['Up 2 hours (unhealthy)', 'unhealthy'],
    ['Up 2 hours', 'none'],
    ['Exited (1) 3 seconds ago', 'none'],
    [undefined, 'none'],
  ])('%j → %s', (status, health) => expect(healthFromStatus(status)).toBe(health));
});

describe('serverHealthcheck', () => {
  it('probes every health-interval with a 10 s timeout and three tries, health-timeout as the start period', () => {
    expect(serverHealthcheck({ healthIntervalMs: 5000, healthTimeoutMs: 90_000 }, true)).toEqual({ Healthcheck: { Interval: 5e9, Timeout: 10e9, Retries: 3, StartPeriod: 90e9 } });
    expect(serverHealthcheck({ healthIntervalMs: 2000, healthTimeoutMs: 60_000, healthCmd: ['CMD', 'probe'] }, false)).toMatchObject({ Healthcheck: { Test: ['CMD', 'probe'], Interval: 2e9 } });
    expect(serverHealthcheck({ healthIntervalMs: 2000, healthTimeoutMs: 60_000 }, false)).toEqual({});
  });
});

describe('serverFromListing', () => {
  it('reads a listed container as a server: labels, health, URL on the service network', () => {
    const listed = {
      Id: 'c0ffee',
      Names: ['/iris-0123456789ab-1a2b'],
      Image: '127.0.0.1:5000/acme/iris@sha256:abc',
      ImageID: 'sha256:img',
      Created: 1_700_000_000,
      State: 'running',
      Status: 'Up 5 minutes (healthy)',
      Labels: {
        'train-to-serve.managed': 'true',
        'train-to-serve.service': 'iris',
        'train-to-serve.image-digest': 'sha256:0123456789abcdef',
        'train-to-serve.expires-at': 'never',
        'traefik.docker.network': 'edge',
        'traefik.http.services.iris.loadbalancer.server.port': '8080',
      },
      NetworkSettings: { Networks: { bridge: { IPAddress: '172.17.0.2' }, edge: { IPAddress: '172.30.0.5' } } },
    } as unknown as Docker.ContainerInfo;
    expect(serverFromListing(listed)).toMatchObject({
      id: 'c0ffee',
      name: 'iris-0123456789ab-1a2b',
      service: 'iris',
      digest: 'sha256:0123456789abcdef',
      image: '127.0.0.1:5000/acme/iris@sha256:abc',
      imageId: 'sha256:img',
      deployedAt: new Date(1_700_000_000_000),
      expiresAt: null,
      state: 'running',
      health: 'healthy',
      url: 'http://172.30.0.5:8080',
      drainSignal: 'SIGUSR2',
    });
  });
});
