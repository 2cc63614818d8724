import Docker from 'dockerode';
import { errorMessage, InputError, ResourceError, quote } from '../inputs/errors';

/**
 * A connection to a Docker Engine, at the API version both sides speak. Debian's engine speaks
 * 1.41; newer engines refuse clients that ask for versions below their minimum, so the version is
 * read from the engine's unversioned `GET /version` rather than assumed.
 */
export interface Engine {
  docker: Docker;
  /** The API version in use, e.g. "1.41". */
  apiVersion: string;
  /** The engine's own version, e.g. "20.10.24". */
  engineVersion: string;
  /** Where it was reached, for messages. */
  endpoint: string;
}

/** The newest Engine API this toolkit was written against; older engines are spoken to in theirs. */
export const NEWEST_API_VERSION = '1.47';
/** Below this, features the toolkit relies on (health start period, device requests) are missing. */
export const OLDEST_API_VERSION = '1.41';

export type EngineAddress = { socketPath: string } | { host: string; port: number; protocol: 'http' | 'https' };

/**
 * Parse `docker-host` (or `DOCKER_HOST`): `unix:///path`, `tcp://host:port`, or empty for the
 * default socket. `inputName` is named in the error.
 */
export function parseDockerHost(raw: string | undefined, inputName = 'docker-host'): EngineAddress {
  const text = raw?.trim();
  if (!text) return { socketPath: '/var/run/docker.sock' };
  if (text.startsWith('unix://')) {
    const socketPath = text.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw new InputError(inputName, `expected unix:///absolute/path, got ${quote(text)}`);
    return { socketPath };
  }
  const match = /^(tcp|http|https):\/\/([^/:]+|\[[^\]]+\]):(\d+)\/?$/.exec(text);
  if (match) {
    const port = Number(match[3]);
    if (port < 1 || port > 65535) throw new InputError(inputName, `port out of range in ${quote(text)}`);
    return { host: match[2]!.replace(/^\[|\]$/g, ''), port, protocol: match[1] === 'https' ? 'https' : 'http' };
  }
  throw new InputError(inputName, `expected unix:///path/to/docker.sock or tcp://host:port, got ${quote(text)}`);
}

export function describeAddress(address: EngineAddress): string {
  return 'socketPath' in address ? `unix://${address.socketPath}` : `${address.protocol}://${address.host}:${address.port}`;
}

function compareVersions(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am - bm || an - bn;
}

/** Pick the API version to speak: the engine's own, capped at the newest we know. */
export function chooseApiVersion(engineApi: string, engineMinApi: string | undefined): string {
  const chosen = compareVersions(engineApi, NEWEST_API_VERSION) > 0 ? NEWEST_API_VERSION : engineApi;
  if (compareVersions(chosen, OLDEST_API_VERSION) < 0) {
    throw new Error(`Docker Engine API ${engineApi} is older than ${OLDEST_API_VERSION}, the oldest this toolkit supports (Docker 20.10)`);
  }
  if (engineMinApi && compareVersions(chosen, engineMinApi) < 0) {
    throw new Error(`Docker Engine requires API ${engineMinApi} or newer; this toolkit speaks up to ${NEWEST_API_VERSION}`);
  }
  return chosen;
}

export async function connectEngine(dockerHost: string | undefined, inputName = 'docker-host'): Promise<Engine> {
  const address = parseDockerHost(dockerHost ?? process.env.DOCKER_HOST, dockerHost ? inputName : 'DOCKER_HOST');
  const endpoint = describeAddress(address);
  const probe = new Docker({ ...address, timeout: 10_000 });
  let version: Docker.DockerVersion & { MinAPIVersion?: string };
  try {
    version = await probe.version();
  } catch (error) {
    const reason = errorMessage(error);
    throw new ResourceError(`Docker Engine at ${endpoint}`, `not reachable (${reason})`);
  }
  const apiVersion = chooseApiVersion(version.ApiVersion, version.MinAPIVersion);
  return {
    docker: new Docker({ ...address, version: `v${apiVersion}` }),
    apiVersion,
    engineVersion: version.Version,
    endpoint,
  };
}
