import { deltas, histogramQuantile, windowBuckets, type Scrape } from './prometheus';
import type { Figure } from './spec';

/**
 * The figures of one version in one analysis window, from two scrapes of Traefik's per-service
 * metrics (Traefik v3: `traefik_service_requests_total{code,method,protocol,service}` and the
 * histogram `traefik_service_request_duration_seconds{code,method,protocol,service}`), and the
 * class distributions from the servers' own prediction counters.
 */

export const TRAEFIK_REQUESTS = 'traefik_service_requests_total';
export const TRAEFIK_DURATION = 'traefik_service_request_duration_seconds';
/** The reference server's per-class counter (server/src/metrics.ts), label `class`. */
export const DEFAULT_PREDICTION_METRIC = 'model_server_predictions_total';

export type Figures = Partial<Record<Figure, number>>;

export interface TrafficFigures {
  requests: number;
  /** Fraction of requests answered 5xx; undefined without a request. */
  error_rate?: number;
  /** 95th percentile of Traefik's duration histogram in ms, interpolated within buckets. */
  latency_p95_ms?: number;
}

/** One Traefik service's (a version's) traffic figures between two scrapes of /metrics. */
export function trafficFigures(before: Scrape, after: Scrape, service: string): TrafficFigures {
  const ofService = (labels: ReadonlyMap<string, string>): boolean => labels.get('service') === service;
  const counts = deltas(before, after, TRAEFIK_REQUESTS, ofService);
  const requests = sum(counts.map((c) => c.delta));
  const errors = sum(counts.filter((c) => /^5\d\d$/.test(c.labels.get('code') ?? '')).map((c) => c.delta));
  const figures: TrafficFigures = { requests };
  if (requests > 0) figures.error_rate = errors / requests;
  const p95 = histogramQuantile(0.95, windowBuckets(before, after, TRAEFIK_DURATION, ofService));
  if (p95 !== undefined) figures.latency_p95_ms = p95 * 1000;
  return figures;
}

/** Class → predictions counted in the window, summed over the version's servers' scrapes. */
export function classCounts(pairs: readonly { before: Scrape; after: Scrape }[], metric = DEFAULT_PREDICTION_METRIC, label = 'class'): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { before, after } of pairs) {
    for (const { labels, delta } of deltas(before, after, metric, (l) => l.has(label))) {
      const name = labels.get(label)!;
      counts.set(name, (counts.get(name) ?? 0) + delta);
    }
  }
  return counts;
}

/**
 * Jensen–Shannon divergence (base 2, so between 0 for the same mix and 1 for disjoint ones)
 * between two class distributions given as counts. Chosen over the population stability index
 * because it stays finite when a class is absent on one side (PSI divides by zero there) and is
 * symmetric, so "stable vs canary" and "canary vs stable" agree. Undefined when a side counted
 * nothing.
 */
export function jensenShannon(p: ReadonlyMap<string, number>, q: ReadonlyMap<string, number>): number | undefined {
  const totalP = sum([...p.values()]);
  const totalQ = sum([...q.values()]);
  if (totalP <= 0 || totalQ <= 0) return undefined;
  let divergence = 0;
  for (const name of new Set([...p.keys(), ...q.keys()])) {
    const a = (p.get(name) ?? 0) / totalP;
    const b = (q.get(name) ?? 0) / totalQ;
    const m = (a + b) / 2;
    if (a > 0) divergence += 0.5 * a * Math.log2(a / m);
    if (b > 0) divergence += 0.5 * b * Math.log2(b / m);
  }
  return Math.min(1, Math.max(0, divergence));
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
