import { formatDuration } from '../inputs/parse';
import { code } from '../markdown/markdown';
import type { Log, PreparedImage, ServingEngine } from './engine';
import type { DeploySpec } from './deploy-spec';
import { shortDigest } from './labels';

/**
 * deploy with `prepare: true`: the serving host fetches a published image ahead of its deploy
 * (the pull-request workflow runs it right after publish), so the merge's deploy finds every
 * layer present and pulls nothing. Pull and verify only: no server starts, no routing changes,
 * no lock is taken. See docs/release-speed.md.
 */
export async function runPrepare(engine: ServingEngine, spec: DeploySpec, log: Log): Promise<PreparedImage & { ms: number }> {
  const started = Date.now();
  const prepared = await engine.prepareImage(spec, log);
  const ms = Date.now() - started;
  const what = prepared.layersFetched ? 'fetched its layers' : prepared.pulled ? 'every layer was already present' : 'already present, nothing pulled';
  log.info(`Prepared ${spec.image.text} (${shortDigest(prepared.digest)}) for ${spec.routing.service} in ${formatDuration(ms)}: ${what}; marked ${prepared.mark}. Nothing was started and no routing changed.`);
  return { ...prepared, ms };
}

export function prepareSummary(spec: DeploySpec, prepared: PreparedImage & { ms: number }): string {
  const fetched = prepared.layersFetched ? 'layers fetched from the registry' : prepared.pulled ? 'every layer already present' : 'already present: nothing pulled';
  return [
    `## deploy (prepare): ${code(spec.routing.service)} ← ${code(shortDigest(prepared.digest))}`,
    '',
    `${code(prepared.reference)} is on the engine (${fetched}, ${formatDuration(prepared.ms)}), marked ${code(prepared.mark)}. No server was started and no routing changed; a deploy of this digest will not pull.`,
    '',
  ].join('\n');
}
