import type { Strategy } from './deploy-spec';
import { isServing, newestFirst, type ManagedServer } from './server';

/**
 * What a deploy does with the servers a service already has, decided before anything changes.
 * Re-running a finished deploy plans nothing; re-running one killed halfway plans the rest.
 */
export interface DeployPlan {
  /** Serving servers of the wanted digest that count towards `replicas`. */
  reuse: ManagedServer[];
  /** How many new servers to start. */
  create: number;
  /**
   * Servers of the wanted digest that are not serving (left by a deploy that was killed, or
   * failed since): not routed, so removed before new ones start.
   */
  clear: ManagedServer[];
  /** Drained once the new servers serve: every other server of the service under `replace`. */
  drain: ManagedServer[];
  /** Nothing to do: the digest already serves with enough replicas and nothing else to drain. */
  unchanged: boolean;
}

export function planDeploy(existing: readonly ManagedServer[], digest: string, replicas: number, strategy: Strategy): DeployPlan {
  const same = newestFirst(existing.filter((server) => server.digest === digest));
  const serving = same.filter(isServing);
  const reuse = serving.slice(0, replicas);
  const surplus = serving.slice(replicas);
  const clear = same.filter((server) => !isServing(server));
  const others = existing.filter((server) => server.digest !== digest);
  const drain = strategy === 'replace' ? [...newestFirst(others), ...surplus] : [];
  const create = replicas - reuse.length;
  return { reuse, create, clear, drain, unchanged: create === 0 && clear.length === 0 && drain.length === 0 };
}
