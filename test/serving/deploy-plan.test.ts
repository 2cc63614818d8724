import { describe, expect, it } from 'vitest';
import { planDeploy } from '../../src/serving/deploy-plan';
import type { ManagedServer } from '../../src/serving/server';

const NEW = 'sha256:new';
const OLD = 'sha256:old';
let n = 0;
function server(digest: string, state = 'running', health: ManagedServer['health'] = 'healthy', minutesAgo = 10): ManagedServer {
  n += 1;
  return {
    id: `id${n}`,
    name: `iris-${n}`,
    service: 'iris',
    digest,
    image: 'img',
    deployedAt: new Date(Date.UTC(2026, 0, 1, 12, 0) - minutesAgo * 60_000),
    state,
    health,
    drainSignal: 'SIGUSR2',
    labels: {},
  };
}
const names = (list: ManagedServer[]) => list.map((s) => s.name);

describe('planDeploy', () => {
  it('first deploy: create the replicas, nothing to drain', () => {
    expect(planDeploy([], NEW, 2, 'replace')).toEqual({ reuse: [], create: 2, clear: [], drain: [], unchanged: false });
  });

  it('replace: new servers, then every older server drains (newest first)', () => {
    const older = server(OLD, 'running', 'healthy', 60);
    const old = server(OLD, 'running', 'healthy', 30);
    const plan = planDeploy([older, old], NEW, 1, 'replace');
    expect(plan).toMatchObject({ create: 1, reuse: [], clear: [], unchanged: false });
    expect(names(plan.drain)).toEqual([old.name, older.name]);
  });

  it('add: new servers beside the old, nothing drains', () => {
    const plan = planDeploy([server(OLD)], NEW, 1, 'add');
    expect(plan).toMatchObject({ create: 1, drain: [], unchanged: false });
  });

  it('the same digest already serving: nothing changes (idempotent)', () => {
    const current = server(NEW);
    expect(planDeploy([current], NEW, 1, 'replace')).toEqual({ reuse: [current], create: 0, clear: [], drain: [], unchanged: true });
    expect(planDeploy([current, server(OLD)], NEW, 1, 'add').unchanged).toBe(true);
  });

  it('a deploy killed after its servers turned healthy: re-run only drains the old ones', () => {
    const current = server(NEW, 'running', 'healthy', 1);
    const old = server(OLD);
    const plan = planDeploy([current, old], NEW, 1, 'replace');
    expect(plan).toMatchObject({ reuse: [current], create: 0, clear: [], unchanged: false });
    expect(names(plan.drain)).toEqual([old.name]);
  });

  it('a deploy killed while its servers started: their leftovers are cleared and started again', () => {
    const starting = server(NEW, 'running', 'starting', 1);
    const exited = server(NEW, 'exited', 'none', 2);
    const old = server(OLD);
    const plan = planDeploy([starting, exited, old], NEW, 1, 'replace');
    expect(plan).toMatchObject({ reuse: [], create: 1, unchanged: false });
    expect(names(plan.clear)).toEqual([starting.name, exited.name]);
    expect(names(plan.drain)).toEqual([old.name]);
  });

  it('more replicas than before: reuse the serving ones, create the rest', () => {
    const current = server(NEW);
    expect(planDeploy([current], NEW, 3, 'replace')).toMatchObject({ reuse: [current], create: 2, drain: [] });
  });

  it('fewer replicas under replace: the oldest surplus servers of the digest drain', () => {
    const a = server(NEW, 'running', 'healthy', 1);
    const b = server(NEW, 'running', 'healthy', 2);
    const c = server(NEW, 'running', 'healthy', 3);
    const plan = planDeploy([c, a, b], NEW, 2, 'replace');
    expect(names(plan.reuse)).toEqual([a.name, b.name]);
    expect(names(plan.drain)).toEqual([c.name]);
    expect(plan.create).toBe(0);
  });

  it('an old server without a health check counts as serving, and drains like any other', () => {
    const old = server(OLD, 'running', 'none');
    expect(names(planDeploy([old], NEW, 1, 'replace').drain)).toEqual([old.name]);
  });
});
