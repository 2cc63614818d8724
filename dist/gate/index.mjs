import { createRequire as __cjsCreateRequire } from 'node:module'; import { fileURLToPath as __cjsFileURLToPath } from 'node:url'; const require = __cjsCreateRequire(import.meta.url); const __cjsFilename = __cjsFileURLToPath(import.meta.url); const __cjsDirname = __cjsFileURLToPath(new URL('.', import.meta.url));
import {
  createGitHubClient,
  describeGitHubError,
  gateStatusContext,
  httpStatusOf,
  setCommitStatus
} from "../chunks/chunk-694496d215.mjs";
import {
  ImageNotFoundError,
  ImageShapeError,
  Label,
  PlatformNotFoundError,
  RegistryClient,
  imageLabels,
  resolveImage
} from "../chunks/chunk-67c41fb2ca.mjs";
import {
  evaluateRules,
  parseRules,
  violationsToJson
} from "../chunks/chunk-a13dcfef2a.mjs";
import {
  explainAuthError,
  parseCredentialInputs,
  resolveCredentials
} from "../chunks/chunk-de7766be5a.mjs";
import "../chunks/chunk-dbc595cd1e.mjs";
import {
  loadMetricsFile,
  loadMetricsInput,
  parseMetrics
} from "../chunks/chunk-6b0b3132de.mjs";
import {
  readRunContext
} from "../chunks/chunk-d525671ff4.mjs";
import "../chunks/chunk-891e70ec9e.mjs";
import {
  InputError,
  __toESM,
  code,
  escapeCell,
  fenced,
  input,
  isRegistryImage,
  log,
  maskSecret,
  parseBoolean,
  parseEnum,
  parseImageReference,
  quote,
  require_promises,
  runAction,
  secretInput,
  setOutputs,
  table,
  truncate,
  writeSummary
} from "../chunks/chunk-4eaf0c925e.mjs";

// src/github/identity.ts
async function tokenLogin(client) {
  try {
    const { data } = await client.rest.users.getAuthenticated();
    if (data.login) return data.login;
  } catch {
  }
  try {
    const answer = await client.graphql("query { viewer { login } }");
    return answer.viewer?.login || void 0;
  } catch {
    return void 0;
  }
}
function sameLogin(a, b) {
  return typeof a === "string" && typeof b === "string" && a.toLowerCase() === b.toLowerCase();
}

// src/github/comments.ts
var COMMENT_BODY_LIMIT = 65536;
function stickyCommentMarker(key) {
  const encoded = encodeURIComponent(key).replace(/[-!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `<!-- train-to-serve:sticky-comment key=${encoded} -->`;
}
function hasMarker(body, marker) {
  return typeof body === "string" && (body === marker || body.startsWith(`${marker}
`) || body.startsWith(`${marker}\r
`));
}
async function listStickyComments(client, ref, marker, author, firstOnly) {
  const found = [];
  const pages = client.paginate.iterator(client.rest.issues.listComments, { owner: ref.owner, repo: ref.repo, issue_number: ref.issueNumber, per_page: 100 });
  for await (const { data } of pages) {
    for (const comment of data) {
      if (hasMarker(comment.body, marker) && sameLogin(comment.user?.login, author)) found.push({ id: comment.id, author: comment.user.login, url: comment.html_url, body: comment.body ?? "" });
    }
    if (firstOnly && found.length > 0) break;
  }
  return found.sort((a, b) => a.id - b.id);
}
async function findStickyComment(client, ref) {
  const author = ref.author ?? await tokenLogin(client);
  if (!author) return void 0;
  return (await listStickyComments(client, ref, stickyCommentMarker(ref.key), author, true))[0];
}
async function upsertStickyComment(client, ref) {
  const marker = stickyCommentMarker(ref.key);
  const body = `${marker}
${truncate(ref.body, COMMENT_BODY_LIMIT - marker.length - 1)}`;
  const params = { owner: ref.owner, repo: ref.repo };
  const author = ref.author ?? await tokenLogin(client);
  const existing = author ? await findStickyComment(client, { ...ref, author }) : void 0;
  if (existing) {
    const { data } = await client.rest.issues.updateComment({ ...params, comment_id: existing.id, body });
    return { id: data.id, url: data.html_url, action: "updated" };
  }
  const { data: created } = await client.rest.issues.createComment({ ...params, issue_number: ref.issueNumber, body });
  const all = await listStickyComments(client, ref, marker, created.user?.login ?? author ?? "", false);
  const oldest = all[0];
  if (oldest && oldest.id !== created.id) {
    await client.rest.issues.deleteComment({ ...params, comment_id: created.id });
    const { data } = await client.rest.issues.updateComment({ ...params, comment_id: oldest.id, body });
    return { id: data.id, url: data.html_url, action: "updated" };
  }
  return { id: created.id, url: created.html_url, action: "created" };
}

// src/github/gate-publication.ts
function defaultCommentKey(context) {
  const parts = [context.workflow, context.job].filter((part) => part.trim() !== "");
  return parts.length ? parts.join("/") : "gate";
}
function planGatePublication(request) {
  const { context } = request;
  const key = request.commentKey?.trim() || defaultCommentKey(context);
  const plan = { key, skipped: [] };
  const repository = context.repository;
  const pr = context.pullRequest;
  const wantComment = request.comment ?? pr !== void 0;
  if (wantComment) {
    if (!repository) plan.skipped.push({ reason: "Comment skipped: GITHUB_REPOSITORY is not set", warn: true });
    else if (!request.hasToken) plan.skipped.push({ reason: "Comment skipped: no github-token", warn: true });
    else if (!pr) plan.skipped.push({ reason: `Comment skipped: the ${context.eventName || "current"} event has no pull request to comment on`, warn: true });
    else plan.comment = { ...repository, issueNumber: pr.number, fromFork: pr.fromFork };
  } else if (request.comment === void 0) {
    plan.skipped.push({ reason: `No comment: the ${context.eventName || "current"} event has no pull request`, warn: false });
  }
  if (request.status) {
    const sha = pr?.headSha || context.sha;
    if (!repository) plan.skipped.push({ reason: "Commit status skipped: GITHUB_REPOSITORY is not set", warn: true });
    else if (!request.hasToken) plan.skipped.push({ reason: "Commit status skipped: no github-token", warn: true });
    else if (!sha) plan.skipped.push({ reason: "Commit status skipped: no commit SHA (GITHUB_SHA is not set)", warn: true });
    else {
      plan.status = {
        ...repository,
        sha,
        context: gateStatusContext(request.commentKey),
        state: request.passed ? "success" : "failure",
        description: request.headline,
        ...context.runUrl ? { targetUrl: context.runUrl } : {}
      };
    }
  }
  return plan;
}
async function publishGateReport(client, plan, body, warn) {
  const result = { notes: [] };
  for (const { reason, warn: loud } of plan.skipped) {
    if (loud) warn(reason);
    result.notes.push(reason);
  }
  if (!client) return result;
  if (plan.comment) {
    const { owner, repo, issueNumber, fromFork } = plan.comment;
    try {
      const comment = await upsertStickyComment(client, { owner, repo, issueNumber, key: plan.key, body });
      result.commentUrl = comment.url;
      result.commentAction = comment.action;
      result.notes.push(`Comment ${comment.action} on pull request #${issueNumber}: ${comment.url}`);
    } catch (error) {
      const why = httpStatusOf(error) === 403 ? fromFork ? " (a pull request from a fork gets a read-only token)" : " (the token lacks pull-requests: write or issues: write)" : "";
      const message = `Could not comment on pull request #${issueNumber}: ${describeGitHubError(error)}${why}; the report is in the job summary`;
      warn(message);
      result.notes.push(message);
    }
  }
  if (plan.status) {
    const { owner, repo, sha, context, state, description, targetUrl } = plan.status;
    try {
      await setCommitStatus(client, { owner, repo, sha, context, state, description, ...targetUrl ? { targetUrl } : {} });
      result.statusSet = { context, sha, state };
      result.notes.push(`Commit status ${context}: ${state} on ${sha.slice(0, 7)}`);
    } catch (error) {
      const why = httpStatusOf(error) === 403 ? " (the token lacks statuses: write)" : "";
      const message = `Could not set commit status ${context} on ${sha.slice(0, 7)}: ${describeGitHubError(error)}${why}`;
      warn(message);
      result.notes.push(message);
    }
  }
  return result;
}

// src/image/metadata.ts
async function readImageLabels(reference, options = {}) {
  const ref = parseImageReference(reference, options.input ?? "image");
  const client = new RegistryClient({ registry: ref.registry, credentials: options.credentials, scopes: [{ repository: ref.repository, actions: ["pull"] }], log: options.log });
  const tagOrDigest = ref.digest ?? ref.tag ?? "latest";
  try {
    const { config } = await resolveImage(client, { repository: ref.repository, reference: tagOrDigest }, options.platform ?? { os: "linux", architecture: "amd64" }, { anyPlatform: true });
    return imageLabels(config);
  } catch (error) {
    if (error instanceof ImageNotFoundError || error instanceof PlatformNotFoundError || error instanceof ImageShapeError) return void 0;
    throw error;
  }
}
async function readImageMetrics(reference, options = {}) {
  return (await readImageLabels(reference, options))?.[Label.metrics];
}

// src/metrics/baseline.ts
var import_promises = __toESM(require_promises(), 1);
var METRICS_LABEL = "train-to-serve.metrics";
async function resolveBaseline(spec, readers = {}, inputName = "baseline") {
  if (spec === void 0 || spec.trim() === "") return void 0;
  const text = spec.trim();
  const reference = isRegistryImage(text);
  const exists = !reference && await (0, import_promises.stat)(text).then(
    () => true,
    () => false
  );
  if (exists) {
    const metrics = await loadMetricsFile(text);
    return { kind: "file", source: text, metrics };
  }
  if (!reference) {
    throw new InputError(inputName, `file ${quote(text)} does not exist, and it is not an image reference (host/repository:tag or host/repository@sha256:\u2026)`);
  }
  if (!readers.readImageMetrics) {
    throw new InputError(inputName, `${quote(text)} is an image reference, but this build of gate cannot read metrics from images yet; pass a metrics file`);
  }
  const label = await readers.readImageMetrics(text);
  if (label === void 0) return { kind: "missing", source: text, reason: `image ${text} does not exist or has no ${METRICS_LABEL} label` };
  return { kind: "image", source: text, metrics: parseMetrics(label, `label ${METRICS_LABEL} of image ${quote(text, 200)}`) };
}

// src/metrics/chart.ts
var CHART_MAX_BARS = 20;
function renderBaselineChart(points) {
  const usable = dedupe(points.filter((p) => p.baseline > 0 && Number.isFinite(p.value / p.baseline)));
  if (usable.length === 0) return void 0;
  const shown = usable.slice(0, CHART_MAX_BARS);
  const percents = shown.map((p) => round(p.value / p.baseline * 100));
  const top = Math.max(110, ...percents.map((v) => Math.ceil(v * 1.1 / 10) * 10));
  const bottom = Math.min(0, ...percents.map((v) => Math.floor(v * 1.1 / 10) * 10));
  const lines = [
    "xychart-beta",
    `  title "${shown.length < usable.length ? `First ${shown.length} of ${usable.length} metrics: ` : ""}value as % of baseline (line: baseline)"`,
    `  x-axis [${shown.map((p) => `"${chartLabel(p.metric)}"`).join(", ")}]`,
    `  y-axis "% of baseline" ${bottom} --> ${top}`,
    `  bar [${percents.join(", ")}]`,
    `  line [${shown.map(() => 100).join(", ")}]`
  ];
  return fenced("mermaid", lines.join("\n"));
}
function chartLabel(metric) {
  const safe = metric.replace(/[^A-Za-z0-9 ._/:+-]/g, "_");
  return safe.length > 30 ? `${safe.slice(0, 29)}\u2026` : safe;
}
function dedupe(points) {
  const seen = /* @__PURE__ */ new Set();
  return points.filter((p) => seen.has(p.metric) ? false : (seen.add(p.metric), true));
}
function round(value) {
  return Math.round(value * 100) / 100;
}

// src/metrics/report.ts
var COMMENT_LIMIT = 65536;
var RULE_COLUMNS = [{ header: "Metric" }, { header: "Value", align: "right" }, { header: "Baseline", align: "right" }, { header: "Delta", align: "right" }, { header: "Rule" }, { header: "Result" }];
var OTHER_COLUMNS = [{ header: "Metric" }, { header: "Value", align: "right" }, { header: "Baseline", align: "right" }, { header: "Delta", align: "right" }];
var NOTE_RESERVE = 200;
function renderGateReport(evaluation, metrics, context, limit = COMMENT_LIMIT) {
  const { results, violations, passed } = evaluation;
  const skipped = results.filter((r) => r.outcome === "skip").length;
  const verdict = passed ? `### \u2705 Gate passed: ${results.length === 1 ? "the rule holds" : `all ${results.length} rules hold`}${skipped ? ` (${skipped} skipped: no baseline)` : ""}` : `### \u274C Gate failed: ${violations.length} of ${results.length} ${results.length === 1 ? "rule" : "rules"} violated`;
  const head = [verdict, "", describeSources(context)].join("\n");
  const footer = renderFooter(context);
  let budget = limit - head.length - footer.length - 8;
  const sections = [head];
  const ordered = results.length > 0 && tableLength(RULE_COLUMNS, results.map(ruleRow)) > budget ? [...violations, ...results.filter((r) => r.outcome !== "fail")] : results;
  const rules = fitTable(
    RULE_COLUMNS,
    ordered.map(ruleRow),
    budget - NOTE_RESERVE,
    (left) => `_${left} more ${left === 1 ? "rule" : "rules"} not shown: the comment would pass GitHub\u2019s size limit. The job summary and the \`violations\` output have them all._`
  );
  sections.push(rules);
  budget -= rules.length + 2;
  const chart = renderBaselineChart(results.filter(hasBaselineValue).map((r) => ({ metric: r.rule.metric, value: r.value, baseline: r.baseline })));
  if (chart && chart.length + NOTE_RESERVE < budget) {
    sections.push(chart);
    budget -= chart.length + 2;
  }
  const gated = new Set(results.map((r) => r.rule.metric));
  const others = metrics.entries.filter((e) => !gated.has(e.name));
  if (others.length > 0 && budget > NOTE_RESERVE * 2) {
    const baseNumbers = context.baseline && context.baseline.kind !== "missing" ? context.baseline.metrics.numbers : void 0;
    const rows = others.map(({ name, value }) => {
      const base = baseNumbers?.get(name);
      return [code(name), formatValue(value), base === void 0 ? "\u2014" : formatNumber(base), typeof value === "number" && base !== void 0 ? formatDelta(value, base) : "\u2014"];
    });
    const open = `<details>
<summary>${others.length} other ${others.length === 1 ? "metric" : "metrics"} (not gated)</summary>

`;
    const close = "\n\n</details>";
    const body = fitTable(OTHER_COLUMNS, rows, budget - open.length - close.length - NOTE_RESERVE, (left) => `_${left} more not shown (size limit)._`);
    sections.push(`${open}${body}${close}`);
  }
  sections.push(footer);
  return sections.join("\n\n");
}
function hasBaselineValue(r) {
  return r.value !== void 0 && r.baseline !== void 0;
}
function describeSources(context) {
  const parts = [`**Metrics** ${code(context.metricsSource)}`];
  const { baseline } = context;
  if (!baseline) parts.push("**Baseline** none given");
  else if (baseline.kind === "missing")
    parts.push(`**Baseline** ${code(baseline.source)}: ${escapeCell(baseline.reason)}; baseline rules ${context.onMissingBaseline === "pass" ? "are skipped" : "fail"} (${code(`on-missing-baseline: ${context.onMissingBaseline}`)})`);
  else parts.push(`**Baseline** ${code(baseline.source)}${baseline.kind === "image" ? " (image)" : ""}`);
  return parts.join(" \xB7 ");
}
function renderFooter(context) {
  const parts = [`train-to-serve gate ${code(context.key)}`];
  if (context.runUrl && /^https?:\/\//.test(context.runUrl)) parts.push(`[workflow run](${encodeURI(context.runUrl).replace(/[()]/g, (c) => c === "(" ? "%28" : "%29")})`);
  if (context.sha) parts.push(`commit ${code(context.sha.slice(0, 7))}`);
  return `<sub>${parts.join(" \xB7 ")}</sub>`;
}
function ruleRow(r) {
  const value = r.value !== void 0 ? formatNumber(r.value) : r.nonNumeric !== void 0 ? formatValue(r.nonNumeric) : "\u2014";
  const baseline = r.baseline !== void 0 ? formatNumber(r.baseline) : "\u2014";
  const delta = r.value !== void 0 && r.baseline !== void 0 ? formatDelta(r.value, r.baseline) : "\u2014";
  const rule = code(r.rule.text) + (r.threshold !== void 0 && r.rule.threshold.kind === "baseline" ? ` (${formatNumber(r.threshold)})` : "");
  const result = r.outcome === "pass" ? "\u2705 pass" : r.outcome === "skip" ? `\u26AA skipped: ${escapeCell(r.reason ?? "")}` : `\u274C **fail**${r.reason ? `: ${escapeCell(r.reason)}` : ""}`;
  return [code(r.rule.metric), value, baseline, delta, rule, result];
}
function fitTable(columns, rows, budget, note) {
  const full = table(columns, rows);
  if (full.length <= budget) return full;
  let shown = rows.length;
  let length = full.length;
  const lineLength = (row) => table(columns, [row]).split("\n")[2].length + 1;
  while (shown > 0 && length > budget) {
    shown -= 1;
    length -= lineLength(rows[shown]);
  }
  return `${table(columns, rows.slice(0, shown))}

${note(rows.length - shown)}`;
}
function tableLength(columns, rows) {
  return table(columns, rows).length;
}
function formatNumber(value) {
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 1e-4 || magnitude >= 1e15)) return value.toExponential(3);
  return String(Number(value.toPrecision(6)));
}
function formatDelta(value, baseline) {
  const delta = value - baseline;
  const sign = delta > 0 ? "+" : delta < 0 ? "\u2212" : "\xB1";
  const absolute = formatNumber(Math.abs(Number(delta.toPrecision(12))));
  if (baseline === 0) return `${sign}${absolute}`;
  const percent = delta / Math.abs(baseline) * 100;
  return `${sign}${absolute} (${sign}${formatNumber(Number(Math.abs(percent).toFixed(2)))}%)`;
}
function formatValue(value) {
  if (typeof value === "number") return formatNumber(value);
  if (typeof value === "string") return escapeCell(value.length > 80 ? `${value.slice(0, 79)}\u2026` : value);
  return escapeCell(String(value));
}
function gateHeadline(evaluation) {
  const { results, violations, passed } = evaluation;
  if (passed) {
    const skipped = results.filter((r) => r.outcome === "skip").length;
    return `${results.length === 1 ? "The rule holds" : `All ${results.length} rules hold`}${skipped ? ` (${skipped} skipped: no baseline)` : ""}`;
  }
  const names = [...new Set(violations.map((v) => v.rule.metric))].join(", ");
  return `${violations.length} of ${results.length} ${results.length === 1 ? "rule" : "rules"} violated: ${names}`;
}
function describeViolations(evaluation, max = 5) {
  const shown = evaluation.violations.slice(0, max).map((v) => {
    const found = v.reason && v.threshold === void 0 ? v.reason : `${v.value === void 0 ? "\u2014" : formatNumber(v.value)}${v.threshold !== void 0 && v.rule.threshold.kind === "baseline" ? ` vs ${formatNumber(v.threshold)}` : ""}`;
    return `${v.rule.text} (${found})`;
  });
  const more = evaluation.violations.length > max ? `, and ${evaluation.violations.length - max} more` : "";
  return `Gate failed: ${evaluation.violations.length} of ${evaluation.results.length} ${evaluation.results.length === 1 ? "rule" : "rules"} violated: ${shown.join("; ")}${more}`;
}
function describeResult(r) {
  const mark = r.outcome === "pass" ? "pass" : r.outcome === "skip" ? "skip" : "FAIL";
  const value = r.value ?? r.nonNumeric;
  const against = r.threshold !== void 0 ? ` (threshold ${formatNumber(r.threshold)})` : "";
  return `${mark}  ${r.rule.text}  value=${value === void 0 ? "\u2014" : JSON.stringify(value)}${against}${r.reason ? `: ${r.reason}` : ""}`;
}

// src/actions/gate.ts
function required(name, what) {
  const value = input(name);
  if (value === void 0) throw new InputError(name, `is required: ${what}`);
  return value;
}
function getInputs() {
  const optionalBoolean = (name) => {
    const raw = input(name);
    return raw === void 0 ? void 0 : parseBoolean(name, raw);
  };
  return {
    "github-token": secretInput("github-token"),
    "registry-password": secretInput("registry-password"),
    "registry-username": input("registry-username")?.trim(),
    metrics: required("metrics", "the path of the metrics file to gate").trim(),
    rules: required("rules", 'one rule a line, like "accuracy >= 0.92"'),
    baseline: input("baseline")?.trim(),
    "on-missing-baseline": parseEnum("on-missing-baseline", input("on-missing-baseline") ?? "pass", ["pass", "fail"]),
    comment: optionalBoolean("comment"),
    "comment-key": input("comment-key")?.trim(),
    "fail-on-violation": optionalBoolean("fail-on-violation") ?? true,
    status: optionalBoolean("status") ?? true
  };
}
async function main() {
  const inputs = getInputs();
  const context = readRunContext();
  const rules = parseRules(inputs.rules);
  const metrics = await loadMetricsInput("metrics", inputs.metrics);
  const credentialInputs = parseCredentialInputs(inputs["registry-username"], inputs["registry-password"]);
  const baseline = await resolveBaseline(inputs.baseline, {
    readImageMetrics: async (reference) => {
      const resolved = await resolveCredentials(parseImageReference(reference, "baseline").registry, {
        inputs: credentialInputs,
        githubToken: inputs["github-token"],
        actor: context.actor,
        serverUrl: context.serverUrl,
        env: process.env,
        mask: maskSecret
      });
      return readImageMetrics(reference, { credentials: resolved.credentials, input: "baseline" }).catch((error) => {
        throw explainAuthError(error, resolved, "reading the baseline image");
      });
    }
  });
  const evaluation = evaluateRules(rules, metrics, baseline?.kind === "missing" ? void 0 : baseline?.metrics, inputs["on-missing-baseline"]);
  for (const result of evaluation.results) log.info(describeResult(result));
  const plan = planGatePublication({
    context,
    comment: inputs.comment,
    commentKey: inputs["comment-key"],
    status: inputs.status,
    passed: evaluation.passed,
    headline: gateHeadline(evaluation),
    hasToken: inputs["github-token"] !== void 0
  });
  const reportContext = {
    metricsSource: inputs.metrics,
    ...baseline ? { baseline } : {},
    onMissingBaseline: inputs["on-missing-baseline"],
    key: plan.key,
    ...context.runUrl ? { runUrl: context.runUrl } : {},
    sha: plan.status?.sha ?? context.pullRequest?.headSha ?? context.sha
  };
  const report = renderGateReport(evaluation, metrics, reportContext);
  const client = inputs["github-token"] && (plan.comment || plan.status) ? createGitHubClient({ token: inputs["github-token"], baseUrl: context.apiUrl, warn: log.warning }) : void 0;
  const published = await publishGateReport(client, plan, report, log.warning);
  const summary = renderGateReport(evaluation, metrics, reportContext, 9e5);
  await writeSummary(published.notes.length ? `${summary}

${published.notes.map((note) => `- ${escapeNote(note)}`).join("\n")}
` : `${summary}
`);
  setOutputs({
    passed: String(evaluation.passed),
    report,
    violations: violationsToJson(evaluation),
    "comment-url": published.commentUrl ?? ""
  });
  if (!evaluation.passed) {
    if (inputs["fail-on-violation"]) throw new Error(describeViolations(evaluation));
    log.warning(`${describeViolations(evaluation)} (fail-on-violation: false)`);
  }
}
function escapeNote(note) {
  return note.replace(/[<>]/g, (c) => c === "<" ? "&lt;" : "&gt;");
}
void runAction(main);
export {
  getInputs
};
