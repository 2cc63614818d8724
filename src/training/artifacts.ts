import { randomBytes } from 'node:crypto';
import { readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { resolveInside } from '../files/resolve';
import { ResourceError, quote } from '../inputs/errors';
import type { MetricValue } from '../metrics/file';
import type { GpuStats } from '../gpu/telemetry';
import type { RunContext } from '../runtime/context';

/** The provenance record's file name inside the model folder; reserved. */
export const PROVENANCE_FILE = 'training.json';

export interface ModelCheck {
  files: number;
  bytes: number;
  /** Newest modification time of any file, to tell a fresh model from a stale one. */
  newestMs: number;
}

/** Where the model's symlinks may lead: the workspace a training container could write. */
interface Confinement {
  /** The workspace's real path (no symlinks in it). */
  root: string;
  model: string;
  resource: string;
}

async function walk(dir: string, top: boolean, into: ModelCheck, confine?: Confinement): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      await walk(path, false, into, confine);
      continue;
    }
    // Reserved: replaced by this run's record (never written through, see writeProvenance).
    if (top && entry.name === PROVENANCE_FILE) continue;
    if (confine && entry.isSymbolicLink()) {
      const resolution = await resolveInside(confine.root, relative(confine.root, path).split(sep).join('/'), { absolute: 'host' });
      if (resolution.kind !== 'inside') {
        const name = relative(confine.model, path).split(sep).join('/');
        const where = resolution.kind === 'loop' ? 'that loops' : `that resolves to ${quote(resolution.through, 200)}`;
        throw new ResourceError(confine.resource, `holds ${quote(name)}, a symlink ${where} outside the workspace (${confine.root}); a training container may leave links only to files inside it`);
      }
    }
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) continue;
    into.files += 1;
    into.bytes += info.size;
    into.newestMs = Math.max(into.newestMs, info.mtimeMs);
  }
}

/**
 * The model folder the training wrote: it must exist, be a folder (training.json goes inside it
 * so provenance travels with the model into the image), and hold at least one file besides a
 * training.json from an earlier run.
 */
export async function checkModelFolder(path: string, shown: string, options: { resource?: string; workspaceRoot?: string } = {}): Promise<ModelCheck> {
  const resource = options.resource ?? `Model path "${shown}"`;
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new ResourceError(resource, `does not exist after training (${path}): the training command succeeded but wrote no model there`);
  }
  if (!info.isDirectory()) {
    throw new ResourceError(resource, `is a file; it must be a folder holding the model, so ${PROVENANCE_FILE} can be written beside it (save to e.g. ${shown}/model.pt with model-path: ${shown})`);
  }
  const check: ModelCheck = { files: 0, bytes: 0, newestMs: 0 };
  await walk(path, true, check, options.workspaceRoot === undefined ? undefined : { root: options.workspaceRoot, model: path, resource });
  if (check.files === 0) throw new ResourceError(resource, `is empty after training (${path}): the training command succeeded but wrote no model files`);
  return check;
}

export interface ProvenanceRecord {
  schema: 'train-to-serve/training/v1';
  repository?: string;
  commit: string;
  ref: string;
  pullRequest?: { number: number; headSha: string };
  runUrl?: string;
  runId: string;
  runAttempt: string;
  workflow: string;
  job: string;
  command: string;
  containerImage?: { reference: string; id: string };
  workingDirectory: string;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  gpus: GpuSummary[];
  metricsFile: string;
  metrics: Record<string, MetricValue>;
  cache?: { key: string; restoredFrom?: string };
}

/** A GPU's figures over the run, as the summary and the run record carry them. */
export type GpuSummary = GpuStats;

export function gpuSummary(stats: GpuStats[]): GpuSummary[] {
  return stats.map(({ index, uuid, name, memoryTotalMiB, peakMemoryMiB, meanUtilizationPercent, samples }) => ({
    index,
    uuid,
    name,
    memoryTotalMiB,
    peakMemoryMiB,
    meanUtilizationPercent,
    samples,
  }));
}

export function roundSeconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}

export interface ProvenanceInput {
  context: RunContext;
  command: string;
  containerImage?: { reference: string; id: string };
  workingDirectory: string;
  startedAt: Date;
  finishedAt: Date;
  gpus: GpuSummary[];
  metricsFile: string;
  metrics: Record<string, MetricValue>;
  cache?: { key: string; restoredFrom?: string };
}

export function provenanceRecord(input: ProvenanceInput): ProvenanceRecord {
  const { context } = input;
  return {
    schema: 'train-to-serve/training/v1',
    repository: context.repository ? `${context.repository.owner}/${context.repository.repo}` : undefined,
    commit: context.sha,
    ref: context.ref,
    pullRequest: context.pullRequest ? { number: context.pullRequest.number, headSha: context.pullRequest.headSha } : undefined,
    runUrl: context.runUrl,
    runId: context.runId,
    runAttempt: context.runAttempt,
    workflow: context.workflow,
    job: context.job,
    command: input.command,
    containerImage: input.containerImage,
    workingDirectory: input.workingDirectory,
    startedAt: input.startedAt.toISOString(),
    finishedAt: input.finishedAt.toISOString(),
    durationSeconds: roundSeconds(input.finishedAt.getTime() - input.startedAt.getTime()),
    gpus: input.gpus,
    metricsFile: input.metricsFile,
    metrics: input.metrics,
    cache: input.cache,
  };
}

/**
 * Write training.json as a file of our own, never through whatever the training left under that
 * name: a new file (O_CREAT|O_EXCL, which refuses to follow a link) renamed over the old entry,
 * so a `training.json -> ~/.gitconfig` link is replaced, not written through.
 */
export async function writeProvenance(modelFolder: string, record: ProvenanceRecord): Promise<string> {
  const path = join(modelFolder, PROVENANCE_FILE);
  const temporary = join(modelFolder, `.${PROVENANCE_FILE}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, `${JSON.stringify(record, null, 2)}\n`, { flag: 'wx', mode: 0o644 });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return path;
}
