import type Docker from 'dockerode';
import { ResourceError } from '../inputs/errors';
import type { RegistryCredentials } from '../serving/deploy-spec';
import { engineMessage } from './errors';
import { engineRepositoryName, pullReference, type GivenImage } from '../registry/reference';

export interface PulledImage {
  /** The engine's image id (config digest). */
  id: string;
  /** The manifest digest from the registry, or the image id when the image came from no registry. */
  digest: string;
  /** What containers are created from: `repo@sha256:…` when the digest is known. */
  reference: string;
  /** The image's own HEALTHCHECK, when it declares one. */
  healthcheck?: { Test?: string[] };
  /** The image's ENTRYPOINT and CMD. */
  entrypoint?: string[];
  cmd?: string[];
}

interface ProgressEvent {
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/**
 * Pull with credentials. The engine answers 200 and then reports failures inside the progress
 * stream (`{"error": …}`), so each event is checked; a stream that ends without an error is read
 * as success only once the image can be inspected.
 */
export async function pullImage(docker: Docker, image: GivenImage, credentials: RegistryCredentials | undefined): Promise<{ layersFetched: boolean }> {
  const reference = pullReference(image);
  const authconfig = credentials ? { username: credentials.username, password: credentials.password, serveraddress: image.registry } : undefined;
  const fail = (problem: string) => new ResourceError(`Image ${image.text}`, `pull failed: ${problem}`);
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.pull(reference, authconfig ? { authconfig } : {});
  } catch (error) {
    throw fail(engineMessage(error));
  }
  const errors: string[] = [];
  let layersFetched = false;
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null) => (error ? reject(fail(error.message)) : resolve()),
      (event: ProgressEvent) => {
        if (event.error || event.errorDetail?.message) errors.push(event.errorDetail?.message ?? event.error!);
        // A layer already present reports "Already exists"; one fetched reports these.
        if (event.status && FETCH_STATUSES.has(event.status)) layersFetched = true;
      },
    );
  });
  if (errors.length > 0) throw fail(errors.join('; '));
  return { layersFetched };
}

const FETCH_STATUSES = new Set(['Pulling fs layer', 'Downloading', 'Download complete', 'Pull complete']);

/** Resolve a local image to its id, digest and a reference pinned to that digest. */
export async function resolveImage(docker: Docker, image: GivenImage): Promise<PulledImage | undefined> {
  let info: Docker.ImageInspectInfo;
  try {
    info = await docker.getImage(image.digest ? pullReference(image) : image.text).inspect();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
  const repository = engineRepositoryName(image);
  const repoDigest = image.digest ? `${repository}@${image.digest}` : (info.RepoDigests ?? []).find((entry) => entry.startsWith(`${repository}@`));
  const digest = repoDigest ? repoDigest.slice(repoDigest.indexOf('@') + 1) : info.Id;
  const config = info.Config as { Healthcheck?: { Test?: string[] }; Entrypoint?: string[] | null; Cmd?: string[] | null } | undefined;
  const healthcheck = config?.Healthcheck;
  return {
    id: info.Id,
    digest,
    reference: repoDigest ?? image.text,
    healthcheck: healthcheck?.Test?.length && healthcheck.Test[0] !== 'NONE' ? healthcheck : undefined,
    entrypoint: config?.Entrypoint ?? undefined,
    cmd: config?.Cmd ?? undefined,
  };
}

/**
 * Make the image present and resolved. A digest reference already present is content-addressed
 * and cannot be stale, so it is not pulled again; a tag is always pulled (it may have moved).
 * `log` hears when a pull begins.
 */
export async function ensureImage(docker: Docker, image: GivenImage, credentials: RegistryCredentials | undefined, log?: { info(message: string): void }): Promise<PulledImage & { pulled: boolean; layersFetched: boolean }> {
  if (image.digest) {
    const present = await resolveImage(docker, image);
    if (present) return { ...present, pulled: false, layersFetched: false };
  }
  // A large model takes a while: say what the step is waiting on.
  log?.info(`Pulling ${image.text}`);
  const { layersFetched } = await pullImage(docker, image, credentials);
  const pulled = await resolveImage(docker, image);
  if (!pulled) throw new ResourceError(`Image ${image.text}`, 'the engine reported the pull done, but the image is not there');
  return { ...pulled, pulled: true, layersFetched };
}
