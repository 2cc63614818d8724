import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { Engine } from '../engine/connection';
import { ResourceError } from '../inputs/errors';
import type { GpuRecord } from '../gpu/probe';
import { dockerConfigKey, parseImageReference, pullReference, type ImageReference } from '../registry/reference';
import { engineMessage, statusOf } from '../engine/errors';
import type { CommandOutcome, StopRequest, SupervisedCommand } from './supervise';

/**
 * The training command inside `container-image`, through the Docker Engine API: the chosen GPUs
 * attached as a DeviceRequest by UUID (what `docker run --gpus device=…` sends), the workspace
 * mounted at its own path, output streamed into the step's log, the exit code carried back, and
 * the container removed afterwards whatever happened.
 */

export interface ContainerCommandOptions {
  engine: Engine;
  image: string;
  script: string;
  /** Host folder mounted at the same path inside, so paths mean the same on both sides. */
  workspace: string;
  cwd: string;
  env: Record<string, string>;
  gpus: GpuRecord[];
  name: string;
  labels: Record<string, string>;
  /** `uid:gid` to run as; files written into the workspace then belong to the runner's user. */
  user?: string;
  /** Bytes of /dev/shm: PyTorch DataLoader workers exchange batches through it, and Docker's 64 MiB default crashes them. */
  shmSizeBytes: number;
  timeoutMs?: number;
  timeoutGraceMs: number;
  cancelGraceMs: number;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  log: (message: string) => void;
  /** Docker's client configuration folder (`DOCKER_CONFIG`), for pull credentials. */
  dockerConfigDir?: string;
}

export interface ContainerOutcome extends CommandOutcome {
  imageId: string;
  containerId?: string;
  /** The kernel killed the container for exceeding its memory. */
  oomKilled: boolean;
}

/** The DeviceRequests for the chosen GPUs; none when training without GPUs. */
export function deviceRequests(gpus: GpuRecord[]): Docker.DeviceRequest[] {
  if (gpus.length === 0) return [];
  return [{ Driver: '', Count: 0, DeviceIDs: gpus.map((gpu) => gpu.uuid), Capabilities: [['gpu']], Options: {} }];
}

/** An image reference with a tag, since the engine pulls every tag of a repository given none. */
/**
 * Credentials `docker login` (or docker/login-action) stored for the image's registry, so a
 * private training image pulls the same way `docker pull` would. Credential helpers are not
 * read: a pull that needs one fails with the registry's own message.
 */
export function registryAuthFor(image: ImageReference, configDir: string): { username: string; password: string; serveraddress: string } | undefined {
  let config: { auths?: Record<string, { auth?: string; identitytoken?: string }> };
  try {
    config = JSON.parse(readFileSync(join(configDir, 'config.json'), 'utf8')) as typeof config;
  } catch {
    return undefined;
  }
  const host = dockerConfigKey(image);
  const entry = config.auths?.[host] ?? config.auths?.[`https://${host}`] ?? config.auths?.[`http://${host}`];
  if (!entry?.auth) return undefined;
  const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), serveraddress: host };
}

/** Turn the engine's refusal to start the container into a message that says what to do. */
export function explainStartError(error: unknown, options: Pick<ContainerCommandOptions, 'engine' | 'image' | 'gpus'>): Error {
  const said = engineMessage(error);
  const engine = `Docker Engine at ${options.engine.endpoint}`;
  if (/could not select device driver/i.test(said)) {
    return new ResourceError(
      engine,
      `cannot attach GPUs ${options.gpus.map((gpu) => `${gpu.index} (${gpu.uuid})`).join(', ')} to the training container: no GPU device driver is registered with the engine (it said: ${said}). Install the NVIDIA Container Toolkit on the runner and restart dockerd (nvidia-ctk runtime configure --runtime=docker), or set gpus: none`,
    );
  }
  if (/executable file not found|no such file or directory/i.test(said) && /bash/.test(said)) {
    return new ResourceError(`Image ${options.image}`, `has no bash, which runs the training command (the engine said: ${said})`);
  }
  return new ResourceError(engine, `could not start the training container from ${options.image}: ${said}`);
}

async function ensureImage(options: ContainerCommandOptions, cancelled: () => boolean): Promise<string> {
  const { docker } = options.engine;
  try {
    return (await docker.getImage(options.image).inspect()).Id;
  } catch (error) {
    if (statusOf(error) !== 404) throw new ResourceError(`Docker Engine at ${options.engine.endpoint}`, `cannot inspect image ${options.image}: ${engineMessage(error)}`);
  }
  const image = parseImageReference(options.image, 'container-image');
  const reference = pullReference(image);
  const authconfig = registryAuthFor(image, options.dockerConfigDir ?? join(homedir(), '.docker'));
  options.log(`Pulling ${reference}${authconfig ? ` as ${authconfig.username}` : ''}…`);
  try {
    const stream = await docker.pull(reference, authconfig ? { authconfig } : {});
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())));
  } catch (error) {
    throw new ResourceError(`Image ${options.image}`, `cannot be pulled: ${engineMessage(error)}`);
  }
  if (cancelled()) throw new ResourceError(`Image ${options.image}`, 'pull finished after the run was cancelled');
  return (await docker.getImage(options.image).inspect()).Id;
}

export function superviseContainer(options: ContainerCommandOptions): SupervisedCommand & { outcome: Promise<ContainerOutcome> } {
  const { docker } = options.engine;
  let container: Docker.Container | undefined;
  let running = false;
  let stoppedBy: StopRequest | undefined;
  let stopping: Promise<unknown> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const beginStop = () => {
    if (!stoppedBy || stopping || !running || !container) return;
    const graceMs = stoppedBy.reason === 'timeout' ? options.timeoutGraceMs : options.cancelGraceMs;
    // The engine sends SIGTERM to the container's init (which passes it to the whole process
    // group, see TINI_KILL_PROCESS_GROUP below) and SIGKILL after t seconds.
    stopping = container.stop({ t: Math.max(1, Math.ceil(graceMs / 1000)) }).catch(() => undefined);
  };
  const stop = (request: StopRequest) => {
    stoppedBy ??= request;
    beginStop();
  };

  const outcome = (async (): Promise<ContainerOutcome> => {
    const imageId = await ensureImage(options, () => stoppedBy !== undefined);
    if (stoppedBy) throw new ResourceError('Training', 'was cancelled before the container started');
    const startedAt = new Date();
    try {
      container = await docker.createContainer({
        name: options.name,
        Image: imageId,
        Entrypoint: ['bash', '--noprofile', '--norc', '-eo', 'pipefail', '-c', options.script],
        Cmd: [],
        WorkingDir: options.cwd,
        Env: Object.entries({ ...options.env, TINI_KILL_PROCESS_GROUP: '1' }).map(([key, value]) => `${key}=${value}`),
        Labels: options.labels,
        User: options.user,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        HostConfig: {
          Binds: [`${options.workspace}:${options.workspace}`],
          Init: true,
          AutoRemove: false,
          ShmSize: options.shmSizeBytes,
          // No Ulimits: raising memlock needs privileges some engines lack (the container then
          // fails to start); the engine's default-ulimits in daemon.json are the place for them.
          DeviceRequests: deviceRequests(options.gpus),
        },
      });
    } catch (error) {
      throw new ResourceError(`Docker Engine at ${options.engine.endpoint}`, `cannot create the training container: ${engineMessage(error)}`);
    }
    try {
      const stream = await container.attach({ stream: true, stdout: true, stderr: true });
      const streamEnded = new Promise<void>((resolve) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', () => resolve());
      });
      docker.modem.demuxStream(stream, options.stdout, options.stderr);
      try {
        await container.start();
      } catch (error) {
        throw explainStartError(error, options);
      }
      running = true;
      beginStop();
      if (options.timeoutMs !== undefined) timer = setTimeout(() => stop({ reason: 'timeout' }), options.timeoutMs);
      const result = (await container.wait()) as { StatusCode: number };
      running = false;
      if (timer) clearTimeout(timer);
      if (stopping) await stopping;
      // The last lines may still be in flight when wait() answers.
      await Promise.race([streamEnded, new Promise((resolve) => setTimeout(resolve, 2_000))]);
      const oomKilled = await container
        .inspect()
        .then((info) => info.State.OOMKilled === true)
        .catch(() => false);
      return { exitCode: result.StatusCode, signal: null, stoppedBy, stopped: [], leftovers: [], startedAt, finishedAt: new Date(), imageId, containerId: container.id, oomKilled };
    } finally {
      if (timer) clearTimeout(timer);
      await container.remove({ force: true, v: true }).catch((error: unknown) => {
        if (statusOf(error) !== 404) options.log(`Could not remove training container ${options.name}: ${engineMessage(error)}`);
      });
    }
  })();

  return {
    outcome,
    stop,
    kill: () => {
      stoppedBy ??= { reason: 'cancelled' };
      if (container) void container.kill({ signal: 'SIGKILL' }).catch(() => undefined);
    },
  };
}
