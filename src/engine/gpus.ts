import { parseGpuRequest, type GpuRequest } from '../gpu/select';

/**
 * GPUs for prediction servers. The `gpus` syntax is train's (src/gpu/select.ts): `all`, a count,
 * ids or UUIDs, `none`; here the engine, not nvidia-smi, hands them out, through DeviceRequests.
 */
export type ServerGpus = Exclude<GpuRequest, { kind: 'none' }>;

/** The request, or undefined for none (empty or `none`). */
export function parseGpus(inputName: string, raw: string | undefined): ServerGpus | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const request = parseGpuRequest(inputName, raw);
  return request.kind === 'none' ? undefined : request;
}

/** The Engine API's DeviceRequests for the NVIDIA device driver (what `docker run --gpus` sends). */
export function deviceRequests(request: ServerGpus | undefined): { Driver: string; Count: number; DeviceIDs?: string[]; Capabilities: string[][] }[] {
  if (!request) return [];
  if (request.kind === 'all') return [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }];
  if (request.kind === 'count') return [{ Driver: 'nvidia', Count: request.count, Capabilities: [['gpu']] }];
  return [{ Driver: 'nvidia', Count: 0, DeviceIDs: request.ids, Capabilities: [['gpu']] }];
}

export function describeGpus(request: ServerGpus): string {
  if (request.kind === 'all') return 'all GPUs';
  if (request.kind === 'count') return `${request.count} GPU${request.count === 1 ? '' : 's'}`;
  return `GPUs ${request.ids.join(',')}`;
}
