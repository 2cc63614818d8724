import type { Log, RemovalReport } from './engine';
import type { ManagedServer } from './server';

/** Starts the clock on one server's removal; the function it returns writes the report. */
export function removalReporter(server: ManagedServer): (outcome: RemovalReport['outcome'], warning?: string) => RemovalReport {
  const started = Date.now();
  return (outcome, warning) => ({
    id: server.id,
    name: server.name,
    service: server.service,
    digest: server.digest,
    outcome,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    ...(warning ? { warning } : {}),
  });
}

/** One warning for every server that could not be drained for want of a health check. */
export function warnUndrainable(reports: readonly RemovalReport[], log: Log): void {
  const names = reports.filter((report) => report.outcome === 'no-health-check').map((report) => report.name);
  if (names.length === 0) return;
  const shown = names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');
  log.warning(`${names.length} server(s) had no health check, so Traefik kept routing to them until they stopped (${shown}): give the image a HEALTHCHECK, or deploy with health-cmd, to drain without dropping requests`);
}
