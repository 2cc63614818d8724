/**
 * The label contract between deploy, retire, Traefik and the people reading `docker ps`.
 *
 * Two families:
 * - Traefik's routing labels (docs/traefik.md). Traefik merges every container carrying the same router
 *   and service names into one load balancer, and deletes the router for all of them when their
 *   labels differ, so these are a function of the service's routing settings only: byte-identical
 *   for every model version of a service.
 * - The toolkit's own labels, prefixed `train-to-serve.`: what a server is, where it came from and
 *   when it may go. Retire reads these and nothing else.
 */

import { isMetricName, isUrlPath, type MetricsSource } from './server-inputs';

export const LABEL_PREFIX = 'train-to-serve.';

export const LABELS = {
  /** `true` on every container deploy created; retire looks at nothing else. */
  managed: 'train-to-serve.managed',
  service: 'train-to-serve.service',
  /** The image's manifest digest (`sha256:…`), or its local id when it came from no registry. */
  imageDigest: 'train-to-serve.image-digest',
  /** The image reference deploy was given. */
  image: 'train-to-serve.image',
  /** ISO 8601 UTC. */
  deployedAt: 'train-to-serve.deployed-at',
  /** ISO 8601 UTC, or `never`. */
  expiresAt: 'train-to-serve.expires-at',
  gitSha: 'train-to-serve.git-sha',
  runUrl: 'train-to-serve.run-url',
  /** The pull request number the model came from, or empty. */
  pr: 'train-to-serve.pr',
  /** The signal that makes this server report unhealthy while it keeps serving (deploy's `drain-signal`). */
  drainSignal: 'train-to-serve.drain-signal',
  /** On the deploy lock container only (never with `managed`): the service it locks. */
  lock: 'train-to-serve.lock',
  /**
   * Swarm only: when a drain withdrew this version's routing (`traefik.enable=false`), ISO 8601
   * UTC. A version carrying it is no longer routed, whatever its tasks do.
   */
  draining: 'train-to-serve.draining',
  /**
   * deploy's `metrics-port`, `metrics-path` and `request-metric`, only when given: where retire and
   * drains read the server's request counter. Absent: the serving port, /metrics, the default names.
   */
  metricsPort: 'train-to-serve.metrics-port',
  metricsPath: 'train-to-serve.metrics-path',
  requestMetric: 'train-to-serve.request-metric',
} as const;

/**
 * Which Traefik provider reads the labels: the Docker provider (labels on containers) or the
 * Swarm provider (labels on services). Only the provider-specific network label differs.
 */
export type LabelProvider = 'docker' | 'swarm';

export const NEVER = 'never';

/** What decides a service's routing; equal settings give byte-identical labels. */
export interface RoutingSettings {
  service: string;
  rule: string;
  entrypoints: string[];
  port: number;
  network: string;
}

/**
 * `traefik.<provider>.network`: Traefik v3's Swarm provider reads `traefik.swarm.network` (v2 read
 * `traefik.docker.network` on services too; v3 still does, with a deprecation warning).
 */
export function networkLabel(provider: LabelProvider): string {
  return `traefik.${provider}.network`;
}

export function routingLabels(routing: RoutingSettings, provider: LabelProvider = 'docker'): Record<string, string> {
  const { service, rule, entrypoints, port, network } = routing;
  return {
    'traefik.enable': 'true',
    [networkLabel(provider)]: network,
    [`traefik.http.routers.${service}.rule`]: rule,
    [`traefik.http.routers.${service}.entrypoints`]: entrypoints.join(','),
    [`traefik.http.routers.${service}.service`]: service,
    [`traefik.http.services.${service}.loadbalancer.server.port`]: String(port),
  };
}

/** `iris-3f2a9c1b7d4e`: a version's own Traefik service and pinned router under file routing. */
export function versionServiceName(service: string, digest: string): string {
  return `${service}-${shortDigest(digest)}`;
}

/** The header a client sends to call one version on purpose, through its pinned router. */
export const VERSION_HEADER = 'X-Model-Version';

/**
 * File routing: a version's own labels. Its service `<service>-<version>` (port, network) and a
 * pinned router, the service's rule plus the version header, so a client can keep calling one
 * version. The main router and the weights live in the routing file, so versions never share a
 * label and never conflict.
 */
export function versionRoutingLabels(routing: RoutingSettings, digest: string, provider: LabelProvider = 'docker', healthCheck?: TraefikHealthCheck): Record<string, string> {
  const name = versionServiceName(routing.service, digest);
  const balancer = `traefik.http.services.${name}.loadbalancer`;
  return {
    'traefik.enable': 'true',
    [networkLabel(provider)]: routing.network,
    [`traefik.http.routers.${name}.rule`]: `(${routing.rule}) && Header(\`${VERSION_HEADER}\`, \`${shortDigest(digest)}\`)`,
    [`traefik.http.routers.${name}.entrypoints`]: routing.entrypoints.join(','),
    [`traefik.http.routers.${name}.service`]: name,
    [`${balancer}.server.port`]: String(routing.port),
    ...(healthCheck
      ? {
          [`${balancer}.healthcheck.path`]: healthCheck.path,
          [`${balancer}.healthcheck.interval`]: `${healthCheck.intervalMs}ms`,
          [`${balancer}.healthcheck.timeout`]: `${healthCheck.timeoutMs}ms`,
        }
      : {}),
  };
}

/**
 * Traefik's own HTTP health check of a version's servers (its load balancer's `healthcheck`): a
 * server that stops answering 2xx on `path` gets no requests until it answers again.
 */
export interface TraefikHealthCheck {
  path: string;
  intervalMs: number;
  timeoutMs: number;
}

/** Every `traefik.*` label on a container: the part Traefik compares between servers. */
export function traefikLabelsOf(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([key]) => key.startsWith('traefik.')));
}

/**
 * The routing labels that differ between a running server and a new one, as
 * `label: running → new` lines. Any difference makes Traefik drop the router for every server
 * of the service while both run, so deploy refuses it.
 */
export function routingDifferences(running: Record<string, string>, wanted: Record<string, string>): string[] {
  const a = traefikLabelsOf(running);
  const b = traefikLabelsOf(wanted);
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((key) => a[key] !== b[key]).map((key) => `${key}: ${a[key] ?? '(none)'} → ${b[key] ?? '(none)'}`);
}

export interface Provenance {
  gitSha?: string;
  runUrl?: string;
  pr?: number;
}

export interface ServerIdentity {
  service: string;
  image: string;
  digest: string;
  deployedAt: Date;
  /** null: never expires. */
  expiresAt: Date | null;
  drainSignal: string;
  provenance: Provenance;
  metrics?: MetricsSource;
}

export function toolkitLabels(server: ServerIdentity): Record<string, string> {
  return {
    [LABELS.managed]: 'true',
    [LABELS.service]: server.service,
    [LABELS.imageDigest]: server.digest,
    [LABELS.image]: server.image,
    [LABELS.deployedAt]: server.deployedAt.toISOString(),
    [LABELS.expiresAt]: server.expiresAt ? server.expiresAt.toISOString() : NEVER,
    [LABELS.gitSha]: server.provenance.gitSha ?? '',
    [LABELS.runUrl]: server.provenance.runUrl ?? '',
    [LABELS.pr]: server.provenance.pr !== undefined ? String(server.provenance.pr) : '',
    [LABELS.drainSignal]: server.drainSignal,
    ...(server.metrics?.port !== undefined ? { [LABELS.metricsPort]: String(server.metrics.port) } : {}),
    ...(server.metrics?.path !== undefined ? { [LABELS.metricsPath]: server.metrics.path } : {}),
    ...(server.metrics?.requestMetric !== undefined ? { [LABELS.requestMetric]: server.metrics.requestMetric } : {}),
  };
}

/** All labels of a new server: Traefik's routing labels and the toolkit's. */
export function serverLabels(routing: RoutingSettings, server: ServerIdentity, provider: LabelProvider = 'docker', mode: 'labels' | 'file' = 'labels', healthCheck?: TraefikHealthCheck): Record<string, string> {
  const traefik = mode === 'file' ? versionRoutingLabels(routing, server.digest, provider, healthCheck) : routingLabels(routing, provider);
  return { ...traefik, ...toolkitLabels(server) };
}

/** What retire learns from a container's labels; undefined fields were missing or unreadable. */
export interface ParsedServerLabels {
  managed: boolean;
  service?: string;
  digest?: string;
  image?: string;
  deployedAt?: Date;
  /** null: `never`; undefined: missing or unreadable. */
  expiresAt?: Date | null;
  drainSignal?: string;
  port?: number;
  network?: string;
  gitSha?: string;
  runUrl?: string;
  pr?: number;
  /** Where the request counter is; a label that does not parse counts as absent. */
  metrics: MetricsSource;
}

function parseDate(text: string | undefined): Date | undefined {
  if (!text) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

export function parseServerLabels(labels: Record<string, string> | undefined): ParsedServerLabels {
  const get = (key: string) => labels?.[key] || undefined;
  const service = get(LABELS.service);
  const expiresText = get(LABELS.expiresAt);
  // Label routing names the Traefik service after the service; file routing after the version.
  const portKey = Object.keys(labels ?? {}).find((key) => service !== undefined && key.startsWith(`traefik.http.services.${service}`) && key.endsWith('.loadbalancer.server.port'));
  const port = portKey ? Number(get(portKey)) : Number.NaN;
  const pr = Number(get(LABELS.pr));
  const metricsPort = Number(get(LABELS.metricsPort));
  const metricsPath = get(LABELS.metricsPath);
  const requestMetric = get(LABELS.requestMetric);
  return {
    managed: get(LABELS.managed) === 'true',
    service,
    digest: get(LABELS.imageDigest),
    image: get(LABELS.image),
    deployedAt: parseDate(get(LABELS.deployedAt)),
    expiresAt: expiresText === NEVER ? null : parseDate(expiresText),
    drainSignal: get(LABELS.drainSignal),
    port: Number.isInteger(port) && port > 0 ? port : undefined,
    network: get(networkLabel('docker')) ?? get(networkLabel('swarm')),
    gitSha: get(LABELS.gitSha),
    runUrl: get(LABELS.runUrl),
    pr: Number.isInteger(pr) && pr > 0 ? pr : undefined,
    metrics: {
      ...(Number.isInteger(metricsPort) && metricsPort > 0 && metricsPort <= 65535 ? { port: metricsPort } : {}),
      ...(metricsPath && isUrlPath(metricsPath) ? { path: metricsPath } : {}),
      ...(requestMetric && isMetricName(requestMetric) ? { requestMetric } : {}),
    },
  };
}

/** `sha256:0123456789abcdef…` → `0123456789ab`, the short form container names and tables show. */
export function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}
