import { createRequire as __cjsCreateRequire } from 'node:module'; import { fileURLToPath as __cjsFileURLToPath } from 'node:url'; const require = __cjsCreateRequire(import.meta.url); const __cjsFilename = __cjsFileURLToPath(import.meta.url); const __cjsDirname = __cjsFileURLToPath(new URL('.', import.meta.url));
import {
  Label
} from "./chunk-X6NVJYMM.mjs";
import {
  InputError,
  isTag,
  quote
} from "./chunk-23GRRWVW.mjs";

// src/image/provenance.ts
import { execFile } from "node:child_process";
function toolkitLabels(provenance, metricsJson, modelDir) {
  const labels = {};
  if (provenance.sourceUrl) labels[Label.source] = provenance.sourceUrl;
  if (provenance.revision) labels[Label.revision] = provenance.revision;
  labels[Label.created] = provenance.created;
  labels[Label.modelDir] = `/${modelDir}`;
  if (metricsJson !== void 0) labels[Label.metrics] = metricsJson;
  return labels;
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
var RFC3339 = (seconds) => new Date(seconds * 1e3).toISOString().replace(/\.000Z$/, "Z");
function gitCommitTime(cwd, revision) {
  return new Promise((resolve) => {
    execFile("git", ["show", "-s", "--format=%ct", revision], { cwd, timeout: 1e4 }, (error, stdout) => {
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
  defaultTags,
  parseTags,
  commitTime
};
