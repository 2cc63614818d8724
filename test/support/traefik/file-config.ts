import { parse as parseYaml } from 'yaml';
import { emptyConfig, type DynamicConfig, type LoadBalancer, type Mirroring, type Router, type Service, type Weighted } from './dynamic';

/**
 * One dynamic configuration file of Traefik's file provider, decoded as Traefik decodes it
 * (pkg/provider/file/file.go decodeConfiguration, paerser's file decoder): option names are
 * case-insensitive, resource names are not; an unknown option is an error
 * (`field not found, node: <name>`) that fails the whole file; defaults are applied as the
 * dynamic types' SetDefaults do (WRRService.weight = 1, Mirroring.mirrorBody = true,
 * Mirroring.maxBodySize = -1, ServersLoadBalancer.passHostHeader = true).
 *
 * Only YAML (`.yml`, `.yaml`) is decoded; a `.toml` file is refused with an error (Traefik would
 * read it), so a test never mistakes an unread file for an empty one. Go templates in files are
 * not rendered. TCP, UDP, TLS and serversTransports sections are accepted and not routed.
 */
export class FileConfigError extends Error {
  override readonly name = 'FileConfigError';
}

type Tree = Record<string, unknown>;

export const SUPPORTED_EXTENSIONS = ['.yml', '.yaml', '.toml'];

/** isFileSupported in pkg/provider/file/file.go. */
export function isFileSupported(filename: string): boolean {
  const dot = filename.lastIndexOf('.');
  return dot >= 0 && SUPPORTED_EXTENSIONS.includes(filename.slice(dot).toLowerCase());
}

function section(value: unknown, path: string): Tree {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new FileConfigError(`${path}: expected a mapping, got ${JSON.stringify(value)}`);
  return value as Tree;
}

/** The fields of `value` by lower-cased name; anything not in `known` is paerser's "field not found". */
function fields(value: unknown, path: string, known: string[]): Tree {
  const out: Tree = {};
  for (const [key, child] of Object.entries(section(value, path))) {
    const lower = key.toLowerCase();
    if (!known.includes(lower)) throw new FileConfigError(`${path}: field not found, node: ${key}`);
    out[lower] = child;
  }
  return out;
}

function text(value: unknown, path: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new FileConfigError(`${path}: expected a string, got ${JSON.stringify(value)}`);
}

function integer(value: unknown, path: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const number = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isInteger(number)) throw new FileConfigError(`${path}: expected an integer, got ${JSON.stringify(value)}`);
  return number;
}

function boolean(value: unknown, path: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new FileConfigError(`${path}: expected true or false, got ${JSON.stringify(value)}`);
}

function list(value: unknown, path: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new FileConfigError(`${path}: expected a list, got ${JSON.stringify(value)}`);
  return value;
}

function strings(value: unknown, path: string): string[] {
  // paerser also accepts a comma-separated string for a list of strings.
  if (typeof value === 'string')
    return value
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean);
  return list(value, path).map((entry, index) => text(entry, `${path}[${index}]`) ?? '');
}

/** Nested options as lower-cased dotted keys (`healthcheck.path`), the form the label decoder uses. */
function flatten(value: unknown, prefix: string, out: Record<string, string>): Record<string, string> {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Tree);
    if (entries.length === 0) out[prefix] = '';
    for (const [key, child] of entries) flatten(child, `${prefix}.${key.toLowerCase()}`, out);
  } else if (Array.isArray(value)) {
    out[prefix] = value.map((entry) => (typeof entry === 'object' ? JSON.stringify(entry) : String(entry))).join(',');
  } else {
    // Neither an object nor a list: a scalar from YAML or TOML.
    const scalar = value as string | number | boolean | null | undefined;
    out[prefix] = scalar === null || scalar === undefined ? '' : String(scalar);
  }
  return out;
}

const ROUTER_FIELDS = ['rule', 'service', 'entrypoints', 'middlewares', 'priority', 'tls', 'rulesyntax', 'observability', 'parentrefs'];
const LOAD_BALANCER_FIELDS = ['servers', 'passhostheader', 'healthcheck', 'passivehealthcheck', 'sticky', 'strategy', 'serverstransport', 'responseforwarding'];
const HEALTH_CHECK_FIELDS = ['scheme', 'mode', 'path', 'method', 'status', 'port', 'interval', 'unhealthyinterval', 'timeout', 'hostname', 'followredirects', 'headers'];

function decodeRouter(value: unknown, path: string): Router {
  const router = fields(value, path, ROUTER_FIELDS);
  if (router.parentrefs !== undefined) throw new FileConfigError(`${path}.parentRefs: multi-layer routing is not implemented by the Traefik stand-in`);
  const options: Record<string, string> = {};
  for (const key of ['tls', 'rulesyntax', 'observability']) if (router[key] !== undefined) flatten(router[key], key, options);
  const priority = integer(router.priority, `${path}.priority`);
  return {
    rule: text(router.rule, `${path}.rule`) ?? '',
    service: text(router.service, `${path}.service`) ?? '',
    entryPoints: strings(router.entrypoints, `${path}.entryPoints`),
    ...(priority !== undefined ? { priority } : {}),
    middlewares: strings(router.middlewares, `${path}.middlewares`),
    options,
  };
}

function decodeLoadBalancer(value: unknown, path: string): LoadBalancer {
  const lb = fields(value, path, LOAD_BALANCER_FIELDS);
  const servers = list(lb.servers, `${path}.servers`).map((entry, index) => {
    const server = fields(entry, `${path}.servers[${index}]`, ['url', 'weight', 'preservepath', 'fenced']);
    const url = text(server.url, `${path}.servers[${index}].url`);
    if (!url) throw new FileConfigError(`${path}.servers[${index}].url: missing`);
    const weight = integer(server.weight, `${path}.servers[${index}].weight`);
    return { url, ...(weight !== undefined ? { weight } : {}) };
  });
  if (lb.healthcheck !== undefined) fields(lb.healthcheck, `${path}.healthCheck`, HEALTH_CHECK_FIELDS);
  const options: Record<string, string> = {};
  for (const key of LOAD_BALANCER_FIELDS.filter((k) => k !== 'servers' && k !== 'passhostheader')) if (lb[key] !== undefined) flatten(lb[key], key, options);
  return { servers, passHostHeader: boolean(lb.passhostheader, `${path}.passHostHeader`) ?? true, options };
}

function healthCheckFlag(value: unknown, path: string): boolean {
  if (value === undefined || value === null) return false;
  fields(value, path, []);
  return true;
}

function decodeWeighted(value: unknown, path: string): Weighted {
  const weighted = fields(value, path, ['services', 'sticky', 'healthcheck']);
  if (weighted.sticky !== undefined) throw new FileConfigError(`${path}.sticky: sticky sessions are not implemented by the Traefik stand-in`);
  return {
    services: list(weighted.services, `${path}.services`).map((entry, index) => {
      const child = fields(entry, `${path}.services[${index}]`, ['name', 'weight']);
      return { name: text(child.name, `${path}.services[${index}].name`) ?? '', weight: integer(child.weight, `${path}.services[${index}].weight`) ?? 1 };
    }),
    healthCheck: healthCheckFlag(weighted.healthcheck, `${path}.healthCheck`),
  };
}

function decodeMirroring(value: unknown, path: string): Mirroring {
  const mirroring = fields(value, path, ['service', 'mirrors', 'mirrorbody', 'maxbodysize', 'healthcheck']);
  return {
    service: text(mirroring.service, `${path}.service`) ?? '',
    mirrors: list(mirroring.mirrors, `${path}.mirrors`).map((entry, index) => {
      const mirror = fields(entry, `${path}.mirrors[${index}]`, ['name', 'percent']);
      return { name: text(mirror.name, `${path}.mirrors[${index}].name`) ?? '', percent: integer(mirror.percent, `${path}.mirrors[${index}].percent`) ?? 0 };
    }),
    mirrorBody: boolean(mirroring.mirrorbody, `${path}.mirrorBody`) ?? true,
    maxBodySize: integer(mirroring.maxbodysize, `${path}.maxBodySize`) ?? -1,
    healthCheck: healthCheckFlag(mirroring.healthcheck, `${path}.healthCheck`),
  };
}

function decodeService(value: unknown, path: string): Service {
  const service = fields(value, path, ['loadbalancer', 'weighted', 'mirroring', 'failover', 'highestrandomweight']);
  for (const unsupported of ['failover', 'highestrandomweight']) {
    if (service[unsupported] !== undefined) throw new FileConfigError(`${path}.${unsupported}: not implemented by the Traefik stand-in (it implements loadBalancer, weighted and mirroring)`);
  }
  return {
    ...(service.loadbalancer !== undefined ? { loadBalancer: decodeLoadBalancer(service.loadbalancer, `${path}.loadBalancer`) } : {}),
    ...(service.weighted !== undefined ? { weighted: decodeWeighted(service.weighted, `${path}.weighted`) } : {}),
    ...(service.mirroring !== undefined ? { mirroring: decodeMirroring(service.mirroring, `${path}.mirroring`) } : {}),
  };
}

/** Decodes one file's content; `filename` picks the format by its extension. Throws FileConfigError. */
export function decodeFileConfig(filename: string, content: string): DynamicConfig {
  const extension = filename.slice(filename.lastIndexOf('.')).toLowerCase();
  if (extension === '.toml') throw new FileConfigError(`${filename}: TOML files are not decoded by the Traefik stand-in; write YAML (.yml or .yaml)`);
  let document: unknown;
  try {
    document = parseYaml(content);
  } catch (error) {
    throw new FileConfigError(`${filename}: ${(error as Error).message.split('\n')[0]}`);
  }
  const config = emptyConfig();
  const root = fields(document, filename, ['http', 'tcp', 'udp', 'tls']);
  const http = fields(root.http, 'http', ['routers', 'services', 'middlewares', 'serverstransports']);
  for (const [name, router] of Object.entries(section(http.routers, 'http.routers'))) config.routers[name] = decodeRouter(router, `http.routers.${name}`);
  for (const [name, service] of Object.entries(section(http.services, 'http.services'))) config.services[name] = decodeService(service, `http.services.${name}`);
  for (const [name, middleware] of Object.entries(section(http.middlewares, 'http.middlewares'))) {
    const options: Record<string, string> = {};
    for (const [type, settings] of Object.entries(section(middleware, `http.middlewares.${name}`))) flatten(settings, type.toLowerCase(), options);
    config.middlewares[name] = options;
  }
  return config;
}
