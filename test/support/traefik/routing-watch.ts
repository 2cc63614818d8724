import type { RouterInfo } from './runtime';
import type { ServiceInfo } from './services';

/**
 * Watches a service through Traefik's `/api/rawdata` (one consistent snapshot per poll) while a
 * deploy runs, and records every snapshot in which the service had nothing to route to:
 * - `labels`: the Docker provider's router `<service>@docker` must be enabled and its load
 *   balancer `<service>@docker` must have at least one server `UP`;
 * - `file`: the router `<service>@file` must be enabled and its weighted service `<service>@file`
 *   must have a version with weight above 0 whose `…@docker` load balancer has a server `UP`.
 * Polls as fast as the API answers (a saturated host answers slowly; nothing is timed).
 */
export interface RoutingWatch {
  /** Stop polling; how many snapshots were read, and each one in which the service could not be routed. */
  stop(): Promise<{ polls: number; gaps: string[]; errors: string[] }>;
}

interface RawData {
  routers: Record<string, Omit<RouterInfo, 'name' | 'provider'>>;
  services: Record<string, Omit<ServiceInfo, 'name' | 'provider'>>;
}

const upServers = (info: RawData['services'][string] | undefined) => Object.values(info?.serverStatus ?? {}).filter((status) => status === 'UP').length;

/** Why `service` cannot be routed in this snapshot, or undefined when it can. */
export function routingGap(raw: RawData, service: string, mode: 'labels' | 'file'): string | undefined {
  const provider = mode === 'labels' ? 'docker' : 'file';
  const router = raw.routers[`${service}@${provider}`];
  if (router?.status !== 'enabled') return `router ${service}@${provider} is ${router ? router.status : 'absent'}`;
  const top = raw.services[`${service}@${provider}`];
  if (mode === 'labels') return upServers(top) > 0 ? undefined : `${service}@docker has no server UP (${JSON.stringify(top?.serverStatus ?? {})})`;
  const weighted = (top?.weighted?.services ?? []).filter((child) => child.weight > 0);
  if (weighted.some((child) => upServers(raw.services[child.name]) > 0)) return undefined;
  return `${service}@file weighs ${JSON.stringify(weighted)}, none of them with a server UP`;
}

export function watchRouting(apiUrl: string, service: string, mode: 'labels' | 'file'): RoutingWatch {
  let running = true;
  let polls = 0;
  const gaps: string[] = [];
  const errors: string[] = [];
  const loop = (async () => {
    while (running) {
      try {
        const response = await fetch(`${apiUrl}/api/rawdata`, { signal: AbortSignal.timeout(30_000) });
        const raw = (await response.json()) as RawData;
        polls++;
        const gap = routingGap(raw, service, mode);
        if (gap) gaps.push(`${new Date().toISOString()} ${gap}`);
      } catch (error) {
        errors.push(`${new Date().toISOString()} ${(error as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { polls, gaps, errors };
    },
  };
}
