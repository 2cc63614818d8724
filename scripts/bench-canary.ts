/**
 * npm run bench:canary: how long a bad canary hurts users. A version answering 500 to every 5th
 * request is deployed with `strategy: canary` (first step 5 %) under 8 clients through the Traefik
 * stand-in, once per row below: the whole step as one analysis window, then the same step cut into
 * short `analysis-interval` windows (with `failure-limit` 0 and 1), side by side on the same bed.
 * Printed: the time from the first 500 a client saw to the last, against the target of the
 * windows it takes to exceed the limit (interval × (limit + 1)) plus Traefik's 2 s provider
 * throttle, and the failed requests against all requests. Needs the Docker Engine and a build
 * (`npm run build`; the script runs it).
 */
import { loadavg } from 'node:os';
import { failureMessage, runAction } from '../test/support/action-runner';
import { bedDeployInputs, fileRoutingNames, publishPlain, startFileRoutingBed, stopFileRoutingBed, type FileRoutingBed } from '../test/support/file-routing-bed';
import { waitFor } from '../test/support/ports';
import { startLoad } from '../test/support/traefik/load';

/** Seconds: the step held, the analysis window (the step when equal), failed windows tolerated. */
const ROWS = [
  { step: 8, interval: 8, limit: 0 },
  { step: 8, interval: 2, limit: 0 },
  { step: 8, interval: 2, limit: 1 },
];
const names = fileRoutingNames('benchcanary');
let bed: FileRoutingBed | undefined;

function deploy(service: string, image: string, inputs: Record<string, string> = {}) {
  return runAction('deploy', {
    inputs: { ...bedDeployInputs(bed!, service, image), ...inputs },
    timeoutMs: 400_000,
  });
}

async function main(): Promise<void> {
  bed = await startFileRoutingBed(names);
  const stable = await publishPlain(bed, 'stable', { thinkMs: 40 });
  const bad = await publishPlain(bed, 'errors', { thinkMs: 40, failEvery: 5 });
  console.log(`step | analysis-interval | failure-limit | first 5xx → last 5xx | target (interval × (limit + 1) + 2 s) | ratio | failed / requests | load average`);
  for (const { step, interval, limit } of ROWS) {
    const service = `${names.prefix}-s${step}i${interval}l${limit}`;
    const first = await deploy(service, stable);
    if (failureMessage(first)) throw new Error(first.log);
    const load = startLoad({ url: bed.traefik.webUrl, host: `${service}.test`, concurrency: 8 });
    await waitFor('requests to flow', () => load.current().ok > 40, 60_000);
    const result = await deploy(service, bad, {
      strategy: 'canary',
      steps: '5,100',
      'step-duration': `${step}s`,
      'analysis-interval': `${interval}s`,
      'failure-limit': String(limit),
      analysis: 'error_rate <= baseline + 0.01',
    });
    const traffic = await load.stop();
    if (result.outputs.verdict !== 'rolled-back' || traffic.firstFailureAt === undefined) throw new Error(`the bad canary was not rolled back:\n${result.log}`);
    const seconds = (traffic.lastFailureAt! - traffic.firstFailureAt) / 1000;
    const target = interval * (limit + 1) + 2;
    console.log(`${step} s | ${interval} s | ${limit} | ${seconds.toFixed(1)} s | ${target} s | ${(seconds / target).toFixed(2)} | ${traffic.failed} / ${traffic.ok + traffic.failed} | ${loadavg()[0]!.toFixed(1)}`);
  }
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => stopFileRoutingBed(bed, names));
