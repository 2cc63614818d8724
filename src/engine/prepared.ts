import type Docker from 'dockerode';
import { InputError, ResourceError } from '../inputs/errors';
import { formatDuration } from '../inputs/parse';
import type { DeploySpec } from '../serving/deploy-spec';
import type { Log, PreparedImage, PrunePreparedOptions, PrunedImage } from '../serving/engine';
import { ensureImage } from './pull';
import { engineMessage } from './errors';

/**
 * Prepared images (deploy with `prepare: true`) carry a local tag in this repository,
 * `train-to-serve-prepared/<service>:<64 hex of the digest>`. The tag is never pushed; it marks the
 * image for retire, and the engine records when it was set (the image's Metadata.LastTagTime),
 * which is the time retire measures `keep-prepared` from.
 */
export const PREPARED_REPOSITORY = 'train-to-serve-prepared';

export function preparedTag(service: string, digest: string): { repo: string; tag: string } {
  return { repo: `${PREPARED_REPOSITORY}/${service}`, tag: digest.slice(digest.indexOf(':') + 1) };
}

/**
 * Pull (only when the digest is not already present) and verify: the image the engine holds is
 * the one the reference names (its repository digest is the given digest), and it is built for
 * the engine's platform. Then mark it. Starts nothing, takes no lock, changes no routing.
 */
export async function prepareImage(docker: Docker, spec: DeploySpec): Promise<PreparedImage> {
  let image: Awaited<ReturnType<typeof ensureImage>>;
  try {
    image = await ensureImage(docker, spec.image, spec.credentials);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/manifest unknown|not found|does not exist|no such/i.test(message)) {
      throw new InputError('image', `the registry has no ${spec.image.digest ? `manifest ${spec.image.digest}` : 'such tag'} for ${spec.image.text} (${message.replace(/\s+/g, ' ')})`);
    }
    throw error;
  }
  if (spec.image.digest && image.digest !== spec.image.digest) {
    throw new ResourceError(`Image ${spec.image.text}`, `the engine holds digest ${image.digest}, not the one the reference names`);
  }
  const info = await docker.getImage(image.id).inspect();
  const engine = (await docker.version()) as { Os?: string; Arch?: string };
  if ((engine.Os && info.Os !== engine.Os) || (engine.Arch && info.Architecture !== engine.Arch)) {
    throw new InputError('image', `${spec.image.text} is built for ${info.Os}/${info.Architecture}; the engine runs ${engine.Os}/${engine.Arch}`);
  }
  const { repo, tag } = preparedTag(spec.routing.service, image.digest);
  try {
    await docker.getImage(image.id).tag({ repo, tag });
  } catch (error) {
    throw new ResourceError(`Image ${spec.image.text}`, `could not mark it prepared as ${repo}:${tag}: ${engineMessage(error)}`);
  }
  return { digest: image.digest, reference: image.reference, id: image.id, pulled: image.pulled, layersFetched: image.layersFetched, mark: `${repo}:${tag}` };
}

/** When the image was last tagged (its prepare mark set); undefined when the engine does not say. */
export function lastTagged(info: { Metadata?: { LastTagTime?: string } }): Date | undefined {
  const text = info.Metadata?.LastTagTime;
  if (!text || text.startsWith('0001-')) return undefined;
  const time = new Date(text);
  return Number.isNaN(time.getTime()) ? undefined : time;
}

const isPreparedTag = (reference: string, service?: string) => reference.startsWith(service ? `${PREPARED_REPOSITORY}/${service}:` : `${PREPARED_REPOSITORY}/`);

/** Prepared images younger than keepMs, by image id: retire's ordinary pruning leaves them alone. */
export async function freshlyPrepared(docker: Docker, keepMs: number, now: Date): Promise<Set<string>> {
  const fresh = new Set<string>();
  for (const image of await docker.listImages({ filters: { reference: [`${PREPARED_REPOSITORY}/*`] } })) {
    const info = await docker
      .getImage(image.Id)
      .inspect()
      .catch(() => undefined);
    const tagged = info && lastTagged(info as { Metadata?: { LastTagTime?: string } });
    if (!tagged || now.getTime() - tagged.getTime() < keepMs) fresh.add(image.Id);
  }
  return fresh;
}

/** The service a prepared mark `train-to-serve-prepared/<service>:<hex>` is for. */
const serviceOfMark = (reference: string) => reference.slice(PREPARED_REPOSITORY.length + 1, reference.lastIndexOf(':'));

/**
 * retire: remove the prepared images (of one service when given) that no container uses, running
 * or stopped, once `keepMs` passed since they were prepared: every reference to them goes, unless
 * the image is also known under a name that is not the toolkit's (then only the mark goes). Each
 * service's marks are pruned under its lock, so no deploy of the service is between finding its
 * prepared image and starting a container from it.
 */
export async function prunePrepared(docker: Docker, options: PrunePreparedOptions, log: Log): Promise<PrunedImage[]> {
  const marked = await docker.listImages({ filters: { reference: [`${PREPARED_REPOSITORY}/*`] } });
  const services = options.service ? [options.service] : [...new Set(marked.flatMap((image) => (image.RepoTags ?? []).filter((ref) => isPreparedTag(ref)).map(serviceOfMark)))].sort();
  const pruned: PrunedImage[] = [];
  for (const service of services) {
    const lock = await options.lock(service);
    if (!lock) {
      log.info(`Left the prepared images of ${service} for the next run: a deploy of the service holds its lock`);
      continue;
    }
    try {
      pruned.push(...(await pruneServicePrepared(docker, service, options, log)));
    } finally {
      await lock.release();
    }
  }
  return pruned;
}

async function pruneServicePrepared(docker: Docker, service: string, options: PrunePreparedOptions, log: Log): Promise<PrunedImage[]> {
  const inUse = new Set((await docker.listContainers({ all: true })).map((container) => container.ImageID));
  const pruned: PrunedImage[] = [];
  for (const image of await docker.listImages({ filters: { reference: [`${PREPARED_REPOSITORY}/*`] } })) {
    const marks = (image.RepoTags ?? []).filter((ref) => isPreparedTag(ref, service));
    if (marks.length === 0) continue;
    if (inUse.has(image.Id)) continue;
    const info = await docker
      .getImage(image.Id)
      .inspect()
      .catch(() => undefined);
    const tagged = info && lastTagged(info as { Metadata?: { LastTagTime?: string } });
    if (!tagged) continue;
    const age = options.now.getTime() - tagged.getTime();
    if (age < options.keepMs) {
      log.info(`Kept prepared image ${marks[0]}: prepared ${formatDuration(Math.max(0, age))} ago (keep-prepared ${formatDuration(options.keepMs)})`);
      continue;
    }
    const references = [...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])].filter((ref) => !ref.startsWith('<none>'));
    // Another name (a user's tag, another service's mark) keeps the image; only these marks go then.
    const others = (image.RepoTags ?? []).filter((ref) => !marks.includes(ref));
    try {
      for (const reference of marks) await docker.getImage(reference).remove();
      // Then the image itself, never forced: the engine refuses while any container (even a
      // stopped one created meanwhile) uses it.
      if (others.length === 0) await docker.getImage(image.Id).remove();
      pruned.push({ id: image.Id, references: others.length > 0 ? marks : [...marks, ...references.filter((ref) => !marks.includes(ref))] });
      log.info(`Removed prepared image ${marks.join(', ')} (no container uses it; prepared ${formatDuration(age)} ago)${others.length > 0 ? `; the image stays as ${others[0]}` : ''}`);
    } catch (error) {
      log.info(`Kept prepared image ${marks[0]}: ${engineMessage(error)}`);
    }
  }
  return pruned;
}
