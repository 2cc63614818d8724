/** The server's settings, all from the environment so an image or `docker run -e` can set them. */
export interface ServerConfig {
  host: string;
  port: number;
  modelDir: string;
  maxBodyBytes: number;
  maxBatchSize: number;
  /** How long SIGTERM waits for in-flight requests before exiting anyway. */
  shutdownTimeoutMs: number;
  /**
   * Idle keep-alive time for client connections. Longer than a proxy's own idle timeout to its
   * servers (Traefik: 90 s), so the proxy, not the server, closes idle connections: otherwise the
   * proxy can send a request on a connection the server is closing at that moment.
   */
  keepAliveTimeoutMs: number;
  predictionLog: boolean;
  /** ONNX models: `native` (onnxruntime-node, the default) or `wasm` (onnxruntime-web, if installed). */
  onnxRuntime: 'native' | 'wasm';
  /** ONNX models: `auto` (CUDA when installed, else CPU, logged), `cpu` or `cuda` (required). */
  onnxProvider: 'auto' | 'cpu' | 'cuda';
  imageDigest: string | undefined;
  gitSha: string | undefined;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name}: expected a whole number, got ${JSON.stringify(raw)}`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(`${name}: expected ${min} to ${max}, got ${value}`);
  return value;
}

function choice<T extends string>(env: NodeJS.ProcessEnv, name: string, values: readonly T[], fallback: T): T {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return fallback;
  if (!(values as readonly string[]).includes(raw)) throw new ConfigError(`${name}: expected ${values.map((v) => `"${v}"`).join(' or ')}, got ${JSON.stringify(env[name])}`);
  return raw as T;
}

function optional(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

export function readConfig(env: NodeJS.ProcessEnv): ServerConfig {
  const log = (env.PREDICTION_LOG ?? 'stdout').trim().toLowerCase();
  if (log !== 'stdout' && log !== 'off') throw new ConfigError(`PREDICTION_LOG: expected "stdout" or "off", got ${JSON.stringify(env.PREDICTION_LOG)}`);
  return {
    host: optional(env, 'HOST') ?? '0.0.0.0',
    port: integer(env, 'PORT', 8080, 0, 65535),
    modelDir: optional(env, 'MODEL_DIR') ?? '/model',
    maxBodyBytes: integer(env, 'MAX_BODY_BYTES', 1024 * 1024, 64, 1024 * 1024 * 1024),
    maxBatchSize: integer(env, 'MAX_BATCH_SIZE', 1000, 1, 1_000_000),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_SECONDS', 25, 0, 3600) * 1000,
    keepAliveTimeoutMs: integer(env, 'KEEP_ALIVE_TIMEOUT_SECONDS', 95, 1, 3600) * 1000,
    predictionLog: log === 'stdout',
    onnxRuntime: choice(env, 'ONNX_RUNTIME', ['native', 'wasm'] as const, 'native'),
    onnxProvider: choice(env, 'ONNX_PROVIDER', ['auto', 'cpu', 'cuda'] as const, 'auto'),
    imageDigest: optional(env, 'TRAIN_TO_SERVE_IMAGE_DIGEST'),
    gitSha: optional(env, 'TRAIN_TO_SERVE_GIT_SHA'),
  };
}
