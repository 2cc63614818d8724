import { describe, expect, it } from 'vitest';
import { parseDeployInputs, type DeployInputs } from '../../src/serving/deploy-spec';
import { runDeploy } from '../../src/serving/deploy';
import { DeployError, silentLog } from '../../src/serving/engine';
import { DEPLOY_INPUTS, FakeEngine, fakeServer } from './fake-engine';

const base: DeployInputs = DEPLOY_INPUTS;
const spec = (changes: Partial<DeployInputs> = {}) => parseDeployInputs({ ...base, ...changes }, {});

interface Case {
  name: string;
  unit?: 'server' | 'version';
  inputs?: Partial<DeployInputs>;
  before: () => ReturnType<typeof fakeServer>[];
  setup?: (engine: FakeEngine) => void;
  /** The steps taken after pull and lock, up to the unlock. */
  calls: string[];
  /** Server names left afterwards. */
  left: string[];
  unchanged?: boolean;
  error?: RegExp;
}

const cases: Case[] = [
  {
    name: 'unchanged digest: nothing starts, nothing drains',
    before: () => [fakeServer('iris-cur', 'sha256:new')],
    calls: ['list', 'unlock'],
    left: ['iris-cur'],
    unchanged: true,
  },
  {
    name: 'leftovers from a killed deploy are removed before the new servers start, then the old drains',
    before: () => [fakeServer('iris-old', 'sha256:old'), fakeServer('iris-dead', 'sha256:new', { state: 'exited', health: 'none' }), fakeServer('iris-sick', 'sha256:new', { health: 'unhealthy' })],
    calls: ['list', 'remove iris-sick', 'remove iris-dead', 'start 1', 'wait', 'confirm', 'drain iris-old', 'unlock'],
    left: ['iris-new-1'],
  },
  {
    name: 'a failed new server is discarded, the old one keeps serving, the error names it',
    before: () => [fakeServer('iris-old', 'sha256:old')],
    setup: (engine) => (engine.failServing = 'exited with code 3'),
    calls: ['list', 'start 1', 'wait', 'discard iris-new-1', 'unlock'],
    left: ['iris-old'],
    error: /iris-new-1 exited with code 3/,
  },
  {
    name: 'Traefik never lists the new server: discarded, the old one untouched',
    before: () => [fakeServer('iris-old', 'sha256:old')],
    setup: (engine) => (engine.routingProblem = 'Traefik did not list it'),
    calls: ['list', 'start 1', 'wait', 'confirm', 'discard iris-new-1', 'unlock'],
    left: ['iris-old'],
    error: /was serving, but Traefik did not list it/,
  },
  {
    name: 'replace: two new servers, then both old ones drain',
    inputs: { replicas: '2' },
    before: () => [fakeServer('iris-old1', 'sha256:old'), fakeServer('iris-old2', 'sha256:old')],
    calls: ['list', 'start 2', 'wait', 'confirm', 'drain iris-old2', 'drain iris-old1', 'unlock'],
    left: ['iris-new-1', 'iris-new-2'],
  },
  {
    name: 'add: the new server serves beside the old, nothing drains',
    inputs: { strategy: 'add' },
    before: () => [fakeServer('iris-old', 'sha256:old')],
    calls: ['list', 'start 1', 'wait', 'confirm', 'unlock'],
    left: ['iris-new-1', 'iris-old'],
  },
  {
    name: 'one more replica of the serving digest: one server starts, the serving one stays',
    inputs: { replicas: '2' },
    before: () => [fakeServer('iris-cur', 'sha256:new')],
    calls: ['list', 'start 1', 'wait', 'confirm', 'unlock'],
    left: ['iris-cur', 'iris-new-1'],
  },
  {
    name: 'lock lost before the drain: the old servers are left running',
    before: () => [fakeServer('iris-old', 'sha256:old')],
    setup: (engine) => (engine.holdLock = false),
    calls: ['list', 'start 1', 'wait', 'confirm', 'unlock'],
    left: ['iris-new-1', 'iris-old'],
    error: /lost its lock/,
  },
  {
    name: 'version unit: the serving version with another replica count is scaled, not restarted',
    unit: 'version',
    inputs: { replicas: '3' },
    before: () => [fakeServer('iris-cur', 'sha256:new', { replicas: 1 })],
    calls: ['list', 'scale iris-cur 3', 'confirm', 'unlock'],
    left: ['iris-cur'],
  },
  {
    name: 'version unit: a new version replaces the old one, one version whatever the replicas',
    unit: 'version',
    inputs: { replicas: '2' },
    before: () => [fakeServer('iris-old', 'sha256:old', { replicas: 2 })],
    calls: ['list', 'start 1', 'wait', 'confirm', 'drain iris-old', 'unlock'],
    left: ['iris-new-1'],
  },
];

describe('runDeploy (one sequence for every engine)', () => {
  it.each(cases)('$name', async (c) => {
    const engine = new FakeEngine(c.unit);
    engine.servers = c.before();
    c.setup?.(engine);
    const deploy = runDeploy(engine, spec(c.inputs), silentLog);
    if (c.error) {
      await expect(deploy).rejects.toThrow(c.error);
    } else {
      const result = await deploy;
      expect(result.unchanged).toBe(c.unchanged ?? false);
      expect(result.digest).toBe('sha256:new');
    }
    expect(engine.calls.slice(0, 2)).toEqual(['pull', 'lock']);
    expect(engine.calls.slice(2)).toEqual(c.calls);
    expect(engine.servers.map((server) => server.name).sort()).toEqual(c.left);
  });

  it('a failed new server is a DeployError, which the action reports as the server failing', async () => {
    const engine = new FakeEngine();
    engine.failServing = 'never became healthy';
    await expect(runDeploy(engine, spec(), silentLog)).rejects.toBeInstanceOf(DeployError);
  });

  it('reports the reused and the new servers together', async () => {
    const engine = new FakeEngine();
    engine.servers = [fakeServer('iris-cur', 'sha256:new')];
    const result = await runDeploy(engine, spec({ replicas: '2' }), silentLog);
    expect(result.servers.map((server) => [server.name, server.reused])).toEqual([
      ['iris-cur', true],
      ['iris-new-1', false],
    ]);
  });
});
