import { InputError } from '../inputs/errors';
import type { ServerProcess, Ulimit } from '../serving/server-inputs';

/**
 * deploy's `command`, `args`, `shm-size`, `memory`, `cpus` and `ulimits` in the Engine API's
 * words, for a container (`POST /containers/create`) and for a Swarm task (`POST /services/create`,
 * API 1.41). One reading of the spec, two shapes; nothing is set that the inputs did not give, so
 * the image's ENTRYPOINT/CMD and the engine's defaults stay otherwise.
 */

/** A container's part: Entrypoint and Cmd beside HostConfig's limits. */
export interface ContainerRuntime {
  Entrypoint?: string[];
  Cmd?: string[];
  HostConfig: { ShmSize?: number; Memory?: number; NanoCpus?: number; Ulimits?: Ulimit[] };
}

export function containerRuntime(process: ServerProcess): ContainerRuntime {
  return {
    ...(process.command ? { Entrypoint: process.command } : {}),
    ...(process.args ? { Cmd: process.args } : {}),
    HostConfig: {
      ...(process.shmBytes !== undefined ? { ShmSize: process.shmBytes } : {}),
      ...(process.memoryBytes !== undefined ? { Memory: process.memoryBytes } : {}),
      ...(process.nanoCpus !== undefined ? { NanoCpus: process.nanoCpus } : {}),
      ...(process.ulimits ? { Ulimits: process.ulimits } : {}),
    },
  };
}

/** Where a task's /dev/shm comes from on Swarm: a tmpfs mount of that size (services have no ShmSize). */
export const SHM_TARGET = '/dev/shm';

/** A Swarm task's part: ContainerSpec fields, and TaskTemplate.Resources when a limit was given. */
export interface TaskRuntime {
  containerSpec: {
    Command?: string[];
    Args?: string[];
    Ulimits?: Ulimit[];
    Mounts?: { Type: 'tmpfs'; Target: string; TmpfsOptions: { SizeBytes: number } }[];
  };
  resources?: { Limits: { NanoCPUs?: number; MemoryBytes?: number } };
}

export function taskRuntime(process: ServerProcess): TaskRuntime {
  const container = containerRuntime(process);
  const { ShmSize, Memory, NanoCpus, Ulimits } = container.HostConfig;
  const limited = Memory !== undefined || NanoCpus !== undefined;
  return {
    containerSpec: {
      // Swarm's Command is the container's Entrypoint and Args its Cmd.
      ...(container.Entrypoint ? { Command: container.Entrypoint } : {}),
      ...(container.Cmd ? { Args: container.Cmd } : {}),
      ...(Ulimits ? { Ulimits } : {}),
      // The engine mounts its own /dev/shm only where the container has no mount there.
      ...(ShmSize !== undefined ? { Mounts: [{ Type: 'tmpfs' as const, Target: SHM_TARGET, TmpfsOptions: { SizeBytes: ShmSize } }] } : {}),
    },
    ...(limited ? { resources: { Limits: { ...(NanoCpus !== undefined ? { NanoCPUs: NanoCpus } : {}), ...(Memory !== undefined ? { MemoryBytes: Memory } : {}) } } } : {}),
  };
}

/** Linux's RLIMIT_* numbers, as runc names them in its errors ("error setting rlimit type 8"). */
const RLIMIT_NUMBERS = ['cpu', 'fsize', 'data', 'stack', 'core', 'rss', 'nproc', 'nofile', 'memlock', 'as', 'locks', 'sigpending', 'msgqueue', 'nice', 'rtprio', 'rttime'];

/**
 * A container start the engine (`engine`: which, in words) refused because it may not raise one
 * of `ulimits` (a daemon without CAP_SYS_RESOURCE cannot go above its own hard limit: memlock=-1
 * under a rootless or confined dockerd), as the one-line error naming the input; undefined for
 * any other failure.
 */
export function ulimitRefusal(engineMessage: string, ulimits: readonly Ulimit[] | undefined, engine: string): InputError | undefined {
  const match = /error setting rlimit type (\d+): operation not permitted/.exec(engineMessage);
  if (!match || !ulimits) return undefined;
  const name = RLIMIT_NUMBERS[Number(match[1])];
  const asked = ulimits.find((ulimit) => ulimit.Name === name);
  if (!asked) return undefined;
  const value = (n: number) => (n === -1 ? 'unlimited' : String(n));
  return new InputError(
    'ulimits',
    `${engine} may not raise ${name} to ${value(asked.Soft)}${asked.Hard !== asked.Soft ? `:${value(asked.Hard)}` : ''}: the daemon's own hard limit is lower and it lacks the privilege to go above it (give at most the daemon's limit, or raise LimitMEMLOCK/LimitNOFILE in its service unit)`,
  );
}
