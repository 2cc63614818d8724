import { InputError, ResourceError, quote } from '../inputs/errors';
import { describeGpu, freeMemoryMiB, type GpuRecord } from './probe';

/**
 * Which GPUs a training run gets. Pure: the request and nvidia-smi's records in, the choice (or a
 * message saying what was found) out.
 */
export type GpuRequest =
  | { kind: 'none' }
  | { kind: 'all' }
  | { kind: 'count'; count: number }
  /** By nvidia-smi index or by UUID (`GPU-…`), in the order given. */
  | { kind: 'ids'; ids: string[] };

const UUID = /^(GPU|MIG)-[0-9a-zA-Z-]+$/;

/**
 * `all`, `none`, a count (`2`), or ids: `0,3`, `device=3`, or UUIDs. A single bare number is a
 * count, as in `docker run --gpus 2`; one GPU by index is `device=3` (Docker's form) or `3,`.
 */
export function parseGpuRequest(name: string, raw: string): GpuRequest {
  const text = raw.trim();
  const lower = text.toLowerCase();
  if (lower === 'all') return { kind: 'all' };
  if (lower === 'none') return { kind: 'none' };
  if (/^\d+$/.test(text)) {
    const count = Number(text);
    if (count === 0) throw new InputError(name, 'a count of 0 GPUs: write none to train without GPUs');
    return { kind: 'count', count };
  }
  const list = lower.startsWith('device=') ? text.slice('device='.length) : text;
  const ids = list
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  if (ids.length === 0) throw new InputError(name, `expected all, none, a count like 2, or ids like 0,3, got ${quote(raw)}`);
  for (const id of ids) {
    if (!/^\d+$/.test(id) && !UUID.test(id)) {
      throw new InputError(name, `${quote(id)} is neither a GPU index nor a GPU UUID (expected all, none, a count like 2, or ids like 0,3)`);
    }
  }
  const seen = new Set<string>();
  for (const id of ids) {
    const key = /^\d+$/.test(id) ? String(Number(id)) : id;
    if (seen.has(key)) throw new InputError(name, `GPU ${quote(id)} is listed twice`);
    seen.add(key);
  }
  return { kind: 'ids', ids };
}

export interface SkippedGpu {
  gpu: GpuRecord;
  reason: string;
}

export interface GpuSelection {
  /** In nvidia-smi index order. */
  chosen: GpuRecord[];
  /** GPUs left out, with why (busy, not asked for). */
  skipped: SkippedGpu[];
}

function describeRequest(request: GpuRequest, minFreeMiB: number | undefined): string {
  const free = minFreeMiB === undefined ? '' : ` with at least ${minFreeMiB} MiB free`;
  switch (request.kind) {
    case 'all':
      return `all GPUs${free}`;
    case 'count':
      return `${request.count} GPU${request.count === 1 ? '' : 's'}${free}`;
    case 'ids':
      return `GPU${request.ids.length === 1 ? '' : 's'} ${request.ids.join(', ')}${free}`;
    case 'none':
      return 'no GPUs';
  }
}

function listFound(gpus: GpuRecord[]): string {
  return `found ${gpus.length} GPU${gpus.length === 1 ? '' : 's'}: ${gpus.map(describeGpu).join('; ')}`;
}

/** Why a GPU does not qualify under `min-free-memory`, or undefined when it does. */
function tooBusy(gpu: GpuRecord, minFreeMiB: number | undefined): string | undefined {
  if (minFreeMiB === undefined) return undefined;
  const free = freeMemoryMiB(gpu);
  if (free === null) return 'its free memory is unknown (nvidia-smi printed [N/A])';
  if (free < minFreeMiB) return `only ${free} MiB free, below min-free-memory ${minFreeMiB} MiB`;
  return undefined;
}

/**
 * Choose GPUs. `all` takes every GPU that qualifies (at least one must); a count takes the least
 * loaded qualifying GPUs (least memory in use, then least busy, then lowest index) so a shared
 * runner's idle GPUs are used first; ids take exactly those GPUs, each of which must qualify.
 * Fewer than asked is a ResourceError naming every GPU found.
 */
export function selectGpus(request: GpuRequest, gpus: GpuRecord[], minFreeMiB?: number): GpuSelection {
  if (request.kind === 'none') return { chosen: [], skipped: gpus.map((gpu) => ({ gpu, reason: 'gpus: none' })) };
  const asked = describeRequest(request, minFreeMiB);
  const fail = (problem: string) => new ResourceError('GPUs', `asked for ${asked}, ${problem}; ${listFound(gpus)}`);
  const byIndex = [...gpus].sort((a, b) => a.index - b.index);

  if (request.kind === 'ids') {
    const chosen: GpuRecord[] = [];
    for (const id of request.ids) {
      const gpu = /^\d+$/.test(id) ? gpus.find((g) => g.index === Number(id)) : gpus.find((g) => g.uuid.toLowerCase() === id.toLowerCase());
      if (!gpu) throw fail(`but this runner has no GPU ${id}`);
      const busy = tooBusy(gpu, minFreeMiB);
      if (busy) throw fail(`but GPU ${id} has ${busy}`);
      chosen.push(gpu);
    }
    chosen.sort((a, b) => a.index - b.index);
    return { chosen, skipped: byIndex.filter((gpu) => !chosen.includes(gpu)).map((gpu) => ({ gpu, reason: 'not asked for' })) };
  }

  const qualifying = byIndex.filter((gpu) => tooBusy(gpu, minFreeMiB) === undefined);
  const skipped = byIndex.filter((gpu) => !qualifying.includes(gpu)).map((gpu) => ({ gpu, reason: tooBusy(gpu, minFreeMiB)! }));
  if (request.kind === 'all') {
    if (qualifying.length === 0) throw fail('but none qualifies');
    return { chosen: qualifying, skipped };
  }
  if (qualifying.length < request.count) {
    const which = minFreeMiB === undefined ? `this runner has only ${gpus.length}` : `only ${qualifying.length} qualif${qualifying.length === 1 ? 'ies' : 'y'}`;
    throw fail(`but ${which}`);
  }
  const load = (gpu: GpuRecord) => [gpu.memoryUsedMiB ?? Number.MAX_SAFE_INTEGER, gpu.utilizationPercent ?? 100, gpu.index] as const;
  const ranked = [...qualifying].sort((a, b) => {
    const [am, au, ai] = load(a);
    const [bm, bu, bi] = load(b);
    return am - bm || au - bu || ai - bi;
  });
  const chosen = ranked.slice(0, request.count).sort((a, b) => a.index - b.index);
  return {
    chosen,
    skipped: [...skipped, ...qualifying.filter((gpu) => !chosen.includes(gpu)).map((gpu) => ({ gpu, reason: `not needed for ${request.count}` }))].sort(
      (a, b) => a.gpu.index - b.gpu.index,
    ),
  };
}

/**
 * The environment that points CUDA at the chosen GPUs. Indices are nvidia-smi's, which are PCI
 * bus order; CUDA's default order is "fastest first", so CUDA_DEVICE_ORDER=PCI_BUS_ID makes the
 * same numbers mean the same GPUs. In a container the engine exposes only the chosen GPUs
 * (renumbered from 0), selected by UUID through NVIDIA_VISIBLE_DEVICES.
 */
export function gpuEnvironment(chosen: GpuRecord[], mode: 'host' | 'container'): Record<string, string> {
  if (mode === 'container') {
    return chosen.length === 0 ? { NVIDIA_VISIBLE_DEVICES: 'void' } : { NVIDIA_VISIBLE_DEVICES: chosen.map((gpu) => gpu.uuid).join(',') };
  }
  return { CUDA_DEVICE_ORDER: 'PCI_BUS_ID', CUDA_VISIBLE_DEVICES: chosen.map((gpu) => String(gpu.index)).join(',') };
}
