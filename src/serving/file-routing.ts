import { InputError, ResourceError, quote } from '../inputs/errors';
import { formatDuration } from '../inputs/parse';
import { TraefikApi } from '../traefik/api';
import { readServiceFigures } from '../traefik/metrics';
import { waitForIdle } from './idle';
import { readRoutingState, routingDirProblem, routingFilePath, writeRoutingFile, RoutingFileError, type Backend } from '../traefik/routing-file';
import type { DeploySpec } from './deploy-spec';
import type { Log, ServingEngine } from './engine';
import { shortDigest, versionServiceName, type RoutingSettings } from './labels';
import { isServing, newestFirst, type ManagedServer } from './server';

/**
 * Without Traefik's API to confirm, how long to give Traefik to apply a routing file: its provider
 * throttle (providers.providersThrottleDuration) is 2 s by default, plus a margin for the watcher.
 */
export const FILE_SETTLE_MS = 3000;

export interface RoutingState {
  backends: Backend[];
  /** version (12 hex) → ISO time until which it is kept for a rollback. */
  kept: Record<string, string>;
  /** Shadow traffic to a version (src/rollout). */
  mirror?: { service: string; percent: number };
  /** A canary or shadow in progress (src/rollout/rollout.ts Progress). */
  rollout?: unknown;
}

/**
 * The routing table of one service under `routing: file`, and what deploy and retire do with it:
 * read it, publish new weights and wait until Traefik applied them, wait until a withdrawn
 * version has no request in flight.
 */
export class FileRouting {
  readonly path: string;
  private readonly api?: TraefikApi;

  constructor(
    readonly routing: RoutingSettings,
    readonly dir: string,
    readonly provider: 'docker' | 'swarm',
    readonly traefikApi?: string,
  ) {
    this.path = routingFilePath(dir, routing.service);
    this.api = traefikApi ? new TraefikApi(traefikApi, provider) : undefined;
  }

  /** `iris-3f2a9c1b7d4e@docker`: how the weighted service names a version. */
  ref(digest: string): string {
    return `${versionServiceName(this.routing.service, digest)}@${this.provider}`;
  }

  async read(): Promise<RoutingState> {
    try {
      return (await readRoutingState(this.path)) ?? { backends: [], kept: {} };
    } catch (error) {
      throw new ResourceError(`Routing file ${this.path}`, `cannot be read (${(error as Error).message})`);
    }
  }

  /**
   * Write the table (validated first, written atomically) and wait until Traefik serves exactly
   * these weights. When Traefik does not apply it, the previous table is written back.
   */
  async publish(state: RoutingState, log: Log, timeoutMs: number): Promise<number> {
    const before = await this.read();
    const started = Date.now();
    await this.write(state);
    const weighted = state.backends.filter((backend) => backend.weight > 0).map((backend) => ({ name: backend.service, weight: backend.weight }));
    if (this.api) {
      const applied = await this.api.waitForWeights(`${this.routing.service}${state.mirror ? '-weighted' : ''}@file`, weighted, timeoutMs);
      if (!applied) {
        if (before.backends.some((backend) => backend.weight > 0)) await this.write(before).catch(() => {});
        throw new ResourceError(
          `Routing file ${this.path}`,
          `Traefik (${this.traefikApi}) did not serve ${this.routing.service}@file with ${weighted.map((w) => w.name).join(', ')} within ${formatDuration(timeoutMs)} (does its file provider watch ${this.dir}?); the previous table was written back`,
        );
      }
    } else {
      await new Promise((resolve) => setTimeout(resolve, FILE_SETTLE_MS));
    }
    const ms = Date.now() - started;
    log.info(
      `Routing ${this.routing.service}: ${weighted.map((w) => `${w.name} (weight ${w.weight})`).join(', ')}; ${this.api ? `Traefik applied it after ${formatDuration(ms)}` : `gave Traefik ${formatDuration(FILE_SETTLE_MS)} to apply it (no traefik-api to confirm)`}`,
    );
    return ms;
  }

  private async write(state: RoutingState): Promise<void> {
    const { service, rule, entrypoints } = this.routing;
    try {
      await writeRoutingFile(this.dir, { service, rule, entrypoints, backends: state.backends, kept: state.kept, mirror: state.mirror, rollout: state.rollout });
    } catch (error) {
      if (error instanceof RoutingFileError) throw new InputError('rule', error.message);
      throw new ResourceError(`Routing file ${this.path}`, `cannot be written (${(error as Error).message})`);
    }
  }

  /**
   * Wait until no request is in flight to a withdrawn version. The first figure that exists wins:
   * Traefik v2's open connections for the version's service, else the server's own in-flight
   * gauge, else (Traefik v3 has no per-service gauge) Traefik's or the server's request counter
   * standing still (waitForIdle).
   */
  async waitIdle(engine: ServingEngine, server: ManagedServer, timeoutMs: number): Promise<boolean> {
    return waitForIdle(async () => {
      const traefik = this.traefikApi ? await readServiceFigures(`${this.traefikApi}/metrics`, this.ref(server.digest)) : undefined;
      if (traefik?.open !== undefined) return { inFlight: traefik.open };
      const own = await engine.readRequests(server);
      if (own.readable && own.inFlight !== undefined) return { inFlight: own.inFlight };
      return { requests: traefik?.requests ?? (own.readable ? own.requests : undefined) };
    }, timeoutMs);
  }
}

/** Check the routing directory and that Traefik reads it, before anything changes. */
export async function checkFileRouting(dir: string, traefikApi: string | undefined): Promise<void> {
  const problem = await routingDirProblem(dir);
  if (problem) throw new InputError('routing-dir', problem);
  if (traefikApi) {
    const providers = await new TraefikApi(traefikApi).providers();
    if (!providers.some((name) => name.toLowerCase() === 'file')) {
      throw new InputError('routing-dir', `Traefik at ${traefikApi} runs no file provider (its providers: ${providers.join(', ') || 'none'}): add providers.file.directory=${dir} with watch: true to its static configuration`);
    }
  }
}

/** The file routing of a deploy, or undefined under label routing. */
export function fileRoutingOf(spec: DeploySpec, provider: 'docker' | 'swarm'): FileRouting | undefined {
  return spec.routingChoice.mode === 'file' ? new FileRouting(spec.routing, spec.routingChoice.dir!, provider, spec.traefikApi) : undefined;
}

/**
 * Which servers a kept version protects from a deploy's drain, which kept versions have expired,
 * and the kept versions that stay. The wanted digest is never "kept": it serves.
 */
export function splitKept(existing: readonly ManagedServer[], state: RoutingState, wanted: string, now: Date): { kept: ManagedServer[]; expired: ManagedServer[]; keptUntil: Record<string, string> } {
  const keptUntil: Record<string, string> = {};
  const kept: ManagedServer[] = [];
  const expired: ManagedServer[] = [];
  for (const server of existing) {
    const version = shortDigest(server.digest);
    const until = state.kept[version];
    if (!until || server.digest === wanted) continue;
    if (new Date(until).getTime() > now.getTime()) {
      kept.push(server);
      keptUntil[version] = until;
    } else {
      expired.push(server);
    }
  }
  return { kept, expired, keptUntil };
}

/** rollback: the newest kept version that still serves, or an InputError saying why there is none. */
export function rollbackTarget(existing: readonly ManagedServer[], state: RoutingState, now: Date): ManagedServer {
  const candidates = newestFirst(existing.filter((server) => isServing(server) && new Date(state.kept[shortDigest(server.digest)] ?? 0).getTime() > now.getTime()));
  const target = candidates[0];
  if (!target) {
    const versions = Object.keys(state.kept);
    throw new InputError('rollback', versions.length > 0 ? `no kept version still serves (kept: ${versions.map((v) => quote(v)).join(', ')})` : 'no previous version is kept: deploy with keep-previous to keep one for a rollback');
  }
  return target;
}
