import { InputError, quote } from '../inputs/errors';

/** What `gpus` asks for: every GPU, a number of them, or particular ones by index or UUID. */
export type GpuRequest = { all: true } | { count: number } | { ids: string[] };

/** `all`, a count like `2`, ids like `0,3` or `GPU-…`, `none` or empty for none. */
export function parseGpus(inputName: string, raw: string | undefined): GpuRequest | undefined {
  const text = raw?.trim().toLowerCase() ?? '';
  if (text === '' || text === 'none') return undefined;
  if (text === 'all') return { all: true };
  if (/^\d+$/.test(text)) {
    const count = Number(text);
    if (count < 1) throw new InputError(inputName, `a GPU count must be at least 1 (use none for no GPUs), got ${quote(raw!)}`);
    return { count };
  }
  const ids = raw!.split(',').map((id) => id.trim());
  if (ids.length > 0 && ids.every((id) => /^\d+$/.test(id) || /^GPU-[0-9a-fA-F-]+$/.test(id))) {
    if (new Set(ids).size !== ids.length) throw new InputError(inputName, `a GPU is listed twice in ${quote(raw!)}`);
    return { ids };
  }
  throw new InputError(inputName, `expected all, a count like 2, ids like 0,3, or none; got ${quote(raw!)}`);
}

/** The Engine API's DeviceRequests for the NVIDIA device driver (what `docker run --gpus` sends). */
export function deviceRequests(request: GpuRequest | undefined): { Driver: string; Count: number; DeviceIDs?: string[]; Capabilities: string[][] }[] {
  if (!request) return [];
  if ('all' in request) return [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }];
  if ('count' in request) return [{ Driver: 'nvidia', Count: request.count, Capabilities: [['gpu']] }];
  return [{ Driver: 'nvidia', Count: 0, DeviceIDs: request.ids, Capabilities: [['gpu']] }];
}

export function describeGpus(request: GpuRequest): string {
  if ('all' in request) return 'all GPUs';
  if ('count' in request) return `${request.count} GPU${request.count === 1 ? '' : 's'}`;
  return `GPUs ${request.ids.join(',')}`;
}
