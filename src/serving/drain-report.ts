import type { Log, RemovalReport } from './engine';

/** One warning for every server that could not be drained for want of a health check. */
export function warnUndrainable(reports: readonly RemovalReport[], log: Log): void {
  const names = reports.filter((report) => report.outcome === 'no-health-check').map((report) => report.name);
  if (names.length === 0) return;
  const shown = names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');
  log.warning(
    `${names.length} server(s) had no health check, so Traefik kept routing to them until they stopped (${shown}): give the image a HEALTHCHECK, or deploy with health-cmd, to drain without dropping requests`,
  );
}
