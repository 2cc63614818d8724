import type Docker from 'dockerode';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { ResourceError } from '../inputs/errors';
import { formatDuration } from '../inputs/parse';
import { LABELS } from '../serving/labels';
import { lockContainerName } from '../serving/names';
import type { Log } from '../serving/engine';

/**
 * The engine-side lock that keeps two deploys (or a deploy and a retire) of one service from
 * interleaving: a container with the service's lock name, created but never started. The engine
 * refuses a second container of the same name (409), which makes taking the lock atomic across
 * runners that share the engine.
 *
 * A holder killed halfway leaves its lock behind. The lock records who holds it and until when;
 * it is stale, and taken over, once its lease has passed, or at once when the holder ran on this
 * same host and its process is gone.
 */
export interface LockHolder {
  host: string;
  bootId?: string;
  pid: number;
  /** The process's start time in clock ticks since boot (/proc/<pid>/stat field 22): tells a reused pid apart. */
  pidStart?: string;
  acquiredAt: string;
  leaseUntil: string;
  runUrl?: string;
  purpose: string;
}

const HOLDER_LABEL = `${LABELS.lock}.holder`;

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function processStart(pid: number): string | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // Fields after the command name, which is in parentheses and may itself contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}

export function currentHolder(leaseMs: number, purpose: string, runUrl: string | undefined, now = new Date()): LockHolder {
  return {
    host: hostname(),
    bootId: readProc('/proc/sys/kernel/random/boot_id')?.trim(),
    pid: process.pid,
    pidStart: processStart(process.pid),
    acquiredAt: now.toISOString(),
    leaseUntil: new Date(now.getTime() + leaseMs).toISOString(),
    runUrl,
    purpose,
  };
}

/** Why a lock is stale, or undefined when its holder may still be at work. */
export function staleReason(holder: LockHolder | undefined, now: Date, local = { host: hostname(), bootId: readProc('/proc/sys/kernel/random/boot_id')?.trim(), processStart }): string | undefined {
  if (!holder) return 'it records no holder';
  const lease = new Date(holder.leaseUntil);
  if (Number.isNaN(lease.getTime()) || lease.getTime() <= now.getTime()) return `its lease ended at ${holder.leaseUntil}`;
  if (holder.host === local.host && holder.bootId && holder.bootId === local.bootId && holder.pidStart) {
    const start = local.processStart(holder.pid);
    if (start !== holder.pidStart) return `its holder (pid ${holder.pid} on ${holder.host}) is gone`;
  }
  return undefined;
}

export interface HeldLock {
  service: string;
  id: string;
  /** True while the lock container is still ours (nobody took it over as stale). */
  stillHeld(): Promise<boolean>;
  release(): Promise<void>;
}

function parseHolder(labels: Record<string, string> | undefined): LockHolder | undefined {
  try {
    return JSON.parse(labels?.[HOLDER_LABEL] ?? '') as LockHolder;
  } catch {
    return undefined;
  }
}

function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number })?.statusCode;
}

async function createLock(docker: Docker, service: string, image: string, holder: LockHolder): Promise<HeldLock | undefined> {
  const name = lockContainerName(service);
  try {
    const container = await docker.createContainer({
      name,
      Image: image,
      Entrypoint: ['/train-to-serve-lock'],
      Cmd: [],
      Labels: { [LABELS.lock]: service, [HOLDER_LABEL]: JSON.stringify(holder) },
      NetworkDisabled: true,
      HostConfig: { NetworkMode: 'none' },
    });
    const id = container.id;
    return {
      service,
      id,
      stillHeld: async () => {
        try {
          return (await docker.getContainer(name).inspect()).Id === id;
        } catch {
          return false;
        }
      },
      release: async () => {
        await docker
          .getContainer(id)
          .remove({ force: true })
          .catch((error: unknown) => {
            if (statusOf(error) !== 404) throw error;
          });
      },
    };
  } catch (error) {
    if (statusOf(error) === 409) return undefined;
    throw error;
  }
}

/** The current lock's holder and id, or undefined when there is no lock. */
async function readLock(docker: Docker, service: string): Promise<{ id: string; holder?: LockHolder } | undefined> {
  try {
    const info = await docker.getContainer(lockContainerName(service)).inspect();
    return { id: info.Id, holder: parseHolder(info.Config.Labels) };
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}

export interface LockOptions {
  /** The image the lock container is created from (any image present on the engine). */
  image: string;
  leaseMs: number;
  purpose: string;
  runUrl?: string;
  /** How long to wait for a live holder; 0: do not wait. */
  waitMs: number;
  log: Log;
}

/**
 * Take the service's lock, taking over a stale one. Waits up to `waitMs` for a live holder; then
 * returns undefined when `waitMs` is 0, or throws naming the holder.
 */
export async function acquireLock(docker: Docker, service: string, options: LockOptions): Promise<HeldLock | undefined> {
  const deadline = Date.now() + options.waitMs;
  let announced = false;
  for (;;) {
    const lock = await createLock(docker, service, options.image, currentHolder(options.leaseMs, options.purpose, options.runUrl));
    if (lock) return lock;
    const current = await readLock(docker, service);
    if (!current) continue;
    const stale = staleReason(current.holder, new Date());
    if (stale) {
      options.log.warning(`Taking over the deploy lock of ${service}: ${stale}${current.holder?.runUrl ? ` (left by ${current.holder.runUrl})` : ''}`);
      await docker
        .getContainer(current.id)
        .remove({ force: true })
        .catch((error: unknown) => {
          if (statusOf(error) !== 404) throw error;
        });
      continue;
    }
    const who = current.holder ? `${current.holder.purpose} (pid ${current.holder.pid} on ${current.holder.host}${current.holder.runUrl ? `, ${current.holder.runUrl}` : ''}) since ${current.holder.acquiredAt}` : 'another run';
    if (options.waitMs === 0) return undefined;
    if (Date.now() >= deadline) {
      throw new ResourceError(`Service ${service}`, `another ${who} holds its deploy lock; waited ${formatDuration(options.waitMs)}. Two deploys of one service cannot interleave.`);
    }
    if (!announced) {
      options.log.info(`Waiting for ${who} to release the deploy lock of ${service} (container ${lockContainerName(service)})`);
      announced = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
