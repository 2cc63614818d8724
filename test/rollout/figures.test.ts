import { describe, expect, it } from 'vitest';
import { classCounts, jensenShannon, trafficFigures } from '../../src/rollout/figures';
import { counterDelta, histogramQuantile, indexScrape, parseExposition, type Bucket } from '../../src/rollout/prometheus';

/** Traefik v3's per-service metrics for one service (names and labels as Traefik records them). */
function traefik(service: string, codes: Record<string, number>, buckets: Record<string, number>): string {
  const lines = ['# HELP traefik_service_requests_total How many HTTP requests processed on a service, partitioned by status code, protocol, and method.', '# TYPE traefik_service_requests_total counter'];
  for (const [code, n] of Object.entries(codes)) lines.push(`traefik_service_requests_total{code="${code}",method="POST",protocol="http",service="${service}"} ${n}`);
  lines.push('# TYPE traefik_service_request_duration_seconds histogram');
  for (const [le, n] of Object.entries(buckets)) lines.push(`traefik_service_request_duration_seconds_bucket{code="200",method="POST",protocol="http",service="${service}",le="${le}"} ${n}`);
  return lines.join('\n');
}
const scrape = (...texts: string[]) => indexScrape(parseExposition(texts.join('\n')));

describe('parseExposition', () => {
  it('reads names, escaped labels, +Inf and timestamps; skips comments and NaN', () => {
    const samples = parseExposition('# HELP x y\nx{a="q\\"uote",b="n\\\\l"} 3 1700000000\ny +Inf\nz NaN\nbroken line here');
    expect(samples.map((s) => [s.name, Object.fromEntries(s.labels), s.value])).toEqual([
      ['x', { a: 'q"uote', b: 'n\\l' }, 3],
      ['y', {}, Number.POSITIVE_INFINITY],
    ]);
  });
});

describe('counterDelta', () => {
  const s = (value: number) => ({ name: 'c', labels: new Map(), value });
  it.each<[number | undefined, number, number]>([
    [10, 25, 15],
    [10, 10, 0],
    [undefined, 7, 7], // new series: counted from 0
    [100, 4, 4], // reset: the process restarted and counted 4 since
  ])('%s → %s = %s', (before, after, delta) => expect(counterDelta(before === undefined ? undefined : s(before), s(after))).toBe(delta));
});

describe('histogramQuantile (as Prometheus interpolates)', () => {
  const b = (pairs: [number, number][]): Bucket[] => pairs.map(([le, count]) => ({ le, count }));
  it.each<[string, Bucket[], number | undefined]>([
    // 100 observations, rank 95 lies in (0.1, 0.25] holding 80..100: 0.1 + 0.15 * (95-80)/20
    [
      'interpolates within the bucket',
      b([
        [0.05, 50],
        [0.1, 80],
        [0.25, 100],
        [Infinity, 100],
      ]),
      0.1 + 0.15 * 0.75,
    ],
    [
      'first bucket starts at 0',
      b([
        [0.2, 100],
        [Infinity, 100],
      ]),
      0.19,
    ],
    [
      'rank in +Inf answers the highest finite bound',
      b([
        [0.1, 10],
        [0.5, 50],
        [Infinity, 100],
      ]),
      0.5,
    ],
    [
      'no observation',
      b([
        [0.1, 0],
        [Infinity, 0],
      ]),
      undefined,
    ],
    ['no +Inf bucket', b([[0.1, 5]]), undefined],
    [
      'unsorted input',
      b([
        [Infinity, 100],
        [0.25, 100],
        [0.05, 50],
        [0.1, 80],
      ]),
      0.1 + 0.15 * 0.75,
    ],
    [
      'non-monotonic deltas are evened',
      b([
        [0.05, 60],
        [0.1, 50],
        [0.25, 100],
        [Infinity, 100],
      ]),
      0.1 + (0.15 * (95 - 60)) / 40,
    ],
  ])('%s', (_what, buckets, expected) => {
    const value = histogramQuantile(0.95, buckets);
    if (expected === undefined) expect(value).toBeUndefined();
    else expect(value).toBeCloseTo(expected, 12);
  });
});

describe('trafficFigures: a window from two scrapes', () => {
  const buckets0 = { '0.005': 0, '0.05': 0, '0.5': 0, '+Inf': 0 };
  it('counter deltas, 5xx fraction and p95 per service, other services ignored', () => {
    const before = scrape(traefik('canary@docker', { '200': 100, '503': 10 }, { '0.005': 50, '0.05': 100, '0.5': 110, '+Inf': 110 }), traefik('stable@docker', { '200': 1000 }, buckets0));
    const after = scrape(
      traefik('canary@docker', { '200': 180, '503': 30, '500': 0 }, { '0.005': 50, '0.05': 100, '0.5': 210, '+Inf': 210 }),
      traefik('stable@docker', { '200': 5000 }, { '0.005': 4000, '0.05': 4000, '0.5': 4000, '+Inf': 4000 }),
    );
    const figures = trafficFigures(before, after, 'canary@docker');
    expect(figures.requests).toBe(100);
    expect(figures.error_rate).toBeCloseTo(0.2, 12);
    // 100 new observations all in (0.05, 0.5]: p95 = 0.05 + 0.45 * 0.95 s
    expect(figures.latency_p95_ms).toBeCloseTo((0.05 + 0.45 * 0.95) * 1000, 9);
    expect(trafficFigures(before, after, 'stable@docker').requests).toBe(4000);
  });

  it('a counter reset between scrapes counts what was counted since', () => {
    const before = scrape(traefik('v@file', { '200': 500, '500': 50 }, { '0.005': 0, '+Inf': 550 }));
    const after = scrape(traefik('v@file', { '200': 40, '500': 10 }, { '0.005': 0, '+Inf': 50 }));
    const figures = trafficFigures(before, after, 'v@file');
    expect(figures.requests).toBe(50);
    expect(figures.error_rate).toBeCloseTo(0.2, 12);
  });

  it('no request in the window: requests 0, no error rate or latency', () => {
    const text = traefik('v@file', { '200': 5 }, { '0.005': 5, '+Inf': 5 });
    expect(trafficFigures(scrape(text), scrape(text), 'v@file')).toEqual({ requests: 0 });
    expect(trafficFigures(scrape(''), scrape(''), 'v@file')).toEqual({ requests: 0 });
  });
});

describe('prediction shift', () => {
  const counts = (o: Record<string, number>) => new Map(Object.entries(o));
  it.each<[string, Record<string, number>, Record<string, number>, number | undefined]>([
    ['same mix', { a: 50, b: 30, c: 20 }, { a: 500, b: 300, c: 200 }, 0],
    ['disjoint', { a: 10 }, { b: 10 }, 1],
    // p=(1,0), q=(.5,.5), m=(.75,.25): 0.5*log2(1/.75) + 0.5*(.5*log2(.5/.75) + .5*log2(.5/.25))
    ['half shifted', { a: 10, b: 0 }, { a: 5, b: 5 }, 0.5 * Math.log2(4 / 3) + 0.25 * Math.log2(2 / 3) + 0.25],
    ['empty side', {}, { a: 1 }, undefined],
  ])('%s', (_what, p, q, expected) => {
    const value = jensenShannon(counts(p), counts(q));
    if (expected === undefined) expect(value).toBeUndefined();
    else expect(value).toBeCloseTo(expected, 12);
    expect(jensenShannon(counts(q), counts(p))).toBe(value);
  });

  it('classCounts sums the window over a version’s servers', () => {
    const c = (o: Record<string, number>) =>
      scrape(
        Object.entries(o)
          .map(([k, v]) => `model_server_predictions_total{class="${k}"} ${v}`)
          .join('\n'),
      );
    const counted = classCounts([
      { before: c({ setosa: 10, virginica: 5 }), after: c({ setosa: 15, virginica: 5, versicolor: 3 }) },
      { before: c({ setosa: 100 }), after: c({ setosa: 2 }) },
    ]);
    expect(Object.fromEntries(counted)).toEqual({ setosa: 7, virginica: 0, versicolor: 3 });
  });
});
