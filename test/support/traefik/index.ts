import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
  /** `providers.docker.network`: the default network for server URLs. */
  network?: string;
  /** `providers.docker.constraints`; use one to see only your own test's containers on a shared engine. */
  constraints?: string;
  /** `providers.docker.allowEmptyServices` (default true, as TRAEFIK.md recommends). */
  allowEmptyServices?: boolean;
  /** `providers.docker.exposedByDefault` (default false, the safe setting). */
  exposedByDefault?: boolean;
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
  /** Every entry point by name, as http URLs. */
  entryPoints: Record<string, string>;
  /** The stand-in's JSON log lines so far (from its log file when detached). */
  logs(): Record<string, unknown>[];
  /** Where a detached stand-in writes its log. */
  logFile: string | undefined;
  /** `GET /api/http/services/<name>@docker`, or undefined on 404. */
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
  /** `traefik_service_requests_total{service="<name>@docker"}` summed by status code. */
  requestCounts(name: string): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

const MAIN = join(dirname(fileURLToPath(import.meta.url)), 'main.ts');

/** The Traefik CLI flags equivalent to the options: the same flags start a real Traefik. */
export function traefikArgs(options: TraefikStandInOptions, addresses: { web: string; traefik: string } = { web: '127.0.0.1:0', traefik: '127.0.0.1:0' }): string[] {
  return [
    `--entryPoints.web.address=${addresses.web}`,
    `--entryPoints.traefik.address=${addresses.traefik}`,
    '--api.insecure=true',
    '--ping=true',
    '--metrics.prometheus=true',
    '--providers.docker=true',
    `--providers.docker.exposedByDefault=${options.exposedByDefault ?? false}`,
    `--providers.docker.allowEmptyServices=${options.allowEmptyServices ?? true}`,
    ...(options.network ? [`--providers.docker.network=${options.network}`] : []),
    ...(options.constraints ? [`--providers.docker.constraints=${options.constraints}`] : []),
    ...(options.dockerHost ? [`--providers.docker.endpoint=${options.dockerHost}`] : []),
    `--providers.providersThrottleDuration=${options.throttleMs ?? 2000}ms`,
    `--log.level=${(options.logLevel ?? 'info').toUpperCase()}`,
    ...(options.extraArgs ?? []),
  ];
}

export async function startTraefikStandIn(options: TraefikStandInOptions = {}): Promise<TraefikStandIn> {
  const logFile = options.detached ? (options.logFile ?? join(mkdtempSync(join(tmpdir(), 'traefik-stand-in-')), 'traefik.log')) : undefined;
  const logFd = logFile ? openSync(logFile, 'a') : undefined;
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', MAIN, ...traefikArgs(options)], {
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
    30_000,
    50,
  ).catch((error: Error) => {
    child.kill('SIGKILL');
    throw error;
  });
  if (options.detached) child.unref();
  const ready = lines.find((line) => line.msg === 'ready') as { entryPoints: Record<string, string> };
  const entryPoints = Object.fromEntries(Object.entries(ready.entryPoints).map(([name, address]) => [name, `http://${address}`]));
  const apiUrl = entryPoints.traefik!;

  const api = async <T>(path: string): Promise<T | undefined> => {
    const response = await fetch(`${apiUrl}${path}`);
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };
  const service = (name: string) => api<ServiceInfo>(`/api/http/services/${encodeURIComponent(`${name}@docker`)}`);
  const serverUrls = async (name: string) => ((await service(name))?.loadBalancer.servers ?? []).map((server) => server.url).sort();

  return {
    pid: child.pid!,
    apiUrl,
    webUrl: entryPoints.web!,
    entryPoints,
    logs: () => {
      readLogFile();
      return lines;
    },
    logFile,
    service,
    router: (name) => api<RouterInfo>(`/api/http/routers/${encodeURIComponent(`${name}@docker`)}`),
    serverUrls,
    async waitForServers(name, urls, timeoutMs = ENGINE_WAIT_MS) {
      const wanted = [...urls].sort();
      let last: string[] = [];
      await waitFor(
        `stand-in service ${name}@docker to list ${JSON.stringify(wanted)}`,
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
        const req = httpRequest(new URL(path, entryPoints.web!), { method, headers: { host: hostname, ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}), ...options.headers } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
      });
    },
    async requestCounts(name) {
      const text = await (await fetch(`${apiUrl}/metrics`)).text();
      const counts: Record<string, number> = {};
      for (const line of text.split('\n')) {
        const match = /^traefik_service_requests_total\{(.*)\} (\S+)$/.exec(line);
        if (!match || !match[1]!.includes(`service="${name}@docker"`)) continue;
        const code = /code="(\d+)"/.exec(match[1]!)![1]!;
        counts[code] = (counts[code] ?? 0) + Number(match[2]);
      }
      return counts;
    },
    async stop() {
      if (exit !== undefined) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
