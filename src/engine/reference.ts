import { InputError, quote } from '../inputs/errors';

/**
 * An image reference as the Docker Engine reads it: `[registry/]repository[:tag][@digest]`.
 * The first path component is a registry when it has a `.` or `:` or is `localhost`; otherwise
 * the engine means Docker Hub.
 */
export interface ImageReference {
  /** `ghcr.io`, `127.0.0.1:5000`, or `docker.io`. */
  registry: string;
  /** Path inside the registry, e.g. `acme/iris` (`library/x` on Docker Hub). */
  repository: string;
  tag?: string;
  digest?: string;
  /** What was given, trimmed. */
  text: string;
}

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN = '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?';
const REFERENCE = new RegExp(`^(?:(${DOMAIN})/)?(${COMPONENT}(?:/${COMPONENT})*)(?::([\\w][\\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$`);

export function parseImageReference(raw: string, inputName = 'image'): ImageReference {
  const text = raw.trim();
  const match = REFERENCE.exec(text);
  if (!match) throw new InputError(inputName, `not an image reference (expected registry/repository:tag or registry/repository@sha256:…), got ${quote(text)}`);
  let [, domain, path] = match;
  const [, , , tag, digest] = match;
  if (domain && !/[.:]/.test(domain) && domain !== 'localhost') {
    // `acme/iris`: the first component is a Docker Hub namespace, not a registry.
    if (!new RegExp(`^${COMPONENT}$`).test(domain)) throw new InputError(inputName, `not an image reference (repository names are lower case), got ${quote(text)}`);
    path = `${domain}/${path}`;
    domain = undefined;
  }
  const registry = domain ?? 'docker.io';
  const repository = registry === 'docker.io' && !path!.includes('/') ? `library/${path}` : path!;
  return { registry, repository, tag, digest, text };
}

/** The reference the engine can pull: tag defaults to `latest` when neither tag nor digest is given. */
export function pullableReference(ref: ImageReference): string {
  const name = ref.registry === 'docker.io' ? ref.repository : `${ref.registry}/${ref.repository}`;
  if (ref.digest) return `${name}@${ref.digest}`;
  return `${name}:${ref.tag ?? 'latest'}`;
}

/** `registry/repository` as it appears before `@` in an image's RepoDigests. */
export function repositoryName(ref: ImageReference): string {
  return ref.registry === 'docker.io' ? ref.repository.replace(/^library\//, '') : `${ref.registry}/${ref.repository}`;
}
