import { createRequire as __cjsCreateRequire } from 'node:module'; import { fileURLToPath as __cjsFileURLToPath } from 'node:url'; const require = __cjsCreateRequire(import.meta.url); const __cjsFilename = __cjsFileURLToPath(import.meta.url); const __cjsDirname = __cjsFileURLToPath(new URL('.', import.meta.url));
import {
  parseRules
} from "./chunk-a13dcfef2a.mjs";
import {
  parseCredentialInputs
} from "./chunk-de7766be5a.mjs";
import {
  connectEngine,
  engineMessage,
  parseDockerHost,
  parseGpuRequest,
  statusOf
} from "./chunk-8714997f76.mjs";
import {
  require_dist
} from "./chunk-891e70ec9e.mjs";
import {
  InputError,
  ResourceError,
  __toESM,
  code,
  engineRepositoryName,
  errorMessage,
  escapeCell,
  formatBytes,
  formatDuration,
  parseBoolean,
  parseDuration,
  parseDurationOrNever,
  parseEnum,
  parseGivenImage,
  parseInteger,
  parseKeyValueLines,
  parseLines,
  parseList,
  pullReference,
  quote,
  require_node_crypto,
  require_node_fs,
  require_node_http,
  require_node_https,
  require_node_os,
  require_node_path,
  require_promises,
  table
} from "./chunk-4eaf0c925e.mjs";

// src/traefik/rule.ts
var MATCHERS = {
  Host: [1, Infinity],
  HostRegexp: [1, Infinity],
  Path: [1, Infinity],
  PathPrefix: [1, Infinity],
  PathRegexp: [1, 1],
  Method: [1, Infinity],
  Header: [2, 2],
  HeaderRegexp: [2, 2],
  Query: [1, 2],
  QueryRegexp: [1, 2],
  ClientIP: [1, Infinity],
  // Traefik v2 names.
  Headers: [2, 2],
  HeadersRegexp: [2, 2],
  HostHeader: [1, Infinity]
};
var RuleSyntaxError = class extends Error {
  name = "RuleSyntaxError";
};
function tokenize(rule) {
  const tokens = [];
  let i = 0;
  while (i < rule.length) {
    const c = rule[i];
    if (/\s/.test(c)) {
      i++;
    } else if (/[A-Za-z]/.test(c)) {
      const start = i;
      while (i < rule.length && /[A-Za-z0-9_]/.test(rule[i])) i++;
      tokens.push({ kind: "ident", text: rule.slice(start, i), at: start });
    } else if (c === "`") {
      const end = rule.indexOf("`", i + 1);
      if (end < 0) throw new RuleSyntaxError(`unterminated \` string at column ${i + 1}`);
      tokens.push({ kind: "string", text: rule.slice(i + 1, end), at: i });
      i = end + 1;
    } else if (c === '"') {
      const start = i;
      let text = "";
      i++;
      while (i < rule.length && rule[i] !== '"') {
        if (rule[i] === "\\" && i + 1 < rule.length) i++;
        text += rule[i];
        i++;
      }
      if (i >= rule.length) throw new RuleSyntaxError(`unterminated " string at column ${start + 1}`);
      tokens.push({ kind: "string", text, at: start });
      i++;
    } else if (rule.startsWith("&&", i) || rule.startsWith("||", i)) {
      tokens.push({ kind: "op", text: rule.slice(i, i + 2), at: i });
      i += 2;
    } else if (c === "(" || c === ")" || c === "," || c === "!") {
      tokens.push({ kind: "op", text: c, at: i });
      i++;
    } else {
      throw new RuleSyntaxError(`unexpected ${JSON.stringify(c)} at column ${i + 1} (a rule is matchers like Host(\`example.com\`), arguments in backticks)`);
    }
  }
  return tokens;
}
function checkRuleSyntax(rule) {
  if (rule.trim() === "") throw new RuleSyntaxError("empty rule");
  const tokens = tokenize(rule);
  const used = [];
  let pos = 0;
  const peek = () => tokens[pos];
  const where = (token) => token ? `at column ${token.at + 1}` : "at the end";
  const expectOp = (text) => {
    const token = tokens[pos];
    if (token?.kind !== "op" || token.text !== text) throw new RuleSyntaxError(`expected ${text} ${where(token)}`);
    pos++;
  };
  const primary = () => {
    const token = peek();
    if (token?.kind === "op" && token.text === "(") {
      pos++;
      expression();
      expectOp(")");
      return;
    }
    if (token?.kind !== "ident") throw new RuleSyntaxError(`expected a matcher such as Host(\`example.com\`) ${where(token)}`);
    const arity = MATCHERS[token.text];
    if (!arity) throw new RuleSyntaxError(`unknown matcher ${token.text} (known: ${Object.keys(MATCHERS).join(", ")})`);
    pos++;
    expectOp("(");
    let count = 0;
    for (; ; ) {
      const arg = peek();
      if (arg?.kind !== "string") throw new RuleSyntaxError(`${token.text}: expected a \`quoted\` argument ${where(arg)}`);
      if (arg.text === "" && token.text !== "Query" && token.text !== "Header") throw new RuleSyntaxError(`${token.text}: empty argument`);
      pos++;
      count++;
      const next = peek();
      if (next?.kind === "op" && next.text === ",") {
        pos++;
        continue;
      }
      break;
    }
    expectOp(")");
    const [min, max] = arity;
    if (count < min || count > max) {
      const wanted = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
      throw new RuleSyntaxError(`${token.text} takes ${wanted} argument${min === 1 && max === 1 ? "" : "s"}, got ${count}`);
    }
    used.push(token.text);
  };
  const unary = () => {
    const token = peek();
    if (token?.kind === "op" && token.text === "!") {
      pos++;
      unary();
    } else {
      primary();
    }
  };
  const conjunction = () => {
    unary();
    while (peek()?.kind === "op" && peek().text === "&&") {
      pos++;
      unary();
    }
  };
  const expression = () => {
    conjunction();
    while (peek()?.kind === "op" && peek().text === "||") {
      pos++;
      conjunction();
    }
  };
  expression();
  if (pos < tokens.length) throw new RuleSyntaxError(`unexpected ${tokens[pos].text} ${where(tokens[pos])}`);
  return used;
}

// src/engine/gpus.ts
function parseGpus(inputName, raw) {
  if (raw === void 0 || raw.trim() === "") return void 0;
  const request = parseGpuRequest(inputName, raw);
  return request.kind === "none" ? void 0 : request;
}
function deviceRequests(request) {
  if (!request) return [];
  if (request.kind === "all") return [{ Driver: "nvidia", Count: -1, Capabilities: [["gpu"]] }];
  if (request.kind === "count") return [{ Driver: "nvidia", Count: request.count, Capabilities: [["gpu"]] }];
  return [{ Driver: "nvidia", Count: 0, DeviceIDs: request.ids, Capabilities: [["gpu"]] }];
}
function describeGpus(request) {
  if (request.kind === "all") return "all GPUs";
  if (request.kind === "count") return `${request.count} GPU${request.count === 1 ? "" : "s"}`;
  return `GPUs ${request.ids.join(",")}`;
}

// src/serving/names.ts
var import_node_crypto = __toESM(require_node_crypto(), 1);

// src/serving/server-inputs.ts
var SHELL_SYNTAX = /[|;&<>$`(){}*?]/;
function parseJsonArgv(inputName, text) {
  let argv;
  try {
    argv = JSON.parse(text);
  } catch {
    throw new InputError(inputName, `starts with [ but is not a JSON array of strings: ${quote(text)}`);
  }
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === "string")) throw new InputError(inputName, `expected a non-empty JSON array of strings, got ${quote(text)}`);
  return argv;
}
function parseArgv(inputName, raw) {
  const text = raw?.trim();
  if (!text) return void 0;
  if (text.startsWith("[")) {
    const argv = parseJsonArgv(inputName, text);
    if (argv[0] === "") throw new InputError(inputName, `the first word is empty in ${quote(text)}`);
    return argv;
  }
  if (/[\r\n]/.test(text)) throw new InputError(inputName, 'give one line, or a JSON array of strings such as ["tritonserver", "--model-repository=/model"]');
  return splitWords(inputName, text);
}
function splitWords(inputName, text) {
  const words = [];
  let word;
  let quoteChar;
  for (const char of text) {
    if (quoteChar) {
      if (char === quoteChar) quoteChar = void 0;
      else word = (word ?? "") + char;
    } else if (char === '"' || char === "'") {
      quoteChar = char;
      word ??= "";
    } else if (/\s/.test(char)) {
      if (word !== void 0) words.push(word);
      word = void 0;
    } else if (SHELL_SYNTAX.test(char) || char === "\\") {
      throw new InputError(inputName, `${quote(char)} outside quotes: no shell runs this line; quote the word, or run a shell yourself: ["sh", "-c", "\u2026"]`);
    } else {
      word = (word ?? "") + char;
    }
  }
  if (quoteChar) throw new InputError(inputName, `unclosed ${quoteChar} in ${quote(text)}`);
  if (word !== void 0) words.push(word);
  return words;
}
var BYTE_UNITS = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
function parseBytes(inputName, raw, { min = 1 } = {}) {
  const text = raw.trim().toLowerCase();
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/.exec(text);
  if (!match) throw new InputError(inputName, `expected a size like 512m or 2g (k, m, g, t are powers of 1024), got ${quote(raw)}`);
  const bytes = Math.floor(Number(match[1]) * BYTE_UNITS[match[2]]);
  if (!Number.isSafeInteger(bytes)) throw new InputError(inputName, `size out of range: ${quote(raw)}`);
  if (bytes < min) throw new InputError(inputName, `${min > 1 ? `must be at least ${min / 1024 / 1024}m` : "must be greater than zero"}, got ${quote(raw)}`);
  return bytes;
}
var MIN_MEMORY_BYTES = 6 * 1024 * 1024;
function parseCpus(inputName, raw) {
  const text = raw.trim();
  if (!/^\d+(\.\d+)?$/.test(text)) throw new InputError(inputName, `expected a number of CPUs like 1.5, got ${quote(raw)}`);
  const cpus = Number(text);
  if (cpus < 0.01) throw new InputError(inputName, `must be at least 0.01, got ${quote(raw)}`);
  if (cpus > 1024) throw new InputError(inputName, `must be at most 1024, got ${quote(raw)}`);
  return Math.round(cpus * 1e9);
}
var ULIMIT_NAMES = ["core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"];
function parseUlimits(inputName, raw) {
  const ulimits = [];
  for (const item of parseLines(raw).flatMap((line) => line.split(",")).map((part) => part.trim()).filter(Boolean)) {
    const match = /^([a-z]+)\s*=\s*(-1|\d+)(?:\s*:\s*(-1|\d+))?$/.exec(item);
    if (!match) throw new InputError(inputName, `expected name=soft or name=soft:hard such as memlock=-1 or nofile=1024:2048, got ${quote(item)}`);
    const name = match[1];
    if (!ULIMIT_NAMES.includes(name)) throw new InputError(inputName, `unknown limit ${quote(name)} (one of ${ULIMIT_NAMES.join(", ")})`);
    if (ulimits.some((u) => u.Name === name)) throw new InputError(inputName, `${name} is given twice`);
    const soft = Number(match[2]);
    const hard = match[3] === void 0 ? soft : Number(match[3]);
    if (!Number.isSafeInteger(soft) || !Number.isSafeInteger(hard)) throw new InputError(inputName, `number out of range in ${quote(item)}`);
    if (hard !== -1 && (soft === -1 || soft > hard)) throw new InputError(inputName, `the soft limit of ${name} is above its hard limit in ${quote(item)}`);
    ulimits.push({ Name: name, Soft: soft, Hard: hard });
  }
  if (ulimits.length === 0) throw new InputError(inputName, "name at least one limit, e.g. memlock=-1");
  return ulimits;
}
var URL_PATH = /^\/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*$/;
var METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
var isUrlPath = (text) => URL_PATH.test(text) && text.length <= 1024;
var isMetricName = (text) => METRIC_NAME.test(text) && text.length <= 200;
function parseMetricsSource(inputs) {
  const port = inputs["metrics-port"]?.trim();
  const path = inputs["metrics-path"]?.trim();
  const metric = inputs["request-metric"]?.trim();
  if (path && !isUrlPath(path)) throw new InputError("metrics-path", `expected a URL path starting with /, such as /metrics, got ${quote(path)}`);
  if (metric && !isMetricName(metric)) throw new InputError("request-metric", `expected a Prometheus metric name such as http_requests_total or vllm:request_success_total, got ${quote(metric)}`);
  return {
    ...port ? { port: parseInteger("metrics-port", port, { min: 1, max: 65535 }) } : {},
    ...path ? { path } : {},
    ...metric ? { requestMetric: metric } : {}
  };
}
function parseServerProcess(inputs) {
  const given2 = (name) => inputs[name]?.trim() || void 0;
  const shm = given2("shm-size");
  const memory = given2("memory");
  const cpus = given2("cpus");
  const ulimits = given2("ulimits");
  const command = parseArgv("command", inputs.command);
  const args = parseArgv("args", inputs.args);
  return {
    ...command ? { command } : {},
    ...args ? { args } : {},
    ...shm ? { shmBytes: parseBytes("shm-size", shm) } : {},
    ...memory ? { memoryBytes: parseBytes("memory", memory, { min: MIN_MEMORY_BYTES }) } : {},
    ...cpus ? { nanoCpus: parseCpus("cpus", cpus) } : {},
    ...ulimits ? { ulimits: parseUlimits("ulimits", ulimits) } : {}
  };
}

// src/serving/labels.ts
var LABELS = {
  /** `true` on every container deploy created; retire looks at nothing else. */
  managed: "train-to-serve.managed",
  service: "train-to-serve.service",
  /** The image's manifest digest (`sha256:…`), or its local id when it came from no registry. */
  imageDigest: "train-to-serve.image-digest",
  /** The image reference deploy was given. */
  image: "train-to-serve.image",
  /** ISO 8601 UTC. */
  deployedAt: "train-to-serve.deployed-at",
  /** ISO 8601 UTC, or `never`. */
  expiresAt: "train-to-serve.expires-at",
  gitSha: "train-to-serve.git-sha",
  runUrl: "train-to-serve.run-url",
  /** The pull request number the model came from, or empty. */
  pr: "train-to-serve.pr",
  /** The signal that makes this server report unhealthy while it keeps serving (deploy's `drain-signal`). */
  drainSignal: "train-to-serve.drain-signal",
  /** On the deploy lock container only (never with `managed`): the service it locks. */
  lock: "train-to-serve.lock",
  /**
   * Swarm only: when a drain withdrew this version's routing (`traefik.enable=false`), ISO 8601
   * UTC. A version carrying it is no longer routed, whatever its tasks do.
   */
  draining: "train-to-serve.draining",
  /**
   * deploy's `metrics-port`, `metrics-path` and `request-metric`, only when given: where retire and
   * drains read the server's request counter. Absent: the serving port, /metrics, the default names.
   */
  metricsPort: "train-to-serve.metrics-port",
  metricsPath: "train-to-serve.metrics-path",
  requestMetric: "train-to-serve.request-metric"
};
var NEVER = "never";
function networkLabel(provider) {
  return `traefik.${provider}.network`;
}
function routingLabels(routing, provider = "docker") {
  const { service, rule, entrypoints, port, network } = routing;
  return {
    "traefik.enable": "true",
    [networkLabel(provider)]: network,
    [`traefik.http.routers.${service}.rule`]: rule,
    [`traefik.http.routers.${service}.entrypoints`]: entrypoints.join(","),
    [`traefik.http.routers.${service}.service`]: service,
    [`traefik.http.services.${service}.loadbalancer.server.port`]: String(port)
  };
}
function versionServiceName(service, digest) {
  return `${service}-${shortDigest(digest)}`;
}
var VERSION_HEADER = "X-Model-Version";
function versionRoutingLabels(routing, digest, provider = "docker", healthCheck) {
  const name = versionServiceName(routing.service, digest);
  const balancer = `traefik.http.services.${name}.loadbalancer`;
  return {
    "traefik.enable": "true",
    [networkLabel(provider)]: routing.network,
    [`traefik.http.routers.${name}.rule`]: `(${routing.rule}) && Header(\`${VERSION_HEADER}\`, \`${shortDigest(digest)}\`)`,
    [`traefik.http.routers.${name}.entrypoints`]: routing.entrypoints.join(","),
    [`traefik.http.routers.${name}.service`]: name,
    [`${balancer}.server.port`]: String(routing.port),
    ...healthCheck ? {
      [`${balancer}.healthcheck.path`]: healthCheck.path,
      [`${balancer}.healthcheck.interval`]: `${healthCheck.intervalMs}ms`,
      [`${balancer}.healthcheck.timeout`]: `${healthCheck.timeoutMs}ms`
    } : {}
  };
}
function traefikLabelsOf(labels) {
  return Object.fromEntries(Object.entries(labels).filter(([key]) => key.startsWith("traefik.")));
}
function routingDifferences(running, wanted) {
  const a = traefikLabelsOf(running);
  const b = traefikLabelsOf(wanted);
  const keys = [.../* @__PURE__ */ new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((key) => a[key] !== b[key]).map((key) => `${key}: ${a[key] ?? "(none)"} \u2192 ${b[key] ?? "(none)"}`);
}
function toolkitLabels(server) {
  return {
    [LABELS.managed]: "true",
    [LABELS.service]: server.service,
    [LABELS.imageDigest]: server.digest,
    [LABELS.image]: server.image,
    [LABELS.deployedAt]: server.deployedAt.toISOString(),
    [LABELS.expiresAt]: server.expiresAt ? server.expiresAt.toISOString() : NEVER,
    [LABELS.gitSha]: server.provenance.gitSha ?? "",
    [LABELS.runUrl]: server.provenance.runUrl ?? "",
    [LABELS.pr]: server.provenance.pr !== void 0 ? String(server.provenance.pr) : "",
    [LABELS.drainSignal]: server.drainSignal,
    ...server.metrics?.port !== void 0 ? { [LABELS.metricsPort]: String(server.metrics.port) } : {},
    ...server.metrics?.path !== void 0 ? { [LABELS.metricsPath]: server.metrics.path } : {},
    ...server.metrics?.requestMetric !== void 0 ? { [LABELS.requestMetric]: server.metrics.requestMetric } : {}
  };
}
function serverLabels(routing, server, provider = "docker", mode = "labels", healthCheck) {
  const traefik = mode === "file" ? versionRoutingLabels(routing, server.digest, provider, healthCheck) : routingLabels(routing, provider);
  return { ...traefik, ...toolkitLabels(server) };
}
function parseDate(text) {
  if (!text) return void 0;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? void 0 : date;
}
function parseServerLabels(labels) {
  const get2 = (key) => labels?.[key] || void 0;
  const service = get2(LABELS.service);
  const expiresText = get2(LABELS.expiresAt);
  const portKey = Object.keys(labels ?? {}).find((key) => service !== void 0 && key.startsWith(`traefik.http.services.${service}`) && key.endsWith(".loadbalancer.server.port"));
  const port = portKey ? Number(get2(portKey)) : Number.NaN;
  const pr = Number(get2(LABELS.pr));
  const metricsPort = Number(get2(LABELS.metricsPort));
  const metricsPath = get2(LABELS.metricsPath);
  const requestMetric = get2(LABELS.requestMetric);
  return {
    managed: get2(LABELS.managed) === "true",
    service,
    digest: get2(LABELS.imageDigest),
    image: get2(LABELS.image),
    deployedAt: parseDate(get2(LABELS.deployedAt)),
    expiresAt: expiresText === NEVER ? null : parseDate(expiresText),
    drainSignal: get2(LABELS.drainSignal),
    port: Number.isInteger(port) && port > 0 ? port : void 0,
    network: get2(networkLabel("docker")) ?? get2(networkLabel("swarm")),
    gitSha: get2(LABELS.gitSha),
    runUrl: get2(LABELS.runUrl),
    pr: Number.isInteger(pr) && pr > 0 ? pr : void 0,
    metrics: {
      ...Number.isInteger(metricsPort) && metricsPort > 0 && metricsPort <= 65535 ? { port: metricsPort } : {},
      ...metricsPath && isUrlPath(metricsPath) ? { path: metricsPath } : {},
      ...requestMetric && isMetricName(requestMetric) ? { requestMetric } : {}
    }
  };
}
function shortDigest(digest) {
  return digest.replace(/^sha256:/, "").slice(0, 12);
}

// src/serving/names.ts
var SERVICE_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
function parseServiceName(inputName, raw) {
  const name = raw.trim();
  if (!SERVICE_NAME.test(name)) {
    throw new InputError(inputName, `must be a DNS label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), got ${quote(name)}`);
  }
  return name;
}
function serverContainerName(service, digest, suffix = (0, import_node_crypto.randomBytes)(2).toString("hex")) {
  return `${service}-${shortDigest(digest)}-${suffix}`;
}
function lockContainerName(service) {
  return `train-to-serve-lock-${service}`;
}
var SWARM_SERVICE_NAME_MAX = 50;
function swarmServiceName(service, digest) {
  return `${service}-${shortDigest(digest)}`;
}
function lockConfigName(service) {
  return `tts-lock-${service}`;
}

// src/serving/prepare-spec.ts
function parsePrepare(inputs, rollback) {
  const prepare = parseBoolean("prepare", inputs.prepare?.trim() || "false");
  if (prepare && rollback) throw new InputError("prepare", "cannot go with rollback: true (a rollback pulls nothing; prepare only pulls)");
  return prepare;
}

// src/serving/routing-spec.ts
var ROUTING_MODES = ["labels", "file"];
function parseRoutingChoice(inputs) {
  const mode = parseEnum("routing", inputs.routing?.trim() || "labels", ROUTING_MODES);
  const dir = inputs["routing-dir"]?.trim() || void 0;
  if (mode === "file" && !dir) throw new InputError("routing-dir", "is required with routing: file (the directory Traefik's file provider watches, as this runner sees it)");
  if (mode === "labels" && dir) throw new InputError("routing-dir", "is only used with routing: file; remove it, or set routing: file");
  if (dir && !dir.startsWith("/")) throw new InputError("routing-dir", `must be an absolute path, got ${quote(dir)}`);
  return { mode, dir };
}
function parseHealthPath(raw) {
  const text = raw?.trim();
  if (!text) return void 0;
  if (!isUrlPath(text)) throw new InputError("health-path", `expected a URL path starting with /, such as /v2/health/ready, got ${quote(text)}`);
  return text;
}
function parseFileDeployOptions(choice, inputs) {
  const healthPath = parseHealthPath(inputs["health-path"]);
  const keep = inputs["keep-previous"]?.trim();
  const keepPreviousMs = keep && keep !== "none" ? parseDuration("keep-previous", keep) : void 0;
  const rollback = parseBoolean("rollback", inputs.rollback?.trim() || "false");
  if (choice.mode === "labels") {
    if (keepPreviousMs !== void 0) throw new InputError("keep-previous", "needs routing: file (only a routing table the toolkit owns can hold a version at weight 0)");
    if (rollback) throw new InputError("rollback", "needs routing: file and a version kept with keep-previous");
  }
  return { healthPath, keepPreviousMs, rollback };
}

// src/rollout/spec.ts
var PROGRESSIVE_STRATEGIES = ["canary", "shadow"];
var AFTER_SHADOW = ["replace", "canary"];
var FIGURES = ["requests", "error_rate", "latency_p95_ms", "prediction_shift"];
var DEFAULT_STEPS = "5,25,50,100";
var DEFAULT_STEP_DURATION = "60s";
var DEFAULT_ANALYSIS = "error_rate <= baseline + 0.01\nlatency_p95_ms <= baseline * 1.2";
var DEFAULT_MIRROR_PERCENT = "100";
var DEFAULT_SHADOW_DURATION = "5m";
var PROGRESSIVE_ONLY = ["steps", "step-duration", "analysis-interval", "failure-limit", "analysis", "mirror-percent", "shadow-duration", "after-shadow", "traefik-metrics"];
var SHADOW_ONLY = ["mirror-percent", "shadow-duration", "after-shadow"];
function given(inputs, name) {
  const value = inputs[name]?.trim();
  return value ? value : void 0;
}
function parseSteps(raw) {
  const parts = parseList(raw);
  if (parts.length === 0) throw new InputError("steps", "name at least one weight in percent, like 5,25,50,100");
  const steps = parts.map((part) => {
    if (!/^\d+$/.test(part)) throw new InputError("steps", `expected whole percentages like 5,25,50,100, got ${quote(part)}`);
    const weight = Number(part);
    if (weight < 1 || weight > 100) throw new InputError("steps", `each weight is a percentage from 1 to 100, got ${weight}`);
    return weight;
  });
  steps.forEach((weight, index) => {
    const before = steps[index - 1];
    if (before !== void 0 && weight <= before) throw new InputError("steps", `weights must increase, but ${weight} follows ${before}`);
  });
  if (steps[steps.length - 1] !== 100) steps.push(100);
  return steps;
}
function parseAnalysis(raw) {
  const rules = parseRules(raw, "analysis");
  for (const rule of rules) {
    if (!FIGURES.includes(rule.metric)) {
      throw new InputError("analysis", `line ${rule.line} ${quote(rule.text)}: unknown figure ${quote(rule.metric)}; use one of ${FIGURES.join(", ")}`);
    }
  }
  return rules;
}
function parseMetricsUrl(name, raw) {
  let url;
  try {
    url = new URL(raw);
  } catch {
    throw new InputError(name, `expected an http(s) URL like http://127.0.0.1:8080/metrics, got ${quote(raw)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new InputError(name, `expected an http(s) URL, got ${quote(raw)}`);
  if (url.username || url.password) throw new InputError(name, "must not carry credentials: Traefik metrics are read without them");
  return url.toString();
}
function parseProgressiveInputs(inputs) {
  const strategyText = inputs.strategy.trim();
  if (!PROGRESSIVE_STRATEGIES.includes(strategyText)) {
    const stray = PROGRESSIVE_ONLY.find((name) => given(inputs, name) !== void 0);
    if (stray) throw new InputError(stray, `is only used with strategy: canary or shadow (strategy is ${quote(strategyText)})`);
    return void 0;
  }
  const strategy = strategyText;
  const routing = given(inputs, "routing") ?? "labels";
  if (routing !== "file") {
    throw new InputError("strategy", `${strategy} needs routing: file: under label routing Traefik merges every version into one load balancer, so no share of traffic can be set or measured per version`);
  }
  if (strategy === "canary") {
    const stray = SHADOW_ONLY.find((name) => given(inputs, name) !== void 0);
    if (stray) throw new InputError(stray, "is only used with strategy: shadow");
  }
  const steps = parseSteps(given(inputs, "steps") ?? DEFAULT_STEPS);
  const stepDurationMs = parseDuration("step-duration", given(inputs, "step-duration") ?? DEFAULT_STEP_DURATION);
  const rules = parseAnalysis(given(inputs, "analysis") ?? DEFAULT_ANALYSIS);
  const explicit = given(inputs, "traefik-metrics");
  const api = given(inputs, "traefik-api");
  if (!explicit && !api) throw new InputError("traefik-metrics", `${strategy} reads Traefik's per-service metrics: give traefik-metrics, or traefik-api (its /metrics is read)`);
  const metricsUrl2 = explicit ? parseMetricsUrl("traefik-metrics", explicit) : parseMetricsUrl("traefik-api", `${api.replace(/\/+$/, "")}/metrics`);
  const canary = { steps, stepDurationMs };
  let shadow;
  if (strategy === "shadow") {
    const mirrorPercent = parseInteger("mirror-percent", given(inputs, "mirror-percent") ?? DEFAULT_MIRROR_PERCENT, { min: 1, max: 100 });
    const durationMs = parseDuration("shadow-duration", given(inputs, "shadow-duration") ?? DEFAULT_SHADOW_DURATION);
    const after = parseEnum("after-shadow", given(inputs, "after-shadow") ?? "replace", AFTER_SHADOW);
    shadow = { mirrorPercent, durationMs, after };
  }
  const analysis = parseAnalysisSettings(inputs, canary, shadow);
  return { strategy, rules, analysis, metricsUrl: metricsUrl2, canary, ...shadow ? { shadow } : {} };
}
function holds(canary, shadow) {
  const shadowHold = shadow ? [["shadow-duration", shadow.durationMs]] : [];
  const steps = shadow?.after === "replace" ? [] : [["step-duration", canary.stepDurationMs]];
  return [...shadowHold, ...steps];
}
function parseAnalysisSettings(inputs, canary, shadow) {
  const failureLimit = parseInteger("failure-limit", given(inputs, "failure-limit") ?? "0", { min: 0 });
  const raw = given(inputs, "analysis-interval");
  if (raw === void 0) return { failureLimit };
  const intervalMs = parseDuration("analysis-interval", raw);
  for (const [name, holdMs] of holds(canary, shadow)) {
    if (intervalMs > holdMs) throw new InputError("analysis-interval", `${quote(raw)} is longer than ${name} (${formatDuration(holdMs)}): a window cannot outlast the hold it judges`);
    if (holdMs % intervalMs !== 0) {
      const nearest = dividingInterval(holdMs, intervalMs);
      throw new InputError("analysis-interval", `${quote(raw)} does not cut ${name} (${formatDuration(holdMs)}) into whole windows${nearest ? `; ${formatDuration(nearest)} does` : ""}`);
    }
  }
  return { intervalMs, failureLimit };
}
function dividingInterval(holdMs, intervalMs) {
  for (let windows = Math.ceil(holdMs / intervalMs); windows <= holdMs / 1e3; windows++) {
    if (holdMs % windows === 0 && holdMs / windows % 1e3 === 0) return holdMs / windows;
  }
  return void 0;
}
function windowsPerHold(analysis, holdMs) {
  return analysis.intervalMs === void 0 ? 1 : Math.round(holdMs / analysis.intervalMs);
}
function rolloutDurationMs(progressive) {
  if (!progressive) return 0;
  const held = progressive.canary.steps.filter((weight) => weight < 100).length * progressive.canary.stepDurationMs;
  return held + (progressive.shadow?.durationMs ?? 0);
}

// src/serving/deploy-spec.ts
var ENGINES = ["docker", "swarm"];
var STRATEGIES = ["replace", "add"];
var SIGNALS = ["SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGTERM", "SIGWINCH", "SIGALRM", "SIGPWR", "SIGURG"];
function parseSignal(inputName, raw) {
  const text = raw.trim().toUpperCase();
  const name = text.startsWith("SIG") ? text : `SIG${text}`;
  if (name === "SIGKILL" || name === "SIGSTOP") throw new InputError(inputName, `${name} cannot be caught, so a server cannot drain on it`);
  if (!SIGNALS.includes(name)) throw new InputError(inputName, `expected a signal such as SIGUSR2 (one of ${SIGNALS.join(", ")}), got ${quote(raw)}`);
  return name;
}
function parseHealthCmd(inputName, raw) {
  const text = raw?.trim();
  if (!text) return void 0;
  if (text.startsWith("[")) {
    const argv = parseJsonArgv(inputName, text);
    if (argv.includes("")) throw new InputError(inputName, `expected a non-empty JSON array of strings, got ${quote(text)}`);
    return ["CMD", ...argv];
  }
  if (text.toUpperCase() === "NONE") throw new InputError(inputName, "a readiness check is what keeps Traefik away from a loading server; it cannot be turned off here");
  return ["CMD-SHELL", text];
}
function parseTraefikApi(inputName, raw) {
  const text = raw?.trim();
  if (!text) return void 0;
  let url;
  try {
    url = new URL(text);
  } catch {
    throw new InputError(inputName, `expected an http(s) URL like http://127.0.0.1:8080, got ${quote(text)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new InputError(inputName, `expected an http(s) URL, got ${quote(text)}`);
  if (url.username || url.password) throw new InputError(inputName, "must not carry credentials: they would be printed with the address; give Traefik's API an entry point the runner reaches without them");
  return url.toString().replace(/\/+$/, "");
}
function parseRule(inputName, raw) {
  const rule = raw.trim();
  try {
    checkRuleSyntax(rule);
  } catch (error) {
    if (error instanceof RuleSyntaxError) throw new InputError(inputName, `invalid Traefik rule ${quote(rule)}: ${error.message}`);
    throw error;
  }
  return rule;
}
function parseEntrypoints(inputName, raw) {
  const names = parseList(raw);
  if (names.length === 0) throw new InputError(inputName, "name at least one Traefik entry point, e.g. web");
  for (const name of names) {
    if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new InputError(inputName, `not an entry point name: ${quote(name)}`);
  }
  return names;
}
function parseNetworkName(inputName, raw) {
  const name = raw.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw new InputError(inputName, `not a Docker network name: ${quote(name)}`);
  return name;
}
function required(inputs, name) {
  const value = inputs[name];
  if (value === void 0 || value.trim() === "") throw new InputError(name, "is required");
  return value;
}
function checkSwarmInputs(service, gpus) {
  if (gpus) {
    throw new InputError(
      "gpus",
      "engine swarm cannot give GPUs to a service: Swarm has no device requests (its generic resources need per-node daemon configuration and isolate no device). Deploy GPU models with engine: docker on the GPU host"
    );
  }
  if (service.length > SWARM_SERVICE_NAME_MAX) {
    throw new InputError("service", `with engine swarm, at most ${SWARM_SERVICE_NAME_MAX} characters (each model version runs as the Swarm service <service>-<12 hex of the digest>, and Swarm allows 63), got ${service.length}`);
  }
}
var DEFAULT_HEALTH_INTERVAL = "2s";
function parseHealthInterval(raw) {
  const intervalMs = parseDuration("health-interval", raw);
  if (intervalMs < 1e3 || intervalMs > 6e5) throw new InputError("health-interval", `must be between 1s and 10m, got ${quote(raw)}`);
  return intervalMs;
}
function parseDeployInputs(inputs, provenance) {
  const raw = inputs;
  const service = parseServiceName("service", required(raw, "service"));
  const image = parseGivenImage(required(raw, "image"), "image");
  const rule = parseRule("rule", required(raw, "rule"));
  const entrypoints = parseEntrypoints("entrypoints", inputs.entrypoints);
  const port = parseInteger("port", inputs.port, { min: 1, max: 65535 });
  const network = parseNetworkName("network", required(raw, "network"));
  const replicas = parseInteger("replicas", inputs.replicas, { min: 1, max: 64 });
  const strategyChoice = parseEnum("strategy", inputs.strategy, [...STRATEGIES, ...PROGRESSIVE_STRATEGIES]);
  const strategy = strategyChoice === "add" ? "add" : "replace";
  const ttlMs = parseDurationOrNever("ttl", inputs.ttl);
  const healthTimeoutMs = parseDuration("health-timeout", inputs["health-timeout"]);
  const healthIntervalMs = parseHealthInterval(inputs["health-interval"] ?? DEFAULT_HEALTH_INTERVAL);
  const drainTimeoutMs = parseDuration("drain-timeout", inputs["drain-timeout"]);
  const healthCmd = parseHealthCmd("health-cmd", inputs["health-cmd"]);
  const drainSignal = parseSignal("drain-signal", inputs["drain-signal"]);
  const env = parseKeyValueLines("env", inputs.env ?? "", { keyPattern: /^[A-Za-z_][A-Za-z0-9_]*$/ });
  const gpus = parseGpus("gpus", inputs.gpus);
  const traefikApi = parseTraefikApi("traefik-api", inputs["traefik-api"]);
  const engine = parseEnum("engine", inputs.engine, ENGINES);
  if (engine === "swarm") checkSwarmInputs(service, gpus);
  if (inputs["docker-host"] !== void 0) parseDockerHost(inputs["docker-host"]);
  const credentials = parseCredentialInputs(inputs["registry-username"], inputs["registry-password"]);
  const routingChoice = parseRoutingChoice(inputs);
  const options = parseFileDeployOptions(routingChoice, inputs);
  const nodeUsername = inputs["node-registry-username"]?.trim();
  const nodePassword = inputs["node-registry-password"];
  if (Boolean(nodeUsername) !== Boolean(nodePassword)) {
    throw new InputError(nodeUsername ? "node-registry-password" : "node-registry-username", "node-registry-username and node-registry-password go together: give both or neither");
  }
  if (nodeUsername && engine !== "swarm") throw new InputError("node-registry-username", "applies to engine swarm only (with engine docker, nothing pulls after deploy)");
  const progressive = parseProgressiveInputs(inputs);
  if (progressive && options.rollback) throw new InputError("rollback", `flips weights back to a kept version; it cannot run as a ${progressive.strategy}`);
  if (progressive && engine === "swarm") {
    throw new InputError(
      "strategy",
      `${progressive.strategy} runs on engine docker only for now: its analysis has not been tested against Swarm services (\`\u2026@swarm\`) whose tasks move between nodes; use engine: docker, or strategy: replace with routing: file and keep-previous on the swarm`
    );
  }
  const prepare = parsePrepare(inputs, options.rollback);
  const serverProcess = parseServerProcess(inputs);
  const metrics = parseMetricsSource(inputs);
  return {
    image,
    routing: { service, rule, entrypoints, port, network },
    replicas,
    strategy,
    ttlMs,
    healthTimeoutMs,
    healthIntervalMs,
    drainTimeoutMs,
    healthCmd,
    drainSignal,
    env,
    gpus,
    traefikApi,
    engine,
    dockerHost: inputs["docker-host"],
    credentials,
    nodeCredentials: nodeUsername && nodePassword ? { username: nodeUsername, password: nodePassword } : void 0,
    provenance,
    routingChoice,
    options,
    ...progressive ? { progressive } : {},
    prepare,
    process: serverProcess,
    metrics
  };
}
function deployedServerIdentity(spec, digest, deployedAt) {
  return {
    service: spec.routing.service,
    image: spec.image.text,
    digest,
    deployedAt,
    expiresAt: spec.ttlMs === null ? null : new Date(deployedAt.getTime() + spec.ttlMs),
    drainSignal: spec.drainSignal,
    provenance: spec.provenance,
    metrics: spec.metrics
  };
}

// src/async/checks.ts
async function checkAll(checks) {
  const settled = await Promise.allSettled(checks.map((check) => check ?? Promise.resolve()));
  const failed = settled.find((result) => result.status === "rejected");
  if (failed) throw failed.reason;
}

// src/serving/engine.ts
var DeployError = class extends Error {
  name = "DeployError";
};

// src/serving/routing-check.ts
function checkRoutingAgainst(servers, wanted, service) {
  for (const server of servers) {
    const differences = routingDifferences(server.labels, wanted);
    if (differences.length === 0) continue;
    const input = differences.some((d) => d.includes(".rule:")) ? "rule" : differences.some((d) => d.includes("entrypoints")) ? "entrypoints" : differences.some((d) => d.includes(".port:")) ? "port" : "network";
    throw new InputError(
      input,
      `differs from the running server ${server.name} of ${service} (${differences.join("; ")}). Traefik drops a router whose servers disagree, so every server of a service carries the same routing labels: deploy under a new service name, or retire the old servers first.`
    );
  }
}

// src/http/get.ts
var import_node_http = __toESM(require_node_http(), 1);
var import_node_https = __toESM(require_node_https(), 1);
var AnswerTooLarge = class extends Error {
  constructor(limitBytes) {
    super(`the answer is larger than ${formatBytes2(limitBytes)}`);
    this.limitBytes = limitBytes;
  }
  limitBytes;
};
function formatBytes2(bytes) {
  return bytes % (1024 * 1024) === 0 ? `${bytes / 1024 / 1024} MiB` : `${bytes} bytes`;
}
function getText(url, options) {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const client = target.protocol === "https:" ? import_node_https.default : target.protocol === "http:" ? import_node_http.default : void 0;
    if (!client) {
      reject(new Error(`${target.protocol} is not http: or https:`));
      return;
    }
    const request = client.get(target, { agent: false }, (response) => {
      const chunks = [];
      let size = 0;
      response.on("data", (chunk) => {
        size += chunk.length;
        if (size > options.maxBytes) request.destroy(new AnswerTooLarge(options.maxBytes));
        else chunks.push(chunk);
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      response.on("error", reject);
    });
    const timer = setTimeout(() => request.destroy(new Error(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
    request.on("error", reject);
    request.on("close", () => clearTimeout(timer));
  });
}

// src/traefik/api.ts
var MAX_API_ANSWER_BYTES = 1024 * 1024;
var CONFIRM_POLL_MS = 50;
var TraefikApi = class {
  constructor(baseUrl, provider = "docker") {
    this.baseUrl = baseUrl;
    this.provider = provider;
  }
  baseUrl;
  provider;
  /** `GET <path>`: its status, and its JSON (undefined when the body is not JSON). */
  async get(path, timeoutMs = 5e3) {
    let answer;
    try {
      answer = await getText(`${this.baseUrl}${path}`, { timeoutMs, maxBytes: MAX_API_ANSWER_BYTES });
    } catch (error) {
      if (error instanceof AnswerTooLarge) throw new ResourceError(`Traefik API at ${this.baseUrl}`, `GET ${decodeURIComponent(path)} answered more than ${MAX_API_ANSWER_BYTES / 1024 / 1024} MiB, far more than it should; not read further`);
      throw new ResourceError(`Traefik API at ${this.baseUrl}`, `not reachable (${error instanceof Error ? error.message : String(error)})`);
    }
    let json;
    try {
      json = JSON.parse(answer.body);
    } catch {
      json = void 0;
    }
    return { status: answer.status, ok: answer.status >= 200 && answer.status < 300, json };
  }
  /** Throws a ResourceError unless the API answers `GET /api/version`. */
  async check() {
    const response = await this.get("/api/version");
    if (!response.ok) throw new ResourceError(`Traefik API at ${this.baseUrl}`, `GET /api/version answered ${response.status}`);
    const body = response.json ?? {};
    return body.Version ?? "unknown";
  }
  /** The service's load balancer, or undefined when Traefik has no such service (404). */
  async service(name) {
    const response = await this.get(`/api/http/services/${encodeURIComponent(`${name}@${this.provider}`)}`);
    if (response.status === 404) return void 0;
    const path = `/api/http/services/${name}@${this.provider}`;
    if (!response.ok) throw new ResourceError(`Traefik API at ${this.baseUrl}`, `GET ${path} answered ${response.status}`);
    const body = response.json;
    if (body === void 0 || body === null || typeof body !== "object") throw new ResourceError(`Traefik API at ${this.baseUrl}`, `GET ${path} answered something that is not a JSON object`);
    const service = body;
    return {
      servers: (service.loadBalancer?.servers ?? []).map((server) => server.url ?? "").filter(Boolean),
      serverStatus: service.serverStatus ?? {}
    };
  }
  /** The providers Traefik runs (`GET /api/overview`: `providers: ["Docker", "File"]`). */
  async providers() {
    const response = await this.get("/api/overview");
    if (!response.ok) throw new ResourceError(`Traefik API at ${this.baseUrl}`, `GET /api/overview answered ${response.status}`);
    const body = response.json ?? {};
    return Array.isArray(body.providers) ? body.providers.map(String) : [];
  }
  /** A weighted service's children as Traefik applied them (`name@file`), or undefined when it has none. */
  async weighted(fullName) {
    const response = await this.get(`/api/http/services/${encodeURIComponent(fullName)}`);
    if (response.status === 404) return void 0;
    if (!response.ok) throw new ResourceError(`Traefik API at ${this.baseUrl}`, `GET /api/http/services/${fullName} answered ${response.status}`);
    const body = response.json ?? {};
    return body.weighted?.services?.map((entry) => ({ name: String(entry.name ?? ""), weight: entry.weight ?? 1 }));
  }
  /** Wait until the weighted service lists exactly `wanted` (name → weight). Returns false at the deadline. */
  async waitForWeights(fullName, wanted, timeoutMs, intervalMs = CONFIRM_POLL_MS) {
    const key = (list) => list.map((entry) => `${entry.name}=${entry.weight}`).sort().join(",");
    return poll(timeoutMs, intervalMs, async () => {
      const found = await this.weighted(fullName);
      return Boolean(found && key(found) === key(wanted));
    });
  }
  /** Wait until every URL is listed and UP. Returns false at the deadline. */
  async waitForUp(service, urls, timeoutMs, intervalMs = CONFIRM_POLL_MS) {
    return poll(timeoutMs, intervalMs, async () => {
      const found = await this.service(service);
      return Boolean(found && urls.every((url) => found.servers.includes(url) && (found.serverStatus[url] ?? "UP") === "UP"));
    });
  }
  /** Wait until the URL is no longer listed (or the service is gone). Returns false at the deadline. */
  async waitForGone(service, url, timeoutMs, intervalMs = 200) {
    return poll(timeoutMs, intervalMs, async () => {
      const found = await this.service(service);
      return !found || !found.servers.includes(url);
    });
  }
};
async function poll(timeoutMs, intervalMs, check) {
  const deadline = Date.now() + timeoutMs;
  for (; ; ) {
    if (await check().catch(() => false)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
}

// src/engine/log-tail.ts
var MAX_LOG_TAIL_BYTES = 64 * 1024;
var LOG_READ_TIMEOUT_MS = 15e3;
var LogTail = class {
  constructor(max = MAX_LOG_TAIL_BYTES) {
    this.max = max;
  }
  max;
  framed;
  header = Buffer.alloc(0);
  remaining = 0;
  kept = [];
  keptBytes = 0;
  total = 0;
  push(chunk) {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.framed === false) {
        this.keep(chunk.subarray(offset));
        return this;
      }
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - offset);
        this.keep(chunk.subarray(offset, offset + take));
        this.remaining -= take;
        offset += take;
        continue;
      }
      const need = 8 - this.header.length;
      this.header = Buffer.concat([this.header, chunk.subarray(offset, offset + need)]);
      offset += Math.min(need, chunk.length - offset);
      if (this.header.length < 8) return this;
      const header = this.header;
      this.header = Buffer.alloc(0);
      if (this.framed === void 0) this.framed = isFrameHeader(header);
      if (!this.framed) {
        this.keep(header);
        continue;
      }
      this.remaining = header.readUInt32BE(4);
    }
    return this;
  }
  /** The text kept, with a note of how much came before it when something was cut. */
  text() {
    if (this.framed === void 0 && this.header.length > 0) {
      this.framed = false;
      this.keep(this.header);
      this.header = Buffer.alloc(0);
    }
    const all = Buffer.concat(this.kept);
    if (this.total <= this.max) return all.toString("utf8");
    const kept = all.subarray(all.length - this.max).toString("utf8").replace(/^\uFFFD+/, "");
    return `(${formatBytes(this.total - Buffer.byteLength(kept))} of earlier output cut)
${kept}`;
  }
  keep(bytes) {
    if (bytes.length === 0) return;
    this.kept.push(bytes);
    this.keptBytes += bytes.length;
    this.total += bytes.length;
    while (this.kept.length > 1 && this.keptBytes - this.kept[0].length >= this.max) this.keptBytes -= this.kept.shift().length;
    if (this.kept.length === 1 && this.keptBytes > this.max) {
      this.kept[0] = Buffer.from(this.kept[0].subarray(this.keptBytes - this.max));
      this.keptBytes = this.max;
    }
  }
};
var isFrameHeader = (header) => (header[0] === 0 || header[0] === 1 || header[0] === 2) && header[1] === 0 && header[2] === 0 && header[3] === 0;
async function readLogTail(docker, kind, id, lines) {
  const stream = await new Promise((resolve, reject) => {
    docker.modem.dial(
      {
        path: `/${kind}/${encodeURIComponent(id)}/logs?`,
        method: "GET",
        isStream: true,
        statusCodes: { 200: true, 404: `no such ${kind === "tasks" ? "task" : "container"}`, 500: "server error", 503: "node is not part of a swarm" },
        options: { stdout: true, stderr: true, follow: false, ...lines !== void 0 ? { tail: lines } : {} }
      },
      (error, answer) => error ? reject(error instanceof Error ? error : new Error(errorMessage(error))) : resolve(answer)
    );
  });
  const tail = new LogTail();
  const timer = setTimeout(() => stream.destroy(), LOG_READ_TIMEOUT_MS);
  try {
    for await (const chunk of stream) tail.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  } catch {
  } finally {
    clearTimeout(timer);
  }
  return tail.text();
}

// src/engine/containers.ts
var HEALTH_TIMEOUT_MS = 1e4;
var HEALTH_RETRIES = 3;
var STOP_TIMEOUT_S = 30;
var ms = (milliseconds) => Math.round(milliseconds * 1e6);
function serverHealthcheck(spec, imageHasOne) {
  if (!spec.healthCmd && !imageHasOne) return {};
  return {
    Healthcheck: {
      ...spec.healthCmd ? { Test: spec.healthCmd } : {},
      Interval: ms(spec.healthIntervalMs),
      Timeout: ms(HEALTH_TIMEOUT_MS),
      Retries: HEALTH_RETRIES,
      StartPeriod: ms(spec.healthTimeoutMs)
    }
  };
}
function httpHealthCheck(spec) {
  if (spec.engine !== "docker" || spec.routingChoice.mode !== "file" || !spec.options.healthPath || spec.healthCmd) return void 0;
  return { path: spec.options.healthPath, intervalMs: spec.healthIntervalMs, timeoutMs: HEALTH_TIMEOUT_MS };
}
function serverEnvironment(spec, digest) {
  const env = new Map([["TRAIN_TO_SERVE_IMAGE_DIGEST", digest], ...spec.provenance.gitSha ? [["TRAIN_TO_SERVE_GIT_SHA", spec.provenance.gitSha]] : [], ...spec.env]);
  return [...env].map(([key, value]) => `${key}=${value}`);
}
function healthFromStatus(status) {
  if (!status) return "none";
  if (status.includes("(healthy)")) return "healthy";
  if (status.includes("(unhealthy)")) return "unhealthy";
  if (status.includes("(health: starting)")) return "starting";
  return "none";
}
function serverFromListing(container) {
  const labels = container.Labels ?? {};
  const parsed = parseServerLabels(labels);
  const name = (container.Names?.[0] ?? container.Id).replace(/^\//, "");
  const ip = parsed.network ? container.NetworkSettings?.Networks?.[parsed.network]?.IPAddress : void 0;
  return {
    id: container.Id,
    name,
    service: parsed.service ?? "",
    digest: parsed.digest ?? "",
    image: parsed.image ?? container.Image,
    imageId: container.ImageID,
    deployedAt: parsed.deployedAt ?? new Date(container.Created * 1e3),
    expiresAt: parsed.expiresAt,
    state: container.State,
    health: healthFromStatus(container.Status),
    url: ip && parsed.port ? `http://${ip}:${parsed.port}` : void 0,
    drainSignal: parsed.drainSignal ?? "SIGUSR2",
    labels
  };
}
async function listManagedContainers(docker, service) {
  const label = [`${LABELS.managed}=true`, ...service ? [`${LABELS.service}=${service}`] : []];
  const containers = await docker.listContainers({ all: true, filters: { label } });
  return containers.map(serverFromListing);
}
async function lastLogLines(docker, id, lines = 50) {
  try {
    return (await readLogTail(docker, "containers", id, lines)).trimEnd();
  } catch (error) {
    return `(logs unavailable: ${errorMessage(error)})`;
  }
}
async function removeContainer(docker, id) {
  await docker.getContainer(id).remove({ force: true, v: true }).catch((error) => {
    const status = error.statusCode;
    if (status !== 404 && status !== 409) throw error;
  });
}

// src/engine/server-metrics.ts
var REQUEST_COUNTERS = ["model_server_predict_requests_total", "http_requests_total"];
var IN_FLIGHT_GAUGES = ["model_server_predict_in_flight", "http_requests_in_flight"];
function sumOfMetric(text, names) {
  const sums = /* @__PURE__ */ new Map();
  for (const line of text.split("\n")) {
    const declared = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) /.exec(line);
    if (declared && names.includes(declared[1])) {
      if (!sums.has(declared[1])) sums.set(declared[1], 0);
      continue;
    }
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (!match || !names.includes(match[1])) continue;
    const value = Number(match[3]);
    if (Number.isFinite(value)) sums.set(match[1], (sums.get(match[1]) ?? 0) + value);
  }
  for (const name of names) if (sums.has(name)) return sums.get(name);
  return void 0;
}
function metricsUrl(serverUrl, source = {}) {
  const url = new URL(serverUrl);
  if (source.port !== void 0) url.port = String(source.port);
  return `${url.origin}${source.path ?? "/metrics"}`;
}
async function readRequestCount(serverUrl, timeoutMs = 2e3, source = {}) {
  if (!serverUrl) return { readable: false, problem: "the server has no address on its network" };
  const url = metricsUrl(serverUrl, source);
  let text;
  try {
    const response = await getText(url, { timeoutMs, maxBytes: MAX_METRICS_ANSWER_BYTES });
    text = response.body;
    if (response.status !== 200) return { readable: false, problem: `GET ${url} answered ${response.status}` };
  } catch (error) {
    const reason = error instanceof AnswerTooLarge ? `${error.message}, more than any metrics page; not read further` : errorMessage(error);
    return { readable: false, problem: `GET ${url} failed (${reason})` };
  }
  const counters = source.requestMetric ? [source.requestMetric] : REQUEST_COUNTERS;
  const requests = sumOfMetric(text, counters);
  if (requests === void 0) return { readable: false, problem: `${url} has no request counter (${counters.join(" or ")})` };
  return { readable: true, requests, inFlight: sumOfMetric(text, IN_FLIGHT_GAUGES) };
}
var MAX_METRICS_ANSWER_BYTES = 4 * 1024 * 1024;

// src/serving/drain-report.ts
function removalReporter(server) {
  const started = Date.now();
  return (outcome, warning) => ({
    id: server.id,
    name: server.name,
    service: server.service,
    digest: server.digest,
    outcome,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    ...warning ? { warning } : {}
  });
}
function warnUndrainable(reports, log) {
  const names = reports.filter((report) => report.outcome === "no-health-check").map((report) => report.name);
  if (names.length === 0) return;
  const shown = names.length > 5 ? `${names.slice(0, 5).join(", ")} and ${names.length - 5} more` : names.join(", ");
  log.warning(`${names.length} server(s) had no health check, so Traefik kept routing to them until they stopped (${shown}): give the image a HEALTHCHECK, or deploy with health-cmd, to drain without dropping requests`);
}

// src/engine/watch.ts
var ContainerWatch = class _ContainerWatch {
  constructor(docker, ids) {
    this.docker = docker;
    this.ids = ids;
  }
  docker;
  ids;
  statuses = /* @__PURE__ */ new Map();
  listeners = /* @__PURE__ */ new Set();
  abort = new AbortController();
  pollTimer;
  closed = false;
  static async open(docker, ids) {
    if (ids.length === 0) throw new Error("ContainerWatch needs at least one container");
    const watch = new _ContainerWatch(docker, ids);
    const stream = await docker.getEvents({
      filters: { type: ["container"], container: ids, event: ["start", "die", "health_status", "destroy"] },
      abortSignal: watch.abort.signal
    });
    let buffer = "";
    stream.on("data", (chunk) => {
      buffer += chunk.toString();
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line) watch.onEvent(JSON.parse(line));
      }
    });
    stream.on("error", () => {
    });
    await Promise.all(ids.map((id) => watch.refresh(id)));
    watch.pollTimer = setInterval(() => void Promise.all(ids.map((id) => watch.refresh(id))), 1e3);
    return watch;
  }
  update(id, change) {
    const current = this.statuses.get(id) ?? { exists: true, state: "created", health: "none", died: false };
    this.statuses.set(id, { ...current, ...change });
    for (const listener of this.listeners) listener();
  }
  onEvent(event) {
    const id = event.Actor?.ID ?? event.id;
    const action = event.Action ?? "";
    if (!id || !this.ids.includes(id)) return;
    if (action === "start") this.update(id, { state: "running" });
    else if (action === "die") this.update(id, { state: "exited", died: true, exitCode: Number(event.Actor?.Attributes?.exitCode ?? NaN) });
    else if (action === "destroy") this.update(id, { exists: false, state: "removed" });
    else if (action.startsWith("health_status")) {
      const health = action.slice(action.indexOf(":") + 1).trim();
      if (health === "healthy" || health === "unhealthy" || health === "starting") this.update(id, { health });
    }
  }
  /** Re-read a container's state from the engine (the safety net, and the first look). */
  async refresh(id) {
    if (this.closed) return;
    try {
      const info = await this.docker.getContainer(id).inspect();
      const log = info.State.Health?.Log ?? [];
      const last = log[log.length - 1];
      const health = info.State.Health?.Status || "none";
      const previous = this.statuses.get(id);
      this.update(id, {
        exists: true,
        state: info.State.Status,
        health,
        died: (previous?.died ?? false) || info.State.Status === "exited" || info.State.Status === "dead" || info.RestartCount > 0,
        exitCode: info.State.Status === "running" ? previous?.exitCode : info.State.ExitCode,
        lastProbe: last ? `exit ${last.ExitCode}: ${last.Output.trim().slice(0, 300)}` : void 0
      });
    } catch (error) {
      if (error.statusCode === 404) this.update(id, { exists: false, state: "removed" });
    }
  }
  status(id) {
    return this.statuses.get(id) ?? { exists: true, state: "created", health: "none", died: false };
  }
  /**
   * Resolve with the first non-undefined answer of `check` over the container's status, or with
   * `onTimeout()` after `timeoutMs`.
   */
  until(id, check, timeoutMs, onTimeout) {
    return new Promise((resolve) => {
      const finish = (value) => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(value);
      };
      const listener = () => {
        const answer = check(this.status(id));
        if (answer !== void 0) finish(answer);
      };
      const timer = setTimeout(() => finish(onTimeout(this.status(id))), timeoutMs);
      this.listeners.add(listener);
      listener();
    });
  }
  close() {
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.listeners.clear();
    this.abort.abort();
  }
};

// src/engine/drain.ts
var TRAEFIK_SETTLE_MS = 3e3;
var Vanished = class extends Error {
};
async function engineCall(call, tolerate = []) {
  try {
    return await call();
  } catch (error) {
    const status = statusOf(error);
    if (status === 404) throw new Vanished();
    if (status !== void 0 && tolerate.includes(status)) return void 0;
    throw new Error(engineMessage(error));
  }
}
async function drainContainer(docker, server, options) {
  const started = Date.now();
  const report = removalReporter(server);
  const container = docker.getContainer(server.id);
  let watch;
  try {
    let outcome;
    let warning;
    if (server.state !== "running") {
      outcome = "not-running";
    } else if (options.withdrawn) {
      outcome = "withdrawn";
    } else if (server.health === "starting" || server.health === "unhealthy") {
      outcome = "not-serving";
    } else if (server.health === "none") {
      outcome = "no-health-check";
      warning = `${server.name} has no health check: Traefik routed to it until it stopped`;
    } else {
      watch = await ContainerWatch.open(docker, [server.id]);
      if (!watch.status(server.id).exists) throw new Vanished();
      await engineCall(() => container.kill({ signal: server.drainSignal }), [409]);
      const flipped = await watch.until(
        server.id,
        (status) => !status.exists ? "gone" : status.health === "unhealthy" ? "unhealthy" : status.died || status.state !== "running" ? "exited" : void 0,
        options.drainTimeoutMs,
        () => "timeout"
      );
      if (flipped === "gone") throw new Vanished();
      if (flipped === "timeout") {
        outcome = "ignored-signal";
        warning = `${server.name} still reported healthy ${formatDuration(options.drainTimeoutMs)} after ${server.drainSignal}; stopped it anyway`;
      } else if (flipped === "exited") {
        outcome = "ignored-signal";
        warning = `${server.name} exited on ${server.drainSignal} instead of draining`;
      } else {
        outcome = "drained";
        if (options.traefikApi && server.url) {
          const gone = await new TraefikApi(options.traefikApi).waitForGone(server.service, server.url, options.drainTimeoutMs);
          if (!gone) warning = `Traefik still listed ${server.url} for ${server.service} ${formatDuration(options.drainTimeoutMs)} after it turned unhealthy; stopped it anyway`;
        } else {
          await new Promise((resolve) => setTimeout(resolve, TRAEFIK_SETTLE_MS));
        }
        await waitForIdle(server, Math.max(1e3, started + options.drainTimeoutMs * 2 - Date.now()));
      }
    }
    watch?.close();
    await engineCall(() => container.stop(), [304]);
    await engineCall(() => container.remove({ v: true }));
    return report(outcome, warning);
  } catch (error) {
    if (error instanceof Vanished) return report("vanished");
    throw error;
  } finally {
    watch?.close();
  }
}
async function waitForIdle(server, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  const source = parseServerLabels(server.labels).metrics;
  for (; ; ) {
    const count = await readRequestCount(server.url, 1e3, source);
    if (!count.readable || !count.inFlight) return;
    if (Date.now() >= deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// src/engine/lock.ts
var import_node_fs = __toESM(require_node_fs(), 1);
var import_node_os = __toESM(require_node_os(), 1);
var HOLDER_LABEL = `${LABELS.lock}.holder`;
function readProc(path) {
  try {
    return (0, import_node_fs.readFileSync)(path, "utf8");
  } catch {
    return void 0;
  }
}
function pidNamespace() {
  try {
    return (0, import_node_fs.readlinkSync)("/proc/self/ns/pid");
  } catch {
    return void 0;
  }
}
function processStart(pid) {
  const stat2 = readProc(`/proc/${pid}/stat`);
  if (!stat2) return void 0;
  const fields = stat2.slice(stat2.lastIndexOf(")") + 2).split(" ");
  return fields[19];
}
function currentHolder(leaseMs, purpose, runUrl, now = /* @__PURE__ */ new Date()) {
  return {
    host: (0, import_node_os.hostname)(),
    bootId: readProc("/proc/sys/kernel/random/boot_id")?.trim(),
    pid: process.pid,
    pidNamespace: pidNamespace(),
    pidStart: processStart(process.pid),
    acquiredAt: now.toISOString(),
    leaseUntil: new Date(now.getTime() + leaseMs).toISOString(),
    runUrl,
    purpose
  };
}
function staleReason(holder, now, local = {
  host: (0, import_node_os.hostname)(),
  bootId: readProc("/proc/sys/kernel/random/boot_id")?.trim(),
  pidNamespace: pidNamespace(),
  processStart
}) {
  if (!holder) return "it records no holder";
  const lease = new Date(holder.leaseUntil);
  if (Number.isNaN(lease.getTime()) || lease.getTime() <= now.getTime()) return `its lease ended at ${holder.leaseUntil}`;
  const samePidSpace = holder.host === local.host && Boolean(holder.bootId) && holder.bootId === local.bootId && Boolean(holder.pidNamespace) && holder.pidNamespace === local.pidNamespace;
  if (samePidSpace && holder.pidStart) {
    const start = local.processStart(holder.pid);
    if (start !== holder.pidStart) return `its holder (pid ${holder.pid} on ${holder.host}) is gone`;
  }
  return void 0;
}
function parseHolder(text) {
  try {
    return JSON.parse(text ?? "");
  } catch {
    return void 0;
  }
}
function containerLockStore(docker, service, image) {
  const name = lockContainerName(service);
  return {
    description: `container ${name}`,
    async create(holder) {
      try {
        const container = await docker.createContainer({
          name,
          Image: image,
          Entrypoint: ["/train-to-serve-lock"],
          Cmd: [],
          Labels: { [LABELS.lock]: service, [HOLDER_LABEL]: JSON.stringify(holder) },
          NetworkDisabled: true,
          HostConfig: { NetworkMode: "none" }
        });
        return container.id;
      } catch (error) {
        if (statusOf(error) === 409) return void 0;
        throw error;
      }
    },
    async read() {
      try {
        const info = await docker.getContainer(name).inspect();
        return { id: info.Id, holder: parseHolder(info.Config.Labels?.[HOLDER_LABEL]) };
      } catch (error) {
        if (statusOf(error) === 404) return void 0;
        throw error;
      }
    },
    async remove(id) {
      await docker.getContainer(id).remove({ force: true }).catch((error) => {
        if (statusOf(error) !== 404) throw error;
      });
    }
  };
}
function acquireLock(docker, service, options) {
  return acquireStoreLock(containerLockStore(docker, service, options.image), service, options);
}
async function acquireStoreLock(store, service, options) {
  const deadline = Date.now() + options.waitMs;
  let announced = false;
  for (; ; ) {
    const id = await store.create(currentHolder(options.leaseMs, options.purpose, options.runUrl));
    if (id) {
      return {
        service,
        id,
        stillHeld: async () => (await store.read().catch(() => void 0))?.id === id,
        release: () => store.remove(id)
      };
    }
    const current = await store.read();
    if (!current) continue;
    const stale = staleReason(current.holder, /* @__PURE__ */ new Date());
    if (stale) {
      options.log.warning(`Taking over the deploy lock of ${service}: ${stale}${current.holder?.runUrl ? ` (left by ${current.holder.runUrl})` : ""}`);
      await store.remove(current.id);
      continue;
    }
    const who = current.holder ? `${current.holder.purpose} (pid ${current.holder.pid} on ${current.holder.host}${current.holder.runUrl ? `, ${current.holder.runUrl}` : ""}) since ${current.holder.acquiredAt}` : "another run";
    if (options.waitMs === 0) return void 0;
    if (Date.now() >= deadline) {
      throw new ResourceError(`Service ${service}`, `another ${who} holds its deploy lock; waited ${formatDuration(options.waitMs)}. Two deploys of one service cannot interleave.`);
    }
    if (!announced) {
      options.log.info(`Waiting for ${who} to release the deploy lock of ${service} (${store.description})`);
      announced = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

// src/engine/pull.ts
async function pullImage(docker, image, credentials) {
  const reference = pullReference(image);
  const authconfig = credentials ? { username: credentials.username, password: credentials.password, serveraddress: image.registry } : void 0;
  const fail = (problem) => new ResourceError(`Image ${image.text}`, `pull failed: ${problem}`);
  let stream;
  try {
    stream = await docker.pull(reference, authconfig ? { authconfig } : {});
  } catch (error) {
    throw fail(engineMessage(error));
  }
  const errors = [];
  let layersFetched = false;
  await new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error) => error ? reject(fail(error.message)) : resolve(),
      (event) => {
        if (event.error || event.errorDetail?.message) errors.push(event.errorDetail?.message ?? event.error);
        if (event.status && FETCH_STATUSES.has(event.status)) layersFetched = true;
      }
    );
  });
  if (errors.length > 0) throw fail(errors.join("; "));
  return { layersFetched };
}
var FETCH_STATUSES = /* @__PURE__ */ new Set(["Pulling fs layer", "Downloading", "Download complete", "Pull complete"]);
async function resolveImage(docker, image) {
  let info;
  try {
    info = await docker.getImage(image.digest ? pullReference(image) : image.text).inspect();
  } catch (error) {
    if (error.statusCode === 404) return void 0;
    throw error;
  }
  const repository = engineRepositoryName(image);
  const repoDigest = image.digest ? `${repository}@${image.digest}` : (info.RepoDigests ?? []).find((entry) => entry.startsWith(`${repository}@`));
  const digest = repoDigest ? repoDigest.slice(repoDigest.indexOf("@") + 1) : info.Id;
  const config = info.Config;
  const healthcheck = config?.Healthcheck;
  return {
    id: info.Id,
    digest,
    reference: repoDigest ?? image.text,
    healthcheck: healthcheck?.Test?.length && healthcheck.Test[0] !== "NONE" ? healthcheck : void 0,
    entrypoint: config?.Entrypoint ?? void 0,
    cmd: config?.Cmd ?? void 0
  };
}
async function ensureImage(docker, image, credentials, log) {
  if (image.digest) {
    const present = await resolveImage(docker, image);
    if (present) return { ...present, pulled: false, layersFetched: false };
  }
  log?.info(`Pulling ${image.text}`);
  const { layersFetched } = await pullImage(docker, image, credentials);
  const pulled = await resolveImage(docker, image);
  if (!pulled) throw new ResourceError(`Image ${image.text}`, "the engine reported the pull done, but the image is not there");
  return { ...pulled, pulled: true, layersFetched };
}

// src/engine/prepared.ts
var PREPARED_REPOSITORY = "train-to-serve-prepared";
function preparedTag(service, digest) {
  return { repo: `${PREPARED_REPOSITORY}/${service}`, tag: digest.slice(digest.indexOf(":") + 1) };
}
async function prepareImage(docker, spec) {
  let image;
  try {
    image = await ensureImage(docker, spec.image, spec.credentials);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/manifest unknown|not found|does not exist|no such/i.test(message)) {
      throw new InputError("image", `the registry has no ${spec.image.digest ? `manifest ${spec.image.digest}` : "such tag"} for ${spec.image.text} (${message.replace(/\s+/g, " ")})`);
    }
    throw error;
  }
  if (spec.image.digest && image.digest !== spec.image.digest) {
    throw new ResourceError(`Image ${spec.image.text}`, `the engine holds digest ${image.digest}, not the one the reference names`);
  }
  const info = await docker.getImage(image.id).inspect();
  const engine = await docker.version();
  if (engine.Os && info.Os !== engine.Os || engine.Arch && info.Architecture !== engine.Arch) {
    throw new InputError("image", `${spec.image.text} is built for ${info.Os}/${info.Architecture}; the engine runs ${engine.Os}/${engine.Arch}`);
  }
  const { repo, tag } = preparedTag(spec.routing.service, image.digest);
  try {
    await docker.getImage(image.id).tag({ repo, tag });
  } catch (error) {
    throw new ResourceError(`Image ${spec.image.text}`, `could not mark it prepared as ${repo}:${tag}: ${engineMessage(error)}`);
  }
  return { digest: image.digest, reference: image.reference, id: image.id, pulled: image.pulled, layersFetched: image.layersFetched, mark: `${repo}:${tag}` };
}
function lastTagged(info) {
  const text = info.Metadata?.LastTagTime;
  if (!text || text.startsWith("0001-")) return void 0;
  const time = new Date(text);
  return Number.isNaN(time.getTime()) ? void 0 : time;
}
var isPreparedTag = (reference, service) => reference.startsWith(service ? `${PREPARED_REPOSITORY}/${service}:` : `${PREPARED_REPOSITORY}/`);
var serviceOfMark = (reference) => reference.slice(PREPARED_REPOSITORY.length + 1, reference.lastIndexOf(":"));
async function prunePrepared(docker, options, log) {
  const marked = await docker.listImages({ filters: { reference: [`${PREPARED_REPOSITORY}/*`] } });
  const services = options.service ? [options.service] : [...new Set(marked.flatMap((image) => (image.RepoTags ?? []).filter((ref) => isPreparedTag(ref)).map(serviceOfMark)))].sort();
  const pruned = [];
  for (const service of services) {
    const lock = await options.lock(service);
    if (!lock) {
      log.info(`Left the prepared images of ${service} for the next run: a deploy of the service holds its lock`);
      continue;
    }
    try {
      pruned.push(...await pruneServicePrepared(docker, service, options, log));
    } finally {
      await lock.release();
    }
  }
  return pruned;
}
async function pruneServicePrepared(docker, service, options, log) {
  const inUse = new Set((await docker.listContainers({ all: true })).map((container) => container.ImageID));
  const pruned = [];
  for (const image of await docker.listImages({ filters: { reference: [`${PREPARED_REPOSITORY}/*`] } })) {
    const marks = (image.RepoTags ?? []).filter((ref) => isPreparedTag(ref, service));
    if (marks.length === 0) continue;
    if (inUse.has(image.Id)) continue;
    const info = await docker.getImage(image.Id).inspect().catch(() => void 0);
    const tagged = info && lastTagged(info);
    if (!tagged) continue;
    const age2 = options.now.getTime() - tagged.getTime();
    if (age2 < options.keepMs) {
      log.info(`Kept prepared image ${marks[0]}: prepared ${formatDuration(Math.max(0, age2))} ago (keep-prepared ${formatDuration(options.keepMs)})`);
      continue;
    }
    const references = [...image.RepoTags ?? [], ...image.RepoDigests ?? []].filter((ref) => !ref.startsWith("<none>"));
    const others = (image.RepoTags ?? []).filter((ref) => !marks.includes(ref));
    try {
      for (const reference of marks) await docker.getImage(reference).remove();
      if (others.length === 0) await docker.getImage(image.Id).remove();
      pruned.push({ id: image.Id, references: others.length > 0 ? marks : [...marks, ...references.filter((ref) => !marks.includes(ref))] });
      log.info(`Removed prepared image ${marks.join(", ")} (no container uses it; prepared ${formatDuration(age2)} ago)${others.length > 0 ? `; the image stays as ${others[0]}` : ""}`);
    } catch (error) {
      log.info(`Kept prepared image ${marks[0]}: ${engineMessage(error)}`);
    }
  }
  return pruned;
}

// src/engine/server-runtime.ts
function containerRuntime(process2) {
  return {
    ...process2.command ? { Entrypoint: process2.command } : {},
    ...process2.args ? { Cmd: process2.args } : {},
    HostConfig: {
      ...process2.shmBytes !== void 0 ? { ShmSize: process2.shmBytes } : {},
      ...process2.memoryBytes !== void 0 ? { Memory: process2.memoryBytes } : {},
      ...process2.nanoCpus !== void 0 ? { NanoCpus: process2.nanoCpus } : {},
      ...process2.ulimits ? { Ulimits: process2.ulimits } : {}
    }
  };
}
var SHM_TARGET = "/dev/shm";
function taskRuntime(process2) {
  const container = containerRuntime(process2);
  const { ShmSize, Memory, NanoCpus, Ulimits } = container.HostConfig;
  const limited = Memory !== void 0 || NanoCpus !== void 0;
  return {
    containerSpec: {
      // Swarm's Command is the container's Entrypoint and Args its Cmd.
      ...container.Entrypoint ? { Command: container.Entrypoint } : {},
      ...container.Cmd ? { Args: container.Cmd } : {},
      ...Ulimits ? { Ulimits } : {},
      // The engine mounts its own /dev/shm only where the container has no mount there.
      ...ShmSize !== void 0 ? { Mounts: [{ Type: "tmpfs", Target: SHM_TARGET, TmpfsOptions: { SizeBytes: ShmSize } }] } : {}
    },
    ...limited ? { resources: { Limits: { ...NanoCpus !== void 0 ? { NanoCPUs: NanoCpus } : {}, ...Memory !== void 0 ? { MemoryBytes: Memory } : {} } } } : {}
  };
}
var RLIMIT_NUMBERS = ["cpu", "fsize", "data", "stack", "core", "rss", "nproc", "nofile", "memlock", "as", "locks", "sigpending", "msgqueue", "nice", "rtprio", "rttime"];
function ulimitRefusal(engineMessage2, ulimits, engine) {
  const match = /error setting rlimit type (\d+): operation not permitted/.exec(engineMessage2);
  if (!match || !ulimits) return void 0;
  const name = RLIMIT_NUMBERS[Number(match[1])];
  const asked = ulimits.find((ulimit) => ulimit.Name === name);
  if (!asked) return void 0;
  const value = (n) => n === -1 ? "unlimited" : String(n);
  return new InputError(
    "ulimits",
    `${engine} may not raise ${name} to ${value(asked.Soft)}${asked.Hard !== asked.Soft ? `:${value(asked.Hard)}` : ""}: the daemon's own hard limit is lower and it lacks the privilege to go above it (give at most the daemon's limit, or raise LimitMEMLOCK/LimitNOFILE in its service unit)`
  );
}

// src/serving/readiness.ts
var import_node_http2 = __toESM(require_node_http(), 1);
var PROBE_INTERVAL_MS = 50;
var PROBE_TIMEOUT_MS = 1e4;
function probeOnce(url, timeoutMs = PROBE_TIMEOUT_MS) {
  return new Promise((resolve) => {
    const request = (0, import_node_http2.get)(url, { agent: false, timeout: timeoutMs }, (response) => {
      response.resume();
      resolve({ status: response.statusCode ?? 0 });
    });
    request.on("timeout", () => request.destroy(new Error(`no answer within ${formatDuration(timeoutMs)}`)));
    request.on("error", (error) => resolve({ error: error.message }));
  });
}
async function waitReady(serverUrl, path, timeoutMs, gone = () => void 0) {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  for (; ; ) {
    const answer = await probeOnce(`${serverUrl}${path}`, Math.max(1e3, Math.min(PROBE_TIMEOUT_MS, deadline - Date.now())));
    if ("status" in answer && answer.status >= 200 && answer.status < 300) return void 0;
    last = "status" in answer ? `answered ${answer.status}` : answer.error;
    const ended = gone();
    if (ended) return ended;
    if (Date.now() >= deadline) return `GET ${serverUrl}${path} did not answer 2xx within ${formatDuration(timeoutMs)} (last: ${last})`;
    await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
  }
}

// src/engine/docker-engine.ts
var NO_HEALTHCHECK_STEADY_MS = 2e3;
var DockerEngine = class _DockerEngine {
  constructor(engine) {
    this.engine = engine;
    this.docker = engine.docker;
    this.endpoint = engine.endpoint;
  }
  engine;
  kind = "docker";
  unit = "server";
  /** Started servers' event watches, opened before their start and handed to waitServing. */
  watches = /* @__PURE__ */ new Map();
  endpoint;
  docker;
  static async connect(dockerHost) {
    return new _DockerEngine(await connectEngine(dockerHost));
  }
  async close() {
  }
  async checkDeploy(spec) {
    const { network, service } = spec.routing;
    const networkCheck = this.docker.getNetwork(network).inspect().catch((error) => {
      if (statusOf(error) === 404) throw new InputError("network", `no Docker network ${quote(network)} on the engine at ${this.endpoint} (create it, or name the network Traefik watches)`);
      throw new ResourceError(`Docker Engine at ${this.endpoint}`, engineMessage(error));
    });
    await checkAll([
      networkCheck,
      spec.traefikApi ? new TraefikApi(spec.traefikApi).check() : void 0,
      this.checkCpus(spec),
      // File routing gives every version labels of its own: nothing to conflict.
      spec.routingChoice.mode === "labels" ? listManagedContainers(this.docker, service).then((servers) => checkRoutingAgainst(servers, routingLabels(spec.routing), service)) : void 0
    ]);
  }
  /** The engine refuses a CPU limit above the host's CPUs only when it creates the container: say so first. */
  async checkCpus(spec) {
    const nanoCpus = spec.process.nanoCpus;
    if (nanoCpus === void 0) return;
    const { NCPU } = await this.docker.info();
    if (NCPU && nanoCpus > NCPU * 1e9) throw new InputError("cpus", `the Docker Engine at ${this.endpoint} has ${NCPU} CPUs, fewer than the ${nanoCpus / 1e9} asked for`);
  }
  /** Fail clearly when the engine cannot give containers GPUs, before any server exists. */
  async checkGpus(spec, image) {
    if (!spec.gpus) return;
    const info = await this.docker.info();
    if (info.Runtimes && "nvidia" in info.Runtimes) return;
    const probe = await this.docker.createContainer({
      name: `train-to-serve-gpu-probe-${spec.routing.service}-${Date.now().toString(36)}`,
      Image: image.id,
      Entrypoint: ["/train-to-serve-gpu-probe"],
      Cmd: [],
      Healthcheck: { Test: ["NONE"] },
      HostConfig: { NetworkMode: "none", DeviceRequests: deviceRequests(spec.gpus) }
    });
    try {
      await probe.start();
    } catch (error) {
      const message = engineMessage(error);
      if (/device driver|nvidia|gpu/i.test(message)) {
        throw new ResourceError(`Docker Engine at ${this.endpoint}`, `has no GPU runtime, so gpus (${describeGpus(spec.gpus)}) cannot be given to the servers: install the NVIDIA Container Toolkit on the host (engine said: ${message})`);
      }
    } finally {
      await removeContainer(this.docker, probe.id);
    }
  }
  async pullImage(spec, log) {
    const image = await ensureImage(this.docker, spec.image, spec.credentials, log);
    await this.checkGpus(spec, image);
    return deployImage(image);
  }
  prepareImage(spec) {
    return prepareImage(this.docker, spec);
  }
  prunePrepared(options, log) {
    return prunePrepared(this.docker, options, log);
  }
  async lockDeploy(spec, image, log) {
    const { service } = spec.routing;
    const leaseMs = 2 * spec.healthTimeoutMs + 3 * spec.drainTimeoutMs + STOP_TIMEOUT_S * 1e3 + 12e4 + rolloutDurationMs(spec.progressive);
    const lockOptions = { leaseMs, waitMs: leaseMs, purpose: `deploy of ${service}`, runUrl: spec.provenance.runUrl, log };
    try {
      return await acquireLock(this.docker, service, { ...lockOptions, image: image.id });
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
      const again = await ensureImage(this.docker, spec.image, spec.credentials);
      return await acquireLock(this.docker, service, { ...lockOptions, image: again.id });
    }
  }
  async removeServer(server) {
    await removeContainer(this.docker, server.id);
  }
  async startServers(spec, image, count, log) {
    const { service, network } = spec.routing;
    const httpHealth = httpHealthCheck(spec);
    const labels = serverLabels(spec.routing, deployedServerIdentity(spec, image.digest, /* @__PURE__ */ new Date()), "docker", spec.routingChoice.mode, httpHealth);
    const started = { ids: [], names: [] };
    try {
      for (let i = 0; i < count; i++) {
        const name = serverContainerName(service, image.digest);
        const { HostConfig: limits, ...argv } = containerRuntime(spec.process);
        const container = await this.docker.createContainer({
          name,
          Image: image.reference.includes("@") ? image.reference : image.id,
          Env: serverEnvironment(spec, image.digest),
          Labels: labels,
          ...argv,
          ...httpHealth ? { Healthcheck: { Test: ["NONE"] } } : serverHealthcheck(spec, image.healthcheck),
          StopTimeout: STOP_TIMEOUT_S,
          HostConfig: {
            ...limits,
            NetworkMode: network,
            RestartPolicy: { Name: "unless-stopped", MaximumRetryCount: 0 },
            ...spec.gpus ? { DeviceRequests: deviceRequests(spec.gpus) } : {}
          },
          NetworkingConfig: { EndpointsConfig: { [network]: {} } }
        });
        started.ids.push(container.id);
        started.names.push(name);
      }
      this.watches.set(started, await ContainerWatch.open(this.docker, started.ids));
      for (const id of started.ids) await this.docker.getContainer(id).start();
    } catch (error) {
      this.watches.get(started)?.close();
      await Promise.all(started.ids.map((id) => removeContainer(this.docker, id)));
      throw ulimitRefusal(engineMessage(error), spec.process.ulimits, `the Docker Engine at ${this.endpoint}`) ?? error;
    }
    const awaited = httpHealth ? `GET ${httpHealth.path} to answer 2xx` : spec.healthCmd || image.healthcheck ? "healthy" : "running";
    log.info(`Started ${started.names.join(", ")}; waiting up to ${formatDuration(spec.healthTimeoutMs)} for ${awaited}`);
    return started;
  }
  async waitServing(spec, image, started) {
    const watch = this.watches.get(started) ?? await ContainerWatch.open(this.docker, started.ids);
    this.watches.delete(started);
    const httpHealth = httpHealthCheck(spec);
    const admit = httpHealth ? (id, deadline) => this.answers(watch, id, spec, httpHealth.path, deadline) : void 0;
    const failure = await waitUntilServing(watch, started, spec.healthTimeoutMs, !httpHealth && Boolean(spec.healthCmd ?? image.healthcheck), admit).finally(() => watch.close());
    if (failure) return { failure };
    const servers = [];
    for (const [i, id] of started.ids.entries()) {
      const info = await this.docker.getContainer(id).inspect();
      const ip = info.NetworkSettings.Networks[spec.routing.network]?.IPAddress;
      servers.push({ id, name: started.names[i], digest: image.digest, url: ip ? `http://${ip}:${spec.routing.port}` : void 0, reused: false });
    }
    return { servers };
  }
  /** A running server's first 2xx on `path`; a failure as soon as it exits or is removed. */
  async answers(watch, id, spec, path, deadline) {
    const info = await this.docker.getContainer(id).inspect();
    const ip = info.NetworkSettings.Networks[spec.routing.network]?.IPAddress;
    if (!ip) return { id, problem: `has no address on ${spec.routing.network}` };
    const problem = await waitReady(`http://${ip}:${spec.routing.port}`, path, Math.max(1e3, deadline - Date.now()), () => {
      const status = watch.status(id);
      if (!status.exists) return "was removed by someone else while starting";
      if (status.died) return `exited with code ${status.exitCode ?? "?"} before it answered GET ${path}`;
      return void 0;
    });
    return problem ? { id, problem: `was not ready: ${problem}` } : "ok";
  }
  async discardStarted(started, image, failure) {
    this.watches.get(started)?.close();
    this.watches.delete(started);
    const subject = Math.max(0, started.ids.indexOf(failure.id ?? ""));
    const name = started.names[subject];
    const logs = await lastLogLines(this.docker, started.ids[subject], 50);
    await Promise.all(started.ids.map((id) => removeContainer(this.docker, id)));
    return new DeployError(
      `New server ${name} (${image.reference}) ${failure.problem}. Removed the ${started.ids.length} new server${started.ids.length === 1 ? "" : "s"}; the older servers were not touched and keep serving.
Last 50 log lines of ${name}:
${logs || "(no output)"}`
    );
  }
  scaleVersion() {
    return Promise.reject(new Error("the Docker engine counts servers, not versions: nothing to scale"));
  }
  serversOf(reused) {
    return Promise.resolve(reused.map((server) => ({ id: server.id, name: server.name, digest: server.digest, url: server.url, reused: true })));
  }
  confirmRouted(spec, servers) {
    return confirmListed(spec, servers, "docker", `is Traefik watching network ${spec.routing.network}?`);
  }
  listServers(service) {
    return listManagedContainers(this.docker, service);
  }
  readRequests(server) {
    return readRequestCount(server.url, void 0, parseServerLabels(server.labels).metrics);
  }
  async tryLockService(service, log, leaseMs) {
    const servers = await listManagedContainers(this.docker, service);
    const image = servers.find((server) => server.imageId)?.imageId;
    if (!image) return { release: async () => {
    }, stillHeld: () => Promise.resolve(true) };
    return acquireLock(this.docker, service, { image, leaseMs, waitMs: 0, purpose: `retire of ${service}`, log });
  }
  async drainAndRemove(server, options, log) {
    const report = await drainContainer(this.docker, server, options);
    if (report.warning && report.outcome !== "no-health-check") log.warning(report.warning);
    log.info(`${report.outcome === "vanished" ? "Already gone" : "Removed"}: ${server.name} (${report.outcome}, ${report.seconds}s)`);
    return report;
  }
  /** `keepDigests`: manifest digests to keep even when no container here uses them (a Swarm service may run them here later). */
  async pruneImages(seen, retired, log, keepDigests = /* @__PURE__ */ new Set()) {
    const repositories = new Set(seen.map((server) => repositoryOf(server.image)));
    const retiredImages = new Set(retired.map((server) => server.imageId).filter(Boolean));
    const inUse = new Set((await this.docker.listContainers({ all: true })).map((container) => container.ImageID));
    const images = await this.docker.listImages({ all: false });
    const pruned = [];
    for (const image of images) {
      if (inUse.has(image.Id)) continue;
      if ((image.RepoDigests ?? []).some((ref) => keepDigests.has(ref.slice(ref.indexOf("@") + 1)))) continue;
      const references = [...image.RepoTags ?? [], ...image.RepoDigests ?? []].filter((ref) => !ref.startsWith("<none>"));
      if (references.some((ref) => ref.startsWith(`${PREPARED_REPOSITORY}/`))) continue;
      const ours = references.filter((ref) => repositories.has(repositoryOf(ref)));
      const untagged = references.length === 0 && retiredImages.has(image.Id);
      if (ours.length === 0 && !untagged) continue;
      try {
        for (const reference of ours) await this.docker.getImage(reference).remove().catch(ignore404);
        const others = references.filter((ref) => !ours.includes(ref));
        if (others.length === 0) await this.docker.getImage(image.Id).remove().catch(ignore404);
        pruned.push({ id: image.Id, references: ours });
        log.info(`Removed ${ours.length > 0 ? ours.join(", ") : image.Id} (no container uses it)${others.length > 0 ? `; the image stays as ${others[0]}` : ""}`);
      } catch (error) {
        log.info(`Kept image ${ours[0] ?? image.Id}: ${engineMessage(error)}`);
      }
    }
    return pruned;
  }
};
function repositoryOf(reference) {
  const at = reference.indexOf("@");
  if (at >= 0) return reference.slice(0, at);
  const colon = reference.lastIndexOf(":");
  return colon > reference.lastIndexOf("/") ? reference.slice(0, colon) : reference;
}
function ignore404(error) {
  if (statusOf(error) !== 404) throw error;
}
async function waitUntilServing(watch, started, timeoutMs, hasHealthCheck, admit) {
  const deadline = Date.now() + timeoutMs;
  const steadyAfter = admit ? 0 : Date.now() + NO_HEALTHCHECK_STEADY_MS;
  const outcomes = started.ids.map(async (id) => {
    const running = await watch.until(
      id,
      (status) => {
        if (!status.exists) return { id, problem: "was removed by someone else while starting" };
        if (status.died) return { id, problem: `exited with code ${status.exitCode ?? "?"} before it became ${hasHealthCheck ? "healthy" : "ready"}` };
        if (status.health === "unhealthy") return { id, problem: `reported unhealthy${status.lastProbe ? ` (last probe: ${status.lastProbe})` : ""}` };
        if (hasHealthCheck ? status.health === "healthy" : status.state === "running" && Date.now() >= steadyAfter) return "ok";
        return void 0;
      },
      timeoutMs,
      (status) => ({ id, problem: `was not ${hasHealthCheck ? "healthy" : "running"} within ${formatDuration(timeoutMs)} (health: ${status.health}${status.lastProbe ? `; last probe: ${status.lastProbe}` : ""})` })
    );
    return running === "ok" && admit ? admit(id, deadline) : running;
  });
  return new Promise((resolve) => {
    let pending = outcomes.length;
    for (const outcome of outcomes) {
      void outcome.then((result) => {
        if (result !== "ok") resolve(result);
        else if (--pending === 0) resolve(void 0);
      });
    }
  });
}
function deployImage(image) {
  return { digest: image.digest, reference: image.reference, id: image.id, healthcheck: Boolean(image.healthcheck), pulled: image.pulled, entrypoint: image.entrypoint, cmd: image.cmd };
}
async function confirmListed(spec, servers, provider, hint) {
  if (!spec.traefikApi) return void 0;
  const urls = servers.map((server) => server.url).filter((url) => Boolean(url));
  const name = spec.routingChoice.mode === "file" && servers[0] ? versionServiceName(spec.routing.service, servers[0].digest) : spec.routing.service;
  const listed = await new TraefikApi(spec.traefikApi, provider).waitForUp(name, urls, spec.healthTimeoutMs);
  if (listed) return void 0;
  return `Traefik (${spec.traefikApi}) did not list ${urls.join(", ")} UP for ${name}@${provider} within ${formatDuration(spec.healthTimeoutMs)} (${hint})`;
}

// src/engine/swarm-engine.ts
var import_node_os2 = __toESM(require_node_os(), 1);

// src/engine/swarm-spec.ts
var SWARM_ROUTING_SETTLE_MS = 2e4;
var SWARM_PROBE = { timeoutMs: 1e4, retries: 3 };
var RESTART_DELAY_MS = 5e3;
var UPDATE_MONITOR_MS = 1e4;
function stopGracePeriodMs(drainTimeoutMs) {
  return Math.max(drainTimeoutMs, SWARM_ROUTING_SETTLE_MS);
}
function versionServiceSpec(spec, image, deployedAt, networkId) {
  const { service } = spec.routing;
  const labels = serverLabels(spec.routing, deployedServerIdentity(spec, image.digest, deployedAt), "swarm", spec.routingChoice.mode);
  const updateOrder = { Parallelism: 1, Delay: 0, Monitor: ms(UPDATE_MONITOR_MS), MaxFailureRatio: 0, Order: "start-first" };
  const { Healthcheck } = serverHealthcheck(spec, Boolean(image.healthcheck));
  const runtime = taskRuntime(spec.process);
  return {
    Name: swarmServiceName(service, image.digest),
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: image.reference,
        ...runtime.containerSpec,
        Env: serverEnvironment(spec, image.digest),
        // File routing withdraws a version before it stops, so the stop is a plain SIGTERM.
        StopSignal: spec.routingChoice.mode === "file" ? "SIGTERM" : spec.drainSignal,
        StopGracePeriod: ms(stopGracePeriodMs(spec.drainTimeoutMs)),
        ...Healthcheck ? { Healthcheck: { ...Healthcheck, Timeout: ms(SWARM_PROBE.timeoutMs), Retries: SWARM_PROBE.retries } } : {}
      },
      ...runtime.resources ? { Resources: runtime.resources } : {},
      RestartPolicy: { Condition: "any", Delay: ms(RESTART_DELAY_MS), MaxAttempts: 0 },
      Networks: [{ Target: networkId }]
    },
    Mode: { Replicated: { Replicas: spec.replicas } },
    UpdateConfig: { ...updateOrder, FailureAction: "rollback" },
    RollbackConfig: { ...updateOrder, FailureAction: "pause" },
    EndpointSpec: { Mode: "vip" }
  };
}

// src/engine/swarm-state.ts
var IN_PROGRESS = ["new", "allocated", "pending", "assigned", "accepted", "preparing", "ready", "starting"];
var TASK_FAILURES = ["failed", "rejected", "orphaned", "complete"];
function isRunningTask(task) {
  return task.DesiredState === "running" && task.Status.State === "running";
}
function taskName(serviceName, task) {
  return task.Slot ? `${serviceName}.${task.Slot}` : `${serviceName}.${task.ID.slice(0, 12)}`;
}
function taskAddress(task, network) {
  const attachment = task.NetworksAttachments?.find((a) => a.Network.Spec?.Name === network || a.Network.ID === network);
  const address = attachment?.Addresses?.[0];
  return address ? address.split("/")[0] : void 0;
}
function taskUrl(task, network, port) {
  if (!network || !port) return void 0;
  const ip = taskAddress(task, network);
  if (!ip) return void 0;
  return `http://${ip.includes(":") ? `[${ip}]` : ip}:${port}`;
}
function newestTasks(tasks) {
  return [...tasks].sort((a, b) => Date.parse(b.Status.Timestamp ?? b.CreatedAt ?? "") - Date.parse(a.Status.Timestamp ?? a.CreatedAt ?? ""));
}
function stateOf(running, tasks, replicas) {
  if (running > 0) return "running";
  if (replicas === 0) return "scaled to 0";
  const latest = newestTasks(tasks)[0];
  if (!latest) return "no task";
  if (latest.DesiredState === "running" && IN_PROGRESS.includes(latest.Status.State)) return latest.Status.State === "starting" ? "starting" : "pending";
  return "no running task";
}
function versionFromService(service, allTasks) {
  const labels = service.Spec.Labels ?? {};
  const parsed = parseServerLabels(labels);
  const tasks = allTasks.filter((task) => task.ServiceID === service.ID);
  const running = tasks.filter(isRunningTask).sort((a, b) => (a.Slot ?? 0) - (b.Slot ?? 0));
  const replicas = service.Spec.Mode?.Replicated?.Replicas ?? (service.Spec.Mode?.Global ? running.length : 0);
  const withdrawn = Boolean(labels[LABELS.draining]) || labels["traefik.enable"] === "false";
  const health = withdrawn ? "unhealthy" : running.length > 0 ? "healthy" : "starting";
  const created = service.CreatedAt ? new Date(service.CreatedAt) : /* @__PURE__ */ new Date(0);
  const containerSpec = service.Spec.TaskTemplate.ContainerSpec;
  return {
    service,
    tasks,
    running,
    replicas,
    server: {
      id: service.ID,
      name: service.Spec.Name,
      service: parsed.service ?? "",
      digest: parsed.digest ?? "",
      image: parsed.image ?? containerSpec?.Image ?? "",
      deployedAt: parsed.deployedAt ?? created,
      expiresAt: parsed.expiresAt,
      state: stateOf(running.length, tasks, replicas),
      health,
      url: running.map((task) => taskUrl(task, parsed.network, parsed.port)).find(Boolean),
      drainSignal: parsed.drainSignal ?? "SIGUSR2",
      replicas,
      labels
    }
  };
}
function describeTask(serviceName, task) {
  const why = task.Status.Err || task.Status.Message || "";
  const exit = task.Status.ContainerStatus?.ExitCode;
  const exitText = exit !== void 0 && exit !== 0 && !why.includes(`(${exit})`) ? ` (exit code ${exit})` : "";
  return `${taskName(serviceName, task)} ${task.Status.State}${why ? `: ${why}` : ""}${exitText}`;
}
function assessRollout(serviceName, allTasks, replicas, earlier = /* @__PURE__ */ new Set()) {
  const tasks = allTasks.filter((task) => !earlier.has(task.ID) || isRunningTask(task));
  const failed = newestTasks(tasks).find((task) => TASK_FAILURES.includes(task.Status.State));
  if (failed) {
    const exit = failed.Status.ContainerStatus?.ExitCode;
    const problem = failed.Status.State === "complete" ? `exited with code ${exit ?? 0} instead of serving` : failed.Status.State === "rejected" ? `was rejected by Swarm: ${failed.Status.Err || failed.Status.Message || "no reason given"}` : `failed: ${failed.Status.Err || failed.Status.Message || "no reason given"}${exit !== void 0 && !(failed.Status.Err ?? "").includes(`(${exit})`) ? ` (exit code ${exit})` : ""}`;
    return { kind: "failed", task: failed, problem: `task ${taskName(serviceName, failed)} ${problem}` };
  }
  const running = tasks.filter(isRunningTask).sort((a, b) => (a.Slot ?? 0) - (b.Slot ?? 0));
  if (running.length >= replicas) return { kind: "running", running };
  return {
    kind: "waiting",
    summary: summarizeTasks(
      serviceName,
      tasks.filter((task) => task.DesiredState === "running")
    )
  };
}
function summarizeTasks(serviceName, tasks) {
  const running = tasks.filter(isRunningTask).length;
  const others = tasks.filter((task) => !isRunningTask(task)).map((task) => describeTask(serviceName, task));
  return [`${running} of ${tasks.length} task${tasks.length === 1 ? "" : "s"} running`, ...others].join("; ");
}
function inSubnet(ip, cidr) {
  const [base, bitsText] = cidr.split("/");
  const bits = Number(bitsText);
  const toNumber = (text) => {
    const parts = text.split(".").map(Number);
    if (parts.length !== 4 || parts.some((part) => !Number.isInteger(part) || part < 0 || part > 255)) return void 0;
    return (parts[0] << 24 | parts[1] << 16 | parts[2] << 8 | parts[3]) >>> 0;
  };
  const a = toNumber(ip);
  const b = base ? toNumber(base) : void 0;
  if (a === void 0 || b === void 0 || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const mask = bits === 0 ? 0 : 4294967295 << 32 - bits >>> 0;
  return (a & mask) === (b & mask);
}

// src/engine/swarm-drain.ts
var VanishedService = class extends Error {
};
async function inspectService(docker, id) {
  try {
    return await docker.getService(id).inspect();
  } catch (error) {
    if (statusOf(error) === 404) throw new VanishedService();
    throw new Error(engineMessage(error));
  }
}
async function listTasksOf(docker, serviceIds) {
  if (serviceIds.length === 0) return [];
  return await docker.listTasks({ filters: { service: serviceIds } });
}
async function updateServiceLabels(docker, service, change) {
  let current = service;
  for (let attempt = 1; ; attempt++) {
    const spec = { ...current.Spec, Labels: change({ ...current.Spec.Labels ?? {} }) };
    try {
      await docker.getService(current.ID).update({ _query: { version: current.Version.Index }, _body: spec });
      return;
    } catch (error) {
      if (statusOf(error) === 404) throw new VanishedService();
      if (attempt < 5 && /out of sequence/i.test(engineMessage(error))) {
        current = await inspectService(docker, current.ID);
        continue;
      }
      throw new Error(engineMessage(error));
    }
  }
}
async function drainVersion(context, server, options) {
  const { docker } = context;
  const sleep = context.sleep ?? ((ms2) => new Promise((resolve) => setTimeout(resolve, ms2)));
  const started = Date.now();
  const report = removalReporter(server);
  try {
    const service = await inspectService(docker, server.id);
    const tasks = await listTasksOf(docker, [service.ID]);
    const version = versionFromService(service, tasks);
    const labels = service.Spec.Labels ?? {};
    const { network, port, metrics } = parseServerLabels(labels);
    let outcome;
    let warning;
    if (version.running.length === 0) {
      outcome = "not-running";
    } else if (options.withdrawn) {
      outcome = "withdrawn";
    } else {
      const earlier = Date.parse(labels[LABELS.draining] ?? "");
      let withdrawnAt = earlier;
      if (Number.isNaN(earlier)) {
        await updateServiceLabels(docker, service, (current) => ({ ...current, "traefik.enable": "false", [LABELS.draining]: (/* @__PURE__ */ new Date()).toISOString() }));
        withdrawnAt = Date.now();
      }
      const urls = version.running.map((task) => taskUrl(task, network, port)).filter((url) => Boolean(url));
      if (options.traefikApi && urls.length > 0) {
        const api = new TraefikApi(options.traefikApi, "swarm");
        const gone = await Promise.all(urls.map((url) => api.waitForGone(server.service, url, options.drainTimeoutMs)));
        const kept = urls.filter((_, i) => !gone[i]);
        if (kept.length > 0) {
          warning = `Traefik still listed ${kept.join(", ")} for ${server.service}@swarm ${formatDuration(options.drainTimeoutMs)} after ${server.name}'s routing was withdrawn; removed it anyway`;
        }
      } else {
        const wait = withdrawnAt + SWARM_ROUTING_SETTLE_MS - Date.now();
        if (wait > 0) await sleep(wait);
      }
      if (network && await context.canReach(network)) await waitForIdle2(urls, Math.max(1e3, started + options.drainTimeoutMs * 2 - Date.now()), metrics);
      outcome = "drained";
    }
    const local = tasks.filter((task) => task.NodeID === context.localNodeId).map((task) => task.Status.ContainerStatus?.ContainerID).filter((id) => Boolean(id));
    try {
      await docker.getService(service.ID).remove();
    } catch (error) {
      if (statusOf(error) === 404) throw new VanishedService();
      throw new Error(engineMessage(error));
    }
    context.onRemoved?.(stopGraceMsOf(service));
    const deadline = Date.now() + stopGraceMsOf(service) + 1e4;
    await stopLocalContainers(docker, local, deadline - Date.now());
    const left = await waitForTasksGone(docker, service.ID, deadline - Date.now());
    if (left.length > 0) {
      const note = `${left.length} task(s) of ${server.name} had not stopped on node(s) ${left.join(", ")} when the wait ended; Swarm removes them when those nodes answer`;
      warning = warning ? `${warning}; ${note}` : note;
    }
    return report(outcome, warning);
  } catch (error) {
    if (error instanceof VanishedService) return report("vanished");
    throw error;
  }
}
function stopGraceMsOf(service) {
  const grace = service.Spec.TaskTemplate.ContainerSpec?.StopGracePeriod;
  return grace ? grace / 1e6 : 1e4;
}
async function stopLocalContainers(docker, ids, timeoutMs) {
  const ignore = (error) => {
    const status = statusOf(error);
    if (status !== 404 && status !== 409 && status !== 304) throw error;
  };
  await Promise.all(ids.map((id) => docker.getContainer(id).kill({ signal: "SIGTERM" }).catch(ignore)));
  const deadline = Date.now() + timeoutMs;
  for (const id of ids) {
    while (Date.now() < deadline) {
      const exists = await docker.getContainer(id).inspect().then(() => true).catch((error) => statusOf(error) !== 404);
      if (!exists) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
async function waitForTasksGone(docker, serviceId, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (; ; ) {
    const tasks = await listTasksOf(docker, [serviceId]).catch(() => []);
    let waiting = [];
    if (tasks.length > 0) {
      const nodes = await docker.listNodes();
      const ready = new Map(nodes.filter((node) => node.Status?.State === "ready").map((node) => [node.ID, node.Description?.Hostname ?? node.ID]));
      waiting = tasks.filter((task) => task.NodeID && ready.has(task.NodeID) && task.Status.ContainerStatus?.ContainerID);
      if (Date.now() >= deadline || waiting.length === 0) return [...new Set(waiting.map((task) => ready.get(task.NodeID)))];
    } else {
      return [];
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
async function waitForIdle2(urls, timeoutMs, source) {
  const deadline = Date.now() + timeoutMs;
  for (; ; ) {
    const counts = await Promise.all(urls.map((url) => readRequestCount(url, 1e3, source)));
    if (counts.every((count) => !count.readable || !count.inFlight)) return;
    if (Date.now() >= deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// src/engine/swarm-lock.ts
function swarmLockStore(docker, service) {
  const name = lockConfigName(service);
  return {
    description: `Swarm config ${name}`,
    async create(holder) {
      const record = JSON.stringify(holder);
      try {
        const config = await docker.createConfig({
          Name: name,
          Labels: { [LABELS.lock]: service, [HOLDER_LABEL]: record },
          Data: Buffer.from(record).toString("base64")
        });
        return config.id ?? config.ID;
      } catch (error) {
        if (statusOf(error) === 409) return void 0;
        throw error;
      }
    },
    async read() {
      try {
        const info = await docker.getConfig(name).inspect();
        return { id: info.ID, holder: parseHolder(info.Spec?.Labels?.[HOLDER_LABEL]) };
      } catch (error) {
        if (statusOf(error) === 404) return void 0;
        throw error;
      }
    },
    async remove(id) {
      await docker.getConfig(id).remove().catch((error) => {
        if (statusOf(error) !== 404) throw error;
      });
    }
  };
}

// src/engine/swarm-prune.ts
var import_node_crypto2 = __toESM(require_node_crypto(), 1);
var TERMINAL = /* @__PURE__ */ new Set(["complete", "failed", "rejected", "shutdown", "orphaned", "remove"]);
var JOB_WAIT_MS = 18e4;
var IN_USE = /is using its referenced image|image is being used by/;
var PRUNE_ROUNDS = 3;
var PRUNE_RETRY_MS = 3e3;
async function pruneUntilSettled(runJob, references, clock, tasksEndBy = 0) {
  const byNode = /* @__PURE__ */ new Map();
  let pending = [...references];
  for (let round = 1; pending.length > 0; round++) {
    for (const result of await runJob(pending, round)) {
      const earlier = byNode.get(result.node);
      byNode.set(result.node, { node: result.node, removed: [...earlier?.removed ?? [], ...result.removed], refused: result.refused });
    }
    const blocked = [...byNode.values()].flatMap((result) => result.refused.filter((line) => IN_USE.test(line)));
    pending = pending.filter((reference) => blocked.some((line) => line.includes(reference)));
    if (pending.length === 0 || round >= PRUNE_ROUNDS) break;
    await clock.wait(round === 1 ? Math.max(PRUNE_RETRY_MS, tasksEndBy - clock.now()) : PRUNE_RETRY_MS);
  }
  return [...byNode.values()].sort((a, b) => a.node.localeCompare(b.node));
}
async function pruneOnEveryNode(docker, pruneImage, references, log, { warnSkipped = true } = {}) {
  if (references.length === 0) return [];
  const name = `tts-prune-${(0, import_node_crypto2.randomBytes)(4).toString("hex")}`;
  const spec = {
    Name: name,
    Labels: { [LABELS.managed]: "prune-job" },
    TaskTemplate: {
      ContainerSpec: {
        Image: pruneImage,
        Command: ["docker", "image", "rm", ...references],
        Mounts: [{ Type: "bind", Source: "/var/run/docker.sock", Target: "/var/run/docker.sock" }]
      },
      RestartPolicy: { Condition: "none", MaxAttempts: 0 }
    },
    Mode: { GlobalJob: {} }
  };
  const handle = await docker.createService(spec);
  try {
    const deadline = Date.now() + JOB_WAIT_MS;
    let tasks = [];
    const nodes = await docker.listNodes();
    const hostnames = new Map(nodes.map((node) => [node.ID, node.Description?.Hostname ?? node.ID]));
    const eligible = nodes.filter((node) => node.Status?.State === "ready" && node.Spec?.Availability === "active").map((node) => node.ID);
    const skipped = nodes.filter((node) => !eligible.includes(node.ID));
    if (skipped.length > 0 && warnSkipped) {
      log.warning(
        `Images were not pruned on ${skipped.map((node) => `${hostnames.get(node.ID)} (${node.Status?.State === "ready" ? node.Spec?.Availability : node.Status?.State})`).join(", ")}: Swarm runs no task there; the next retire prunes them`
      );
    }
    for (; ; ) {
      tasks = await docker.listTasks({ filters: { service: [handle.id] } });
      const done = tasks.filter((task) => TERMINAL.has(task.Status.State));
      if (eligible.every((id) => done.some((task) => task.NodeID === id)) && done.length === tasks.length) break;
      if (Date.now() >= deadline) {
        log.warning(`The image prune job ${name} had not finished on every node after ${JOB_WAIT_MS / 1e3}s; images stay on the nodes it did not reach`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const byNode = /* @__PURE__ */ new Map();
    for (const task of tasks.filter((candidate) => TERMINAL.has(candidate.Status.State))) {
      const output = await taskOutput(docker, task.ID);
      const node = hostnames.get(task.NodeID ?? "") ?? task.NodeID ?? "?";
      const result = byNode.get(node) ?? { node, removed: [], refused: [] };
      result.removed.push(...references.filter((reference) => output.includes(`Untagged: ${reference}`) && !result.removed.includes(reference)));
      const refused = output.split("\n").filter((line) => /^Error/.test(line.trim())).map((line) => line.trim());
      if (task.Status.State !== "complete" && refused.length === 0) refused.push(`${task.Status.State}: ${task.Status.Err ?? task.Status.Message ?? ""}`.trim());
      result.refused.push(...refused);
      byNode.set(node, result);
    }
    for (const result of byNode.values()) result.refused = [...new Set(result.refused.filter((line) => !result.removed.some((reference) => line.includes(reference))))];
    return [...byNode.values()].sort((a, b) => a.node.localeCompare(b.node));
  } finally {
    await docker.getService(handle.id).remove().catch((error) => {
      if (statusOf(error) !== 404) log.warning(`Could not remove the image prune job ${name}: ${engineMessage(error)}`);
    });
  }
}
async function taskOutput(docker, taskId) {
  try {
    return await readLogTail(docker, "tasks", taskId);
  } catch (error) {
    return `Error: logs unavailable: ${engineMessage(error)}`;
  }
}
function serviceDigests(services) {
  const digests = /* @__PURE__ */ new Set();
  for (const service of services) {
    const image = service.Spec.TaskTemplate.ContainerSpec?.Image ?? "";
    const at = image.indexOf("@");
    if (at >= 0) digests.add(image.slice(at + 1));
  }
  return digests;
}
async function pruneSwarmImages(context, seen, retired, log) {
  const { docker } = context;
  const used = serviceDigests(await docker.listServices());
  const pruned = await context.node.pruneImages(seen, retired, log, used);
  const references = [...new Set(retired.filter((server) => server.digest && !used.has(server.digest)).map((server) => `${repositoryOf(server.image)}@${server.digest}`))];
  const nodes = (await docker.listNodes()).length;
  if (references.length === 0 || nodes < 2) return pruned;
  if (!context.nodePruneImage) {
    log.warning(`Images of the retired versions were pruned on this node only; the other ${nodes - 1} node(s) of the swarm keep them: give retire a node-prune-image (an image with a Docker CLI) to prune every node`);
    return pruned;
  }
  const image = context.nodePruneImage;
  const runJob = (pending, round) => pruneOnEveryNode(docker, image, pending, log, { warnSkipped: round === 1 });
  const clock = { now: () => Date.now(), wait: (ms2) => new Promise((resolve) => setTimeout(resolve, ms2)) };
  for (const result of await pruneUntilSettled(runJob, references, clock, context.tasksEndBy)) {
    const refused = result.refused.filter((line) => !/No such image/i.test(line));
    log.info(`Node ${result.node}: ${result.removed.length > 0 ? `removed ${result.removed.join(", ")}` : "nothing to remove"}${refused.length > 0 ? `; kept: ${refused.join("; ")}` : ""}`);
    for (const reference of result.removed) pruned.push({ id: reference.slice(reference.indexOf("@") + 1), references: [reference], node: result.node });
  }
  return pruned;
}

// src/engine/swarm-engine.ts
var NO_HEALTHCHECK_STEADY_MS2 = 2e3;
var POLL_MS = 500;
var SwarmEngine = class _SwarmEngine {
  /**
   * @param nodePruneImage retire's `node-prune-image`: an image with a Docker CLI that prunes
   * images on every node (src/engine/swarm-prune.ts); without it, only this node is pruned.
   */
  constructor(engine, nodePruneImage) {
    this.engine = engine;
    this.nodePruneImage = nodePruneImage;
    this.docker = engine.docker;
    this.endpoint = engine.endpoint;
    this.node = new DockerEngine(engine);
  }
  engine;
  nodePruneImage;
  kind = "swarm";
  unit = "version";
  endpoint;
  docker;
  /** This node's engine, for what Swarm leaves to each node: pulling and pruning images. */
  node;
  networks = /* @__PURE__ */ new Map();
  localNodeId;
  /** When the tasks of the versions this engine removed have ended on every node at the latest (removal + stop grace period). */
  tasksEndBy = 0;
  static async connect(dockerHost, nodePruneImage) {
    const engine = new _SwarmEngine(await connectEngine(dockerHost), nodePruneImage);
    await engine.requireManager();
    return engine;
  }
  async close() {
  }
  /** Swarm's API answers only on a manager: say so before anything else. */
  async requireManager() {
    if (this.localNodeId) return this.localNodeId;
    const info = await this.docker.info();
    const swarm = info.Swarm ?? {};
    if (swarm.LocalNodeState !== "active" || !swarm.ControlAvailable || !swarm.NodeID) {
      const state = swarm.LocalNodeState === "active" ? "a worker, not a manager" : `not in a swarm (state: ${swarm.LocalNodeState || "unknown"}${swarm.Error ? `, ${swarm.Error}` : ""})`;
      throw new ResourceError(`Docker Engine at ${this.endpoint}`, `is ${state}; engine swarm needs a Swarm manager: run the job on a manager node (or point docker-host at one), or create a swarm with docker swarm init`);
    }
    this.localNodeId = swarm.NodeID;
    return swarm.NodeID;
  }
  network(name) {
    let known = this.networks.get(name);
    if (!known) {
      known = (async () => {
        try {
          const info = await this.docker.getNetwork(name).inspect();
          if (info.Scope !== "swarm") {
            throw new InputError(
              "network",
              `${quote(name)} is a ${info.Scope ?? "local"}-scope ${info.Driver ?? ""} network; Swarm services attach to swarm-scope networks: create one with docker network create --driver overlay --attachable ${name}, and attach Traefik to it`
            );
          }
          return { id: info.Id, subnets: (info.IPAM?.Config ?? []).map((config) => config.Subnet ?? "").filter(Boolean) };
        } catch (error) {
          if (statusOf(error) === 404) return void 0;
          if (error instanceof InputError) throw error;
          throw new ResourceError(`Docker Engine at ${this.endpoint}`, engineMessage(error));
        }
      })();
      this.networks.set(name, known);
    }
    return known;
  }
  /**
   * Tasks' addresses are on the swarm's overlay network, which a runner reaches only when it is
   * attached to it (a runner container on the `--attachable` network). Anywhere else the address
   * is not routed (and may lead somewhere else entirely), so no request is sent to it.
   */
  async canReach(network) {
    const facts = await this.network(network).catch(() => void 0);
    if (!facts) return false;
    const addresses = Object.values((0, import_node_os2.networkInterfaces)()).flat().filter((entry) => entry && entry.family === "IPv4" && !entry.internal).map((entry) => entry.address);
    return addresses.some((address) => facts.subnets.some((subnet) => inSubnet(address, subnet)));
  }
  async checkDeploy(spec) {
    await this.requireManager();
    const { network, service } = spec.routing;
    if (!await this.network(network)) {
      throw new InputError("network", `no Swarm network ${quote(network)} on the engine at ${this.endpoint} (create it with docker network create --driver overlay --attachable ${network}, and attach Traefik to it)`);
    }
    if (spec.options.healthPath && !spec.options.rollback && !await this.canReach(network)) {
      throw new InputError(
        "health-path",
        `engine swarm: this runner is not attached to network ${quote(network)}, so it cannot probe the tasks' ${spec.options.healthPath} (their addresses are on that overlay network); run the runner as a container attached to it (docker run --network ${network} \u2026, or docker network connect ${network} <runner>), or drop health-path and give health-cmd so Swarm checks readiness itself`
      );
    }
    if (spec.traefikApi) await new TraefikApi(spec.traefikApi, "swarm").check();
    const routed = (await this.listVersions(service)).map((version) => version.server).filter((server) => !server.labels[LABELS.draining]);
    if (spec.routingChoice.mode === "labels") checkRoutingAgainst(routed, routingLabels(spec.routing, "swarm"), service);
  }
  async listVersions(service) {
    const label = [`${LABELS.managed}=true`, ...service ? [`${LABELS.service}=${service}`] : []];
    const services = await this.docker.listServices({ filters: { label } });
    const tasks = await listTasksOf(
      this.docker,
      services.map((s) => s.ID)
    );
    return services.map((s) => versionFromService(s, tasks));
  }
  async pullImage(spec, log) {
    await this.requireManager();
    const image = await ensureImage(this.docker, spec.image, spec.credentials, log);
    if (!image.reference.includes("@")) {
      log.warning(`${spec.image.text} comes from no registry (no manifest digest): only nodes that already hold it can run its tasks; push it to a registry and deploy it by digest`);
    }
    if (spec.credentials && !spec.nodeCredentials && /^ghs_/.test(spec.credentials.password)) {
      log.warning(
        `Swarm keeps registry-password with the service for later pulls on any node (a task rescheduled onto a node without the image); a GitHub job token stops working when this job ends, and such a pull then fails: give node-registry-username and node-registry-password, a read-only credential that lives on`
      );
    }
    return deployImage(image);
  }
  async lockDeploy(spec, _image, log) {
    const { service } = spec.routing;
    const leaseMs = 2 * spec.healthTimeoutMs + 3 * spec.drainTimeoutMs + 18e4 + rolloutDurationMs(spec.progressive);
    return await acquireStoreLock(swarmLockStore(this.docker, service), service, { leaseMs, waitMs: leaseMs, purpose: `deploy of ${service}`, runUrl: spec.provenance.runUrl, log });
  }
  async removeServer(server) {
    await this.removeService(server.id);
  }
  async startServers(spec, image, _count, log) {
    const networkFacts = await this.network(spec.routing.network);
    const serviceSpec = versionServiceSpec(spec, { reference: image.reference, digest: image.digest, healthcheck: image.healthcheck }, /* @__PURE__ */ new Date(), networkFacts.id);
    const pullCredential = spec.nodeCredentials ?? spec.credentials;
    const auth = pullCredential ? { username: pullCredential.username, password: pullCredential.password, serveraddress: spec.image.registry } : void 0;
    const handle = await this.docker.createService(auth, serviceSpec);
    const hasHealthCheck = Boolean(spec.healthCmd ?? image.healthcheck);
    log.info(`Created Swarm service ${serviceSpec.Name} with ${spec.replicas} task(s); waiting up to ${formatDuration(spec.healthTimeoutMs)} for ${hasHealthCheck ? "them to pass their health check" : "them to run"}`);
    return { ids: [handle.id], names: [serviceSpec.Name] };
  }
  async waitServing(spec, image, started) {
    const created = await inspectService(this.docker, started.ids[0]);
    const outcome = await this.waitForRollout(created, spec.replicas, spec.healthTimeoutMs, Boolean(spec.healthCmd ?? image.healthcheck));
    if (outcome.kind !== "running") {
      const refusal = ulimitRefusal(outcome.problem, spec.process.ulimits, "the Docker Engine of the task's node");
      return { failure: { id: outcome.kind === "failed" ? outcome.task.ID : void 0, problem: refusal ? `${outcome.problem} (${refusal.message})` : outcome.problem } };
    }
    return { servers: this.tasksOf(await this.readVersion(created.ID), false) };
  }
  /** The failed version's task errors and last log lines; then the version is removed. */
  async discardStarted(started, image, failure) {
    const [id, name] = [started.ids[0], started.names[0]];
    const tasks = await listTasksOf(this.docker, [id]).catch(() => []);
    const troubled = tasks.filter((task) => TASK_FAILURES.includes(task.Status.State)).map((task) => `  ${describeTask(name, task)}`);
    const subject = tasks.find((task) => task.ID === failure.id) ?? tasks.find((task) => task.Status.ContainerStatus?.ContainerID) ?? tasks[0];
    const logs = subject ? await this.taskLogs(subject.ID) : "";
    await this.removeService(id).catch(() => {
    });
    return new DeployError(
      `New version ${name} (${image.reference}) ${failure.problem}. Removed the Swarm service ${name}; the older versions were not touched and keep serving.
` + (troubled.length > 0 ? `Task errors:
${troubled.join("\n")}
` : "") + (subject ? `Last 50 log lines of task ${taskName(name, subject)}:
${logs || "(no output)"}` : "")
    );
  }
  async scaleVersion(server, spec, log) {
    const version = await this.readVersion(server.id);
    log.info(`${server.name} already serves ${shortDigest(server.digest)}: scaling it from ${version.replicas} to ${spec.replicas} task(s)`);
    await this.scale(version.service, spec.replicas);
    const outcome = await this.waitForRollout(version.service, spec.replicas, spec.healthTimeoutMs, false, new Set(version.tasks.map((task) => task.ID)));
    if (outcome.kind === "failed") throw new ResourceError(`Service ${spec.routing.service}`, `scaling ${server.name} to ${spec.replicas}: ${outcome.problem}`);
  }
  async serversOf(reused) {
    const versions = await Promise.all(reused.map((server) => this.readVersion(server.id)));
    return versions.flatMap((version) => this.tasksOf(version, true));
  }
  confirmRouted(spec, servers) {
    return confirmListed(spec, servers, "swarm", `is Traefik's Swarm provider on, and attached to network ${spec.routing.network}?`);
  }
  /** One NewServer per running task of the version: the tasks are what Traefik routes to. */
  tasksOf(version, reused) {
    const { network, port } = parseServerLabels(version.server.labels);
    return version.running.map((task) => ({
      id: task.ID,
      name: taskName(version.server.name, task),
      digest: version.server.digest,
      url: taskUrl(task, network, port),
      reused
    }));
  }
  async readVersion(id) {
    const service = await inspectService(this.docker, id);
    return versionFromService(service, await listTasksOf(this.docker, [id]));
  }
  async scale(service, replicas) {
    let current = service;
    for (let attempt = 1; ; attempt++) {
      const spec = { ...current.Spec, Mode: { Replicated: { Replicas: replicas } } };
      try {
        await this.docker.getService(current.ID).update({ _query: { version: current.Version.Index }, _body: spec });
        return;
      } catch (error) {
        if (attempt < 5 && /out of sequence/i.test(engineMessage(error))) {
          current = await inspectService(this.docker, current.ID);
          continue;
        }
        throw new ResourceError(`Service ${current.Spec.Name}`, engineMessage(error));
      }
    }
  }
  /**
   * Poll the version's tasks until `replicas` run (for a version without a health check: run for
   * a moment, so a server that exits at once is caught), one fails, or the time is up.
   */
  async waitForRollout(service, replicas, timeoutMs, hasHealthCheck, earlier = /* @__PURE__ */ new Set()) {
    const deadline = Date.now() + timeoutMs;
    let steadySince;
    let last = "";
    for (; ; ) {
      const tasks = await listTasksOf(this.docker, [service.ID]);
      const rollout = assessRollout(service.Spec.Name, tasks, replicas, earlier);
      if (rollout.kind === "failed") return rollout;
      if (rollout.kind === "running") {
        steadySince ??= Date.now();
        if (hasHealthCheck || Date.now() - steadySince >= NO_HEALTHCHECK_STEADY_MS2) return { kind: "running" };
      } else {
        steadySince = void 0;
        last = rollout.summary;
      }
      if (Date.now() >= deadline) {
        const probe = await this.lastProbe(tasks);
        return { kind: "timeout", problem: `was not running within ${formatDuration(timeoutMs)} (${last || summarizeTasks(service.Spec.Name, tasks)}${probe ? `; last probe: ${probe}` : ""})` };
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
  /** The last health probe of a task still starting on this node, for the timeout message. */
  async lastProbe(tasks) {
    const starting = tasks.find((task) => task.DesiredState === "running" && task.Status.State === "starting" && task.NodeID === this.localNodeId);
    const id = starting?.Status.ContainerStatus?.ContainerID;
    if (!id) return void 0;
    try {
      const info = await this.docker.getContainer(id).inspect();
      const log = info.State.Health?.Log ?? [];
      const last = log[log.length - 1];
      return last ? `exit ${last.ExitCode}: ${last.Output.trim().slice(0, 300)}` : void 0;
    } catch {
      return void 0;
    }
  }
  async taskLogs(taskId) {
    try {
      return (await readLogTail(this.docker, "tasks", taskId, 50)).trimEnd();
    } catch (error) {
      return `(logs unavailable: ${engineMessage(error)})`;
    }
  }
  async removeService(id) {
    try {
      await this.docker.getService(id).remove();
    } catch (error) {
      if (statusOf(error) !== 404) throw new ResourceError(`Swarm service ${id}`, engineMessage(error));
    }
  }
  async listServers(service) {
    await this.requireManager();
    return (await this.listVersions(service)).map((version) => version.server);
  }
  /** The version's request counter: the sum over its running tasks, read on the overlay network. */
  async readRequests(server) {
    const { network, port, metrics } = parseServerLabels(server.labels);
    if (!network) return { readable: false, problem: `${server.name} has no traefik.swarm.network label` };
    if (!await this.canReach(network)) {
      return {
        readable: false,
        problem: `this runner is not attached to network ${network}, so it cannot read the tasks' /metrics (run the runner as a container on that --attachable network to use in-use-window with engine swarm)`
      };
    }
    let version;
    try {
      version = await this.readVersion(server.id);
    } catch (error) {
      if (error instanceof VanishedService) return { readable: false, problem: `${server.name} is gone` };
      throw error;
    }
    const urls = version.running.map((task) => taskUrl(task, network, port));
    if (urls.length === 0 || urls.some((url) => !url)) return { readable: false, problem: `${server.name} has no running task with an address on ${network}` };
    const counts = await Promise.all(urls.map((url) => readRequestCount(url, void 0, metrics)));
    let requests = 0;
    let inFlight = 0;
    for (const count of counts) {
      if (!count.readable) return count;
      requests += count.requests;
      inFlight += count.inFlight ?? 0;
    }
    return { readable: true, requests, inFlight };
  }
  async tryLockService(service, log, leaseMs) {
    return acquireStoreLock(swarmLockStore(this.docker, service), service, { leaseMs, waitMs: 0, purpose: `retire of ${service}`, log });
  }
  async drainAndRemove(server, options, log) {
    const localNodeId = await this.requireManager();
    const onRemoved = (graceMs) => {
      this.tasksEndBy = Math.max(this.tasksEndBy, Date.now() + graceMs);
    };
    const report = await drainVersion({ docker: this.docker, localNodeId, canReach: (network) => this.canReach(network), onRemoved }, server, options);
    if (report.warning) log.warning(report.warning);
    log.info(`${report.outcome === "vanished" ? "Already gone" : "Removed"}: ${server.name} (${report.outcome}, ${report.seconds}s)`);
    return report;
  }
  /** This node's images, then with `node-prune-image` every node's (src/engine/swarm-prune.ts). */
  pruneImages(seen, retired, log) {
    return pruneSwarmImages({ docker: this.docker, node: this.node, nodePruneImage: this.nodePruneImage, tasksEndBy: this.tasksEndBy }, seen, retired, log);
  }
  /**
   * Prepared on the node this runner talks to (a manager), like the pull that learns a deploy's
   * digest: a task scheduled here starts without a pull; other nodes pull when Swarm gives them a task.
   */
  async prepareImage(spec, log) {
    await this.requireManager();
    const prepared = await this.node.prepareImage(spec);
    log.info(`engine swarm: prepared on this node (${this.endpoint}) only; other nodes pull ${shortDigest(prepared.digest)} when Swarm gives them a task`);
    return prepared;
  }
  prunePrepared(options, log) {
    return this.node.prunePrepared(options, log);
  }
};

// src/engine/select.ts
async function openServingEngine(kind, dockerHost, options = {}) {
  switch (kind) {
    case "docker":
      return DockerEngine.connect(dockerHost);
    case "swarm":
      return SwarmEngine.connect(dockerHost, options.nodePruneImage);
  }
}

// src/serving/report.ts
var OUTCOME_TEXT = {
  drained: "drained",
  withdrawn: "withdrawn from routing, idle: stopped",
  "ignored-signal": "ignored the drain signal: stopped",
  "no-health-check": "no health check: stopped",
  "not-running": "was not running",
  "not-serving": "was not healthy (not routed): stopped",
  vanished: "already gone"
};
function describeOutcome(report) {
  return OUTCOME_TEXT[report.outcome];
}
function deploySummary(spec, result) {
  const { service } = spec.routing;
  const lines = [`## deploy: ${escapeCell(service)} \u2192 ${code(shortDigest(result.digest))}`, ""];
  if (result.unchanged) {
    lines.push(`${escapeCell(service)} already serves ${code(result.image)} with ${result.servers.length} healthy server(s): nothing changed.`, "");
  } else {
    lines.push(`Image ${code(result.image)}, strategy ${code(spec.strategy)}, rule ${code(spec.routing.rule)} on network ${code(spec.routing.network)}.`, "");
  }
  lines.push(
    table(
      ["Server", "Digest", "URL", "State"],
      result.servers.map((server) => [code(server.name), code(shortDigest(server.digest)), server.url ? code(server.url) : "\u2014", server.reused ? "already serving" : "new, healthy"])
    ),
    ""
  );
  if (result.removed.length > 0) {
    lines.push(
      "### Drained and removed",
      "",
      table(
        ["Server", "Digest", "Drain", { header: "Seconds", align: "right" }, "Note"],
        result.removed.map((r) => [code(r.name), code(shortDigest(r.digest)), describeOutcome(r), r.seconds.toFixed(1), escapeCell(r.warning ?? "")])
      ),
      ""
    );
  } else if (!result.unchanged && spec.strategy === "add") {
    lines.push("Older servers keep serving beside the new ones (strategy `add`) until `retire` removes them.", "");
  }
  if (!result.unchanged) {
    const t = result.timings;
    const parts = [`pull ${formatDuration(t.pullMs)}`, `start ${formatDuration(t.startMs)}`, `healthy ${formatDuration(t.healthyMs)}`];
    if (spec.traefikApi) parts.push(`Traefik UP ${formatDuration(t.traefikMs)}`);
    if (result.removed.length > 0) parts.push(`drain ${formatDuration(t.drainMs)}`);
    lines.push(`Took ${formatDuration(t.totalMs)}: ${parts.join(", ")}.`, "");
  }
  return lines.join("\n");
}
function age(entry, now) {
  return formatDuration(Math.max(0, now.getTime() - entry.server.deployedAt.getTime()));
}
function expiry(entry, now) {
  const at = entry.decision.expiry;
  if (at === null) return "never";
  if (at === void 0) return "unknown";
  const delta = at.getTime() - now.getTime();
  return delta > 0 ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`;
}
function decisionText(entry, dryRun) {
  if (entry.skipped) return "kept";
  if (entry.decision.action === "keep") return "kept";
  if (dryRun) return "would retire";
  if (entry.removal?.outcome === "vanished") return "already gone";
  return "retired";
}
function reasonText(entry) {
  const parts = [entry.skipped ?? entry.decision.reason];
  if (entry.removal && entry.removal.outcome !== "vanished") parts.push(`${describeOutcome(entry.removal)} in ${entry.removal.seconds.toFixed(1)}s`);
  if (entry.removal?.warning) parts.push(entry.removal.warning);
  return parts.join("; ");
}
function retireRows(result, now = result.decidedAt) {
  const order = [...result.entries].sort((a, b) => a.server.service.localeCompare(b.server.service) || b.server.deployedAt.getTime() - a.server.deployedAt.getTime());
  return order.map((entry) => ({
    service: entry.server.service,
    server: entry.server.name,
    digest: shortDigest(entry.server.digest) || "?",
    age: age(entry, now),
    expiry: expiry(entry, now),
    decision: decisionText(entry, result.dryRun),
    reason: reasonText(entry)
  }));
}
function retireLogTable(rows) {
  const headers = ["SERVICE", "SERVER", "DIGEST", "AGE", "EXPIRY", "DECISION", "REASON"];
  const cells = rows.map((r) => [r.service, r.server, r.digest, r.age, r.expiry, r.decision, r.reason]);
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => i === 6 ? 0 : row[i].length)));
  const line = (row) => row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i])).join("  ");
  return [line(headers), ...cells.map(line)].join("\n");
}
function retireSummary(result, now = result.decidedAt) {
  const rows = retireRows(result, now);
  const verb = result.dryRun ? "would retire" : "retired";
  const lines = [`## retire${result.dryRun ? " (dry run: nothing changed)" : ""}`, "", `${result.retired.length} server(s) ${verb}, ${result.kept.length} kept, of ${result.entries.length} managed server(s).`, ""];
  if (rows.length > 0) {
    lines.push(
      table(
        ["Service", "Server", "Digest", "Age", "Expiry", "Decision", "Reason"],
        rows.map((r) => [escapeCell(r.service), code(r.server), code(r.digest), r.age, r.expiry, r.decision === "kept" ? "kept" : `**${r.decision}**`, escapeCell(r.reason)])
      ),
      ""
    );
  }
  if (result.prunedImages.length > 0) {
    lines.push(`Removed ${result.prunedImages.length} image(s) no container uses: ${result.prunedImages.map((image) => code(image.references[0] ?? image.id)).join(", ")}.`, "");
  }
  return lines.join("\n");
}

// src/traefik/metrics.ts
var MAX_BYTES = 8 * 1024 * 1024;
function serviceFigures(text, service) {
  const figures = { requests: 0 };
  let hasOpenGauge = false;
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^(traefik_service_requests_total|traefik_service_open_connections)\{(.*)\}\s+(\S+)/.exec(line);
    if (!match) continue;
    if (match[1] === "traefik_service_open_connections") hasOpenGauge = true;
    const labels = new Map([...match[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2].replace(/\\(.)/g, "$1")]));
    if (labels.get("service") !== service) continue;
    const value = Number(match[3]);
    if (!Number.isFinite(value)) continue;
    if (match[1] === "traefik_service_requests_total") figures.requests += value;
    else figures.open = (figures.open ?? 0) + value;
  }
  if (hasOpenGauge) figures.open ??= 0;
  return figures;
}
async function readServiceFigures(metricsUrl2, service, timeoutMs = 3e3) {
  const text = await getText(metricsUrl2, { timeoutMs, maxBytes: MAX_BYTES }).then(
    (answer) => answer.status === 200 ? answer.body : void 0,
    () => void 0
  );
  if (text === void 0 || !text.includes("traefik_")) return void 0;
  return serviceFigures(text, service);
}

// src/serving/idle.ts
var IDLE_QUIET_MS = 2e3;
async function waitForIdle3(look, timeoutMs, { pollMs = 100, quietMs = IDLE_QUIET_MS } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (; ; ) {
    const { inFlight, requests } = await look();
    if (inFlight !== void 0) {
      if (inFlight <= 0) return true;
    } else {
      if (requests === void 0) return true;
      const now = Date.now();
      if (!last || last.requests !== requests) last = { requests, since: now };
      else if (now - last.since >= quietMs) return true;
    }
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

// src/traefik/routing-file.ts
var import_node_crypto3 = __toESM(require_node_crypto(), 1);
var import_node_fs2 = __toESM(require_node_fs(), 1);
var import_promises = __toESM(require_promises(), 1);
var import_node_path = __toESM(require_node_path(), 1);
var import_yaml = __toESM(require_dist(), 1);
var STATE_PREFIX = "# train-to-serve-state: ";
var NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
var BACKEND = /^[A-Za-z0-9][A-Za-z0-9_-]*@(docker|swarm|file)$/;
var RoutingFileError = class extends Error {
  name = "RoutingFileError";
};
function mainName(service) {
  return service;
}
function validateRoutingTable(table2) {
  if (!NAME.test(table2.service)) throw new RoutingFileError(`not a Traefik service name: ${JSON.stringify(table2.service)}`);
  try {
    checkRuleSyntax(table2.rule);
  } catch (error) {
    throw new RoutingFileError(`rule ${JSON.stringify(table2.rule)} would be rejected by Traefik: ${error.message}`);
  }
  if (table2.entrypoints.length === 0) throw new RoutingFileError("a router needs at least one entry point");
  for (const name of [...table2.entrypoints, ...table2.middlewares ?? []]) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_@.-]*$/.test(name)) throw new RoutingFileError(`not a Traefik entry point or middleware name: ${JSON.stringify(name)}`);
  }
  if (table2.priority !== void 0 && (!Number.isInteger(table2.priority) || table2.priority < 0)) throw new RoutingFileError(`priority must be a non-negative integer, got ${table2.priority}`);
  const seen = /* @__PURE__ */ new Set();
  for (const backend of table2.backends) {
    if (!BACKEND.test(backend.service)) throw new RoutingFileError(`not a service reference with its provider (name@docker): ${JSON.stringify(backend.service)}`);
    if (seen.has(backend.service)) throw new RoutingFileError(`${backend.service} is listed twice`);
    seen.add(backend.service);
    if (!Number.isInteger(backend.weight) || backend.weight < 0) throw new RoutingFileError(`weight of ${backend.service} must be a non-negative integer, got ${backend.weight}`);
  }
  if (!table2.backends.some((backend) => backend.weight > 0)) throw new RoutingFileError(`the weighted service ${table2.service} would have no version with a weight above 0, so it would route nothing`);
  if (table2.mirror) {
    if (!BACKEND.test(table2.mirror.service)) throw new RoutingFileError(`not a service reference with its provider: ${JSON.stringify(table2.mirror.service)}`);
    if (!Number.isInteger(table2.mirror.percent) || table2.mirror.percent < 0 || table2.mirror.percent > 100) throw new RoutingFileError(`mirror percent must be an integer from 0 to 100, got ${table2.mirror.percent}`);
  }
}
function renderRoutingFile(table2) {
  validateRoutingTable(table2);
  const name = mainName(table2.service);
  const weightedName = table2.mirror ? `${name}-weighted` : name;
  const router = { rule: table2.rule, entryPoints: table2.entrypoints, service: name };
  if (table2.middlewares?.length) router.middlewares = table2.middlewares;
  if (table2.priority !== void 0) router.priority = table2.priority;
  if (table2.tls) router.tls = table2.tls.certResolver ? { certResolver: table2.tls.certResolver } : {};
  const services = {
    [weightedName]: { weighted: { services: table2.backends.filter((b) => b.weight > 0).map((b) => ({ name: b.service, weight: b.weight })) } }
  };
  if (table2.mirror) services[name] = { mirroring: { service: weightedName, mirrors: [{ name: table2.mirror.service, percent: table2.mirror.percent }] } };
  const state = { kept: table2.kept ?? {}, backends: table2.backends, ...table2.mirror ? { mirror: table2.mirror } : {}, ...table2.rollout !== void 0 ? { rollout: table2.rollout } : {} };
  return `${STATE_PREFIX}${JSON.stringify(state)}
# Written by train-to-serve deploy/retire: changes made by hand are replaced on the next deploy.
${(0, import_yaml.stringify)({ http: { routers: { [name]: router }, services } })}`;
}
function routerOf(text) {
  try {
    const doc = (0, import_yaml.parse)(text);
    const router = Object.values(doc?.http?.routers ?? {})[0];
    return router?.rule ? { rule: router.rule, entrypoints: router.entryPoints ?? [] } : void 0;
  } catch {
    return void 0;
  }
}
async function readRoutingState(path) {
  let text;
  try {
    text = await (0, import_promises.readFile)(path, "utf8");
  } catch (error) {
    if (error.code === "ENOENT") return void 0;
    throw error;
  }
  const line = text.split("\n").find((l) => l.startsWith(STATE_PREFIX));
  if (line) {
    try {
      const state = JSON.parse(line.slice(STATE_PREFIX.length));
      return { backends: state.backends ?? [], kept: state.kept ?? {}, mirror: state.mirror, router: routerOf(text), rollout: state.rollout };
    } catch {
    }
  }
  const doc = (0, import_yaml.parse)(text);
  const services = Object.values(doc?.http?.services ?? {});
  const weighted = services.find((service) => service.weighted)?.weighted?.services ?? [];
  return { backends: weighted.map((entry) => ({ service: String(entry.name ?? ""), weight: Number(entry.weight ?? 1) })), kept: {} };
}
function routingFilePath(dir, service) {
  return (0, import_node_path.join)(dir, `${service}.yml`);
}
var STAGING_DIR = ".train-to-serve";
async function writeRoutingFile(dir, table2) {
  const text = renderRoutingFile(table2);
  const target = routingFilePath(dir, table2.service);
  const staging = (0, import_node_path.join)(dir, STAGING_DIR);
  await (0, import_promises.mkdir)(staging, { recursive: true });
  const temp = (0, import_node_path.join)(staging, `${table2.service}.${(0, import_node_crypto3.randomBytes)(4).toString("hex")}.tmp`);
  const handle = await (0, import_promises.open)(temp, "wx", 420);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await (0, import_promises.rename)(temp, target);
  } catch (error) {
    await (0, import_promises.unlink)(temp).catch(() => {
    });
    throw error;
  }
  return target;
}
async function routingDirProblem(dir) {
  try {
    const info = await (0, import_promises.stat)(dir);
    if (!info.isDirectory()) return `${JSON.stringify(dir)} is not a directory`;
  } catch (error) {
    if (error.code === "ENOENT") return `${JSON.stringify(dir)} does not exist (create it and point Traefik's providers.file.directory at it)`;
    return `${JSON.stringify(dir)} cannot be read (${error.message})`;
  }
  try {
    await (0, import_promises.access)(dir, import_node_fs2.constants.W_OK | import_node_fs2.constants.X_OK);
  } catch {
    return `${JSON.stringify(dir)} is not writable by this runner (uid ${process.getuid?.() ?? "?"})`;
  }
  return void 0;
}

// src/serving/server.ts
function isServing(server) {
  return server.state === "running" && (server.health === "healthy" || server.health === "none");
}
function newestFirst(servers) {
  return [...servers].sort((a, b) => b.deployedAt.getTime() - a.deployedAt.getTime() || a.name.localeCompare(b.name));
}

// src/serving/file-routing.ts
var FILE_SETTLE_MS = 3e3;
var FileRouting = class {
  constructor(routing, dir, provider, traefikApi) {
    this.routing = routing;
    this.dir = dir;
    this.provider = provider;
    this.traefikApi = traefikApi;
    this.path = routingFilePath(dir, routing.service);
    this.api = traefikApi ? new TraefikApi(traefikApi, provider) : void 0;
  }
  routing;
  dir;
  provider;
  traefikApi;
  path;
  api;
  /** `iris-3f2a9c1b7d4e@docker`: how the weighted service names a version. */
  ref(digest) {
    return `${versionServiceName(this.routing.service, digest)}@${this.provider}`;
  }
  async read() {
    try {
      return await readRoutingState(this.path) ?? { backends: [], kept: {} };
    } catch (error) {
      throw new ResourceError(`Routing file ${this.path}`, `cannot be read (${error.message})`);
    }
  }
  /**
   * Write the table (validated first, written atomically) and wait until Traefik serves exactly
   * these weights. When Traefik does not apply it, the previous table is written back.
   */
  async publish(state, log, timeoutMs) {
    const before = await this.read();
    const started = Date.now();
    await this.write(state);
    const weighted = state.backends.filter((backend) => backend.weight > 0).map((backend) => ({ name: backend.service, weight: backend.weight }));
    if (this.api) {
      const applied = await this.api.waitForWeights(`${this.routing.service}${state.mirror ? "-weighted" : ""}@file`, weighted, timeoutMs);
      if (!applied) {
        if (before.backends.some((backend) => backend.weight > 0)) await this.write(before).catch(() => {
        });
        throw new ResourceError(
          `Routing file ${this.path}`,
          `Traefik (${this.traefikApi}) did not serve ${this.routing.service}@file with ${weighted.map((w) => w.name).join(", ")} within ${formatDuration(timeoutMs)} (does its file provider watch ${this.dir}?); the previous table was written back`
        );
      }
    } else {
      await new Promise((resolve) => setTimeout(resolve, FILE_SETTLE_MS));
    }
    const ms2 = Date.now() - started;
    log.info(
      `Routing ${this.routing.service}: ${weighted.map((w) => `${w.name} (weight ${w.weight})`).join(", ")}; ${this.api ? `Traefik applied it after ${formatDuration(ms2)}` : `gave Traefik ${formatDuration(FILE_SETTLE_MS)} to apply it (no traefik-api to confirm)`}`
    );
    return ms2;
  }
  async write(state) {
    const { service, rule, entrypoints } = this.routing;
    try {
      await writeRoutingFile(this.dir, { service, rule, entrypoints, backends: state.backends, kept: state.kept, mirror: state.mirror, rollout: state.rollout });
    } catch (error) {
      if (error instanceof RoutingFileError) throw new InputError("rule", error.message);
      throw new ResourceError(`Routing file ${this.path}`, `cannot be written (${error.message})`);
    }
  }
  /**
   * Wait until no request is in flight to a withdrawn version. The first figure that exists wins:
   * Traefik v2's open connections for the version's service, else the server's own in-flight
   * gauge, else (Traefik v3 has no per-service gauge) Traefik's or the server's request counter
   * standing still (waitForIdle).
   */
  async waitIdle(engine, server, timeoutMs) {
    return waitForIdle3(async () => {
      const traefik = this.traefikApi ? await readServiceFigures(`${this.traefikApi}/metrics`, this.ref(server.digest)) : void 0;
      if (traefik?.open !== void 0) return { inFlight: traefik.open };
      const own = await engine.readRequests(server);
      if (own.readable && own.inFlight !== void 0) return { inFlight: own.inFlight };
      return { requests: traefik?.requests ?? (own.readable ? own.requests : void 0) };
    }, timeoutMs);
  }
};
async function checkFileRouting(dir, traefikApi) {
  const problem = await routingDirProblem(dir);
  if (problem) throw new InputError("routing-dir", problem);
  if (traefikApi) {
    const providers = await new TraefikApi(traefikApi).providers();
    if (!providers.some((name) => name.toLowerCase() === "file")) {
      throw new InputError("routing-dir", `Traefik at ${traefikApi} runs no file provider (its providers: ${providers.join(", ") || "none"}): add providers.file.directory=${dir} with watch: true to its static configuration`);
    }
  }
}
function fileRoutingOf(spec, provider) {
  return spec.routingChoice.mode === "file" ? new FileRouting(spec.routing, spec.routingChoice.dir, provider, spec.traefikApi) : void 0;
}
function splitKept(existing, state, wanted, now) {
  const keptUntil = {};
  const kept = [];
  const expired = [];
  for (const server of existing) {
    const version = shortDigest(server.digest);
    const until = state.kept[version];
    if (!until || server.digest === wanted) continue;
    if (new Date(until).getTime() > now.getTime()) {
      kept.push(server);
      keptUntil[version] = until;
    } else {
      expired.push(server);
    }
  }
  return { kept, expired, keptUntil };
}
function rollbackTarget(existing, state, now) {
  const candidates = newestFirst(existing.filter((server) => isServing(server) && new Date(state.kept[shortDigest(server.digest)] ?? 0).getTime() > now.getTime()));
  const target = candidates[0];
  if (!target) {
    const versions = Object.keys(state.kept);
    throw new InputError("rollback", versions.length > 0 ? `no kept version still serves (kept: ${versions.map((v) => quote(v)).join(", ")})` : "no previous version is kept: deploy with keep-previous to keep one for a rollback");
  }
  return target;
}

// src/serving/limit.ts
var PARALLEL_REMOVALS = 16;

export {
  windowsPerHold,
  shortDigest,
  parseServiceName,
  parseRoutingChoice,
  ENGINES,
  parseTraefikApi,
  parseDeployInputs,
  DeployError,
  AnswerTooLarge,
  getText,
  warnUndrainable,
  waitReady,
  checkAll,
  openServingEngine,
  deploySummary,
  retireRows,
  retireLogTable,
  retireSummary,
  isServing,
  newestFirst,
  readServiceFigures,
  waitForIdle3 as waitForIdle,
  readRoutingState,
  routingFilePath,
  FileRouting,
  checkFileRouting,
  fileRoutingOf,
  splitKept,
  rollbackTarget,
  PARALLEL_REMOVALS
};
