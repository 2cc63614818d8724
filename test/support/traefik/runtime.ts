import type { DynamicConfig, Service } from './dynamic';
import { compileRule, type CompiledRule } from './expression';
import { createServiceBuilder, qualify, serviceInfo, type ServiceInfo, type ServiceNode } from './services';

export type { ServiceInfo, ServiceNode } from './services';

/**
 * The runtime view Traefik's API serves and its router uses: every provider's configuration with
 * names qualified `<name>@<provider>`, and a status for each router (`enabled`, `warning`,
 * `disabled`) with the errors that explain it.
 */
export interface RouterInfo {
  entryPoints: string[];
  middlewares?: string[];
  service: string;
  rule: string;
  priority?: number;
  tls?: Record<string, string>;
  error?: string[];
  status: 'enabled' | 'warning' | 'disabled';
  using: string[];
  name: string;
  provider: string;
}

export interface MiddlewareInfo {
  status: 'enabled';
  usedBy: string[];
  name: string;
  provider: string;
  type: string;
  [option: string]: unknown;
}

export interface RoutingTarget {
  router: string;
  service: string;
  priority: number;
  rule: CompiledRule;
  node: ServiceNode;
}

export interface Runtime {
  routers: Record<string, RouterInfo>;
  services: Record<string, ServiceInfo>;
  middlewares: Record<string, MiddlewareInfo>;
  /** Entry point name → the routers attached to it, highest priority first. */
  routing: Record<string, RoutingTarget[]>;
  /** Every service some router built, by qualified name (one balancer each). */
  nodes: Map<string, ServiceNode>;
}

/** Traefik's highest user-defined router priority (pkg/server/router/router.go maxUserPriority). */
const MAX_USER_PRIORITY = Number.MAX_SAFE_INTEGER - 1000;

/** Dotted lower-case option keys back into nested objects, for display. */
function nest(options: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    const parts = key.split('.');
    let node = out;
    for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[parts.at(-1)!] = value;
  }
  return out;
}

/**
 * @param configs provider name → that provider's merged configuration
 * @param entryPoints every entry point of the static configuration
 * @param defaultEntryPoints where routers without `entrypoints` attach
 */
export function buildRuntime(configs: Record<string, DynamicConfig>, entryPoints: string[], defaultEntryPoints: string[]): Runtime {
  const runtime: Runtime = { routers: {}, services: {}, middlewares: {}, routing: {}, nodes: new Map() };
  const serviceConfigs: Record<string, Service> = {};
  for (const entryPoint of entryPoints) runtime.routing[entryPoint] = [];

  for (const [provider, config] of Object.entries(configs)) {
    for (const [name, service] of Object.entries(config.services)) {
      runtime.services[qualify(name, provider)] = serviceInfo(qualify(name, provider), provider, service, nest);
      serviceConfigs[qualify(name, provider)] = service;
    }
    for (const [name, options] of Object.entries(config.middlewares)) {
      const type = Object.keys(options)[0]?.split('.')[0] ?? 'unknown';
      runtime.middlewares[qualify(name, provider)] = { ...nest(options), status: 'enabled', usedBy: [], name: qualify(name, provider), provider, type };
    }
  }

  const builder = createServiceBuilder(serviceConfigs, runtime.services);
  for (const [provider, config] of Object.entries(configs)) {
    for (const [name, router] of Object.entries(config.routers)) {
      const qualified = qualify(name, provider);
      const errors: string[] = [];
      let disabled = false;
      let compiled: CompiledRule | undefined;
      try {
        compiled = compileRule(router.rule);
      } catch (error) {
        errors.push(`error while adding rule ${router.rule}: ${(error as Error).message}`);
        disabled = true;
      }
      const wanted = router.entryPoints.length ? router.entryPoints : defaultEntryPoints;
      const using = wanted.filter((entryPoint) => entryPoints.includes(entryPoint));
      for (const missing of wanted.filter((entryPoint) => !entryPoints.includes(entryPoint))) errors.push(`entryPoint "${missing}" doesn't exist`);
      if (using.length === 0) {
        errors.push('no valid entryPoint for this router');
        disabled = true;
      }
      const serviceName = qualify(router.service, provider);
      const service = runtime.services[serviceName];
      service?.usedBy.push(qualified);
      if (router.middlewares.length) {
        for (const middleware of router.middlewares) runtime.middlewares[qualify(middleware, provider)]?.usedBy.push(qualified);
        errors.push('middlewares are not implemented by the Traefik stand-in');
        disabled = true;
      }
      // Traefik's default priority is the rule's length (httpmuxer.GetRulePriority): longer rules win.
      const priority = router.priority || router.rule.length;
      if (priority > MAX_USER_PRIORITY) {
        errors.push(`the router priority ${priority} exceeds the max user-defined priority ${MAX_USER_PRIORITY}`);
        disabled = true;
      }
      let node: ServiceNode | undefined;
      if (!router.service) {
        errors.push('router must have either a service or child routers');
        disabled = true;
      } else if (using.length > 0) {
        try {
          node = builder.build(serviceName);
        } catch (error) {
          errors.push((error as Error).message);
          disabled = true;
        }
      }
      const tls = Object.fromEntries(Object.entries(router.options).filter(([key]) => key === 'tls' || key.startsWith('tls.')));
      runtime.routers[qualified] = {
        entryPoints: router.entryPoints,
        ...(router.middlewares.length ? { middlewares: router.middlewares } : {}),
        service: router.service,
        rule: router.rule,
        ...(router.priority !== undefined ? { priority: router.priority } : {}),
        ...(Object.keys(tls).length ? { tls } : {}),
        ...(errors.length ? { error: errors } : {}),
        status: disabled ? 'disabled' : errors.length ? 'warning' : 'enabled',
        using: disabled ? [] : using,
        name: qualified,
        provider,
      };
      if (!disabled && compiled && node) {
        for (const entryPoint of using) runtime.routing[entryPoint]!.push({ router: qualified, service: serviceName, priority, rule: compiled, node });
      }
    }
  }
  for (const targets of Object.values(runtime.routing)) targets.sort((a, b) => b.priority - a.priority || a.router.localeCompare(b.router));
  for (const service of Object.values(runtime.services)) service.usedBy.sort();
  runtime.nodes = builder.built;
  for (const middleware of Object.values(runtime.middlewares)) middleware.usedBy.sort();
  return runtime;
}
