import { createRequire as __cjsCreateRequire } from 'node:module'; import { fileURLToPath as __cjsFileURLToPath } from 'node:url'; const require = __cjsCreateRequire(import.meta.url); const __cjsFilename = __cjsFileURLToPath(import.meta.url); const __cjsDirname = __cjsFileURLToPath(new URL('.', import.meta.url));
import {
  deploySummary,
  openServingEngine,
  parseDeployInputs
} from "../chunks/chunk-5FGEV4TQ.mjs";
import {
  readRunContext
} from "../chunks/chunk-WBULUEFS.mjs";
import "../chunks/chunk-MWJWGTXE.mjs";
import {
  input,
  inputOrDefault,
  log,
  maskSecret,
  runAction,
  secretInput,
  setOutputs,
  writeSummary
} from "../chunks/chunk-23GRRWVW.mjs";

// src/actions/deploy.ts
var MIN_MASKED_LENGTH = 4;
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
    "drain-timeout": inputOrDefault("drain-timeout", "60s"),
    "health-cmd": input("health-cmd"),
    "drain-signal": inputOrDefault("drain-signal", "SIGUSR2"),
    env: input("env"),
    gpus: input("gpus"),
    "traefik-api": input("traefik-api"),
    engine: inputOrDefault("engine", "docker"),
    "docker-host": input("docker-host"),
    "registry-username": input("registry-username"),
    "registry-password": secretInput("registry-password")
  };
}
async function main() {
  const context = readRunContext();
  const spec = parseDeployInputs(getInputs(), {
    gitSha: context.pullRequest?.headSha || context.sha || void 0,
    runUrl: context.runUrl,
    pr: context.pullRequest?.number
  });
  for (const value of spec.env.values()) if (value.length >= MIN_MASKED_LENGTH) maskSecret(value);
  const engine = await openServingEngine(spec.engine, spec.dockerHost);
  try {
    await engine.checkDeploy(spec);
    const result = await engine.deploy(spec, log);
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
