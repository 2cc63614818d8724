import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { registryBaseUrl } from './reference';
import { basicAuthorization, mergeChallengeScope, parseChallenge, scopeStrings, type Action, type Credentials, type ScopeRequest } from './auth';
import { describeRegistryErrors, RegistryAuthError, RegistryError } from './errors';
import { drain, header, HttpError, readBody, send, type HttpRequest, type RequestBody, type StreamBody } from './http';
import { isIndexType, isImageManifestType, MANIFEST_ACCEPT, MediaType } from './media-types';
import { DEFAULT_RETRY, retryDelay, type RetryPolicy } from './retry';

/**
 * A client for one registry (the OCI distribution API), holding its credentials and the scopes
 * the work needs. Auth: anonymous, basic, or the bearer-token challenge flow, asking one token for
 * every declared repository scope at once (so a cross-repository mount carries both). Requests
 * are retried with backoff on resets, 5xx and 429 (honouring Retry-After); a 401 is answered once
 * with a fresh token before it is reported.
 */
export interface RegistryClientOptions {
  /** The registry as written in image references: `ghcr.io`, `127.0.0.1:5000`. */
  registry: string;
  credentials?: Credentials;
  /** Repositories and what the work does to them: asked for up front, in one token. */
  scopes?: { repository: string; actions: Action[] }[];
  retry?: Partial<RetryPolicy>;
  /** Notes about retries, for the log. */
  log?: (message: string) => void;
  userAgent?: string;
}

export interface FetchedManifest {
  mediaType: string;
  digest: string;
  bytes: Buffer;
  json: Record<string, unknown>;
}

export interface BlobUpload {
  digest: string;
  size: number;
  /** Opens the blob's bytes from the start; called again for every try. */
  open(): AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function sha256Digest(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

interface Exchange {
  method: HttpRequest['method'];
  /** A path under the registry (`/v2/…`) or an absolute URL the registry handed out. */
  url: string;
  repository?: string;
  headers?: Record<string, string>;
  body?: RequestBody;
  /** False for requests whose body cannot be sent twice to the same place (upload PUTs). */
  retry?: boolean;
  onBodyProgress?: (bytes: number) => void;
}

export class RegistryClient {
  readonly registry: string;
  readonly baseUrl: string;
  /** Body bytes handed to the registry, every try counted. */
  bytesSent = 0;
  private readonly credentials?: Credentials;
  private readonly scopes: ScopeRequest = new Map();
  private readonly policy: RetryPolicy;
  private readonly log: (message: string) => void;
  private readonly userAgent: string;
  private authorization?: string;
  private authorizing?: Promise<void>;

  constructor(options: RegistryClientOptions) {
    this.registry = options.registry;
    this.baseUrl = registryBaseUrl(options.registry);
    this.credentials = options.credentials;
    for (const { repository, actions } of options.scopes ?? []) this.addScope(repository, actions);
    this.policy = { ...DEFAULT_RETRY, ...options.retry };
    this.log = options.log ?? (() => {});
    this.userAgent = options.userAgent ?? 'train-to-serve';
  }

  addScope(repository: string, actions: Action[]): void {
    const set = this.scopes.get(repository) ?? new Set<Action>();
    for (const action of actions) set.add(action);
    this.scopes.set(repository, set);
  }

  private resource(repository?: string): string {
    return repository ? `Registry ${this.registry}, repository ${repository}` : `Registry ${this.registry}`;
  }

  /** One exchange with auth and retries; resolves with the final response, body unread. */
  async exchange(request: Exchange): Promise<IncomingMessage> {
    let url = new URL(request.url, this.baseUrl);
    let attempt = 0;
    let authRenewed = false;
    let redirects = 0;
    for (;;) {
      attempt += 1;
      // Same scheme, host and port: a redirect to http:// on the registry's own host is not the registry.
      const sameHost = url.origin === new URL(this.baseUrl).origin;
      const headers: Record<string, string> = { 'user-agent': this.userAgent, ...request.headers };
      const authorization = sameHost ? this.authorization : undefined;
      if (authorization) headers.authorization = authorization;
      let response: IncomingMessage;
      try {
        response = await send({
          method: request.method,
          url,
          headers,
          body: request.body,
          onBodyProgress: (bytes) => {
            this.bytesSent += bytes;
            request.onBodyProgress?.(bytes);
          },
        });
      } catch (error) {
        // Only the network's errors are retried; a body source's own failure goes up as it is.
        if (!(error instanceof HttpError)) throw error;
        const code = error.code;
        const delay = request.retry === false ? undefined : retryDelay({ errorCode: code }, attempt, this.policy);
        if (delay === undefined) {
          throw new RegistryError(this.resource(request.repository), `${request.method} ${url.pathname} failed after ${attempt} ${attempt === 1 ? 'try' : 'tries'}: ${(error as Error).message}`, undefined, code);
        }
        this.log(`${request.method} ${url.pathname}: ${code}; trying again in ${Math.round(delay)} ms`);
        await sleep(delay);
        continue;
      }

      const status = response.statusCode ?? 0;
      if (status === 401 && sameHost) {
        const text = await drain(response);
        if (authorization && authRenewed) {
          throw new RegistryAuthError(this.resource(request.repository), `refused access even with a fresh token (${describeRegistryErrors(text).message ?? 'HTTP 401'})`, 401);
        }
        // The first refusal of credentials we sent may only be an expired token: fetch a new one once.
        if (authorization) authRenewed = true;
        await this.authenticate(response.headers['www-authenticate'], authorization, request.repository);
        attempt -= 1;
        continue;
      }
      if ((request.method === 'GET' || request.method === 'HEAD') && [301, 302, 303, 307, 308].includes(status)) {
        const location = header(response.headers, 'location');
        await drain(response);
        if (!location || ++redirects > 5) throw new RegistryError(this.resource(request.repository), `${request.method} ${url.pathname} redirected without an end`, status);
        // Blob storage behind a redirect gets no registry credentials.
        url = new URL(location, url);
        attempt -= 1;
        continue;
      }
      const delay = request.retry === false ? undefined : retryDelay({ status, retryAfter: header(response.headers, 'retry-after') }, attempt, this.policy);
      if (delay !== undefined) {
        await drain(response);
        this.log(`${request.method} ${url.pathname}: HTTP ${status}; trying again in ${Math.round(delay)} ms`);
        await sleep(delay);
        continue;
      }
      return response;
    }
  }

  /** Answer a 401 challenge: basic credentials, or a bearer token for every scope the work needs. */
  private async authenticate(wwwAuthenticate: string | undefined, refused: string | undefined, repository?: string): Promise<void> {
    if (this.authorizing) {
      await this.authorizing;
      if (this.authorization !== refused) return;
    }
    this.authorizing = this.fetchAuthorization(wwwAuthenticate, refused, repository).finally(() => (this.authorizing = undefined));
    await this.authorizing;
  }

  private async fetchAuthorization(wwwAuthenticate: string | undefined, refused: string | undefined, repository?: string): Promise<void> {
    const challenge = parseChallenge(wwwAuthenticate);
    const who = this.credentials ? `user ${JSON.stringify(this.credentials.username)}` : 'anonymous access';
    if (challenge?.scheme === 'basic') {
      if (!this.credentials) throw new RegistryAuthError(this.resource(repository), 'requires a username and password', 401);
      const basic = basicAuthorization(this.credentials);
      if (refused === basic) throw new RegistryAuthError(this.resource(repository), `refused the credentials of ${who}`, 401);
      this.authorization = basic;
      return;
    }
    if (challenge?.scheme !== 'bearer' || !challenge.params.realm) {
      throw new RegistryAuthError(this.resource(repository), `answered 401 with a challenge this client does not speak (${wwwAuthenticate ?? 'none'})`, 401);
    }
    mergeChallengeScope(this.scopes, challenge.params.scope);
    const realm = new URL(challenge.params.realm);
    // Plain http only for a loopback registry's loopback token service: an HTTPS registry's credentials never travel unencrypted.
    const plainAllowed = this.baseUrl.startsWith('http:') && registryBaseUrl(realm.host).startsWith('http:');
    if (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && plainAllowed)) {
      throw new RegistryAuthError(this.resource(repository), `token service ${realm.origin} is not HTTPS; refusing to send credentials to it`);
    }
    if (challenge.params.service) realm.searchParams.set('service', challenge.params.service);
    for (const scope of scopeStrings(this.scopes)) realm.searchParams.append('scope', scope);
    if (this.credentials) realm.searchParams.set('account', this.credentials.username);
    const headers: Record<string, string> = { 'user-agent': this.userAgent, accept: 'application/json' };
    if (this.credentials) headers.authorization = basicAuthorization(this.credentials);

    let attempt = 0;
    for (;;) {
      attempt += 1;
      let response: IncomingMessage;
      try {
        response = await send({ method: 'GET', url: realm, headers });
      } catch (error) {
        const delay = retryDelay({ errorCode: (error as HttpError).code }, attempt, this.policy);
        if (delay === undefined) throw new RegistryError(`Token service ${realm.origin}`, `did not answer: ${(error as Error).message}`);
        await sleep(delay);
        continue;
      }
      const status = response.statusCode ?? 0;
      const text = (await readBody(response, 1024 * 1024)).toString('utf8');
      if (status === 401 || status === 403) {
        throw new RegistryAuthError(this.resource(repository), `token service refused the credentials of ${who} (${describeRegistryErrors(text).message ?? `HTTP ${status}`})`, status);
      }
      const delay = retryDelay({ status, retryAfter: header(response.headers, 'retry-after') }, attempt, this.policy);
      if (delay !== undefined) {
        await sleep(delay);
        continue;
      }
      if (status !== 200) throw new RegistryError(`Token service ${realm.origin}`, `answered HTTP ${status}: ${describeRegistryErrors(text).message ?? ''}`, status);
      let token: string | undefined;
      try {
        const parsed = JSON.parse(text) as { token?: string; access_token?: string };
        token = parsed.token ?? parsed.access_token;
      } catch {
        // reported below
      }
      if (!token) throw new RegistryError(`Token service ${realm.origin}`, 'answered without a token');
      this.authorization = `Bearer ${token}`;
      return;
    }
  }

  private async failure(response: IncomingMessage, repository: string | undefined, what: string): Promise<never> {
    const status = response.statusCode ?? 0;
    const { code, message } = describeRegistryErrors(await drain(response));
    const problem = `${what}: HTTP ${status}${message ? ` (${message})` : ''}`;
    if (status === 401 || status === 403) throw new RegistryAuthError(this.resource(repository), problem, status, code);
    throw new RegistryError(this.resource(repository), problem, status, code);
  }

  // ---- manifests ---------------------------------------------------------------------------

  /** GET a manifest or index by tag or digest; the bytes are kept exactly, and their digest checked. */
  async getManifest(repository: string, reference: string): Promise<FetchedManifest> {
    const response = await this.exchange({ method: 'GET', url: `/v2/${repository}/manifests/${reference}`, repository, headers: { accept: MANIFEST_ACCEPT } });
    if (response.statusCode === 404) {
      const { code } = describeRegistryErrors(await drain(response));
      throw new RegistryError(this.resource(repository), `has no manifest ${reference}`, 404, code ?? 'MANIFEST_UNKNOWN');
    }
    if (response.statusCode !== 200) return this.failure(response, repository, `reading manifest ${reference}`);
    const bytes = await readBody(response, 8 * 1024 * 1024);
    const digest = sha256Digest(bytes);
    const claimed = header(response.headers, 'docker-content-digest');
    if ((reference.startsWith('sha256:') && reference !== digest) || (claimed?.startsWith('sha256:') && claimed !== digest)) {
      throw new RegistryError(this.resource(repository), `manifest ${reference} arrived with digest ${digest}, not the one asked for`);
    }
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new RegistryError(this.resource(repository), `manifest ${reference} is not JSON`);
    }
    const contentType = (header(response.headers, 'content-type') ?? '').split(';')[0]!.trim();
    const mediaType = typeof json.mediaType === 'string' ? json.mediaType : contentType;
    if (mediaType === MediaType.dockerSchema1 || mediaType === MediaType.dockerSchema1Signed || json.schemaVersion === 1) {
      throw new RegistryError(this.resource(repository), `manifest ${reference} uses Docker's retired schema 1; push the image again with a current Docker or another tool`);
    }
    if (!isIndexType(mediaType) && !isImageManifestType(mediaType)) {
      // OCI manifests may leave mediaType out: tell an index from a manifest by its fields.
      const guessed = Array.isArray(json.manifests) ? MediaType.ociIndex : json.config ? MediaType.ociManifest : undefined;
      if (!guessed) throw new RegistryError(this.resource(repository), `manifest ${reference} has media type ${JSON.stringify(mediaType)}, which is not an image`);
      return { mediaType: guessed, digest, bytes, json };
    }
    return { mediaType, digest, bytes, json };
  }

  /** HEAD a manifest: its digest, or undefined when the registry has none under that reference. */
  async headManifest(repository: string, reference: string): Promise<{ digest?: string; mediaType?: string } | undefined> {
    const response = await this.exchange({ method: 'HEAD', url: `/v2/${repository}/manifests/${reference}`, repository, headers: { accept: MANIFEST_ACCEPT } });
    await drain(response);
    if (response.statusCode === 404) return undefined;
    if (response.statusCode !== 200) return this.failure(response, repository, `checking manifest ${reference}`);
    return { digest: header(response.headers, 'docker-content-digest'), mediaType: header(response.headers, 'content-type') };
  }

  /** PUT manifest bytes under a tag or their digest; returns the digest the registry stored them under. */
  async putManifest(repository: string, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    const digest = sha256Digest(bytes);
    const response = await this.exchange({ method: 'PUT', url: `/v2/${repository}/manifests/${reference}`, repository, headers: { 'content-type': mediaType }, body: bytes });
    if (response.statusCode !== 201 && response.statusCode !== 200) return this.failure(response, repository, `storing manifest ${reference}`);
    await drain(response);
    const stored = header(response.headers, 'docker-content-digest');
    if (stored && stored !== digest) throw new RegistryError(this.resource(repository), `stored manifest ${reference} as ${stored}, expected ${digest}`);
    return digest;
  }

  // ---- blobs -------------------------------------------------------------------------------

  /** The blob's size when the repository has it, undefined when not. */
  async headBlob(repository: string, digest: string): Promise<number | undefined> {
    const response = await this.exchange({ method: 'HEAD', url: `/v2/${repository}/blobs/${digest}`, repository });
    await drain(response);
    if (response.statusCode === 404) return undefined;
    if (response.statusCode !== 200) return this.failure(response, repository, `checking blob ${digest}`);
    return Number(header(response.headers, 'content-length') ?? Number.NaN);
  }

  /** GET a blob as a stream (follows redirects to blob storage). The caller checks the digest. */
  async getBlob(repository: string, digest: string): Promise<IncomingMessage> {
    const response = await this.exchange({ method: 'GET', url: `/v2/${repository}/blobs/${digest}`, repository });
    if (response.statusCode !== 200) return this.failure(response, repository, `reading blob ${digest}`);
    return response;
  }

  /** A small blob (an image config), read whole and checked against its digest. */
  async getBlobBytes(repository: string, digest: string, limit = 32 * 1024 * 1024): Promise<Buffer> {
    const bytes = await readBody(await this.getBlob(repository, digest), limit);
    if (sha256Digest(bytes) !== digest) throw new RegistryError(this.resource(repository), `blob ${digest} arrived with other bytes (digest ${sha256Digest(bytes)})`);
    return bytes;
  }

  /**
   * Ask the registry to link a blob from another repository. Returns true when mounted (201);
   * false when the registry opened an upload instead (202), whose location is handed back.
   */
  async mountBlob(repository: string, digest: string, from: string): Promise<{ mounted: true } | { mounted: false; location?: string }> {
    const query = new URLSearchParams({ mount: digest, from });
    const response = await this.exchange({ method: 'POST', url: `/v2/${repository}/blobs/uploads/?${query.toString()}`, repository, body: Buffer.alloc(0) });
    await drain(response);
    if (response.statusCode === 201) return { mounted: true };
    if (response.statusCode === 202) return { mounted: false, location: header(response.headers, 'location') };
    return this.failure(response, repository, `mounting blob ${digest} from ${from}`);
  }

  private async startUpload(repository: string): Promise<string> {
    const response = await this.exchange({ method: 'POST', url: `/v2/${repository}/blobs/uploads/`, repository, body: Buffer.alloc(0) });
    if (response.statusCode !== 202) return this.failure(response, repository, 'starting a blob upload');
    await drain(response);
    const location = header(response.headers, 'location');
    if (!location) throw new RegistryError(this.resource(repository), 'opened a blob upload without a Location');
    return location;
  }

  /**
   * Upload a blob in one streamed PUT with its Content-Length (monolithic: GHCR refuses PATCH
   * bodies over 4 MiB). A try that breaks starts again from a fresh upload session, after asking
   * whether the blob arrived after all. The registry checks the bytes against the digest.
   */
  async uploadBlob(repository: string, blob: BlobUpload, options: { location?: string; onProgress?: (bytes: number) => void } = {}): Promise<void> {
    let location = options.location;
    let attempt = 0;
    for (;;) {
      attempt += 1;
      if (attempt > 1 && (await this.headBlob(repository, blob.digest)) !== undefined) return;
      let failure: string;
      let code: string | undefined;
      try {
        location ??= await this.startUpload(repository);
        const url = new URL(location, this.baseUrl);
        location = undefined;
        url.searchParams.set('digest', blob.digest);
        const body: StreamBody = { length: blob.size, open: () => blob.open() };
        const response = await this.exchange({
          method: 'PUT',
          url: url.toString(),
          repository,
          headers: { 'content-type': 'application/octet-stream' },
          body,
          retry: false,
          onBodyProgress: options.onProgress,
        });
        const status = response.statusCode ?? 0;
        if (status === 201) {
          await drain(response);
          const stored = header(response.headers, 'docker-content-digest');
          if (stored && stored !== blob.digest) throw new RegistryError(this.resource(repository), `stored blob ${blob.digest} as ${stored}`, status);
          return;
        }
        const described = describeRegistryErrors(await drain(response));
        code = described.code;
        failure = `HTTP ${status}${described.message ? ` (${described.message})` : ''}`;
        if (status === 401 || status === 403) throw new RegistryAuthError(this.resource(repository), `uploading blob ${blob.digest}: ${failure}`, status, code);
        const delay = retryDelay({ status, retryAfter: header(response.headers, 'retry-after') }, attempt, this.policy);
        if (delay === undefined) throw new RegistryError(this.resource(repository), `uploading blob ${blob.digest}: ${failure}`, status, code);
        this.log(`upload of ${blob.digest.slice(0, 19)}: ${failure}; starting a fresh upload in ${Math.round(delay)} ms`);
        await sleep(delay);
      } catch (error) {
        if (!(error instanceof RegistryError) || error instanceof RegistryAuthError || error.status !== undefined) throw error;
        // A broken connection (the registry's own errors carry a status and were thrown above).
        const delay = retryDelay({ errorCode: error.code ?? 'ECONNRESET' }, attempt, this.policy);
        if (delay === undefined) throw error;
        this.log(`upload of ${blob.digest.slice(0, 19)} broke (${error.code}); starting a fresh upload in ${Math.round(delay)} ms`);
        await sleep(delay);
      }
    }
  }

  /** Tags of a repository (one page is enough for the checks this toolkit makes). */
  async listTags(repository: string): Promise<string[]> {
    const response = await this.exchange({ method: 'GET', url: `/v2/${repository}/tags/list?n=1000`, repository });
    if (response.statusCode === 404) {
      await drain(response);
      return [];
    }
    if (response.statusCode !== 200) return this.failure(response, repository, 'listing tags');
    const parsed = JSON.parse((await readBody(response, 8 * 1024 * 1024)).toString('utf8')) as { tags?: string[] | null };
    return parsed.tags ?? [];
  }
}
