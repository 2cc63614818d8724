import { describe, expect, it } from 'vitest';
import { pruneUntilSettled, serviceDigests, type NodePrune } from '../../src/engine/swarm-prune';
import { versionServiceSpec } from '../../src/engine/swarm-spec';
import { parseDeployInputs, type DeployInputs } from '../../src/serving/deploy-spec';
import { parseRetireInputs, type RetireInputs } from '../../src/serving/retire-spec';
import type { SwarmService } from '../../src/engine/swarm-state';

/** The multi-node parts of engine swarm that need no engine: the inputs and the kept digests (docs/cluster.md). */
const digest = 'sha256:' + 'b'.repeat(64);
const deploy: DeployInputs = {
  image: `ghcr.io/acme/iris@${digest}`,
  service: 'iris',
  rule: 'Host(`iris.example.com`)',
  entrypoints: 'web',
  port: '8080',
  network: 'edge',
  replicas: '3',
  strategy: 'replace',
  ttl: '7d',
  'health-timeout': '5m',
  'drain-timeout': '60s',
  'drain-signal': 'SIGUSR2',
  engine: 'swarm',
  'registry-username': 'octocat',
  'registry-password': 'ghs_jobtoken',
};
const retire: RetireInputs = { keep: '1', 'dry-run': 'false', 'drain-timeout': '60s', 'prune-images': 'true', engine: 'swarm' };

describe('node-registry-username / node-registry-password (deploy, engine swarm)', () => {
  it('keeps the long-lived credential apart from the job credential', () => {
    const spec = parseDeployInputs({ ...deploy, 'node-registry-username': 'puller', 'node-registry-password': 'ro-token' }, {});
    expect(spec.credentials).toEqual({ username: 'octocat', password: 'ghs_jobtoken' });
    expect(spec.nodeCredentials).toEqual({ username: 'puller', password: 'ro-token' });
    expect(parseDeployInputs(deploy, {}).nodeCredentials).toBeUndefined();
  });

  it('refuses half a credential, or one for engine docker, naming the input', () => {
    expect(() => parseDeployInputs({ ...deploy, 'node-registry-username': 'puller' }, {})).toThrow(/^Input "node-registry-password": node-registry-username and node-registry-password go together/);
    expect(() => parseDeployInputs({ ...deploy, 'node-registry-password': 'x' }, {})).toThrow(/^Input "node-registry-username": /);
    expect(() => parseDeployInputs({ ...deploy, engine: 'docker', 'node-registry-username': 'p', 'node-registry-password': 'x' }, {})).toThrow(/^Input "node-registry-username": applies to engine swarm only/);
  });

  it('never puts either credential in the service spec (Swarm gets it through the registry-auth header only)', () => {
    const spec = parseDeployInputs({ ...deploy, 'node-registry-username': 'puller', 'node-registry-password': 'ro-token' }, {});
    const text = JSON.stringify(versionServiceSpec(spec, { reference: deploy.image, digest, healthcheck: true }, new Date(), 'net'));
    expect(text).not.toContain('ro-token');
    expect(text).not.toContain('ghs_jobtoken');
  });
});

describe('node-prune-image (retire, engine swarm)', () => {
  it('reads an image reference, and refuses it with engine docker or when malformed', () => {
    expect(parseRetireInputs({ ...retire, 'node-prune-image': 'docker:27-cli' }).nodePruneImage).toBe('docker:27-cli');
    expect(() => parseRetireInputs({ ...retire, engine: 'docker', 'node-prune-image': 'docker:27-cli' })).toThrow(/^Input "node-prune-image": applies to engine swarm only/);
    expect(() => parseRetireInputs({ ...retire, 'node-prune-image': 'https://docker:cli' })).toThrow(/^Input "node-prune-image": /);
  });
});

describe('serviceDigests: images a swarm still names', () => {
  it('collects the digest of every service pinned by digest, the toolkit’s or not', () => {
    const service = (image: string) => ({ Spec: { Name: 'x', TaskTemplate: { ContainerSpec: { Image: image } } } }) as unknown as SwarmService;
    const other = 'sha256:' + 'c'.repeat(64);
    expect(serviceDigests([service(`ghcr.io/acme/iris@${digest}`), service(`traefik:v3@${other}`), service('nginx:1')])).toEqual(new Set([digest, other]));
  });
});

describe('pruneUntilSettled: prune jobs again while a retired task still uses an image', () => {
  const a = 'registry.example/acme/iris@sha256:' + 'a'.repeat(64);
  const b = 'registry.example/acme/iris@sha256:' + 'd'.repeat(64);
  const inUse = (reference: string) => `Error response from daemon: conflict: unable to remove repository reference "${reference}" (must force) - container 7f77e0d21422 is using its referenced image 06c94c0a`;
  const noSuch = (reference: string) => `Error: No such image: ${reference}`;
  /** A clock whose waits only move its time on. */
  const fakeClock = () => {
    const clock = {
      time: 1_000_000,
      waits: [] as number[],
      now: () => clock.time,
      wait: (ms: number) => {
        clock.waits.push(ms);
        clock.time += ms;
        return Promise.resolve();
      },
    };
    return clock;
  };

  it('runs the second job once the retired tasks’ stop grace period is over, for what a node refused while a container used it, and merges what each node removed', async () => {
    const jobs: string[][] = [];
    const clock = fakeClock();
    const answers: NodePrune[][] = [
      [
        { node: 'node1', removed: [a, b], refused: [] },
        { node: 'node2', removed: [b], refused: [inUse(a)] },
      ],
      [
        { node: 'node1', removed: [], refused: [noSuch(a)] },
        { node: 'node2', removed: [a], refused: [] },
      ],
    ];
    const results = await pruneUntilSettled(
      (references) => {
        jobs.push([...references]);
        return Promise.resolve(answers[jobs.length - 1]!);
      },
      [a, b],
      clock,
      clock.time + 20_000,
    );
    expect(jobs).toEqual([[a, b], [a]]);
    expect(clock.waits).toEqual([20_000]);
    expect(results).toEqual([
      { node: 'node1', removed: [a, b], refused: [noSuch(a)] },
      { node: 'node2', removed: [b, a], refused: [] },
    ]);
  });

  it('stops after three jobs when a container keeps using the image (it is kept), and never runs again for a missing image', async () => {
    let jobs = 0;
    const clock = fakeClock();
    const results = await pruneUntilSettled(
      () => {
        jobs++;
        return Promise.resolve([
          { node: 'node1', removed: [], refused: [inUse(a)] },
          { node: 'node3', removed: [], refused: [noSuch(b)] },
        ]);
      },
      [a, b],
      clock,
    );
    expect(jobs).toBe(3);
    expect(clock.waits).toEqual([3_000, 3_000]);
    expect(results.find((result) => result.node === 'node1')!.refused).toEqual([inUse(a)]);

    let single = 0;
    await pruneUntilSettled(
      () => {
        single++;
        return Promise.resolve([{ node: 'node3', removed: [], refused: [noSuch(a)] }]);
      },
      [a],
      fakeClock(),
    );
    expect(single).toBe(1);
  });
});
