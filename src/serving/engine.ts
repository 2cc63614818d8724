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
   * How the engine counts servers: `server`, one ManagedServer per replica (a container);
   * `version`, one ManagedServer per model version that runs `replicas` tasks (a Swarm service).
   */
  readonly unit: 'server' | 'version';

  // The deploy steps, in the order runDeploy (src/serving/deploy.ts) takes them.

  /** Pull (or find) the image, check the engine can run it (GPUs), learn its digest. */
  pullImage(spec: DeploySpec, log: Log): Promise<DeployImage>;

  /**
   * `prepare: true`: pull (when not present) and verify the image, and mark it prepared so retire
   * can find it (src/engine/prepared.ts). Starts nothing, takes no lock, changes no routing.
   */
  prepareImage(spec: DeploySpec, log: Log): Promise<PreparedImage>;

  /** Take the service's deploy lock, waiting for a live holder; the lock also keeps the image from being pruned. */
  lockDeploy(spec: DeploySpec, image: DeployImage, log: Log): Promise<DeployLock>;

  /** Remove a server that no one routes to (left by a killed deploy), without a drain. */
  removeServer(server: ManagedServer, log: Log): Promise<void>;

  /** Create and start `count` servers (`server` unit) or one version with `replicas` tasks (`version` unit). */
  startServers(spec: DeploySpec, image: DeployImage, count: number, log: Log): Promise<StartedServers>;

  /** Wait until the started servers serve (health check, readiness probe, or a steady run), or the first fails. */
  waitServing(spec: DeploySpec, image: DeployImage, started: StartedServers): Promise<{ servers: NewServer[] } | { failure: ServerFailure }>;

  /** Remove the started servers and return the error that names the failure with the failed server's last log lines. */
  discardStarted(started: StartedServers, image: DeployImage, failure: ServerFailure): Promise<DeployError>;

  /** `version` unit only: give a reused version `spec.replicas` tasks and wait until they run. */
  scaleVersion(server: ManagedServer, spec: DeploySpec, log: Log): Promise<void>;

  /** The serving servers behind reused ManagedServers, as a deploy reports them. */
  serversOf(reused: readonly ManagedServer[], spec: DeploySpec): Promise<NewServer[]>;

  /** Label routing: wait until Traefik's API lists `servers` UP; undefined, or the problem. */
  confirmRouted(spec: DeploySpec, servers: readonly NewServer[]): Promise<string | undefined>;

  /** Every server labelled `train-to-serve.managed` (of one service when given). */
  listServers(service?: string): Promise<ManagedServer[]>;

  /** Read a server's request counter and in-flight gauge from its own metrics. */
  readRequests(server: ManagedServer): Promise<RequestCount>;

  /**
   * Take the service's deploy lock without waiting, with a lease of `leaseMs` (sized from the
   * work: the lock's record cannot be changed once taken). Undefined: a deploy holds it right now
   * (a lock whose holder is gone is taken over).
   */
  tryLockService(service: string, log: Log, leaseMs: number): Promise<DeployLock | undefined>;

  /** The drain protocol (docs/traefik.md), then remove. A server that is already gone is `vanished`, not an error. */
  drainAndRemove(server: ManagedServer, options: DrainOptions, log: Log): Promise<RemovalReport>;

  /**
   * Remove images of the toolkit's servers that no container uses any more: the images of the
   * retired servers, and images of the repositories the `seen` servers came from.
   */
  pruneImages(seen: readonly ManagedServer[], retired: readonly ManagedServer[], log: Log): Promise<PrunedImage[]>;

  /**
   * Remove prepared images (of one service when given) that no container uses and that were
   * prepared keepMs ago or more, each service's under its lock (`lock`; undefined: not taken,
   * that service's images are left for the next run).
   */
  prunePrepared(options: PrunePreparedOptions, log: Log): Promise<PrunedImage[]>;

  close(): Promise<void>;
}

/** Property signatures, not methods: callers hand `log.info` on as a plain function. */
export interface Log {
  info: (message: string) => void;
  warning: (message: string) => void;
}

export const silentLog: Log = { info: () => {}, warning: () => {} };

export type RequestCount = { readable: true; requests: number; inFlight?: number } | { readable: false; problem: string };

export interface PrunePreparedOptions {
  service?: string;
  keepMs: number;
  now: Date;
  lock(service: string): Promise<ServiceLock | undefined>;
}

export interface ServiceLock {
  release(): Promise<void>;
}

/** A lock held for a whole deploy. */
export interface DeployLock extends ServiceLock {
  /** False once another run took the lock over (its lease ran out): nothing destructive may follow. */
  stillHeld(): Promise<boolean>;
}

/** The image a deploy runs, as its engine found it. */
export interface DeployImage {
  /** The manifest digest from the registry, or the engine's image id when it came from no registry. */
  digest: string;
  /** What servers are created from (`repo@sha256:…` when the digest is known). */
  reference: string;
  /** The engine's image id. */
  id: string;
  /** The image declares a HEALTHCHECK. */
  healthcheck: boolean;
  pulled: boolean;
}

/** Servers a deploy started and has not confirmed yet: engine ids (containers, or the one Swarm service). */
export interface StartedServers {
  ids: string[];
  names: string[];
}

/** Why a new server does not serve; `id` names the one whose log explains it. */
export interface ServerFailure {
  id?: string;
  problem: string;
}

export interface DrainOptions {
  drainTimeoutMs: number;
  /** Traefik's API: when given, wait until the server's URL left the service. */
  traefikApi?: string;
  /**
   * File routing: the caller already took the server out of the routing table, saw Traefik apply
   * it and waited for its requests to finish: stop it (SIGTERM, then the grace period) and remove it.
   */
  withdrawn?: boolean;
}

export type DrainOutcome =
  /** Reported unhealthy after the signal (and, with the API, left Traefik). */
  | 'drained'
  /** File routing: out of the routing table, no request in flight, then stopped. */
  | 'withdrawn'
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

/** What `prepare: true` did: the image a later deploy of the digest finds present. */
export interface PreparedImage {
  digest: string;
  /** What the deploy will create servers from. */
  reference: string;
  /** The engine's image id. */
  id: string;
  /** A pull was started (a tag, or a digest that was not present). */
  pulled: boolean;
  /** At least one layer came over the network. */
  layersFetched: boolean;
  /** The local tag that marks it prepared. */
  mark: string;
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
