import { createHash } from 'node:crypto';
import { mapLimit } from '../async/pool';
import { InputError, quote } from '../inputs/errors';
import type { Credentials } from '../registry/auth';
import { RegistryClient } from '../registry/client';
import { RegistryAuthError, RegistryError } from '../registry/errors';
import type { Descriptor, Platform } from '../registry/media-types';
import { formatPlatform } from '../registry/platform';
import { ImageNotFoundError, PlatformNotFoundError, resolveImage, type ResolvedImage } from '../registry/resolve';
import type { RetryPolicy } from '../registry/retry';
import { composeImage, type ModelLayer } from './compose';
import { DEFAULT_LAYER_PLAN, planLayers, type LayerPlanOptions } from './layers';
import { scanModel } from './model-files';
import { registryApiHost, repositoryName, type ImageReference } from '../registry/reference';
import { tarSize, tarStream, type TarEntry } from './tar';

/**
 * Publish a model as an image: the base image's layers (never pulled here: HEAD, else a
 * cross-repository mount, else a registry-to-registry stream), then the model as deterministic
 * tar layers, a new config and manifest. The manifest is stored by digest only after every blob
 * it names answered HEAD 200, and tags move only after that, so no tag ever names a missing blob.
 */
export interface PublishRequest {
  modelPath: string;
  /** Where the model lands in the image, without the leading slash (`model`). */
  modelDir: string;
  base: ImageReference;
  /** The target repository (its tag and digest are ignored). */
  target: ImageReference;
  tags: string[];
  platform: Platform;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** RFC 3339 time recorded as the image's creation time. */
  created: string;
  /** Keep file modes as on disk instead of making them safe and readable (see imageMode). */
  keepModes?: boolean;
  credentials?: Credentials;
  /** For a base on another registry than the target: credentials for that registry only. */
  baseCredentials?: Credentials;
  layerPlan?: LayerPlanOptions;
  retry?: Partial<RetryPolicy>;
  /** Blob uploads at once. */
  concurrency?: number;
  log?: (message: string) => void;
  warn?: (message: string) => void;
}

export type BlobAction = 'present' | 'mounted' | 'copied' | 'uploaded';

export interface LayerReport {
  origin: 'base' | 'model' | 'config';
  digest: string;
  size: number;
  action: BlobAction;
  /** What a model layer holds, for people. */
  contents?: string;
}

export interface PublishResult {
  /** `registry/repository@sha256:…` */
  image: string;
  digest: string;
  tags: string[];
  baseDigest: string;
  platform?: string;
  layers: LayerReport[];
  modelBytes: number;
  modelFiles: number;
  /** Model bytes sent to the registry (retries included). */
  modelBytesUploaded: number;
  /** Model bytes the registry already had. */
  modelBytesSkipped: number;
  /** Every blob byte sent: model layers, copied base layers, config. */
  bytesSent: number;
  durationMs: number;
}

async function resolveBase(client: RegistryClient, request: PublishRequest, sameRegistry: boolean, warn: (m: string) => void): Promise<ResolvedImage> {
  const { base } = request;
  const reference = base.digest ?? base.tag ?? 'latest';
  let resolved: ResolvedImage;
  try {
    resolved = await resolveImage(client, { repository: base.repository, reference }, request.platform, { name: `Base image ${repositoryName(base)}` });
  } catch (error) {
    if (error instanceof ImageNotFoundError) {
      throw new InputError('base-image', `${repositoryName(base)} has no ${base.digest ? 'manifest' : 'tag'} ${quote(reference)}`);
    }
    if (error instanceof PlatformNotFoundError) {
      throw new InputError('platform', `${formatPlatform(request.platform)} is not in the base image ${repositoryName(base)}:${reference}, which has ${error.available.length ? error.available.join(', ') : 'no platforms'}`);
    }
    if (error instanceof RegistryAuthError && !sameRegistry) {
      throw new InputError(
        'base-image',
        `${repositoryName(base)} refused ${request.baseCredentials ? 'the docker login credentials for its registry' : 'anonymous access'} (${error.message}); the target's credentials never go to another registry: run docker login for ${base.registry} first, copy the base to ${request.target.registry}, or make it public`,
      );
    }
    throw error;
  }
  if (resolved.manifest.layers.some((layer) => layer.urls?.length)) {
    throw new RegistryError(`Base image ${repositoryName(base)}:${reference}`, 'has foreign layers (stored outside the registry), which cannot be copied');
  }
  const { config } = resolved;
  if (!resolved.platform && (config.os !== request.platform.os || config.architecture !== request.platform.architecture)) {
    warn(`The base image ${repositoryName(base)}:${reference} is ${String(config.os)}/${String(config.architecture)} only; the platform input (${formatPlatform(request.platform)}) applies to multi-platform bases`);
  }
  return resolved;
}

function describeContents(entries: readonly TarEntry[], modelDir: string): string {
  const files = entries.filter((e) => e.type !== 'directory').map((e) => e.path.slice(modelDir.length + 1));
  if (files.length === 0) return 'directories';
  if (files.length <= 3) return files.join(', ');
  return `${files.length} entries (${files.slice(0, 2).join(', ')}, …)`;
}

/** One pass over a layer's archive bytes: digest and size, reading each file in chunks. */
export async function hashLayer(entries: readonly TarEntry[]): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of tarStream(entries, { reuseBuffer: true })) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

interface Clients {
  target: RegistryClient;
  /** The target's client when both live on one registry; else an anonymous one. */
  base: RegistryClient;
  sameRegistry: boolean;
}

/** Credentials for the target registry are never sent to another one: a base elsewhere is read anonymously. */
function openClients(request: PublishRequest, log: (m: string) => void): Clients {
  const { target, base } = request;
  const sameRegistry = registryApiHost(base.registry) === registryApiHost(target.registry);
  const targetClient = new RegistryClient({
    registry: target.registry,
    credentials: request.credentials,
    scopes: [{ repository: target.repository, actions: ['pull', 'push'] }, ...(sameRegistry && base.repository !== target.repository ? [{ repository: base.repository, actions: ['pull' as const] }] : [])],
    retry: request.retry,
    log,
  });
  // Credentials for the target registry are never sent to another one: a base elsewhere gets its own, or none.
  const baseClient = sameRegistry ? targetClient : new RegistryClient({ registry: base.registry, credentials: request.baseCredentials, scopes: [{ repository: base.repository, actions: ['pull'] }], retry: request.retry, log });
  return { target: targetClient, base: baseClient, sameRegistry };
}

/**
 * Phase: the model layers' digests. Hashed one after another (CPU and disk), overlapping the
 * reads of the base (network) and, from the second layer on, the uploads of those hashed before.
 */
function hashModelLayers(plan: readonly TarEntry[][], modelDir: string): Promise<ModelLayer>[] {
  const hashed: Promise<ModelLayer>[] = [];
  let previous: Promise<unknown> = Promise.resolve();
  for (const entries of plan) {
    const layer = previous.then(async (): Promise<ModelLayer> => {
      const { digest, size } = await hashLayer(entries);
      if (size !== tarSize(entries)) throw new Error(`layer size ${size} differs from the planned ${tarSize(entries)}`);
      return { digest, size, createdBy: `COPY ${describeContents(entries, modelDir)} /${modelDir} # train-to-serve publish` };
    });
    layer.catch(() => {});
    hashed.push(layer);
    previous = layer;
  }
  return hashed;
}

/** Blob bytes sent, counted as they go. */
class SentBytes {
  all = 0;
  model = 0;
  counter(model: boolean): (bytes: number) => void {
    return (bytes) => {
      this.all += bytes;
      if (model) this.model += bytes;
    };
  }
}

/** Phase: every base layer in the target repository: already there, mounted, or streamed across. */
function copyBaseLayers(request: PublishRequest, clients: Clients, layers: readonly Descriptor[], sent: SentBytes, log: (m: string) => void): Promise<LayerReport[]> {
  const { base } = request;
  const repo = request.target.repository;
  return mapLimit(layers, 4, async (layer): Promise<LayerReport> => {
    const report = (action: BlobAction): LayerReport => ({ origin: 'base', digest: layer.digest, size: layer.size, action });
    if ((await clients.target.headBlob(repo, layer.digest)) !== undefined) return report('present');
    let location: string | undefined;
    if (clients.sameRegistry) {
      const mount = await clients.target.mountBlob(repo, layer.digest, base.repository);
      if (mount.mounted) return report('mounted');
      location = mount.location;
    }
    log(`Copying base layer ${layer.digest} (${layer.size} bytes) from ${repositoryName(base)}`);
    await clients.target.uploadBlob(
      repo,
      {
        digest: layer.digest,
        size: layer.size,
        open: async function* () {
          yield* await clients.base.getBlob(base.repository, layer.digest);
        },
      },
      { location, onProgress: sent.counter(false) },
    );
    return report('copied');
  });
}

/** Phase: every model layer the target does not have yet, uploaded once its hash is known. */
function uploadModelLayers(request: PublishRequest, client: RegistryClient, plan: readonly TarEntry[][], hashed: readonly Promise<ModelLayer>[], sent: SentBytes, log: (m: string) => void): Promise<LayerReport[]> {
  const repo = request.target.repository;
  return mapLimit(plan, request.concurrency ?? 2, async (entries, index): Promise<LayerReport> => {
    const layer = await hashed[index]!;
    const contents = describeContents(entries, request.modelDir);
    const report = (action: BlobAction): LayerReport => ({ origin: 'model', digest: layer.digest, size: layer.size, action, contents });
    if ((await client.headBlob(repo, layer.digest)) !== undefined) return report('present');
    log(`Uploading model layer ${layer.digest} (${layer.size} bytes): ${contents}`);
    const count = sent.counter(true);
    let done = 0;
    let lastNote = Date.now();
    // A large layer takes minutes: say how far it got now and then, so the step does not look stuck.
    const onProgress = (bytes: number) => {
      count(bytes);
      done += bytes;
      if (Date.now() - lastNote >= 15_000) {
        lastNote = Date.now();
        log(`  ${layer.digest.slice(7, 19)}: ${Math.min(100, Math.floor((done / layer.size) * 100))}% of ${layer.size} bytes sent`);
      }
    };
    await client.uploadBlob(repo, { digest: layer.digest, size: layer.size, open: () => tarStream(entries) }, { onProgress });
    return report('uploaded');
  });
}

/** Phase: the new image config, uploaded unless the target has it. */
async function uploadConfig(client: RegistryClient, repo: string, composed: ReturnType<typeof composeImage>, sent: SentBytes): Promise<BlobAction> {
  const config = composed.configDescriptor;
  if ((await client.headBlob(repo, config.digest)) !== undefined) return 'present';
  const body = composed.config;
  await client.uploadBlob(
    repo,
    {
      digest: config.digest,
      size: config.size,
      open: () => [body],
    },
    { onProgress: sent.counter(false) },
  );
  return 'uploaded';
}

/** Phase: the manifest stored by digest only once the registry answers for every blob it names, then the tags. */
async function storeManifest(request: PublishRequest, client: RegistryClient, composed: ReturnType<typeof composeImage>, named: readonly { digest: string; size: number }[]): Promise<void> {
  const { target } = request;
  const repo = target.repository;
  await mapLimit(named, 4, async (blob) => {
    const size = await client.headBlob(repo, blob.digest);
    if (size === undefined) throw new RegistryError(`Registry ${target.registry}, repository ${repo}`, `does not have blob ${blob.digest} after it was pushed; the manifest was not stored and no tag moved`);
    if (Number.isFinite(size) && size !== blob.size) throw new RegistryError(`Registry ${target.registry}, repository ${repo}`, `holds blob ${blob.digest} with ${size} bytes, expected ${blob.size}`);
  });
  await client.putManifest(repo, composed.digest, composed.manifest, composed.manifestMediaType);
  for (const tag of request.tags) await client.putManifest(repo, tag, composed.manifest, composed.manifestMediaType);
}

export async function publishModelImage(request: PublishRequest): Promise<PublishResult> {
  const started = Date.now();
  const log = request.log ?? (() => {});
  const warn = request.warn ?? log;
  const repo = request.target.repository;

  // Everything that can be refused is looked at before the first byte goes to the registry.
  const scan = await scanModel(request.modelPath, request.modelDir, { keepModes: request.keepModes });
  const plan = planLayers(scan.entries, request.layerPlan ?? DEFAULT_LAYER_PLAN);
  const clients = openClients(request, log);
  const hashed = hashModelLayers(plan, request.modelDir);
  const resolved = await resolveBase(clients.base, request, clients.sameRegistry, warn);

  const sent = new SentBytes();
  const basePass = copyBaseLayers(request, clients, resolved.manifest.layers, sent, log);
  const modelPass = uploadModelLayers(request, clients.target, plan, hashed, sent, log);
  basePass.catch(() => {});
  modelPass.catch(() => {});
  const [baseReports, modelReports] = await Promise.all([basePass, modelPass]);
  const modelLayers = await Promise.all(hashed);

  const composed = composeImage({
    family: resolved.family,
    baseManifest: resolved.manifest,
    baseConfig: resolved.config,
    layers: modelLayers,
    created: request.created,
    labels: request.labels,
    annotations: request.annotations,
  });
  if (resolved.family === 'docker' && Object.keys(request.annotations).length > 0) {
    warn('The base image uses Docker manifest types, which carry no annotations: the annotations were left out (labels carry the same facts)');
  }
  const config = composed.configDescriptor;
  const configAction = await uploadConfig(clients.target, repo, composed, sent);
  await storeManifest(request, clients.target, composed, [config, ...resolved.manifest.layers, ...modelLayers.map((l) => ({ digest: l.digest, size: l.size }))]);

  return {
    image: `${repositoryName(request.target)}@${composed.digest}`,
    digest: composed.digest,
    tags: request.tags,
    baseDigest: resolved.digest,
    platform: resolved.platform,
    layers: [...baseReports, ...modelReports, { origin: 'config', digest: config.digest, size: config.size, action: configAction }],
    modelBytes: scan.bytes,
    modelFiles: scan.files,
    modelBytesUploaded: sent.model,
    modelBytesSkipped: modelReports.filter((r) => r.action === 'present').reduce((sum, r) => sum + r.size, 0),
    bytesSent: sent.all,
    durationMs: Date.now() - started,
  };
}
