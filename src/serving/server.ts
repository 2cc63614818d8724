/**
 * A prediction server as the deploy and retire decisions see it: plain data, filled in by an
 * engine implementation (a container on the Docker Engine; a task or service on Swarm).
 */

/** Docker health: `none` when the server has no health check. */
export type Health = 'healthy' | 'unhealthy' | 'starting' | 'none';

export interface ManagedServer {
  /** The engine's id for it. */
  id: string;
  name: string;
  service: string;
  /** Image digest from the `image-digest` label (empty when the label is missing). */
  digest: string;
  /** The image reference from the label, or the engine's image name. */
  image: string;
  /** The engine's image id (`sha256:…`), for pruning. */
  imageId?: string;
  /** `deployed-at`, or when the engine created it when that label is missing. */
  deployedAt: Date;
  /** null: never; undefined: the label is missing or unreadable. */
  expiresAt?: Date | null;
  /** The engine's state word: running, exited, restarting, created, … */
  state: string;
  health: Health;
  /** `http://<ip>:<port>` on the service's network, as Traefik lists it; undefined when not attached. */
  url?: string;
  drainSignal: string;
  /** `version` unit engines (Swarm): the replica count the version is meant to run. */
  replicas?: number;
  /** The server's own labels (routing labels included). */
  labels: Record<string, string>;
}

/** A server Traefik routes to: running, and healthy or without a health check. */
export function isServing(server: Pick<ManagedServer, 'state' | 'health'>): boolean {
  return server.state === 'running' && (server.health === 'healthy' || server.health === 'none');
}

/** Newest first by deployed-at, then by name so the order is stable. */
export function newestFirst<T extends Pick<ManagedServer, 'deployedAt' | 'name'>>(servers: readonly T[]): T[] {
  return [...servers].sort((a, b) => b.deployedAt.getTime() - a.deployedAt.getTime() || a.name.localeCompare(b.name));
}
