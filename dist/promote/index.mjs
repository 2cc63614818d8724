import { createRequire as __cjsCreateRequire } from 'node:module'; import { fileURLToPath as __cjsFileURLToPath } from 'node:url'; const require = __cjsCreateRequire(import.meta.url); const __cjsFilename = __cjsFileURLToPath(import.meta.url); const __cjsDirname = __cjsFileURLToPath(new URL('.', import.meta.url));
import {
  GATE_STATUS_CONTEXT,
  createGitHubClient,
  describeGitHubError,
  readGateStatus
} from "../chunks/chunk-694496d215.mjs";
import {
  parseTags
} from "../chunks/chunk-86ebb0db55.mjs";
import {
  ImageShapeError,
  Label,
  RegistryClient,
  imageLabels,
  isIndexType,
  parseImageIndex,
  parseImageManifest,
  readImageConfig
} from "../chunks/chunk-67c41fb2ca.mjs";
import {
  RegistryError,
  explainAuthError,
  parseCredentialInputs,
  resolveCredentials
} from "../chunks/chunk-de7766be5a.mjs";
import "../chunks/chunk-dbc595cd1e.mjs";
import {
  readRunContext
} from "../chunks/chunk-d525671ff4.mjs";
import {
  InputError,
  ResourceError,
  code,
  escapeCell,
  formatDuration,
  input,
  inputOrDefault,
  isDigest,
  isTag,
  log,
  maskSecret,
  parseBoolean,
  parseImageReference,
  parseList,
  quote,
  repositoryName,
  runAction,
  secretInput,
  setOutputs,
  table,
  writeSummary
} from "../chunks/chunk-4eaf0c925e.mjs";

// src/github/pulls.ts
function toInfo(pull, merged) {
  return {
    number: pull.number,
    title: pull.title,
    state: pull.state === "open" ? "open" : "closed",
    merged: merged ?? pull.merged_at !== null,
    ...pull.merge_commit_sha ? { mergeCommitSha: pull.merge_commit_sha } : {},
    headSha: pull.head.sha,
    headRef: pull.head.ref,
    baseRef: pull.base.ref,
    fromFork: pull.head.repo === null || pull.head.repo.full_name.toLowerCase() !== pull.base.repo.full_name.toLowerCase(),
    htmlUrl: pull.html_url
  };
}
async function findPullRequestForCommit(client, ref) {
  const pulls = (await client.paginate(client.rest.repos.listPullRequestsAssociatedWithCommit, { owner: ref.owner, repo: ref.repo, commit_sha: ref.sha, per_page: 100 })).map((p) => toInfo(p));
  return pulls.find((p) => p.merged && p.mergeCommitSha === ref.sha) ?? pulls.find((p) => p.headSha === ref.sha) ?? pulls.find((p) => p.merged) ?? pulls[0];
}

// src/image/promote.ts
async function imagesOf(client, repository, source, name) {
  const fetched = [];
  if (isIndexType(source.mediaType)) {
    for (const entry of parseImageIndex(source, name).manifests) {
      if (entry.platform?.os === "unknown") continue;
      const child = await client.getManifest(repository, entry.digest);
      if (!isIndexType(child.mediaType)) fetched.push(child);
    }
  } else {
    fetched.push(source);
  }
  return fetched.flatMap((manifest) => {
    try {
      return [parseImageManifest(manifest, name)];
    } catch (error) {
      if (error instanceof ImageShapeError) return [];
      throw error;
    }
  });
}
async function revisionsOf(client, repository, source, name) {
  const revisions = /* @__PURE__ */ new Set();
  let unlabelled = 0;
  for (const image of await imagesOf(client, repository, source, name)) {
    const revision = imageLabels(await readImageConfig(client, repository, image, name))[Label.revision];
    if (revision) revisions.add(revision);
    else unlabelled += 1;
  }
  return { revisions: [...revisions], unlabelled };
}
async function promoteImage(request) {
  const started = Date.now();
  const { repository } = request.image;
  const client = new RegistryClient({
    registry: request.image.registry,
    credentials: request.credentials,
    scopes: [{ repository, actions: ["pull", "push"] }],
    retry: request.retry,
    log: request.log
  });
  let source;
  try {
    source = await client.getManifest(repository, request.source);
  } catch (error) {
    if (error instanceof RegistryError && error.status === 404) {
      throw new InputError("source", `${repositoryName(request.image)} has no ${request.source.startsWith("sha256:") ? "manifest" : "tag"} ${quote(request.source)}`);
    }
    throw error;
  }
  const promoted = {
    image: `${repositoryName(request.image)}@${source.digest}`,
    digest: source.digest,
    mediaType: source.mediaType,
    ...await revisionsOf(client, repository, source, `Image ${repositoryName(request.image)}@${source.digest}`)
  };
  await request.check?.(promoted);
  const targets = [];
  for (const tag of request.targets) {
    const previous = (await client.headManifest(repository, tag))?.digest;
    const stored = await client.putManifest(repository, tag, source.bytes, source.mediaType);
    if (stored !== source.digest) throw new RegistryError(`Registry ${request.image.registry}, repository ${repository}`, `stored tag ${tag} as ${stored}, not ${source.digest}`);
    request.log?.(`${repositoryName(request.image)}:${tag} \u2192 ${source.digest}${previous && previous !== source.digest ? ` (was ${previous})` : previous ? " (unchanged)" : ""}`);
    targets.push({ tag, previous });
  }
  return { ...promoted, targets, durationMs: Date.now() - started };
}
function chooseSource(options) {
  if (options.source !== void 0) return { source: options.source };
  if (options.pullRequest) {
    if (!options.pullRequest.merged) {
      throw new InputError("source", `not given, and pull request #${options.pullRequest.number} is not merged: promote runs when a pull request is merged (or give source)`);
    }
    return { source: `pr-${options.pullRequest.number}`, pullRequest: options.pullRequest.number };
  }
  if (options.sha) return { lookUpPullRequestOf: options.sha };
  throw new InputError("source", `not given, and the ${options.eventName || "current"} event names neither a pull request nor a commit`);
}
function parseSource(input2, raw) {
  const text = raw.trim();
  if (isDigest(text) || isTag(text)) return text;
  throw new InputError(input2, `expected a tag (like pr-12) or a digest (sha256:\u2026), got ${quote(raw)}`);
}

// src/actions/promote.ts
function getInputs() {
  const image = input("image");
  if (image === void 0) throw new InputError("image", "is required");
  const source = input("source");
  return {
    "registry-password": secretInput("registry-password"),
    "github-token": secretInput("github-token"),
    "registry-username": input("registry-username")?.trim(),
    image: image.trim(),
    source: source === void 0 ? void 0 : parseSource("source", source),
    targets: inputOrDefault("targets", "production"),
    "require-gate": parseBoolean("require-gate", inputOrDefault("require-gate", "true"))
  };
}
async function checkGate(client, context, image, merged) {
  const { repository } = context;
  if (!repository) throw new InputError("require-gate", "is true, but there is no GITHUB_REPOSITORY whose commit statuses could be read");
  if (image.revisions.length === 0 || image.unlabelled > 0) {
    throw new ResourceError(
      `Image ${image.image}`,
      `has no org.opencontainers.image.revision label${image.revisions.length ? " on every platform" : ""}, so its gate cannot be checked (publish records it; require-gate: false skips the check)`
    );
  }
  const stale = merged ? image.revisions.find((revision) => revision !== merged.sha) : void 0;
  if (merged && stale) {
    throw new ResourceError(
      `Image ${image.image}`,
      `its revision, commit ${stale}, is not the head of pull request #${merged.number}, commit ${merged.sha}, that was merged: not promoted (publish the head commit's image; require-gate: false skips this check)`
    );
  }
  const verdicts = [];
  for (const revision of image.revisions) {
    let state;
    try {
      state = (await readGateStatus(client, { owner: repository.owner, repo: repository.repo, sha: revision })).state;
    } catch (error) {
      throw new ResourceError(`GitHub commit ${revision}`, `its ${GATE_STATUS_CONTEXT} status could not be read: ${describeGitHubError(error)}`);
    }
    if (state !== "success") {
      const why = state === "missing" ? `has no ${GATE_STATUS_CONTEXT} status` : `has ${GATE_STATUS_CONTEXT} status "${state}", not "success"`;
      throw new ResourceError(`Image ${image.image}`, `its revision, commit ${revision}, ${why}: not promoted (require-gate: false skips this check)`);
    }
    verdicts.push({ revision, state });
  }
  return verdicts;
}
function summary(result, sourceText, gate, repository) {
  return [
    "## Promoted model image",
    "",
    table(
      ["", ""],
      [
        ["Image", code(result.image)],
        ["Source", `${code(`${repository}:${sourceText}`)}`],
        ["Gate", gate ? gate.map((g) => `${code(g.revision.slice(0, 12))} ${escapeCell(g.state)}`).join(", ") : "not checked (require-gate: false)"],
        ["Layer bytes moved", "0 (the manifest is copied by digest)"],
        ["Time", formatDuration(result.durationMs)]
      ]
    ),
    "",
    table(
      ["Tag", "Now", "Before"],
      result.targets.map((t) => [code(t.tag), code(result.digest.slice(0, 19)), t.previous ? t.previous === result.digest ? "unchanged" : code(t.previous.slice(0, 19)) : "new tag"])
    ),
    ""
  ].join("\n");
}
async function main() {
  const inputs = getInputs();
  const context = readRunContext();
  const image = parseImageReference(inputs.image, "image", { tag: false, digest: false });
  const targets = parseTags("targets", parseList(inputs.targets));
  const credentialInputs = parseCredentialInputs(inputs["registry-username"], inputs["registry-password"]);
  const token = inputs["github-token"];
  let github;
  const gitHub = (why) => {
    if (!token) throw new InputError("github-token", `is empty, but it is needed ${why}`);
    github ??= createGitHubClient({ token, baseUrl: context.apiUrl, warn: log.warning });
    return github;
  };
  const choice = chooseSource({ source: inputs.source, eventName: context.eventName, sha: context.sha, pullRequest: context.pullRequest });
  let source;
  let merged = context.pullRequest?.merged ? { number: context.pullRequest.number, sha: context.pullRequest.headSha } : void 0;
  if ("source" in choice) {
    source = choice.source;
  } else {
    if (!context.repository) throw new InputError("source", "not given, and there is no GITHUB_REPOSITORY to find the pull request in");
    const pull = await findPullRequestForCommit(gitHub("to find the pull request of the pushed commit (or give source)"), { ...context.repository, sha: choice.lookUpPullRequestOf }).catch((error) => {
      throw new ResourceError(`GitHub commit ${choice.lookUpPullRequestOf}`, `its pull request could not be looked up: ${describeGitHubError(error)}`);
    });
    if (!pull) throw new InputError("source", `not given, and commit ${choice.lookUpPullRequestOf.slice(0, 7)} belongs to no pull request: give the tag or digest to promote`);
    source = `pr-${pull.number}`;
    merged = { number: pull.number, sha: pull.headSha };
    log.info(`Commit ${choice.lookUpPullRequestOf.slice(0, 7)} came from pull request #${pull.number}: promoting ${source}`);
  }
  const resolved = await resolveCredentials(image.registry, { inputs: credentialInputs, githubToken: token, actor: context.actor, serverUrl: context.serverUrl, env: process.env, mask: maskSecret });
  let gate;
  let result;
  try {
    result = await promoteImage({
      image,
      source,
      targets,
      credentials: resolved.credentials,
      log: log.info,
      check: inputs["require-gate"] ? async (candidate) => {
        gate = await checkGate(gitHub("to read the gate status (require-gate: true)"), context, candidate, merged);
      } : void 0
    });
  } catch (error) {
    throw explainAuthError(error, resolved);
  }
  setOutputs({ image: result.image, digest: result.digest });
  await writeSummary(summary(result, source, gate, repositoryName(image)));
}
void runAction(main);
