import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRoutingState } from '../../src/traefik/routing-file';
import { failureMessage, startAction, type ActionRunResult, type StartedAction } from '../support/action-runner';
import { docker } from '../support/docker-cli';
import { bedDeployInputs, fileRoutingNames, publishPlain, startFileRoutingBed, stopFileRoutingBed, watchRoutingFile, type FileRoutingBed } from '../support/file-routing-bed';
import { waitFor } from '../support/ports';
import { startLoad } from '../support/traefik/load';

/**
 * A `routing: file` replace whose runner dies (SIGKILL) partway, then runs again, on the real
 * Docker Engine, a real registry and the Traefik stand-in (file provider and Docker provider, the
 * 2 s throttle), under 8 clients. It is killed the moment it prints that it reached a point (a
 * state polled from outside can come and go between two polls on a busy machine): the new
 * version's container started but not yet weighted, and the new version weighted while the old
 * one still runs (its drain). What a rerun plans from a killed run's
 * leftovers is unit-tested in test/serving/deploy-plan.test.ts; this file shows the real parts
 * converge.
 */
const names = fileRoutingNames('kill');
const { prefix, routingDir } = names;
let bed: FileRoutingBed;
const digestOf = (image: string) => image.slice(image.indexOf('@') + 1);
const short = (image: string) => digestOf(image).slice(7, 19);
const ref = (service: string, image: string) => `${service}-${short(image)}@docker`;
const table = (service: string) => readRoutingState(join(routingDir, `${service}.yml`));

function startDeploy(service: string, image: string): StartedAction {
  return startAction('deploy', { inputs: bedDeployInputs(bed, service, image), timeoutMs: 400_000 });
}

/** The digests a service's containers run (running ones only). */
async function runningDigests(service: string): Promise<string[]> {
  const out = await docker(['ps', '--filter', `label=train-to-serve.service=${service}`, '--format', '{{.Label "train-to-serve.image-digest"}}']);
  return out.split('\n').filter(Boolean).sort();
}

beforeAll(async () => {
  bed = await startFileRoutingBed(names);
  await publishPlain(bed, 'v1', { thinkMs: 20 });
  await publishPlain(bed, 'v2', { thinkMs: 20 });
}, 300_000);

afterAll(() => stopFileRoutingBed(bed, names));

/**
 * Where each run is killed: at a line the deploy itself prints, the moment it prints it (its
 * output is read as it comes), so the point is hit however fast or slow the machine is.
 */
const killPoints: { point: string; line: (service: string) => RegExp }[] = [
  // Printed once the new server's container started, before readiness and before any weight.
  { point: 'the new version started, not yet weighted', line: () => /^Started \S+; waiting up to/m },
  // Printed once Traefik serves the new weights, before the old version's drain begins.
  { point: 'the new version weighted, the old one still running (its drain)', line: (service) => new RegExp(`^Routing ${service}: ${service}-${short(bed.images.v2!)}@docker \\(weight [1-9].*Traefik applied it`, 'm') },
];

/** SIGKILL the run as soon as its output has a line matching `line`. */
function killAt(run: StartedAction, line: RegExp): Promise<void> {
  let output = '';
  return new Promise((resolve, reject) => {
    run.child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (line.test(output) && run.child.kill('SIGKILL')) resolve();
    });
    run.result.then(() => reject(new Error(`the run ended before printing ${String(line)}:\n${output}`)), reject);
  });
}

describe('a routing-file replace whose runner is killed, then run again (engine, stand-in, 8 clients)', () => {
  for (const { point, line } of killPoints) {
    it(`killed at: ${point}; the rerun converges on the new version alone with no failed request`, async () => {
      const service = `${prefix}-${killPoints.findIndex((k) => k.point === point)}`;
      const first: ActionRunResult = await startDeploy(service, bed.images.v1!).result;
      expect(failureMessage(first), first.log).toBeUndefined();
      const load = startLoad({ url: bed.traefik.webUrl, host: `${service}.test`, concurrency: 8 });
      await waitFor('requests to flow', async () => load.current().ok > 40, 60_000);
      // The routing file is read all along: it must always parse, and always weight something.
      const watch = watchRoutingFile(routingDir, service, (state) => (state.backends.some((b) => b.weight > 0) ? undefined : 'nothing weighted'));
      let badStates: string[] = [];
      try {
        const doomed = startDeploy(service, bed.images.v2!);
        await killAt(doomed, line(service));
        expect((await doomed.result).signal).toBe('SIGKILL');
        // Killed halfway: the old version still runs beside the new one.
        expect(await runningDigests(service)).toEqual([digestOf(bed.images.v1!), digestOf(bed.images.v2!)].sort());

        const again = await startDeploy(service, bed.images.v2!).result;
        expect(failureMessage(again), again.log).toBeUndefined();
        expect(again.log).toMatch(/Taking over the deploy lock/);
        await waitFor('the old version to be removed', async () => (await runningDigests(service)).join() === digestOf(bed.images.v2!), 60_000);
        const state = (await table(service))!;
        expect(state.backends.filter((b) => b.weight > 0).map((b) => b.service)).toEqual([ref(service, bed.images.v2!)]);
        await new Promise((resolve) => setTimeout(resolve, 500));
      } finally {
        badStates = await watch.stop();
      }
      const traffic = await load.stop();
      console.log(`[kill] ${point}: ${traffic.ok} ok, ${traffic.failed} failed ${JSON.stringify(traffic.outcomes)}`);
      expect(traffic.failed, JSON.stringify(traffic)).toBe(0);
      expect(badStates).toEqual([]);
      expect(Object.keys(traffic.digests).sort()).toEqual([digestOf(bed.images.v1!), digestOf(bed.images.v2!)].sort());
    }, 600_000);
  }
});
