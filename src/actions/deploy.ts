import { input, inputOrDefault, log, maskEnvValues, maskSecret, runAction, secretInput, setOutputs, writeSummary } from '../runtime/action';
import { readRunContext } from '../runtime/context';
import { resolveCredentials } from '../registry/credentials';
import { openServingEngine } from '../engine/select';
import { parseDeployInputs, type DeployInputs } from '../serving/deploy-spec';
import { deploySummary } from '../serving/report';
import { runDeploy } from '../serving/deploy';
import { prepareSummary, runPrepare } from '../serving/prepare';
import { checkFileRouting } from '../serving/file-routing';
import { checkAll } from '../async/checks';
import { renderRolloutSummary, rolloutOutputs } from '../rollout/summary';

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
    'health-interval': inputOrDefault('health-interval', '2s'),
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
    routing: inputOrDefault('routing', 'labels'),
    'routing-dir': input('routing-dir'),
    'health-path': input('health-path'),
    'keep-previous': input('keep-previous'),
    rollback: inputOrDefault('rollback', 'false'),
    'node-registry-username': input('node-registry-username'),
    'node-registry-password': secretInput('node-registry-password'),
    steps: input('steps'),
    'step-duration': input('step-duration'),
    'analysis-interval': input('analysis-interval'),
    'failure-limit': input('failure-limit'),
    analysis: input('analysis'),
    'mirror-percent': input('mirror-percent'),
    'shadow-duration': input('shadow-duration'),
    'after-shadow': input('after-shadow'),
    'traefik-metrics': input('traefik-metrics'),
    prepare: inputOrDefault('prepare', 'false'),
    command: input('command'),
    args: input('args'),
    'shm-size': input('shm-size'),
    memory: input('memory'),
    cpus: input('cpus'),
    ulimits: input('ulimits'),
    'metrics-port': input('metrics-port'),
    'metrics-path': input('metrics-path'),
    'request-metric': input('request-metric'),
  };
}

async function main(): Promise<void> {
  const context = readRunContext();
  const spec = parseDeployInputs(getInputs(), {
    gitSha: context.pullRequest?.headSha || context.sha || undefined,
    runUrl: context.runUrl,
    pr: context.pullRequest?.number,
  });
  maskEnvValues(spec.env.values());
  // Without registry-username/password, what docker login left for the image's registry (deploy
  // has no job token to send: it pulls on a serving host, after the job's token is gone).
  spec.credentials ??= (await resolveCredentials(spec.image.registry, { serverUrl: context.serverUrl, env: process.env, mask: maskSecret })).credentials;

  const engine = await openServingEngine(spec.engine, spec.dockerHost);
  try {
    if (spec.prepare) {
      const prepared = await runPrepare(engine, spec, log);
      setOutputs({ digest: prepared.digest, 'layers-fetched': String(prepared.layersFetched), containers: [], removed: [] });
      await writeSummary(prepareSummary(spec, prepared));
      return;
    }
    await checkAll([engine.checkDeploy(spec), spec.routingChoice.dir ? checkFileRouting(spec.routingChoice.dir, spec.traefikApi) : undefined]);
    const result = await runDeploy(engine, spec, log, {
      // Written before the deploy goes on or fails, so a rolled-back canary still reports its steps.
      onRollout: async (rollout) => {
        setOutputs(rolloutOutputs(rollout));
        await writeSummary(renderRolloutSummary(rollout));
      },
    });
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
