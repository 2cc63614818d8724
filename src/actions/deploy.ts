import { input, inputOrDefault, log, maskSecret, runAction, secretInput, setOutputs, writeSummary } from '../runtime/action';
import { readRunContext } from '../runtime/context';
import { openServingEngine } from '../engine/select';
import { parseDeployInputs, type DeployInputs } from '../serving/deploy-spec';
import { deploySummary } from '../serving/report';

/** Env values shorter than this are not masked: masking "1" would hide every 1 in the log. */
const MIN_MASKED_LENGTH = 4;

function getInputs(): DeployInputs {
  return {
    image: input('image') ?? '',
    service: input('service') ?? '',
    rule: input('rule') ?? '',
    entrypoints: inputOrDefault('entrypoints', 'web'),
    port: inputOrDefault('port', '8080'),
    network: input('network') ?? '',
    replicas: inputOrDefault('replicas', '1'),
    strategy: inputOrDefault('strategy', 'replace'),
    ttl: inputOrDefault('ttl', '7d'),
    'health-timeout': inputOrDefault('health-timeout', '5m'),
    'drain-timeout': inputOrDefault('drain-timeout', '60s'),
    'health-cmd': input('health-cmd'),
    'drain-signal': inputOrDefault('drain-signal', 'SIGUSR2'),
    env: input('env'),
    gpus: input('gpus'),
    'traefik-api': input('traefik-api'),
    engine: inputOrDefault('engine', 'docker'),
    'docker-host': input('docker-host'),
    'registry-username': input('registry-username'),
    'registry-password': secretInput('registry-password'),
    'node-registry-username': input('node-registry-username'),
    'node-registry-password': secretInput('node-registry-password'),
  };
}

async function main(): Promise<void> {
  const context = readRunContext();
  const spec = parseDeployInputs(getInputs(), {
    gitSha: context.pullRequest?.headSha || context.sha || undefined,
    runUrl: context.runUrl,
    pr: context.pullRequest?.number,
  });
  for (const value of spec.env.values()) if (value.length >= MIN_MASKED_LENGTH) maskSecret(value);

  const engine = await openServingEngine(spec.engine, spec.dockerHost);
  try {
    await engine.checkDeploy(spec);
    const result = await engine.deploy(spec, log);
    setOutputs({
      containers: result.servers,
      removed: result.removed,
      digest: result.digest,
    });
    await writeSummary(deploySummary(spec, result));
  } finally {
    await engine.close();
  }
}

void runAction(main);
