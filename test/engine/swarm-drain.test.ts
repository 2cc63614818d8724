import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { drainVersion } from '../../src/engine/swarm-drain';
import { versionFromService, type SwarmService, type SwarmTask } from '../../src/engine/swarm-state';
import { serverLabels } from '../../src/serving/labels';

// The drain of one model version on Swarm, against a recording fake of the few Engine API calls
// it makes. Under file routing the caller already withdrew the version and waited for Traefik and
// the in-flight requests: the service goes at once, its labels untouched. Under label routing the
// version's routing is withdrawn on the service first, and Traefik is given its polling time.

const digest = 'sha256:' + '3f2a9c1b7d4e'.padEnd(64, '0');
const routing = { service: 'iris', rule: 'Host(`iris.example.com`)', entrypoints: ['web'], port: 8080, network: 'edge' };
const identity = { service: 'iris', image: `r/iris@${digest}`, digest, deployedAt: new Date('2026-03-01T12:00:00Z'), expiresAt: null, drainSignal: 'SIGUSR2', provenance: {} };

function fakeSwarm(mode: 'labels' | 'file') {
  const calls: string[] = [];
  let removed = false;
  const service: SwarmService = {
    ID: 'svc',
    CreatedAt: '2026-03-01T11:00:00Z',
    Version: { Index: 7 },
    Spec: { Name: 'iris-3f2a9c1b7d4e', Labels: serverLabels(routing, identity, 'swarm', mode), TaskTemplate: { ContainerSpec: { Image: `r/iris@${digest}`, StopGracePeriod: 1e9 } }, Mode: { Replicated: { Replicas: 1 } } },
  };
  const task: SwarmTask = {
    ID: 'task1',
    ServiceID: 'svc',
    Slot: 1,
    NodeID: 'node-a',
    DesiredState: 'running',
    Status: { State: 'running', ContainerStatus: { ContainerID: 'c1' } },
    NetworksAttachments: [{ Network: { ID: 'net-edge', Spec: { Name: 'edge' } }, Addresses: ['10.0.1.5/24'] }],
  };
  const docker = {
    getService: () => ({
      inspect: () => (removed ? Promise.reject(Object.assign(new Error('gone'), { statusCode: 404 })) : Promise.resolve(service)),
      update: (options: { _body: { Labels: Record<string, string> } }) => {
        calls.push(`update traefik.enable=${options._body.Labels['traefik.enable']}`);
        return Promise.resolve();
      },
      remove: () => {
        calls.push('remove');
        removed = true;
        return Promise.resolve();
      },
    }),
    listTasks: () => Promise.resolve(removed ? [] : [task]),
    listNodes: () => Promise.resolve([{ ID: 'node-a', Status: { State: 'ready' } }]),
    getContainer: () => ({
      kill: () => {
        calls.push('kill SIGTERM');
        return Promise.resolve();
      },
      inspect: () => Promise.reject(Object.assign(new Error('gone'), { statusCode: 404 })),
    }),
  } as unknown as Docker;
  const slept: number[] = [];
  const context = {
    docker,
    localNodeId: 'node-a',
    canReach: () => Promise.resolve(false),
    sleep: (ms: number) => {
      slept.push(ms);
      return Promise.resolve();
    },
  };
  return { context, calls, slept, server: versionFromService(service, [task]).server };
}

describe('drainVersion', () => {
  it('file routing (withdrawn by the caller): removes the service at once, labels untouched, no wait', async () => {
    const { context, calls, slept, server } = fakeSwarm('file');
    const report = await drainVersion(context, server, { drainTimeoutMs: 20_000, withdrawn: true });
    expect(report).toMatchObject({ name: 'iris-3f2a9c1b7d4e', outcome: 'withdrawn' });
    expect(report.warning).toBeUndefined();
    expect(calls).toEqual(['remove', 'kill SIGTERM']);
    expect(slept).toEqual([]);
  });

  it('label routing: withdraws the routing on the service first and gives Traefik its polling time', async () => {
    const { context, calls, slept, server } = fakeSwarm('labels');
    const report = await drainVersion(context, server, { drainTimeoutMs: 20_000 });
    expect(report.outcome).toBe('drained');
    expect(calls).toEqual(['update traefik.enable=false', 'remove', 'kill SIGTERM']);
    expect(slept).toHaveLength(1);
    expect(slept[0]).toBeGreaterThan(15_000);
  });
});
