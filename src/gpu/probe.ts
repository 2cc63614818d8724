import { spawn } from 'node:child_process';
import { ResourceError } from '../inputs/errors';

/**
 * The GPUs a runner has, as `nvidia-smi` reports them. One query shape is used for the check
 * before training and for every telemetry sample, so both read the same fields the same way.
 */
export const QUERY_FIELDS = ['index', 'uuid', 'name', 'memory.total', 'memory.used', 'utilization.gpu'] as const;
export const QUERY_ARGS = [`--query-gpu=${QUERY_FIELDS.join(',')}`, '--format=csv,noheader,nounits'];

export interface GpuRecord {
  /** nvidia-smi's index: PCI bus order, the order CUDA uses with CUDA_DEVICE_ORDER=PCI_BUS_ID. */
  index: number;
  /** `GPU-xxxxxxxx-…`, stable across reboots and index changes. */
  uuid: string;
  name: string;
  /** MiB; null where the driver reports `[N/A]` (unified-memory parts, some vGPUs). */
  memoryTotalMiB: number | null;
  memoryUsedMiB: number | null;
  /** Percent of the last sample period a kernel ran; null where not supported. */
  utilizationPercent: number | null;
}

export function freeMemoryMiB(gpu: GpuRecord): number | null {
  return gpu.memoryTotalMiB === null || gpu.memoryUsedMiB === null ? null : Math.max(0, gpu.memoryTotalMiB - gpu.memoryUsedMiB);
}

/** nvidia-smi's answer when it cannot report: the tool is missing, the driver is not usable, or it hung. */
export class NvidiaSmiError extends ResourceError {
  constructor(
    readonly kind: 'missing' | 'driver' | 'timeout' | 'unparseable',
    problem: string,
  ) {
    super('nvidia-smi', problem);
  }
}

/**
 * Return codes from nvidia-smi's manual (they follow NVML's nvmlReturn_t). Named so a failed check
 * says what the driver said, not just a number.
 */
const RETURN_CODES: Record<number, string> = {
  2: 'a supplied argument or flag is invalid',
  3: 'the requested operation is not available on the device',
  4: 'this user has no permission to access the device',
  6: 'no GPU was found',
  8: "a GPU's external power cables are not attached",
  9: 'the NVIDIA driver is not loaded',
  10: 'the NVIDIA kernel module detected an interrupt issue with a GPU',
  12: "the NVML shared library couldn't be found or loaded",
  13: "the installed NVML doesn't implement this function",
  14: 'the infoROM is corrupted',
  15: 'a GPU has fallen off the bus or become inaccessible',
  18: 'the NVIDIA driver and the NVML library versions do not match (reboot after a driver upgrade)',
  255: 'an internal driver error occurred',
};

/** A value nvidia-smi prints instead of a number when it has none: `[N/A]`, `[Not Supported]`, `[Unknown Error]`. */
const NOT_A_VALUE = /^\[[^\]]*\]$|^N\/A$/i;

function numberOrNull(text: string, field: string, line: string): number | null {
  const value = text.trim();
  if (NOT_A_VALUE.test(value)) return null;
  if (!/^\d+(\.\d+)?$/.test(value)) throw new NvidiaSmiError('unparseable', `printed ${JSON.stringify(line)}, where ${field} is not a number`);
  return Number(value);
}

/**
 * Parse `--query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu
 * --format=csv,noheader,nounits` output: one `0, GPU-…, NVIDIA H100 80GB HBM3, 81559, 0, 0` line per
 * GPU. Any line that is not such a row (a driver message printed with exit code 0) is an error,
 * never silently skipped: a check that drops a GPU it could not read would under-report.
 */
export function parseGpuCsv(text: string): GpuRecord[] {
  const gpus: GpuRecord[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    const cells = line.split(',').map((cell) => cell.trim());
    if (cells.length < QUERY_FIELDS.length || !/^\d+$/.test(cells[0]!)) {
      throw new NvidiaSmiError('unparseable', `printed ${JSON.stringify(line)}, not a GPU row (${QUERY_FIELDS.join(', ')})`);
    }
    const [index, uuid] = cells as [string, string];
    const [total, used, utilization] = cells.slice(-3) as [string, string, string];
    // A name with a comma in it would split; the fields around it have fixed positions.
    const name = cells.slice(2, -3).join(', ');
    gpus.push({
      index: Number(index),
      uuid,
      name,
      memoryTotalMiB: numberOrNull(total, 'memory.total', line),
      memoryUsedMiB: numberOrNull(used, 'memory.used', line),
      utilizationPercent: numberOrNull(utilization, 'utilization.gpu', line),
    });
  }
  return gpus;
}

/** What running a command produced; `notFound` when it is not on PATH. */
export interface CommandResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  notFound?: boolean;
  timedOut?: boolean;
}

/** Turn an nvidia-smi run into GPU records, or an error that says what the driver said. */
export function interpretNvidiaSmi(result: CommandResult): GpuRecord[] {
  if (result.notFound) {
    throw new NvidiaSmiError('missing', 'is not on PATH: this runner has no NVIDIA driver tools installed');
  }
  if (result.timedOut) {
    throw new NvidiaSmiError('timeout', 'did not answer in time: the driver may be hung or a GPU may have fallen off the bus');
  }
  const said = firstMessage(`${result.stdout}\n${result.stderr}`);
  if (result.exitCode !== 0) {
    const meaning = result.exitCode === null ? 'was killed' : RETURN_CODES[result.exitCode] ?? `exited with code ${result.exitCode}`;
    throw new NvidiaSmiError('driver', `failed (exit code ${result.exitCode ?? 'none'}: ${meaning})${said ? `: ${said}` : ''}`);
  }
  const gpus = parseGpuCsv(result.stdout);
  if (gpus.length === 0) {
    throw new NvidiaSmiError('driver', `listed no GPUs${said ? `: ${said}` : ''}`);
  }
  return gpus;
}

function firstMessage(text: string): string {
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const joined = lines.slice(0, 2).join(' ');
  return joined.length > 300 ? `${joined.slice(0, 300)}…` : joined;
}

export interface RunOptions {
  /** The binary; `nvidia-smi` looked up on PATH by default. */
  command?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Receives the child, so a caller that is stopping can kill it. */
  onSpawn?: (kill: () => void) => void;
}

/** Run nvidia-smi once with the query arguments. Never rejects: failures come back in the result. */
export function runNvidiaSmi({ command = 'nvidia-smi', timeoutMs = 30_000, env = process.env, onSpawn }: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    // Its own process group, so a kill reaches anything it started (a wrapper script's children too).
    const child = spawn(command, QUERY_ARGS, { stdio: ['ignore', 'pipe', 'pipe'], env, detached: true });
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

/** Probe the runner's GPUs before training. */
export async function probeGpus(options: RunOptions = {}): Promise<GpuRecord[]> {
  return interpretNvidiaSmi(await runNvidiaSmi(options));
}

export function describeGpu(gpu: GpuRecord): string {
  const free = freeMemoryMiB(gpu);
  const memory = free === null ? 'memory unknown' : `${free} of ${gpu.memoryTotalMiB} MiB free`;
  const utilization = gpu.utilizationPercent === null ? '' : `, ${gpu.utilizationPercent}% busy`;
  return `${gpu.index} ${gpu.name} (${memory}${utilization})`;
}
