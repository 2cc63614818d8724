import type { Log, PrunedImage, RemovalReport, ServingEngine } from './engine';
import { planRetirement, type RetireDecision, type RetirePolicy, type Usage } from './retire-plan';
import type { ManagedServer } from './server';
import { createLimiter } from '../async/pool';
import { PARALLEL_REMOVALS } from './limit';
import { warnUndrainable } from './drain-report';

export interface RetireOptions extends Omit<RetirePolicy, 'now'> {
  service?: string;
  dryRun: boolean;
  drainTimeoutMs: number;
  traefikApi?: string;
  pruneImages: boolean;
  now?: () => Date;
  /** Waits out the in-use window; tests and benchmarks may shorten it. */
  sleep?: (ms: number) => Promise<void>;
}

export interface RetireEntry {
  server: ManagedServer;
  decision: RetireDecision;
  /** Set once a retired server was drained and removed. */
  removal?: RemovalReport;
  /** Set when a server that was to go stayed anyway (its service was locked by a deploy). */
  skipped?: string;
}

export interface RetireResult {
  entries: RetireEntry[];
  retired: RetireEntry[];
  kept: RetireEntry[];
  prunedImages: PrunedImage[];
  dryRun: boolean;
  /** The moment the decisions were taken at. */
  decidedAt: Date;
  seconds: number;
}

/**
 * Retire: decide over every managed server (src/serving/retire-plan.ts), read the request
 * counters of the servers that would go when an in-use window is given, then drain and remove
 * them service by service under each service's deploy lock, and prune images nobody uses.
 */
export async function runRetire(engine: ServingEngine, options: RetireOptions, log: Log): Promise<RetireResult> {
  const started = Date.now();
  const now = options.now ?? (() => new Date());
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const policy: RetirePolicy = { now: now(), keep: options.keep, maxAgeMs: options.maxAgeMs, inUseWindowMs: options.inUseWindowMs };
  const servers = await engine.listServers(options.service);
  let decisions = planRetirement(servers, policy);

  const sampled = decisions.filter((decision) => decision.needsUsage).map((decision) => decision.server);
  if (sampled.length > 0 && options.inUseWindowMs !== undefined) {
    log.info(`Reading the request counters of ${sampled.length} expired server(s) over the in-use window`);
    const before = await Promise.all(sampled.map((server) => engine.readRequests(server)));
    await sleep(options.inUseWindowMs);
    const after = await Promise.all(sampled.map((server) => engine.readRequests(server)));
    const usage = new Map<string, Usage>();
    sampled.forEach((server, i) => {
      const a = before[i]!;
      const b = after[i]!;
      if (!a.readable) usage.set(server.id, a);
      else if (!b.readable) usage.set(server.id, b);
      // A counter that went down was reset by a restart: count what it has now.
      else usage.set(server.id, { readable: true, requests: b.requests >= a.requests ? b.requests - a.requests : b.requests, inFlight: b.inFlight });
    });
    decisions = planRetirement(servers, { ...policy, now: policy.now }, usage);
  }

  const entries: RetireEntry[] = decisions.map((decision) => ({ server: decision.server, decision }));
  let prunedImages: PrunedImage[] = [];
  if (!options.dryRun) {
    const byService = new Map<string, RetireEntry[]>();
    for (const entry of entries) {
      if (entry.decision.action !== 'retire') continue;
      byService.set(entry.server.service, [...(byService.get(entry.server.service) ?? []), entry]);
    }
    const limit = createLimiter(PARALLEL_REMOVALS);
    await Promise.all(
      [...byService].map(async ([service, group]) => {
        const lock = await engine.tryLockService(service, log);
        if (!lock) {
          for (const entry of group) entry.skipped = 'a deploy of this service is in progress; left for the next run';
          log.warning(`Skipped ${group.length} server(s) of ${service}: a deploy of the service holds its lock`);
          return;
        }
        try {
          // The decisions leave the newest serving servers of the service alone, so the others
          // may drain together.
          await Promise.all(
            group.map((entry) =>
              limit(async () => {
                entry.removal = await engine.drainAndRemove(entry.server, { drainTimeoutMs: options.drainTimeoutMs, traefikApi: options.traefikApi }, log);
              }),
            ),
          );
        } finally {
          await lock.release();
        }
      }),
    );
    warnUndrainable(entries.flatMap((entry) => (entry.removal ? [entry.removal] : [])), log);
    if (options.pruneImages) {
      const retiredServers = entries.filter((entry) => entry.removal).map((entry) => entry.server);
      prunedImages = await engine.pruneImages(servers, retiredServers, log);
    }
  }

  const goes = (entry: RetireEntry) => entry.decision.action === 'retire' && !entry.skipped;
  return {
    entries,
    retired: entries.filter(goes),
    kept: entries.filter((entry) => !goes(entry)),
    prunedImages,
    dryRun: options.dryRun,
    decidedAt: policy.now,
    seconds: (Date.now() - started) / 1000,
  };
}
