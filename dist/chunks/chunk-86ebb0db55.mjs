import { createRequire as __cjsCreateRequire } from 'node:module'; import { fileURLToPath as __cjsFileURLToPath } from 'node:url'; const require = __cjsCreateRequire(import.meta.url); const __cjsFilename = __cjsFileURLToPath(import.meta.url); const __cjsDirname = __cjsFileURLToPath(new URL('.', import.meta.url));
import {
  Label
} from "./chunk-67c41fb2ca.mjs";
import {
  InputError,
  __toESM,
  isTag,
  parseImageReference,
  quote,
  repositoryName,
  require_node_child_process
} from "./chunk-4eaf0c925e.mjs";

// src/image/provenance.ts
var import_node_child_process = __toESM(require_node_child_process(), 1);
function toolkitLabels(provenance, metricsJson, modelDir) {
  const labels = {};
  if (provenance.sourceUrl) labels[Label.source] = provenance.sourceUrl;
  if (provenance.revision) labels[Label.revision] = provenance.revision;
  labels[Label.created] = provenance.created;
  labels[Label.modelDir] = `/${modelDir}`;
  if (metricsJson !== void 0) labels[Label.metrics] = metricsJson;
  return labels;
}
function withProvenance(user, toolkit) {
  const owned = /* @__PURE__ */ new Set([...Object.values(Label), ...Object.keys(toolkit)]);
  const merged = /* @__PURE__ */ new Map();
  const ignored = [];
  for (const [key, value] of user) {
    if (!owned.has(key)) merged.set(key, value);
    else if (toolkit[key] !== value) ignored.push(key);
  }
  for (const [key, value] of Object.entries(toolkit)) merged.set(key, value);
  return { merged: Object.fromEntries(merged), ignored };
}
function defaultTags(revision, pullRequestNumber) {
  const tags = [];
  if (revision) tags.push(`sha-${revision.slice(0, 7)}`);
  if (pullRequestNumber !== void 0) tags.push(`pr-${pullRequestNumber}`);
  return tags;
}
function parseTags(input, items) {
  if (items.length === 0) throw new InputError(input, "names no tags");
  for (const tag of items) {
    if (!isTag(tag)) throw new InputError(input, `${quote(tag)} is not a valid tag (letters, digits, _ . -; at most 128; not starting with . or -)`);
  }
  return [...new Set(items)];
}
function parsePublishTags(input, items, target) {
  const tags = items.map((item) => {
    if (!/[/:@]/.test(item)) return item;
    const reference = parseImageReference(item, input, { tag: true, digest: false });
    if (reference.registry !== target.registry || reference.repository !== target.repository) {
      throw new InputError(input, `${quote(item)} is in ${repositoryName(reference)}, not in ${repositoryName(target)} (the image input): publish pushes to that one repository`);
    }
    if (reference.tag === void 0) throw new InputError(input, `${quote(item)} names no tag (write ${repositoryName(target)}:TAG, or only TAG)`);
    return reference.tag;
  });
  return parseTags(input, tags);
}
var RFC3339 = (seconds) => new Date(seconds * 1e3).toISOString().replace(/\.000Z$/, "Z");
function gitCommitTime(cwd, revision) {
  return new Promise((resolve) => {
    (0, import_node_child_process.execFile)("git", ["show", "-s", "--format=%ct", revision], { cwd, timeout: 1e4 }, (error, stdout) => {
      const seconds = Number(stdout.trim());
      resolve(error || !Number.isInteger(seconds) || seconds <= 0 ? void 0 : seconds);
    });
  });
}
async function commitTime(options) {
  const epoch = options.env.SOURCE_DATE_EPOCH?.trim();
  if (epoch && /^\d+$/.test(epoch)) return RFC3339(Number(epoch));
  for (const revision of [...options.revisions.filter(Boolean), "HEAD"]) {
    const seconds = await gitCommitTime(options.workspace, revision);
    if (seconds !== void 0) return RFC3339(seconds);
  }
  const headCommit = options.payload.head_commit;
  if (typeof headCommit?.timestamp === "string" && !Number.isNaN(Date.parse(headCommit.timestamp))) {
    return RFC3339(Math.floor(Date.parse(headCommit.timestamp) / 1e3));
  }
  return void 0;
}

export {
  toolkitLabels,
  withProvenance,
  defaultTags,
  parseTags,
  parsePublishTags,
  commitTime
};
