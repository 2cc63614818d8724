import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectEngine, type Engine } from '../../src/engine/connection';
import { acquireStoreLock } from '../../src/engine/lock';
import { SwarmEngine } from '../../src/engine/swarm-engine';
import { swarmLockStore } from '../../src/engine/swarm-lock';
import type { Log } from '../../src/serving/engine';
import { lockConfigName } from '../../src/serving/names';
import { docker } from '../support/docker-cli';
import { ensureSwarm } from '../support/swarm';

describe('the Swarm-wide deploy lock (a Swarm config) on a real swarm', () => {
  let engine: Engine;
  const service = `tts-slock-${randomBytes(3).toString('hex')}`;
  const messages: string[] = [];
  const log: Log = { info: (m) => messages.push(m), warning: (m) => messages.push(`warning: ${m}`) };
  const options = { leaseMs: 60_000, purpose: 'deploy of test', waitMs: 0, log };

  beforeAll(async () => {
    await ensureSwarm();
    engine = await connectEngine(undefined);
  });
  afterAll(async () => {
    await docker(['config', 'rm', lockConfigName(service)]).catch(() => {});
  });

  it('admits one holder at a time, says where the lock is while it waits, and is gone once released', async () => {
    const store = swarmLockStore(engine.docker, service);
    const first = await acquireStoreLock(store, service, options);
    expect(first).toBeDefined();
    expect(await acquireStoreLock(store, service, options)).toBeUndefined();
    await expect(acquireStoreLock(store, service, { ...options, waitMs: 600 })).rejects.toThrow(new RegExp(`^Service ${service}: another deploy of test \\(pid ${process.pid} on .*\\) since .* holds its deploy lock; waited 600ms`));
    const waiting = acquireStoreLock(store, service, { ...options, waitMs: 20_000 });
    setTimeout(() => void first!.release(), 700);
    const second = await waiting;
    expect(messages.find((m) => m.startsWith('Waiting'))).toMatch(new RegExp(`to release the deploy lock of ${service} \\(Swarm config tts-lock-${service}\\)$`));
    expect(await first!.stillHeld()).toBe(false);
    expect(await second!.stillHeld()).toBe(true);
    const holder = JSON.parse(Buffer.from((JSON.parse(await docker(['config', 'inspect', lockConfigName(service)])) as { Spec: { Data: string } }[])[0]!.Spec.Data, 'base64').toString()) as { pid: number; purpose: string };
    expect(holder).toMatchObject({ pid: process.pid, purpose: 'deploy of test' });
    await second!.release();
    expect((await docker(['config', 'ls', '--filter', `name=${lockConfigName(service)}`, '--format', '{{.Name}}'])).trim()).toBe('');
  });

  it('takes over a lock whose holder was killed', async () => {
    const script = `
      import { connectEngine } from './src/engine/connection.ts';
      import { acquireStoreLock } from './src/engine/lock.ts';
      import { swarmLockStore } from './src/engine/swarm-lock.ts';
      const engine = await connectEngine(undefined);
      await acquireStoreLock(swarmLockStore(engine.docker, ${JSON.stringify(service)}), ${JSON.stringify(service)}, { leaseMs: 3_600_000, purpose: 'deploy killed halfway', waitMs: 0, log: { info() {}, warning() {} } });
      process.kill(process.pid, 'SIGKILL');
    `;
    const killed = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd(), encoding: 'utf8' });
    expect(killed.signal).toBe('SIGKILL');
    const lock = await acquireStoreLock(swarmLockStore(engine.docker, service), service, { ...options, purpose: 'rerun' });
    expect(lock).toBeDefined();
    expect(messages.some((m) => /^warning: Taking over the deploy lock of .*: its holder \(pid \d+ on .*\) is gone/.test(m))).toBe(true);
    await lock!.release();
  });
});

describe('engine swarm on an engine that is no Swarm manager', () => {
  it.each([
    [
      { LocalNodeState: 'inactive', ControlAvailable: false },
      /is not in a swarm \(state: inactive\); engine swarm needs a Swarm manager: run the job on a manager node \(or point docker-host at one\), or create a swarm with docker swarm init$/,
    ],
    [{ LocalNodeState: 'active', ControlAvailable: false, NodeID: 'w1' }, /is a worker, not a manager; engine swarm needs a Swarm manager/],
    [{ LocalNodeState: 'error', ControlAvailable: false, Error: 'raft: lost quorum' }, /is not in a swarm \(state: error, raft: lost quorum\)/],
  ])('%j: says so before doing anything', async (swarm, message) => {
    // Only `docker info` is answered: anything else the engine did would throw.
    const docker = { info: async () => ({ Swarm: swarm }) } as unknown as Docker;
    const engine = new SwarmEngine({ docker, apiVersion: '1.41', engineVersion: '20.10', endpoint: 'unix:///var/run/docker.sock' });
    await expect(engine.listServers()).rejects.toThrow(message);
    await expect(engine.listServers()).rejects.toThrow(/^Docker Engine at unix:\/\/\/var\/run\/docker.sock: /);
  });
});
