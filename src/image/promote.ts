import { InputError, quote } from '../inputs/errors';
import type { Credentials } from '../registry/auth';
import { RegistryClient, type FetchedManifest } from '../registry/client';
import { RegistryError } from '../registry/errors';
import { isIndexType, type ImageManifest } from '../registry/media-types';
import { ImageShapeError, parseImageIndex, parseImageManifest, readImageConfig } from '../registry/resolve';
import type { RetryPolicy } from '../registry/retry';
import { Label, imageLabels } from './compose';
import { isDigest, isTag, repositoryName, type ImageReference } from '../registry/reference';

/**
 * Promotion by digest: the source manifest's exact bytes are put under each target tag, so the
 * digest that was evaluated is the digest that ships, and no layer byte moves. A check of the
 * image's revision (the gate) runs before the first tag moves.
 */
export interface PromoteRequest {
  /** The repository (tag and digest ignored). */
  image: ImageReference;
  /** A tag or a `sha256:` digest in that repository. */
  source: string;
  targets: string[];
  credentials?: Credentials;
  /** Called with the image's revision labels before any tag moves; throws to refuse. */
  check?: (image: PromotedImage) => Promise<void>;
  retry?: Partial<RetryPolicy>;
  log?: (message: string) => void;
}

export interface PromotedImage {
  /** `registry/repository@sha256:…` */
  image: string;
  digest: string;
  mediaType: string;
  /** `org.opencontainers.image.revision` of the image (of each platform's image, for an index), deduplicated. */
  revisions: string[];
  /** Platforms (or images) without a revision label. */
  unlabelled: number;
}

export interface PromoteResult extends PromotedImage {
  targets: { tag: string; previous?: string }[];
  durationMs: number;
}

/** The image manifests a source names: itself, or each platform's of an index (nested indexes and non-images skipped). */
async function imagesOf(client: RegistryClient, repository: string, source: FetchedManifest, name: string): Promise<ImageManifest[]> {
  const fetched: FetchedManifest[] = [];
  if (isIndexType(source.mediaType)) {
    for (const entry of parseImageIndex(source, name).manifests) {
      if (entry.platform?.os === 'unknown') continue;
      const child = await client.getManifest(repository, entry.digest);
      if (!isIndexType(child.mediaType)) fetched.push(child);
    }
  } else {
    fetched.push(source);
  }
  return fetched.flatMap((manifest) => {
    try {
      return [parseImageManifest(manifest, name)];
    } catch (error) {
      if (error instanceof ImageShapeError) return [];
      throw error;
    }
  });
}

async function revisionsOf(client: RegistryClient, repository: string, source: FetchedManifest, name: string): Promise<{ revisions: string[]; unlabelled: number }> {
  const revisions = new Set<string>();
  let unlabelled = 0;
  for (const image of await imagesOf(client, repository, source, name)) {
    const revision = imageLabels(await readImageConfig(client, repository, image, name))[Label.revision];
    if (revision) revisions.add(revision);
    else unlabelled += 1;
  }
  return { revisions: [...revisions], unlabelled };
}

export async function promoteImage(request: PromoteRequest): Promise<PromoteResult> {
  const started = Date.now();
  const { repository } = request.image;
  const client = new RegistryClient({
    registry: request.image.registry,
    credentials: request.credentials,
    scopes: [{ repository, actions: ['pull', 'push'] }],
    retry: request.retry,
    log: request.log,
  });
  let source: FetchedManifest;
  try {
    source = await client.getManifest(repository, request.source);
  } catch (error) {
    if (error instanceof RegistryError && error.status === 404) {
      throw new InputError('source', `${repositoryName(request.image)} has no ${request.source.startsWith('sha256:') ? 'manifest' : 'tag'} ${quote(request.source)}`);
    }
    throw error;
  }
  const promoted: PromotedImage = {
    image: `${repositoryName(request.image)}@${source.digest}`,
    digest: source.digest,
    mediaType: source.mediaType,
    ...(await revisionsOf(client, repository, source, `Image ${repositoryName(request.image)}@${source.digest}`)),
  };
  await request.check?.(promoted);

  const targets: PromoteResult['targets'] = [];
  for (const tag of request.targets) {
    const previous = (await client.headManifest(repository, tag))?.digest;
    // The same bytes under the same media type: the registry stores them under the same digest.
    const stored = await client.putManifest(repository, tag, source.bytes, source.mediaType);
    if (stored !== source.digest) throw new RegistryError(`Registry ${request.image.registry}, repository ${repository}`, `stored tag ${tag} as ${stored}, not ${source.digest}`);
    request.log?.(`${repositoryName(request.image)}:${tag} → ${source.digest}${previous && previous !== source.digest ? ` (was ${previous})` : previous ? ' (unchanged)' : ''}`);
    targets.push({ tag, previous });
  }
  return { ...promoted, targets, durationMs: Date.now() - started };
}

/**
 * Which image `promote` takes when `source` is not given: the one publish tagged `pr-<n>` for the
 * merged pull request of a pull_request event; for a push (the merge commit landing), the pull
 * request GitHub associates with the commit, which the caller looks up. Pure.
 */
export type SourceChoice = { source: string; pullRequest?: number } | { lookUpPullRequestOf: string };

export function chooseSource(options: { source?: string; eventName: string; sha: string; pullRequest?: { number: number; merged: boolean } }): SourceChoice {
  if (options.source !== undefined) return { source: options.source };
  if (options.pullRequest) {
    if (!options.pullRequest.merged) {
      throw new InputError('source', `not given, and pull request #${options.pullRequest.number} is not merged: promote runs when a pull request is merged (or give source)`);
    }
    return { source: `pr-${options.pullRequest.number}`, pullRequest: options.pullRequest.number };
  }
  if (options.sha) return { lookUpPullRequestOf: options.sha };
  throw new InputError('source', `not given, and the ${options.eventName || 'current'} event names neither a pull request nor a commit`);
}

/** `source` as typed: a tag or a sha256 digest. */
export function parseSource(input: string, raw: string): string {
  const text = raw.trim();
  if (isDigest(text) || isTag(text)) return text;
  throw new InputError(input, `expected a tag (like pr-12) or a digest (sha256:…), got ${quote(raw)}`);
}
