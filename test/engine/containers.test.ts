import { describe, expect, it } from 'vitest';
import { demuxLogs, healthFromStatus, MAX_LOG_TAIL_BYTES, serverFromListing, serverHealthcheck } from '../../src/engine/containers';
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

describe('demuxLogs', () => {
  it('joins stdout and stderr frames', () => {
    const frame = (stream: number, text: string) => {
      const body = Buffer.from(text);
      const header = Buffer.alloc(8);
      header[0] = stream;
      header.writeUInt32BE(body.length, 4);
      return Buffer.concat([header, body]);
    };
    expect(demuxLogs(Buffer.concat([frame(1, 'loading model\n'), frame(2, 'Error: no model.json\n')]))).toBe('loading model\nError: no model.json\n');
    expect(demuxLogs(Buffer.from('plain tty output\n'))).toBe('plain tty output\n');
  });

  // Issue 10, unbounded reads: 50 lines of a server's log can be any size; error messages carry only their end.
  it('keeps only the last 64 KiB of a tail, and says how much was cut', () => {
    const header = Buffer.alloc(8);
    header[0] = 1;
    const body = Buffer.concat([Buffer.alloc(1024 * 1024, 'a'), Buffer.from('\nError: the last words\n')]);
    header.writeUInt32BE(body.length, 4);
    const text = demuxLogs(Buffer.concat([header, body]));
    expect(text.length).toBeLessThan(MAX_LOG_TAIL_BYTES + 100);
    expect(text).toMatch(/^\(960 KiB of earlier output cut\)\n/);
    expect(text.endsWith('\nError: the last words\n')).toBe(true);
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
