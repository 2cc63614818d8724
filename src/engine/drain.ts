import type Docker from 'dockerode';
import { formatDuration } from '../inputs/parse';
import type { DrainOptions, RemovalReport } from '../serving/engine';
import { parseServerLabels } from '../serving/labels';
import type { ManagedServer } from '../serving/server';
import { TraefikApi } from '../traefik/api';
import { readRequestCount } from './server-metrics';
import { removalReporter } from '../serving/drain-report';
import { engineMessage, statusOf } from './errors';
import { ContainerWatch } from './watch';

/**
 * Without Traefik's API to confirm, how long to let Traefik apply a health change before the
 * server stops: its provider throttle (providers.providersThrottleDuration) is 2 s by default.
 */
export const TRAEFIK_SETTLE_MS = 3000;

class Vanished extends Error {}

/** Run an engine call; a 404 means someone else removed the container. */
async function engineCall<T>(call: () => Promise<T>, tolerate: number[] = []): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    const status = statusOf(error);
    if (status === 404) throw new Vanished();
    if (status !== undefined && tolerate.includes(status)) return undefined;
    throw new Error(engineMessage(error));
  }
}

/**
 * docs/traefik.md's drain: send the drain signal so the server reports unhealthy while it keeps
 * answering; wait for Docker health `unhealthy` (≤ drain-timeout); with Traefik's API, wait until
 * the server's URL left the service (without it, give Traefik its throttle time); wait for the
 * server's in-flight requests to reach 0 when it reports them; stop with SIGTERM and the
 * container's stop timeout; remove. The caller makes sure another server of the service serves.
 */
export async function drainContainer(docker: Docker, server: ManagedServer, options: DrainOptions): Promise<RemovalReport> {
  const started = Date.now();
  const report = removalReporter(server);
  const container = docker.getContainer(server.id);
  let watch: ContainerWatch | undefined;
  try {
    let outcome: RemovalReport['outcome'];
    let warning: string | undefined;
    // The listing's state is recent enough to choose the path; a server that changed since is
    // caught by the engine's answers (404: gone; 409/304: not running).
    if (server.state !== 'running') {
      outcome = 'not-running';
    } else if (options.withdrawn) {
      outcome = 'withdrawn';
    } else if (server.health === 'starting' || server.health === 'unhealthy') {
      // Traefik routes only to healthy servers: nothing reaches this one.
      outcome = 'not-serving';
    } else if (server.health === 'none') {
      outcome = 'no-health-check';
      warning = `${server.name} has no health check: Traefik routed to it until it stopped`;
    } else {
      watch = await ContainerWatch.open(docker, [server.id]);
      if (!watch.status(server.id).exists) throw new Vanished();
      await engineCall(() => container.kill({ signal: server.drainSignal }), [409]);
      const flipped = await watch.until(
        server.id,
        (status) => (!status.exists ? 'gone' : status.health === 'unhealthy' ? 'unhealthy' : status.died || status.state !== 'running' ? 'exited' : undefined),
        options.drainTimeoutMs,
        () => 'timeout' as const,
      );
      if (flipped === 'gone') throw new Vanished();
      if (flipped === 'timeout') {
        outcome = 'ignored-signal';
        warning = `${server.name} still reported healthy ${formatDuration(options.drainTimeoutMs)} after ${server.drainSignal}; stopped it anyway`;
      } else if (flipped === 'exited') {
        outcome = 'ignored-signal';
        warning = `${server.name} exited on ${server.drainSignal} instead of draining`;
      } else {
        outcome = 'drained';
        if (options.traefikApi && server.url) {
          const gone = await new TraefikApi(options.traefikApi).waitForGone(server.service, server.url, options.drainTimeoutMs);
          if (!gone) warning = `Traefik still listed ${server.url} for ${server.service} ${formatDuration(options.drainTimeoutMs)} after it turned unhealthy; stopped it anyway`;
        } else {
          await new Promise((resolve) => setTimeout(resolve, TRAEFIK_SETTLE_MS));
        }
        await waitForIdle(server, Math.max(1000, started + options.drainTimeoutMs * 2 - Date.now()));
      }
    }
    watch?.close();
    await engineCall(() => container.stop(), [304]);
    await engineCall(() => container.remove({ v: true }));
    return report(outcome, warning);
  } catch (error) {
    if (error instanceof Vanished) return report('vanished');
    throw error;
  } finally {
    watch?.close();
  }
}

/** Wait until the server reports no request in flight (servers that report none are not waited on). */
async function waitForIdle(server: ManagedServer, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const source = parseServerLabels(server.labels).metrics;
  for (;;) {
    const count = await readRequestCount(server.url, 1000, source);
    if (!count.readable || !count.inFlight) return;
    if (Date.now() >= deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
