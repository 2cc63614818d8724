/**
 * Traefik's per-provider throttle (`providers.providersThrottleDuration`, 2 s by default;
 * aggregator.maybeThrottledProvide): a ring buffer of one message. A message that arrives while
 * the throttle is idle is applied at once; then it sleeps for the duration, and whatever message
 * arrived meanwhile (only the newest) is applied when it wakes, and it sleeps again. Every
 * message counts, even one equal to the current configuration: equal ones are skipped later,
 * after the sleep has been paid.
 */
export interface Throttle<T> {
  push(message: T): void;
  /** Stops timers; nothing more is applied. */
  close(): void;
}

export function createThrottle<T>(durationMs: number, apply: (message: T) => void): Throttle<T> {
  let pending: { message: T } | undefined;
  let sleeping: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  const publish = () => {
    sleeping = undefined;
    if (closed || !pending) return;
    const { message } = pending;
    pending = undefined;
    apply(message);
    if (durationMs > 0) sleeping = setTimeout(publish, durationMs);
    else if (pending) publish();
  };

  return {
    push(message) {
      if (closed) return;
      pending = { message };
      if (!sleeping) publish();
    },
    close() {
      closed = true;
      if (sleeping) clearTimeout(sleeping);
      sleeping = undefined;
    },
  };
}
