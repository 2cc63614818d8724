/**
 * Decoding `traefik.*` labels into routers, services and middlewares, as Traefik's label decoder
 * does for the Docker and Swarm providers alike: option keys are case-insensitive, names are not;
 * an unknown option is an error that makes the provider skip the container (or Swarm service).
 * TCP and UDP labels are recognised and ignored: the stand-in routes HTTP only.
 */
export class LabelError extends Error {
  override readonly name = 'LabelError';
}

/** A router as its labels declare it; rule and service may be left to the provider's defaults. */
export interface RouterLabels {
  rule?: string;
  service?: string;
  entryPoints?: string[];
  priority?: number;
  middlewares?: string[];
  options: Record<string, string>;
}

export interface ServiceLabels {
  passHostHeader: boolean;
  options: Record<string, string>;
  /** `loadbalancer.server.*`: how to reach this container (Traefik: `Servers[0]`). */
  server: { port?: string; scheme?: string; weight?: number };
}

export interface DecodedLabels {
  routers: Record<string, RouterLabels>;
  services: Record<string, ServiceLabels>;
  middlewares: Record<string, Record<string, string>>;
  /** tcp/udp routers or services were declared (the stand-in does not route them). */
  ignored: string[];
}

const ROUTER_OPTIONS = /^(rule|service|entrypoints|priority|middlewares|rulesyntax|tls|tls\..+|observability\..+)$/;
const LOAD_BALANCER_OPTIONS = /^(passhostheader|serverstransport|strategy|sticky(\..+)?|healthcheck\..+|responseforwarding\..+|server\.(port|scheme|weight|preservepath))$/;

function list(value: string): string[] {
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
}

function parseBool(value: string, key: string): boolean {
  if (/^(true|1)$/i.test(value.trim())) return true;
  if (/^(false|0)$/i.test(value.trim())) return false;
  throw new LabelError(`${key}: invalid boolean ${JSON.stringify(value)}`);
}

export function parseTraefikBool(value: string | undefined, key: string, fallback: boolean): boolean {
  return value === undefined ? fallback : parseBool(value, key);
}

export function decodeLabels(labels: Record<string, string>): DecodedLabels {
  const decoded: DecodedLabels = { routers: {}, services: {}, middlewares: {}, ignored: [] };
  for (const [key, value] of Object.entries(labels)) {
    const parts = key.split('.');
    if (parts[0]?.toLowerCase() !== 'traefik' || parts.length < 2) continue;
    const section = parts[1]!.toLowerCase();
    if (section === 'tcp' || section === 'udp') {
      decoded.ignored.push(key);
      continue;
    }
    if (section !== 'http') continue;
    const kind = parts[2]?.toLowerCase();
    const name = parts[3];
    const option = parts.slice(4).join('.').toLowerCase();
    if (!kind || !name) throw new LabelError(`${key}: expected traefik.http.<routers|services|middlewares>.<name>.<option>`);
    if (kind === 'routers') {
      if (!ROUTER_OPTIONS.test(option)) throw new LabelError(`${key}: field not found, node: ${option || '(none)'}`);
      const router = (decoded.routers[name] ??= { options: {} });
      if (option === 'rule') router.rule = value;
      else if (option === 'service') router.service = value;
      else if (option === 'entrypoints') router.entryPoints = list(value);
      else if (option === 'middlewares') router.middlewares = list(value);
      else if (option === 'priority') {
        if (!/^-?\d+$/.test(value.trim())) throw new LabelError(`${key}: invalid priority ${JSON.stringify(value)}`);
        router.priority = Number(value);
      } else router.options[option] = value;
    } else if (kind === 'services') {
      const lbOption = /^loadbalancer\.(.+)$/.exec(option)?.[1];
      if (!lbOption || !LOAD_BALANCER_OPTIONS.test(lbOption)) {
        throw new LabelError(`${key}: field not found, node: ${option || '(none)'} (services from labels are load balancers)`);
      }
      const service = (decoded.services[name] ??= { passHostHeader: true, options: {}, server: {} });
      if (lbOption === 'passhostheader') service.passHostHeader = parseBool(value, key);
      else if (lbOption === 'server.port') service.server.port = value.trim();
      else if (lbOption === 'server.scheme') service.server.scheme = value.trim();
      else if (lbOption === 'server.weight') {
        if (!/^\d+$/.test(value.trim())) throw new LabelError(`${key}: invalid weight ${JSON.stringify(value)}`);
        service.server.weight = Number(value);
      } else service.options[lbOption] = value;
    } else if (kind === 'middlewares') {
      if (!option) throw new LabelError(`${key}: a middleware needs a type, e.g. traefik.http.middlewares.${name}.stripprefix.prefixes`);
      (decoded.middlewares[name] ??= {})[option] = value;
    } else {
      throw new LabelError(`${key}: field not found, node: ${kind}`);
    }
  }
  return decoded;
}

/** Traefik's `provider.Normalize`: runs of characters other than letters and digits become one "-". */
export function normalize(name: string): string {
  return name
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .join('-');
}
