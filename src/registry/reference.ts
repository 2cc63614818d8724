import { InputError, quote } from '../inputs/errors';

/**
 * Image references as Docker and the OCI distribution spec write them:
 * `[registry/]repository[:tag][@sha256:hex]`. Parsing is strict, because a reference that parses
 * loosely can quietly point at Docker Hub or at another repository.
 */
export interface ImageReference {
  /** The registry as written (`ghcr.io`, `127.0.0.1:5000`), `docker.io` when none was given. */
  registry: string;
  /** The repository path inside the registry (`acme/iris`, `library/python` on Docker Hub). */
  repository: string;
  tag?: string;
  digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::\d{1,5})?$/;

export const DOCKER_HUB = 'docker.io';

/**
 * Parse a reference; `input` names the action input it came from, for the error message.
 * `allow` says which suffixes the input may carry.
 */
export function parseImageReference(text: string, input: string, allow: { tag?: boolean; digest?: boolean } = { tag: true, digest: true }): ImageReference {
  const raw = text.trim();
  const fail = (problem: string): never => {
    throw new InputError(input, `${quote(raw)} is not a valid image reference: ${problem}`);
  };
  if (raw === '') fail('it is empty');
  if (/\s/.test(raw)) fail('it contains whitespace');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) fail('leave out the URL scheme (write ghcr.io/owner/name)');

  let rest = raw;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) fail(`the digest ${quote(digest)} is not sha256: followed by 64 lower-case hex digits`);
  }

  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.indexOf(':', lastSlash + 1);
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) fail(`the tag ${quote(tag)} may hold only letters, digits, _ . - (at most 128, not starting with . or -)`);
  }

  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  const first = parts[0]!;
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))) {
    registry = first;
    parts.shift();
    if (!HOST.test(registry)) fail(`the registry ${quote(registry)} is not a host name with an optional port`);
  }
  if (parts.length === 0 || parts.some((part) => part === '')) fail('the repository path has an empty component');
  const repositoryText = parts.join('/');
  if (repositoryText !== repositoryText.toLowerCase() && parts.every((part) => COMPONENT.test(part.toLowerCase()))) {
    fail(`repository names must be lower-case (try ${quote(repositoryText.toLowerCase())})`);
  }
  for (const part of parts) {
    if (!COMPONENT.test(part)) fail(`the repository component ${quote(part)} may hold only lower-case letters, digits and single separators (. _ __ -)`);
  }
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  const repository = parts.join('/');
  if (registry.length + 1 + repository.length > 255) fail('the name is longer than 255 characters');

  if (tag !== undefined && !allow.tag) fail('give the repository without a tag here');
  if (digest !== undefined && !allow.digest) fail('give the repository without a digest here');
  return { registry, repository, tag, digest };
}

/** A reference together with the text it was read from (trimmed), for messages and labels. */
export interface GivenImage extends ImageReference {
  text: string;
}

export function parseGivenImage(text: string, input: string): GivenImage {
  return { ...parseImageReference(text, input), text: text.trim() };
}

/** A repository name for error messages and outputs: `ghcr.io/acme/iris`. */
export function repositoryName(ref: Pick<ImageReference, 'registry' | 'repository'>): string {
  return `${ref.registry}/${ref.repository}`;
}

export function formatReference(ref: ImageReference): string {
  return `${repositoryName(ref)}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

export function isTag(text: string): boolean {
  return TAG.test(text);
}

export function isDigest(text: string): boolean {
  return DIGEST.test(text);
}

/** The host the registry API lives on (Docker Hub's API is not at docker.io). */
export function registryApiHost(registry: string): string {
  return registry === DOCKER_HUB || registry === 'index.docker.io' ? 'registry-1.docker.io' : registry;
}

/** Loopback registries are spoken to over plain HTTP (as Docker does); every other one over HTTPS. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(0, registry.indexOf(']') + 1) : registry.replace(/:\d+$/, '');
  return host === 'localhost' || host === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/** The API base URL for a registry: `https://ghcr.io`, `http://127.0.0.1:5000`. */
export function registryBaseUrl(registry: string): string {
  return `${isLoopbackRegistry(registry) ? 'http' : 'https'}://${registryApiHost(registry)}`;
}

/**
 * The repository as the Docker Engine names it: Docker Hub's without `docker.io/` and
 * `library/`, as in an image's RepoDigests (`nginx@sha256:…`, `ghcr.io/acme/iris@sha256:…`).
 */
export function engineRepositoryName(ref: Pick<ImageReference, 'registry' | 'repository'>): string {
  return ref.registry === DOCKER_HUB ? ref.repository.replace(/^library\//, '') : repositoryName(ref);
}

/** What the engine is asked to pull: by digest when there is one, else by tag (`latest` when none, as `docker pull` does). */
export function pullReference(ref: ImageReference): string {
  const name = engineRepositoryName(ref);
  return ref.digest ? `${name}@${ref.digest}` : `${name}:${ref.tag ?? 'latest'}`;
}

/** The key `docker login` files the registry's credentials under in config.json. */
export function dockerConfigKey(ref: Pick<ImageReference, 'registry'>): string {
  return ref.registry === DOCKER_HUB ? 'https://index.docker.io/v1/' : ref.registry;
}

/**
 * Whether `text` names an image in a registry the toolkit may query: a written registry host
 * and a tag or digest. A bare `name:tag` (Docker Hub) or a registry without a tag is not taken,
 * so a mistyped file name never turns into a registry request.
 */
export function isRegistryImage(text: string): boolean {
  try {
    const ref = parseImageReference(text, 'image');
    return text.trim().startsWith(`${ref.registry}/`) && (ref.tag !== undefined || ref.digest !== undefined);
  } catch {
    return false;
  }
}
