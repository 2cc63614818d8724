import { mergeConfigurations, type DynamicConfig, type MergeResult, type Router, type Service } from './dynamic';
import { compileConstraints } from './expression';
import { LabelError, decodeLabels, normalize, parseTraefikBool } from './labels';

/** What the Docker provider reads of one container (from `GET /containers/{id}/json`). */
export interface ContainerFacts {
  id: string;
  /** As the engine reports it, with the leading "/". */
  name: string;
  /** `State.Status`: running, exited, paused, ... */
  state: string;
  /** `State.Health.Status`, or "" for a container without a HEALTHCHECK. */
  health: string;
  labels: Record<string, string>;
  /** Network name → the container's IP address on it ("" when it has none). */
  networks: Record<string, string>;
  /** `NetworkSettings.Ports` keys, e.g. "8080/tcp". */
  ports: string[];
}

/** `providers.docker` options of Traefik's static configuration that change routing. */
export interface DockerProviderOptions {
  exposedByDefault: boolean;
  constraints?: string;
  network?: string;
  allowEmptyServices: boolean;
  defaultRule: string;
}

export const DEFAULT_RULE = 'Host(`{{ normalize .Name }}`)';

export interface ProviderLog {
  level: 'debug' | 'info' | 'warn' | 'error';
  container?: string;
  msg: string;
}

export interface BuildResult extends MergeResult {
  logs: ProviderLog[];
}

/** The only template functions default rules use in practice: `.Name`, `.ContainerName`, `normalize`. */
export function renderDefaultRule(template: string, model: { Name: string; ContainerName: string; Labels: Record<string, string> }): string {
  return template.replace(/\{\{\s*(normalize\s+)?\.(Name|ContainerName)\s*\}\}/g, (_match, normalizeFn: string | undefined, field: 'Name' | 'ContainerName') => (normalizeFn ? normalize(model[field]) : model[field]));
}

function lowestPort(ports: string[]): string | undefined {
  const numbers = ports.map((port) => Number(port.split('/')[0])).filter((port) => Number.isInteger(port) && port > 0);
  return numbers.length ? String(Math.min(...numbers)) : undefined;
}

/**
 * One container (Docker provider) or one task or service VIP (Swarm provider) that survived the
 * provider's filters, with what its labels need to become routers and servers.
 */
export interface LabelledServer {
  /** The provider's name for it: the default service and router name (normalized). */
  serviceName: string;
  /** For default rule templates (`.ContainerName`) and messages. */
  containerName: string;
  labels: Record<string, string>;
  /** The network whose address becomes the server URL (provider label, else the provider's `network`). */
  network?: string;
  /** Network name → address ("" when none). */
  networks: Record<string, string>;
  /** Exposed ports (`8080/tcp`), the fallback when no port label is given. */
  ports: string[];
  /** False: the services and routers exist, without this server (allowEmptyServices). */
  addServers: boolean;
}

/**
 * The part of Traefik's label builder both providers share (buildServiceConfiguration, addServer,
 * getIPAddress, getPort, BuildRouterConfiguration): the configuration one server contributes.
 * Throws a LabelError for labels Traefik would refuse.
 */
export function buildFromLabels(server: LabelledServer, defaultRule: string, log: (level: ProviderLog['level'], msg: string) => void): DynamicConfig {
  const decoded = decodeLabels(server.labels);
  if (decoded.ignored.length) log('warn', `TCP/UDP labels are not routed by the stand-in: ${decoded.ignored.join(', ')}`);
  const services: Record<string, Service> = {};
  const serviceLabels = Object.keys(decoded.services).length ? decoded.services : { [server.serviceName]: { passHostHeader: true, options: {}, server: {} } };
  for (const [name, labels] of Object.entries(serviceLabels)) {
    const loadBalancer = { servers: [] as { url: string; weight?: number }[], passHostHeader: labels.passHostHeader, options: { ...labels.options } };
    services[name] = { loadBalancer };
    if (!server.addServers) continue;
    let ip: string | undefined;
    if (server.network) {
      ip = server.networks[server.network];
      if (ip === undefined) log('warn', `Could not find network named ${JSON.stringify(server.network)} for container ${JSON.stringify(server.containerName)}. Defaulting to first available network.`);
    }
    ip ??= Object.values(server.networks)[0];
    if (!ip) throw new LabelError(`service ${JSON.stringify(name)} error: unable to find the IP address for the container ${JSON.stringify(server.containerName)}: the server is ignored`);
    const port = labels.server.port ?? lowestPort(server.ports);
    if (!port) throw new LabelError(`service ${JSON.stringify(name)} error: port is missing`);
    const host = ip.includes(':') ? `[${ip}]` : ip;
    loadBalancer.servers.push({ url: `${labels.server.scheme ?? 'http'}://${host}:${port}`, ...(labels.server.weight !== undefined ? { weight: labels.server.weight } : {}) });
  }

  const routers: Record<string, Router> = {};
  let routerLabels = decoded.routers;
  if (Object.keys(routerLabels).length === 0) {
    if (Object.keys(services).length > 1) log('info', 'Could not create a router for the container: too many services');
    else routerLabels = { [server.serviceName]: { options: {} } };
  }
  for (const [name, labels] of Object.entries(routerLabels)) {
    const rule = labels.rule || renderDefaultRule(defaultRule, { Name: server.serviceName, ContainerName: server.containerName, Labels: server.labels });
    if (!rule) {
      log('error', `router ${name}: Undefined rule`);
      continue;
    }
    let service = labels.service;
    if (!service) {
      const names = Object.keys(services);
      if (names.length > 1) {
        log('error', `router ${name}: Could not define the service name for the router: too many services`);
        continue;
      }
      service = names[0]!;
    }
    routers[name] = {
      rule,
      service,
      entryPoints: labels.entryPoints ?? [],
      ...(labels.priority !== undefined ? { priority: labels.priority } : {}),
      middlewares: labels.middlewares ?? [],
      options: labels.options,
    };
  }
  return { routers, services, middlewares: decoded.middlewares };
}

/** Traefik's merge of the per-server configurations (provider.Merge), with its error logs for conflicts. */
export function mergeWithLogs(parts: Record<string, DynamicConfig>, logs: ProviderLog[]): BuildResult {
  const merged = mergeConfigurations(parts);
  for (const name of merged.conflicts.services) logs.push({ level: 'error', msg: `Service defined multiple times with different configurations: ${name}` });
  for (const name of merged.conflicts.routers) logs.push({ level: 'error', msg: `Router defined multiple times with different configurations: ${name}` });
  for (const name of merged.conflicts.middlewares) logs.push({ level: 'error', msg: `Middleware defined multiple times with different configurations: ${name}` });
  return { ...merged, logs };
}

/**
 * Traefik's Docker provider in one pure function: which containers become servers of which
 * services, and which routers point at them. Mirrors pkg/provider/docker (keepContainer,
 * buildServiceConfiguration, addServer, getIPAddress, getPort, BuildRouterConfiguration) and
 * provider.Merge. Containers that are not running are skipped (docs/traefik.md).
 */
export function buildDockerConfiguration(containers: ContainerFacts[], options: DockerProviderOptions): BuildResult {
  const logs: ProviderLog[] = [];
  const matchesConstraints = options.constraints ? compileConstraints(options.constraints) : () => true;
  const parts: Record<string, DynamicConfig> = {};

  for (const container of containers) {
    const serviceName = normalize(container.name);
    const key = `${serviceName}-${container.id}`;
    const log = (level: ProviderLog['level'], msg: string) => logs.push({ level, container: serviceName, msg });
    try {
      if (container.state !== 'running') continue;
      if (!parseTraefikBool(container.labels['traefik.enable'], 'traefik.enable', options.exposedByDefault)) {
        log('debug', 'Filtering disabled container');
        continue;
      }
      if (!matchesConstraints(container.labels)) {
        log('debug', `Container pruned by constraint expression: ${JSON.stringify(options.constraints)}`);
        continue;
      }
      const healthy = container.health === '' || container.health === 'healthy';
      if (!options.allowEmptyServices && !healthy) {
        log('debug', 'Filtering unhealthy or starting container');
        continue;
      }

      parts[key] = buildFromLabels(
        {
          serviceName,
          containerName: container.name.replace(/^\//, ''),
          labels: container.labels,
          network: container.labels['traefik.docker.network'] ?? options.network,
          networks: container.networks,
          ports: container.ports,
          addServers: healthy,
        },
        options.defaultRule,
        log,
      );
    } catch (error) {
      log('error', (error as Error).message);
    }
  }

  return mergeWithLogs(parts, logs);
}
