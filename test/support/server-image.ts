import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from './action-runner';
import { DOCKER, buildImage, docker, ensureNodeBaseImage, imageExists } from './docker-cli';

/**
 * The reference prediction server as a test image, built from local files: the node-only base
 * (`ensureNodeBaseImage`) plus the bundle `dist/server/index.mjs`, with the same HEALTHCHECK and
 * CMD as server/Dockerfile.
 */
export const SERVER_BUNDLE = join(repoRoot, 'dist/server/index.mjs');

/**
 * How long tests wait for an engine-side state (healthy, unhealthy, exited, listed by the proxy):
 * an upper bound only, polls return as soon as it is reached. Generous because the engine and the
 * two cores are shared with other suites; under that load a health flip has taken 15 s and more.
 */
export const ENGINE_WAIT_MS = 90_000;

/**
 * Health check timings of the test image, those of server/Dockerfile. Three failed probes in a
 * row mark it unhealthy: on a loaded 2-core machine a single probe (a node process started by
 * docker exec) can take seconds, and one slow probe must not flap a serving server out of the
 * proxy. A drain therefore shows as unhealthy about 6 s after SIGUSR2. Each probe costs the host
 * about 0.2 CPU-seconds (`npm run bench:health-probe`): at a 1 s interval 25 idle containers kept
 * two cores saturated.
 */
export const TEST_HEALTHCHECK = { intervalSeconds: 2, timeoutSeconds: 10, startPeriodSeconds: 10, retries: 3 } as const;

function healthcheckLine(test: string[]): string {
  const { intervalSeconds, timeoutSeconds, startPeriodSeconds, retries } = TEST_HEALTHCHECK;
  return `HEALTHCHECK --interval=${intervalSeconds}s --timeout=${timeoutSeconds}s --start-period=${startPeriodSeconds}s --retries=${retries} CMD ${JSON.stringify(test)}`;
}

function shortHash(...parts: (string | Buffer)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex').slice(0, 12);
}

/**
 * What the server needs of ONNX Runtime at run time, as files for an image: onnxruntime-node's
 * JavaScript and its linux/<arch> binaries only (not the macOS, Windows or other-architecture
 * ones, not the sources or type declarations), onnxruntime-common's JavaScript, and the shared
 * libraries the binding links that the node-only base may lack (librt, libdl: `ldd`).
 * Keys are paths in the build context: `node_modules/...` goes to /app/node_modules,
 * `rootfs/...` to /.
 */
export async function onnxRuntimeFiles(arch = process.arch): Promise<Record<string, Buffer>> {
  const files: Record<string, Buffer> = {};
  const modules = join(repoRoot, 'node_modules');
  const walk = (dir: string, keep: (path: string) => boolean) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path, keep);
      else if (keep(path)) files[`node_modules/${relative(modules, path)}`] = readFileSync(path);
    }
  };
  const js = (path: string) => /\.(c?js|mjs|json)$/.test(path) && !path.endsWith('.map');
  const node = join(modules, 'onnxruntime-node');
  if (!existsSync(node)) throw new Error(`${node} is missing: run npm ci`);
  files['node_modules/onnxruntime-node/package.json'] = readFileSync(join(node, 'package.json'));
  walk(join(node, 'dist'), js);
  const binaries = join(node, 'bin/napi-v6/linux', arch);
  walk(binaries, () => true);
  files['node_modules/onnxruntime-common/package.json'] = readFileSync(join(modules, 'onnxruntime-common/package.json'));
  walk(join(modules, 'onnxruntime-common/dist'), js);
  const { stdout: ldd } = await promisify(execFile)('ldd', [join(binaries, 'onnxruntime_binding.node')]);
  for (const match of ldd.matchAll(/=>\s*(\/(?:usr\/)?lib\S*\/(?:librt|libdl)\.so\S*)\s+\(0x/g)) {
    files[`rootfs${match[1]!}`] = readFileSync(realpathSync(match[1]!));
  }
  return files;
}

/**
 * `localhost/train-to-serve/prediction-server:<hash>`, built once per bundle content. Run the
 * build (`npm run build`; the test setup does) before calling it. With `onnx`, the image also
 * holds ONNX Runtime (`onnxRuntimeFiles`) in a layer of its own, as server/Dockerfile's does:
 * `localhost/train-to-serve/prediction-server-onnx:<hash>`.
 */
export async function ensureServerImage(options: { onnx?: boolean } = {}): Promise<string> {
  if (!existsSync(SERVER_BUNDLE)) throw new Error(`${SERVER_BUNDLE} is missing: run npm run build first`);
  const bundle = readFileSync(SERVER_BUNDLE);
  const base = await ensureNodeBaseImage();
  const runtime = options.onnx ? await onnxRuntimeFiles() : {};
  const dockerfile = [
    `FROM ${base}`,
    'ENV PORT=8080 MODEL_DIR=/model',
    ...(options.onnx ? ['COPY rootfs/ /', 'COPY node_modules/ /app/node_modules/'] : []),
    'COPY index.mjs /app/index.mjs',
    'USER 1000',
    'EXPOSE 8080',
    healthcheckLine(['node', '/app/index.mjs', '--healthcheck']),
    'CMD ["node", "/app/index.mjs"]',
    'LABEL org.opencontainers.image.title="train-to-serve reference prediction server (test build)"',
    '',
  ].join('\n');
  const repository = options.onnx ? 'prediction-server-onnx' : 'prediction-server';
  const reference = `localhost/train-to-serve/${repository}:${shortHash(dockerfile, bundle, ...Object.entries(runtime).flat())}`;
  if (await imageExists(reference)) return reference;
  return buildImage(reference, { Dockerfile: dockerfile, 'index.mjs': bundle, ...runtime });
}

/** A model for tests: the Iris model examples/iris/train.py writes with its defaults. */
export function irisModel(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(repoRoot, 'test/support/fixtures/iris-model.json'), 'utf8')) as Record<string, unknown>;
}

/**
 * How a model image behaves, for deploy tests:
 * - `healthy`: serves and becomes Docker-healthy;
 * - `exits`: the server exits at once (its model.json is corrupt), logging why;
 * - `never-healthy`: serves, but its health probe always fails;
 * - `slow-start`: the server starts `startDelayMs` after the container (default 4000 ms).
 */
export type ModelImageBehaviour = 'healthy' | 'exits' | 'never-healthy' | 'slow-start';

export interface ModelImageOptions {
  behaviour?: ModelImageBehaviour;
  startDelayMs?: number;
  /** Written to /model/training.json (the train action's provenance record). */
  training?: Record<string, unknown>;
  /** Name under localhost/train-to-serve/ (default `model-server`). */
  repository?: string;
  /** Serve this ONNX model (and sidecar) instead of `model`, on the ONNX server image. */
  onnx?: { model: Buffer; sidecar?: Record<string, unknown> };
}

export interface ModelImage {
  /** `localhost/train-to-serve/<repository>:<hash>`. */
  reference: string;
  /** The local image ID (`sha256:…`): differs for every model content and behaviour. */
  id: string;
  /** sha256 of the model.json (or model.onnx) inside, as the server reports it (`sha256:…`). */
  modelDigest: string;
}

/**
 * The server image with a model at /model: the model-in-image that `publish` produces, built
 * locally. A different model (change `name` or any weight) gives a different image.
 */
export async function ensureModelImage(model: Record<string, unknown> | string = irisModel(), options: ModelImageOptions = {}): Promise<ModelImage> {
  const behaviour = options.behaviour ?? 'healthy';
  const server = await ensureServerImage({ onnx: options.onnx !== undefined });
  const modelJson = behaviour === 'exits' ? '{"format": "train-to-serve.linear-classifier", "formatVersion": 1, "name": ' : typeof model === 'string' ? model : `${JSON.stringify(model, null, 2)}\n`;
  const files: Record<string, string | Buffer> = options.onnx ? { 'model/model.onnx': options.onnx.model } : { 'model/model.json': modelJson };
  if (options.onnx?.sidecar) files['model/model.onnx.json'] = `${JSON.stringify(options.onnx.sidecar, null, 2)}\n`;
  if (options.training) files['model/training.json'] = `${JSON.stringify(options.training, null, 2)}\n`;
  const lines = [`FROM ${server}`, 'COPY model/ /model/'];
  if (behaviour === 'never-healthy') lines.push(healthcheckLine(['node', '-e', 'process.exit(1)']));
  if (behaviour === 'slow-start') {
    const delay = options.startDelayMs ?? 4000;
    lines.push(`CMD ["node", "-e", "setTimeout(() => import('/app/index.mjs'), ${delay})"]`);
  }
  const dockerfile = `${lines.join('\n')}\n`;
  const repository = options.repository ?? 'model-server';
  if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(repository)) throw new Error(`repository ${JSON.stringify(repository)} is not a valid image name part`);
  const reference = `localhost/train-to-serve/${repository}:${shortHash(dockerfile, ...Object.entries(files).flat())}`;
  if (!(await imageExists(reference))) await buildImage(reference, { Dockerfile: dockerfile, ...files });
  const id = (await docker(['image', 'inspect', '--format', '{{.Id}}', reference])).trim();
  const modelDigest = `sha256:${createHash('sha256')
    .update(options.onnx?.model ?? modelJson)
    .digest('hex')}`;
  return { reference, id, modelDigest };
}

/** A container's log, stdout and stderr interleaved as `docker logs` prints them to a terminal. */
export function containerLogs(name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(DOCKER, ['logs', name], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`docker logs ${name} failed: ${stderr || error.message}`));
      else resolve(stdout + stderr);
    });
  });
}
