import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ResourceError } from '../inputs/errors';
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

async function walk(dir: string, top: boolean, into: ModelCheck): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      await walk(path, false, into);
      continue;
    }
    if (top && entry.name === PROVENANCE_FILE) continue;
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
export async function checkModelFolder(path: string, shown: string): Promise<ModelCheck> {
  const resource = `Model path "${shown}"`;
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
  await walk(path, true, check);
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

export async function writeProvenance(modelFolder: string, record: ProvenanceRecord): Promise<string> {
  const path = join(modelFolder, PROVENANCE_FILE);
  await writeFile(path, `${JSON.stringify(record, null, 2)}\n`);
  return path;
}
