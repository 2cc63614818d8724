import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { join } from 'node:path';
import { readRoutingState } from '../../src/traefik/routing-file';
import { docker, pushByDigest, removeNetwork } from './docker-cli';
import { buildPlainServer, type PlainServerBehaviour } from './plain-server';
import { startRegistry, type RegistryOptions, type TestRegistry } from './registry';
import { startTraefikStandIn, type TraefikStandIn } from './traefik';

/**
 * The test bed of `routing: file` suites: a real registry, a network of their own, and the Traefik
 * stand-in running the Docker provider (constrained to this run's services) beside a watched file
 * provider directory; plain-server images (test/support/plain-server.ts) pushed by digest.
 */
export interface FileRoutingNames {
  /** Container and service names of this run start with it. */
  prefix: string;
  network: string;
  /** The routing-dir the file provider watches. */
  routingDir: string;
}

export interface FileRoutingBed {
  names: FileRoutingNames;
  registry: TestRegistry;
  traefik: TraefikStandIn;
  /** name → `<registry>/acme/plain-<run>@sha256:…` */
  images: Record<string, string>;
}

/** Names for one run; known before the bed starts, so module-level inputs can use them. */
export function fileRoutingNames(tag: string): FileRoutingNames {
  const run = randomBytes(3).toString('hex');
  const routingDir = mkdtempSync(join(tmpdir(), `tts-${tag}-dir-`));
  chmodSync(routingDir, 0o755);
  return { prefix: `tts${tag.slice(0, 1)}${run}`, network: `tts-${tag}-${run}`, routingDir };
}

export async function startFileRoutingBed(names: FileRoutingNames, registryOptions: RegistryOptions = {}): Promise<FileRoutingBed> {
  const registry = await startRegistry(registryOptions);
  await docker(['network', 'create', names.network]);
  const traefik = await startTraefikStandIn({ network: names.network, constraints: `LabelRegex(\`train-to-serve.service\`, \`^${names.prefix}\`)`, file: { directory: names.routingDir } });
  return { names, registry, traefik, images: {} };
}

/**
 * deploy's inputs for `service` on the bed: its Host rule, network and Traefik API, with waits
 * sized for a loaded machine. `file` adds `routing: file` on the bed's routing-dir, judged ready
 * by the plain server's `/ready`.
 */
export function bedDeployInputs(bed: FileRoutingBed, service: string, image: string, file = true): Record<string, string> {
  return {
    image,
    service,
    rule: `Host(\`${service}.test\`)`,
    network: bed.names.network,
    'traefik-api': bed.traefik.apiUrl,
    'health-timeout': '60s',
    'drain-timeout': '20s',
    ...(file ? { routing: 'file', 'routing-dir': bed.names.routingDir, 'health-path': '/ready' } : {}),
  };
}

/** Build the plain server as version `name` with `behaviour`, push it, keep its digest reference in bed.images. */
export async function publishPlain(bed: FileRoutingBed, name: string, behaviour: PlainServerBehaviour = {}): Promise<string> {
  const local = await buildPlainServer(`localhost/${bed.names.network}/plain:${name}`, name, behaviour);
  const pushed = await pushImage(bed, local, name);
  await docker(['rmi', local]);
  return pushed;
}

/** Push a local image to the bed's registry as `<network>:<name>`; its digest reference lands in bed.images. */
export async function pushImage(bed: FileRoutingBed, local: string, name: string): Promise<string> {
  const { registry, names } = bed;
  if (registry.auth !== 'none') await docker(['login', '-u', registry.username, '--password-stdin', registry.host], { input: registry.password });
  try {
    bed.images[name] = await pushByDigest(local, `${registry.host}/acme/${names.network}`, name);
  } finally {
    if (registry.auth !== 'none') await docker(['logout', registry.host]);
  }
  return bed.images[name];
}

/** Remove what the run created: its containers, the stand-in, the network, the registry, the images. */
export async function stopFileRoutingBed(bed: FileRoutingBed | undefined, names: FileRoutingNames): Promise<void> {
  const mine = (await docker(['ps', '-aq', '--filter', `name=${names.prefix}`]).catch(() => '')).split('\n').filter(Boolean);
  if (mine.length > 0) await docker(['rm', '-f', '-v', ...mine]).catch(() => {});
  await bed?.traefik.stop();
  await removeNetwork(names.network);
  await bed?.registry.stop();
  if (bed && Object.keys(bed.images).length > 0) await docker(['rmi', ...Object.values(bed.images)]).catch(() => {});
}

/**
 * One prediction through a Traefik entry point (`webUrl`) for `<service>.test`: the status and the
 * plain server's version (undefined when the answer is not the server's JSON). `headers`, e.g.
 * `X-Model-Version`, to call one version through its pinned router.
 */
export function predictVersion(webUrl: string, service: string, headers: Record<string, string> = {}): Promise<{ status: number; version?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${webUrl}/predict`, { method: 'POST', headers: { host: `${service}.test`, ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        let version: string | undefined;
        try {
          version = (JSON.parse(text) as { model?: { version?: string } }).model?.version;
        } catch {
          // not the server's JSON
        }
        resolve({ status: res.statusCode ?? 0, version });
      });
    });
    req.on('error', reject);
    req.end('{}');
  });
}

type RoutingState = NonNullable<Awaited<ReturnType<typeof readRoutingState>>>;

/**
 * Reads a service's routing file every 50 ms until stopped, and keeps a line for each reading
 * that is unreadable or that `flaw` finds wrong (its text); `stop()` gives them all.
 */
export function watchRoutingFile(routingDir: string, service: string, flaw: (state: RoutingState) => string | undefined): { stop(): Promise<string[]> } {
  const found: string[] = [];
  let watching = true;
  const loop = (async () => {
    while (watching) {
      const state = await readRoutingState(join(routingDir, `${service}.yml`)).catch((error: Error) => {
        found.push(`unreadable: ${error.message}`);
        return undefined;
      });
      const problem = state && flaw(state);
      if (problem) found.push(`${problem}: ${JSON.stringify(state)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    async stop() {
      watching = false;
      await loop;
      return found;
    },
  };
}
