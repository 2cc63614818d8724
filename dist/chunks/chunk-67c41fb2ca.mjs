import { createRequire as __cjsCreateRequire } from 'node:module'; import { fileURLToPath as __cjsFileURLToPath } from 'node:url'; const require = __cjsCreateRequire(import.meta.url); const __cjsFilename = __cjsFileURLToPath(import.meta.url); const __cjsDirname = __cjsFileURLToPath(new URL('.', import.meta.url));
import {
  RegistryAuthError,
  RegistryError,
  describeRegistryErrors
} from "./chunk-de7766be5a.mjs";
import {
  __toESM,
  registryBaseUrl,
  require_node_crypto,
  require_node_http,
  require_node_https
} from "./chunk-4eaf0c925e.mjs";

// src/image/compose.ts
var import_node_crypto = __toESM(require_node_crypto(), 1);

// src/registry/media-types.ts
var MediaType = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayerTar: "application/vnd.oci.image.layer.v1.tar",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerTar: "application/vnd.docker.image.rootfs.diff.tar",
  dockerSchema1: "application/vnd.docker.distribution.manifest.v1+json",
  dockerSchema1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws"
};
var MANIFEST_ACCEPT = [MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest, MediaType.dockerManifestList].join(", ");
function isIndexType(mediaType) {
  return mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList;
}
function isImageManifestType(mediaType) {
  return mediaType === MediaType.ociManifest || mediaType === MediaType.dockerManifest;
}
function familyTypes(family) {
  return family === "oci" ? { manifest: MediaType.ociManifest, config: MediaType.ociConfig, layerTar: MediaType.ociLayerTar } : { manifest: MediaType.dockerManifest, config: MediaType.dockerConfig, layerTar: MediaType.dockerLayerTar };
}
function familyOf(manifestMediaType) {
  return manifestMediaType === MediaType.dockerManifest || manifestMediaType === MediaType.dockerManifestList ? "docker" : "oci";
}

// src/image/compose.ts
var Label = {
  source: "org.opencontainers.image.source",
  revision: "org.opencontainers.image.revision",
  created: "org.opencontainers.image.created",
  baseName: "org.opencontainers.image.base.name",
  baseDigest: "org.opencontainers.image.base.digest",
  metrics: "train-to-serve.metrics",
  modelDir: "train-to-serve.model-dir"
};
var sha256 = (bytes) => `sha256:${(0, import_node_crypto.createHash)("sha256").update(bytes).digest("hex")}`;
function composeImage(input) {
  const types = familyTypes(input.family);
  const base = input.baseConfig;
  const runConfig = base.config && typeof base.config === "object" ? base.config : {};
  const baseLabels = runConfig.Labels && typeof runConfig.Labels === "object" ? runConfig.Labels : {};
  const rootfs = base.rootfs ?? { type: "layers", diff_ids: [] };
  const history = Array.isArray(base.history) ? base.history : [];
  const config = {
    ...base,
    created: input.created,
    config: { ...runConfig, Labels: { ...baseLabels, ...input.labels } },
    rootfs: { ...rootfs, type: "layers", diff_ids: [...rootfs.diff_ids ?? [], ...input.layers.map((layer) => layer.digest)] },
    history: [...history, ...input.layers.map((layer) => ({ created: input.created, created_by: layer.createdBy, comment: "train-to-serve publish" }))]
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDescriptor = { mediaType: types.config, digest: sha256(configBytes), size: configBytes.length };
  const manifest = {
    schemaVersion: 2,
    mediaType: types.manifest,
    config: configDescriptor,
    layers: [...input.baseManifest.layers, ...input.layers.map((layer) => ({ mediaType: types.layerTar, digest: layer.digest, size: layer.size }))]
  };
  if (input.family === "oci" && Object.keys(input.annotations).length > 0) manifest.annotations = input.annotations;
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  return { config: configBytes, configDescriptor, manifest: manifestBytes, manifestMediaType: types.manifest, digest: sha256(manifestBytes) };
}
function imageLabels(config) {
  const runConfig = config.config;
  return { ...runConfig?.Labels ?? {} };
}

// src/registry/client.ts
var import_node_crypto2 = __toESM(require_node_crypto(), 1);

// src/registry/auth.ts
function parseChallenge(header2) {
  if (!header2) return void 0;
  const match = /^\s*([A-Za-z][A-Za-z0-9_-]*)\s*(.*)$/s.exec(header2);
  if (!match) return void 0;
  const params = {};
  const param = /([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/gy;
  const rest = match[2];
  let found;
  while ((found = param.exec(rest)) !== null && found[0] !== "") {
    params[found[1].toLowerCase()] = found[2] !== void 0 ? found[2].replace(/\\(.)/g, "$1") : found[3];
  }
  return { scheme: match[1].toLowerCase(), params };
}
function scopeStrings(scopes) {
  return [...scopes.entries()].filter(([, actions]) => actions.size > 0).map(([repository, actions]) => `repository:${repository}:${["pull", "push"].filter((a) => actions.has(a)).join(",")}`);
}
function mergeChallengeScope(scopes, scope) {
  let changed = false;
  for (const item of (scope ?? "").split(" ")) {
    const [type, name, actions] = item.split(":");
    if (type !== "repository" || !name || !actions) continue;
    const set = scopes.get(name) ?? /* @__PURE__ */ new Set();
    for (const action of actions.split(",")) {
      if ((action === "pull" || action === "push") && !set.has(action)) {
        set.add(action);
        changed = true;
      }
    }
    scopes.set(name, set);
  }
  return changed;
}
function basicAuthorization({ username, password }) {
  return `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
}

// src/registry/http.ts
var import_node_http = __toESM(require_node_http(), 1);
var import_node_https = __toESM(require_node_https(), 1);

// src/registry/retry.ts
var DEFAULT_RETRY = { attempts: 5, baseDelayMs: 500, maxDelayMs: 15e3, maxRetryAfterMs: 12e4 };
var TRANSIENT_CODES = /* @__PURE__ */ new Set(["ECONNRESET", "EPIPE", "ECONNREFUSED", "ETIMEDOUT", "ECONNABORTED", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH", "ERR_STREAM_PREMATURE_CLOSE", "UND_ERR_SOCKET", "ERR_HTTP_SOCKET_TIMEOUT"]);
function isTransientStatus(status) {
  return status === 429 || status === 408 || status >= 500 && status !== 501 && status !== 505;
}
function isTransientError(code) {
  return code !== void 0 && TRANSIENT_CODES.has(code);
}
function parseRetryAfter(value, now = Date.now()) {
  if (!value) return void 0;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1e3;
  const date = Date.parse(text);
  return Number.isNaN(date) ? void 0 : Math.max(0, date - now);
}
function retryDelay(outcome, attempt, policy = DEFAULT_RETRY, now = Date.now()) {
  if (attempt >= policy.attempts) return void 0;
  if ("errorCode" in outcome) {
    if (!isTransientError(outcome.errorCode)) return void 0;
  } else if (!isTransientStatus(outcome.status)) {
    return void 0;
  }
  const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  if ("status" in outcome) {
    const asked = parseRetryAfter(outcome.retryAfter, now);
    if (asked !== void 0) return asked > policy.maxRetryAfterMs ? void 0 : asked;
  }
  return backoff;
}

// src/registry/http.ts
var agents = {
  http: new import_node_http.default.Agent({ keepAlive: true, maxSockets: 16 }),
  https: new import_node_https.default.Agent({ keepAlive: true, maxSockets: 16 })
};
var HttpError = class extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
  code;
};
function errorCode(error) {
  const code = error?.code;
  return typeof code === "string" ? code : "ECONNRESET";
}
function send(request) {
  const { url, method, body } = request;
  const isHttps = url.protocol === "https:";
  const headers = { ...request.headers };
  if (body !== void 0) headers["content-length"] = String(Buffer.isBuffer(body) ? body.length : body.length);
  return new Promise((resolve, reject) => {
    let settled = false;
    let responded = false;
    let earlyResponse;
    const fail = (error) => {
      if (settled) return;
      settled = true;
      const code = errorCode(error);
      reject(new HttpError(`${method} ${url.host}${url.pathname}: ${error?.message ?? code}`, code));
    };
    const req = (isHttps ? import_node_https.default : import_node_http.default).request(url, { method, headers, agent: isHttps ? agents.https : agents.http });
    req.setTimeout(request.timeoutMs ?? 3e5, () => {
      req.destroy(Object.assign(new Error(`no data for ${Math.round((request.timeoutMs ?? 3e5) / 1e3)}s`), { code: "ETIMEDOUT" }));
    });
    req.on("error", fail);
    req.on("response", (response) => {
      responded = true;
      earlyResponse = response;
      response.on("error", () => {
      });
      if (settled) {
        response.resume();
        return;
      }
      settled = true;
      resolve(response);
    });
    if (body === void 0) {
      req.end();
    } else if (Buffer.isBuffer(body)) {
      req.end(body);
      request.onBodyProgress?.(body.length);
    } else {
      void (async () => {
        let sent = 0;
        for await (const chunk of body.open()) {
          if (responded || req.destroyed) {
            if (earlyResponse) earlyResponse.once("close", () => req.destroy());
            return;
          }
          sent += chunk.length;
          if (sent > body.length) throw Object.assign(new Error(`body grew past its declared ${body.length} bytes`), { code: "EBODYSIZE" });
          const flushed = req.write(chunk);
          request.onBodyProgress?.(chunk.length);
          if (!flushed) await drained(req);
        }
        if (sent !== body.length) throw Object.assign(new Error(`body ended at ${sent} of its declared ${body.length} bytes`), { code: "EBODYSIZE" });
        req.end();
      })().catch((error) => {
        const code = error?.code;
        if (typeof code === "string" && (isTransientError(code) || code === "EBODYSIZE")) {
          fail(error);
        } else if (!settled) {
          settled = true;
          reject(error instanceof Error ? error : new Error(String(error)));
        }
        req.destroy();
      });
    }
  });
}
function drained(req) {
  return new Promise((resolve) => {
    const done = () => {
      req.off("drain", done);
      req.off("close", done);
      resolve();
    };
    req.on("drain", done);
    req.on("close", done);
  });
}
async function readBody(response, limit = 64 * 1024 * 1024) {
  const chunks = [];
  let size = 0;
  for await (const chunk of response) {
    size += chunk.length;
    if (size > limit) {
      response.destroy();
      throw new HttpError(`response larger than ${limit} bytes`, "ETOOLARGE");
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
async function drain(response) {
  try {
    return (await readBody(response, 1024 * 1024)).toString("utf8");
  } catch {
    return "";
  }
}
function header(headers, name) {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

// src/registry/client.ts
var sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
function sha256Digest(bytes) {
  return `sha256:${(0, import_node_crypto2.createHash)("sha256").update(bytes).digest("hex")}`;
}
var RegistryClient = class {
  registry;
  baseUrl;
  /** Body bytes handed to the registry, every try counted. */
  bytesSent = 0;
  credentials;
  scopes = /* @__PURE__ */ new Map();
  policy;
  log;
  userAgent;
  authorization;
  authorizing;
  constructor(options) {
    this.registry = options.registry;
    this.baseUrl = registryBaseUrl(options.registry);
    this.credentials = options.credentials;
    for (const { repository, actions } of options.scopes ?? []) this.addScope(repository, actions);
    this.policy = { ...DEFAULT_RETRY, ...options.retry };
    this.log = options.log ?? (() => {
    });
    this.userAgent = options.userAgent ?? "train-to-serve";
  }
  addScope(repository, actions) {
    const set = this.scopes.get(repository) ?? /* @__PURE__ */ new Set();
    for (const action of actions) set.add(action);
    this.scopes.set(repository, set);
  }
  resource(repository) {
    return repository ? `Registry ${this.registry}, repository ${repository}` : `Registry ${this.registry}`;
  }
  /** One exchange with auth and retries; resolves with the final response, body unread. */
  async exchange(request) {
    let url = new URL(request.url, this.baseUrl);
    let attempt = 0;
    let authRenewed = false;
    let redirects = 0;
    for (; ; ) {
      attempt += 1;
      const sameHost = url.origin === new URL(this.baseUrl).origin;
      const headers = { "user-agent": this.userAgent, ...request.headers };
      const authorization = sameHost ? this.authorization : void 0;
      if (authorization) headers.authorization = authorization;
      let response;
      try {
        response = await send({
          method: request.method,
          url,
          headers,
          body: request.body,
          onBodyProgress: (bytes) => {
            this.bytesSent += bytes;
            request.onBodyProgress?.(bytes);
          }
        });
      } catch (error) {
        if (!(error instanceof HttpError)) throw error;
        const code = error.code;
        const delay2 = request.retry === false ? void 0 : retryDelay({ errorCode: code }, attempt, this.policy);
        if (delay2 === void 0) {
          throw new RegistryError(this.resource(request.repository), `${request.method} ${url.pathname} failed after ${attempt} ${attempt === 1 ? "try" : "tries"}: ${error.message}`, void 0, code);
        }
        this.log(`${request.method} ${url.pathname}: ${code}; trying again in ${Math.round(delay2)} ms`);
        await sleep(delay2);
        continue;
      }
      const status = response.statusCode ?? 0;
      if (status === 401 && sameHost) {
        const text = await drain(response);
        if (authorization && authRenewed) {
          throw new RegistryAuthError(this.resource(request.repository), `refused access even with a fresh token (${describeRegistryErrors(text).message ?? "HTTP 401"})`, 401);
        }
        if (authorization) authRenewed = true;
        await this.authenticate(response.headers["www-authenticate"], authorization, request.repository);
        attempt -= 1;
        continue;
      }
      if ((request.method === "GET" || request.method === "HEAD") && [301, 302, 303, 307, 308].includes(status)) {
        const location = header(response.headers, "location");
        await drain(response);
        if (!location || ++redirects > 5) throw new RegistryError(this.resource(request.repository), `${request.method} ${url.pathname} redirected without an end`, status);
        url = new URL(location, url);
        attempt -= 1;
        continue;
      }
      const delay = request.retry === false ? void 0 : retryDelay({ status, retryAfter: header(response.headers, "retry-after") }, attempt, this.policy);
      if (delay !== void 0) {
        await drain(response);
        this.log(`${request.method} ${url.pathname}: HTTP ${status}; trying again in ${Math.round(delay)} ms`);
        await sleep(delay);
        continue;
      }
      return response;
    }
  }
  /** Answer a 401 challenge: basic credentials, or a bearer token for every scope the work needs. */
  async authenticate(wwwAuthenticate, refused, repository) {
    if (this.authorizing) {
      await this.authorizing;
      if (this.authorization !== refused) return;
    }
    this.authorizing = this.fetchAuthorization(wwwAuthenticate, refused, repository).finally(() => this.authorizing = void 0);
    await this.authorizing;
  }
  async fetchAuthorization(wwwAuthenticate, refused, repository) {
    const challenge = parseChallenge(wwwAuthenticate);
    const who = this.credentials ? `user ${JSON.stringify(this.credentials.username)}` : "anonymous access";
    if (challenge?.scheme === "basic") {
      if (!this.credentials) throw new RegistryAuthError(this.resource(repository), "requires a username and password", 401);
      const basic = basicAuthorization(this.credentials);
      if (refused === basic) throw new RegistryAuthError(this.resource(repository), `refused the credentials of ${who}`, 401);
      this.authorization = basic;
      return;
    }
    if (challenge?.scheme !== "bearer" || !challenge.params.realm) {
      throw new RegistryAuthError(this.resource(repository), `answered 401 with a challenge this client does not speak (${wwwAuthenticate ?? "none"})`, 401);
    }
    mergeChallengeScope(this.scopes, challenge.params.scope);
    const realm = new URL(challenge.params.realm);
    const plainAllowed = this.baseUrl.startsWith("http:") && registryBaseUrl(realm.host).startsWith("http:");
    if (realm.protocol !== "https:" && !(realm.protocol === "http:" && plainAllowed)) {
      throw new RegistryAuthError(this.resource(repository), `token service ${realm.origin} is not HTTPS; refusing to send credentials to it`);
    }
    if (challenge.params.service) realm.searchParams.set("service", challenge.params.service);
    for (const scope of scopeStrings(this.scopes)) realm.searchParams.append("scope", scope);
    if (this.credentials) realm.searchParams.set("account", this.credentials.username);
    const headers = { "user-agent": this.userAgent, accept: "application/json" };
    if (this.credentials) headers.authorization = basicAuthorization(this.credentials);
    let attempt = 0;
    for (; ; ) {
      attempt += 1;
      let response;
      try {
        response = await send({ method: "GET", url: realm, headers });
      } catch (error) {
        const delay2 = retryDelay({ errorCode: error.code }, attempt, this.policy);
        if (delay2 === void 0) throw new RegistryError(`Token service ${realm.origin}`, `did not answer: ${error.message}`);
        await sleep(delay2);
        continue;
      }
      const status = response.statusCode ?? 0;
      const text = (await readBody(response, 1024 * 1024)).toString("utf8");
      if (status === 401 || status === 403) {
        throw new RegistryAuthError(this.resource(repository), `token service refused the credentials of ${who} (${describeRegistryErrors(text).message ?? `HTTP ${status}`})`, status);
      }
      const delay = retryDelay({ status, retryAfter: header(response.headers, "retry-after") }, attempt, this.policy);
      if (delay !== void 0) {
        await sleep(delay);
        continue;
      }
      if (status !== 200) throw new RegistryError(`Token service ${realm.origin}`, `answered HTTP ${status}: ${describeRegistryErrors(text).message ?? ""}`, status);
      let token;
      try {
        const parsed = JSON.parse(text);
        token = parsed.token ?? parsed.access_token;
      } catch {
      }
      if (!token) throw new RegistryError(`Token service ${realm.origin}`, "answered without a token");
      this.authorization = `Bearer ${token}`;
      return;
    }
  }
  async failure(response, repository, what) {
    const status = response.statusCode ?? 0;
    const { code, message } = describeRegistryErrors(await drain(response));
    const problem = `${what}: HTTP ${status}${message ? ` (${message})` : ""}`;
    if (status === 401 || status === 403) throw new RegistryAuthError(this.resource(repository), problem, status, code);
    throw new RegistryError(this.resource(repository), problem, status, code);
  }
  // ---- manifests ---------------------------------------------------------------------------
  /** GET a manifest or index by tag or digest; the bytes are kept exactly, and their digest checked. */
  async getManifest(repository, reference) {
    const response = await this.exchange({ method: "GET", url: `/v2/${repository}/manifests/${reference}`, repository, headers: { accept: MANIFEST_ACCEPT } });
    if (response.statusCode === 404) {
      const { code } = describeRegistryErrors(await drain(response));
      throw new RegistryError(this.resource(repository), `has no manifest ${reference}`, 404, code ?? "MANIFEST_UNKNOWN");
    }
    if (response.statusCode !== 200) return this.failure(response, repository, `reading manifest ${reference}`);
    const bytes = await readBody(response, 8 * 1024 * 1024);
    const digest = sha256Digest(bytes);
    const claimed = header(response.headers, "docker-content-digest");
    if (reference.startsWith("sha256:") && reference !== digest || claimed?.startsWith("sha256:") && claimed !== digest) {
      throw new RegistryError(this.resource(repository), `manifest ${reference} arrived with digest ${digest}, not the one asked for`);
    }
    let json;
    try {
      json = JSON.parse(bytes.toString("utf8"));
    } catch {
      throw new RegistryError(this.resource(repository), `manifest ${reference} is not JSON`);
    }
    const contentType = (header(response.headers, "content-type") ?? "").split(";")[0].trim();
    const mediaType = typeof json.mediaType === "string" ? json.mediaType : contentType;
    if (mediaType === MediaType.dockerSchema1 || mediaType === MediaType.dockerSchema1Signed || json.schemaVersion === 1) {
      throw new RegistryError(this.resource(repository), `manifest ${reference} uses Docker's retired schema 1; push the image again with a current Docker or another tool`);
    }
    if (!isIndexType(mediaType) && !isImageManifestType(mediaType)) {
      const guessed = Array.isArray(json.manifests) ? MediaType.ociIndex : json.config ? MediaType.ociManifest : void 0;
      if (!guessed) throw new RegistryError(this.resource(repository), `manifest ${reference} has media type ${JSON.stringify(mediaType)}, which is not an image`);
      return { mediaType: guessed, digest, bytes, json };
    }
    return { mediaType, digest, bytes, json };
  }
  /** HEAD a manifest: its digest, or undefined when the registry has none under that reference. */
  async headManifest(repository, reference) {
    const response = await this.exchange({ method: "HEAD", url: `/v2/${repository}/manifests/${reference}`, repository, headers: { accept: MANIFEST_ACCEPT } });
    await drain(response);
    if (response.statusCode === 404) return void 0;
    if (response.statusCode !== 200) return this.failure(response, repository, `checking manifest ${reference}`);
    return { digest: header(response.headers, "docker-content-digest"), mediaType: header(response.headers, "content-type") };
  }
  /** PUT manifest bytes under a tag or their digest; returns the digest the registry stored them under. */
  async putManifest(repository, reference, bytes, mediaType) {
    const digest = sha256Digest(bytes);
    const response = await this.exchange({ method: "PUT", url: `/v2/${repository}/manifests/${reference}`, repository, headers: { "content-type": mediaType }, body: bytes });
    if (response.statusCode !== 201 && response.statusCode !== 200) return this.failure(response, repository, `storing manifest ${reference}`);
    await drain(response);
    const stored = header(response.headers, "docker-content-digest");
    if (stored && stored !== digest) throw new RegistryError(this.resource(repository), `stored manifest ${reference} as ${stored}, expected ${digest}`);
    return digest;
  }
  // ---- blobs -------------------------------------------------------------------------------
  /** The blob's size when the repository has it, undefined when not. */
  async headBlob(repository, digest) {
    const response = await this.exchange({ method: "HEAD", url: `/v2/${repository}/blobs/${digest}`, repository });
    await drain(response);
    if (response.statusCode === 404) return void 0;
    if (response.statusCode !== 200) return this.failure(response, repository, `checking blob ${digest}`);
    return Number(header(response.headers, "content-length") ?? Number.NaN);
  }
  /** GET a blob as a stream (follows redirects to blob storage). The caller checks the digest. */
  async getBlob(repository, digest) {
    const response = await this.exchange({ method: "GET", url: `/v2/${repository}/blobs/${digest}`, repository });
    if (response.statusCode !== 200) return this.failure(response, repository, `reading blob ${digest}`);
    return response;
  }
  /** A small blob (an image config), read whole and checked against its digest. */
  async getBlobBytes(repository, digest, limit = 32 * 1024 * 1024) {
    const bytes = await readBody(await this.getBlob(repository, digest), limit);
    if (sha256Digest(bytes) !== digest) throw new RegistryError(this.resource(repository), `blob ${digest} arrived with other bytes (digest ${sha256Digest(bytes)})`);
    return bytes;
  }
  /**
   * Ask the registry to link a blob from another repository. Returns true when mounted (201);
   * false when the registry opened an upload instead (202), whose location is handed back.
   */
  async mountBlob(repository, digest, from) {
    const query = new URLSearchParams({ mount: digest, from });
    const response = await this.exchange({ method: "POST", url: `/v2/${repository}/blobs/uploads/?${query.toString()}`, repository, body: Buffer.alloc(0) });
    await drain(response);
    if (response.statusCode === 201) return { mounted: true };
    if (response.statusCode === 202) return { mounted: false, location: header(response.headers, "location") };
    return this.failure(response, repository, `mounting blob ${digest} from ${from}`);
  }
  async startUpload(repository) {
    const response = await this.exchange({ method: "POST", url: `/v2/${repository}/blobs/uploads/`, repository, body: Buffer.alloc(0) });
    if (response.statusCode !== 202) return this.failure(response, repository, "starting a blob upload");
    await drain(response);
    const location = header(response.headers, "location");
    if (!location) throw new RegistryError(this.resource(repository), "opened a blob upload without a Location");
    return location;
  }
  /**
   * Upload a blob in one streamed PUT with its Content-Length (monolithic: GHCR refuses PATCH
   * bodies over 4 MiB). A try that breaks starts again from a fresh upload session, after asking
   * whether the blob arrived after all. The registry checks the bytes against the digest.
   */
  async uploadBlob(repository, blob, options = {}) {
    let location = options.location;
    let attempt = 0;
    for (; ; ) {
      attempt += 1;
      if (attempt > 1 && await this.headBlob(repository, blob.digest) !== void 0) return;
      let failure;
      let code;
      try {
        location ??= await this.startUpload(repository);
        const url = new URL(location, this.baseUrl);
        location = void 0;
        url.searchParams.set("digest", blob.digest);
        const body = { length: blob.size, open: () => blob.open() };
        const response = await this.exchange({
          method: "PUT",
          url: url.toString(),
          repository,
          headers: { "content-type": "application/octet-stream" },
          body,
          retry: false,
          onBodyProgress: options.onProgress
        });
        const status = response.statusCode ?? 0;
        if (status === 201) {
          await drain(response);
          const stored = header(response.headers, "docker-content-digest");
          if (stored && stored !== blob.digest) throw new RegistryError(this.resource(repository), `stored blob ${blob.digest} as ${stored}`, status);
          return;
        }
        const described = describeRegistryErrors(await drain(response));
        code = described.code;
        failure = `HTTP ${status}${described.message ? ` (${described.message})` : ""}`;
        if (status === 401 || status === 403) throw new RegistryAuthError(this.resource(repository), `uploading blob ${blob.digest}: ${failure}`, status, code);
        const delay = retryDelay({ status, retryAfter: header(response.headers, "retry-after") }, attempt, this.policy);
        if (delay === void 0) throw new RegistryError(this.resource(repository), `uploading blob ${blob.digest}: ${failure}`, status, code);
        this.log(`upload of ${blob.digest.slice(0, 19)}: ${failure}; starting a fresh upload in ${Math.round(delay)} ms`);
        await sleep(delay);
      } catch (error) {
        if (!(error instanceof RegistryError) || error instanceof RegistryAuthError || error.status !== void 0) throw error;
        const delay = retryDelay({ errorCode: error.code ?? "ECONNRESET" }, attempt, this.policy);
        if (delay === void 0) throw error;
        this.log(`upload of ${blob.digest.slice(0, 19)} broke (${error.code}); starting a fresh upload in ${Math.round(delay)} ms`);
        await sleep(delay);
      }
    }
  }
  /** Tags of a repository (one page is enough for the checks this toolkit makes). */
  async listTags(repository) {
    const response = await this.exchange({ method: "GET", url: `/v2/${repository}/tags/list?n=1000`, repository });
    if (response.statusCode === 404) {
      await drain(response);
      return [];
    }
    if (response.statusCode !== 200) return this.failure(response, repository, "listing tags");
    const parsed = JSON.parse((await readBody(response, 8 * 1024 * 1024)).toString("utf8"));
    return parsed.tags ?? [];
  }
};

// src/registry/platform.ts
function formatPlatform(platform) {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join("/");
}
var DEFAULT_VARIANT = { arm64: "v8", arm: "v7" };
function selectPlatform(manifests, wanted) {
  const real = manifests.filter((entry) => entry.platform && entry.platform.os !== "unknown");
  const variantOf = (platform) => platform.variant ?? DEFAULT_VARIANT[platform.architecture];
  const candidates = real.filter((entry) => entry.platform.os === wanted.os && entry.platform.architecture === wanted.architecture);
  const match = candidates.find((entry) => variantOf(entry.platform) === variantOf(wanted)) ?? (wanted.variant === void 0 ? candidates[0] : void 0);
  return { match, available: real.map((entry) => formatPlatform(entry.platform)) };
}

// src/registry/resolve.ts
var ImageNotFoundError = class extends RegistryError {
};
var PlatformNotFoundError = class extends RegistryError {
  constructor(resource, wanted, available) {
    super(resource, `has no ${formatPlatform(wanted)} image, only ${available.length ? available.join(", ") : "no platforms"}`);
    this.wanted = wanted;
    this.available = available;
  }
  wanted;
  available;
};
var ImageShapeError = class extends RegistryError {
};
var isRecord = (value) => typeof value === "object" && value !== null && !Array.isArray(value);
function isDescriptor(value) {
  return isRecord(value) && typeof value.digest === "string" && typeof value.mediaType === "string" && typeof value.size === "number";
}
function parseImageIndex(fetched, name) {
  const { manifests } = fetched.json;
  if (!Array.isArray(manifests) || !manifests.every(isDescriptor)) throw new ImageShapeError(name, "has an index whose manifests are not descriptors");
  return { ...fetched.json, schemaVersion: 2, manifests };
}
function parseImageManifest(fetched, name) {
  const { config, layers } = fetched.json;
  if (!isDescriptor(config) || !Array.isArray(layers) || !layers.every(isDescriptor)) throw new ImageShapeError(name, "has a manifest without a config or layers");
  return { ...fetched.json, schemaVersion: 2, config, layers };
}
async function readImageConfig(client, repository, manifest, name) {
  const bytes = await client.getBlobBytes(repository, manifest.config.digest);
  let config;
  try {
    config = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new RegistryError(name, "has a config that is not JSON");
  }
  if (!isRecord(config)) throw new RegistryError(name, "has a config that is not a JSON object");
  return config;
}
async function resolveImage(client, image, platform, options = {}) {
  const { repository, reference } = image;
  const name = options.name ?? `Image ${repository}`;
  let fetched;
  try {
    fetched = await client.getManifest(repository, reference);
  } catch (error) {
    if (error instanceof RegistryError && !(error instanceof ImageNotFoundError) && error.status === 404) {
      throw new ImageNotFoundError(error.resource, error.problem, error.status, error.code);
    }
    throw error;
  }
  let chosen;
  if (isIndexType(fetched.mediaType)) {
    const index = parseImageIndex(fetched, name);
    const { match, available } = selectPlatform(index.manifests, platform);
    const entry = match ?? (options.anyPlatform ? index.manifests.find((m) => m.platform?.os !== "unknown") : void 0);
    if (!entry) throw new PlatformNotFoundError(name, platform, available);
    chosen = entry.platform ? formatPlatform(entry.platform) : void 0;
    fetched = await client.getManifest(repository, entry.digest);
    if (isIndexType(fetched.mediaType)) throw new ImageShapeError(name, `index entry ${entry.digest} is itself an index`);
  }
  const manifest = parseImageManifest(fetched, `${name}:${reference}`);
  const config = await readImageConfig(client, repository, manifest, name);
  return { manifest, config, family: familyOf(fetched.mediaType), digest: fetched.digest, platform: chosen };
}

export {
  isIndexType,
  RegistryClient,
  formatPlatform,
  ImageNotFoundError,
  PlatformNotFoundError,
  ImageShapeError,
  parseImageIndex,
  parseImageManifest,
  readImageConfig,
  resolveImage,
  Label,
  composeImage,
  imageLabels
};
