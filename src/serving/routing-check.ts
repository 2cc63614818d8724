import { InputError } from '../inputs/errors';
import { routingDifferences } from './labels';
import type { ManagedServer } from './server';

/**
 * Refuse routing settings that differ from a running server of the service: Traefik drops a
 * router whose servers disagree (docs/traefik.md), so every server of a service carries the same
 * routing labels. The error names the input behind the first kind of difference found.
 */
export function checkRoutingAgainst(servers: readonly ManagedServer[], wanted: Record<string, string>, service: string): void {
  for (const server of servers) {
    const differences = routingDifferences(server.labels, wanted);
    if (differences.length === 0) continue;
    const input = differences.some((d) => d.includes('.rule:')) ? 'rule' : differences.some((d) => d.includes('entrypoints')) ? 'entrypoints' : differences.some((d) => d.includes('.port:')) ? 'port' : 'network';
    throw new InputError(
      input,
      `differs from the running server ${server.name} of ${service} (${differences.join('; ')}). Traefik drops a router whose servers disagree, so every server of a service carries the same routing labels: deploy under a new service name, or retire the old servers first.`,
    );
  }
}
