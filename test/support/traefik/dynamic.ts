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

export interface Service {
  loadBalancer: LoadBalancer;
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
      } else if (!mergeable(existing.loadBalancer, service.loadBalancer)) {
        conflicts.services.add(name);
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
