import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, realpathSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../action-runner';
import { DOCKER, docker, ensureNodeBaseImage } from '../docker-cli';
import { waitFor } from '../ports';
import { ENGINE_WAIT_MS } from '../server-image';
import type { RouterInfo, ServiceInfo } from './runtime';

/**
 * Starting the Traefik stand-in (a separate process) from tests and scripts, and reading its
 * state through its Traefik-shaped API.
 *
 *   const traefik = await startTraefikStandIn({ network, constraints: 'Label(`test.run`, `abc`)' });
 *   await traefik.waitForServers('iris', ['http://172.20.0.5:8080']);
 *   fetch(`${traefik.webUrl}/predict`, { headers: { host: 'iris.example.com' }, ... });
 *   await traefik.stop();
 */
export interface TraefikStandInOptions {
  /**
   * Which provider: `docker` (labels on containers, engine events; the default) or `swarm` (v3's
   * `providers.swarm`: labels on services, polled). The options below are that provider's.
   */
  provider?: 'docker' | 'swarm' | 'file';
  /**
   * `providers.file`: a directory (watched, `watch` default true) or one file of dynamic
   * configuration, beside the provider above (or alone with `provider: 'file'`). A stand-in in a
   * container mounts the directory (or the file's directory) at the same path.
   */
  file?: { directory?: string; filename?: string; watch?: boolean };
  /** `providers.<provider>.network`: the default network for server URLs. */
  network?: string;
  /** `providers.<provider>.constraints`; use one to see only your own test's containers on a shared engine. */
  constraints?: string;
  /** `providers.<provider>.allowEmptyServices` (default true, as docs/traefik.md recommends). */
  allowEmptyServices?: boolean;
  /** `providers.<provider>.exposedByDefault` (default false, the safe setting). */
  exposedByDefault?: boolean;
  /** `providers.swarm.refreshSeconds` in ms (Traefik's default 15000; tests poll faster). */
  refreshMs?: number;
  /**
   * Run the stand-in in a container attached to this network, as Traefik runs in a swarm: a
   * Swarm task's address is on the swarm's overlay network, which the host cannot reach. The
   * container mounts the engine's socket and this checkout (read-only); its entry points are
   * published on loopback, so `webUrl` and `apiUrl` work as usual. With `address` (an engine
   * inside the test cluster, whose loopback this host cannot reach), they are published on every
   * interface of that engine's machine and reached at `address`.
   */
  container?: { network: string; address?: string };
  /** `providers.providersThrottleDuration` in ms (default 2000, Traefik's default). */
  throttleMs?: number;
  /** `providers.docker.endpoint`, e.g. unix:///var/run/docker.sock (default: DOCKER_HOST or the default socket). */
  dockerHost?: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** More Traefik flags, e.g. `--entryPoints.websecure.address=127.0.0.1:0`. */
  extraArgs?: string[];
  /**
   * Keep running after this process exits (for a demo that leaves things running). Its log then
   * goes to `logFile` (default: a file in the temp directory) instead of a pipe. Default false.
   */
  detached?: boolean;
  logFile?: string;
}

export interface TraefikStandIn {
  pid: number;
  /** The API, ping and metrics (`traefik` entry point), e.g. http://127.0.0.1:41234. */
  apiUrl: string;
  /** The `web` entry point that routes to the servers. */
  webUrl: string;
  /**
   * A stand-in in a container (`container` option): its API and `web` entry point as another
   * container on the same network reaches them (by container name), e.g. a runner container.
   */
  inNetwork?: { apiUrl: string; webUrl: string };
  /** Every entry point by name, as http URLs. */
  entryPoints: Record<string, string>;
  /** The stand-in's JSON log lines so far (from its log file when detached). */
  logs(): Record<string, unknown>[];
  /** Where a detached stand-in writes its log. */
  logFile: string | undefined;
  /** The provider the helpers below qualify unqualified names with (`@docker`, `@swarm` or `@file`). */
  provider: 'docker' | 'swarm' | 'file';
  /** `GET /api/http/services/<name>@<provider>` (or the name as given when it has an `@`), or undefined on 404. */
  service(name: string): Promise<ServiceInfo | undefined>;
  router(name: string): Promise<RouterInfo | undefined>;
  /** Server URLs Traefik routes to for a service right now ([] when the service is absent). */
  serverUrls(name: string): Promise<string[]>;
  /** Until the service's server URLs are exactly `urls` (in any order). */
  waitForServers(name: string, urls: string[], timeoutMs?: number): Promise<void>;
  /**
   * One request through the `web` entry point with a Host header (Node's fetch cannot set Host:
   * it always sends the URL's). A JSON `body` is sent as POST unless `method` says otherwise.
   */
  send(host: string, path?: string, options?: { method?: string; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; text: string; headers: Record<string, string | string[] | undefined> }>;
  /** `traefik_service_requests_total{service="<name>@<provider>"}` summed by status code. */
  requestCounts(name: string): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

const MAIN = join(dirname(fileURLToPath(import.meta.url)), 'main.ts');

/** The Traefik CLI flags equivalent to the options: the same flags start a real Traefik. */
export function traefikArgs(options: TraefikStandInOptions, addresses: { web: string; traefik: string } = { web: '127.0.0.1:0', traefik: '127.0.0.1:0' }): string[] {
  const provider = `--providers.${options.provider ?? 'docker'}`;
  const file = options.file;
  if (options.provider === 'file' && !file) throw new Error("provider 'file' needs the file option");
  const fileArgs = file ? [...(file.directory ? [`--providers.file.directory=${file.directory}`] : []), ...(file.filename ? [`--providers.file.filename=${file.filename}`] : []), `--providers.file.watch=${file.watch ?? true}`] : [];
  if (options.provider === 'file') {
    return [
      `--entryPoints.web.address=${addresses.web}`,
      `--entryPoints.traefik.address=${addresses.traefik}`,
      '--api.insecure=true',
      '--ping=true',
      '--metrics.prometheus=true',
      ...fileArgs,
      `--providers.providersThrottleDuration=${options.throttleMs ?? 2000}ms`,
      `--log.level=${(options.logLevel ?? 'info').toUpperCase()}`,
      ...(options.extraArgs ?? []),
    ];
  }
  return [
    `--entryPoints.web.address=${addresses.web}`,
    `--entryPoints.traefik.address=${addresses.traefik}`,
    '--api.insecure=true',
    '--ping=true',
    '--metrics.prometheus=true',
    `${provider}=true`,
    `${provider}.exposedByDefault=${options.exposedByDefault ?? false}`,
    `${provider}.allowEmptyServices=${options.allowEmptyServices ?? true}`,
    ...(options.network ? [`${provider}.network=${options.network}`] : []),
    ...(options.constraints ? [`${provider}.constraints=${options.constraints}`] : []),
    ...(options.dockerHost ? [`${provider}.endpoint=${options.dockerHost}`] : []),
    ...(options.provider === 'swarm' && options.refreshMs !== undefined ? [`${provider}.refreshSeconds=${options.refreshMs}ms`] : []),
    ...fileArgs,
    `--providers.providersThrottleDuration=${options.throttleMs ?? 2000}ms`,
    `--log.level=${(options.logLevel ?? 'info').toUpperCase()}`,
    ...(options.extraArgs ?? []),
  ];
}

/** Ports the entry points listen on inside a stand-in container. */
const CONTAINER_PORTS = { web: 8000, traefik: 8080 };

/** `docker run` arguments for a stand-in in a container on `network` (see TraefikStandInOptions.container). */
async function containerCommand(name: string, network: string, options: TraefikStandInOptions): Promise<string[]> {
  const image = await ensureNodeBaseImage();
  const modules = realpathSync(join(repoRoot, 'node_modules'));
  const fileMount = options.file?.directory ?? (options.file?.filename ? dirname(options.file.filename) : undefined);
  const socket = options.dockerHost?.startsWith('unix://') ? options.dockerHost.slice('unix://'.length) : '/var/run/docker.sock';
  const bind = options.container?.address ? '0.0.0.0' : '127.0.0.1';
  return [
    'run',
    '--rm',
    '-i',
    '--name',
    name,
    '--network',
    network,
    '--publish',
    `${bind}::${CONTAINER_PORTS.web}`,
    '--publish',
    `${bind}::${CONTAINER_PORTS.traefik}`,
    '--volume',
    `${socket}:/var/run/docker.sock`,
    '--volume',
    `${repoRoot}:${repoRoot}:ro`,
    '--workdir',
    repoRoot,
    ...(fileMount ? ['--volume', `${fileMount}:${fileMount}:ro`] : []),
    // A worktree whose node_modules is a link to another checkout's: mount that one too.
    ...(modules !== join(repoRoot, 'node_modules') ? ['--volume', `${modules}:${modules}:ro`] : []),
    '--env',
    'TRAEFIK_STANDIN_EXIT_WITH_PARENT=1',
    '--label',
    'train-to-serve.test-support=traefik-stand-in',
    image,
    'node',
    '--import',
    'tsx',
    MAIN,
    ...traefikArgs({ ...options, dockerHost: undefined }, { web: `0.0.0.0:${CONTAINER_PORTS.web}`, traefik: `0.0.0.0:${CONTAINER_PORTS.traefik}` }),
  ];
}

export async function startTraefikStandIn(options: TraefikStandInOptions = {}): Promise<TraefikStandIn> {
  const logFile = options.detached ? (options.logFile ?? join(mkdtempSync(join(tmpdir(), 'traefik-stand-in-')), 'traefik.log')) : undefined;
  const logFd = logFile ? openSync(logFile, 'a') : undefined;
  const provider = options.provider ?? 'docker';
  if (options.container && options.detached) throw new Error('a stand-in in a container cannot be detached');
  const containerName = options.container ? `tts-traefik-standin-${process.pid}-${Date.now().toString(36)}` : undefined;
  const [command, args] = options.container ? [DOCKER, await containerCommand(containerName!, options.container.network, options)] : [process.execPath, ['--import', 'tsx', MAIN, ...traefikArgs(options)]];
  const child: ChildProcess = spawn(command, args, {
    env: { ...process.env, ...(options.detached ? {} : { TRAEFIK_STANDIN_EXIT_WITH_PARENT: '1' }) },
    stdio: logFd !== undefined ? ['ignore', logFd, logFd] : ['pipe', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  if (logFd !== undefined) closeSync(logFd);
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  let buffered = '';
  let exit: number | null | undefined;
  child.on('exit', (code) => (exit = code));
  const take = (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const line of parts) {
      try {
        if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ level: 'info', msg: line });
      }
    }
  };
  child.stdout?.setEncoding('utf8').on('data', take);
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let readFrom = 0;
  const readLogFile = () => {
    if (!logFile) return;
    const text = readFileSync(logFile, 'utf8');
    take(text.slice(readFrom));
    readFrom = text.length;
    stderr = text;
  };

  await waitFor(
    'the Traefik stand-in to be ready',
    async () => {
      readLogFile();
      if (exit !== undefined) throw new Error(`the Traefik stand-in exited with ${exit}: ${stderr.trim()}`);
      return lines.some((line) => line.msg === 'ready');
    },
    // Generous: on a saturated machine, starting node with tsx alone can take tens of seconds.
    90_000,
    50,
  ).catch(async (error: Error) => {
    child.kill('SIGKILL');
    if (containerName) await docker(['rm', '-f', containerName]).catch(() => {});
    throw error;
  });
  if (options.detached) child.unref();
  const ready = lines.find((line) => line.msg === 'ready') as { entryPoints: Record<string, string> };
  const published = async (address: string): Promise<string> => {
    if (!containerName) return address;
    const port = Number(address.slice(address.lastIndexOf(':') + 1));
    const published = (await docker(['port', containerName, `${port}/tcp`])).trim().split('\n')[0]!;
    return options.container?.address ? `${options.container.address}:${published.slice(published.lastIndexOf(':') + 1)}` : published;
  };
  const entryPoints = Object.fromEntries(await Promise.all(Object.entries(ready.entryPoints).map(async ([name, address]) => [name, `http://${await published(address)}`] as const)));
  const apiUrl = entryPoints.traefik!;

  const api = async <T>(path: string): Promise<T | undefined> => {
    const response = await fetch(`${apiUrl}${path}`);
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };
  const qualified = (name: string) => (name.includes('@') ? name : `${name}@${provider}`);
  const service = (name: string) => api<ServiceInfo>(`/api/http/services/${encodeURIComponent(qualified(name))}`);
  const serverUrls = async (name: string) => ((await service(name))?.loadBalancer?.servers ?? []).map((server) => server.url).sort();

  return {
    pid: child.pid!,
    provider,
    apiUrl,
    webUrl: entryPoints.web!,
    ...(containerName ? { inNetwork: { apiUrl: `http://${containerName}:${CONTAINER_PORTS.traefik}`, webUrl: `http://${containerName}:${CONTAINER_PORTS.web}` } } : {}),
    entryPoints,
    logs: () => {
      readLogFile();
      return lines;
    },
    logFile,
    service,
    router: (name) => api<RouterInfo>(`/api/http/routers/${encodeURIComponent(qualified(name))}`),
    serverUrls,
    async waitForServers(name, urls, timeoutMs = ENGINE_WAIT_MS) {
      const wanted = [...urls].sort();
      let last: string[] = [];
      await waitFor(
        `stand-in service ${qualified(name)} to list ${JSON.stringify(wanted)}`,
        async () => {
          last = await serverUrls(name);
          return JSON.stringify(last) === JSON.stringify(wanted);
        },
        timeoutMs,
        50,
      ).catch((error: Error) => {
        throw new Error(`${error.message} (last seen ${JSON.stringify(last)})`);
      });
    },
    send(hostname, path = '/', options = {}) {
      const body = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      const method = options.method ?? (body === undefined ? 'GET' : 'POST');
      return new Promise((resolve, reject) => {
        const req = httpRequest(
          new URL(path, entryPoints.web),
          { method, headers: { host: hostname, ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}), ...options.headers } },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (text += chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    },
    async requestCounts(name) {
      const text = await (await fetch(`${apiUrl}/metrics`)).text();
      const counts: Record<string, number> = {};
      for (const line of text.split('\n')) {
        const match = /^traefik_service_requests_total\{(.*)\} (\S+)$/.exec(line);
        if (!match || !match[1]!.includes(`service="${qualified(name)}"`)) continue;
        const code = /code="(\d+)"/.exec(match[1]!)![1]!;
        counts[code] = (counts[code] ?? 0) + Number(match[2]);
      }
      return counts;
    },
    async stop() {
      if (exit === undefined) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        // A stand-in in a container: `docker run` passes the signal on to it.
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      if (containerName) await docker(['rm', '-f', containerName]).catch(() => {});
    },
  };
}
