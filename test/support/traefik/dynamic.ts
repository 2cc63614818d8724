/**
 * The dynamic configuration one provider produces (Traefik's `dynamic.HTTPConfiguration`, the
 * HTTP part only): routers, services with their load balancer's servers, middlewares. Names are
 * unqualified here; the runtime adds `@<provider>`.
 */
export interface Router {
  rule: string;
  service: string;
  entryPoints: string[];
  priority?: number;
  middlewares: string[];
  /** Other router options (tls, observability, ...), lower-cased dotted keys. */
  options: Record<string, string>;
}

export interface Server {
  url: string;
  weight?: number;
}

export interface LoadBalancer {
  servers: Server[];
  passHostHeader: boolean;
  /** Other load-balancer options (sticky, healthCheck, ...), lower-cased dotted keys. */
  options: Record<string, string>;
}

/** A child of a weighted service (`services[].name`, `weight`, default 1: WRRService.SetDefaults). */
export interface WeightedChild {
  name: string;
  weight: number;
}

/** `weighted`: smooth weighted round robin over other services (dynamic.WeightedRoundRobin). */
export interface Weighted {
  services: WeightedChild[];
  /** `healthCheck: {}` present: children report their status to this service (and it to its parents). */
  healthCheck: boolean;
}

/** `mirroring` (dynamic.Mirroring): `service` answers; each mirror gets a copy of `percent` % of requests. */
export interface Mirroring {
  service: string;
  mirrors: { name: string; percent: number }[];
  /** Default true (MirroringDefaultMirrorBody). */
  mirrorBody: boolean;
  /** Bytes; -1 (MirroringDefaultMaxBodySize) is unlimited. */
  maxBodySize: number;
  healthCheck: boolean;
}

/**
 * A service has exactly one type in a valid configuration; more than one (or none) is an error
 * reported when a router uses it (pkg/server/service/service.go BuildHTTP). Labels only make load
 * balancers; the file provider makes all three.
 */
export interface Service {
  loadBalancer?: LoadBalancer;
  weighted?: Weighted;
  mirroring?: Mirroring;
}

export interface DynamicConfig {
  routers: Record<string, Router>;
  services: Record<string, Service>;
  middlewares: Record<string, Record<string, string>>;
}

export function emptyConfig(): DynamicConfig {
  return { routers: {}, services: {}, middlewares: {} };
}

/** JSON with sorted keys: equality of two values the way Go's reflect.DeepEqual sees these structs. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Load balancers merge when everything but their servers is the same (Traefik's `Mergeable`). */
export function mergeable(a: LoadBalancer, b: LoadBalancer): boolean {
  return a.passHostHeader === b.passHostHeader && canonical(a.options) === canonical(b.options);
}

/** Which types a service declares, in Traefik's field order. */
export function serviceTypes(service: Service): ('loadBalancer' | 'weighted' | 'mirroring')[] {
  return (['loadBalancer', 'weighted', 'mirroring'] as const).filter((type) => service[type] !== undefined);
}

export interface MergeResult {
  config: DynamicConfig;
  /** Names defined more than once with different configurations: deleted for everyone. */
  conflicts: { routers: string[]; services: string[]; middlewares: string[] };
}

/**
 * Traefik's `provider.Merge`: per-container (or per-Swarm-service) configurations, in sorted key
 * order, become one. Same-named services with mergeable load balancers pool their servers,
 * de-duplicated by URL; same-named routers and middlewares must be identical. Any difference
 * deletes that router, service or middleware for all of them.
 */
export function mergeConfigurations(parts: Record<string, DynamicConfig>): MergeResult {
  const config = emptyConfig();
  const conflicts = { routers: new Set<string>(), services: new Set<string>(), middlewares: new Set<string>() };
  for (const key of Object.keys(parts).sort()) {
    const part = parts[key]!;
    for (const [name, service] of Object.entries(part.services)) {
      const existing = config.services[name];
      if (!existing) {
        config.services[name] = structuredClone(service);
      } else if (!existing.loadBalancer || !service.loadBalancer || !mergeable(existing.loadBalancer, service.loadBalancer)) {
        if (canonical(existing) !== canonical(service)) conflicts.services.add(name);
      } else {
        const known = new Set(existing.loadBalancer.servers.map((server) => server.url));
        for (const server of service.loadBalancer.servers) {
          if (!known.has(server.url)) existing.loadBalancer.servers.push({ ...server });
          known.add(server.url);
        }
      }
    }
    for (const [name, router] of Object.entries(part.routers)) {
      const existing = config.routers[name];
      if (!existing) config.routers[name] = structuredClone(router);
      else if (canonical(existing) !== canonical(router)) conflicts.routers.add(name);
    }
    for (const [name, middleware] of Object.entries(part.middlewares)) {
      const existing = config.middlewares[name];
      if (!existing) config.middlewares[name] = { ...middleware };
      else if (canonical(existing) !== canonical(middleware)) conflicts.middlewares.add(name);
    }
  }
  for (const name of conflicts.services) delete config.services[name];
  for (const name of conflicts.routers) delete config.routers[name];
  for (const name of conflicts.middlewares) delete config.middlewares[name];
  return { config, conflicts: { routers: [...conflicts.routers].sort(), services: [...conflicts.services].sort(), middlewares: [...conflicts.middlewares].sort() } };
}
