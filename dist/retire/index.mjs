import { createRequire as __cjsCreateRequire } from 'node:module'; import { fileURLToPath as __cjsFileURLToPath } from 'node:url'; const require = __cjsCreateRequire(import.meta.url); const __cjsFilename = __cjsFileURLToPath(import.meta.url); const __cjsDirname = __cjsFileURLToPath(new URL('.', import.meta.url));
import {
  ENGINES,
  FileRouting,
  PARALLEL_REMOVALS,
  isServing,
  newestFirst,
  openServingEngine,
  parseRoutingChoice,
  parseServiceName,
  parseTraefikApi,
  readRoutingState,
  readServiceFigures,
  retireLogTable,
  retireRows,
  retireSummary,
  routingFilePath,
  warnUndrainable
} from "../chunks/chunk-580068fe39.mjs";
import "../chunks/chunk-a13dcfef2a.mjs";
import {
  createLimiter
} from "../chunks/chunk-e38c5aa950.mjs";
import "../chunks/chunk-de7766be5a.mjs";
import {
  parseDockerHost
} from "../chunks/chunk-8714997f76.mjs";
import "../chunks/chunk-891e70ec9e.mjs";
import {
  InputError,
  ResourceError,
  formatDuration,
  input,
  inputOrDefault,
  log,
  parseBoolean,
  parseDuration,
  parseEnum,
  parseGivenImage,
  parseInteger,
  runAction,
  setOutputs,
  writeSummary
} from "../chunks/chunk-4eaf0c925e.mjs";

// src/serving/retire-spec.ts
var DEFAULT_KEEP_PREPARED = "72h";
function parseRetireInputs(inputs) {
  const spec = {
    service: inputs.service !== void 0 ? parseServiceName("service", inputs.service) : void 0,
    keep: parseInteger("keep", inputs.keep, { min: 0 }),
    maxAgeMs: inputs["max-age"] !== void 0 ? parseDuration("max-age", inputs["max-age"]) : void 0,
    dryRun: parseBoolean("dry-run", inputs["dry-run"]),
    drainTimeoutMs: parseDuration("drain-timeout", inputs["drain-timeout"]),
    traefikApi: parseTraefikApi("traefik-api", inputs["traefik-api"]),
    inUseWindowMs: inputs["in-use-window"] !== void 0 ? parseDuration("in-use-window", inputs["in-use-window"]) : void 0,
    pruneImages: parseBoolean("prune-images", inputs["prune-images"]),
    keepPreparedMs: parseDuration("keep-prepared", inputs["keep-prepared"] ?? DEFAULT_KEEP_PREPARED),
    engine: parseEnum("engine", inputs.engine, ENGINES),
    dockerHost: inputs["docker-host"],
    routingDir: parseRoutingChoice(inputs).dir,
    nodePruneImage: inputs["node-prune-image"] !== void 0 ? parseGivenImage(inputs["node-prune-image"], "node-prune-image").text : void 0
  };
  if (spec.nodePruneImage !== void 0 && spec.engine !== "swarm") throw new InputError("node-prune-image", "applies to engine swarm only (with engine docker, the runner prunes its own engine)");
  if (spec.dockerHost !== void 0) parseDockerHost(spec.dockerHost);
  return spec;
}

// src/serving/retire-plan.ts
function expiryOf(server, policy) {
  if (policy.maxAgeMs !== void 0) return new Date(server.deployedAt.getTime() + policy.maxAgeMs);
  return server.expiresAt;
}
function planRetirement(servers, policy, usage) {
  const protectedIds = /* @__PURE__ */ new Set();
  const byService = /* @__PURE__ */ new Map();
  for (const server of servers) byService.set(server.service, [...byService.get(server.service) ?? [], server]);
  for (const group of byService.values()) {
    for (const server of newestFirst(group.filter(isServing)).slice(0, policy.keep)) protectedIds.add(server.id);
  }
  const now = policy.now.getTime();
  return servers.map((server) => {
    const expiry = expiryOf(server, policy);
    const expired = expiry instanceof Date && expiry.getTime() <= now;
    const base = { server, expiry, expired, needsUsage: false };
    if (expiry === void 0) return { ...base, action: "keep", reason: "no readable expires-at label (set max-age to retire it by age)" };
    if (expiry === null) return { ...base, action: "keep", reason: "never expires" };
    if (!expired) return { ...base, action: "keep", reason: `not expired (expires in ${formatDuration(expiry.getTime() - now)})` };
    if (protectedIds.has(server.id)) {
      return { ...base, action: "keep", reason: `expired, but one of the newest ${policy.keep} serving server${policy.keep === 1 ? "" : "s"} of ${server.service} (keep: ${policy.keep})` };
    }
    const ago = `expired ${formatDuration(now - expiry.getTime())} ago`;
    if (policy.inUseWindowMs !== void 0 && server.state === "running") {
      const seen = usage?.get(server.id);
      const window = formatDuration(policy.inUseWindowMs);
      if (!seen) return { ...base, needsUsage: true, action: "retire", reason: ago };
      if (!seen.readable) return { ...base, action: "keep", reason: `${ago}, but whether it is in use is unknown: ${seen.problem}` };
      if (seen.requests > 0) return { ...base, action: "keep", reason: `in use: ${seen.requests} request${seen.requests === 1 ? "" : "s"} in the last ${window} (${ago})` };
      if ((seen.inFlight ?? 0) > 0) return { ...base, action: "keep", reason: `in use: ${seen.inFlight} request(s) in flight (${ago})` };
      return { ...base, action: "retire", reason: `${ago}, no requests in the last ${window}` };
    }
    return { ...base, action: "retire", reason: server.state === "running" ? ago : `${ago} (${server.state})` };
  });
}

// src/serving/retire-file.ts
async function fileRoutingForRetire(dir, service, provider, traefikApi) {
  const state = await readRoutingState(routingFilePath(dir, service));
  if (!state?.router) return void 0;
  return new FileRouting({ service, rule: state.router.rule, entrypoints: state.router.entrypoints, port: 0, network: "" }, dir, provider, traefikApi);
}
async function withdrawVersions(file, expired, log2, timeoutMs) {
  const state = await file.read();
  const leaving = new Set(expired.map((server) => file.ref(server.digest)));
  const remaining = state.backends.filter((backend) => !leaving.has(backend.service) && backend.weight > 0);
  const stays = /* @__PURE__ */ new Set();
  if (remaining.length === 0) {
    const newest = state.backends.find((backend) => leaving.has(backend.service) && backend.weight > 0);
    if (newest) stays.add(newest.service);
  }
  const backends = state.backends.filter((backend) => !leaving.has(backend.service) || stays.has(backend.service));
  if (backends.length === state.backends.length) return stays;
  if (!backends.some((backend) => backend.weight > 0)) throw new ResourceError(`Routing file ${file.path}`, "no version would be left weighted; nothing was withdrawn");
  log2.info(`Withdrawing ${[...leaving].filter((ref) => !stays.has(ref)).join(", ")} from ${file.routing.service}@file before the in-use window`);
  await file.publish({ backends, kept: state.kept }, log2, timeoutMs);
  return stays;
}
async function versionRequests(engine, file, server) {
  if (file.traefikApi) {
    const figures = await readServiceFigures(`${file.traefikApi}/metrics`, file.ref(server.digest));
    if (figures) return { readable: true, requests: figures.requests, inFlight: figures.open };
  }
  return engine.readRequests(server);
}

// src/serving/retire.ts
function retireLeaseMs(servers, drainTimeoutMs) {
  const rounds = Math.max(1, Math.ceil(servers / PARALLEL_REMOVALS));
  return 15 * 6e4 + rounds * (3 * drainTimeoutMs + STOP_GRACE_MS);
}
var KEEP_PREPARED_MS = 72 * 36e5;
var STOP_GRACE_MS = 3e4;
async function runRetire(engine, options, log2) {
  const started = Date.now();
  const now = options.now ?? (() => /* @__PURE__ */ new Date());
  const sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  const policy = { now: now(), keep: options.keep, maxAgeMs: options.maxAgeMs, inUseWindowMs: options.inUseWindowMs };
  const servers = await engine.listServers(options.service);
  let decisions = planRetirement(servers, policy);
  const usage = /* @__PURE__ */ new Map();
  const sampled = decisions.filter((decision) => decision.needsUsage).map((decision) => decision.server);
  const files = /* @__PURE__ */ new Map();
  if (options.routingDir) {
    for (const service of new Set(servers.map((server) => server.service))) {
      const file = await fileRoutingForRetire(options.routingDir, service, engine.kind, options.traefikApi);
      if (file) files.set(service, file);
    }
  }
  if (sampled.length > 0 && options.inUseWindowMs !== void 0) {
    for (const [service, file] of files) {
      const expired = sampled.filter((server) => server.service === service);
      if (expired.length === 0 || options.dryRun) continue;
      const lock = await engine.tryLockService(service, log2, retireLeaseMs(0, options.drainTimeoutMs));
      if (!lock) continue;
      try {
        const stays = await withdrawVersions(file, expired, log2, options.drainTimeoutMs);
        for (const server of expired) if (stays.has(file.ref(server.digest))) usage.set(server.id, { readable: false, problem: `the only version ${service}@file still routes to, so it was not withdrawn` });
      } finally {
        await lock.release();
      }
    }
    const count = (server) => usage.has(server.id) ? Promise.resolve(usage.get(server.id)) : files.has(server.service) ? versionRequests(engine, files.get(server.service), server) : engine.readRequests(server);
    log2.info(`Reading the request counters of ${sampled.length} expired server(s) over the in-use window`);
    const before = await Promise.all(sampled.map(count));
    await sleep(options.inUseWindowMs);
    const after = await Promise.all(sampled.map(count));
    sampled.forEach((server, i) => {
      const a = before[i];
      const b = after[i];
      if (!a.readable) usage.set(server.id, a);
      else if (!b.readable) usage.set(server.id, b);
      else usage.set(server.id, { readable: true, requests: b.requests >= a.requests ? b.requests - a.requests : b.requests, inFlight: b.inFlight });
    });
    decisions = planRetirement(servers, policy, usage);
  }
  const byService = /* @__PURE__ */ new Map();
  for (const decision of decisions) byService.set(decision.server.service, [...byService.get(decision.server.service) ?? [], { server: decision.server, decision }]);
  let prunedImages = [];
  if (!options.dryRun) {
    const limit = createLimiter(PARALLEL_REMOVALS);
    const services = [...byService].filter(([, group]) => group.some((entry) => entry.decision.action === "retire")).map(([service]) => service);
    const results = await Promise.all(
      services.map(async (service) => {
        const group = byService.get(service);
        const goes2 = group.filter((entry) => entry.decision.action === "retire");
        const lock = await engine.tryLockService(service, log2, retireLeaseMs(goes2.length, options.drainTimeoutMs));
        if (!lock) {
          for (const entry of goes2) entry.skipped = "a deploy of this service is in progress; left for the next run";
          log2.warning(`Skipped ${goes2.length} server(s) of ${service}: a deploy of the service holds its lock`);
          return [];
        }
        try {
          const fresh = await engine.listServers(service);
          const entries2 = planRetirement(fresh, { ...policy, now: now() }, usage).map((decision) => {
            if (decision.needsUsage) {
              return { server: decision.server, decision: { ...decision, action: "keep", needsUsage: false, reason: `${decision.reason}, but it was not watched over the in-use window (it appeared during it); left for the next run` } };
            }
            return { server: decision.server, decision };
          });
          byService.set(service, entries2);
          const file = files.get(service);
          const leaving = entries2.filter((entry) => entry.decision.action === "retire");
          const stays = file && leaving.length > 0 ? await withdrawVersions(
            file,
            leaving.map((entry) => entry.server),
            log2,
            options.drainTimeoutMs
          ) : /* @__PURE__ */ new Set();
          for (const entry of leaving) if (file && stays.has(file.ref(entry.server.digest))) entry.skipped = `the only version ${service}@file routes to: kept`;
          await Promise.all(
            entries2.filter((entry) => entry.decision.action === "retire" && !entry.skipped).map(
              (entry) => limit(async () => {
                if (!await lock.stillHeld()) {
                  entry.skipped = "this retire lost the service lock (its lease ran out and another run took it over); left for the next run";
                  return;
                }
                if (file) await file.waitIdle(engine, entry.server, options.drainTimeoutMs);
                entry.removal = await engine.drainAndRemove(entry.server, { drainTimeoutMs: options.drainTimeoutMs, traefikApi: options.traefikApi, withdrawn: Boolean(file) }, log2);
              })
            )
          );
          const retiredServers = entries2.filter((entry) => entry.removal).map((entry) => entry.server);
          if (options.pruneImages && retiredServers.length > 0 && await lock.stillHeld()) return engine.pruneImages(fresh, retiredServers, log2);
          return [];
        } finally {
          await lock.release();
        }
      })
    );
    prunedImages = results.flat();
    if (options.pruneImages) {
      const lock = (service) => engine.tryLockService(service, log2, retireLeaseMs(0, options.drainTimeoutMs));
      prunedImages.push(...await engine.prunePrepared({ service: options.service, keepMs: options.keepPreparedMs ?? KEEP_PREPARED_MS, now: now(), lock }, log2));
    }
  }
  const entries = [...byService.values()].flat();
  if (!options.dryRun)
    warnUndrainable(
      entries.flatMap((entry) => entry.removal ? [entry.removal] : []),
      log2
    );
  const goes = (entry) => entry.decision.action === "retire" && !entry.skipped;
  return {
    entries,
    retired: entries.filter(goes),
    kept: entries.filter((entry) => !goes(entry)),
    prunedImages,
    dryRun: options.dryRun,
    decidedAt: policy.now,
    seconds: (Date.now() - started) / 1e3
  };
}

// src/actions/retire.ts
function getInputs() {
  return {
    service: input("service"),
    keep: inputOrDefault("keep", "1"),
    "max-age": input("max-age"),
    "dry-run": inputOrDefault("dry-run", "false"),
    "drain-timeout": inputOrDefault("drain-timeout", "60s"),
    "traefik-api": input("traefik-api"),
    "in-use-window": input("in-use-window"),
    "prune-images": inputOrDefault("prune-images", "true"),
    "keep-prepared": inputOrDefault("keep-prepared", "72h"),
    engine: inputOrDefault("engine", "docker"),
    "docker-host": input("docker-host"),
    routing: inputOrDefault("routing", "labels"),
    "routing-dir": input("routing-dir"),
    "node-prune-image": input("node-prune-image")
  };
}
async function main() {
  const spec = parseRetireInputs(getInputs());
  const engine = await openServingEngine(spec.engine, spec.dockerHost, { nodePruneImage: spec.nodePruneImage });
  try {
    const result = await runRetire(engine, spec, log);
    log.info(retireLogTable(retireRows(result)));
    const brief = (entry) => ({
      id: entry.server.id,
      name: entry.server.name,
      service: entry.server.service,
      digest: entry.server.digest,
      reason: entry.skipped ?? entry.decision.reason
    });
    setOutputs({
      retired: result.retired.map((entry) => ({ ...brief(entry), outcome: entry.removal?.outcome ?? (result.dryRun ? "dry-run" : void 0) })),
      kept: result.kept.map(brief)
    });
    await writeSummary(retireSummary(result));
  } finally {
    await engine.close();
  }
}
void runAction(main);
