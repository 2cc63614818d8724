import { input, inputOrDefault, log, runAction, setOutputs, writeSummary } from '../runtime/action';
import { openServingEngine } from '../engine/select';
import { parseRetireInputs, type RetireInputs } from '../serving/retire-spec';
import { runRetire } from '../serving/retire';
import { retireLogTable, retireRows, retireSummary } from '../serving/report';

function getInputs(): RetireInputs {
  return {
    service: input('service'),
    keep: inputOrDefault('keep', '1'),
    'max-age': input('max-age'),
    'dry-run': inputOrDefault('dry-run', 'false'),
    'drain-timeout': inputOrDefault('drain-timeout', '60s'),
    'traefik-api': input('traefik-api'),
    'in-use-window': input('in-use-window'),
    'prune-images': inputOrDefault('prune-images', 'true'),
    'keep-prepared': inputOrDefault('keep-prepared', '72h'),
    engine: inputOrDefault('engine', 'docker'),
    'docker-host': input('docker-host'),
    routing: inputOrDefault('routing', 'labels'),
    'routing-dir': input('routing-dir'),
    'node-prune-image': input('node-prune-image'),
  };
}

async function main(): Promise<void> {
  const spec = parseRetireInputs(getInputs());
  const engine = await openServingEngine(spec.engine, spec.dockerHost, { nodePruneImage: spec.nodePruneImage });
  try {
    const result = await runRetire(engine, spec, log);
    log.info(retireLogTable(retireRows(result)));
    const brief = (entry: (typeof result.entries)[number]) => ({
      id: entry.server.id,
      name: entry.server.name,
      service: entry.server.service,
      digest: entry.server.digest,
      reason: entry.skipped ?? entry.decision.reason,
    });
    setOutputs({
      retired: result.retired.map((entry) => ({ ...brief(entry), outcome: entry.removal?.outcome ?? (result.dryRun ? 'dry-run' : undefined) })),
      kept: result.kept.map(brief),
    });
    await writeSummary(retireSummary(result));
  } finally {
    await engine.close();
  }
}

void runAction(main);
