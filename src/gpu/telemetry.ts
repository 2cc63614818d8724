import { interpretNvidiaSmi, runNvidiaSmi, type CommandResult, type GpuRecord } from './probe';
import { errorMessage } from '../inputs/errors';

/**
 * GPU telemetry while training runs: one nvidia-smi at a time, the next started only after the
 * previous has exited (never two at once, never a pile-up behind a slow driver), at most every
 * `intervalMs`. Keeps exact per-GPU statistics and a bounded time series for the chart.
 */

export interface GpuSample {
  utilizationPercent: number | null;
  memoryUsedMiB: number | null;
}

export interface TelemetryPoint {
  /** Milliseconds since sampling started. */
  atMs: number;
  /** By GPU UUID. */
  gpus: Record<string, GpuSample>;
}

export interface GpuStats {
  index: number;
  uuid: string;
  name: string;
  memoryTotalMiB: number | null;
  /** Highest memory.used seen while training ran (includes other processes on a shared GPU). */
  peakMemoryMiB: number | null;
  /** Mean of utilization.gpu over the samples that had a value. */
  meanUtilizationPercent: number | null;
  samples: number;
}

/** Accumulates samples into exact statistics and a time series that never grows past `maxPoints`. */
export class TelemetryRecorder {
  private readonly stats = new Map<string, { gpu: GpuRecord; peak: number | null; utilSum: number; utilCount: number; samples: number }>();
  private series: TelemetryPoint[] = [];
  /** Each stored point stands for this many samples (doubles whenever the series is halved). */
  private stride = 1;
  private pending: TelemetryPoint[] = [];

  constructor(
    gpus: GpuRecord[],
    private readonly maxPoints = 2048,
  ) {
    for (const gpu of gpus) this.stats.set(gpu.uuid, { gpu, peak: null, utilSum: 0, utilCount: 0, samples: 0 });
  }

  /**
   * Record one nvidia-smi answer; GPUs that were not chosen are ignored. A chosen GPU missing from
   * the answer, or a failed sample (no records), is a gap: null readings, never zeros.
   */
  add(atMs: number, records: GpuRecord[]): TelemetryPoint {
    const point: TelemetryPoint = { atMs, gpus: {} };
    for (const uuid of this.stats.keys()) point.gpus[uuid] = { utilizationPercent: null, memoryUsedMiB: null };
    for (const record of records) {
      const entry = this.stats.get(record.uuid);
      if (!entry) continue;
      entry.samples += 1;
      if (record.memoryUsedMiB !== null) entry.peak = Math.max(entry.peak ?? 0, record.memoryUsedMiB);
      if (record.utilizationPercent !== null) {
        entry.utilSum += record.utilizationPercent;
        entry.utilCount += 1;
      }
      point.gpus[record.uuid] = { utilizationPercent: record.utilizationPercent, memoryUsedMiB: record.memoryUsedMiB };
    }
    this.pending.push(point);
    if (this.pending.length >= this.stride) {
      this.series.push(mergePoints(this.pending));
      this.pending = [];
      if (this.series.length >= this.maxPoints) {
        const halved: TelemetryPoint[] = [];
        for (let i = 0; i < this.series.length; i += 2) halved.push(mergePoints(this.series.slice(i, i + 2)));
        this.series = halved;
        this.stride *= 2;
      }
    }
    return point;
  }

  summary(): GpuStats[] {
    return [...this.stats.values()]
      .map(({ gpu, peak, utilSum, utilCount, samples }) => ({
        index: gpu.index,
        uuid: gpu.uuid,
        name: gpu.name,
        memoryTotalMiB: gpu.memoryTotalMiB,
        peakMemoryMiB: peak,
        meanUtilizationPercent: utilCount === 0 ? null : Math.round((utilSum / utilCount) * 10) / 10,
        samples,
      }))
      .sort((a, b) => a.index - b.index);
  }

  timeSeries(): TelemetryPoint[] {
    return this.pending.length ? [...this.series, mergePoints(this.pending)] : [...this.series];
  }
}

/** Several points as one: mean utilisation, peak memory, the first point's time. */
export function mergePoints(points: TelemetryPoint[]): TelemetryPoint {
  if (points.length === 1) return points[0]!;
  const uuids = new Set(points.flatMap((point) => Object.keys(point.gpus)));
  const gpus: Record<string, GpuSample> = {};
  for (const uuid of uuids) {
    const utils = points.map((p) => p.gpus[uuid]?.utilizationPercent).filter((v): v is number => typeof v === 'number');
    const mems = points.map((p) => p.gpus[uuid]?.memoryUsedMiB).filter((v): v is number => typeof v === 'number');
    gpus[uuid] = {
      utilizationPercent: utils.length ? utils.reduce((a, b) => a + b, 0) / utils.length : null,
      memoryUsedMiB: mems.length ? Math.max(...mems) : null,
    };
  }
  return { atMs: points[0]!.atMs, gpus };
}

export interface Stall {
  uuid: string;
  index: number;
  /** Time of the first idle sample of the stretch. */
  fromMs: number;
  toMs: number;
  samples: number;
}

/**
 * Stall detection, fed one sample at a time. A GPU that has worked and then reports 0%
 * utilisation for `windowSamples` samples in a row is stalled (a dead data loader, a deadlock, a
 * hung collective); it is reported once per idle stretch, the moment the stretch reaches the
 * window. Idle time before a GPU's first work is start-up (imports, data loading), not a stall:
 * a GPU that never works at all is reported by `neverUsed` at the end instead.
 */
export class StallDetector {
  private readonly state = new Map<string, { index: number; worked: boolean; idleFrom: number | null; idleSamples: number; reported: boolean; samples: number }>();

  constructor(
    gpus: Pick<GpuRecord, 'uuid' | 'index'>[],
    readonly windowSamples: number,
  ) {
    for (const gpu of gpus) this.state.set(gpu.uuid, { index: gpu.index, worked: false, idleFrom: null, idleSamples: 0, reported: false, samples: 0 });
  }

  /** Feed a sample; returns the stalls that just reached the window. */
  add(point: TelemetryPoint): Stall[] {
    const stalls: Stall[] = [];
    for (const [uuid, state] of this.state) {
      const util = point.gpus[uuid]?.utilizationPercent;
      if (util === undefined || util === null) continue;
      state.samples += 1;
      if (util > 0) {
        state.worked = true;
        state.idleFrom = null;
        state.idleSamples = 0;
        state.reported = false;
        continue;
      }
      if (!state.worked) continue;
      state.idleFrom ??= point.atMs;
      state.idleSamples += 1;
      if (state.idleSamples >= this.windowSamples && !state.reported) {
        state.reported = true;
        stalls.push({ uuid, index: state.index, fromMs: state.idleFrom, toMs: point.atMs, samples: state.idleSamples });
      }
    }
    return stalls;
  }

  /** GPUs that reported 0% in every one of at least `windowSamples` samples. */
  neverUsed(): { uuid: string; index: number; samples: number }[] {
    return [...this.state].filter(([, s]) => !s.worked && s.samples >= this.windowSamples).map(([uuid, s]) => ({ uuid, index: s.index, samples: s.samples }));
  }
}

/** Readings the chosen GPUs gave before training but not in this sample: a GPU gone, or a cell like `[Unknown Error]`. */
export function missingReadings(chosen: GpuRecord[], records: GpuRecord[]): string[] {
  const missing: string[] = [];
  for (const gpu of chosen) {
    const now = records.find((record) => record.uuid === gpu.uuid);
    if (!now) {
      missing.push(`GPU ${gpu.index} (not in nvidia-smi's answer)`);
      continue;
    }
    const lost = (Object.keys(now.unknown) as (keyof GpuRecord['unknown'])[]).filter((field) => gpu.unknown[field] === undefined);
    if (lost.length > 0) missing.push(`GPU ${gpu.index} ${lost.map((field) => `${field} (nvidia-smi printed ${now.unknown[field]})`).join(', ')}`);
  }
  return missing;
}

export interface SamplerOptions {
  gpus: GpuRecord[];
  intervalMs: number;
  /** Runs nvidia-smi; replaced in tests of the scheduling alone. */
  run?: (registerKill: (kill: () => void) => void) => Promise<CommandResult>;
  onPoint?: (point: TelemetryPoint) => void;
  /** Called once, on the first failed sample or missing reading; sampling carries on. */
  onError?: (message: string) => void;
  now?: () => number;
  maxPoints?: number;
}

/** Starts sampling at once; `stop()` ends it, kills a sample in flight, and resolves when nothing is left running. */
export class TelemetrySampler {
  readonly recorder: TelemetryRecorder;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private killCurrent: (() => void) | undefined;
  private readonly loop: Promise<void>;
  private readonly startedAt: number;
  private readonly now: () => number;
  /** Samples that failed outright: a gap for every GPU. */
  failures = 0;
  /** Samples that lacked a reading a GPU gave before training (`[Unknown Error]` in a cell, a GPU missing). */
  gaps = 0;
  private reportedError = false;

  constructor(private readonly options: SamplerOptions) {
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.recorder = new TelemetryRecorder(options.gpus, options.maxPoints);
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const timeoutMs = Math.max(10_000, this.options.intervalMs * 2);
    const run = this.options.run ?? ((register) => runNvidiaSmi({ timeoutMs, onSpawn: register }));
    while (!this.stopped) {
      const began = this.now();
      const result = await run((kill) => (this.killCurrent = kill));
      this.killCurrent = undefined;
      if (this.stopped) break;
      let records: GpuRecord[] = [];
      try {
        records = interpretNvidiaSmi(result);
      } catch (error) {
        this.failures += 1;
        this.report(`a sample failed, sampling continues and the series has a gap: ${errorMessage(error)}`);
      }
      const missing = records.length > 0 ? missingReadings(this.options.gpus, records) : [];
      if (missing.length > 0) {
        this.gaps += 1;
        this.report(`a sample lacked ${missing.join('; ')}: left as a gap in the series, sampling continues`);
      }
      try {
        const point = this.recorder.add(began - this.startedAt, records);
        this.options.onPoint?.(point);
      } catch (error) {
        this.report(`a sample could not be recorded: ${errorMessage(error)}`);
      }
      const wait = Math.max(0, this.options.intervalMs - (this.now() - began));
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, wait);
      });
    }
  }

  private report(message: string): void {
    if (this.reportedError) return;
    this.reportedError = true;
    this.options.onError?.(message);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    this.killCurrent?.();
    await this.loop;
  }
}
