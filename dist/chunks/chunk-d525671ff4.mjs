import { createRequire as __cjsCreateRequire } from 'node:module'; import { fileURLToPath as __cjsFileURLToPath } from 'node:url'; const require = __cjsCreateRequire(import.meta.url); const __cjsFilename = __cjsFileURLToPath(import.meta.url); const __cjsDirname = __cjsFileURLToPath(new URL('.', import.meta.url));
import {
  __toESM,
  require_node_fs
} from "./chunk-4eaf0c925e.mjs";

// src/runtime/context.ts
var import_node_fs = __toESM(require_node_fs(), 1);
function readRunContext(env = process.env) {
  const serverUrl = (env.GITHUB_SERVER_URL ?? "https://github.com").replace(/\/+$/, "");
  const apiUrl = (env.GITHUB_API_URL ?? "https://api.github.com").replace(/\/+$/, "");
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? "").split("/");
  const repository = owner && repo ? { owner, repo } : void 0;
  const runId = env.GITHUB_RUN_ID ?? "";
  const payload = readPayload(env.GITHUB_EVENT_PATH);
  return {
    serverUrl,
    apiUrl,
    repository,
    sha: env.GITHUB_SHA ?? "",
    ref: env.GITHUB_REF ?? "",
    eventName: env.GITHUB_EVENT_NAME ?? "",
    workflow: env.GITHUB_WORKFLOW ?? "",
    job: env.GITHUB_JOB ?? "",
    actor: env.GITHUB_ACTOR ?? "",
    runId,
    runAttempt: env.GITHUB_RUN_ATTEMPT ?? "1",
    runUrl: repository && runId ? `${serverUrl}/${owner}/${repo}/actions/runs/${runId}` : void 0,
    payload,
    pullRequest: pullRequestOf(payload)
  };
}
function readPayload(path) {
  if (!path) return {};
  try {
    const parsed = JSON.parse((0, import_node_fs.readFileSync)(path, "utf8"));
    return parsed && typeof parsed === "object" ? parsed : {};
  } catch {
    return {};
  }
}
function pullRequestOf(payload) {
  const pr = payload.pull_request;
  if (!pr || typeof pr.number !== "number") return void 0;
  const headRepo = pr.head?.repo?.full_name;
  const baseRepo = pr.base?.repo?.full_name;
  return {
    number: pr.number,
    headSha: String(pr.head?.sha ?? ""),
    merged: pr.merged === true,
    mergeSha: typeof pr.merge_commit_sha === "string" ? pr.merge_commit_sha : void 0,
    fromFork: Boolean(headRepo && baseRepo && headRepo !== baseRepo)
  };
}

export {
  readRunContext
};
