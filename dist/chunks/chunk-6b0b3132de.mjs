import { createRequire as __cjsCreateRequire } from 'node:module'; import { fileURLToPath as __cjsFileURLToPath } from 'node:url'; const require = __cjsCreateRequire(import.meta.url); const __cjsFilename = __cjsFileURLToPath(import.meta.url); const __cjsDirname = __cjsFileURLToPath(new URL('.', import.meta.url));
import {
  require_dist
} from "./chunk-891e70ec9e.mjs";
import {
  InputError,
  ResourceError,
  __toESM,
  errorMessage,
  formatBytes,
  require_node_fs,
  require_promises
} from "./chunk-4eaf0c925e.mjs";

// src/metrics/file.ts
var import_yaml = __toESM(require_dist(), 1);

// src/files/read.ts
var import_node_fs = __toESM(require_node_fs(), 1);
var import_promises = __toESM(require_promises(), 1);
var FileReadError = class extends Error {
  constructor(problem, code) {
    super(problem);
    this.problem = problem;
    this.code = code;
  }
  problem;
  code;
};
async function readSmallFile(path, limit) {
  let handle;
  try {
    handle = await (0, import_promises.open)(path, import_node_fs.constants.O_RDONLY | import_node_fs.constants.O_NONBLOCK);
  } catch (error) {
    const code = error.code;
    throw new FileReadError(code === "ENOENT" ? "does not exist" : code === "EISDIR" ? "is a directory, not a file" : `cannot be read (${code ?? String(error)})`, code);
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw new FileReadError("is a directory, not a file", "EISDIR");
    if (!info.isFile()) throw new FileReadError("is not a regular file (a pipe, socket or device)", "ENOTREG");
    if (info.size > limit) throw new FileReadError(`is ${info.size} bytes, more than the ${formatBytes(limit)} this file may hold`, "ETOOLARGE");
    const buffer = Buffer.alloc(limit + 1);
    let length = 0;
    for (; ; ) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > limit) throw new FileReadError(`grew past the ${formatBytes(limit)} this file may hold while it was read`, "ETOOLARGE");
    }
    return buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
}

// src/metrics/file.ts
var NON_FINITE_TEXT = /^[+-]?(nan|inf|infinity)$/i;
function parseMetrics(text, source) {
  const where = `Metrics ${source}`;
  if (text.trim() === "") throw new ResourceError(where, "is empty");
  let document;
  try {
    document = JSON.parse(text);
  } catch {
    try {
      document = (0, import_yaml.parse)(text, { uniqueKeys: true });
    } catch (error) {
      const reason = errorMessage(error).split("\n")[0];
      throw new ResourceError(where, `is neither valid JSON nor YAML (${reason})`);
    }
  }
  if (document === null || typeof document !== "object" || Array.isArray(document)) {
    throw new ResourceError(where, "must hold a mapping of metric names to values at the top level");
  }
  const entries = [];
  flattenInto(document, "", entries);
  if (entries.length === 0) throw new ResourceError(where, "holds no metrics");
  const numbers = /* @__PURE__ */ new Map();
  for (const { name, value } of entries) {
    if (typeof value === "number") {
      if (!Number.isFinite(value)) throw new ResourceError(where, `metric "${name}" is not a finite number (${value})`);
      numbers.set(name, value);
    } else if (typeof value === "string" && NON_FINITE_TEXT.test(value.trim())) {
      throw new ResourceError(where, `metric "${name}" is not a finite number (${value})`);
    }
  }
  return { entries, numbers };
}
var MAX_METRICS_FILE_BYTES = 8 * 1024 * 1024;
async function loadMetricsFile(path, shown = `Metrics file "${path}"`) {
  let text;
  try {
    text = (await readSmallFile(path, MAX_METRICS_FILE_BYTES)).toString("utf8");
  } catch (error) {
    if (error instanceof FileReadError) throw new ResourceError(shown, error.problem);
    throw error;
  }
  return parseMetrics(text, `file "${path}"`);
}
function metricsToJson(metrics) {
  return Object.fromEntries(metrics.entries.map(({ name, value }) => [name, value]));
}
function flattenInto(node, prefix, out) {
  const children = Array.isArray(node) ? node.map((value, index) => [String(index), value]) : Object.entries(node);
  for (const [key, value] of children) {
    const name = prefix === "" ? key : `${prefix}.${key}`;
    if (value !== null && typeof value === "object" && !(value instanceof Date)) {
      flattenInto(value, name, out);
    } else if (value instanceof Date) {
      out.push({ name, value: value.toISOString() });
    } else if (typeof value === "number" || typeof value === "string" || typeof value === "boolean" || value === null) {
      out.push({ name, value });
    } else {
      const scalar = value;
      out.push({ name, value: String(scalar) });
    }
  }
}
async function loadMetricsInput(input, path) {
  try {
    return await loadMetricsFile(path);
  } catch (error) {
    if (error instanceof ResourceError) throw new InputError(input, error.message);
    throw error;
  }
}

export {
  parseMetrics,
  loadMetricsFile,
  metricsToJson,
  loadMetricsInput
};
