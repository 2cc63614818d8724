import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRoutingState, writeRoutingFile } from '../../src/traefik/routing-file';
import { silentLog } from '../../src/serving/engine';
import { retireLeaseMs, runRetire, type RetireOptions } from '../../src/serving/retire';
import { FakeEngine, fakeServer } from './fake-engine';

/**
 * runRetire against the in-memory engine: issue 10, item 6. Each case failed before the fix:
 * retire decided on a listing a whole in-use window old, held a fixed 15-minute lease whatever
 * the work, never checked the lock before a removal, and pruned images after letting it go.
 */
const NOW = new Date(Date.UTC(2026, 5, 1));
const expired = { expiresAt: new Date(NOW.getTime() - 3_600_000) };
const options: RetireOptions = { service: 'iris', keep: 1, dryRun: false, drainTimeoutMs: 60_000, pruneImages: true, now: () => NOW };

describe('runRetire decides under the lock, on a fresh listing', () => {
  it('a deploy during the in-use window that leaves an expired server the only one serving: it is kept', async () => {
    const engine = new FakeEngine();
    const old = fakeServer('iris-old', 'sha256:a', { ...expired, deployedAt: new Date(NOW.getTime() - 7_200_000) });
    const cur = fakeServer('iris-cur', 'sha256:b', { ...expired, deployedAt: new Date(NOW.getTime() - 3_600_000) });
    engine.servers = [old, cur];
    engine.readRequests = async () => ({ readable: true, requests: 0, inFlight: 0 });
    // A rollback during the window: the newer version went, the old one is what serves now.
    const sleep = async () => {
      engine.servers = engine.servers.filter((server) => server.id !== cur.id);
    };
    const result = await runRetire(engine, { ...options, inUseWindowMs: 60_000, sleep }, silentLog);
    expect(engine.servers.map((server) => server.name)).toEqual(['iris-old']);
    expect(result.retired).toEqual([]);
    expect(result.kept.map((entry) => entry.server.name)).toEqual(['iris-old']);
    expect(result.kept[0]!.decision.reason).toMatch(/newest 1 serving server/);
  });

  it('a server that appeared during the window was not watched: kept for the next run', async () => {
    const engine = new FakeEngine();
    engine.servers = [fakeServer('iris-a', 'sha256:a', expired), fakeServer('iris-b', 'sha256:b', { ...expired, deployedAt: new Date(NOW.getTime() - 60_000) })];
    engine.readRequests = async () => ({ readable: true, requests: 0, inFlight: 0 });
    const sleep = async () => void engine.servers.push(fakeServer('iris-c', 'sha256:c', { ...expired, deployedAt: new Date(NOW.getTime() - 30 * 24 * 3_600_000) }));
    const result = await runRetire(engine, { ...options, inUseWindowMs: 60_000, sleep }, silentLog);
    expect(result.retired.map((entry) => entry.server.name)).toEqual(['iris-a']);
    expect(result.kept.find((entry) => entry.server.name === 'iris-c')!.decision.reason).toMatch(/not watched over the in-use window/);
  });

  it('checks the lock before each removal: once taken over, nothing more is removed', async () => {
    const engine = new FakeEngine();
    engine.servers = ['a', 'b', 'c'].map((n, i) => fakeServer(`iris-${n}`, `sha256:${n}`, { ...expired, deployedAt: new Date(NOW.getTime() - (i + 2) * 3_600_000) }));
    engine.servers.push(fakeServer('iris-new', 'sha256:new', { deployedAt: NOW }));
    engine.heldChecks = 1;
    const result = await runRetire(engine, options, silentLog);
    expect(result.retired).toHaveLength(1);
    expect(result.kept.filter((entry) => entry.skipped?.includes('lost the service lock'))).toHaveLength(2);
    expect(engine.servers).toHaveLength(3);
    // Nor are images pruned without the lock.
    expect(engine.calls).not.toContain('prune');
  });

  // Issue 16: prepared images were pruned after every lock was let go, so a deploy between finding
  // its prepared image and starting from it could lose the image.
  it("prunes each service's prepared images under that service's lock, and leaves those of a service a deploy holds", async () => {
    const engine = new FakeEngine();
    engine.preparedServices = ['iris', 'other'];
    engine.lockedByDeploy.add('other');
    await runRetire(engine, { ...options, service: undefined }, silentLog);
    expect(engine.calls.filter((call) => /prepared|^lock|^unlock/.test(call))).toEqual(['lock iris', 'prune-prepared iris', 'unlock iris', 'lock other refused']);
  });

  it('sizes the lease from the work and prunes images before releasing the lock', async () => {
    const engine = new FakeEngine();
    engine.servers = [fakeServer('iris-a', 'sha256:a', expired), fakeServer('iris-new', 'sha256:new', { deployedAt: NOW })];
    await runRetire(engine, options, silentLog);
    expect(engine.calls.indexOf('prune')).toBeGreaterThan(engine.calls.indexOf('drain iris-a'));
    expect(engine.calls.indexOf('prune')).toBeLessThan(engine.calls.indexOf('unlock iris'));
    expect(engine.leases.iris).toBe(retireLeaseMs(1, 60_000));
    expect(retireLeaseMs(100, 600_000)).toBeGreaterThan(7 * 3 * 600_000);
  });
});

describe('runRetire with routing: file', () => {
  const A = 'sha256:' + 'a'.repeat(64);
  const B = 'sha256:' + 'b'.repeat(64);
  const refA = `iris-${'a'.repeat(12)}@docker`;
  const refB = `iris-${'b'.repeat(12)}@docker`;

  async function setup(backends: { service: string; weight: number }[], requestsDuringWindow: number) {
    const dir = mkdtempSync(join(tmpdir(), 'routing-'));
    await writeRoutingFile(dir, { service: 'iris', rule: 'Host(`iris.localhost`)', entrypoints: ['web'], backends });
    const engine = new FakeEngine();
    engine.servers = [fakeServer('iris-a', A, expired), fakeServer('iris-b', B, { deployedAt: NOW })];
    let reads = 0;
    engine.readRequests = async () => ({ readable: true, requests: reads++ === 0 ? 100 : 100 + requestsDuringWindow, inFlight: 0 });
    const state = async () => (await readRoutingState(join(dir, 'iris.yml')))!.backends;
    return { dir, engine, state };
  }

  it('withdraws an expired version before the window; still called through its pinned router: kept and reported with the count', async () => {
    const { dir, engine, state } = await setup(
      [
        { service: refA, weight: 1 },
        { service: refB, weight: 1 },
      ],
      5,
    );
    const result = await runRetire(engine, { ...options, keep: 0, inUseWindowMs: 60_000, sleep: async () => {}, routingDir: dir }, silentLog);
    expect(await state()).toEqual([{ service: refB, weight: 1 }]);
    expect(result.kept.find((entry) => entry.server.name === 'iris-a')!.decision.reason).toMatch(/in use: 5 requests/);
    expect(engine.servers.map((s) => s.name).sort()).toEqual(['iris-a', 'iris-b']);
  }, 30_000);

  it('an expired version nobody calls any more is removed', async () => {
    const { dir, engine, state } = await setup(
      [
        { service: refA, weight: 1 },
        { service: refB, weight: 1 },
      ],
      0,
    );
    const result = await runRetire(engine, { ...options, keep: 0, inUseWindowMs: 60_000, sleep: async () => {}, routingDir: dir }, silentLog);
    expect(result.retired.map((entry) => entry.server.name)).toEqual(['iris-a']);
    expect(result.retired[0]!.removal?.outcome).toBe('drained');
    expect(engine.servers.map((s) => s.name)).toEqual(['iris-b']);
    expect(await state()).toEqual([{ service: refB, weight: 1 }]);
  }, 30_000);

  it('never withdraws the only weighted version, even expired and unused', async () => {
    const { dir, engine, state } = await setup([{ service: refA, weight: 1 }], 0);
    const result = await runRetire(engine, { ...options, keep: 0, inUseWindowMs: 60_000, sleep: async () => {}, routingDir: dir }, silentLog);
    expect(await state()).toEqual([{ service: refA, weight: 1 }]);
    expect(engine.servers.map((s) => s.name)).toContain('iris-a');
    expect(result.retired.map((entry) => entry.server.name)).not.toContain('iris-a');
  }, 30_000);
});
