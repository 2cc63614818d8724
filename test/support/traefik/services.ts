import { serviceTypes, type Server, type Service } from './dynamic';

/**
 * Services as Traefik's service manager builds them (pkg/server/service/service.go): a service is
 * built when a router uses it (BuildHTTP), and its children with it; errors found while building
 * are added to the service (and to the router that asked) as `error[]`, and make it `disabled`.
 * A service no router uses is never built, so it keeps `status: enabled` whatever it references.
 */
export interface ServiceInfo {
  loadBalancer?: { servers?: Server[]; passHostHeader: boolean } & Record<string, unknown>;
  weighted?: { services: { name: string; weight: number }[]; healthCheck?: Record<string, never> };
  mirroring?: { service: string; mirrorBody: boolean; maxBodySize: number; mirrors?: { name: string; percent: number }[]; healthCheck?: Record<string, never> };
  error?: string[];
  status: 'enabled' | 'warning' | 'disabled';
  usedBy: string[];
  name: string;
  provider: string;
  type: 'loadbalancer' | 'weighted' | 'mirroring' | '';
  serverStatus?: Record<string, 'UP' | 'DOWN'>;
}

/** An active health check (`loadBalancer.healthCheck`, dynamic.ServerHealthCheck). */
export interface HealthCheckSpec {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  /** Expected status; 0: any 2xx or 3xx (checkHealthHTTP). */
  status: number;
  method: string;
  hostname?: string;
  port?: number;
  scheme?: string;
  headers: Record<string, string>;
}

/** What an entry point runs for a service: the handler tree of BuildHTTP. */
export type ServiceNode =
  | { kind: 'loadBalancer'; name: string; servers: Server[]; passHostHeader: boolean; healthCheck?: HealthCheckSpec }
  | { kind: 'weighted'; name: string; children: { name: string; weight: number; node: ServiceNode }[]; healthCheck: boolean }
  | { kind: 'mirroring'; name: string; main: ServiceNode; mirrors: { name: string; percent: number; node: ServiceNode }[]; mirrorBody: boolean; maxBodySize: number; healthCheck: boolean };

export function qualify(name: string, provider: string): string {
  return name.includes('@') ? name : `${name}@${provider}`;
}

/** runtime.ServiceInfo.AddError: no duplicates; a critical error disables. */
export function addError(info: { error?: string[]; status: string }, message: string, critical: boolean): void {
  if (info.error?.includes(message)) return;
  (info.error ??= []).push(message);
  if (critical) info.status = 'disabled';
  else if (info.status !== 'disabled') info.status = 'warning';
}

function duration(value: string | undefined, fallbackMs: number, key: string): number {
  if (value === undefined || value === '') return fallbackMs;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!match) throw new Error(`${key}: invalid duration ${JSON.stringify(value)}`);
  return Math.round(Number(match[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's']!);
}

/** `healthcheck.*` load-balancer options (labels or file) into a spec; undefined without a path. */
export function healthCheckSpec(options: Record<string, string>): HealthCheckSpec | undefined {
  const get = (key: string) => options[`healthcheck.${key}`];
  if (!Object.keys(options).some((key) => key.startsWith('healthcheck.'))) return undefined;
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(options)) if (key.startsWith('healthcheck.headers.')) headers[key.slice('healthcheck.headers.'.length)] = value;
  return {
    path: get('path') ?? '/',
    // dynamic.DefaultHealthCheckInterval and DefaultHealthCheckTimeout.
    intervalMs: duration(get('interval'), 30_000, 'healthCheck.interval'),
    timeoutMs: duration(get('timeout'), 5_000, 'healthCheck.timeout'),
    status: Number(get('status') ?? 0),
    method: get('method') ?? 'GET',
    ...(get('hostname') ? { hostname: get('hostname') } : {}),
    ...(get('port') ? { port: Number(get('port')) } : {}),
    ...(get('scheme') ? { scheme: get('scheme') } : {}),
    headers,
  };
}

/** Whether a node can report its status to a parent (healthcheck.StatusUpdater.RegisterStatusUpdater). */
function statusUpdaterError(node: ServiceNode): string | undefined {
  if (node.kind === 'loadBalancer') return node.healthCheck ? undefined : 'healthCheck not enabled in config for this WRR service';
  if (node.kind === 'weighted') return node.healthCheck ? undefined : 'healthCheck not enabled in config for this WRR service';
  if (!node.healthCheck) return 'healthCheck not enabled in config for this mirroring service';
  const inner = statusUpdaterError(node.main);
  return inner ? `cannot register service of mirroring as updater: ${inner}` : undefined;
}

/**
 * Builds services on demand, as routers ask for them, with Traefik's error messages; built nodes
 * are shared (one balancer per service, whichever router uses it).
 */
export function createServiceBuilder(configs: Record<string, Service>, infos: Record<string, ServiceInfo>) {
  const built = new Map<string, ServiceNode>();

  const build = (name: string, stack: string[]): ServiceNode => {
    const done = built.get(name);
    if (done) return done;
    const config = configs[name];
    const info = infos[name];
    if (!config || !info) throw new Error(`the service "${name}" does not exist`);
    if (info.status === 'disabled') throw new Error((info.error ?? []).join(', '));
    const fail = (message: string): never => {
      addError(info, message, true);
      throw new Error(message);
    };
    const types = serviceTypes(config);
    if (types.length > 1) fail('cannot create service: multi-types service not supported, consider declaring two different pieces of service instead');
    const item = `service:${name}`;
    if (stack.includes(item)) fail(`could not instantiate service ${name}: recursion detected in ${[...stack, item].join('->')}`);
    const inner = [...stack, item];
    const provider = info.provider;
    const child = (childName: string, wrap?: (message: string) => string): ServiceNode => {
      try {
        return build(qualify(childName, provider), inner);
      } catch (error) {
        return fail(wrap ? wrap((error as Error).message) : (error as Error).message);
      }
    };

    let node: ServiceNode;
    if (config.loadBalancer) {
      const lb = config.loadBalancer;
      let healthCheck: HealthCheckSpec | undefined;
      try {
        healthCheck = healthCheckSpec(lb.options);
      } catch (error) {
        fail((error as Error).message);
      }
      for (const server of lb.servers) {
        try {
          new URL(server.url);
        } catch {
          fail(`error parsing server URL ${server.url}: invalid URL`);
        }
      }
      node = { kind: 'loadBalancer', name, servers: lb.servers, passHostHeader: lb.passHostHeader, ...(healthCheck ? { healthCheck } : {}) };
    } else if (config.weighted) {
      const weighted = config.weighted;
      const children = weighted.services.map((entry) => {
        const childNode = child(entry.name, (message) => `building HTTP service "${entry.name}": ${message}`);
        if (weighted.healthCheck) {
          const refusal = statusUpdaterError(childNode);
          if (refusal) fail(`cannot register ${entry.name} as updater for ${name}: ${refusal}`);
        }
        return { name: entry.name, weight: entry.weight, node: childNode };
      });
      node = { kind: 'weighted', name, children, healthCheck: weighted.healthCheck };
    } else if (config.mirroring) {
      const mirroring = config.mirroring;
      const main = child(mirroring.service);
      const mirrors = mirroring.mirrors.map((mirror) => {
        const mirrorNode = child(mirror.name);
        if (mirror.percent < 0 || mirror.percent > 100) fail('percent must be between 0 and 100');
        return { name: mirror.name, percent: mirror.percent, node: mirrorNode };
      });
      node = { kind: 'mirroring', name, main, mirrors, mirrorBody: mirroring.mirrorBody, maxBodySize: mirroring.maxBodySize, healthCheck: mirroring.healthCheck };
    } else {
      return fail(`the service "${name}" does not have any type defined`);
    }
    built.set(name, node);
    return node;
  };

  return {
    /** The node for a router's (qualified) service; throws with the message the router records. */
    build: (name: string) => build(name, []),
    built,
  };
}

/** The API view of one provider's service, before any router has built it. */
export function serviceInfo(name: string, provider: string, service: Service, nest: (options: Record<string, string>) => Record<string, unknown>): ServiceInfo {
  const base = { status: 'enabled' as const, usedBy: [], name, provider };
  const types = serviceTypes(service);
  const type = (types.length === 1 ? types[0]!.toLowerCase() : '') as ServiceInfo['type'];
  const info: ServiceInfo = { ...base, type };
  if (service.loadBalancer) {
    const { servers, passHostHeader, options } = service.loadBalancer;
    info.loadBalancer = { ...nest(options), ...(servers.length ? { servers: servers.map((s) => ({ ...s })) } : {}), passHostHeader };
    if (servers.length) info.serverStatus = Object.fromEntries(servers.map((s) => [s.url, 'UP' as const]));
  }
  if (service.weighted) {
    info.weighted = { services: service.weighted.services.map((s) => ({ ...s })), ...(service.weighted.healthCheck ? { healthCheck: {} } : {}) };
  }
  if (service.mirroring) {
    const m = service.mirroring;
    info.mirroring = { service: m.service, mirrorBody: m.mirrorBody, maxBodySize: m.maxBodySize, ...(m.mirrors.length ? { mirrors: m.mirrors.map((x) => ({ ...x })) } : {}), ...(m.healthCheck ? { healthCheck: {} } : {}) };
  }
  // Keep the key order of Traefik's JSON: the service's configuration first, then the runtime fields.
  const { status, usedBy, name: n, provider: p, type: t, serverStatus, loadBalancer, weighted, mirroring } = info;
  return { ...(loadBalancer ? { loadBalancer } : {}), ...(weighted ? { weighted } : {}), ...(mirroring ? { mirroring } : {}), status, usedBy, name: n, provider: p, type: t, ...(serverStatus ? { serverStatus } : {}) };
}
