import { createRequire as __cjsCreateRequire } from 'node:module'; import { fileURLToPath as __cjsFileURLToPath } from 'node:url'; const require = __cjsCreateRequire(import.meta.url); const __cjsFilename = __cjsFileURLToPath(import.meta.url); const __cjsDirname = __cjsFileURLToPath(new URL('.', import.meta.url));
import {
  ENGINES,
  PARALLEL_REMOVALS,
  createLimiter,
  isServing,
  newestFirst,
  openServingEngine,
  parseServiceName,
  parseTraefikApi,
  retireLogTable,
  retireRows,
  retireSummary,
  warnUndrainable
} from "../chunks/chunk-5FGEV4TQ.mjs";
import {
  parseDockerHost
} from "../chunks/chunk-MWJWGTXE.mjs";
import {
  formatDuration,
  input,
  inputOrDefault,
  log,
  parseBoolean,
  parseDuration,
  parseEnum,
  parseInteger,
  runAction,
  setOutputs,
  writeSummary
} from "../chunks/chunk-23GRRWVW.mjs";

// src/serving/retire-spec.ts
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
    engine: parseEnum("engine", inputs.engine, ENGINES),
    dockerHost: inputs["docker-host"]
  };
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

// src/serving/retire.ts
async function runRetire(engine, options, log2) {
  const started = Date.now();
  const now = options.now ?? (() => /* @__PURE__ */ new Date());
  const sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  const policy = { now: now(), keep: options.keep, maxAgeMs: options.maxAgeMs, inUseWindowMs: options.inUseWindowMs };
  const servers = await engine.listServers(options.service);
  let decisions = planRetirement(servers, policy);
  const sampled = decisions.filter((decision) => decision.needsUsage).map((decision) => decision.server);
  if (sampled.length > 0 && options.inUseWindowMs !== void 0) {
    log2.info(`Reading the request counters of ${sampled.length} expired server(s) over the in-use window`);
    const before = await Promise.all(sampled.map((server) => engine.readRequests(server)));
    await sleep(options.inUseWindowMs);
    const after = await Promise.all(sampled.map((server) => engine.readRequests(server)));
    const usage = /* @__PURE__ */ new Map();
    sampled.forEach((server, i) => {
      const a = before[i];
      const b = after[i];
      if (!a.readable) usage.set(server.id, a);
      else if (!b.readable) usage.set(server.id, b);
      else usage.set(server.id, { readable: true, requests: b.requests >= a.requests ? b.requests - a.requests : b.requests, inFlight: b.inFlight });
    });
    decisions = planRetirement(servers, { ...policy, now: policy.now }, usage);
  }
  const entries = decisions.map((decision) => ({ server: decision.server, decision }));
  let prunedImages = [];
  if (!options.dryRun) {
    const byService = /* @__PURE__ */ new Map();
    for (const entry of entries) {
      if (entry.decision.action !== "retire") continue;
      byService.set(entry.server.service, [...byService.get(entry.server.service) ?? [], entry]);
    }
    const limit = createLimiter(PARALLEL_REMOVALS);
    await Promise.all(
      [...byService].map(async ([service, group]) => {
        const lock = await engine.tryLockService(service, log2);
        if (!lock) {
          for (const entry of group) entry.skipped = "a deploy of this service is in progress; left for the next run";
          log2.warning(`Skipped ${group.length} server(s) of ${service}: a deploy of the service holds its lock`);
          return;
        }
        try {
          await Promise.all(
            group.map(
              (entry) => limit(async () => {
                entry.removal = await engine.drainAndRemove(entry.server, { drainTimeoutMs: options.drainTimeoutMs, traefikApi: options.traefikApi }, log2);
              })
            )
          );
        } finally {
          await lock.release();
        }
      })
    );
    warnUndrainable(entries.flatMap((entry) => entry.removal ? [entry.removal] : []), log2);
    if (options.pruneImages) {
      const retiredServers = entries.filter((entry) => entry.removal).map((entry) => entry.server);
      prunedImages = await engine.pruneImages(servers, retiredServers, log2);
    }
  }
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
    engine: inputOrDefault("engine", "docker"),
    "docker-host": input("docker-host")
  };
}
async function main() {
  const spec = parseRetireInputs(getInputs());
  const engine = await openServingEngine(spec.engine, spec.dockerHost);
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
