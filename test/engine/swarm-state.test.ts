import { describe, expect, it } from 'vitest';
import { parseDeployInputs } from '../../src/serving/deploy-spec';
import { serverLabels } from '../../src/serving/labels';
import { isServing } from '../../src/serving/server';
import { SWARM_ROUTING_SETTLE_MS, stopGracePeriodMs, versionServiceSpec } from '../../src/engine/swarm-spec';
import { assessRollout, describeTask, inSubnet, taskUrl, versionFromService, type SwarmService, type SwarmTask } from '../../src/engine/swarm-state';

// The pure readings of Swarm's services and tasks that deploy and drain act on, and the spec of a
// model version's Swarm service.

const digest = 'sha256:' + '3f2a9c1b7d4e'.padEnd(64, '0');
const routing = { service: 'iris', rule: 'Host(`iris.example.com`)', entrypoints: ['web'], port: 8080, network: 'edge' };
const labels = serverLabels(routing, { service: 'iris', image: `r/iris@${digest}`, digest, deployedAt: new Date('2026-03-01T12:00:00Z'), expiresAt: null, drainSignal: 'SIGUSR2', provenance: {} }, 'swarm');

let counter = 0;
function task(state: string, over: Partial<SwarmTask> = {}, status: Partial<SwarmTask['Status']> = {}): SwarmTask {
  counter++;
  return {
    ID: `task${counter}`,
    ServiceID: 'svc',
    Slot: counter,
    NodeID: 'node-a',
    DesiredState: 'running',
    CreatedAt: new Date(Date.UTC(2026, 2, 1, 12, 0, counter)).toISOString(),
    Status: { State: state, Timestamp: new Date(Date.UTC(2026, 2, 1, 12, 0, counter)).toISOString(), ...status },
    NetworksAttachments: [
      { Network: { ID: 'net-ingress', Spec: { Name: 'ingress' } }, Addresses: [`10.0.0.${counter}/24`] },
      { Network: { ID: 'net-edge', Spec: { Name: 'edge' } }, Addresses: [`10.0.1.${counter}/24`] },
    ],
    ...over,
  };
}

function service(over: Partial<SwarmService['Spec']> = {}): SwarmService {
  return {
    ID: 'svc',
    CreatedAt: '2026-03-01T11:00:00Z',
    Version: { Index: 7 },
    Spec: { Name: 'iris-3f2a9c1b7d4e', Labels: labels, TaskTemplate: { ContainerSpec: { Image: `r/iris@${digest}` } }, Mode: { Replicated: { Replicas: 2 } }, ...over },
  };
}

describe('versionFromService: a model version as deploy and retire see it', () => {
  it.each<[string, SwarmTask[], Partial<SwarmService['Spec']>, { state: string; health: string; serving: boolean }]>([
    ['every replica running', [task('running'), task('running')], {}, { state: 'running', health: 'healthy', serving: true }],
    ['one of two running (the other restarting)', [task('running'), task('starting')], {}, { state: 'running', health: 'healthy', serving: true }],
    ['its only task still starting (health check not passed yet)', [task('starting')], {}, { state: 'starting', health: 'starting', serving: false }],
    ['its task waiting for a node', [task('pending')], {}, { state: 'pending', health: 'starting', serving: false }],
    ['its tasks failed', [task('failed', { DesiredState: 'shutdown' })], {}, { state: 'no running task', health: 'starting', serving: false }],
    ['a running task being shut down', [task('running', { DesiredState: 'shutdown' })], {}, { state: 'no running task', health: 'starting', serving: false }],
    ['scaled to 0', [], { Mode: { Replicated: { Replicas: 0 } } }, { state: 'scaled to 0', health: 'starting', serving: false }],
    [
      'routing withdrawn by a drain, tasks still running',
      [task('running')],
      { Labels: { ...labels, 'traefik.enable': 'false', 'train-to-serve.draining': '2026-03-01T12:30:00Z' } },
      { state: 'running', health: 'unhealthy', serving: false },
    ],
  ])('%s', (_case, tasks, spec, expected) => {
    const version = versionFromService(service(spec), tasks);
    expect({ state: version.server.state, health: version.server.health, serving: isServing(version.server) }).toEqual(expected);
  });

  it('reads identity from the service labels and the URL from the first running task on the labelled network', () => {
    const tasks = [task('starting'), task('running'), task('running', { ServiceID: 'another' })];
    const version = versionFromService(service(), tasks);
    expect(version.tasks).toHaveLength(2);
    expect(version.server).toMatchObject({
      id: 'svc',
      name: 'iris-3f2a9c1b7d4e',
      service: 'iris',
      digest,
      image: `r/iris@${digest}`,
      deployedAt: new Date('2026-03-01T12:00:00Z'),
      expiresAt: null,
      url: `http://10.0.1.${tasks[1]!.Slot}:8080`,
      drainSignal: 'SIGUSR2',
    });
  });

  it('falls back to the service creation time without a deployed-at label', () => {
    const version = versionFromService(service({ Labels: { 'train-to-serve.managed': 'true' } }), []);
    expect(version.server.deployedAt).toEqual(new Date('2026-03-01T11:00:00Z'));
    expect(version.server.expiresAt).toBeUndefined();
  });
});

describe('assessRollout: where a new version stands', () => {
  it('is running once every wanted replica runs', () => {
    expect(assessRollout('iris-v', [task('running'), task('running')], 2)).toMatchObject({ kind: 'running' });
    expect(assessRollout('iris-v', [task('running'), task('starting')], 2)).toMatchObject({ kind: 'waiting' });
  });

  it.each<[string, SwarmTask, RegExp]>([
    ['a task that exited non-zero', task('failed', { DesiredState: 'shutdown' }, { Err: 'task: non-zero exit (1)', ContainerStatus: { ExitCode: 1 } }), /^task iris-v\.\d+ failed: task: non-zero exit \(1\)$/],
    [
      'a task killed as unhealthy',
      task('failed', { DesiredState: 'shutdown' }, { Err: 'Task failed because container is unhealthy', ContainerStatus: { ExitCode: 137 } }),
      /^task iris-v\.\d+ failed: Task failed because container is unhealthy \(exit code 137\)$/,
    ],
    ['a task Swarm rejected (no pull)', task('rejected', { DesiredState: 'shutdown' }, { Err: 'No such image: r/iris@sha256:…' }), /^task iris-v\.\d+ was rejected by Swarm: No such image/],
    ['a task that exited 0 instead of serving', task('complete', { DesiredState: 'shutdown' }, { ContainerStatus: { ExitCode: 0 } }), /^task iris-v\.\d+ exited with code 0 instead of serving$/],
  ])('fails at once on %s', (_case, failed, message) => {
    const rollout = assessRollout('iris-v', [task('running'), failed, task('starting')], 2);
    expect(rollout.kind).toBe('failed');
    expect(rollout.kind === 'failed' && rollout.problem).toMatch(message);
  });

  it('ignores failures of tasks from before a rescale', () => {
    const old = task('failed', { DesiredState: 'shutdown' }, { Err: 'task: non-zero exit (137)' });
    const earlier = new Set([old.ID]);
    expect(assessRollout('iris-v', [old, task('running'), task('running'), task('running')], 3, earlier)).toMatchObject({ kind: 'running' });
    expect(assessRollout('iris-v', [old, task('running')], 3)).toMatchObject({ kind: 'failed' });
  });

  it('summarises a rollout still waiting, with what Swarm says about each task', () => {
    const rollout = assessRollout('iris-v', [task('running'), task('pending', {}, { Err: 'no suitable node (insufficient resources on 1 node)' })], 2);
    expect(rollout).toEqual({ kind: 'waiting', summary: expect.stringMatching(/^1 of 2 tasks running; iris-v\.\d+ pending: no suitable node \(insufficient resources on 1 node\)$/) });
  });

  it('describes a task as docker service ps would', () => {
    expect(describeTask('iris-v', task('failed', { Slot: 3 }, { Err: 'task: non-zero exit (2)', ContainerStatus: { ExitCode: 2 } }))).toBe('iris-v.3 failed: task: non-zero exit (2)');
    expect(describeTask('iris-v', task('starting', { Slot: 1 }, { Message: 'starting' }))).toBe('iris-v.1 starting: starting');
  });
});

describe('addresses', () => {
  it('builds a task URL on the named network, without the prefix length', () => {
    const t = task('running', { NetworksAttachments: [{ Network: { ID: 'n1', Spec: { Name: 'edge' } }, Addresses: ['10.0.1.7/24'] }] });
    expect(taskUrl(t, 'edge', 8080)).toBe('http://10.0.1.7:8080');
    expect(taskUrl(t, 'other', 8080)).toBeUndefined();
    expect(taskUrl(t, 'edge', undefined)).toBeUndefined();
  });

  it.each([
    ['10.0.1.7', '10.0.1.0/24', true],
    ['10.0.2.7', '10.0.1.0/24', false],
    ['172.18.5.9', '172.16.0.0/12', true],
    ['172.32.0.1', '172.16.0.0/12', false],
    ['192.0.2.2', '0.0.0.0/0', true],
    ['10.0.1.7', 'fd00::/64', false],
    ['not-an-ip', '10.0.0.0/8', false],
  ])('%s in %s: %s', (ip, cidr, inside) => expect(inSubnet(ip, cidr)).toBe(inside));
});

describe('versionServiceSpec: one model version as a Swarm service', () => {
  const inputs = {
    image: `127.0.0.1:5000/acme/iris@${digest}`,
    service: 'iris',
    rule: 'Host(`iris.example.com`)',
    entrypoints: 'web',
    port: '8080',
    network: 'edge',
    replicas: '3',
    strategy: 'replace',
    ttl: '7d',
    'health-timeout': '90s',
    'drain-timeout': '60s',
    'drain-signal': 'SIGUSR2',
    env: 'MODE=blue',
    engine: 'swarm',
  };
  const deployedAt = new Date('2026-03-01T12:00:00Z');

  it('puts the routing and toolkit labels on the service and the rollout policy beside them', () => {
    const spec = versionServiceSpec(parseDeployInputs(inputs, { gitSha: 'abc' }), { reference: inputs.image, digest, healthcheck: true }, deployedAt, 'net-edge-id');
    expect(spec.Name).toBe('iris-3f2a9c1b7d4e');
    expect(spec.Labels).toMatchObject({ 'traefik.swarm.network': 'edge', 'traefik.http.services.iris.loadbalancer.server.port': '8080', 'train-to-serve.managed': 'true', 'train-to-serve.expires-at': '2026-03-08T12:00:00.000Z' });
    expect(spec.Labels).not.toHaveProperty('traefik.docker.network');
    expect(spec.TaskTemplate).toEqual({
      ContainerSpec: {
        Image: inputs.image,
        Env: [`TRAIN_TO_SERVE_IMAGE_DIGEST=${digest}`, 'TRAIN_TO_SERVE_GIT_SHA=abc', 'MODE=blue'],
        StopSignal: 'SIGUSR2',
        StopGracePeriod: 60e9,
        Healthcheck: { Interval: 2e9, Timeout: 10e9, Retries: 3, StartPeriod: 90e9 },
      },
      RestartPolicy: { Condition: 'any', Delay: 5e9, MaxAttempts: 0 },
      Networks: [{ Target: 'net-edge-id' }],
    });
    expect(spec.Mode).toEqual({ Replicated: { Replicas: 3 } });
    expect(spec.UpdateConfig).toEqual({ Parallelism: 1, Delay: 0, Monitor: 10e9, MaxFailureRatio: 0, Order: 'start-first', FailureAction: 'rollback' });
    expect(spec.RollbackConfig).toMatchObject({ Order: 'start-first', FailureAction: 'pause' });
    expect(spec.EndpointSpec).toEqual({ Mode: 'vip' });
  });

  it("uses health-cmd when given, no health check when the image has none, and a stop grace that outlasts Traefik's poll", () => {
    const withCmd = versionServiceSpec(parseDeployInputs({ ...inputs, 'health-cmd': '["node","/probe.mjs"]', 'drain-timeout': '5s' }, {}), { reference: inputs.image, digest, healthcheck: false }, deployedAt, 'n');
    const container = withCmd.TaskTemplate.ContainerSpec as Record<string, unknown>;
    expect(container.Healthcheck).toMatchObject({ Test: ['CMD', 'node', '/probe.mjs'] });
    expect(container.StopGracePeriod).toBe(SWARM_ROUTING_SETTLE_MS * 1e6);
    const bare = versionServiceSpec(parseDeployInputs(inputs, {}), { reference: inputs.image, digest, healthcheck: false }, deployedAt, 'n');
    expect(bare.TaskTemplate.ContainerSpec).not.toHaveProperty('Healthcheck');
    expect(stopGracePeriodMs(90_000)).toBe(90_000);
    expect(stopGracePeriodMs(1000)).toBe(20_000);
  });

  it('starts the task with command and args, and gives it memory, cpus, ulimits and a /dev/shm of shm-size', () => {
    const spec = versionServiceSpec(
      parseDeployInputs({ ...inputs, command: '["/opt/tritonserver/bin/tritonserver"]', args: '--model-repository=/model --http-port 8080', memory: '2g', cpus: '1.5', 'shm-size': '256m', ulimits: 'memlock=-1\nstack=67108864' }, {}),
      { reference: inputs.image, digest, healthcheck: true },
      deployedAt,
      'n',
    );
    expect(spec.TaskTemplate.ContainerSpec).toMatchObject({
      Command: ['/opt/tritonserver/bin/tritonserver'],
      Args: ['--model-repository=/model', '--http-port', '8080'],
      Ulimits: [
        { Name: 'memlock', Soft: -1, Hard: -1 },
        { Name: 'stack', Soft: 67108864, Hard: 67108864 },
      ],
      Mounts: [{ Type: 'tmpfs', Target: '/dev/shm', TmpfsOptions: { SizeBytes: 256 * 1024 ** 2 } }],
    });
    expect(spec.TaskTemplate.Resources).toEqual({ Limits: { NanoCPUs: 1.5e9, MemoryBytes: 2 * 1024 ** 3 } });
    const bare = versionServiceSpec(parseDeployInputs(inputs, {}), { reference: inputs.image, digest, healthcheck: true }, deployedAt, 'n');
    expect(bare.TaskTemplate).not.toHaveProperty('Resources');
    expect(Object.keys(bare.TaskTemplate.ContainerSpec as object)).not.toContain('Command');
  });
});
