import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runFileRollout } from '../../src/rollout/deploy-rollout';
import { parseProgressiveInputs } from '../../src/rollout/spec';
import type { DeploySpec } from '../../src/serving/deploy-spec';
import { FileRouting } from '../../src/serving/file-routing';
import { readRoutingState } from '../../src/traefik/routing-file';

/**
 * The file port end to end without Traefik: real routing files in a temporary directory, and
 * Traefik's per-service metrics served over HTTP by a counter table that the fake clock advances
 * during each hold (as traffic split by the weights would). No traefik-api, so each write waits
 * the file provider's settle time.
 */
const DIGEST_STABLE = `sha256:${'a'.repeat(64)}`;
const DIGEST_NEW = `sha256:${'b'.repeat(64)}`;
const log = { info: () => {}, warning: () => {}, error: () => {} } as never;

describe('runFileRollout on a routing file', () => {
  let dir: string;
  let server: Server;
  let metricsUrl: string;
  const counts = new Map<string, { ok: number; err: number }>();
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'canary-'));
    counts.clear();
    server = createServer((_req, res) => {
      const lines: string[] = [];
      for (const [service, c] of counts) {
        lines.push(`traefik_service_requests_total{code="200",method="GET",protocol="http",service="${service}"} ${c.ok}`);
        lines.push(`traefik_service_requests_total{code="503",method="GET",protocol="http",service="${service}"} ${c.err}`);
        lines.push(`traefik_service_request_duration_seconds_bucket{code="200",method="GET",protocol="http",service="${service}",le="0.1"} ${c.ok + c.err}`);
        lines.push(`traefik_service_request_duration_seconds_bucket{code="200",method="GET",protocol="http",service="${service}",le="+Inf"} ${c.ok + c.err}`);
      }
      res.end(lines.join('\n'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    metricsUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/metrics`;
  });
  afterEach(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** `canaryErrorRate`: the canary's share of 5xx, or a function of the hold's n-th sleep (from 0). */
  async function run(canaryErrorRate: number | ((n: number) => number), extra: Record<string, string> = {}) {
    const routing = { service: 'iris', rule: 'Host(`iris.local`)', entrypoints: ['web'], port: 8080, network: 'n' };
    const file = new FileRouting(routing, dir, 'docker');
    const stableRef = file.ref(DIGEST_STABLE);
    const canaryRef = file.ref(DIGEST_NEW);
    await file.publish({ backends: [{ service: stableRef, weight: 1 }], kept: {} }, log, 10_000);
    const progressive = parseProgressiveInputs({ strategy: 'canary', routing: 'file', 'traefik-metrics': metricsUrl, steps: '10,50', 'step-duration': '1m', analysis: 'error_rate <= baseline + 0.01\nrequests >= 50', ...extra })!;
    const seen: unknown[] = [];
    let sleeps = 0;
    const clock = {
      now: () => new Date(),
      // 1000 requests a hold, split by the weights the routing file holds now.
      sleep: async () => {
        const state = await readRoutingState(file.path);
        seen.push(state?.rollout);
        const weight = (ref: string) => state!.backends.find((b) => b.service === ref)?.weight ?? 0;
        const total = weight(stableRef) + weight(canaryRef);
        const toCanary = Math.round((1000 * weight(canaryRef)) / total);
        const s = counts.get(stableRef) ?? { ok: 0, err: 0 };
        counts.set(stableRef, { ok: s.ok + 1000 - toCanary, err: s.err });
        const c = counts.get(canaryRef) ?? { ok: 0, err: 0 };
        const rate = typeof canaryErrorRate === 'number' ? canaryErrorRate : canaryErrorRate(sleeps++);
        const errors = Math.round(toCanary * rate);
        counts.set(canaryRef, { ok: c.ok + toCanary - errors, err: c.err + errors });
      },
    };
    const table = await file.read();
    const spec = { routing, healthTimeoutMs: 10_000, drainTimeoutMs: 1000 } as DeploySpec;
    const result = await runFileRollout({ spec, progressive, file, table, digest: DIGEST_NEW, version: 'b'.repeat(12), newServers: [], existing: [], log, clock });
    return { result: result!, seen, final: await readRoutingState(file.path), stableRef, canaryRef };
  }

  it('a good canary: 10 % then 50 %, progress recorded in the routing file with the weights, figures from /metrics', async () => {
    const { result, seen, final, stableRef, canaryRef } = await run(0);
    expect(result.verdict).toBe('promoted');
    expect(result.windows.map((s) => [s.weight, s.figures.canary.requests, s.figures.stable.requests])).toEqual([
      [10, 100, 900],
      [50, 500, 500],
    ]);
    expect(seen.map((p) => (p as { weight: number }).weight)).toEqual([10, 50]);
    // Promotion is deploy's own write: until then the last step's record stays, so a killed run
    // resumes at 50 % (and holds it once more) instead of leaving two versions weighted unrecorded.
    expect((final!.rollout as { step: number; weight: number }).weight).toBe(50);
    expect(final!.backends).toEqual([
      { service: stableRef, weight: 50 },
      { service: canaryRef, weight: 50 },
    ]);
  }, 60_000);

  it('a canary answering 5xx to 20 %: rolled back after the first step, stable alone, record cleared', async () => {
    const { result, final, stableRef, canaryRef } = await run(0.2);
    expect(result.verdict).toBe('rolled-back');
    expect(result.failed?.weight).toBe(10);
    expect(result.windows[0]!.figures.canary.error_rate).toBeCloseTo(0.2, 9);
    expect(final!.backends).toEqual([
      { service: stableRef, weight: 100 },
      { service: canaryRef, weight: 0 },
    ]);
    expect(final!.rollout).toBeUndefined();
  }, 60_000);

  it('analysis-interval 30s, failure-limit 1: the failed first window is written beside the unchanged weights at once, the next windows pass, promoted', async () => {
    const { result, seen, final } = await run((n) => (n === 0 ? 0.2 : 0), { 'analysis-interval': '30s', 'failure-limit': '1' });
    expect(result.verdict).toBe('promoted');
    expect(result.windows.map((w) => [w.weight, w.window, w.figures.canary.requests, w.passed, w.failures])).toEqual([
      [10, 0, 100, false, 1],
      [10, 1, 100, true, 1],
      [50, 0, 500, true, 1],
      [50, 1, 500, true, 1],
    ]);
    // What the file held at each sleep: the second window of step 1 already finds the failure recorded (a rerun would count it).
    expect(seen.map((p) => [(p as { weight: number }).weight, (p as { failures: number }).failures])).toEqual([
      [10, 0],
      [10, 1],
      [50, 1],
      [50, 1],
    ]);
    expect(final!.rollout).toMatchObject({ weight: 50, failures: 1 });
  }, 60_000);
});
