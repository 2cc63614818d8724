import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DOCKER } from './docker-cli';

/**
 * An action run the way a runner in a container runs it: `node <bundle>` inside a container
 * attached to a network, here the swarm's overlay network whose task addresses the host cannot
 * reach (a self-hosted runner started with `docker run --network <overlay>`). The engine is the
 * host's, through its socket; the checkout is mounted read-only at the same path, the runner's
 * files, the workspace and `volumes` read-write at the same paths, so paths in inputs and outputs
 * mean the same inside and out.
 */
export interface RunnerContainer {
  /** A swarm-scope `--attachable` network (or any network the container joins). */
  network: string;
  /** An image with node at /usr/local/bin/node (ensureNodeBaseImage()). */
  image: string;
  /** Host paths mounted read-write at the same path, e.g. the routing-dir. */
  volumes?: string[];
}

export interface RunnerCommand {
  command: string;
  args: string[];
  /** Remove the container (a run that timed out: killing `docker run` does not stop it). */
  remove(): void;
}

const checkout = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Runner environment that describes the host, not the container: left out. */
const HOST_ONLY = new Set(['PATH', 'HOME', 'DOCKER_HOST']);

/**
 * `docker run` arguments for one action run. Environment values never go on the command line:
 * `--env NAME` makes the client pass that variable from its own environment (the caller's `env`).
 */
export function runnerContainerCommand(container: RunnerContainer, run: { main: string; workspace: string; files: string; env: Record<string, string> }): RunnerCommand {
  const name = `tts-runner-${randomBytes(4).toString('hex')}`;
  const mounts = [...new Set([run.workspace, run.files, ...(container.volumes ?? [])])];
  const args = [
    'run',
    '--rm',
    '--name',
    name,
    '--label',
    'train-to-serve.test-support=runner',
    '--network',
    container.network,
    '--volume',
    '/var/run/docker.sock:/var/run/docker.sock',
    '--volume',
    `${checkout}:${checkout}:ro`,
    ...mounts.flatMap((path) => ['--volume', `${path}:${path}`]),
    '--workdir',
    run.workspace,
    ...Object.keys(run.env)
      .filter((key) => !HOST_ONLY.has(key))
      .flatMap((key) => ['--env', key]),
    '--env',
    'HOME=/tmp',
    container.image,
    'node',
    run.main,
  ];
  return {
    command: DOCKER,
    args,
    remove: () => {
      spawn(DOCKER, ['rm', '-f', name], { stdio: 'ignore' }).on('error', () => {});
    },
  };
}
