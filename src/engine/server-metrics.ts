import { errorMessage } from '../inputs/errors';
import { AnswerTooLarge, getText } from '../http/get';
import type { RequestCount } from '../serving/engine';
import type { MetricsSource } from '../serving/server-inputs';

/**
 * Reading a prediction server's own Prometheus metrics. Traefik has no per-server request
 * counter (docs/traefik.md), so whether a server is in use, and whether requests are still in flight
 * while it drains, comes from the server. The reference server exposes the first name of each
 * list; the others are common names other servers use.
 */
export const REQUEST_COUNTERS = ['model_server_predict_requests_total', 'http_requests_total'];
export const IN_FLIGHT_GAUGES = ['model_server_predict_in_flight', 'http_requests_in_flight'];

/**
 * Sum of every sample of the first metric in `names` that the text has, or undefined. A metric
 * declared (`# TYPE name …`) without samples is 0: client libraries print no sample of a labelled
 * counter until it has counted something.
 */
export function sumOfMetric(text: string, names: readonly string[]): number | undefined {
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    const declared = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) /.exec(line);
    if (declared && names.includes(declared[1]!)) {
      if (!sums.has(declared[1]!)) sums.set(declared[1]!, 0);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (!match || !names.includes(match[1]!)) continue;
    const value = Number(match[3]);
    if (Number.isFinite(value)) sums.set(match[1]!, (sums.get(match[1]!) ?? 0) + value);
  }
  for (const name of names) if (sums.has(name)) return sums.get(name);
  return undefined;
}

/**
 * The metrics page of the server at `serverUrl` (`http://<ip>:<serving port>`): on deploy's
 * `metrics-port` and `metrics-path` when they were given, else the serving port's `/metrics`.
 */
export function metricsUrl(serverUrl: string, source: MetricsSource = {}): string {
  const url = new URL(serverUrl);
  if (source.port !== undefined) url.port = String(source.port);
  return `${url.origin}${source.path ?? '/metrics'}`;
}

/**
 * The server's request counter (deploy's `request-metric`, else the first of REQUEST_COUNTERS it
 * has) and in-flight gauge, read from its metrics page. `source`: the server's metrics labels.
 */
export async function readRequestCount(serverUrl: string | undefined, timeoutMs = 2000, source: MetricsSource = {}): Promise<RequestCount> {
  if (!serverUrl) return { readable: false, problem: 'the server has no address on its network' };
  const url = metricsUrl(serverUrl, source);
  let text: string;
  try {
    const response = await getText(url, { timeoutMs, maxBytes: MAX_METRICS_ANSWER_BYTES });
    text = response.body;
    if (response.status !== 200) return { readable: false, problem: `GET ${url} answered ${response.status}` };
  } catch (error) {
    const reason = error instanceof AnswerTooLarge ? `${error.message}, more than any metrics page; not read further` : errorMessage(error);
    return { readable: false, problem: `GET ${url} failed (${reason})` };
  }
  const counters = source.requestMetric ? [source.requestMetric] : REQUEST_COUNTERS;
  const requests = sumOfMetric(text, counters);
  if (requests === undefined) return { readable: false, problem: `${url} has no request counter (${counters.join(' or ')})` };
  return { readable: true, requests, inFlight: sumOfMetric(text, IN_FLIGHT_GAUGES) };
}

/** Far more than any server's exposition (vLLM's is ~100 KiB); an answer past it is not read on. */
export const MAX_METRICS_ANSWER_BYTES = 4 * 1024 * 1024;
