import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectEngine, type Engine } from '../../src/engine/connection';
import { acquireLock, currentHolder, staleReason, type LockHolder } from '../../src/engine/lock';
import { lockContainerName } from '../../src/serving/names';
import type { Log } from '../../src/serving/engine';
import { docker, ensureNodeBaseImage } from '../support/docker-cli';

const now = new Date('2026-03-01T12:00:00Z');
const holder = (changes: Partial<LockHolder>): LockHolder => ({
  host: 'runner-1',
  bootId: 'boot-a',
  pid: 4242,
  pidNamespace: 'pid:[4026531836]',
  pidStart: '777',
  acquiredAt: '2026-03-01T11:59:00Z',
  leaseUntil: '2026-03-01T12:10:00Z',
  purpose: 'deploy of iris',
  ...changes,
});
const here = (start: string | undefined, pidNamespace = 'pid:[4026531836]') => ({ host: 'runner-1', bootId: 'boot-a', pidNamespace, processStart: () => start });

describe('staleReason', () => {
  it.each<[string, LockHolder | undefined, ReturnType<typeof here>, string | undefined]>([
    ['a live holder on this host', holder({}), here('777'), undefined],
    ['a holder on another host, within its lease', holder({ host: 'runner-2' }), here(undefined), undefined],
    ['a holder whose process is gone', holder({}), here(undefined), 'its holder (pid 4242 on runner-1) is gone'],
    ['a holder whose pid now belongs to another process', holder({}), here('999'), 'its holder (pid 4242 on runner-1) is gone'],
    ['a holder from before a reboot, pid reused', holder({ bootId: 'boot-old' }), here('999'), undefined],
    // Issue 10: two runner containers on one host, same hostname and boot id, each in its own PID
    // namespace; the holder's pid does not exist in ours, yet it is at work.
    ['a holder in another PID namespace (a runner in another container, same hostname)', holder({}), here(undefined, 'pid:[4026532611]'), undefined],
    ['a holder that recorded no PID namespace (an older version)', holder({ pidNamespace: undefined }), here(undefined), undefined],
    ['a lease that ended', holder({ host: 'runner-2', leaseUntil: '2026-03-01T11:00:00Z' }), here(undefined), 'its lease ended at 2026-03-01T11:00:00Z'],
    ['no holder record', undefined, here(undefined), 'it records no holder'],
  ])('%s', (_, lockHolder, local, reason) => expect(staleReason(lockHolder, now, local)).toBe(reason));

  it('describes this process as alive', () => {
    expect(staleReason(currentHolder(60_000, 'test', undefined), new Date())).toBeUndefined();
  });
});

describe('the deploy lock on the real engine', () => {
  let engine: Engine;
  let image: string;
  const service = `tts-lock-${randomBytes(3).toString('hex')}`;
  const messages: string[] = [];
  const log: Log = { info: (m) => messages.push(m), warning: (m) => messages.push(`warning: ${m}`) };

  beforeAll(async () => {
    engine = await connectEngine(undefined);
    image = await ensureNodeBaseImage();
  });
  afterAll(async () => {
    await docker(['rm', '-f', lockContainerName(service)]).catch(() => {});
  });

  it('admits one holder at a time, and waits for the holder with a clear message', async () => {
    const options = { image, leaseMs: 60_000, purpose: 'deploy of test', waitMs: 0, log };
    const first = await acquireLock(engine.docker, service, options);
    expect(first).toBeDefined();
    expect(await acquireLock(engine.docker, service, options)).toBeUndefined();
    await expect(acquireLock(engine.docker, service, { ...options, waitMs: 600 })).rejects.toThrow(new RegExp(`^Service ${service}: another deploy of test \\(pid ${process.pid} on .*\\) since .* holds its deploy lock; waited 600ms`));
    const waiting = acquireLock(engine.docker, service, { ...options, waitMs: 20_000 });
    setTimeout(() => void first!.release(), 700);
    const second = await waiting;
    expect(second).toBeDefined();
    expect(messages.some((m) => m.startsWith('Waiting for deploy of test'))).toBe(true);
    expect(await first!.stillHeld()).toBe(false);
    expect(await second!.stillHeld()).toBe(true);
    await second!.release();
    expect((await docker(['ps', '-a', '--filter', `name=^${lockContainerName(service)}$`, '--format', '{{.Names}}'])).trim()).toBe('');
  });

  it('takes over a lock whose holder was killed', async () => {
    // A process that takes the lock and is killed before it can release it.
    const script = `
      import { connectEngine } from './src/engine/connection.ts';
      import { acquireLock } from './src/engine/lock.ts';
      const engine = await connectEngine(undefined);
      await acquireLock(engine.docker, ${JSON.stringify(service)}, { image: ${JSON.stringify(image)}, leaseMs: 3_600_000, purpose: 'deploy killed halfway', waitMs: 0, log: { info() {}, warning() {} } });
      process.kill(process.pid, 'SIGKILL');
    `;
    const killed = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd(), encoding: 'utf8' });
    expect(killed.signal).toBe('SIGKILL');
    const lock = await acquireLock(engine.docker, service, { image, leaseMs: 60_000, purpose: 'rerun', waitMs: 0, log });
    expect(lock).toBeDefined();
    expect(messages.some((m) => /^warning: Taking over the deploy lock of .*: its holder \(pid \d+ on .*\) is gone/.test(m))).toBe(true);
    await lock!.release();
  });
});
