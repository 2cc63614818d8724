import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ResourceError } from '../inputs/errors';
import type { Credentials } from './auth';

/**
 * The credentials `docker login` (and docker/login-action) left for a registry, found as the
 * Docker CLI finds them: `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`); a
 * registry named in `credHelpers` asks `docker-credential-<helper>`, else a `credsStore` asks its
 * helper, else the `auths` entry (`auth` is base64 of `user:password`). A helper is run as
 * `docker-credential-<name> get` with the server address on stdin and answers
 * `{"ServerURL","Username","Secret"}` on stdout; "credentials not found" means none.
 */

export interface DockerConfigSource {
  env: NodeJS.ProcessEnv;
  /** Most a helper may take before it is given up on. */
  helperTimeoutMs?: number;
}

export interface DockerLogin extends Credentials {
  /** Where they came from, for messages: `~/.docker/config.json` or `docker-credential-pass`. */
  from: string;
}

interface ConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

export function dockerConfigPath(env: NodeJS.ProcessEnv): string {
  return join(env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker'), 'config.json');
}

/** The key Docker files a registry's credentials under: Docker Hub's URL, else the host as written. */
export function dockerServerAddress(registry: string): string {
  return registry === 'docker.io' || registry === 'index.docker.io' || registry === 'registry-1.docker.io' ? DOCKER_HUB_KEY : registry;
}

/** `https://ghcr.io/v2/` -> `ghcr.io`, as the Docker CLI compares keys. */
function hostOf(key: string): string {
  return key
    .replace(/^https?:\/\//, '')
    .split('/')[0]!
    .toLowerCase();
}

async function readConfig(path: string): Promise<ConfigFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ResourceError(`Docker config "${path}"`, `cannot be read: ${(error as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed;
  } catch (error) {
    throw new ResourceError(`Docker config "${path}"`, `is not valid JSON (${(error as Error).message})`);
  }
}

function helperName(name: unknown, path: string): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new ResourceError(`Docker config "${path}"`, `names the credential helper ${JSON.stringify(name)}, which is not a helper name`);
  }
  return name;
}

function runHelper(helper: string, serverAddress: string, source: DockerConfigSource): Promise<DockerLogin | undefined> {
  const program = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    const child = execFile(program, ['get'], { env: source.env, timeout: source.helperTimeoutMs ?? 30_000, maxBuffer: 1 << 20 }, (error, stdout) => {
      if (error) {
        if (/credentials not found/i.test(stdout)) return resolve(undefined);
        const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'is not on PATH' : error.killed ? 'did not answer in time' : `failed (${stdout.trim().split('\n')[0]?.slice(0, 200) || `exit ${String(error.code)}`})`;
        return reject(new ResourceError(`Docker credential helper ${program}`, `${why}, asked for ${serverAddress}`));
      }
      let answer: { Username?: unknown; Secret?: unknown };
      try {
        answer = JSON.parse(stdout) as { Username?: unknown; Secret?: unknown };
      } catch {
        return reject(new ResourceError(`Docker credential helper ${program}`, `answered something that is not JSON, asked for ${serverAddress}`));
      }
      if (typeof answer.Username !== 'string' || typeof answer.Secret !== 'string' || answer.Secret === '') return resolve(undefined);
      if (answer.Username === '<token>') {
        return reject(new ResourceError(`Docker credential helper ${program}`, `holds an identity token for ${serverAddress}, which this toolkit does not exchange: give registry-username and registry-password`));
      }
      resolve({ username: answer.Username, password: answer.Secret, from: program });
    });
    // A helper that exits without reading its stdin (a missing program, a crash) closes the pipe:
    // the exit reports that, so the EPIPE here is not an error of its own.
    child.stdin?.on('error', () => {});
    child.stdin?.end(serverAddress);
  });
}

/** The `docker login` credentials for `registry`, or undefined when Docker has none. */
export async function dockerLogin(registry: string, source: DockerConfigSource): Promise<DockerLogin | undefined> {
  const path = dockerConfigPath(source.env);
  const config = await readConfig(path);
  if (!config) return undefined;
  const address = dockerServerAddress(registry);
  const host = hostOf(address);

  const helperEntry = Object.entries(config.credHelpers ?? {}).find(([key]) => key === address || hostOf(key) === host);
  if (helperEntry) return runHelper(helperName(helperEntry[1], path), address, source);
  if (config.credsStore !== undefined && config.credsStore !== '') return runHelper(helperName(config.credsStore, path), address, source);

  const auths = config.auths ?? {};
  const entry = auths[address] ?? Object.entries(auths).find(([key]) => hostOf(key) === host)?.[1];
  if (!entry) return undefined;
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new ResourceError(`Docker config "${path}"`, `its auths entry for ${address} is not base64 of user:password`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), from: path };
  }
  if (typeof entry.username === 'string' && typeof entry.password === 'string' && entry.password !== '') return { username: entry.username, password: entry.password, from: path };
  if (entry.identitytoken) {
    throw new ResourceError(`Docker config "${path}"`, `holds an identity token for ${address}, which this toolkit does not exchange: give registry-username and registry-password`);
  }
  return undefined;
}
