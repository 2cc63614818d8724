/**
 * Prometheus text exposition, read just enough to measure a window: samples by metric name and
 * labels, counter deltas between two scrapes (with counter resets), and a quantile from a
 * histogram's bucket deltas computed the way Prometheus' `histogram_quantile` does.
 */

export interface Sample {
  name: string;
  labels: ReadonlyMap<string, string>;
  value: number;
}

/** Metric names and label values come from a server the pull request may control: cap the work. */
const MAX_SAMPLES = 200_000;

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = LINE.exec(line);
    if (!match) continue;
    const value = parseValue(match[3]!);
    if (value === undefined) continue;
    const labels = new Map([...(match[2] ?? '').matchAll(LABEL)].map((m) => [m[1]!, unescape(m[2]!)] as const));
    samples.push({ name: match[1]!, labels, value });
    if (samples.length >= MAX_SAMPLES) break;
  }
  return samples;
}

function parseValue(text: string): number | undefined {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  const value = Number(text);
  return Number.isNaN(value) ? undefined : value;
}

function unescape(text: string): string {
  return text.replace(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c));
}

/** A scrape indexed by series: `name{k="v",…}` with labels sorted. */
export type Scrape = ReadonlyMap<string, Sample>;

export function seriesKey(name: string, labels: ReadonlyMap<string, string>): string {
  const parts = [...labels.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `${name}{${parts.join(',')}}`;
}

export function indexScrape(samples: readonly Sample[]): Scrape {
  return new Map(samples.map((sample) => [seriesKey(sample.name, sample.labels), sample]));
}

/**
 * What a counter series grew by between two scrapes. A value lower than before means the counter
 * was reset (the process restarted) in between: what it counted since the reset is its new value,
 * as Prometheus' `increase` assumes. A series absent before started at 0.
 */
export function counterDelta(before: Sample | undefined, after: Sample): number {
  if (!before) return after.value;
  return after.value >= before.value ? after.value - before.value : after.value;
}

/** Every series of `name` in `after` whose labels pass `match`, with its growth since `before`. */
export function deltas(before: Scrape, after: Scrape, name: string, match: (labels: ReadonlyMap<string, string>) => boolean): { labels: ReadonlyMap<string, string>; delta: number }[] {
  const out: { labels: ReadonlyMap<string, string>; delta: number }[] = [];
  for (const [key, sample] of after) {
    if (sample.name !== name || !match(sample.labels)) continue;
    out.push({ labels: sample.labels, delta: counterDelta(before.get(key), sample) });
  }
  return out;
}

export interface Bucket {
  /** Upper bound `le`, +Infinity for the last. */
  le: number;
  /** Cumulative count of observations ≤ le. */
  count: number;
}

/**
 * The q-quantile of a histogram given its cumulative buckets, as Prometheus' histogram_quantile
 * computes it: find the bucket holding rank q·total and interpolate linearly between its lower
 * and upper bounds (the lowest bucket's lower bound is 0 when its upper bound is positive); a rank
 * in the +Inf bucket answers the highest finite bound. Undefined when there is no observation.
 */
export function histogramQuantile(q: number, buckets: readonly Bucket[]): number | undefined {
  const sorted = [...buckets].filter((b) => !Number.isNaN(b.le)).sort((a, b) => a.le - b.le);
  if (sorted.length < 2 || sorted[sorted.length - 1]!.le !== Number.POSITIVE_INFINITY) return undefined;
  // Bucket deltas of a busy window may disagree slightly between scrapes: keep them monotonic.
  let running = 0;
  const monotonic = sorted.map((b) => ({ le: b.le, count: (running = Math.max(running, b.count)) }));
  const total = monotonic[monotonic.length - 1]!.count;
  if (total <= 0) return undefined;
  const rank = q * total;
  const index = monotonic.findIndex((b) => b.count >= rank);
  const bucket = monotonic[index]!;
  if (bucket.le === Number.POSITIVE_INFINITY) return monotonic[monotonic.length - 2]!.le;
  const lower = index === 0 ? (bucket.le > 0 ? 0 : bucket.le) : monotonic[index - 1]!.le;
  const below = index === 0 ? 0 : monotonic[index - 1]!.count;
  const inBucket = bucket.count - below;
  if (inBucket <= 0) return bucket.le;
  return lower + (bucket.le - lower) * ((rank - below) / inBucket);
}

/** A histogram's bucket deltas over the window, summed across the series that pass `match`. */
export function windowBuckets(before: Scrape, after: Scrape, name: string, match: (labels: ReadonlyMap<string, string>) => boolean): Bucket[] {
  const byBound = new Map<number, number>();
  for (const { labels, delta } of deltas(before, after, `${name}_bucket`, match)) {
    const le = parseValue(labels.get('le') ?? '');
    if (le === undefined) continue;
    byBound.set(le, (byBound.get(le) ?? 0) + delta);
  }
  return [...byBound.entries()].map(([le, count]) => ({ le, count }));
}
