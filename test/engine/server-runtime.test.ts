import { describe, expect, it } from 'vitest';
import { containerRuntime, taskRuntime, ulimitRefusal } from '../../src/engine/server-runtime';

// deploy's process inputs in the Engine API's words: POST /containers/create (HostConfig, Entrypoint,
// Cmd) and POST /services/create's TaskTemplate (ContainerSpec Command/Args/Ulimits, Resources.Limits).

describe('containerRuntime', () => {
  it('maps every input to the container create options', () => {
    expect(
      containerRuntime({
        command: ['uvicorn'],
        args: ['app:app', '--port', '8080'],
        shmBytes: 64 * 1024 ** 2,
        memoryBytes: 512 * 1024 ** 2,
        nanoCpus: 1.5e9,
        ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }],
      }),
    ).toEqual({
      Entrypoint: ['uvicorn'],
      Cmd: ['app:app', '--port', '8080'],
      HostConfig: { ShmSize: 64 * 1024 ** 2, Memory: 512 * 1024 ** 2, NanoCpus: 1.5e9, Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }] },
    });
  });

  it('sets nothing that was not given, so the image and the engine keep their defaults', () => {
    expect(containerRuntime({})).toEqual({ HostConfig: {} });
    expect(containerRuntime({ args: ['--model-repository=/model'] })).toEqual({ Cmd: ['--model-repository=/model'], HostConfig: {} });
  });
});

describe('taskRuntime', () => {
  it('maps the same inputs to a Swarm task: Command is the entrypoint, Args the command, /dev/shm a tmpfs', () => {
    expect(taskRuntime({ command: ['uvicorn'], args: ['app:app'], shmBytes: 1024, memoryBytes: 8 * 1024 ** 2, nanoCpus: 5e8, ulimits: [{ Name: 'memlock', Soft: -1, Hard: -1 }] })).toEqual({
      containerSpec: {
        Command: ['uvicorn'],
        Args: ['app:app'],
        Ulimits: [{ Name: 'memlock', Soft: -1, Hard: -1 }],
        Mounts: [{ Type: 'tmpfs', Target: '/dev/shm', TmpfsOptions: { SizeBytes: 1024 } }],
      },
      resources: { Limits: { NanoCPUs: 5e8, MemoryBytes: 8 * 1024 ** 2 } },
    });
    expect(taskRuntime({})).toEqual({ containerSpec: {} });
    expect(taskRuntime({ memoryBytes: 8 * 1024 ** 2 })).toEqual({ containerSpec: {}, resources: { Limits: { MemoryBytes: 8 * 1024 ** 2 } } });
  });
});

describe('ulimitRefusal', () => {
  // What runc reports through dockerd 20.10 here, where the daemon's memlock hard limit is 8 MiB and it may not raise it.
  const refused =
    'failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: error setting rlimits for ready process: error setting rlimit type 8: operation not permitted: unknown';

  it('names the input and the limit the engine may not raise', () => {
    expect(
      ulimitRefusal(
        refused,
        [
          { Name: 'nofile', Soft: 1024, Hard: 2048 },
          { Name: 'memlock', Soft: -1, Hard: -1 },
        ],
        'the Docker Engine at unix:///var/run/docker.sock',
      )?.message,
    ).toBe(
      'Input "ulimits": the Docker Engine at unix:///var/run/docker.sock may not raise memlock to unlimited: the daemon\'s own hard limit is lower and it lacks the privilege to go above it (give at most the daemon\'s limit, or raise LimitMEMLOCK/LimitNOFILE in its service unit)',
    );
    expect(ulimitRefusal(refused.replace('type 8', 'type 7'), [{ Name: 'nofile', Soft: 1024, Hard: 1048576 }], 'e')?.message).toMatch(/may not raise nofile to 1024:1048576:/);
  });

  it('leaves every other failure alone', () => {
    expect(ulimitRefusal('no such image', [{ Name: 'memlock', Soft: -1, Hard: -1 }], 'e')).toBeUndefined();
    expect(ulimitRefusal(refused, undefined, 'e')).toBeUndefined();
    expect(ulimitRefusal(refused, [{ Name: 'nofile', Soft: 1, Hard: 1 }], 'e')).toBeUndefined();
  });
});
