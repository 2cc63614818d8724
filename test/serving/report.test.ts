import { describe, expect, it } from 'vitest';
import { warnUndrainable } from '../../src/serving/drain-report';
import type { RemovalReport } from '../../src/serving/engine';
import { createLimiter } from '../../src/async/pool';
import { planRetirement } from '../../src/serving/retire-plan';
import type { RetireResult } from '../../src/serving/retire';
import { retireLogTable, retireRows, retireSummary } from '../../src/serving/report';
import type { ManagedServer } from '../../src/serving/server';

const now = new Date('2026-03-01T12:00:00Z');
const server = (name: string, deployedHoursAgo: number, expiresInHours: number | null, changes: Partial<ManagedServer> = {}): ManagedServer => ({
  id: name,
  name,
  service: 'iris',
  digest: `sha256:${name.padEnd(64, '0')}`,
  image: 'img',
  deployedAt: new Date(now.getTime() - deployedHoursAgo * 3_600_000),
  expiresAt: expiresInHours === null ? null : new Date(now.getTime() + expiresInHours * 3_600_000),
  state: 'running',
  health: 'healthy',
  drainSignal: 'SIGUSR2',
  labels: {},
  ...changes,
});

function result(dryRun: boolean): RetireResult {
  const servers = [server('aaa', 2, 166), server('bbb', 200, -24), server('ccc|<b>', 300, null, { service: 'wine' })];
  const entries = planRetirement(servers, { now, keep: 0 }).map((decision) => ({
    server: decision.server,
    decision,
    removal: !dryRun && decision.action === 'retire' ? ({ id: decision.server.id, name: decision.server.name, service: 'iris', digest: '', outcome: 'drained', seconds: 5.2 } satisfies RemovalReport) : undefined,
  }));
  const goes = entries.filter((e) => e.decision.action === 'retire');
  return { entries, retired: goes, kept: entries.filter((e) => !goes.includes(e)), prunedImages: [], dryRun, decidedAt: now, seconds: 1 };
}

describe('retire report', () => {
  it('lists every server: service, digest, age, expiry, decision, reason', () => {
    expect(retireRows(result(false))).toEqual([
      { service: 'iris', server: 'aaa', digest: 'aaa000000000', age: '2h', expiry: 'in 6d22h', decision: 'kept', reason: 'not expired (expires in 6d22h)' },
      { service: 'iris', server: 'bbb', digest: 'bbb000000000', age: '8d8h', expiry: '1d ago', decision: 'retired', reason: 'expired 1d ago; drained in 5.2s' },
      { service: 'wine', server: 'ccc|<b>', digest: 'ccc|<b>00000', age: '12d12h', expiry: 'never', decision: 'kept', reason: 'never expires' },
    ]);
    expect(retireLogTable(retireRows(result(false))).split('\n')).toEqual([
      'SERVICE  SERVER   DIGEST        AGE     EXPIRY    DECISION  REASON',
      'iris     aaa      aaa000000000  2h      in 6d22h  kept      not expired (expires in 6d22h)',
      'iris     bbb      bbb000000000  8d8h    1d ago    retired   expired 1d ago; drained in 5.2s',
      'wine     ccc|<b>  ccc|<b>00000  12d12h  never     kept      never expires',
    ]);
  });

  it('says what a dry run would do, and escapes names in the summary', () => {
    const summary = retireSummary(result(true));
    expect(summary).toContain('## retire (dry run: nothing changed)');
    expect(summary).toContain('1 server(s) would retire, 2 kept, of 3 managed server(s).');
    expect(summary).toContain('| **would retire** | expired 1d ago |');
    expect(summary).toContain('`ccc\\|<b>`');
    expect(summary).toContain('`ccc\\|<b>00000`');
  });
});

describe('warnUndrainable', () => {
  it('gives one warning for every server that had no health check', () => {
    const warnings: string[] = [];
    const reports = Array.from({ length: 7 }, (_, i) => ({ id: `${i}`, name: `s${i}`, service: 'x', digest: '', outcome: 'no-health-check', seconds: 0 }) satisfies RemovalReport);
    warnUndrainable([...reports, { ...reports[0]!, name: 'ok', outcome: 'drained' }], { info: () => {}, warning: (m) => warnings.push(m) });
    expect(warnings).toEqual([expect.stringMatching(/^7 server\(s\) had no health check, .*\(s0, s1, s2, s3, s4 and 2 more\)/)]);
  });
});

describe('createLimiter', () => {
  it('runs at most N tasks at once, all of them', async () => {
    const run = createLimiter(3);
    let active = 0;
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        run(async () => {
          peak = Math.max(peak, ++active);
          await new Promise((r) => setTimeout(r, 5));
          active--;
          return i;
        }),
      ),
    );
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(peak).toBe(3);
  });
});
