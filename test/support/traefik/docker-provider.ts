import type Docker from 'dockerode';
import { connectEngine } from '../../../src/engine/connection';
import { buildDockerConfiguration, type BuildResult, type ContainerFacts, type DockerProviderOptions } from './docker-config';
import { parseTraefikBool } from './labels';

/**
 * Traefik's Docker provider, live: on start, and on every container event `start`, `die` or
 * `health_status: …` (never `kill`, `stop`, `create`, ...), it lists the containers, inspects
 * them and rebuilds the whole configuration, which goes to the provider throttle. Lost event
 * streams are reopened (with a full rebuild), as Traefik's provider retries with backoff.
 */
export const WATCHED_ACTIONS = (action: string) => action === 'start' || action === 'die' || action.startsWith('health_status');

export interface ProviderEvents {
  configuration(result: BuildResult, trigger: string): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
}

export interface RunningProvider {
  stop(): void;
}

interface InspectInfo {
  Id: string;
  Name: string;
  State?: { Status?: string; Health?: { Status?: string } };
  Config?: { Labels?: Record<string, string> | null };
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string; GlobalIPv6Address?: string }> | null; Ports?: Record<string, unknown> | null };
}

export function containerFacts(info: InspectInfo): ContainerFacts {
  return {
    id: info.Id,
    name: info.Name,
    state: info.State?.Status ?? '',
    health: info.State?.Health?.Status ?? '',
    labels: info.Config?.Labels ?? {},
    networks: Object.fromEntries(Object.entries(info.NetworkSettings?.Networks ?? {}).map(([name, network]) => [name, network.IPAddress || network.GlobalIPv6Address || ''])),
    ports: Object.keys(info.NetworkSettings?.Ports ?? {}),
  };
}

async function listContainers(docker: Docker, options: DockerProviderOptions): Promise<ContainerFacts[]> {
  const summaries = await docker.listContainers({ all: true });
  // Inspecting only running containers Traefik would enable gives the same result with fewer calls.
  const candidates = summaries.filter((summary) => {
    if (summary.State !== 'running') return false;
    try {
      return parseTraefikBool(summary.Labels?.['traefik.enable'], 'traefik.enable', options.exposedByDefault);
    } catch {
      return true;
    }
  });
  const inspected = await Promise.all(
    candidates.map((summary) =>
      docker
        .getContainer(summary.Id)
        .inspect()
        .then((info) => containerFacts(info as unknown as InspectInfo))
        .catch(() => undefined),
    ),
  );
  return inspected.filter((facts): facts is ContainerFacts => facts !== undefined);
}

export async function startDockerProvider(endpoint: string | undefined, options: DockerProviderOptions & { watch: boolean }, events: ProviderEvents): Promise<RunningProvider> {
  const engine = await connectEngine(endpoint, 'providers.docker.endpoint');
  events.log('info', `Provider connection established with docker ${engine.engineVersion} (API ${engine.apiVersion})`, { providerName: 'docker' });
  let stopped = false;
  let building = false;
  let again: string | undefined;
  let stream: NodeJS.ReadableStream | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;

  const rebuild = async (trigger: string): Promise<void> => {
    if (building) {
      again = trigger;
      return;
    }
    building = true;
    try {
      const containers = await listContainers(engine.docker, options);
      if (!stopped) events.configuration(buildDockerConfiguration(containers, options), trigger);
    } catch (error) {
      events.log('error', `Failed to list containers for docker: ${(error as Error).message}`, { providerName: 'docker' });
    } finally {
      building = false;
      if (again !== undefined && !stopped) {
        const next = again;
        again = undefined;
        void rebuild(next);
      }
    }
  };

  const watch = async (): Promise<void> => {
    if (stopped) return;
    try {
      stream = await engine.docker.getEvents({ filters: { type: ['container'] } });
    } catch (error) {
      events.log('error', `Provider error, retrying in 1s: ${(error as Error).message}`, { providerName: 'docker' });
      retry = setTimeout(() => void watch(), 1000);
      return;
    }
    let buffered = '';
    stream.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (!line) continue;
        let event: { Action?: string; status?: string; Actor?: { Attributes?: { name?: string } } };
        try {
          event = JSON.parse(line) as typeof event;
        } catch {
          continue;
        }
        const action = event.Action ?? event.status ?? '';
        if (WATCHED_ACTIONS(action)) void rebuild(`${action} ${event.Actor?.Attributes?.name ?? ''}`.trim());
      }
    });
    const reopen = () => {
      if (stopped) return;
      events.log('warn', 'Provider event stream closed, reconnecting', { providerName: 'docker' });
      retry = setTimeout(() => {
        void rebuild('reconnect');
        void watch();
      }, 1000);
    };
    stream.once('end', reopen);
    stream.once('error', reopen);
  };

  // Watching before the first listing, so no event between the two is missed.
  if (options.watch) await watch();
  await rebuild('start');

  return {
    stop() {
      stopped = true;
      if (retry) clearTimeout(retry);
      (stream as unknown as { destroy?: () => void } | undefined)?.destroy?.();
    },
  };
}
