import { createRequire as __cjsCreateRequire } from 'node:module'; import { fileURLToPath as __cjsFileURLToPath } from 'node:url'; const require = __cjsCreateRequire(import.meta.url); const __cjsFilename = __cjsFileURLToPath(import.meta.url); const __cjsDirname = __cjsFileURLToPath(new URL('.', import.meta.url));
import {
  AnswerTooLarge,
  DeployError,
  PARALLEL_REMOVALS,
  checkAll,
  checkFileRouting,
  deploySummary,
  fileRoutingOf,
  getText,
  isServing,
  newestFirst,
  openServingEngine,
  parseDeployInputs,
  readServiceFigures,
  rollbackTarget,
  shortDigest,
  splitKept,
  waitForIdle,
  waitReady,
  warnUndrainable,
  windowsPerHold
} from "../chunks/chunk-580068fe39.mjs";
import {
  evaluateRules
} from "../chunks/chunk-a13dcfef2a.mjs";
import {
  mapLimit
} from "../chunks/chunk-e38c5aa950.mjs";
import {
  resolveCredentials
} from "../chunks/chunk-de7766be5a.mjs";
import {
  readRunContext
} from "../chunks/chunk-d525671ff4.mjs";
import "../chunks/chunk-8714997f76.mjs";
import "../chunks/chunk-891e70ec9e.mjs";
import {
  InputError,
  ResourceError,
  code,
  escapeCell,
  fenced,
  formatDuration,
  input,
  inputOrDefault,
  log,
  maskEnvValues,
  maskSecret,
  runAction,
  secretInput,
  setOutputs,
  table,
  writeSummary
} from "../chunks/chunk-4eaf0c925e.mjs";

// src/serving/deploy-plan.ts
function planDeploy(existing, digest, replicas, strategy) {
  const same = newestFirst(existing.filter((server) => server.digest === digest));
  const serving = same.filter(isServing);
  const reuse = serving.slice(0, replicas);
  const surplus = serving.slice(replicas);
  const clear = same.filter((server) => !isServing(server));
  const others = existing.filter((server) => server.digest !== digest);
  const drain = strategy === "replace" ? [...newestFirst(others), ...surplus] : [];
  const create = replicas - reuse.length;
  return { reuse, create, clear, drain, unchanged: create === 0 && clear.length === 0 && drain.length === 0 };
}

// src/serving/drain-signal.ts
var GUNICORN_MASTER_SIGNALS = ["SIGHUP", "SIGUSR1", "SIGUSR2", "SIGTTIN", "SIGTTOU", "SIGWINCH"];
function serverArgv(spec, image) {
  const { command, args } = spec.process;
  return [...command ?? image.entrypoint ?? [], ...args ?? (command ? [] : image.cmd ?? [])];
}
var GUNICORN_WORD = /(^|[\s/])gunicorn(\s|$)/;
function checkDrainSignal(spec, image) {
  if (spec.routingChoice.mode !== "labels") return;
  if (spec.engine === "docker" && !spec.healthCmd && !image.healthcheck) return;
  if (!GUNICORN_MASTER_SIGNALS.includes(spec.drainSignal)) return;
  const argv = serverArgv(spec, image);
  if (!argv.some((word) => GUNICORN_WORD.test(word))) return;
  throw new InputError(
    "drain-signal",
    `the server runs gunicorn (${argv.slice(0, 4).join(" ")}\u2026), whose master takes ${spec.drainSignal} as a command of its own${spec.drainSignal === "SIGUSR2" ? " (start a second master beside the first)" : ""}, not as a drain: use routing: file, which drains without a signal, or run gunicorn under a process that turns a signal into your app's drain`
  );
}

// src/rollout/prometheus.ts
var MAX_SAMPLES = 2e5;
var LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
var LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
function parseExposition(text) {
  const samples = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = LINE.exec(line);
    if (!match) continue;
    const value = parseValue(match[3]);
    if (value === void 0) continue;
    const labels = new Map([...(match[2] ?? "").matchAll(LABEL)].map((m) => [m[1], unescape(m[2])]));
    samples.push({ name: match[1], labels, value });
    if (samples.length >= MAX_SAMPLES) break;
  }
  return samples;
}
function parseValue(text) {
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  const value = Number(text);
  return Number.isNaN(value) ? void 0 : value;
}
function unescape(text) {
  return text.replace(/\\(.)/g, (_all, c) => c === "n" ? "\n" : c);
}
function seriesKey(name, labels) {
  const parts = [...labels.entries()].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `${name}{${parts.join(",")}}`;
}
function indexScrape(samples) {
  return new Map(samples.map((sample) => [seriesKey(sample.name, sample.labels), sample]));
}
function counterDelta(before, after) {
  if (!before) return after.value;
  return after.value >= before.value ? after.value - before.value : after.value;
}
function deltas(before, after, name, match) {
  const out = [];
  for (const [key, sample] of after) {
    if (sample.name !== name || !match(sample.labels)) continue;
    out.push({ labels: sample.labels, delta: counterDelta(before.get(key), sample) });
  }
  return out;
}
function histogramQuantile(q, buckets) {
  const sorted = [...buckets].filter((b) => !Number.isNaN(b.le)).sort((a, b) => a.le - b.le);
  if (sorted.length < 2 || sorted[sorted.length - 1].le !== Number.POSITIVE_INFINITY) return void 0;
  let running = 0;
  const monotonic = sorted.map((b) => ({ le: b.le, count: running = Math.max(running, b.count) }));
  const total = monotonic[monotonic.length - 1].count;
  if (total <= 0) return void 0;
  const rank = q * total;
  const index = monotonic.findIndex((b) => b.count >= rank);
  const bucket = monotonic[index];
  if (bucket.le === Number.POSITIVE_INFINITY) return monotonic[monotonic.length - 2].le;
  const lower = index === 0 ? bucket.le > 0 ? 0 : bucket.le : monotonic[index - 1].le;
  const below = index === 0 ? 0 : monotonic[index - 1].count;
  const inBucket = bucket.count - below;
  if (inBucket <= 0) return bucket.le;
  return lower + (bucket.le - lower) * ((rank - below) / inBucket);
}
function windowBuckets(before, after, name, match) {
  const byBound = /* @__PURE__ */ new Map();
  for (const { labels, delta } of deltas(before, after, `${name}_bucket`, match)) {
    const le = parseValue(labels.get("le") ?? "");
    if (le === void 0) continue;
    byBound.set(le, (byBound.get(le) ?? 0) + delta);
  }
  return [...byBound.entries()].map(([le, count]) => ({ le, count }));
}

// src/rollout/figures.ts
var TRAEFIK_REQUESTS = "traefik_service_requests_total";
var TRAEFIK_DURATION = "traefik_service_request_duration_seconds";
var DEFAULT_PREDICTION_METRIC = "model_server_predictions_total";
function trafficFigures(before, after, service) {
  const ofService = (labels) => labels.get("service") === service;
  const counts = deltas(before, after, TRAEFIK_REQUESTS, ofService);
  const requests = sum(counts.map((c) => c.delta));
  const errors = sum(counts.filter((c) => /^5\d\d$/.test(c.labels.get("code") ?? "")).map((c) => c.delta));
  const figures = { requests };
  if (requests > 0) figures.error_rate = errors / requests;
  const p95 = histogramQuantile(0.95, windowBuckets(before, after, TRAEFIK_DURATION, ofService));
  if (p95 !== void 0) figures.latency_p95_ms = p95 * 1e3;
  return figures;
}
function classCounts(pairs, metric = DEFAULT_PREDICTION_METRIC, label = "class") {
  const counts = /* @__PURE__ */ new Map();
  for (const { before, after } of pairs) {
    for (const { labels, delta } of deltas(before, after, metric, (l) => l.has(label))) {
      const name = labels.get(label);
      counts.set(name, (counts.get(name) ?? 0) + delta);
    }
  }
  return counts;
}
function jensenShannon(p, q) {
  const totalP = sum([...p.values()]);
  const totalQ = sum([...q.values()]);
  if (totalP <= 0 || totalQ <= 0) return void 0;
  let divergence = 0;
  for (const name of /* @__PURE__ */ new Set([...p.keys(), ...q.keys()])) {
    const a = (p.get(name) ?? 0) / totalP;
    const b = (q.get(name) ?? 0) / totalQ;
    const m = (a + b) / 2;
    if (a > 0) divergence += 0.5 * a * Math.log2(a / m);
    if (b > 0) divergence += 0.5 * b * Math.log2(b / m);
  }
  return Math.min(1, Math.max(0, divergence));
}
function sum(values) {
  return values.reduce((total, value) => total + value, 0);
}

// src/rollout/file-port.ts
var MAX_METRICS_BYTES = 8 * 1024 * 1024;
var SCRAPE_TIMEOUT_MS = 5e3;
async function scrape(url) {
  const answer = await getText(url, { timeoutMs: SCRAPE_TIMEOUT_MS, maxBytes: MAX_METRICS_BYTES }).catch((error) => {
    throw new ResourceError(`Metrics ${url}`, error instanceof AnswerTooLarge ? `answer larger than ${MAX_METRICS_BYTES} bytes` : `not readable (${error instanceof Error ? error.message : String(error)})`);
  });
  if (answer.status < 200 || answer.status >= 300) throw new ResourceError(`Metrics ${url}`, `answered HTTP ${answer.status}`);
  return indexScrape(parseExposition(answer.body));
}
async function scrapeServer(url) {
  return scrape(`${url.replace(/\/+$/, "")}/metrics`).catch(() => /* @__PURE__ */ new Map());
}
var FileRolloutPort = class {
  constructor(options) {
    this.options = options;
  }
  options;
  progress;
  weights = { stable: 100, canary: 0, mirror: 0 };
  promoted = false;
  async publish() {
    const { file, table: table2, stableRef, canaryRef, timeoutMs, log: log2 } = this.options;
    const others = table2.backends.filter((b) => b.service !== stableRef && b.service !== canaryRef).map((b) => ({ ...b, weight: 0 }));
    const backends = [...others, { service: stableRef, weight: this.weights.stable }, { service: canaryRef, weight: this.weights.canary }];
    const state = { backends, kept: table2.kept };
    if (this.weights.mirror > 0) state.mirror = { service: canaryRef, percent: this.weights.mirror };
    if (this.progress) state.rollout = this.progress;
    await file.publish(state, log2, timeoutMs);
  }
  async setWeight(weight) {
    this.weights = { stable: 100 - weight, canary: weight, mirror: 0 };
    await this.publish();
  }
  async mirror(percent) {
    this.weights = { stable: 100, canary: 0, mirror: percent };
    await this.publish();
  }
  async record(progress) {
    if (!progress && this.promoted) return;
    const before = this.progress;
    const routed = this.weights.canary > 0 || this.weights.mirror > 0;
    const ended = before !== void 0 && !progress && routed;
    const sameStep = before !== void 0 && progress !== void 0 && before.phase === progress.phase && before.step === progress.step && routed;
    this.progress = progress;
    if (ended || sameStep) await this.publish();
  }
  async measure() {
    const { metricsUrl, stableUrls, canaryUrls } = this.options;
    const read = () => Promise.all([scrape(metricsUrl), Promise.all(stableUrls.map(scrapeServer)), Promise.all(canaryUrls.map(scrapeServer))]);
    let before = await read();
    return async () => {
      const after = await read();
      const stableClasses = classCounts(before[1].map((b, i) => ({ before: b, after: after[1][i] })));
      const canaryClasses = classCounts(before[2].map((b, i) => ({ before: b, after: after[2][i] })));
      const stable = { ...trafficFigures(before[0], after[0], this.options.stableRef) };
      const canary = { ...trafficFigures(before[0], after[0], this.options.canaryRef) };
      const shift = jensenShannon(canaryClasses, stableClasses);
      if (shift !== void 0) canary.prediction_shift = shift;
      before = after;
      return { stable, canary };
    };
  }
  /** Nothing to do here: deploy's own replace path moves the rest of the weight and drains the stable version. */
  promote() {
    this.promoted = true;
    return Promise.resolve();
  }
  async rollback() {
    this.weights = { stable: 100, canary: 0, mirror: 0 };
    this.progress = void 0;
    await this.publish();
    const idle = await waitForIdle(async () => {
      const figures = await readServiceFigures(this.options.metricsUrl, this.options.canaryRef);
      return { inFlight: figures?.open, requests: figures?.requests };
    }, this.options.drainTimeoutMs);
    if (idle) return;
    this.options.log.warning(`${this.options.canaryRef} still had requests in flight after the rollback; its servers are removed now`);
  }
};

// src/rollout/rollout.ts
function planStart(recorded, version, steps) {
  if (!recorded) return { kind: "fresh" };
  if (recorded.version !== version || recorded.step < 0 || recorded.step >= steps.length) return { kind: "restore-stable", recorded };
  const failures = Number.isSafeInteger(recorded.failures) && recorded.failures > 0 ? recorded.failures : 0;
  return { kind: "resume", phase: recorded.phase, step: recorded.step, failures };
}
function figuresAsMetrics(figures) {
  const entries = Object.entries(figures).filter((entry) => typeof entry[1] === "number" && Number.isFinite(entry[1]));
  return { entries: entries.map(([name, value]) => ({ name, value })), numbers: new Map(entries) };
}
function analyse(spec, figures) {
  const stable = { ...figures.stable, prediction_shift: 0 };
  const evaluation = evaluateRules(spec.rules, figuresAsMetrics(figures.canary), figuresAsMetrics(stable), "fail");
  const results = evaluation.results.map((result) => result.reason === "missing from the metrics file" ? { ...result, reason: "not measured in this window (no requests or no such metric)" } : result);
  return { results, passed: evaluation.passed };
}
async function runRollout(spec, version, port, clock, start = { kind: "fresh" }) {
  const windows = [];
  const failureLimit = spec.analysis.failureLimit;
  let failures = start.kind === "resume" ? start.failures : 0;
  let routed = false;
  const record = (phase, step, weight) => port.record({ version, phase, step, weight, failures, at: clock.now().toISOString() });
  const hold = async (phase, step, weight, durationMs) => {
    const count = windowsPerHold(spec.analysis, durationMs);
    const cut = await port.measure();
    const begin = clock.now().getTime();
    let startedAt = clock.now().toISOString();
    for (let window = 0; window < count; window++) {
      await clock.sleep(Math.max(0, begin + Math.round(durationMs * (window + 1) / count) - clock.now().getTime()));
      const figures = await cut();
      const endedAt = clock.now().toISOString();
      const judged = analyse(spec, figures);
      if (!judged.passed) failures++;
      const report = { phase, step, weight, window, windows: count, figures, ...judged, failures, startedAt, endedAt };
      windows.push(report);
      startedAt = endedAt;
      if (judged.passed) continue;
      if (failures > failureLimit) return report;
      await record(phase, step, phase === "shadow" ? 0 : weight);
    }
    return void 0;
  };
  const rolledBack = async (report) => {
    await port.rollback();
    await port.record(void 0);
    const result = report.results.find((r) => r.outcome === "fail");
    const { phase, weight, step, window } = report;
    return { verdict: "rolled-back", windows, failureLimit, failed: { phase, weight, step, window, windows: report.windows, result } };
  };
  const promote = async () => {
    await port.promote();
    await port.record(void 0);
    return { verdict: "promoted", windows, failureLimit };
  };
  try {
    if (start.kind === "restore-stable") {
      await port.rollback();
      await port.record(void 0);
    }
    let first = start.kind === "resume" && start.phase === "canary" ? start.step : 0;
    if (spec.strategy === "shadow" && !(start.kind === "resume" && start.phase === "canary")) {
      const shadow = spec.shadow;
      await record("shadow", 0, 0);
      routed = true;
      await port.mirror(shadow.mirrorPercent);
      const failed = await hold("shadow", 0, shadow.mirrorPercent, shadow.durationMs);
      await port.mirror(0);
      if (failed) return await rolledBack(failed);
      if (shadow.after === "replace") return await promote();
      first = 0;
    }
    const weights = spec.canary.steps;
    for (let index = first; index < weights.length; index++) {
      const weight = weights[index];
      await record("canary", index, weight);
      routed = true;
      if (weight >= 100) return await promote();
      await port.setWeight(weight);
      const failed = await hold("canary", index, weight, spec.canary.stepDurationMs);
      if (failed) return await rolledBack(failed);
    }
    return await promote();
  } catch (error) {
    if (routed) {
      await port.rollback().catch(() => {
      });
      await port.record(void 0).catch(() => {
      });
    }
    throw error;
  }
}

// src/rollout/deploy-rollout.ts
var systemClock = {
  now: () => /* @__PURE__ */ new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms))
};
function isProgress(value) {
  const v = value;
  return typeof v === "object" && v !== null && typeof v.version === "string" && (v.phase === "canary" || v.phase === "shadow") && Number.isInteger(v.step) && typeof v.weight === "number";
}
async function runFileRollout(args) {
  const { file, table: table2, progressive, log: log2 } = args;
  const canaryRef = file.ref(args.digest);
  const recorded = isProgress(table2.rollout) ? table2.rollout : void 0;
  const recordedRef = recorded && recorded.version !== args.version ? args.existing.find((s) => s.digest.replace(/^sha256:/, "").startsWith(recorded.version)) : void 0;
  const stable = table2.backends.filter((b) => b.weight > 0 && b.service !== canaryRef && (!recordedRef || b.service !== file.ref(recordedRef.digest)));
  if (stable.length === 0) {
    log2.info(`${progressive.strategy}: ${args.spec.routing.service} has no stable version in its routing table to compare with, so the new version takes all traffic at once`);
    return void 0;
  }
  if (stable.length > 1) {
    throw new ResourceError(
      `Routing file ${file.path}`,
      `${stable.length} versions carry traffic (${stable.map((b) => b.service).join(", ")}); a ${progressive.strategy} compares the new version with one stable version: deploy with strategy replace first`
    );
  }
  const stableRef = stable[0].service;
  const stableUrls = args.existing.filter((s) => file.ref(s.digest) === stableRef && s.url).map((s) => s.url);
  const port = new FileRolloutPort({
    file,
    table: table2,
    stableRef,
    canaryRef,
    metricsUrl: progressive.metricsUrl,
    stableUrls,
    canaryUrls: args.newServers.filter((s) => s.url).map((s) => s.url),
    timeoutMs: args.spec.healthTimeoutMs,
    drainTimeoutMs: args.spec.drainTimeoutMs,
    log: log2
  });
  const start = planStart(recorded, args.version, progressive.canary.steps);
  if (start.kind === "resume") log2.info(`Resuming the ${progressive.strategy} of ${args.version} at its recorded ${start.phase} step ${start.step + 1}${start.failures > 0 ? ` with ${start.failures} failed window(s) counted` : ""}`);
  if (start.kind === "restore-stable") log2.warning(`An interrupted rollout of ${start.recorded.version} was recorded: its traffic goes back to ${stableRef} first`);
  const result = await runRollout(progressive, args.version, port, args.clock ?? systemClock, start);
  for (const w of result.windows) {
    log2.info(
      `${w.phase} at ${w.weight}%, window ${w.window + 1} of ${w.windows}: ${w.passed ? "passed" : `failed (${w.failures} failed of ${result.failureLimit} allowed)`} (canary ${JSON.stringify(w.figures.canary)}, stable ${JSON.stringify(w.figures.stable)})`
    );
  }
  return result;
}

// src/rollout/summary.ts
function show(value) {
  if (value === void 0 || !Number.isFinite(value)) return "\u2013";
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
}
function verdict(result) {
  const mark = result.outcome === "pass" ? "\u2705 pass" : result.outcome === "skip" ? "\u2796 skip" : "\u274C fail";
  const detail = result.reason ? ` (${escapeCell(result.reason)})` : result.threshold !== void 0 ? ` (${show(result.value)} vs ${show(result.threshold)})` : "";
  return `${mark}${detail}`;
}
function holdLabel(window) {
  return window.phase === "shadow" ? `shadow, ${window.weight}% mirrored` : `canary at ${window.weight}%`;
}
function windowNote(result) {
  const failed = result.failed;
  if (!failed || failed.windows === 1 && result.failureLimit === 0) return "";
  const failures = result.windows.at(-1)?.failures ?? 0;
  return ` in window ${failed.window + 1} of ${failed.windows} (${failures} failed windows, failure-limit ${result.failureLimit})`;
}
function holdsOf(windows) {
  const groups = [];
  for (const window of windows) {
    const last = groups.at(-1)?.at(-1);
    if (last && last.phase === window.phase && last.step === window.step && window.window > last.window) groups.at(-1).push(window);
    else groups.push([window]);
  }
  return groups;
}
var time = (iso) => iso.slice(11, 19);
var pair = (window, key) => `${show(window.figures.stable[key])} / ${show(window.figures.canary[key])}`;
function renderHold(windows, index, failureLimit) {
  const first = windows[0];
  const rolledBack = windows.some((w) => !w.passed && w.failures > failureLimit);
  const newSide = first.phase === "shadow" ? "shadow" : "canary";
  const rows = windows.map((w) => [
    `${w.window + 1} of ${w.windows}`,
    `${time(w.startedAt)}\u2013${time(w.endedAt)}`,
    pair(w, "requests"),
    pair(w, "error_rate"),
    pair(w, "latency_p95_ms"),
    show(w.figures.canary.prediction_shift),
    ...w.results.map(verdict),
    w.passed ? "\u2705" : `\u274C failure ${w.failures}, limit ${failureLimit}`
  ]);
  const columns = [
    "window",
    "time (UTC)",
    { header: `requests (stable / ${newSide})`, align: "right" },
    { header: `error rate (stable / ${newSide})`, align: "right" },
    { header: `p95 latency ms (stable / ${newSide})`, align: "right" },
    { header: "prediction shift (JS)", align: "right" },
    ...first.results.map((result) => code(result.rule.text)),
    "window verdict"
  ];
  return [`#### Step ${index + 1}: ${holdLabel(first)} ${rolledBack ? "\u274C" : "\u2705"}`, "", table(columns, rows)].join("\n");
}
function renderFigureChart(windows, key, title) {
  if (windows.length === 0) return void 0;
  const series = (side) => windows.map((w) => w.figures[side][key] ?? 0);
  const stable = series("stable");
  const canary = series("canary");
  const top = Math.max(...stable, ...canary);
  const labels = holdsOf(windows).flatMap((hold, index) => hold.map((w) => `"${index + 1}${w.windows > 1 ? `.${w.window + 1}` : ""}: ${w.phase === "shadow" ? "shadow" : `${w.weight}%`}"`));
  const line = (values) => `  line [${values.map((v) => show(v) === "\u2013" ? "0" : show(v)).join(", ")}]`;
  return fenced(
    "mermaid",
    [
      "xychart-beta",
      `  title "${title} per window (first line: stable, second: new version)"`,
      `  x-axis [${labels.join(", ")}]`,
      `  y-axis "${title}" 0 --> ${top > 0 ? Number((top * 1.2).toPrecision(3)) : 1}`,
      line(stable),
      line(canary)
    ].join("\n")
  );
}
function renderRolloutSummary(result) {
  const lines = [`### Rollout: ${result.verdict === "promoted" ? "promoted \u2705" : "rolled back \u274C"}`, ""];
  if (result.failed) {
    const { phase, weight, result: rule } = result.failed;
    lines.push(`Rule ${code(rule.rule.text)} failed ${phase === "shadow" ? `in the shadow phase (${weight}% mirrored)` : `at ${weight}%`}${windowNote(result)}: ${verdict(rule)}. All traffic went back to the stable version.`, "");
  }
  const failures = result.windows.at(-1)?.failures ?? 0;
  lines.push(`Failed windows: ${failures} of ${result.windows.length}; failure-limit ${result.failureLimit}, counted over the whole rollout.`, "");
  holdsOf(result.windows).forEach((hold, index) => lines.push(renderHold(hold, index, result.failureLimit), ""));
  for (const chart of [renderFigureChart(result.windows, "error_rate", "error rate"), renderFigureChart(result.windows, "latency_p95_ms", "p95 latency ms")]) {
    if (chart) lines.push(chart, "");
  }
  return lines.join("\n");
}
function rolloutOutputs(result) {
  const figures = result.windows.map((w) => ({
    phase: w.phase,
    step: w.step + 1,
    weight: w.weight,
    window: w.window + 1,
    windows: w.windows,
    startedAt: w.startedAt,
    endedAt: w.endedAt,
    stable: w.figures.stable,
    canary: w.figures.canary,
    passed: w.passed,
    failures: w.failures,
    rules: w.results.map((r) => ({ rule: r.rule.text, outcome: r.outcome, value: r.value ?? null, threshold: r.threshold ?? null, ...r.reason ? { reason: r.reason } : {} }))
  }));
  return { verdict: result.verdict, "failed-rule": result.failed?.result.rule.text ?? "", "rollout-figures": JSON.stringify(figures) };
}

// src/serving/deploy.ts
async function runDeploy(engine, spec, log2, hooks = {}) {
  const t0 = Date.now();
  const timings = { pullMs: 0, startMs: 0, healthyMs: 0, traefikMs: 0, drainMs: 0, totalMs: 0 };
  const file = fileRoutingOf(spec, engine.kind);
  const image = spec.options.rollback ? await rollbackImage(engine, spec, file) : await engine.pullImage(spec, log2);
  timings.pullMs = Date.now() - t0;
  if (spec.options.rollback) log2.info(`Rolling ${spec.routing.service} back to its kept version ${shortDigest(image.digest)}: no pull, no start`);
  else log2.info(`${image.pulled ? "Pulled" : "Found"} ${spec.image.text}${spec.image.text.includes(image.digest) ? "" : ` (digest ${image.digest})`} in ${formatDuration(timings.pullMs)}`);
  if (!spec.options.rollback) checkDrainSignal(spec, image);
  if (!spec.healthCmd && !image.healthcheck && !spec.options.healthPath && !spec.options.rollback) {
    log2.warning(
      `${spec.image.text} declares no HEALTHCHECK and no health-cmd was given: Traefik will route to each new server as soon as it starts, before the model is ready, and a drain cannot be confirmed (give health-path, or use routing: file)`
    );
  }
  const lock = await engine.lockDeploy(spec, image, log2);
  try {
    return await deployLocked();
  } finally {
    await lock.release();
  }
  async function deployLocked() {
    const { service } = spec.routing;
    const now = /* @__PURE__ */ new Date();
    const all = await engine.listServers(service);
    const table2 = file ? await file.read() : { backends: [], kept: {} };
    const kept = file ? splitKept(all, table2, image.digest, now) : { kept: [], expired: [], keptUntil: {} };
    if (spec.options.rollback && !all.some((server) => server.digest === image.digest && isServing(server))) {
      throw new InputError("rollback", `the kept version ${shortDigest(image.digest)} stopped serving before the lock was taken`);
    }
    const existing = all.filter((server) => !kept.kept.includes(server) && !kept.expired.includes(server));
    const unitReplicas = engine.unit === "server" ? spec.replicas : 1;
    const plan = planDeploy(existing, image.digest, unitReplicas, spec.strategy);
    const rescale = engine.unit === "version" ? plan.reuse.filter((server) => server.replicas !== void 0 && server.replicas !== spec.replicas) : [];
    const routedAlready = !file || table2.backends.some((b) => b.service === file.ref(image.digest) && b.weight > 0) && (spec.strategy === "add" || table2.backends.length === 1);
    const finish = (servers, removed, unchanged) => {
      timings.totalMs = Date.now() - t0;
      return { digest: image.digest, image: image.reference, servers, removed, unchanged, timings };
    };
    if (plan.unchanged && rescale.length === 0 && routedAlready && kept.expired.length === 0) {
      const servers = await engine.serversOf(plan.reuse, spec);
      log2.info(`${service} already serves ${shortDigest(image.digest)} with ${servers.length} server(s): nothing to change`);
      return finish(servers, [], true);
    }
    for (const leftover of plan.clear) {
      log2.info(`Removing ${leftover.name}: same image, but ${leftover.state}${leftover.health !== "none" ? `/${leftover.health}` : ""} (left by an earlier deploy)`);
      await engine.removeServer(leftover, log2);
    }
    let started;
    let confirmed = false;
    try {
      const startAt = Date.now();
      let reused = await engine.serversOf(plan.reuse, spec);
      if (rescale.length > 0) {
        const before = new Set(reused.map((server) => server.id));
        for (const server of rescale) await engine.scaleVersion(server, spec, log2);
        reused = (await engine.serversOf(plan.reuse, spec)).map((server) => ({ ...server, reused: before.has(server.id) }));
        timings.healthyMs = Date.now() - startAt;
      }
      let fresh = [];
      if (plan.create > 0) {
        started = await engine.startServers(spec, image, plan.create, log2);
        timings.startMs = Date.now() - startAt;
        const healthyAt = Date.now();
        const outcome = await engine.waitServing(spec, image, started);
        if ("failure" in outcome) throw await engine.discardStarted(started, image, outcome.failure);
        fresh = outcome.servers;
        const failure = await probeReady(fresh, healthyAt);
        if (failure) throw await engine.discardStarted(started, image, { id: failure.server.id, problem: `was not ready: ${failure.problem}` });
        timings.healthyMs = Date.now() - healthyAt;
        log2.info(`Serving: ${fresh.map((s) => `${s.name} (${s.url ?? "no address"})`).join(", ")} after ${formatDuration(timings.healthyMs)}`);
      } else if (rescale.length === 0) {
        log2.info(`${reused.map((s) => s.name).join(", ")} already serve ${shortDigest(image.digest)}: no new server needed`);
      }
      const unvouched = new Set(plan.reuse.filter((server) => server.health === "none" && server.url).map((server) => server.id));
      const reusedFailure = await probeReady(
        reused.filter((server) => unvouched.has(server.id)),
        startAt
      );
      if (reusedFailure) throw new ResourceError(`Service ${service}`, `${reusedFailure.server.name}, already running ${shortDigest(image.digest)}, was not ready: ${reusedFailure.problem}; the older servers were not touched`);
      const servers = [...reused, ...fresh];
      const routedAt = Date.now();
      const problem = await engine.confirmRouted(spec, servers);
      if (problem) {
        if (!started) throw new ResourceError(`Service ${service}`, `${problem}; the older servers were not touched`);
        throw await engine.discardStarted(started, image, { problem: `was serving, but ${problem}` });
      }
      let drain = plan.drain;
      if (file) {
        if (!await lock.stillHeld()) throw lostLock(service);
        if (spec.progressive) await progressive(file, table2, all, servers, started);
        drain = await publishTable(file, table2, plan.drain, kept.keptUntil, now);
        drain = [...drain, ...kept.expired];
      }
      timings.traefikMs = Date.now() - routedAt;
      confirmed = true;
      const drainAt = Date.now();
      let removed = [];
      if (drain.length > 0) {
        if (!await lock.stillHeld()) throw lostLock(service);
        removed = await mapLimit(drain, PARALLEL_REMOVALS, async (server) => {
          if (file) {
            const idle = await file.waitIdle(engine, server, spec.drainTimeoutMs);
            if (!idle) log2.warning(`${server.name} still had requests in flight ${formatDuration(spec.drainTimeoutMs)} after it left the routing table; stopping it with its grace period`);
          } else {
            log2.info(`Draining ${server.name} (${shortDigest(server.digest)}, ${server.state}${server.health !== "none" ? `/${server.health}` : ""})`);
          }
          return engine.drainAndRemove(server, { drainTimeoutMs: spec.drainTimeoutMs, traefikApi: spec.traefikApi, withdrawn: Boolean(file) }, log2);
        });
        warnUndrainable(removed, log2);
      } else if (spec.strategy === "add") {
        const older = existing.filter((server) => server.digest !== image.digest).length;
        if (older > 0) log2.info(`strategy add: ${older} older server(s) keep serving beside the new one(s) until retire removes them`);
      }
      timings.drainMs = Date.now() - drainAt;
      return finish(servers, removed, false);
    } catch (error) {
      if (error instanceof DeployError) throw error;
      if (!confirmed && started) await engine.discardStarted(started, image, { problem: "was removed" }).catch(() => {
      });
      throw error;
    }
  }
  async function probeReady(servers, since) {
    const path = spec.options.healthPath;
    if (!path || servers.length === 0) return void 0;
    const remaining = Math.max(1e3, spec.healthTimeoutMs - (Date.now() - since));
    const probes = await Promise.all(servers.map((server) => server.url ? waitReady(server.url, path, remaining) : Promise.resolve(`${server.name} has no address on ${spec.routing.network}`)));
    const failed = probes.findIndex(Boolean);
    return failed >= 0 ? { server: servers[failed], problem: probes[failed] } : void 0;
  }
  async function progressive(file2, table2, all, servers, started) {
    const outcome = await runFileRollout({ spec, progressive: spec.progressive, file: file2, table: table2, digest: image.digest, version: shortDigest(image.digest), newServers: servers, existing: all, log: log2 });
    if (!outcome) return;
    await hooks.onRollout?.(outcome);
    if (!await lock.stillHeld()) throw lostLock(spec.routing.service);
    if (outcome.verdict === "promoted") return;
    const failed = outcome.failed;
    const problem = `failed the ${spec.progressive.strategy} analysis ${failed.phase === "shadow" ? "while shadowing" : `at ${failed.weight}%`}: ${failed.result.rule.text} (${failed.result.reason ?? `${failed.result.value} against ${failed.result.threshold}`})${windowNote(outcome)}; all traffic is back on the stable version`;
    if (started) throw await engine.discardStarted(started, image, { problem });
    const leftovers = all.filter((server) => server.digest === image.digest);
    await mapLimit(leftovers, PARALLEL_REMOVALS, (server) => engine.drainAndRemove(server, { drainTimeoutMs: spec.drainTimeoutMs, traefikApi: spec.traefikApi, withdrawn: true }, log2));
    throw new DeployError(`${shortDigest(image.digest)} ${problem}`);
  }
  async function publishTable(file2, table2, planned, keptUntil, now) {
    const wanted = file2.ref(image.digest);
    const leaving = new Set(planned.map((server) => file2.ref(server.digest)));
    const stay = spec.strategy === "add" ? table2.backends.filter((b) => b.service !== wanted && !leaving.has(b.service) && b.weight > 0) : [];
    const kept = { ...keptUntil };
    delete kept[shortDigest(image.digest)];
    let drain = [...planned];
    if (spec.options.keepPreviousMs !== void 0) {
      const until = new Date(now.getTime() + spec.options.keepPreviousMs).toISOString();
      const previous = planned.filter((server) => server.state === "running" && table2.backends.some((b) => b.service === file2.ref(server.digest) && b.weight > 0));
      for (const server of previous) kept[shortDigest(server.digest)] = until;
      drain = planned.filter((server) => !previous.includes(server));
      if (previous.length > 0) log2.info(`Keeping ${[...new Set(previous.map((s) => shortDigest(s.digest)))].join(", ")} at weight 0 until ${until} for a rollback`);
    }
    await file2.publish({ backends: [...stay, { service: wanted, weight: 1 }], kept }, log2, spec.healthTimeoutMs);
    return drain;
  }
}
function lostLock(service) {
  return new ResourceError(`Service ${service}`, "this deploy lost its lock (it outlived its lease and another run took it over); the older servers were left running");
}
async function rollbackImage(engine, spec, file) {
  const target = rollbackTarget(await engine.listServers(spec.routing.service), await file.read(), /* @__PURE__ */ new Date());
  return { digest: target.digest, reference: target.image, id: target.imageId ?? target.image, healthcheck: target.health !== "none", pulled: false };
}

// src/serving/prepare.ts
async function runPrepare(engine, spec, log2) {
  const started = Date.now();
  const prepared = await engine.prepareImage(spec, log2);
  const ms = Date.now() - started;
  const what = prepared.layersFetched ? "fetched its layers" : prepared.pulled ? "every layer was already present" : "already present, nothing pulled";
  log2.info(`Prepared ${spec.image.text} (${shortDigest(prepared.digest)}) for ${spec.routing.service} in ${formatDuration(ms)}: ${what}; marked ${prepared.mark}. Nothing was started and no routing changed.`);
  return { ...prepared, ms };
}
function prepareSummary(spec, prepared) {
  const fetched = prepared.layersFetched ? "layers fetched from the registry" : prepared.pulled ? "every layer already present" : "already present: nothing pulled";
  return [
    `## deploy (prepare): ${code(spec.routing.service)} \u2190 ${code(shortDigest(prepared.digest))}`,
    "",
    `${code(prepared.reference)} is on the engine (${fetched}, ${formatDuration(prepared.ms)}), marked ${code(prepared.mark)}. No server was started and no routing changed; a deploy of this digest will not pull.`,
    ""
  ].join("\n");
}

// src/actions/deploy.ts
function getInputs() {
  return {
    image: input("image") ?? "",
    service: input("service") ?? "",
    rule: input("rule") ?? "",
    entrypoints: inputOrDefault("entrypoints", "web"),
    port: inputOrDefault("port", "8080"),
    network: input("network") ?? "",
    replicas: inputOrDefault("replicas", "1"),
    strategy: inputOrDefault("strategy", "replace"),
    ttl: inputOrDefault("ttl", "7d"),
    "health-timeout": inputOrDefault("health-timeout", "5m"),
    "health-interval": inputOrDefault("health-interval", "2s"),
    "drain-timeout": inputOrDefault("drain-timeout", "60s"),
    "health-cmd": input("health-cmd"),
    "drain-signal": inputOrDefault("drain-signal", "SIGUSR2"),
    env: input("env"),
    gpus: input("gpus"),
    "traefik-api": input("traefik-api"),
    engine: inputOrDefault("engine", "docker"),
    "docker-host": input("docker-host"),
    "registry-username": input("registry-username"),
    "registry-password": secretInput("registry-password"),
    routing: inputOrDefault("routing", "labels"),
    "routing-dir": input("routing-dir"),
    "health-path": input("health-path"),
    "keep-previous": input("keep-previous"),
    rollback: inputOrDefault("rollback", "false"),
    "node-registry-username": input("node-registry-username"),
    "node-registry-password": secretInput("node-registry-password"),
    steps: input("steps"),
    "step-duration": input("step-duration"),
    "analysis-interval": input("analysis-interval"),
    "failure-limit": input("failure-limit"),
    analysis: input("analysis"),
    "mirror-percent": input("mirror-percent"),
    "shadow-duration": input("shadow-duration"),
    "after-shadow": input("after-shadow"),
    "traefik-metrics": input("traefik-metrics"),
    prepare: inputOrDefault("prepare", "false"),
    command: input("command"),
    args: input("args"),
    "shm-size": input("shm-size"),
    memory: input("memory"),
    cpus: input("cpus"),
    ulimits: input("ulimits"),
    "metrics-port": input("metrics-port"),
    "metrics-path": input("metrics-path"),
    "request-metric": input("request-metric")
  };
}
async function main() {
  const context = readRunContext();
  const spec = parseDeployInputs(getInputs(), {
    gitSha: context.pullRequest?.headSha || context.sha || void 0,
    runUrl: context.runUrl,
    pr: context.pullRequest?.number
  });
  maskEnvValues(spec.env.values());
  spec.credentials ??= (await resolveCredentials(spec.image.registry, { serverUrl: context.serverUrl, env: process.env, mask: maskSecret })).credentials;
  const engine = await openServingEngine(spec.engine, spec.dockerHost);
  try {
    if (spec.prepare) {
      const prepared = await runPrepare(engine, spec, log);
      setOutputs({ digest: prepared.digest, "layers-fetched": String(prepared.layersFetched), containers: [], removed: [] });
      await writeSummary(prepareSummary(spec, prepared));
      return;
    }
    await checkAll([engine.checkDeploy(spec), spec.routingChoice.dir ? checkFileRouting(spec.routingChoice.dir, spec.traefikApi) : void 0]);
    const result = await runDeploy(engine, spec, log, {
      // Written before the deploy goes on or fails, so a rolled-back canary still reports its steps.
      onRollout: async (rollout) => {
        setOutputs(rolloutOutputs(rollout));
        await writeSummary(renderRolloutSummary(rollout));
      }
    });
    setOutputs({
      containers: result.servers,
      removed: result.removed,
      digest: result.digest
    });
    await writeSummary(deploySummary(spec, result));
  } finally {
    await engine.close();
  }
}
void runAction(main);
