import { InputError, ResourceError, quote } from '../inputs/errors';
import { describeGpu, freeMemoryMiB, unknownMemory, type GpuRecord } from './probe';

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

/**
 * Why a GPU does not qualify under `min-free-memory`, or undefined when it does. Unknown free
 * memory never qualifies: a GPU that cannot say what it has free is not assumed to have room.
 */
function tooBusy(gpu: GpuRecord, minFreeMiB: number | undefined): string | undefined {
  if (minFreeMiB === undefined) return undefined;
  const free = freeMemoryMiB(gpu);
  if (free === null && gpu.instanceOf) return 'unknown free memory (nvidia-smi reports memory per GPU, not per MIG instance; leave min-free-memory unset to use MIG instances)';
  if (free === null) return `unknown free memory (${unknownMemory(gpu)}), so it cannot be shown to have min-free-memory ${minFreeMiB} MiB`;
  if (free < minFreeMiB) return `only ${free} MiB free, below min-free-memory ${minFreeMiB} MiB`;
  return undefined;
}

/** A GPU with MIG on cannot run CUDA work whole: only its instances can. */
function migReason(gpu: GpuRecord): string {
  return `MIG is on, so CUDA cannot use it whole; name one of its instances in gpus instead: ${instanceList([gpu])}`;
}

/** The MIG instances of these GPUs, by UUID and profile; the first few when there are many. */
function instanceList(gpus: GpuRecord[], max = 8): string {
  const all = gpus.flatMap((gpu) => gpu.mig ?? []);
  const shown = all.slice(0, max).map((instance) => `${instance.uuid} (${instance.profile})`);
  return all.length > max ? `${shown.join(', ')} and ${all.length - max} more (nvidia-smi -L lists them)` : shown.join(', ');
}

/** A MIG instance as a device to train on: its GPU's index and name, its own UUID, nothing measured. */
function instanceDevice(gpu: GpuRecord, uuid: string): GpuRecord | undefined {
  const instance = gpu.mig?.find((entry) => entry.uuid.toLowerCase() === uuid.toLowerCase());
  if (!instance) return undefined;
  return {
    index: gpu.index,
    uuid: instance.uuid,
    name: `${gpu.name} MIG ${instance.profile}`,
    memoryTotalMiB: null,
    memoryUsedMiB: null,
    memoryFreeMiB: null,
    utilizationPercent: null,
    unknown: {},
    instanceOf: { uuid: gpu.uuid, profile: instance.profile },
  };
}

function findId(gpus: GpuRecord[], id: string): GpuRecord | undefined {
  if (/^\d+$/.test(id)) return gpus.find((g) => g.index === Number(id));
  if (/^MIG-/i.test(id)) return gpus.map((gpu) => instanceDevice(gpu, id)).find((device) => device !== undefined);
  return gpus.find((g) => g.uuid.toLowerCase() === id.toLowerCase());
}

/**
 * Choose GPUs. `all` takes every GPU that qualifies (at least one must); a count takes the least
 * loaded qualifying GPUs (least memory in use, then least busy, then lowest index; a GPU whose
 * memory in use or utilisation is unknown ranks as full and fully busy) so a shared runner's
 * idle GPUs are used first; ids take exactly those GPUs, each of which must qualify.
 * `all` and counts mean whole GPUs: a GPU with MIG on is skipped, and a MIG instance is used only
 * when named by its `MIG-…` UUID. Fewer than asked is a ResourceError naming every GPU found.
 */
export function selectGpus(request: GpuRequest, gpus: GpuRecord[], minFreeMiB?: number): GpuSelection {
  if (request.kind === 'none') return { chosen: [], skipped: gpus.map((gpu) => ({ gpu, reason: 'gpus: none' })) };
  const asked = describeRequest(request, minFreeMiB);
  const byIndex = [...gpus].sort((a, b) => a.index - b.index);
  const migGpus = byIndex.filter((gpu) => gpu.mig);
  const migHint = migGpus.length === 0 ? '' : `; MIG is on for GPU ${migGpus.map((gpu) => gpu.index).join(', ')}: name instances by UUID: ${instanceList(migGpus)}`;
  const fail = (problem: string) => new ResourceError('GPUs', `asked for ${asked}, ${problem}; ${listFound(gpus)}${migHint}`);

  if (request.kind === 'ids') {
    const chosen: GpuRecord[] = [];
    for (const id of request.ids) {
      const gpu = findId(gpus, id);
      if (!gpu) throw fail(`but this runner has no GPU ${id}`);
      if (gpu.mig) throw fail(`but GPU ${id}: ${migReason(gpu)}`);
      const busy = tooBusy(gpu, minFreeMiB);
      if (busy) throw fail(`but GPU ${id} has ${busy}`);
      chosen.push(gpu);
    }
    chosen.sort((a, b) => a.index - b.index || a.uuid.localeCompare(b.uuid));
    const used = new Set(chosen.map((gpu) => gpu.instanceOf?.uuid ?? gpu.uuid));
    return { chosen, skipped: byIndex.filter((gpu) => !used.has(gpu.uuid)).map((gpu) => ({ gpu, reason: 'not asked for' })) };
  }

  const whyNot = (gpu: GpuRecord) => (gpu.mig ? migReason(gpu) : tooBusy(gpu, minFreeMiB));
  const qualifying = byIndex.filter((gpu) => whyNot(gpu) === undefined);
  const skipped = byIndex.filter((gpu) => !qualifying.includes(gpu)).map((gpu) => ({ gpu, reason: whyNot(gpu)! }));
  if (request.kind === 'all') {
    if (qualifying.length === 0) throw fail('but none qualifies');
    return { chosen: qualifying, skipped };
  }
  if (qualifying.length < request.count) {
    const which = minFreeMiB === undefined && migGpus.length === 0 ? `this runner has only ${gpus.length}` : `only ${qualifying.length} qualif${qualifying.length === 1 ? 'ies' : 'y'}`;
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
    skipped: [...skipped, ...qualifying.filter((gpu) => !chosen.includes(gpu)).map((gpu) => ({ gpu, reason: `not needed for ${request.count}` }))].sort((a, b) => a.gpu.index - b.gpu.index),
  };
}

/**
 * The environment that points CUDA at the chosen GPUs. Indices are nvidia-smi's, which are PCI
 * bus order; CUDA's default order is "fastest first", so CUDA_DEVICE_ORDER=PCI_BUS_ID makes the
 * same numbers mean the same GPUs. In a container the engine exposes only the chosen GPUs
 * (renumbered from 0), selected by UUID through NVIDIA_VISIBLE_DEVICES. MIG instances are named
 * by their `MIG-…` UUID in both.
 */
export function gpuEnvironment(chosen: GpuRecord[], mode: 'host' | 'container'): Record<string, string> {
  if (mode === 'container') {
    return chosen.length === 0 ? { NVIDIA_VISIBLE_DEVICES: 'void' } : { NVIDIA_VISIBLE_DEVICES: chosen.map((gpu) => gpu.uuid).join(',') };
  }
  // A MIG instance has no index of its own: CUDA takes it by its MIG- UUID, and then every entry is a UUID.
  const byUuid = chosen.some((gpu) => gpu.instanceOf);
  return { CUDA_DEVICE_ORDER: 'PCI_BUS_ID', CUDA_VISIBLE_DEVICES: chosen.map((gpu) => (byUuid ? gpu.uuid : String(gpu.index))).join(',') };
}
