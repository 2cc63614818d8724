import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import type { Engine } from '../engine/connection';
import { isInside, resolveInside } from '../files/resolve';
import { errorMessage, InputError, ResourceError, quote } from '../inputs/errors';
import { formatDuration } from '../inputs/parse';
import { loadMetricsFile, metricsToJson, type Metrics } from '../metrics/file';
import { describeGpu, probeGpus, type GpuRecord } from '../gpu/probe';
import { selectGpus, type GpuRequest, type SkippedGpu } from '../gpu/select';
import { StallDetector, TelemetrySampler, type GpuStats, type Stall, type TelemetryPoint } from '../gpu/telemetry';
import type { RunContext } from '../runtime/context';
import { checkModelFolder, gpuSummary, provenanceRecord, roundSeconds, writeProvenance, type GpuSummary, type ModelCheck } from './artifacts';
import { restoreTrainingCache, saveTrainingCache, type CachePlan, type CacheRestore, type CacheSave } from './cache';
import type { Cancellation } from './cancellation';
import { superviseContainer, type ContainerOutcome } from './container';
import { containerEnvironment, hostEnvironment } from './environment';
import { parseImageReference } from '../registry/reference';
import { superviseCommand, type CommandOutcome, type SupervisedCommand } from './supervise';

/** What the action asked for, parsed and checked. */
export interface TrainPlan {
  command: string;
  containerImage?: string;
  /** GITHUB_WORKSPACE: the folder a container gets mounted. */
  workspace: string;
  /** Absolute; the command runs here and relative paths below start here. */
  workingDirectory: string;
  gpus: GpuRequest;
  minFreeMemoryMiB?: number;
  /** As the user wrote them (relative to the working directory, or absolute). */
  modelPath: string;
  metricsFile: string;
  cache?: CachePlan;
  timeoutMs?: number;
  /** 0 turns telemetry off. */
  telemetryIntervalMs: number;
  /** The `env` input: variables for the command, in the runner and in a container alike. */
  env?: Record<string, string>;
}

/** Property signatures, not methods: callers hand `log.warning` on as a plain function. */
export interface TrainLog {
  info: (message: string) => void;
  warning: (message: string) => void;
}

export interface TrainDeps {
  log: TrainLog;
  context: RunContext;
  env: NodeJS.ProcessEnv;
  cancellation: Cancellation;
  /** For the script file; RUNNER_TEMP on a runner. */
  tempDir?: string;
  connectEngine: () => Promise<Engine>;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

/** SIGTERM to SIGKILL at the timeout: time for a checkpoint. */
export const TIMEOUT_GRACE_MS = 10_000;
/** On cancellation the runner kills the action ~10 s after its SIGINT, so training gets less. */
export const CANCEL_GRACE_MS = 5_000;
/** A worked GPU idle for this many samples in a row is reported as stalled (100 s at the default 5 s). */
export const STALL_WINDOW_SAMPLES = 20;

export interface TrainReport {
  plan: TrainPlan;
  /** Paths relative to the workspace, for messages and the summary. */
  shownModelPath: string;
  shownMetricsFile: string;
  modelPath: string;
  metricsFile: string;
  metrics?: Metrics;
  model?: ModelCheck;
  startedAt?: Date;
  finishedAt?: Date;
  durationSeconds?: number;
  imageId?: string;
  found: GpuRecord[];
  chosen: GpuRecord[];
  skipped: SkippedGpu[];
  stats: GpuStats[];
  gpus: GpuSummary[];
  series: TelemetryPoint[];
  stalls: Stall[];
  telemetryFailures: number;
  /** Samples that lacked a reading a GPU gave before training. */
  telemetryGaps: number;
  cacheRestore?: CacheRestore;
  cacheSave?: CacheSave;
  provenancePath?: string;
}

/** Training failed; carries what is known so far, so the summary can still show the GPUs. */
export class TrainingError extends Error {
  override readonly name = 'TrainingError';
  constructor(
    message: string,
    readonly report: TrainReport,
  ) {
    super(message);
  }
}

const inside = isInside;

/** Name MIG where the runner has it and say what `gpus` means there. */
function reportMig(found: GpuRecord[], log: TrainLog): void {
  for (const gpu of found.filter((g) => g.mig)) {
    const instances = gpu.mig!.map((instance) => `${instance.uuid} (${instance.profile})`).join(', ');
    log.info(
      `GPUs: ${gpu.index} ${gpu.name} has MIG on, with ${gpu.mig!.length} instance${gpu.mig!.length === 1 ? '' : 's'}: ${instances}. In gpus, all, a count, an index or a GPU- UUID mean whole GPUs; a MIG instance is used only when named by its MIG- UUID, which is what CUDA_VISIBLE_DEVICES then gets`,
    );
  }
}

/** CUDA will see less than was chosen: one MIG instance per process. */
function warnMigInstances(chosen: GpuRecord[], log: TrainLog): void {
  const instances = chosen.filter((gpu) => gpu.instanceOf);
  if (instances.length > 1) {
    log.warning(
      `GPUs: ${instances.length} MIG instances chosen, but CUDA lets one process use only one MIG instance: a single training process sees ${instances[0]!.uuid} alone; start one process per instance (each with its own CUDA_VISIBLE_DEVICES) to use them all`,
    );
  }
}

function shown(workspace: string, path: string): string {
  return inside(workspace, path) ? relative(workspace, path).split(sep).join('/') || '.' : path;
}

/** Checks of the plan against the file system, before anything runs. */
export function checkPlan(plan: TrainPlan): void {
  let info;
  try {
    info = statSync(plan.workingDirectory);
  } catch {
    throw new InputError('working-directory', `${quote(plan.workingDirectory)} does not exist`);
  }
  if (!info.isDirectory()) throw new InputError('working-directory', `${quote(plan.workingDirectory)} is not a folder`);
  if (plan.containerImage !== undefined) {
    parseImageReference(plan.containerImage, 'container-image');
    // Only the workspace is mounted into the container.
    if (!inside(plan.workspace, plan.workingDirectory)) {
      throw new InputError('working-directory', `must be inside the workspace (${plan.workspace}) with container-image, the only folder mounted; got ${quote(plan.workingDirectory)}`);
    }
    for (const [name, path] of [['model-path', plan.modelPath], ['metrics-file', plan.metricsFile], ...(plan.cache?.paths ?? []).map((p) => ['cache-path', p])] as const) {
      if (path.startsWith('~') || !inside(plan.workspace, resolve(plan.workingDirectory, path))) {
        throw new InputError(name, `must be inside the workspace (${plan.workspace}) with container-image, the only folder mounted; got ${quote(path)}`);
      }
    }
  }
}

type Outcome = CommandOutcome | ContainerOutcome;

function newReport(plan: TrainPlan): TrainReport {
  const modelPath = resolve(plan.workingDirectory, plan.modelPath);
  const metricsFile = resolve(plan.workingDirectory, plan.metricsFile);
  return {
    plan,
    modelPath,
    metricsFile,
    shownModelPath: shown(plan.workspace, modelPath),
    shownMetricsFile: shown(plan.workspace, metricsFile),
    found: [],
    chosen: [],
    skipped: [],
    stats: [],
    gpus: [],
    series: [],
    stalls: [],
    telemetryFailures: 0,
    telemetryGaps: 0,
  };
}

/** Phase: the GPUs the plan asks for, chosen among those nvidia-smi reports. */
async function chooseGpus(plan: TrainPlan, deps: TrainDeps, report: TrainReport): Promise<void> {
  if (plan.gpus.kind === 'none') {
    deps.log.info('GPUs: none asked for; nvidia-smi not consulted, CUDA_VISIBLE_DEVICES is empty');
    return;
  }
  report.found = await probeGpus({ env: deps.env });
  reportMig(report.found, deps.log);
  const selection = selectGpus(plan.gpus, report.found, plan.minFreeMemoryMiB);
  report.chosen = selection.chosen;
  report.skipped = selection.skipped;
  warnMigInstances(selection.chosen, deps.log);
  deps.log.info(`GPUs: using ${selection.chosen.map(describeGpu).join('; ')}`);
  for (const { gpu, reason } of selection.skipped) deps.log.info(`GPUs: not using ${describeGpu(gpu)}: ${reason}`);
}

/** Phase: what an earlier run left in the cache, restored before training. */
async function restoreCache(plan: TrainPlan, deps: TrainDeps, report: TrainReport): Promise<void> {
  if (!plan.cache) return;
  report.cacheRestore = await restoreTrainingCache(plan.cache, plan.workingDirectory, deps.log.warning);
  if (report.cacheRestore.status === 'hit' || report.cacheRestore.status === 'partial') deps.log.info(`Cache: restored ${report.cacheRestore.key}`);
  if (report.cacheRestore.status === 'miss') deps.log.info(`Cache: nothing saved yet under ${plan.cache.key} or its prefixes`);
}

/** Phase: GPU sampling during the run, warning of a GPU that stalls. */
function startTelemetry(plan: TrainPlan, deps: TrainDeps, report: TrainReport): { detector: StallDetector; sampler?: TelemetrySampler } {
  // nvidia-smi reports no per-instance memory or utilisation, so MIG instances are not sampled.
  const sampled = report.chosen.filter((gpu) => !gpu.instanceOf);
  if (sampled.length < report.chosen.length && plan.telemetryIntervalMs > 0) {
    deps.log.info('GPU telemetry: MIG instances are not sampled (nvidia-smi reports memory and utilisation per GPU, not per instance)');
  }
  const detector = new StallDetector(sampled, STALL_WINDOW_SAMPLES);
  if (sampled.length === 0 || plan.telemetryIntervalMs <= 0) return { detector };
  const sampler = new TelemetrySampler({
    gpus: sampled,
    intervalMs: plan.telemetryIntervalMs,
    onPoint: (point) => {
      for (const stall of detector.add(point)) {
        report.stalls.push(stall);
        const gpu = report.chosen.find((g) => g.uuid === stall.uuid)!;
        deps.log.warning(
          `GPU ${gpu.index} (${gpu.name}) has been at 0% utilisation for ${formatDuration(stall.toMs - stall.fromMs + plan.telemetryIntervalMs)} (${stall.samples} samples since ${formatDuration(stall.fromMs)} into the run): training may be stalled (a hung data loader, a deadlock, a collective waiting on another rank)`,
        );
      }
    },
    onError: (message) => deps.log.warning(`GPU telemetry: ${message} (warned once; the summary counts them)`),
  });
  return { detector, sampler };
}

/** Phase: the training command started, in the container image or on the runner. */
function startCommand(plan: TrainPlan, deps: TrainDeps, report: TrainReport, engine: Engine | undefined): SupervisedCommand & { outcome: Promise<Outcome> } {
  const graces = { timeoutMs: plan.timeoutMs, timeoutGraceMs: TIMEOUT_GRACE_MS, cancelGraceMs: CANCEL_GRACE_MS };
  if (!engine || plan.containerImage === undefined) {
    return superviseCommand({ script: plan.command, cwd: plan.workingDirectory, env: hostEnvironment(deps.env, report.chosen, plan.env), tempDir: deps.tempDir, ...graces });
  }
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  const env = containerEnvironment(deps.env, report.chosen, plan.workspace, plan.env);
  if (uid !== undefined && uid !== 0) env.HOME = '/tmp';
  return superviseContainer({
    engine,
    image: plan.containerImage,
    script: plan.command,
    workspace: plan.workspace,
    cwd: plan.workingDirectory,
    env,
    gpus: report.chosen,
    name: `train-to-serve-train-${deps.context.runId || 'local'}-${randomBytes(4).toString('hex')}`,
    labels: {
      'train-to-serve.role': 'training',
      'train-to-serve.git-sha': deps.context.sha,
      ...(deps.context.runUrl ? { 'train-to-serve.run-url': deps.context.runUrl } : {}),
    },
    user: uid !== undefined && gid !== undefined ? `${uid}:${gid}` : undefined,
    shmSizeBytes: Math.floor(totalmem() / 2),
    stdout: deps.stdout ?? process.stdout,
    stderr: deps.stderr ?? process.stderr,
    log: deps.log.info,
    dockerConfigDir: deps.env.DOCKER_CONFIG,
    ...graces,
  });
}

/** Phase: wait for the command, passing cancellation on, and collect the GPU figures. */
async function awaitCommand(supervised: SupervisedCommand & { outcome: Promise<Outcome> }, cancellation: Cancellation, sampler: TelemetrySampler | undefined, report: TrainReport): Promise<Outcome> {
  const unsubscribe = cancellation.subscribe((_signal, count) => {
    if (count === 1) supervised.stop({ reason: 'cancelled', signal: cancellation.signal });
    else supervised.kill();
  });
  if (cancellation.requested) supervised.stop({ reason: 'cancelled', signal: cancellation.signal });
  try {
    return await supervised.outcome;
  } catch (error) {
    throw new TrainingError(errorMessage(error), report);
  } finally {
    unsubscribe();
    await sampler?.stop();
    if (sampler) {
      report.stats = sampler.recorder.summary();
      report.series = sampler.recorder.timeSeries();
      report.telemetryFailures = sampler.failures;
      report.telemetryGaps = sampler.gaps;
    } else {
      report.stats = [];
    }
    // Chosen devices telemetry did not sample (MIG instances, or telemetry off) still appear, without figures.
    const sampledUuids = new Set(report.stats.map((gpu) => gpu.uuid));
    const unsampled = report.chosen.filter((gpu) => !sampledUuids.has(gpu.uuid)).map((gpu) => ({ ...gpu, peakMemoryMiB: null, meanUtilizationPercent: null, samples: 0 }));
    report.stats = [...report.stats, ...unsampled].sort((a, b) => a.index - b.index || a.uuid.localeCompare(b.uuid));
    report.gpus = gpuSummary(report.stats);
  }
}

/** Phase: how the command ended, recorded; any end but exit code 0 is the step's failure. */
function judgeOutcome(plan: TrainPlan, deps: TrainDeps, report: TrainReport, outcome: Outcome, detector: StallDetector): void {
  const fail = (message: string) => new TrainingError(message, report);
  report.startedAt = outcome.startedAt;
  report.finishedAt = outcome.finishedAt;
  report.durationSeconds = roundSeconds(outcome.finishedAt.getTime() - outcome.startedAt.getTime());
  if ('imageId' in outcome) report.imageId = outcome.imageId;
  const took = formatDuration(outcome.finishedAt.getTime() - outcome.startedAt.getTime());

  for (const idle of detector.neverUsed()) {
    const gpu = report.chosen.find((g) => g.uuid === idle.uuid)!;
    deps.log.warning(`GPU ${gpu.index} (${gpu.name}) reported 0% utilisation in all ${idle.samples} samples: the training never used it (running on the CPU, or on fewer GPUs than it was given?)`);
  }
  if (outcome.leftovers.length > 0) {
    deps.log.warning(`The training command exited but left ${outcome.leftovers.length} process${outcome.leftovers.length === 1 ? '' : 'es'} running (${outcome.leftovers.map((p) => `${p.pid} ${p.command}`).join(', ')}); they were stopped`);
  }
  if (outcome.stoppedBy) {
    const processes = outcome.stopped.length > 0 ? ` and the ${outcome.stopped.length} process${outcome.stopped.length === 1 ? '' : 'es'} it ran` : '';
    if (outcome.stoppedBy.reason === 'timeout') {
      throw fail(`Training exceeded timeout-minutes (${formatDuration(plan.timeoutMs ?? 0)}): stopped the training command${processes} after ${took} (SIGTERM, then SIGKILL after ${formatDuration(TIMEOUT_GRACE_MS)})`);
    }
    throw fail(`Training was cancelled (${outcome.stoppedBy.signal ?? 'cancellation'} received): stopped the training command${processes} after ${took}`);
  }
  if ('oomKilled' in outcome && outcome.oomKilled) {
    throw fail(`Training container ran out of memory and was killed by the kernel after ${took} (exit code ${outcome.exitCode})`);
  }
  if (outcome.signal) {
    const hint = outcome.signal === 'SIGKILL' ? ' (the kernel’s out-of-memory killer sends SIGKILL when the runner runs out of memory)' : '';
    throw fail(`Training command was killed by ${outcome.signal} after ${took}${hint}`);
  }
  if (outcome.exitCode !== 0) throw fail(`Training command failed with exit code ${outcome.exitCode} after ${took}`);
}

/**
 * Container mode: the job could write anything into the workspace, links included, and what it
 * left is read and written here on the host. A path is followed as the kernel would and used
 * only where it really is, and only when that is inside the workspace.
 */
async function confineToWorkspace(plan: TrainPlan, path: string, resource: string): Promise<string> {
  const root = await realpath(plan.workspace);
  const resolution = await resolveInside(root, relative(plan.workspace, path).split(sep).join('/'), { absolute: 'host' });
  if (resolution.kind === 'inside') return join(root, resolution.path);
  const where = resolution.kind === 'loop' ? 'is a loop of symlinks' : `resolves to ${quote(resolution.through, 200)}`;
  throw new ResourceError(resource, `${where}, outside the workspace (${root}); a training container may leave its results only inside it, and links out of it are refused`);
}

/** Phase: the model folder and metrics file the command left, checked, read and dated. */
async function checkResults(plan: TrainPlan, deps: TrainDeps, report: TrainReport, startedAt: Date): Promise<{ modelFolder: string }> {
  const container = plan.containerImage !== undefined;
  const modelResource = `Model path "${report.shownModelPath}"${container ? ' (model-path)' : ''}`;
  const metricsResource = `Metrics file "${report.shownMetricsFile}"${container ? ' (metrics-file)' : ''}`;
  let modelFolder = report.modelPath;
  let metricsFile = report.metricsFile;
  try {
    let workspaceRoot: string | undefined;
    if (container) {
      workspaceRoot = await realpath(plan.workspace);
      modelFolder = await confineToWorkspace(plan, report.modelPath, modelResource);
      metricsFile = await confineToWorkspace(plan, report.metricsFile, metricsResource);
    }
    report.model = await checkModelFolder(modelFolder, report.shownModelPath, { resource: modelResource, workspaceRoot });
    report.metrics = await loadMetricsFile(metricsFile, container ? metricsResource : undefined);
  } catch (error) {
    throw new TrainingError(errorMessage(error), report);
  }
  // Self-hosted runners keep their workspace between jobs: a model left by an earlier run passes
  // the checks above, so say when nothing in it is from this run.
  const slackMs = 2_000;
  if (report.model.newestMs < startedAt.getTime() - slackMs) {
    deps.log.warning(
      `Nothing in model path "${report.shownModelPath}" was written by this run (newest file from ${new Date(report.model.newestMs).toISOString()}, training started ${startedAt.toISOString()}): is it a model left by an earlier run?`,
    );
  }
  const metricsTime = (await stat(metricsFile)).mtimeMs;
  if (metricsTime < startedAt.getTime() - slackMs) {
    deps.log.warning(`Metrics file "${report.shownMetricsFile}" was not written by this run (last changed ${new Date(metricsTime).toISOString()}): are these an earlier run's metrics?`);
  }
  return { modelFolder };
}

/** Phase: the cache saved for the next run. */
async function saveCache(plan: TrainPlan, deps: TrainDeps, report: TrainReport): Promise<void> {
  if (!plan.cache || !report.cacheRestore) return;
  if (plan.containerImage !== undefined) {
    for (const path of plan.cache.paths) {
      try {
        await confineToWorkspace(plan, resolve(plan.workingDirectory, path), `Cache path "${path}" (cache-path)`);
      } catch (error) {
        // A cache is never a reason to fail the training, but nothing outside the workspace goes into it.
        deps.log.warning(`Cache not saved: ${errorMessage(error)}`);
        report.cacheSave = { status: 'failed', reason: errorMessage(error) };
        return;
      }
    }
  }
  report.cacheSave = await saveTrainingCache(plan.cache, report.cacheRestore, plan.workingDirectory, deps.log.warning);
  if (report.cacheSave.status === 'saved') deps.log.info(`Cache: saved ${report.cacheSave.key}`);
}

/** Phase: training.json, the run's provenance, written into the model folder. */
async function recordProvenance(plan: TrainPlan, deps: TrainDeps, report: TrainReport, outcome: Outcome, modelFolder: string): Promise<void> {
  const record = provenanceRecord({
    context: deps.context,
    command: plan.command,
    containerImage: plan.containerImage !== undefined && report.imageId ? { reference: plan.containerImage, id: report.imageId } : undefined,
    workingDirectory: shown(plan.workspace, plan.workingDirectory),
    startedAt: outcome.startedAt,
    finishedAt: outcome.finishedAt,
    gpus: report.gpus,
    metricsFile: report.shownMetricsFile,
    metrics: metricsToJson(report.metrics!),
    cache: plan.cache
      ? {
          key: plan.cache.key,
          restoredFrom: report.cacheRestore?.status === 'hit' || report.cacheRestore?.status === 'partial' ? report.cacheRestore.key : undefined,
        }
      : undefined,
  });
  try {
    report.provenancePath = join(report.modelPath, relative(modelFolder, await writeProvenance(modelFolder, record)));
  } catch (error) {
    throw new TrainingError(new ResourceError(`Model path "${report.shownModelPath}"`, `cannot write training.json: ${errorMessage(error)}`).message, report);
  }
}

export async function train(plan: TrainPlan, deps: TrainDeps): Promise<TrainReport> {
  const report = newReport(plan);
  const checkCancelled = () => {
    if (deps.cancellation.requested) throw new TrainingError(`Training was cancelled (${deps.cancellation.signal} received) before training started`, report);
  };
  checkPlan(plan);
  const engine = plan.containerImage !== undefined ? await deps.connectEngine() : undefined;
  await chooseGpus(plan, deps, report);
  checkCancelled();
  await restoreCache(plan, deps, report);
  checkCancelled();

  const { detector, sampler } = startTelemetry(plan, deps, report);
  const outcome = await awaitCommand(startCommand(plan, deps, report, engine), deps.cancellation, sampler, report);
  judgeOutcome(plan, deps, report, outcome, detector);
  const { modelFolder } = await checkResults(plan, deps, report, outcome.startedAt);
  await saveCache(plan, deps, report);
  await recordProvenance(plan, deps, report, outcome, modelFolder);
  return report;
}
