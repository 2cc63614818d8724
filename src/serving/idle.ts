/** What one look at a withdrawn version says: requests in progress, and requests answered so far. */
export interface IdleFigures {
  inFlight?: number;
  requests?: number;
}

/**
 * How long a withdrawn version's request counter must stay still to count as idle when nothing
 * reports requests in flight: Traefik counts a request when it ends, so a steady counter after
 * the withdrawal means the last answers have gone out (a request longer than this is left to the
 * SIGTERM grace period).
 */
export const IDLE_QUIET_MS = 2000;

/**
 * Wait until a withdrawn version has no request in flight: an in-flight figure of 0 when one
 * exists, else a request counter that has not moved for `quietMs` (IDLE_QUIET_MS). With neither it returns at
 * once. False when `timeoutMs` passes first.
 */
export async function waitForIdle(look: () => Promise<IdleFigures>, timeoutMs: number, { pollMs = 100, quietMs = IDLE_QUIET_MS } = {}): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let last: { requests: number; since: number } | undefined;
  for (;;) {
    const { inFlight, requests } = await look();
    if (inFlight !== undefined) {
      if (inFlight <= 0) return true;
    } else {
      if (requests === undefined) return true;
      const now = Date.now();
      if (!last || last.requests !== requests) last = { requests, since: now };
      else if (now - last.since >= quietMs) return true;
    }
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
