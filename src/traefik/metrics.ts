import { getText } from '../http/get';

/**
 * Traefik's Prometheus metrics per service (`metrics.prometheus`, served on the `traefik` entry
 * point beside the API by default): `traefik_service_requests_total{code,method,protocol,service}`
 * counts requests a service answered (when they end). Traefik v2 also has
 * `traefik_service_open_connections{method,protocol,service}`, the ones in progress; v3 replaced it
 * with `traefik_open_connections{entrypoint,protocol}`, which names no service (Traefik's
 * migration notes, v2 to v3). Services are named with their provider (`iris-3f2a9c1b7d4e@docker`).
 */
export interface ServiceFigures {
  requests: number;
  /** Requests in progress; undefined when Traefik exposes no per-service gauge (v3). */
  open?: number;
}

/** Largest /metrics answer read: Traefik's is a few hundred kB even with many services. */
const MAX_BYTES = 8 * 1024 * 1024;

/** Sum each named metric's samples whose `service` label is `service`. Missing samples are 0. */
export function serviceFigures(text: string, service: string): ServiceFigures {
  const figures: ServiceFigures = { requests: 0 };
  let hasOpenGauge = false;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(traefik_service_requests_total|traefik_service_open_connections)\{(.*)\}\s+(\S+)/.exec(line);
    if (!match) continue;
    if (match[1] === 'traefik_service_open_connections') hasOpenGauge = true;
    const labels = new Map([...match[2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!.replace(/\\(.)/g, '$1')]));
    if (labels.get('service') !== service) continue;
    const value = Number(match[3]);
    if (!Number.isFinite(value)) continue;
    if (match[1] === 'traefik_service_requests_total') figures.requests += value;
    else figures.open = (figures.open ?? 0) + value;
  }
  if (hasOpenGauge) figures.open ??= 0;
  return figures;
}

/** GET `<url>` (Traefik's /metrics) and read one service's figures; undefined when unreadable. */
export async function readServiceFigures(metricsUrl: string, service: string, timeoutMs = 3000): Promise<ServiceFigures | undefined> {
  const text = await getText(metricsUrl, { timeoutMs, maxBytes: MAX_BYTES }).then(
    (answer) => (answer.status === 200 ? answer.body : undefined),
    () => undefined,
  );
  if (text === undefined || !text.includes('traefik_')) return undefined;
  return serviceFigures(text, service);
}
