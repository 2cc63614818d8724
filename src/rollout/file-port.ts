import { ResourceError } from '../inputs/errors';
import { AnswerTooLarge, getText } from '../http/get';
import type { Log } from '../serving/engine';
import { readServiceFigures } from '../traefik/metrics';
import { waitForIdle } from '../serving/idle';
import type { FileRouting, RoutingState } from '../serving/file-routing';
import { classCounts, jensenShannon, trafficFigures, type Figures } from './figures';
import { indexScrape, parseExposition, type Scrape } from './prometheus';
import type { Progress, RolloutPort, WindowFigures } from './rollout';

/**
 * The rollout port of `routing: file`: weights and the mirror are moved by rewriting the
 * service's routing file (one atomic rename, confirmed through Traefik's API), the rollout's
 * progress rides in the same file's state line, and the figures come from Traefik's /metrics and
 * the servers' own /metrics.
 */

/** Largest /metrics answer read. */
const MAX_METRICS_BYTES = 8 * 1024 * 1024;
const SCRAPE_TIMEOUT_MS = 5000;

export async function scrape(url: string): Promise<Scrape> {
  const answer = await getText(url, { timeoutMs: SCRAPE_TIMEOUT_MS, maxBytes: MAX_METRICS_BYTES }).catch((error: unknown) => {
    throw new ResourceError(`Metrics ${url}`, error instanceof AnswerTooLarge ? `answer larger than ${MAX_METRICS_BYTES} bytes` : `not readable (${error instanceof Error ? error.message : String(error)})`);
  });
  if (answer.status < 200 || answer.status >= 300) throw new ResourceError(`Metrics ${url}`, `answered HTTP ${answer.status}`);
  return indexScrape(parseExposition(answer.body));
}

/** A server's /metrics; an unreachable one counts nothing (its predictions are then not compared). */
async function scrapeServer(url: string): Promise<Scrape> {
  return scrape(`${url.replace(/\/+$/, '')}/metrics`).catch(() => new Map());
}

export interface FilePortOptions {
  file: FileRouting;
  /** The table as found (kept versions stay as they are). */
  table: RoutingState;
  stableRef: string;
  canaryRef: string;
  metricsUrl: string;
  /** Server base URLs (`http://ip:port`) of each version, for the prediction counters. */
  stableUrls: readonly string[];
  canaryUrls: readonly string[];
  timeoutMs: number;
  /** How long a withdrawn version's requests in flight may take to finish. */
  drainTimeoutMs: number;
  log: Log;
}

export class FileRolloutPort implements RolloutPort {
  private progress: Progress | undefined;
  private weights: { stable: number; canary: number; mirror: number } = { stable: 100, canary: 0, mirror: 0 };
  private promoted = false;

  constructor(private readonly options: FilePortOptions) {}

  private async publish(): Promise<void> {
    const { file, table, stableRef, canaryRef, timeoutMs, log } = this.options;
    const others = table.backends.filter((b) => b.service !== stableRef && b.service !== canaryRef).map((b) => ({ ...b, weight: 0 }));
    const backends = [...others, { service: stableRef, weight: this.weights.stable }, { service: canaryRef, weight: this.weights.canary }];
    const state: RoutingState = { backends, kept: table.kept };
    if (this.weights.mirror > 0) state.mirror = { service: canaryRef, percent: this.weights.mirror };
    if (this.progress) state.rollout = this.progress;
    await file.publish(state, log, timeoutMs);
  }

  async setWeight(weight: number): Promise<void> {
    this.weights = { stable: 100 - weight, canary: weight, mirror: 0 };
    await this.publish();
  }

  async mirror(percent: number): Promise<void> {
    this.weights = { stable: 100, canary: 0, mirror: percent };
    await this.publish();
  }

  async record(progress: Progress | undefined): Promise<void> {
    // A new step is written with its weight change, in the same rename; the end, and a failed
    // window counted within a step already routed, are written on their own (the weights stay).
    // After a promotion the record of the last held step stays until deploy's own write moves all
    // weight (a run killed in between resumes at that step and holds it once more); after a
    // rollback the stable-only table is already written.
    if (!progress && this.promoted) return;
    const before = this.progress;
    const routed = this.weights.canary > 0 || this.weights.mirror > 0;
    const ended = before !== undefined && !progress && routed;
    const sameStep = before !== undefined && progress !== undefined && before.phase === progress.phase && before.step === progress.step && routed;
    this.progress = progress;
    if (ended || sameStep) await this.publish();
  }

  async measure(): Promise<() => Promise<WindowFigures>> {
    const { metricsUrl, stableUrls, canaryUrls } = this.options;
    const read = () => Promise.all([scrape(metricsUrl), Promise.all(stableUrls.map(scrapeServer)), Promise.all(canaryUrls.map(scrapeServer))]);
    let before = await read();
    return async () => {
      const after = await read();
      const stableClasses = classCounts(before[1].map((b, i) => ({ before: b, after: after[1][i]! })));
      const canaryClasses = classCounts(before[2].map((b, i) => ({ before: b, after: after[2][i]! })));
      const stable: Figures = { ...trafficFigures(before[0], after[0], this.options.stableRef) };
      const canary: Figures = { ...trafficFigures(before[0], after[0], this.options.canaryRef) };
      const shift = jensenShannon(canaryClasses, stableClasses);
      if (shift !== undefined) canary.prediction_shift = shift;
      // Tumbling windows: this scrape ends one window and starts the next.
      before = after;
      return { stable, canary };
    };
  }

  /** Nothing to do here: deploy's own replace path moves the rest of the weight and drains the stable version. */
  promote(): Promise<void> {
    this.promoted = true;
    return Promise.resolve();
  }

  async rollback(): Promise<void> {
    this.weights = { stable: 100, canary: 0, mirror: 0 };
    this.progress = undefined;
    await this.publish();
    // Requests the new version still holds finish before its servers are removed.
    const idle = await waitForIdle(async () => {
      const figures = await readServiceFigures(this.options.metricsUrl, this.options.canaryRef);
      return { inFlight: figures?.open, requests: figures?.requests };
    }, this.options.drainTimeoutMs);
    if (idle) return;
    this.options.log.warning(`${this.options.canaryRef} still had requests in flight after the rollback; its servers are removed now`);
  }
}
