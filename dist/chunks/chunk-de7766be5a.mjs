import { createRequire as __cjsCreateRequire } from 'node:module'; import { fileURLToPath as __cjsFileURLToPath } from 'node:url'; const require = __cjsCreateRequire(import.meta.url); const __cjsFilename = __cjsFileURLToPath(import.meta.url); const __cjsDirname = __cjsFileURLToPath(new URL('.', import.meta.url));
import {
  InputError,
  ResourceError,
  __toESM,
  require_node_child_process,
  require_node_os,
  require_node_path,
  require_promises
} from "./chunk-4eaf0c925e.mjs";

// src/registry/docker-config.ts
var import_node_child_process = __toESM(require_node_child_process(), 1);
var import_promises = __toESM(require_promises(), 1);
var import_node_os = __toESM(require_node_os(), 1);
var import_node_path = __toESM(require_node_path(), 1);
var DOCKER_HUB_KEY = "https://index.docker.io/v1/";
function dockerConfigPath(env) {
  return (0, import_node_path.join)(env.DOCKER_CONFIG || (0, import_node_path.join)(env.HOME || (0, import_node_os.homedir)(), ".docker"), "config.json");
}
function dockerServerAddress(registry) {
  return registry === "docker.io" || registry === "index.docker.io" || registry === "registry-1.docker.io" ? DOCKER_HUB_KEY : registry;
}
function hostOf(key) {
  return key.replace(/^https?:\/\//, "").split("/")[0].toLowerCase();
}
async function readConfig(path) {
  let text;
  try {
    text = await (0, import_promises.readFile)(path, "utf8");
  } catch (error) {
    if (error.code === "ENOENT") return void 0;
    throw new ResourceError(`Docker config "${path}"`, `cannot be read: ${error.message}`);
  }
  try {
    const parsed = JSON.parse(text);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not a JSON object");
    return parsed;
  } catch (error) {
    throw new ResourceError(`Docker config "${path}"`, `is not valid JSON (${error.message})`);
  }
}
function helperName(name, path) {
  if (typeof name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new ResourceError(`Docker config "${path}"`, `names the credential helper ${JSON.stringify(name)}, which is not a helper name`);
  }
  return name;
}
function runHelper(helper, serverAddress, source) {
  const program = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    const child = (0, import_node_child_process.execFile)(program, ["get"], { env: source.env, timeout: source.helperTimeoutMs ?? 3e4, maxBuffer: 1 << 20 }, (error, stdout) => {
      if (error) {
        if (/credentials not found/i.test(stdout)) return resolve(void 0);
        const why = error.code === "ENOENT" ? "is not on PATH" : error.killed ? "did not answer in time" : `failed (${stdout.trim().split("\n")[0]?.slice(0, 200) || `exit ${String(error.code)}`})`;
        return reject(new ResourceError(`Docker credential helper ${program}`, `${why}, asked for ${serverAddress}`));
      }
      let answer;
      try {
        answer = JSON.parse(stdout);
      } catch {
        return reject(new ResourceError(`Docker credential helper ${program}`, `answered something that is not JSON, asked for ${serverAddress}`));
      }
      if (typeof answer.Username !== "string" || typeof answer.Secret !== "string" || answer.Secret === "") return resolve(void 0);
      if (answer.Username === "<token>") {
        return reject(new ResourceError(`Docker credential helper ${program}`, `holds an identity token for ${serverAddress}, which this toolkit does not exchange: give registry-username and registry-password`));
      }
      resolve({ username: answer.Username, password: answer.Secret, from: program });
    });
    child.stdin?.on("error", () => {
    });
    child.stdin?.end(serverAddress);
  });
}
async function dockerLogin(registry, source) {
  const path = dockerConfigPath(source.env);
  const config = await readConfig(path);
  if (!config) return void 0;
  const address = dockerServerAddress(registry);
  const host = hostOf(address);
  const helperEntry = Object.entries(config.credHelpers ?? {}).find(([key]) => key === address || hostOf(key) === host);
  if (helperEntry) return runHelper(helperName(helperEntry[1], path), address, source);
  if (config.credsStore !== void 0 && config.credsStore !== "") return runHelper(helperName(config.credsStore, path), address, source);
  const auths = config.auths ?? {};
  const entry = auths[address] ?? Object.entries(auths).find(([key]) => hostOf(key) === host)?.[1];
  if (!entry) return void 0;
  if (typeof entry.auth === "string" && entry.auth !== "") {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon <= 0) throw new ResourceError(`Docker config "${path}"`, `its auths entry for ${address} is not base64 of user:password`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), from: path };
  }
  if (typeof entry.username === "string" && typeof entry.password === "string" && entry.password !== "") return { username: entry.username, password: entry.password, from: path };
  if (entry.identitytoken) {
    throw new ResourceError(`Docker config "${path}"`, `holds an identity token for ${address}, which this toolkit does not exchange: give registry-username and registry-password`);
  }
  return void 0;
}

// src/registry/errors.ts
var RegistryError = class extends ResourceError {
  constructor(resource, problem, status, code) {
    super(resource, problem);
    this.status = status;
    this.code = code;
  }
  status;
  code;
};
var RegistryAuthError = class extends RegistryError {
};
function describeRegistryErrors(body) {
  try {
    const parsed = JSON.parse(body);
    const first = parsed.errors?.[0];
    if (first) return { code: first.code, message: [first.code, first.message].filter(Boolean).join(": ") };
  } catch {
  }
  const text = body.trim().replace(/\s+/g, " ");
  return { message: text ? text.slice(0, 200) : void 0 };
}

// src/registry/credentials.ts
function parseCredentialInputs(username, password) {
  const user = username?.trim() || void 0;
  const secret = password || void 0;
  if (Boolean(user) !== Boolean(secret)) {
    throw new InputError(user ? "registry-password" : "registry-username", "registry-username and registry-password go together: give both or neither");
  }
  return user && secret ? { username: user, password: secret } : void 0;
}
function githubRegistryHost(serverUrl) {
  let host;
  try {
    host = new URL(serverUrl).host.toLowerCase();
  } catch {
    host = "github.com";
  }
  return host === "github.com" || host === "www.github.com" ? "ghcr.io" : `containers.${host}`;
}
function isGitHubRegistry(registry, serverUrl) {
  return registry.toLowerCase() === githubRegistryHost(serverUrl);
}
async function resolveCredentials(registry, options) {
  if (options.inputs) {
    return { registry, credentials: options.inputs, source: "inputs" };
  }
  const login = await dockerLogin(registry, { env: options.env });
  if (login) {
    options.mask?.(login.password);
    return { registry, credentials: { username: login.username, password: login.password }, source: "docker-login", from: login.from };
  }
  if (options.githubToken && isGitHubRegistry(registry, options.serverUrl)) {
    return { registry, credentials: { username: options.actor || "github-actions", password: options.githubToken }, source: "job-token" };
  }
  return { registry, source: "anonymous" };
}
function explainAuthError(error, resolved, doing) {
  if (!(error instanceof RegistryAuthError)) return error;
  const context = doing ? `${doing}; ` : "";
  switch (resolved.source) {
    case "inputs":
      return new InputError("registry-password", `${error.message} (${context}check registry-username and registry-password)`);
    case "docker-login":
      return new InputError("registry-password", `${error.message} (${context}the credentials docker login left in ${resolved.from}: log in again, or give registry-username and registry-password)`);
    case "job-token":
      return new InputError("github-token", `${error.message} (${context}the job token was used for ${resolved.registry}: give the job the packages permission it needs, or give registry-username and registry-password)`);
    case "anonymous":
      return new InputError("registry-password", `${error.message} (${context}no credentials for ${resolved.registry}: run docker login for it first, or give registry-username and registry-password)`);
  }
}

export {
  RegistryError,
  RegistryAuthError,
  describeRegistryErrors,
  parseCredentialInputs,
  resolveCredentials,
  explainAuthError
};
