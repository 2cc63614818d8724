import { createRequire as __cjsCreateRequire } from 'node:module'; import { fileURLToPath as __cjsFileURLToPath } from 'node:url'; const require = __cjsCreateRequire(import.meta.url); const __cjsFilename = __cjsFileURLToPath(import.meta.url); const __cjsDirname = __cjsFileURLToPath(new URL('.', import.meta.url));
import {
  commitTime,
  defaultTags,
  parsePublishTags,
  toolkitLabels,
  withProvenance
} from "../chunks/chunk-86ebb0db55.mjs";
import {
  ImageNotFoundError,
  Label,
  PlatformNotFoundError,
  RegistryClient,
  composeImage,
  formatPlatform,
  resolveImage
} from "../chunks/chunk-67c41fb2ca.mjs";
import {
  mapLimit
} from "../chunks/chunk-e38c5aa950.mjs";
import {
  RegistryAuthError,
  RegistryError,
  explainAuthError,
  parseCredentialInputs,
  resolveCredentials
} from "../chunks/chunk-de7766be5a.mjs";
import {
  resolveInside
} from "../chunks/chunk-98fd176def.mjs";
import {
  loadMetricsInput,
  metricsToJson
} from "../chunks/chunk-6b0b3132de.mjs";
import {
  readRunContext
} from "../chunks/chunk-d525671ff4.mjs";
import "../chunks/chunk-891e70ec9e.mjs";
import {
  InputError,
  ResourceError,
  __toESM,
  code,
  escapeCell,
  formatBytes,
  formatDuration,
  formatReference,
  input,
  inputOrDefault,
  log,
  maskSecret,
  parseBoolean,
  parseImageReference,
  parseKeyValueLines,
  parseList,
  quote,
  registryApiHost,
  repositoryName,
  require_node_crypto,
  require_node_path,
  require_promises,
  runAction,
  secretInput,
  setOutputs,
  table,
  writeSummary
} from "../chunks/chunk-4eaf0c925e.mjs";

// src/image/model-files.ts
var import_promises = __toESM(require_promises(), 1);
var import_node_path = __toESM(require_node_path(), 1);
function parseModelDir(input2, raw) {
  const text = raw.trim();
  if (!text.startsWith("/")) throw new InputError(input2, `must be an absolute path inside the image, got ${quote(raw)}`);
  const normal = import_node_path.posix.normalize(text).replace(/\/+$/, "");
  if (normal === "" || normal === "/") throw new InputError(input2, 'must not be the image root "/"');
  if (normal !== text.replace(/\/+$/, "") || normal.split("/").some((part) => part === ".." || part === ".")) {
    throw new InputError(input2, `must be a normalised path without . or .. parts, got ${quote(raw)}`);
  }
  return normal.slice(1);
}
var compare = (a, b) => a < b ? -1 : a > b ? 1 : 0;
var SPECIAL_BITS = 3584;
var WORLD_WRITE = 2;
function imageMode(type, mode) {
  const safe = mode & 511 & ~SPECIAL_BITS & ~WORLD_WRITE;
  return type === "directory" ? safe | 365 : safe | 292;
}
function showBytes(name) {
  return [...name].map((byte) => byte >= 32 && byte < 127 ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, "0")}`).join("");
}
var utf8 = new TextDecoder("utf-8", { fatal: true });
async function scanModel(modelPath, modelDir, options = {}) {
  const input2 = options.input ?? "model-path";
  const mode = (type, onDisk) => options.keepModes ? onDisk & 4095 : imageMode(type, onDisk);
  let top;
  try {
    top = await (0, import_promises.stat)(modelPath);
  } catch (error) {
    const code2 = error.code;
    throw new InputError(input2, code2 === "ENOENT" ? `${quote(modelPath)} does not exist` : `${quote(modelPath)} cannot be read (${code2})`);
  }
  const entries = [];
  const parts = modelDir.split("/");
  for (let i = 1; i < parts.length; i++) entries.push({ path: parts.slice(0, i).join("/"), type: "directory", mode: 493, size: 0 });
  let files = 0;
  let bytes = 0;
  if (top.isFile()) {
    if (top.size === 0) throw new InputError(input2, `${quote(modelPath)} is an empty file`);
    entries.push({ path: modelDir, type: "directory", mode: 493, size: 0 });
    entries.push({ path: `${modelDir}/${(0, import_node_path.basename)(modelPath)}`, type: "file", mode: mode("file", top.mode), size: top.size, source: modelPath, changedMs: top.ctimeMs });
    return { entries, files: 1, bytes: top.size };
  }
  if (!top.isDirectory()) throw new InputError(input2, `${quote(modelPath)} is neither a file nor a directory`);
  entries.push({ path: modelDir, type: "directory", mode: mode("directory", top.mode), size: 0 });
  const root = await (0, import_promises.realpath)(modelPath);
  const walk = async (directory, relative) => {
    const names = (await (0, import_promises.readdir)(directory, { encoding: "buffer" })).map((raw) => {
      try {
        return utf8.decode(raw);
      } catch {
        const rel = relative ? `${relative}/${showBytes(raw)}` : showBytes(raw);
        throw new InputError(input2, `${quote(rel)} has a name that is not valid UTF-8, which image layers and registries cannot carry; rename it`);
      }
    });
    names.sort(compare);
    for (const name of names) {
      const absolute = (0, import_node_path.join)(directory, name);
      const rel = relative ? `${relative}/${name}` : name;
      const path = `${modelDir}/${rel}`;
      const info = await (0, import_promises.lstat)(absolute);
      if (info.isSymbolicLink()) {
        const target = await (0, import_promises.readlink)(absolute);
        if (import_node_path.posix.isAbsolute(target)) {
          throw new InputError(input2, `${quote(rel)} is a symlink to the absolute path ${quote(target)}; inside the image it would point elsewhere (use a relative link within the model directory)`);
        }
        const resolution = await resolveInside(root, rel, { absolute: "outside" });
        if (resolution.kind === "loop") throw new InputError(input2, `${quote(rel)} is a symlink to ${quote(target)}, which loops back on itself`);
        if (resolution.kind === "outside") throw new InputError(input2, `${quote(rel)} is a symlink to ${quote(target)}, outside the model directory`);
        entries.push({ path, type: "symlink", mode: info.mode & 4095, size: 0, linkTarget: target });
      } else if (info.isDirectory()) {
        entries.push({ path, type: "directory", mode: mode("directory", info.mode), size: 0 });
        await walk(absolute, rel);
      } else if (info.isFile()) {
        entries.push({ path, type: "file", mode: mode("file", info.mode), size: info.size, source: absolute, changedMs: info.ctimeMs });
        files += 1;
        bytes += info.size;
      } else {
        const kind = info.isSocket() ? "a socket" : info.isFIFO() ? "a named pipe" : info.isCharacterDevice() || info.isBlockDevice() ? "a device file" : "not a regular file";
        throw new InputError(input2, `${quote(rel)} is ${kind}; a model may hold only files, directories and relative symlinks`);
      }
    }
  };
  await walk(modelPath, "");
  if (files === 0) throw new InputError(input2, `${quote(modelPath)} holds no files`);
  return { entries, files, bytes };
}

// src/image/platform.ts
function parsePlatform(input2, raw) {
  const parts = raw.trim().toLowerCase().split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((part) => !/^[a-z0-9._-]+$/.test(part))) {
    throw new InputError(input2, `expected os/architecture[/variant] such as linux/amd64, got ${quote(raw)}`);
  }
  const [os, architecture, variant] = parts;
  return variant ? { os, architecture, variant } : { os, architecture };
}

// src/image/publish.ts
var import_node_crypto = __toESM(require_node_crypto(), 1);

// src/image/tar.ts
var import_promises2 = __toESM(require_promises(), 1);
var BLOCK = 512;
var USTAR_MAX_SIZE = 8589934591;
var END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);
function paddedSize(size) {
  return Math.ceil(size / BLOCK) * BLOCK;
}
function octal(value, width) {
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}
function splitUstarName(name) {
  if (Buffer.byteLength(name) <= 100) return { name, prefix: "" };
  for (let slash = name.indexOf("/"); slash >= 0; slash = name.indexOf("/", slash + 1)) {
    const prefix = name.slice(0, slash);
    const rest = name.slice(slash + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest !== "") return { name: rest, prefix };
  }
  return void 0;
}
function paxRecord(key, value) {
  const body = ` ${key}=${value}
`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length += 1;
  return `${length}${body}`;
}
function ustarHeader(fields) {
  const block = Buffer.alloc(BLOCK);
  block.write(fields.name, 0, 100, "utf8");
  block.write(octal(fields.mode & 4095, 8), 100, "ascii");
  block.write(octal(0, 8), 108, "ascii");
  block.write(octal(0, 8), 116, "ascii");
  block.write(octal(fields.size, 12), 124, "ascii");
  block.write(octal(0, 12), 136, "ascii");
  block.write("        ", 148, "ascii");
  block.write(fields.typeflag, 156, "ascii");
  block.write(fields.linkname, 157, 100, "utf8");
  block.write("ustar\0", 257, "ascii");
  block.write("00", 263, "ascii");
  block.write(octal(0, 8), 329, "ascii");
  block.write(octal(0, 8), 337, "ascii");
  block.write(fields.prefix, 345, 155, "utf8");
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return block;
}
function entryHeader(entry) {
  const name = entry.type === "directory" ? `${entry.path}/` : entry.path;
  const size = entry.type === "file" ? entry.size : 0;
  const linkname = entry.linkTarget ?? "";
  const pax = [];
  let split = splitUstarName(name);
  if (!split) {
    pax.push(paxRecord("path", name));
    split = {
      name: Buffer.from(name).subarray(0, 100).toString("utf8").replace(/\uFFFD$/, ""),
      prefix: ""
    };
  }
  if (Buffer.byteLength(linkname) > 100) pax.push(paxRecord("linkpath", linkname));
  if (size > USTAR_MAX_SIZE) pax.push(paxRecord("size", String(size)));
  const typeflag = entry.type === "file" ? "0" : entry.type === "directory" ? "5" : "2";
  const header = ustarHeader({ ...split, mode: entry.mode, size: size > USTAR_MAX_SIZE ? 0 : size, typeflag, linkname: Buffer.byteLength(linkname) > 100 ? "" : linkname });
  if (pax.length === 0) return header;
  const records = Buffer.from(pax.join(""), "utf8");
  const base = entry.path.split("/").pop() ?? "entry";
  const paxName = `PaxHeaders/${Buffer.from(base).subarray(0, 80).toString("utf8").replace(/\uFFFD$/, "")}`;
  const paxHeader = ustarHeader({ name: paxName, prefix: "", mode: 420, size: records.length, typeflag: "x", linkname: "" });
  return Buffer.concat([paxHeader, records, Buffer.alloc(paddedSize(records.length) - records.length), header]);
}
function entryTarSize(entry) {
  return entryHeader(entry).length + (entry.type === "file" ? paddedSize(entry.size) : 0);
}
function tarSize(entries) {
  return entries.reduce((total, entry) => total + entryTarSize(entry), END_OF_ARCHIVE.length);
}
async function* tarStream(entries, options = {}) {
  const chunkSize = options.chunkSize ?? 4 * 1024 * 1024;
  const shared = options.reuseBuffer ? Buffer.allocUnsafe(chunkSize) : void 0;
  for (const entry of entries) {
    yield entryHeader(entry);
    if (entry.type !== "file" || entry.size === 0) continue;
    const handle = await (0, import_promises2.open)(entry.source, "r");
    const unchanged = async () => {
      const now = await handle.stat();
      if (now.size !== entry.size) throw new ResourceError(`Model file "${entry.source}"`, `changed size (${entry.size} \u2192 ${now.size} bytes) while it was being published`);
      if (entry.changedMs !== void 0 && now.ctimeMs !== entry.changedMs) {
        throw new ResourceError(`Model file "${entry.source}"`, `changed (written at ${new Date(now.ctimeMs).toISOString()}) while it was being published; publish a model nothing is writing to`);
      }
    };
    try {
      let position = 0;
      while (position < entry.size) {
        const want = Math.min(chunkSize, entry.size - position);
        const buffer = shared ?? Buffer.allocUnsafe(want);
        const { bytesRead } = await handle.read(buffer, 0, want, position);
        if (bytesRead === 0) throw new ResourceError(`Model file "${entry.source}"`, `changed size (shrank from ${entry.size} bytes) while it was being published`);
        position += bytesRead;
        if (position >= entry.size) await unchanged();
        yield buffer.subarray(0, bytesRead);
      }
    } finally {
      await handle.close();
    }
    const padding = paddedSize(entry.size) - entry.size;
    if (padding > 0) yield Buffer.alloc(padding);
  }
  yield END_OF_ARCHIVE;
}

// src/image/layers.ts
var DEFAULT_LAYER_PLAN = { limit: 1e10 - 64 * 1024 * 1024, ownLayerAt: 64 * 1024 * 1024, maxLayers: 48 };
function ancestors(path, directories) {
  const parts = path.split("/");
  const out = [];
  for (let i = 1; i < parts.length; i++) {
    const dir = directories.get(parts.slice(0, i).join("/"));
    if (dir) out.push(dir);
  }
  return out;
}
function planLayers(entries, options = DEFAULT_LAYER_PLAN) {
  const directories = new Map(entries.filter((e) => e.type === "directory").map((e) => [e.path, e]));
  for (const entry of entries) {
    if (entry.type === "file" && tarSize([...ancestors(entry.path, directories), entry]) > options.limit) {
      throw new ResourceError(`Model file "${entry.source ?? entry.path}"`, `is ${formatBytes(entry.size)}, larger than one image layer may be (${formatBytes(options.limit)}); split it into parts`);
    }
  }
  const large = entries.filter((e) => e.type === "file" && e.size >= options.ownLayerAt);
  const small = entries.filter((e) => !(e.type === "file" && e.size >= options.ownLayerAt));
  const pack = (items) => {
    const layers = [];
    let current = [];
    let present = /* @__PURE__ */ new Set();
    for (const entry of items) {
      const needed = ancestors(entry.path, directories).filter((dir) => !present.has(dir.path));
      const addition = entry.type === "directory" && present.has(entry.path) ? [] : [...needed, entry];
      if (current.length > 0 && tarSize([...current, ...addition]) > options.limit) {
        layers.push(current);
        current = [];
        present = /* @__PURE__ */ new Set();
        addition.splice(0, addition.length, ...ancestors(entry.path, directories), entry);
      }
      for (const item of addition) {
        current.push(item);
        if (item.type === "directory") present.add(item.path);
      }
    }
    if (current.length > 0) layers.push(current);
    return layers;
  };
  const carried = new Set(large.flatMap((file) => ancestors(file.path, directories).map((dir) => dir.path)));
  const smallLayers = large.length === 0 || small.some((e) => !carried.has(e.path)) ? pack(small) : [];
  const ownLayers = large.map((file) => [...ancestors(file.path, directories), file]);
  if (smallLayers.length + ownLayers.length <= options.maxLayers) return [...smallLayers, ...ownLayers];
  return pack(entries);
}

// src/image/publish.ts
async function resolveBase(client, request, sameRegistry, warn) {
  const { base } = request;
  const reference = base.digest ?? base.tag ?? "latest";
  let resolved;
  try {
    resolved = await resolveImage(client, { repository: base.repository, reference }, request.platform, { name: `Base image ${repositoryName(base)}` });
  } catch (error) {
    if (error instanceof ImageNotFoundError) {
      throw new InputError("base-image", `${repositoryName(base)} has no ${base.digest ? "manifest" : "tag"} ${quote(reference)}`);
    }
    if (error instanceof PlatformNotFoundError) {
      throw new InputError("platform", `${formatPlatform(request.platform)} is not in the base image ${repositoryName(base)}:${reference}, which has ${error.available.length ? error.available.join(", ") : "no platforms"}`);
    }
    if (error instanceof RegistryAuthError && !sameRegistry) {
      throw new InputError(
        "base-image",
        `${repositoryName(base)} refused ${request.baseCredentials ? "the docker login credentials for its registry" : "anonymous access"} (${error.message}); the target's credentials never go to another registry: run docker login for ${base.registry} first, copy the base to ${request.target.registry}, or make it public`
      );
    }
    throw error;
  }
  if (resolved.manifest.layers.some((layer) => layer.urls?.length)) {
    throw new RegistryError(`Base image ${repositoryName(base)}:${reference}`, "has foreign layers (stored outside the registry), which cannot be copied");
  }
  const { config } = resolved;
  if (!resolved.platform && (config.os !== request.platform.os || config.architecture !== request.platform.architecture)) {
    warn(`The base image ${repositoryName(base)}:${reference} is ${String(config.os)}/${String(config.architecture)} only; the platform input (${formatPlatform(request.platform)}) applies to multi-platform bases`);
  }
  return resolved;
}
function describeContents(entries, modelDir) {
  const files = entries.filter((e) => e.type !== "directory").map((e) => e.path.slice(modelDir.length + 1));
  if (files.length === 0) return "directories";
  if (files.length <= 3) return files.join(", ");
  return `${files.length} entries (${files.slice(0, 2).join(", ")}, \u2026)`;
}
async function hashLayer(entries) {
  const hash = (0, import_node_crypto.createHash)("sha256");
  let size = 0;
  for await (const chunk of tarStream(entries, { reuseBuffer: true })) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { digest: `sha256:${hash.digest("hex")}`, size };
}
function openClients(request, log2) {
  const { target, base } = request;
  const sameRegistry = registryApiHost(base.registry) === registryApiHost(target.registry);
  const targetClient = new RegistryClient({
    registry: target.registry,
    credentials: request.credentials,
    scopes: [{ repository: target.repository, actions: ["pull", "push"] }, ...sameRegistry && base.repository !== target.repository ? [{ repository: base.repository, actions: ["pull"] }] : []],
    retry: request.retry,
    log: log2
  });
  const baseClient = sameRegistry ? targetClient : new RegistryClient({ registry: base.registry, credentials: request.baseCredentials, scopes: [{ repository: base.repository, actions: ["pull"] }], retry: request.retry, log: log2 });
  return { target: targetClient, base: baseClient, sameRegistry };
}
function hashModelLayers(plan, modelDir) {
  const hashed = [];
  let previous = Promise.resolve();
  for (const entries of plan) {
    const layer = previous.then(async () => {
      const { digest, size } = await hashLayer(entries);
      if (size !== tarSize(entries)) throw new Error(`layer size ${size} differs from the planned ${tarSize(entries)}`);
      return { digest, size, createdBy: `COPY ${describeContents(entries, modelDir)} /${modelDir} # train-to-serve publish` };
    });
    layer.catch(() => {
    });
    hashed.push(layer);
    previous = layer;
  }
  return hashed;
}
var SentBytes = class {
  all = 0;
  model = 0;
  counter(model) {
    return (bytes) => {
      this.all += bytes;
      if (model) this.model += bytes;
    };
  }
};
function copyBaseLayers(request, clients, layers, sent, log2) {
  const { base } = request;
  const repo = request.target.repository;
  return mapLimit(layers, 4, async (layer) => {
    const report = (action) => ({ origin: "base", digest: layer.digest, size: layer.size, action });
    if (await clients.target.headBlob(repo, layer.digest) !== void 0) return report("present");
    let location;
    if (clients.sameRegistry) {
      const mount = await clients.target.mountBlob(repo, layer.digest, base.repository);
      if (mount.mounted) return report("mounted");
      location = mount.location;
    }
    log2(`Copying base layer ${layer.digest} (${layer.size} bytes) from ${repositoryName(base)}`);
    await clients.target.uploadBlob(
      repo,
      {
        digest: layer.digest,
        size: layer.size,
        open: async function* () {
          yield* await clients.base.getBlob(base.repository, layer.digest);
        }
      },
      { location, onProgress: sent.counter(false) }
    );
    return report("copied");
  });
}
function uploadModelLayers(request, client, plan, hashed, sent, log2) {
  const repo = request.target.repository;
  return mapLimit(plan, request.concurrency ?? 2, async (entries, index) => {
    const layer = await hashed[index];
    const contents = describeContents(entries, request.modelDir);
    const report = (action) => ({ origin: "model", digest: layer.digest, size: layer.size, action, contents });
    if (await client.headBlob(repo, layer.digest) !== void 0) return report("present");
    log2(`Uploading model layer ${layer.digest} (${layer.size} bytes): ${contents}`);
    const count = sent.counter(true);
    let done = 0;
    let lastNote = Date.now();
    const onProgress = (bytes) => {
      count(bytes);
      done += bytes;
      if (Date.now() - lastNote >= 15e3) {
        lastNote = Date.now();
        log2(`  ${layer.digest.slice(7, 19)}: ${Math.min(100, Math.floor(done / layer.size * 100))}% of ${layer.size} bytes sent`);
      }
    };
    await client.uploadBlob(repo, { digest: layer.digest, size: layer.size, open: () => tarStream(entries) }, { onProgress });
    return report("uploaded");
  });
}
async function uploadConfig(client, repo, composed, sent) {
  const config = composed.configDescriptor;
  if (await client.headBlob(repo, config.digest) !== void 0) return "present";
  const body = composed.config;
  await client.uploadBlob(
    repo,
    {
      digest: config.digest,
      size: config.size,
      open: () => [body]
    },
    { onProgress: sent.counter(false) }
  );
  return "uploaded";
}
async function storeManifest(request, client, composed, named) {
  const { target } = request;
  const repo = target.repository;
  await mapLimit(named, 4, async (blob) => {
    const size = await client.headBlob(repo, blob.digest);
    if (size === void 0) throw new RegistryError(`Registry ${target.registry}, repository ${repo}`, `does not have blob ${blob.digest} after it was pushed; the manifest was not stored and no tag moved`);
    if (Number.isFinite(size) && size !== blob.size) throw new RegistryError(`Registry ${target.registry}, repository ${repo}`, `holds blob ${blob.digest} with ${size} bytes, expected ${blob.size}`);
  });
  await client.putManifest(repo, composed.digest, composed.manifest, composed.manifestMediaType);
  for (const tag of request.tags) await client.putManifest(repo, tag, composed.manifest, composed.manifestMediaType);
}
async function publishModelImage(request) {
  const started = Date.now();
  const log2 = request.log ?? (() => {
  });
  const warn = request.warn ?? log2;
  const repo = request.target.repository;
  const scan = await scanModel(request.modelPath, request.modelDir, { keepModes: request.keepModes });
  const plan = planLayers(scan.entries, request.layerPlan ?? DEFAULT_LAYER_PLAN);
  const clients = openClients(request, log2);
  const hashed = hashModelLayers(plan, request.modelDir);
  const resolved = await resolveBase(clients.base, request, clients.sameRegistry, warn);
  const sent = new SentBytes();
  const basePass = copyBaseLayers(request, clients, resolved.manifest.layers, sent, log2);
  const modelPass = uploadModelLayers(request, clients.target, plan, hashed, sent, log2);
  basePass.catch(() => {
  });
  modelPass.catch(() => {
  });
  const [baseReports, modelReports] = await Promise.all([basePass, modelPass]);
  const modelLayers = await Promise.all(hashed);
  const composed = composeImage({
    family: resolved.family,
    baseManifest: resolved.manifest,
    baseConfig: resolved.config,
    layers: modelLayers,
    created: request.created,
    labels: request.labels,
    annotations: request.annotations
  });
  if (resolved.family === "docker" && Object.keys(request.annotations).length > 0) {
    warn("The base image uses Docker manifest types, which carry no annotations: the annotations were left out (labels carry the same facts)");
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
    layers: [...baseReports, ...modelReports, { origin: "config", digest: config.digest, size: config.size, action: configAction }],
    modelBytes: scan.bytes,
    modelFiles: scan.files,
    modelBytesUploaded: sent.model,
    modelBytesSkipped: modelReports.filter((r) => r.action === "present").reduce((sum, r) => sum + r.size, 0),
    bytesSent: sent.all,
    durationMs: Date.now() - started
  };
}

// src/actions/publish.ts
function getInputs() {
  const required = (name) => {
    const value = input(name);
    if (value === void 0) throw new InputError(name, "is required");
    return value.trim();
  };
  return {
    // The secret first, so it is masked before anything else can print it.
    "registry-password": secretInput("registry-password"),
    "github-token": secretInput("github-token"),
    "registry-username": input("registry-username")?.trim(),
    "model-path": required("model-path"),
    "base-image": required("base-image"),
    image: required("image"),
    tags: input("tags"),
    "model-dir": inputOrDefault("model-dir", "/model"),
    metrics: input("metrics")?.trim(),
    labels: input("labels"),
    annotations: input("annotations"),
    platform: inputOrDefault("platform", "linux/amd64"),
    "keep-file-modes": parseBoolean("keep-file-modes", inputOrDefault("keep-file-modes", "false"))
  };
}
function summary(result, references, base) {
  const model = result.layers.filter((l) => l.origin === "model");
  return [
    "## Published model image",
    "",
    table(
      ["", ""],
      [
        ["Image", code(result.image)],
        ["Tags", references.map((t) => code(t)).join("<br>") || "\u2014"],
        ["Base", `${code(base)} ${code(result.baseDigest)}${result.platform ? ` (${escapeCell(result.platform)})` : ""}`],
        ["Model", `${result.modelFiles} file${result.modelFiles === 1 ? "" : "s"}, ${formatBytes(result.modelBytes)}, in ${model.length} layer${model.length === 1 ? "" : "s"}`],
        ["Model bytes uploaded", formatBytes(result.modelBytesUploaded)],
        ["Model bytes skipped (the registry had them)", formatBytes(result.modelBytesSkipped)],
        ["All blob bytes sent", formatBytes(result.bytesSent)],
        ["Time", formatDuration(result.durationMs)]
      ]
    ),
    "",
    "### Layers",
    "",
    table(
      ["Layer", "Digest", { header: "Size", align: "right" }, "Done", "Holds"],
      result.layers.map((layer) => [layer.origin, code(layer.digest.slice(0, 19)), formatBytes(layer.size), layer.action, layer.contents ? escapeCell(layer.contents) : ""])
    ),
    ""
  ].join("\n");
}
async function main() {
  const inputs = getInputs();
  const context = readRunContext();
  const target = parseImageReference(inputs.image, "image", { tag: false, digest: false });
  const base = parseImageReference(inputs["base-image"], "base-image");
  const platform = parsePlatform("platform", inputs.platform);
  const modelDir = parseModelDir("model-dir", inputs["model-dir"]);
  const revision = context.pullRequest?.headSha || context.sha;
  const tags = inputs.tags === void 0 ? defaultTags(revision, context.pullRequest?.number) : parsePublishTags("tags", parseList(inputs.tags), target);
  if (tags.length === 0) throw new InputError("tags", "not given, and there is no commit (GITHUB_SHA) to name a default tag after");
  const userLabels = inputs.labels === void 0 ? /* @__PURE__ */ new Map() : parseKeyValueLines("labels", inputs.labels);
  const userAnnotations = inputs.annotations === void 0 ? /* @__PURE__ */ new Map() : parseKeyValueLines("annotations", inputs.annotations);
  const credentialInputs = parseCredentialInputs(inputs["registry-username"], inputs["registry-password"]);
  let metricsJson;
  if (inputs.metrics !== void 0) metricsJson = JSON.stringify(metricsToJson(await loadMetricsInput("metrics", inputs.metrics)));
  const workspace = process.env.GITHUB_WORKSPACE ?? process.cwd();
  let created = await commitTime({ env: process.env, workspace, revisions: [revision, context.sha], payload: context.payload });
  if (!created) {
    created = (/* @__PURE__ */ new Date()).toISOString().replace(/\.\d{3}Z$/, "Z");
    log.warning(`Could not find the commit time (no SOURCE_DATE_EPOCH, no git checkout holding ${revision.slice(0, 7) || "the commit"}): the image records the current time, so its digest differs on every publish`);
  }
  const sourceUrl = context.repository ? `${context.serverUrl}/${context.repository.owner}/${context.repository.repo}` : void 0;
  const labels = withProvenance(userLabels, toolkitLabels({ sourceUrl, revision, created }, metricsJson, modelDir));
  const annotations = withProvenance(userAnnotations, {
    ...sourceUrl ? { [Label.source]: sourceUrl } : {},
    ...revision ? { [Label.revision]: revision } : {},
    [Label.created]: created,
    [Label.baseName]: formatReference({ ...base, digest: void 0 })
  });
  for (const [input2, { ignored }] of [
    ["labels", labels],
    ["annotations", annotations]
  ]) {
    if (ignored.length) log.warning(`Input "${input2}": ${ignored.join(", ")} ${ignored.length === 1 ? "is" : "are"} written by the toolkit (provenance); the given ${ignored.length === 1 ? "value is" : "values are"} ignored`);
  }
  const sources = { githubToken: inputs["github-token"], actor: context.actor, serverUrl: context.serverUrl, env: process.env, mask: maskSecret };
  const resolved = await resolveCredentials(target.registry, { ...sources, inputs: credentialInputs });
  const baseCredentials = base.registry === target.registry ? resolved : await resolveCredentials(base.registry, sources);
  let result;
  try {
    result = await publishModelImage({
      modelPath: inputs["model-path"],
      modelDir,
      base,
      target,
      tags,
      platform,
      labels: labels.merged,
      annotations: annotations.merged,
      created,
      keepModes: inputs["keep-file-modes"],
      credentials: resolved.credentials,
      baseCredentials: baseCredentials.credentials,
      log: log.info,
      warn: log.warning
    });
  } catch (error) {
    throw explainAuthError(error, resolved);
  }
  const references = result.tags.map((tag) => `${repositoryName(target)}:${tag}`);
  log.info(`Published ${result.image} as ${references.join(", ")}: ${formatBytes(result.modelBytesUploaded)} of model uploaded, ${formatBytes(result.modelBytesSkipped)} already there`);
  setOutputs({ image: result.image, digest: result.digest, tags: references.join("\n") });
  await writeSummary(summary(result, references, formatReference(base)));
}
void runAction(main);
