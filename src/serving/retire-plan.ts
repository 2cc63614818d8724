import { formatDuration } from '../inputs/parse';
import { isServing, newestFirst, type ManagedServer } from './server';

export interface RetirePolicy {
  now: Date;
  /** The newest `keep` serving servers of each service are never removed. */
  keep: number;
  /** When given, a server expires this long after deployed-at, whatever its label says. */
  maxAgeMs?: number;
  /** When given, servers whose request counter grew within this window are kept. */
  inUseWindowMs?: number;
}

/** What a server's own metrics said over the in-use window. */
export type Usage = { readable: true; requests: number; inFlight?: number } | { readable: false; problem: string };

export type RetireAction = 'retire' | 'keep';

export interface RetireDecision {
  server: ManagedServer;
  action: RetireAction;
  reason: string;
  /** When it expires (or expired); null: never; undefined: unknown. */
  expiry?: Date | null;
  expired: boolean;
  /** Set when the decision waits on the server's request counter (expired, otherwise retirable, running). */
  needsUsage: boolean;
}

function expiryOf(server: ManagedServer, policy: RetirePolicy): Date | null | undefined {
  if (policy.maxAgeMs !== undefined) return new Date(server.deployedAt.getTime() + policy.maxAgeMs);
  return server.expiresAt;
}

/**
 * Decide, for every managed server, whether retire removes it and why. Pure: `usage` carries what
 * the servers' metrics said (sampled by the caller for the servers with `needsUsage`), and a
 * decision that needs usage it was not given stays `retire` with `needsUsage` set.
 */
export function planRetirement(servers: readonly ManagedServer[], policy: RetirePolicy, usage?: ReadonlyMap<string, Usage>): RetireDecision[] {
  const protectedIds = new Set<string>();
  const byService = new Map<string, ManagedServer[]>();
  for (const server of servers) byService.set(server.service, [...(byService.get(server.service) ?? []), server]);
  for (const group of byService.values()) {
    for (const server of newestFirst(group.filter(isServing)).slice(0, policy.keep)) protectedIds.add(server.id);
  }
  const now = policy.now.getTime();

  return servers.map((server): RetireDecision => {
    const expiry = expiryOf(server, policy);
    const expired = expiry instanceof Date && expiry.getTime() <= now;
    const base = { server, expiry, expired, needsUsage: false };
    if (expiry === undefined) return { ...base, action: 'keep', reason: 'no readable expires-at label (set max-age to retire it by age)' };
    if (expiry === null) return { ...base, action: 'keep', reason: 'never expires' };
    if (!expired) return { ...base, action: 'keep', reason: `not expired (expires in ${formatDuration(expiry.getTime() - now)})` };
    if (protectedIds.has(server.id)) {
      return { ...base, action: 'keep', reason: `expired, but one of the newest ${policy.keep} serving server${policy.keep === 1 ? '' : 's'} of ${server.service} (keep: ${policy.keep})` };
    }
    const ago = `expired ${formatDuration(now - expiry.getTime())} ago`;
    if (policy.inUseWindowMs !== undefined && server.state === 'running') {
      const seen = usage?.get(server.id);
      const window = formatDuration(policy.inUseWindowMs);
      if (!seen) return { ...base, needsUsage: true, action: 'retire', reason: ago };
      if (!seen.readable) return { ...base, action: 'keep', reason: `${ago}, but whether it is in use is unknown: ${seen.problem}` };
      if (seen.requests > 0) return { ...base, action: 'keep', reason: `in use: ${seen.requests} request${seen.requests === 1 ? '' : 's'} in the last ${window} (${ago})` };
      if ((seen.inFlight ?? 0) > 0) return { ...base, action: 'keep', reason: `in use: ${seen.inFlight} request(s) in flight (${ago})` };
      return { ...base, action: 'retire', reason: `${ago}, no requests in the last ${window}` };
    }
    return { ...base, action: 'retire', reason: server.state === 'running' ? ago : `${ago} (${server.state})` };
  });
}
