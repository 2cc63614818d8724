import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectEngine } from '../../src/engine/connection';
import { versionServiceSpec } from '../../src/engine/swarm-spec';
import { ulimitRefusal } from '../../src/engine/server-runtime';
import { parseDeployInputs, type DeploySpec } from '../../src/serving/deploy-spec';
import { docker } from '../support/docker-cli';
import { waitFor } from '../support/ports';
import { ensurePythonBaseImage } from '../support/python-image';
import { createOverlayNetwork, ensureSwarm, removeOverlayNetwork, removeServices } from '../support/swarm';

/**
 * engine swarm: the Swarm service spec deploy sends for command, args, shm-size, memory, cpus and
 * ulimits (src/engine/swarm-spec.ts), created on the real single-node swarm (Engine API 1.41,
 * Docker 20.10). Services have no ShmSize, so /dev/shm is a tmpfs mount of that size; ulimits go
 * in ContainerSpec.Ulimits. The task's process reports what it got.
 */
const run = randomBytes(3).toString('hex');
const service = `ttssi${run}`;
const network = `tts-swarm-inputs-${run}`;
let api: Docker;

/** Prints the limits of the task's own process, then keeps running. */
const PROBE = `
import json, os, time
limits = {line[:26].strip(): line[26:].split()[:2] for line in open('/proc/self/limits').read().splitlines()[1:]}
def read(*paths):
    for path in paths:
        try:
            return open(path).read().strip()
        except OSError:
            pass
shm = os.statvfs('/dev/shm')
print('PROBE ' + json.dumps({
    'nofile': limits['Max open files'], 'memlock': limits['Max locked memory'], 'shm': shm.f_blocks * shm.f_frsize,
    'memory': read('/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes'),
    'cpu': read('/sys/fs/cgroup/cpu.max') or ' '.join([read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us') or '', read('/sys/fs/cgroup/cpu/cpu.cfs_period_us') or '']),
}), flush=True)
time.sleep(3600)
`;

beforeAll(async () => {
  await ensureSwarm();
  api = (await connectEngine(undefined)).docker;
  await createOverlayNetwork(network);
}, 300_000);

afterAll(async () => {
  await removeServices(service);
  await removeOverlayNetwork(network);
});

/** deploy's spec for one version of `name` with these server inputs, as the deploy action would parse it. */
function specOf(image: string, name: string, inputs: Record<string, string>): DeploySpec {
  return parseDeployInputs(
    {
      image,
      service: name,
      rule: `Host(\`${name}.test\`)`,
      entrypoints: 'web',
      port: '8080',
      network,
      replicas: '1',
      strategy: 'replace',
      ttl: '1h',
      'health-timeout': '60s',
      'drain-timeout': '5s',
      'drain-signal': 'SIGTERM',
      engine: 'swarm',
      command: '["/opt/venv/bin/python", "-c"]',
      args: JSON.stringify([PROBE]),
      ...inputs,
    },
    {},
  );
}

async function networkId(): Promise<string> {
  return (JSON.parse(await docker(['network', 'inspect', network])) as { Id: string }[])[0]!.Id;
}

interface Task {
  Status: { State: string; Err?: string; ContainerStatus?: { ContainerID?: string } };
}

describe("engine swarm: the server inputs in a version's service spec", () => {
  it('reach the task: argv, /dev/shm, memory, CPU quota and rlimits', async () => {
    const image = await ensurePythonBaseImage();
    const spec = specOf(image, service, {
      'shm-size': '96m',
      memory: '128m',
      cpus: '0.5',
      // At most the daemon's own memlock hard limit (8 MiB on this machine's dockerd, which may not raise it).
      ulimits: 'nofile=1024:2048, memlock=4194304',
    });
    const serviceSpec = versionServiceSpec(spec, { reference: image, digest: `sha256:${'d'.repeat(64)}`, healthcheck: false }, new Date(), await networkId());
    await api.createService(serviceSpec as unknown as Docker.CreateServiceOptions);

    let output = '';
    let containerId = '';
    await waitFor(
      'the task to print its limits',
      async () => {
        const tasks = (await api.listTasks({ filters: { service: [serviceSpec.Name] } })) as Task[];
        const failed = tasks.find((task) => task.Status.Err);
        if (failed) throw new Error(`task failed: ${failed.Status.Err}`);
        containerId = tasks.find((task) => task.Status.State === 'running')?.Status.ContainerStatus?.ContainerID ?? '';
        if (!containerId) return false;
        output = await docker(['logs', containerId]);
        return output.includes('PROBE ');
      },
      120_000,
      500,
    );
    const seen = JSON.parse(output.slice(output.indexOf('PROBE ') + 6).split('\n')[0]!) as { nofile: string[]; memlock: string[]; shm: number; memory: string; cpu: string };
    expect(seen.nofile).toEqual(['1024', '2048']);
    expect(seen.memlock).toEqual(['4194304', '4194304']);
    expect(seen.shm).toBe(96 * 1024 ** 2);
    expect(Number(seen.memory)).toBe(128 * 1024 ** 2);
    const [quota, period] = seen.cpu.split(' ').map(Number);
    expect(quota! / period!).toBe(0.5);

    const container = (JSON.parse(await docker(['inspect', containerId])) as { Config: { Entrypoint: string[]; Cmd: string[] }; HostConfig: { Mounts: unknown[]; NanoCpus: number; Memory: number } }[])[0]!;
    expect(container.Config.Entrypoint).toEqual(['/opt/venv/bin/python', '-c']);
    expect(container.Config.Cmd).toEqual([PROBE]);
    expect(container.HostConfig).toMatchObject({ NanoCpus: 5e8, Memory: 128 * 1024 ** 2, Mounts: [{ Type: 'tmpfs', Target: '/dev/shm', TmpfsOptions: { SizeBytes: 96 * 1024 ** 2 } }] });
  }, 600_000);

  it('a limit the node may not grant fails the task with the error deploy turns into one naming ulimits', async () => {
    const image = await ensurePythonBaseImage();
    const spec = specOf(image, `${service}-memlock`, { ulimits: 'memlock=-1' });
    const serviceSpec = versionServiceSpec(spec, { reference: image, digest: `sha256:${'e'.repeat(64)}`, healthcheck: false }, new Date(), await networkId());
    await api.createService(serviceSpec as unknown as Docker.CreateServiceOptions);
    let error = '';
    await waitFor(
      'the task to fail or run',
      async () => {
        const tasks = (await api.listTasks({ filters: { service: [serviceSpec.Name] } })) as Task[];
        error = tasks.find((task) => task.Status.Err)?.Status.Err ?? '';
        if (!error && tasks.some((task) => task.Status.State === 'running')) error = 'running';
        return error !== '';
      },
      120_000,
      500,
    );
    // A daemon that may raise memlock (root, CAP_SYS_RESOURCE) runs the task; this machine's may not.
    if (error === 'running') return;
    expect(error).toMatch(/error setting rlimit type 8: operation not permitted/);
    expect(ulimitRefusal(error, spec.process.ulimits, "the Docker Engine of the task's node")?.message).toMatch(/^Input "ulimits": the Docker Engine of the task's node may not raise memlock to unlimited:/);
  }, 600_000);
});
