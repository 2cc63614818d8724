import { formatDuration } from '../inputs/parse';
import { code, escapeCell, table } from '../markdown/markdown';
import type { DeploySpec } from './deploy-spec';
import type { DeployResult, RemovalReport } from './engine';
import { shortDigest } from './labels';
import type { RetireEntry, RetireResult } from './retire';

const OUTCOME_TEXT: Record<RemovalReport['outcome'], string> = {
  drained: 'drained',
  withdrawn: 'withdrawn from routing, idle: stopped',
  'ignored-signal': 'ignored the drain signal: stopped',
  'no-health-check': 'no health check: stopped',
  'not-running': 'was not running',
  'not-serving': 'was not healthy (not routed): stopped',
  vanished: 'already gone',
};

export function describeOutcome(report: RemovalReport): string {
  return OUTCOME_TEXT[report.outcome];
}

export function deploySummary(spec: DeploySpec, result: DeployResult): string {
  const { service } = spec.routing;
  const lines = [`## deploy: ${escapeCell(service)} → ${code(shortDigest(result.digest))}`, ''];
  if (result.unchanged) {
    lines.push(`${escapeCell(service)} already serves ${code(result.image)} with ${result.servers.length} healthy server(s): nothing changed.`, '');
  } else {
    lines.push(`Image ${code(result.image)}, strategy ${code(spec.strategy)}, rule ${code(spec.routing.rule)} on network ${code(spec.routing.network)}.`, '');
  }
  lines.push(
    table(
      ['Server', 'Digest', 'URL', 'State'],
      result.servers.map((server) => [code(server.name), code(shortDigest(server.digest)), server.url ? code(server.url) : '—', server.reused ? 'already serving' : 'new, healthy']),
    ),
    '',
  );
  if (result.removed.length > 0) {
    lines.push(
      '### Drained and removed',
      '',
      table(
        ['Server', 'Digest', 'Drain', { header: 'Seconds', align: 'right' }, 'Note'],
        result.removed.map((r) => [code(r.name), code(shortDigest(r.digest)), describeOutcome(r), r.seconds.toFixed(1), escapeCell(r.warning ?? '')]),
      ),
      '',
    );
  } else if (!result.unchanged && spec.strategy === 'add') {
    lines.push('Older servers keep serving beside the new ones (strategy `add`) until `retire` removes them.', '');
  }
  if (!result.unchanged) {
    const t = result.timings;
    const parts = [`pull ${formatDuration(t.pullMs)}`, `start ${formatDuration(t.startMs)}`, `healthy ${formatDuration(t.healthyMs)}`];
    if (spec.traefikApi) parts.push(`Traefik UP ${formatDuration(t.traefikMs)}`);
    if (result.removed.length > 0) parts.push(`drain ${formatDuration(t.drainMs)}`);
    lines.push(`Took ${formatDuration(t.totalMs)}: ${parts.join(', ')}.`, '');
  }
  return lines.join('\n');
}

function age(entry: RetireEntry, now: Date): string {
  return formatDuration(Math.max(0, now.getTime() - entry.server.deployedAt.getTime()));
}

function expiry(entry: RetireEntry, now: Date): string {
  const at = entry.decision.expiry;
  if (at === null) return 'never';
  if (at === undefined) return 'unknown';
  const delta = at.getTime() - now.getTime();
  return delta > 0 ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`;
}

function decisionText(entry: RetireEntry, dryRun: boolean): string {
  if (entry.skipped) return 'kept';
  if (entry.decision.action === 'keep') return 'kept';
  if (dryRun) return 'would retire';
  if (entry.removal?.outcome === 'vanished') return 'already gone';
  return 'retired';
}

function reasonText(entry: RetireEntry): string {
  const parts = [entry.skipped ?? entry.decision.reason];
  if (entry.removal && entry.removal.outcome !== 'vanished') parts.push(`${describeOutcome(entry.removal)} in ${entry.removal.seconds.toFixed(1)}s`);
  if (entry.removal?.warning) parts.push(entry.removal.warning);
  return parts.join('; ');
}

export interface RetireRow {
  service: string;
  server: string;
  digest: string;
  age: string;
  expiry: string;
  decision: string;
  reason: string;
}

export function retireRows(result: RetireResult, now = result.decidedAt): RetireRow[] {
  const order = [...result.entries].sort((a, b) => a.server.service.localeCompare(b.server.service) || b.server.deployedAt.getTime() - a.server.deployedAt.getTime());
  return order.map((entry) => ({
    service: entry.server.service,
    server: entry.server.name,
    digest: shortDigest(entry.server.digest) || '?',
    age: age(entry, now),
    expiry: expiry(entry, now),
    decision: decisionText(entry, result.dryRun),
    reason: reasonText(entry),
  }));
}

/** The same table as plain text for the step log. */
export function retireLogTable(rows: RetireRow[]): string {
  const headers = ['SERVICE', 'SERVER', 'DIGEST', 'AGE', 'EXPIRY', 'DECISION', 'REASON'];
  const cells = rows.map((r) => [r.service, r.server, r.digest, r.age, r.expiry, r.decision, r.reason]);
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => (i === 6 ? 0 : row[i]!.length))));
  const line = (row: string[]) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ');
  return [line(headers), ...cells.map(line)].join('\n');
}

export function retireSummary(result: RetireResult, now = result.decidedAt): string {
  const rows = retireRows(result, now);
  const verb = result.dryRun ? 'would retire' : 'retired';
  const lines = [`## retire${result.dryRun ? ' (dry run: nothing changed)' : ''}`, '', `${result.retired.length} server(s) ${verb}, ${result.kept.length} kept, of ${result.entries.length} managed server(s).`, ''];
  if (rows.length > 0) {
    lines.push(
      table(
        ['Service', 'Server', 'Digest', 'Age', 'Expiry', 'Decision', 'Reason'],
        rows.map((r) => [escapeCell(r.service), code(r.server), code(r.digest), r.age, r.expiry, r.decision === 'kept' ? 'kept' : `**${r.decision}**`, escapeCell(r.reason)]),
      ),
      '',
    );
  }
  if (result.prunedImages.length > 0) {
    lines.push(`Removed ${result.prunedImages.length} image(s) no container uses: ${result.prunedImages.map((image) => code(image.references[0] ?? image.id)).join(', ')}.`, '');
  }
  return lines.join('\n');
}
