import type { Log, PrunedImage, RemovalReport, ServingEngine } from './engine';
import { planRetirement, type RetireDecision, type RetirePolicy, type Usage } from './retire-plan';
import type { ManagedServer } from './server';
import { createLimiter } from '../async/pool';
import { PARALLEL_REMOVALS } from './limit';
import { warnUndrainable } from './drain-report';
import type { FileRouting } from './file-routing';
import { fileRoutingForRetire, versionRequests, withdrawVersions } from './retire-file';

export interface RetireOptions extends Omit<RetirePolicy, 'now'> {
  service?: string;
  dryRun: boolean;
  drainTimeoutMs: number;
  traefikApi?: string;
  pruneImages: boolean;
  /** Prepared images no container uses go once this has passed since their prepare (default 72 h). */
  keepPreparedMs?: number;
  now?: () => Date;
  /** routing: file: the directory holding the services' routing files. */
  routingDir?: string;
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

/** The lease retire takes on a service's lock: its drains, in rounds of PARALLEL_REMOVALS, with room to spare. */
export function retireLeaseMs(servers: number, drainTimeoutMs: number): number {
  const rounds = Math.max(1, Math.ceil(servers / PARALLEL_REMOVALS));
  return 15 * 60_000 + rounds * (3 * drainTimeoutMs + STOP_GRACE_MS);
}

const KEEP_PREPARED_MS = 72 * 3600_000;

/** Docker's stop timeout for servers (STOP_TIMEOUT_S in src/engine/containers.ts), for lease sizing. */
const STOP_GRACE_MS = 30_000;

/**
 * Retire: decide over every managed server (src/serving/retire-plan.ts), read the request
 * counters of the servers that would go when an in-use window is given, then, service by service
 * under each service's deploy lock, decide again on a fresh listing (a deploy or rollback may
 * have changed the service during the window), drain and remove what still goes while the lock
 * is still held, and prune the images it no longer needs before letting go of the lock.
 */
export async function runRetire(engine: ServingEngine, options: RetireOptions, log: Log): Promise<RetireResult> {
  const started = Date.now();
  const now = options.now ?? (() => new Date());
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const policy: RetirePolicy = { now: now(), keep: options.keep, maxAgeMs: options.maxAgeMs, inUseWindowMs: options.inUseWindowMs };
  const servers = await engine.listServers(options.service);
  let decisions = planRetirement(servers, policy);

  const usage = new Map<string, Usage>();
  const sampled = decisions.filter((decision) => decision.needsUsage).map((decision) => decision.server);
  const files = new Map<string, FileRouting>();
  if (options.routingDir) {
    for (const service of new Set(servers.map((server) => server.service))) {
      const file = await fileRoutingForRetire(options.routingDir, service, engine.kind, options.traefikApi);
      if (file) files.set(service, file);
    }
  }
  if (sampled.length > 0 && options.inUseWindowMs !== undefined) {
    // File routing: the expired versions leave the weighted service first, so only requests sent
    // to them on purpose (their pinned router) count.
    for (const [service, file] of files) {
      const expired = sampled.filter((server) => server.service === service);
      if (expired.length === 0 || options.dryRun) continue;
      const lock = await engine.tryLockService(service, log, retireLeaseMs(0, options.drainTimeoutMs));
      if (!lock) continue;
      try {
        const stays = await withdrawVersions(file, expired, log, options.drainTimeoutMs);
        for (const server of expired) if (stays.has(file.ref(server.digest))) usage.set(server.id, { readable: false, problem: `the only version ${service}@file still routes to, so it was not withdrawn` });
      } finally {
        await lock.release();
      }
    }
    const count = (server: ManagedServer) => (usage.has(server.id) ? Promise.resolve(usage.get(server.id)!) : files.has(server.service) ? versionRequests(engine, files.get(server.service)!, server) : engine.readRequests(server));
    log.info(`Reading the request counters of ${sampled.length} expired server(s) over the in-use window`);
    const before = await Promise.all(sampled.map(count));
    await sleep(options.inUseWindowMs);
    const after = await Promise.all(sampled.map(count));
    sampled.forEach((server, i) => {
      const a = before[i]!;
      const b = after[i]!;
      if (!a.readable) usage.set(server.id, a);
      else if (!b.readable) usage.set(server.id, b);
      // A counter that went down was reset by a restart: count what it has now.
      else usage.set(server.id, { readable: true, requests: b.requests >= a.requests ? b.requests - a.requests : b.requests, inFlight: b.inFlight });
    });
    decisions = planRetirement(servers, policy, usage);
  }

  const byService = new Map<string, RetireEntry[]>();
  for (const decision of decisions) byService.set(decision.server.service, [...(byService.get(decision.server.service) ?? []), { server: decision.server, decision }]);
  let prunedImages: PrunedImage[] = [];
  if (!options.dryRun) {
    const limit = createLimiter(PARALLEL_REMOVALS);
    const services = [...byService].filter(([, group]) => group.some((entry) => entry.decision.action === 'retire')).map(([service]) => service);
    const results = await Promise.all(
      services.map(async (service) => {
        const group = byService.get(service)!;
        const goes = group.filter((entry) => entry.decision.action === 'retire');
        const lock = await engine.tryLockService(service, log, retireLeaseMs(goes.length, options.drainTimeoutMs));
        if (!lock) {
          for (const entry of goes) entry.skipped = 'a deploy of this service is in progress; left for the next run';
          log.warning(`Skipped ${goes.length} server(s) of ${service}: a deploy of the service holds its lock`);
          return [];
        }
        try {
          // Decide again on what the service is now: the first listing may be a window old.
          const fresh = await engine.listServers(service);
          const entries = planRetirement(fresh, { ...policy, now: now() }, usage).map((decision): RetireEntry => {
            if (decision.needsUsage) {
              return { server: decision.server, decision: { ...decision, action: 'keep', needsUsage: false, reason: `${decision.reason}, but it was not watched over the in-use window (it appeared during it); left for the next run` } };
            }
            return { server: decision.server, decision };
          });
          byService.set(service, entries);
          const file = files.get(service);
          const leaving = entries.filter((entry) => entry.decision.action === 'retire');
          const stays =
            file && leaving.length > 0
              ? await withdrawVersions(
                  file,
                  leaving.map((entry) => entry.server),
                  log,
                  options.drainTimeoutMs,
                )
              : new Set<string>();
          for (const entry of leaving) if (file && stays.has(file.ref(entry.server.digest))) entry.skipped = `the only version ${service}@file routes to: kept`;
          // The decisions leave the newest serving servers of the service alone, so the others may drain together.
          await Promise.all(
            entries
              .filter((entry) => entry.decision.action === 'retire' && !entry.skipped)
              .map((entry) =>
                limit(async () => {
                  if (!(await lock.stillHeld())) {
                    entry.skipped = 'this retire lost the service lock (its lease ran out and another run took it over); left for the next run';
                    return;
                  }
                  if (file) await file.waitIdle(engine, entry.server, options.drainTimeoutMs);
                  entry.removal = await engine.drainAndRemove(entry.server, { drainTimeoutMs: options.drainTimeoutMs, traefikApi: options.traefikApi, withdrawn: Boolean(file) }, log);
                }),
              ),
          );
          const retiredServers = entries.filter((entry) => entry.removal).map((entry) => entry.server);
          // Pruned under the lock, so a deploy of this service cannot be between its pull and its start.
          if (options.pruneImages && retiredServers.length > 0 && (await lock.stillHeld())) return engine.pruneImages(fresh, retiredServers, log);
          return [];
        } finally {
          await lock.release();
        }
      }),
    );
    prunedImages = results.flat();
    // Prepared for pull requests that never merged (or long deployed and retired), each service's
    // under its lock: a deploy holds it from finding its image until its container exists.
    if (options.pruneImages) {
      const lock = (service: string) => engine.tryLockService(service, log, retireLeaseMs(0, options.drainTimeoutMs));
      prunedImages.push(...(await engine.prunePrepared({ service: options.service, keepMs: options.keepPreparedMs ?? KEEP_PREPARED_MS, now: now(), lock }, log)));
    }
  }
  const entries = [...byService.values()].flat();
  if (!options.dryRun)
    warnUndrainable(
      entries.flatMap((entry) => (entry.removal ? [entry.removal] : [])),
      log,
    );

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
