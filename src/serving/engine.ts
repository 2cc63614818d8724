import type { DeploySpec, EngineKind } from './deploy-spec';
import type { ManagedServer } from './server';

/**
 * What deploy and retire need from the thing that runs servers. `src/engine/docker-engine.ts` implements it
 * for the Docker Engine; a Swarm implementation goes beside it and is picked by `engine: swarm`
 * (see src/engine/select.ts). Decisions (src/serving/*-plan.ts) stay engine-independent.
 */
export interface ServingEngine {
  readonly kind: EngineKind;
  /** Where the engine was reached, for messages. */
  readonly endpoint: string;

  /**
   * Check every resource a deploy needs (network, GPU runtime, Traefik's API) without changing
   * anything; throw an InputError/ResourceError naming the one at fault.
   */
  checkDeploy(spec: DeploySpec): Promise<void>;

  /**
   * Start the new servers beside the old, wait until they serve (and, with `traefikApi`, until
   * Traefik lists them UP), then under `replace` drain and remove the older servers. On failure of
   * a new server: remove every new server, leave the old ones serving, throw a DeployError whose
   * message carries the failed server's last log lines.
   */
  deploy(spec: DeploySpec, log: Log): Promise<DeployResult>;

  /** Every server labelled `train-to-serve.managed` (of one service when given). */
  listServers(service?: string): Promise<ManagedServer[]>;

  /** Read a server's request counter and in-flight gauge from its own metrics. */
  readRequests(server: ManagedServer): Promise<RequestCount>;

  /**
   * Take the service's deploy lock without waiting. Undefined: a deploy holds it right now (a lock
   * whose holder is gone is taken over).
   */
  tryLockService(service: string, log: Log): Promise<ServiceLock | undefined>;

  /** The drain protocol (TRAEFIK.md), then remove. A server that is already gone is `vanished`, not an error. */
  drainAndRemove(server: ManagedServer, options: DrainOptions, log: Log): Promise<RemovalReport>;

  /**
   * Remove images of the toolkit's servers that no container uses any more: the images of the
   * retired servers, and images of the repositories the `seen` servers came from.
   */
  pruneImages(seen: readonly ManagedServer[], retired: readonly ManagedServer[], log: Log): Promise<PrunedImage[]>;

  close(): Promise<void>;
}

export interface Log {
  info(message: string): void;
  warning(message: string): void;
}

export const silentLog: Log = { info: () => {}, warning: () => {} };

export type RequestCount = { readable: true; requests: number; inFlight?: number } | { readable: false; problem: string };

export interface ServiceLock {
  release(): Promise<void>;
}

export interface DrainOptions {
  drainTimeoutMs: number;
  /** Traefik's API: when given, wait until the server's URL left the service. */
  traefikApi?: string;
}

export type DrainOutcome =
  /** Reported unhealthy after the signal (and, with the API, left Traefik). */
  | 'drained'
  /** Still healthy after drain-timeout: stopped anyway. */
  | 'ignored-signal'
  /** No health check to flip: Traefik routes to it until it stops. */
  | 'no-health-check'
  /** Was not running (exited, created, restarting): nothing to drain. */
  | 'not-running'
  /** Running but starting or unhealthy, so not routed by Traefik: stopped without a drain. */
  | 'not-serving'
  /** Disappeared while we worked on it (someone else removed it). */
  | 'vanished';

export interface RemovalReport {
  id: string;
  name: string;
  service: string;
  digest: string;
  outcome: DrainOutcome;
  /** Seconds from the drain signal to removal. */
  seconds: number;
  /** What did not go to plan (a server that ignored the signal, a URL Traefik kept listing). */
  warning?: string;
}

export interface NewServer {
  id: string;
  name: string;
  digest: string;
  url?: string;
  /** Already serving before this deploy (same digest). */
  reused: boolean;
}

export interface DeployResult {
  digest: string;
  /** The image as the servers run it (`repo@sha256:…` when it came from a registry). */
  image: string;
  servers: NewServer[];
  removed: RemovalReport[];
  /** The same digest was already serving: nothing changed. */
  unchanged: boolean;
  timings: { pullMs: number; startMs: number; healthyMs: number; traefikMs: number; drainMs: number; totalMs: number };
}

export interface PrunedImage {
  id: string;
  references: string[];
  /** engine swarm: the node it was removed from, when not the one the runner talks to. */
  node?: string;
}

/** A new server failed: its message names it and carries its last log lines. */
export class DeployError extends Error {
  override readonly name = 'DeployError';
}
