import { InputError, quote } from '../inputs/errors';
import { parseInteger, parseLines } from '../inputs/parse';

/**
 * deploy's inputs for servers that are not the reference server (Triton, vLLM, TorchServe, a
 * FastAPI app): how the process starts, the resources it gets, and where its request counter is.
 * Parsed here once; src/engine/server-runtime.ts maps them to each engine's API.
 */

/** How a server process starts and what it may use. Undefined: the image's or the engine's default. */
export interface ServerProcess {
  /** Replaces the image's ENTRYPOINT (Kubernetes `command`). */
  command?: string[];
  /** Replaces the image's CMD (Kubernetes `args`). */
  args?: string[];
  /** Size of /dev/shm in bytes. */
  shmBytes?: number;
  /** Memory limit in bytes. */
  memoryBytes?: number;
  /** CPU limit in billionths of a CPU (the Engine API's NanoCpus). */
  nanoCpus?: number;
  ulimits?: Ulimit[];
}

/** An rlimit as the Engine API takes it; -1 is unlimited. */
export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

/**
 * Where a server's request counter is read: `http://<ip>:<port><path>`, the sum of `requestMetric`.
 * Undefined fields: the serving port, `/metrics`, and the reference server's names.
 */
export interface MetricsSource {
  port?: number;
  path?: string;
  requestMetric?: string;
}

export interface ServerInputs {
  command?: string;
  args?: string;
  'shm-size'?: string;
  memory?: string;
  cpus?: string;
  ulimits?: string;
  'metrics-port'?: string;
  'metrics-path'?: string;
  'request-metric'?: string;
}

/** Characters a shell would act on. An argv given as one line runs without a shell, so they would reach the program as text. */
const SHELL_SYNTAX = /[|;&<>$`(){}*?]/;

/** An input given as a JSON array of strings (`["tritonserver", "--model-repository=/model"]`), not empty. */
export function parseJsonArgv(inputName: string, text: string): string[] {
  let argv: unknown;
  try {
    argv = JSON.parse(text);
  } catch {
    throw new InputError(inputName, `starts with [ but is not a JSON array of strings: ${quote(text)}`);
  }
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string')) throw new InputError(inputName, `expected a non-empty JSON array of strings, got ${quote(text)}`);
  return argv;
}

/**
 * `command` / `args`: a JSON array of strings, or one line split into words at spaces, where
 * single or double quotes keep spaces inside a word. No shell runs either way.
 */
export function parseArgv(inputName: string, raw: string | undefined): string[] | undefined {
  const text = raw?.trim();
  if (!text) return undefined;
  if (text.startsWith('[')) {
    const argv = parseJsonArgv(inputName, text);
    if (argv[0] === '') throw new InputError(inputName, `the first word is empty in ${quote(text)}`);
    return argv;
  }
  if (/[\r\n]/.test(text)) throw new InputError(inputName, 'give one line, or a JSON array of strings such as ["tritonserver", "--model-repository=/model"]');
  return splitWords(inputName, text);
}

function splitWords(inputName: string, text: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quoteChar: string | undefined;
  for (const char of text) {
    if (quoteChar) {
      if (char === quoteChar) quoteChar = undefined;
      else word = (word ?? '') + char;
    } else if (char === '"' || char === "'") {
      quoteChar = char;
      word ??= '';
    } else if (/\s/.test(char)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (SHELL_SYNTAX.test(char) || char === '\\') {
      throw new InputError(inputName, `${quote(char)} outside quotes: no shell runs this line; quote the word, or run a shell yourself: ["sh", "-c", "…"]`);
    } else {
      word = (word ?? '') + char;
    }
  }
  if (quoteChar) throw new InputError(inputName, `unclosed ${quoteChar} in ${quote(text)}`);
  if (word !== undefined) words.push(word);
  return words;
}

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `512m`, `1g`, `1.5GiB`, `67108864`: Docker's size units, which are powers of 1024. */
export function parseBytes(inputName: string, raw: string, { min = 1 }: { min?: number } = {}): number {
  const text = raw.trim().toLowerCase();
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/.exec(text);
  if (!match) throw new InputError(inputName, `expected a size like 512m or 2g (k, m, g, t are powers of 1024), got ${quote(raw)}`);
  const bytes = Math.floor(Number(match[1]) * BYTE_UNITS[match[2]!]!);
  if (!Number.isSafeInteger(bytes)) throw new InputError(inputName, `size out of range: ${quote(raw)}`);
  if (bytes < min) throw new InputError(inputName, `${min > 1 ? `must be at least ${min / 1024 / 1024}m` : 'must be greater than zero'}, got ${quote(raw)}`);
  return bytes;
}

/** The Engine refuses memory limits under 6 MiB. */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;

/** `1.5` CPUs → 1_500_000_000 NanoCpus; the Engine's smallest step is 0.01 CPU. */
export function parseCpus(inputName: string, raw: string): number {
  const text = raw.trim();
  if (!/^\d+(\.\d+)?$/.test(text)) throw new InputError(inputName, `expected a number of CPUs like 1.5, got ${quote(raw)}`);
  const cpus = Number(text);
  if (cpus < 0.01) throw new InputError(inputName, `must be at least 0.01, got ${quote(raw)}`);
  if (cpus > 1024) throw new InputError(inputName, `must be at most 1024, got ${quote(raw)}`);
  return Math.round(cpus * 1e9);
}

/** The rlimits Docker knows by name (`docker run --ulimit`). */
export const ULIMIT_NAMES = ['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'];

/** Lines (or commas) of `name=soft[:hard]`, e.g. `memlock=-1`, `stack=67108864`, `nofile=1024:2048`; -1 is unlimited. */
export function parseUlimits(inputName: string, raw: string): Ulimit[] {
  const ulimits: Ulimit[] = [];
  for (const item of parseLines(raw)
    .flatMap((line) => line.split(','))
    .map((part) => part.trim())
    .filter(Boolean)) {
    const match = /^([a-z]+)\s*=\s*(-1|\d+)(?:\s*:\s*(-1|\d+))?$/.exec(item);
    if (!match) throw new InputError(inputName, `expected name=soft or name=soft:hard such as memlock=-1 or nofile=1024:2048, got ${quote(item)}`);
    const name = match[1]!;
    if (!ULIMIT_NAMES.includes(name)) throw new InputError(inputName, `unknown limit ${quote(name)} (one of ${ULIMIT_NAMES.join(', ')})`);
    if (ulimits.some((u) => u.Name === name)) throw new InputError(inputName, `${name} is given twice`);
    const soft = Number(match[2]);
    const hard = match[3] === undefined ? soft : Number(match[3]);
    if (!Number.isSafeInteger(soft) || !Number.isSafeInteger(hard)) throw new InputError(inputName, `number out of range in ${quote(item)}`);
    if (hard !== -1 && (soft === -1 || soft > hard)) throw new InputError(inputName, `the soft limit of ${name} is above its hard limit in ${quote(item)}`);
    ulimits.push({ Name: name, Soft: soft, Hard: hard });
  }
  if (ulimits.length === 0) throw new InputError(inputName, 'name at least one limit, e.g. memlock=-1');
  return ulimits;
}

const URL_PATH = /^\/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*$/;
/** Prometheus metric names (the exposition format): letters, digits, `_` and `:` (vLLM's `vllm:…`). */
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export const isUrlPath = (text: string): boolean => URL_PATH.test(text) && text.length <= 1024;
export const isMetricName = (text: string): boolean => METRIC_NAME.test(text) && text.length <= 200;

export function parseMetricsSource(inputs: ServerInputs): MetricsSource {
  const port = inputs['metrics-port']?.trim();
  const path = inputs['metrics-path']?.trim();
  const metric = inputs['request-metric']?.trim();
  if (path && !isUrlPath(path)) throw new InputError('metrics-path', `expected a URL path starting with /, such as /metrics, got ${quote(path)}`);
  if (metric && !isMetricName(metric)) throw new InputError('request-metric', `expected a Prometheus metric name such as http_requests_total or vllm:request_success_total, got ${quote(metric)}`);
  return {
    ...(port ? { port: parseInteger('metrics-port', port, { min: 1, max: 65535 }) } : {}),
    ...(path ? { path } : {}),
    ...(metric ? { requestMetric: metric } : {}),
  };
}

export function parseServerProcess(inputs: ServerInputs): ServerProcess {
  const given = (name: keyof ServerInputs) => inputs[name]?.trim() || undefined;
  const shm = given('shm-size');
  const memory = given('memory');
  const cpus = given('cpus');
  const ulimits = given('ulimits');
  const command = parseArgv('command', inputs.command);
  const args = parseArgv('args', inputs.args);
  return {
    ...(command ? { command } : {}),
    ...(args ? { args } : {}),
    ...(shm ? { shmBytes: parseBytes('shm-size', shm) } : {}),
    ...(memory ? { memoryBytes: parseBytes('memory', memory, { min: MIN_MEMORY_BYTES }) } : {}),
    ...(cpus ? { nanoCpus: parseCpus('cpus', cpus) } : {}),
    ...(ulimits ? { ulimits: parseUlimits('ulimits', ulimits) } : {}),
  };
}
