import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDeployInputs, type DeployInputs } from '../../src/serving/deploy-spec';
import { runDeploy } from '../../src/serving/deploy';
import { silentLog } from '../../src/serving/engine';
import { readRoutingState, writeRoutingFile } from '../../src/traefik/routing-file';
import { DEPLOY_INPUTS, FakeEngine, fakeServer } from './fake-engine';

/**
 * runDeploy under `routing: file` against the in-memory engine and a real routing directory
 * (no Traefik API, so each publish waits the stated settle time).
 */
const NEW = 'sha256:' + 'b'.repeat(64);
const OLD = 'sha256:' + 'a'.repeat(64);
const base: DeployInputs = { ...DEPLOY_INPUTS, routing: 'file' };

function setup(changes: Partial<DeployInputs> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'routing-'));
  const spec = parseDeployInputs({ ...base, 'routing-dir': dir, ...changes }, {});
  const engine = new FakeEngine();
  engine.image = { ...engine.image, digest: NEW };
  return { dir, spec, engine, state: () => readRoutingState(join(dir, 'iris.yml')) };
}

describe('runDeploy with routing: file', () => {
  it('moves all weight to the new version in one write, then stops the old one without a signal', async () => {
    const { spec, engine, state } = setup();
    engine.servers = [fakeServer('iris-old', OLD)];
    const result = await runDeploy(engine, spec, silentLog);
    expect((await state())!.backends).toEqual([{ service: 'iris-bbbbbbbbbbbb@docker', weight: 1 }]);
    expect(engine.calls).toEqual(['pull', 'lock', 'list', 'start 1', 'wait', 'confirm', 'drain iris-old', 'unlock']);
    expect(result.removed).toHaveLength(1);
  });

  it('keep-previous keeps the old version at weight 0; rollback flips back with no pull and no start', async () => {
    const { spec, engine, state } = setup({ 'keep-previous': '1h' });
    engine.servers = [fakeServer('iris-old', OLD)];
    // The old version was routed by an earlier file deploy.
    await writeRoutingFile(spec.routingChoice.dir!, { service: 'iris', rule: 'Host(`iris.localhost`)', entrypoints: ['web'], backends: [{ service: 'iris-aaaaaaaaaaaa@docker', weight: 1 }] });

    await runDeploy(engine, spec, silentLog);
    const after = (await state())!;
    expect(after.backends).toEqual([{ service: 'iris-bbbbbbbbbbbb@docker', weight: 1 }]);
    expect(Object.keys(after.kept)).toEqual(['aaaaaaaaaaaa']);
    expect(engine.servers.map((s) => s.name).sort()).toEqual(['iris-new-1', 'iris-old']);

    engine.calls.length = 0;
    await runDeploy(engine, parseDeployInputs({ ...base, 'routing-dir': spec.routingChoice.dir, rollback: 'true', 'keep-previous': '1h' }, {}), silentLog);
    expect(engine.calls).not.toContain('pull');
    expect(engine.calls.some((call) => call.startsWith('start'))).toBe(false);
    const back = (await state())!;
    expect(back.backends).toEqual([{ service: 'iris-aaaaaaaaaaaa@docker', weight: 1 }]);
    expect(Object.keys(back.kept)).toEqual(['bbbbbbbbbbbb']);
    expect(engine.servers.map((s) => s.name).sort()).toEqual(['iris-new-1', 'iris-old']);
  }, 30_000);

  it('rollback without a kept version is a one-line input error that changes nothing', async () => {
    const { dir, engine } = setup();
    engine.servers = [fakeServer('iris-cur', NEW)];
    const spec = parseDeployInputs({ ...base, 'routing-dir': dir, rollback: 'true' }, {});
    await expect(runDeploy(engine, spec, silentLog)).rejects.toThrow(/Input "rollback": no previous version is kept/);
    expect(engine.calls).toEqual(['list']);
  });

  it('a failed new server leaves the routing file untouched', async () => {
    const { spec, engine, state } = setup();
    engine.servers = [fakeServer('iris-old', OLD)];
    engine.failServing = 'exited with code 1';
    await expect(runDeploy(engine, spec, silentLog)).rejects.toThrow(/exited with code 1/);
    expect(await state()).toBeUndefined();
    expect(engine.servers.map((s) => s.name)).toEqual(['iris-old']);
  });
});
