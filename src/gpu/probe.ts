import { spawn } from 'node:child_process';
import { errorMessage, ResourceError } from '../inputs/errors';
import { CsvError, isMissing, numberCell, readQueryCsv, type Cell } from './csv';
import { describeFailure, diagnose, driverWords, type DriverTrouble } from './failures';
import { parseGpuList, type MigInstance } from './mig';

/**
 * The GPUs a runner has, as `nvidia-smi` reports them. One query is used for the check before
 * training and for every telemetry sample, so both read the same fields the same way. The
 * fields are ones every driver in the recordings answers (test/fixtures/nvidia-smi-public,
 * 2016 to 2026); `memory.free` is optional in the answer (free is then total − used). The
 * header is asked for, so the answer says which column is which and in what unit.
 */
export const QUERY_FIELDS = ['index', 'uuid', 'name', 'memory.total', 'memory.used', 'memory.free', 'utilization.gpu'] as const;
export const QUERY_ARGS = [`--query-gpu=${QUERY_FIELDS.join(',')}`, '--format=csv'];
/** Lists GPUs with their MIG instances. */
export const LIST_ARGS = ['-L'];

const REQUIRED = ['index', 'uuid', 'name', 'memory.total', 'memory.used', 'utilization.gpu'] as const;
type Field = (typeof QUERY_FIELDS)[number];

export interface GpuRecord {
  /** nvidia-smi's index: PCI bus order, the order CUDA uses with CUDA_DEVICE_ORDER=PCI_BUS_ID. */
  index: number;
  /** `GPU-xxxxxxxx-…`, stable across reboots and index changes; `MIG-…` for a MIG instance. */
  uuid: string;
  name: string;
  /** MiB; null where nvidia-smi printed no value (`[N/A]` on unified-memory parts, some vGPUs). */
  memoryTotalMiB: number | null;
  memoryUsedMiB: number | null;
  /** What the driver says is free (total − reserved − used); total − used when it was not printed. */
  memoryFreeMiB: number | null;
  /** Percent of the last sample period a kernel ran; null where not reported (always, with MIG on). */
  utilizationPercent: number | null;
  /** For each field with no value, what nvidia-smi printed instead (`[N/A]`, `[Unknown Error]`, …). */
  unknown: Partial<Record<Field, string>>;
  /** The MIG instances `nvidia-smi -L` lists under this GPU: present when MIG is on. */
  mig?: MigInstance[];
  /** Set on a MIG instance chosen for training: its GPU's UUID and the instance's profile. */
  instanceOf?: { uuid: string; profile: string };
}

export function freeMemoryMiB(gpu: GpuRecord): number | null {
  return gpu.memoryFreeMiB;
}

/** nvidia-smi's answer when it cannot report: the tool is missing, the driver is not usable, or it hung. */
export class NvidiaSmiError extends ResourceError {
  constructor(
    readonly kind: 'missing' | 'driver' | 'timeout' | 'unparseable',
    problem: string,
    readonly trouble?: DriverTrouble,
  ) {
    super('nvidia-smi', problem);
  }
}

const UNITS: Partial<Record<Field, string>> = { 'memory.total': 'MiB', 'memory.used': 'MiB', 'memory.free': 'MiB', 'utilization.gpu': '%' };

/**
 * Parse `--query-gpu` output into GPU records. The answer to train's query has a header; `asked`
 * is the field list of a `noheader` command, for reading other recordings. Every line must be a
 * GPU row: a check that dropped a GPU it could not read would under-report.
 */
export function parseGpuCsv(text: string, asked?: readonly string[]): GpuRecord[] {
  let table;
  try {
    table = readQueryCsv(text, asked);
  } catch (error) {
    if (error instanceof CsvError) throw new NvidiaSmiError('unparseable', error.message);
    throw error;
  }
  const absent = REQUIRED.filter((field) => !table.fields.includes(field));
  if (absent.length > 0) {
    const columns = table.fields.join(', ');
    throw new NvidiaSmiError('unparseable', `answered without ${absent.join(', ')} (its columns: ${columns.length > 200 ? `${columns.slice(0, 200)}…` : columns})`);
  }
  for (const [field, unit] of Object.entries(UNITS)) {
    const printed = table.units[field];
    if (printed !== undefined && printed !== unit) throw new NvidiaSmiError('unparseable', `reports ${field} in ${printed}, not ${unit}`);
  }
  return table.rows.map(({ line, cells }) => {
    const index = cells.index!;
    if (isMissing(index) || !/^\d+$/.test(index)) throw new NvidiaSmiError('unparseable', `printed ${JSON.stringify(line)}, where index is not a GPU index`);
    const unknown: GpuRecord['unknown'] = {};
    for (const field of QUERY_FIELDS) {
      const cell: Cell | undefined = cells[field];
      if (isMissing(cell)) unknown[field] = cell.missing;
    }
    const number = (field: Field) => {
      try {
        return numberCell(cells[field], field, UNITS[field]!);
      } catch (error) {
        throw new NvidiaSmiError('unparseable', errorMessage(error));
      }
    };
    const total = number('memory.total');
    const used = number('memory.used');
    const free = number('memory.free') ?? (total !== null && used !== null ? Math.max(0, total - used) : null);
    const text = (field: 'uuid' | 'name') => (isMissing(cells[field]) ? cells[field].missing : (cells[field] as string));
    return {
      index: Number(index),
      uuid: text('uuid'),
      name: text('name'),
      memoryTotalMiB: total,
      memoryUsedMiB: used,
      memoryFreeMiB: free,
      utilizationPercent: number('utilization.gpu'),
      unknown,
    };
  });
}

/** What running a command produced; `notFound` when it is not on PATH. */
export interface CommandResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  notFound?: boolean;
  timedOut?: boolean;
}

/** The failures every nvidia-smi run shares: not installed, hung, or exited non-zero. */
function checkRun(result: CommandResult): void {
  if (result.notFound) {
    throw new NvidiaSmiError('missing', 'is not on PATH: this runner has no NVIDIA driver tools installed');
  }
  if (result.timedOut) {
    throw new NvidiaSmiError('timeout', 'did not answer in time: the driver may be hung or a GPU may have fallen off the bus', 'gpu-lost');
  }
  if (result.exitCode !== 0) {
    const { message, diagnosis } = describeFailure(result.stdout, result.stderr, result.exitCode);
    throw new NvidiaSmiError('driver', message, diagnosis?.kind ?? 'other');
  }
}

/** Turn a `--query-gpu` run into GPU records, or an error that says what the driver said and what to do. */
export function interpretNvidiaSmi(result: CommandResult): GpuRecord[] {
  checkRun(result);
  let gpus: GpuRecord[];
  try {
    gpus = parseGpuCsv(result.stdout);
  } catch (error) {
    // A driver message printed with exit code 0 is still the driver's message.
    const words = driverWords(result.stdout, result.stderr);
    if (diagnose(words, null)) {
      const { message, diagnosis } = describeFailure(result.stdout, result.stderr, 0);
      throw new NvidiaSmiError('driver', message, diagnosis?.kind);
    }
    throw error;
  }
  if (gpus.length === 0) {
    const words = driverWords(result.stdout, result.stderr);
    throw new NvidiaSmiError('driver', `listed no GPUs${words ? `: "${words}"` : ''}`, 'no-devices');
  }
  return gpus;
}

/** Add the MIG instances of an `nvidia-smi -L` run to the GPUs it lists (matched by UUID). */
export function withMigInstances(gpus: GpuRecord[], result: CommandResult): GpuRecord[] {
  checkRun(result);
  const listed = parseGpuList(result.stdout);
  return gpus.map((gpu) => {
    const instances = listed.find((entry) => entry.uuid === gpu.uuid)?.mig ?? [];
    return instances.length > 0 ? { ...gpu, mig: instances } : gpu;
  });
}

export interface RunOptions {
  /** The binary; `nvidia-smi` looked up on PATH by default. */
  command?: string;
  /** QUERY_ARGS by default. */
  args?: string[];
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Receives the child, so a caller that is stopping can kill it. */
  onSpawn?: (kill: () => void) => void;
}

/** Run nvidia-smi once. Never rejects: failures come back in the result. */
export function runNvidiaSmi({ command = 'nvidia-smi', args = QUERY_ARGS, timeoutMs = 30_000, env = process.env, onSpawn }: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    // Its own process group, so a kill reaches anything it started (a wrapper script's children too).
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env, detached: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;
    const finish = (result: CommandResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
      // Whatever still holds its output pipes must not hold the answer up.
      setTimeout(() => finish({ exitCode: null, stdout, stderr, timedOut }), 1_000).unref();
    }, timeoutMs);
    onSpawn?.(kill);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error: NodeJS.ErrnoException) => finish({ exitCode: null, stdout, stderr: stderr || error.message, notFound: error.code === 'ENOENT' }));
    child.on('close', (exitCode) => finish({ exitCode, stdout, stderr, timedOut }));
  });
}

/**
 * Probe the runner's GPUs before training: the query, then `-L` for MIG instances. A failing
 * driver fails the first call, so nothing waits or retries.
 */
export async function probeGpus(options: RunOptions = {}): Promise<GpuRecord[]> {
  const gpus = interpretNvidiaSmi(await runNvidiaSmi({ ...options, args: QUERY_ARGS }));
  return withMigInstances(gpus, await runNvidiaSmi({ ...options, args: LIST_ARGS }));
}

export function describeGpu(gpu: GpuRecord): string {
  if (gpu.instanceOf) return `${gpu.index} ${gpu.name} (${gpu.uuid})`;
  const free = freeMemoryMiB(gpu);
  const memory = free === null ? `memory unknown (${unknownMemory(gpu)})` : `${free} of ${gpu.memoryTotalMiB ?? '?'} MiB free`;
  const utilization = gpu.utilizationPercent === null ? `, utilisation unknown (${gpu.unknown['utilization.gpu'] ?? 'not printed'})` : `, ${gpu.utilizationPercent}% busy`;
  const mig = gpu.mig ? `, MIG on: ${gpu.mig.length} instance${gpu.mig.length === 1 ? '' : 's'}` : '';
  return `${gpu.index} ${gpu.name} (${memory}${utilization}${mig})`;
}

/** What nvidia-smi printed for the memory fields that left free memory unknown. */
export function unknownMemory(gpu: GpuRecord): string {
  const printed = (['memory.free', 'memory.total', 'memory.used'] as const).filter((field) => gpu.unknown[field] !== undefined).map((field) => `${field} ${gpu.unknown[field]}`);
  return printed.length > 0 ? `nvidia-smi printed ${printed.join(', ')}` : 'not printed';
}
