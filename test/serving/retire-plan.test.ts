import { describe, expect, it } from 'vitest';
import { planRetirement, type RetirePolicy, type Usage } from '../../src/serving/retire-plan';
import type { ManagedServer } from '../../src/serving/server';

const now = new Date('2026-03-01T12:00:00Z');
const hours = (h: number) => new Date(now.getTime() + h * 3_600_000);

function server(name: string, changes: Partial<ManagedServer> = {}): ManagedServer {
  return {
    id: name,
    name,
    service: 'iris',
    digest: `sha256:${name}`,
    image: 'img',
    deployedAt: hours(-200),
    expiresAt: hours(-1),
    state: 'running',
    health: 'healthy',
    drainSignal: 'SIGUSR2',
    labels: {},
    ...changes,
  };
}

function decide(servers: ManagedServer[], policy: Partial<RetirePolicy> = {}, usage?: Map<string, Usage>) {
  const decisions = planRetirement(servers, { now, keep: 1, ...policy }, usage);
  return Object.fromEntries(decisions.map((d) => [d.server.name, `${d.action}: ${d.reason}`]));
}

describe('planRetirement', () => {
  it('decides a mixed population', () => {
    const result = decide([
      server('expired-old', { deployedAt: hours(-300) }),
      server('expired-newest', { deployedAt: hours(-100) }),
      server('fresh', { deployedAt: hours(-2), expiresAt: hours(46), health: 'starting' }),
      server('forever', { deployedAt: hours(-400), expiresAt: null }),
      server('unlabelled', { expiresAt: undefined }),
      server('crashed', { deployedAt: hours(-50), state: 'exited', health: 'none' }),
      server('other-service-last', { service: 'wine', deployedAt: hours(-500) }),
    ]);
    expect(result).toEqual({
      'expired-old': 'retire: expired 1h ago',
      'expired-newest': 'keep: expired, but one of the newest 1 serving server of iris (keep: 1)',
      fresh: 'keep: not expired (expires in 1d22h)',
      forever: 'keep: never expires',
      unlabelled: 'keep: no readable expires-at label (set max-age to retire it by age)',
      crashed: 'retire: expired 1h ago (exited)',
      'other-service-last': 'keep: expired, but one of the newest 1 serving server of wine (keep: 1)',
    });
  });

  it('protects the newest serving server, not the newest one: an unhealthy newest does not count', () => {
    const result = decide([server('healthy-older', { deployedAt: hours(-100) }), server('unhealthy-newer', { deployedAt: hours(-10), health: 'unhealthy' })]);
    expect(result['healthy-older']).toMatch(/^keep: expired, but one of the newest/);
    expect(result['unhealthy-newer']).toMatch(/^retire/);
  });

  it('a server without a health check that runs counts as serving', () => {
    expect(decide([server('no-hc', { health: 'none' })])['no-hc']).toMatch(/^keep: expired, but/);
  });

  it('keep: 0 lets the last server of a service go; keep: 2 protects two', () => {
    const servers = [server('a', { deployedAt: hours(-30) }), server('b', { deployedAt: hours(-20) }), server('c', { deployedAt: hours(-10) })];
    expect(Object.values(decide(servers, { keep: 0 })).every((d) => d.startsWith('retire'))).toBe(true);
    const two = decide(servers, { keep: 2 });
    expect([two.a, two.b, two.c].map((d) => d?.split(':')[0])).toEqual(['retire', 'keep', 'keep']);
  });

  it('max-age overrides the label, both ways', () => {
    const result = decide(
      [server('young-but-expired-label', { deployedAt: hours(-1), expiresAt: hours(-0.5) }), server('old-never', { deployedAt: hours(-48), expiresAt: null }), server('newest', { deployedAt: hours(-0.1), expiresAt: null })],
      { maxAgeMs: 24 * 3_600_000 },
    );
    expect(result['young-but-expired-label']).toBe('keep: not expired (expires in 23h)');
    expect(result['old-never']).toBe('retire: expired 1d ago');
  });

  describe('in use', () => {
    const servers = [server('newest', { deployedAt: hours(-10) }), server('busy'), server('idle'), server('unknown'), server('busy-now'), server('stopped', { state: 'exited' })];
    const policy = { inUseWindowMs: 60_000 };

    it('asks for the counters of the running servers that would go, and only those', () => {
      const decisions = planRetirement(servers, { now, keep: 1, ...policy });
      expect(decisions.filter((d) => d.needsUsage).map((d) => d.server.name)).toEqual(['busy', 'idle', 'unknown', 'busy-now']);
    });

    it('keeps a server whose counter grew, or has requests in flight, or cannot be read', () => {
      const usage = new Map<string, Usage>([
        ['busy', { readable: true, requests: 12 }],
        ['idle', { readable: true, requests: 0, inFlight: 0 }],
        ['unknown', { readable: false, problem: 'GET http://10.0.0.3:8080/metrics failed (ECONNREFUSED)' }],
        ['busy-now', { readable: true, requests: 0, inFlight: 2 }],
      ]);
      expect(decide(servers, policy, usage)).toEqual({
        newest: 'keep: expired, but one of the newest 1 serving server of iris (keep: 1)',
        busy: 'keep: in use: 12 requests in the last 1m (expired 1h ago)',
        idle: 'retire: expired 1h ago, no requests in the last 1m',
        unknown: 'keep: expired 1h ago, but whether it is in use is unknown: GET http://10.0.0.3:8080/metrics failed (ECONNREFUSED)',
        'busy-now': 'keep: in use: 2 request(s) in flight (expired 1h ago)',
        stopped: 'retire: expired 1h ago (exited)',
      });
    });
  });
});
