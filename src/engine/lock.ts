import type Docker from 'dockerode';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { ResourceError } from '../inputs/errors';
import { formatDuration } from '../inputs/parse';
import { LABELS } from '../serving/labels';
import { lockContainerName } from '../serving/names';
import { statusOf } from './errors';
import type { Log } from '../serving/engine';

/**
 * The engine-side lock that keeps two deploys (or a deploy and a retire) of one service from
 * interleaving: an object with the service's lock name in a store that refuses a second object of
 * that name, which makes taking the lock atomic across runners. On the Docker engine it is a
 * container created but never started (the engine answers 409 to a second one); on Swarm, a
 * config (src/engine/swarm-lock.ts).
 *
 * A holder killed halfway leaves its lock behind. The lock records who holds it and until when;
 * it is stale, and taken over, once its lease has passed, or at once when the holder ran on this
 * same host, since its boot, in this same PID namespace, and its process is gone. Runners in
 * containers on one host share the boot id and may share a hostname, but each sees only its own
 * PID namespace: a pid from another namespace says nothing here, so only the lease counts then.
 */
export interface LockHolder {
  host: string;
  bootId?: string;
  pid: number;
  /** The holder's PID namespace (`readlink /proc/self/ns/pid`, e.g. `pid:[4026531836]`): where its pid means something. */
  pidNamespace?: string;
  /** The process's start time in clock ticks since boot (/proc/<pid>/stat field 22): tells a reused pid apart. */
  pidStart?: string;
  acquiredAt: string;
  leaseUntil: string;
  runUrl?: string;
  purpose: string;
}

export const HOLDER_LABEL = `${LABELS.lock}.holder`;

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function pidNamespace(): string | undefined {
  try {
    return readlinkSync('/proc/self/ns/pid');
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
    pidNamespace: pidNamespace(),
    pidStart: processStart(process.pid),
    acquiredAt: now.toISOString(),
    leaseUntil: new Date(now.getTime() + leaseMs).toISOString(),
    runUrl,
    purpose,
  };
}

/** Why a lock is stale, or undefined when its holder may still be at work. */
export function staleReason(
  holder: LockHolder | undefined,
  now: Date,
  local: { host: string; bootId?: string; pidNamespace?: string; processStart(pid: number): string | undefined } = {
    host: hostname(),
    bootId: readProc('/proc/sys/kernel/random/boot_id')?.trim(),
    pidNamespace: pidNamespace(),
    processStart,
  },
): string | undefined {
  if (!holder) return 'it records no holder';
  const lease = new Date(holder.leaseUntil);
  if (Number.isNaN(lease.getTime()) || lease.getTime() <= now.getTime()) return `its lease ended at ${holder.leaseUntil}`;
  const samePidSpace = holder.host === local.host && Boolean(holder.bootId) && holder.bootId === local.bootId && Boolean(holder.pidNamespace) && holder.pidNamespace === local.pidNamespace;
  if (samePidSpace && holder.pidStart) {
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

export function parseHolder(text: string | undefined): LockHolder | undefined {
  try {
    return JSON.parse(text ?? '') as LockHolder;
  } catch {
    return undefined;
  }
}

/**
 * Where a lock lives. `create` must be atomic: of two concurrent creates under one name, one
 * fails. The Docker engine's container names give that on one engine (below); Swarm's config
 * names give it across a swarm (src/engine/swarm-lock.ts).
 */
export interface LockStore {
  /** How a person finds the lock, e.g. `container train-to-serve-lock-iris`. */
  readonly description: string;
  /** The new lock's id, or undefined when a lock of that name exists. */
  create(holder: LockHolder): Promise<string | undefined>;
  /** The current lock, or undefined when there is none. */
  read(): Promise<{ id: string; holder?: LockHolder } | undefined>;
  /** Remove the lock with this id; one that is already gone is fine. */
  remove(id: string): Promise<void>;
}

/** The Docker engine's lock: a container created from `image` but never started. */
export function containerLockStore(docker: Docker, service: string, image: string): LockStore {
  const name = lockContainerName(service);
  return {
    description: `container ${name}`,
    async create(holder) {
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
        return container.id;
      } catch (error) {
        if (statusOf(error) === 409) return undefined;
        throw error;
      }
    },
    async read() {
      try {
        const info = await docker.getContainer(name).inspect();
        return { id: info.Id, holder: parseHolder(info.Config.Labels?.[HOLDER_LABEL]) };
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw error;
      }
    },
    async remove(id) {
      await docker
        .getContainer(id)
        .remove({ force: true })
        .catch((error: unknown) => {
          if (statusOf(error) !== 404) throw error;
        });
    },
  };
}

export interface StoreLockOptions {
  leaseMs: number;
  purpose: string;
  runUrl?: string;
  /** How long to wait for a live holder; 0: do not wait. */
  waitMs: number;
  log: Log;
}

export interface LockOptions extends StoreLockOptions {
  /** The image the lock container is created from (any image present on the engine). */
  image: string;
}

/** The Docker engine's lock of a service (a container; see containerLockStore). */
export function acquireLock(docker: Docker, service: string, options: LockOptions): Promise<HeldLock | undefined> {
  return acquireStoreLock(containerLockStore(docker, service, options.image), service, options);
}

/**
 * Take the service's lock in `store`, taking over a stale one. Waits up to `waitMs` for a live
 * holder; then returns undefined when `waitMs` is 0, or throws naming the holder.
 */
export async function acquireStoreLock(store: LockStore, service: string, options: StoreLockOptions): Promise<HeldLock | undefined> {
  const deadline = Date.now() + options.waitMs;
  let announced = false;
  for (;;) {
    const id = await store.create(currentHolder(options.leaseMs, options.purpose, options.runUrl));
    if (id) {
      return {
        service,
        id,
        stillHeld: async () => (await store.read().catch(() => undefined))?.id === id,
        release: () => store.remove(id),
      };
    }
    const current = await store.read();
    if (!current) continue;
    const stale = staleReason(current.holder, new Date());
    if (stale) {
      options.log.warning(`Taking over the deploy lock of ${service}: ${stale}${current.holder?.runUrl ? ` (left by ${current.holder.runUrl})` : ''}`);
      await store.remove(current.id);
      continue;
    }
    const who = current.holder ? `${current.holder.purpose} (pid ${current.holder.pid} on ${current.holder.host}${current.holder.runUrl ? `, ${current.holder.runUrl}` : ''}) since ${current.holder.acquiredAt}` : 'another run';
    if (options.waitMs === 0) return undefined;
    if (Date.now() >= deadline) {
      throw new ResourceError(`Service ${service}`, `another ${who} holds its deploy lock; waited ${formatDuration(options.waitMs)}. Two deploys of one service cannot interleave.`);
    }
    if (!announced) {
      options.log.info(`Waiting for ${who} to release the deploy lock of ${service} (${store.description})`);
      announced = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
