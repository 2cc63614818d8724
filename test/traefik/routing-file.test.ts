import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { readRoutingState, renderRoutingFile, routingDirProblem, writeRoutingFile, RoutingFileError, STAGING_DIR, type RoutingTable } from '../../src/traefik/routing-file';
import { startFileProvider } from '../support/traefik/file-provider';
import { waitFor } from '../support/ports';

interface Doc {
  http: { routers: Record<string, unknown>; services: Record<string, { weighted: { services: unknown[] } } & Record<string, unknown>> };
}

const table: RoutingTable = {
  service: 'iris',
  rule: 'Host(`iris.localhost`)',
  entrypoints: ['web'],
  backends: [
    { service: 'iris-aaaaaaaaaaaa@docker', weight: 1 },
    { service: 'iris-bbbbbbbbbbbb@docker', weight: 0 },
  ],
  kept: { bbbbbbbbbbbb: '2026-12-01T23:00:00.000Z' },
};

describe('routing file (Traefik dynamic configuration, file provider)', () => {
  it('renders the main router over a weighted service of the weighted versions, as Traefik reads it', () => {
    const doc = parse(renderRoutingFile({ ...table, priority: 10, middlewares: ['auth@file'], tls: {} })) as Doc;
    expect(doc.http.routers.iris).toEqual({ rule: 'Host(`iris.localhost`)', entryPoints: ['web'], service: 'iris', priority: 10, middlewares: ['auth@file'], tls: {} });
    // Weight 0 versions stay out of the balancer (their pinned routers still reach them).
    expect(doc.http.services.iris).toEqual({ weighted: { services: [{ name: 'iris-aaaaaaaaaaaa@docker', weight: 1 }] } });
  });

  it('puts a mirroring service in front when a mirror is given', () => {
    const doc = parse(renderRoutingFile({ ...table, mirror: { service: 'iris-cccccccccccc@docker', percent: 10 } })) as Doc;
    expect(doc.http.services.iris).toEqual({ mirroring: { service: 'iris-weighted', mirrors: [{ name: 'iris-cccccccccccc@docker', percent: 10 }] } });
    expect(doc.http.services['iris-weighted']!.weighted.services).toHaveLength(1);
  });

  it.each([
    ['a rule Traefik would reject', { rule: 'Host(`a`' }, /rule .* would be rejected/],
    ['no weight above 0', { backends: [{ service: 'iris-a@docker', weight: 0 }] }, /route nothing/],
    ['a backend without its provider', { backends: [{ service: 'iris-a', weight: 1 }] }, /with its provider/],
    ['a negative weight', { backends: [{ service: 'iris-a@docker', weight: -1 }] }, /non-negative/],
    ['a mirror over 100 %', { mirror: { service: 'iris-a@docker', percent: 101 } }, /0 to 100/],
  ])('refuses %s', (_name, change, message) => {
    expect(() => renderRoutingFile({ ...table, ...(change as Partial<RoutingTable>) })).toThrow(RoutingFileError);
    expect(() => renderRoutingFile({ ...table, ...(change as Partial<RoutingTable>) })).toThrow(message);
  });

  it('writes atomically (no temporary file left) and reads its state back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'routing-'));
    const path = await writeRoutingFile(dir, table);
    expect(readdirSync(dir).sort()).toEqual([STAGING_DIR, 'iris.yml']);
    expect(readdirSync(join(dir, STAGING_DIR))).toEqual([]);
    expect(await readRoutingState(path)).toEqual({ backends: table.backends, kept: table.kept, mirror: undefined, router: { rule: table.rule, entrypoints: ['web'] } });
    expect(await readRoutingState(join(dir, 'none.yml'))).toBeUndefined();
  });

  it('a table that fails validation leaves the file as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'routing-'));
    const path = await writeRoutingFile(dir, table);
    const before = readFileSync(path, 'utf8');
    await expect(writeRoutingFile(dir, { ...table, backends: [] })).rejects.toThrow(RoutingFileError);
    expect(readFileSync(path, 'utf8')).toBe(before);
    expect(readdirSync(dir).sort()).toEqual([STAGING_DIR, 'iris.yml']);
    expect(readdirSync(join(dir, STAGING_DIR))).toEqual([]);
  });

  it('stages the temporary file where the file provider does not watch, so a write is seen as the rename alone', async () => {
    // Traefik rebuilds on every event in the directory (file.go addWatcher) and throttles what it
    // applies: a temporary file beside the table was an event of its own, applied at once, and
    // the rename then waited out the throttle's 2 s sleep. The stand-in's provider, real fs events.
    const dir = mkdtempSync(join(tmpdir(), 'routing-'));
    await writeRoutingFile(dir, table);
    const triggers: string[] = [];
    let last = '';
    const provider = await startFileProvider({ directory: dir, watch: true }, { configuration: (result, trigger) => ((last = JSON.stringify(result.config)), triggers.push(trigger)), log: () => {} });
    try {
      for (const weight of [2, 3]) await writeRoutingFile(dir, { ...table, backends: [{ service: 'iris-aaaaaaaaaaaa@docker', weight }] });
      await waitFor('the provider to read the last write', async () => last.includes('"weight":3'), 10_000);
      expect(triggers[0]).toBe('start');
      expect(triggers.slice(1).length).toBeGreaterThan(0);
      for (const trigger of triggers.slice(1)) expect(trigger).toMatch(/ iris\.yml$/);
    } finally {
      provider.stop();
    }
  });

  it('reads the weights of a file edited by hand (no state line)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'routing-'));
    writeFileSync(join(dir, 'iris.yml'), 'http:\n  services:\n    iris:\n      weighted:\n        services:\n          - name: iris-a@docker\n            weight: 3\n');
    expect(await readRoutingState(join(dir, 'iris.yml'))).toEqual({ backends: [{ service: 'iris-a@docker', weight: 3 }], kept: {} });
  });

  it('names a missing or read-only routing directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'routing-'));
    expect(await routingDirProblem(join(dir, 'missing'))).toMatch(/does not exist/);
    expect(await routingDirProblem(dir)).toBeUndefined();
    if (process.getuid?.() !== 0) {
      chmodSync(dir, 0o555);
      expect(await routingDirProblem(dir)).toMatch(/not writable/);
    }
  });
});
