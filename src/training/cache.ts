import * as cache from '@actions/cache';
import { InputError, errorMessage, quote } from '../inputs/errors';
import { parseLines } from '../inputs/parse';

/**
 * `cache-path` + `cache-key` through GitHub's cache service, as actions/cache does it. The cache
 * only ever speeds training up: a service that is missing (self-hosted runners without it, local
 * runs) or failing is a warning, never a failed step.
 */

export interface CachePlan {
  paths: string[];
  key: string;
  /** Tried in order when the key itself misses: the key's prefixes, most specific first. */
  restoreKeys: string[];
}

/** The service allows 10 keys in one lookup. */
const MAX_KEYS = 10;

/**
 * Restore keys from the key's own structure: `train-linux-data3-9f8e` falls back to the newest
 * cache saved under `train-linux-data3-`, then `train-linux-`, then `train-`. So a changed lock
 * file still starts from the previous cache instead of from nothing.
 */
export function restoreKeysFor(key: string): string[] {
  const keys: string[] = [];
  for (let i = key.length - 2; i > 0 && keys.length < MAX_KEYS - 1; i--) {
    if (key[i] === '-' || key[i] === '_' || key[i] === '/') keys.push(key.slice(0, i + 1));
  }
  return keys;
}

export function planCache(rawPaths: string | undefined, rawKey: string | undefined): CachePlan | undefined {
  if (rawPaths === undefined && rawKey === undefined) return undefined;
  if (rawPaths === undefined) throw new InputError('cache-path', 'is required when cache-key is given');
  if (rawKey === undefined) throw new InputError('cache-key', 'is required when cache-path is given');
  const paths = parseLines(rawPaths);
  if (paths.length === 0) throw new InputError('cache-path', 'names no path');
  const key = rawKey.trim();
  if (key.includes(',')) throw new InputError('cache-key', `cannot contain commas, got ${quote(key)}`);
  if (key.length > 512) throw new InputError('cache-key', `is ${key.length} characters, the cache service allows 512`);
  if (/\s/.test(key)) throw new InputError('cache-key', `cannot contain whitespace, got ${quote(key)}`);
  return { paths, key, restoreKeys: restoreKeysFor(key) };
}

export type CacheRestore = { status: 'hit'; key: string } | { status: 'partial'; key: string } | { status: 'miss' } | { status: 'unavailable'; reason: string };

export type CacheSave = { status: 'saved'; key: string } | { status: 'skipped'; reason: string } | { status: 'failed'; reason: string };

const UNAVAILABLE = 'the GitHub Actions cache service is not available to this step (neither ACTIONS_CACHE_URL nor ACTIONS_RESULTS_URL is set)';

/**
 * Restore. `cwd` is where relative paths point (the working directory); @actions/cache resolves
 * them against the process's directory and versions caches by the paths as written, so the paths
 * stay as the user wrote them and the process moves there for the call.
 */
export async function restoreTrainingCache(plan: CachePlan, cwd: string, warn: (message: string) => void): Promise<CacheRestore> {
  if (!cache.isFeatureAvailable()) {
    const reason = UNAVAILABLE;
    warn(`Cache not restored: ${reason}. Training starts without ${plan.paths.join(', ')}.`);
    return { status: 'unavailable', reason };
  }
  try {
    const key = await inDirectory(cwd, () => cache.restoreCache(plan.paths, plan.key, plan.restoreKeys));
    if (key === undefined) return { status: 'miss' };
    return key === plan.key ? { status: 'hit', key } : { status: 'partial', key };
  } catch (error) {
    // @actions/cache warns itself about network and service errors and answers a miss; what
    // reaches here is a refused key or path, still no reason to fail the training.
    const reason = errorMessage(error);
    warn(`Cache not restored: ${reason}`);
    return { status: 'unavailable', reason };
  }
}

export async function saveTrainingCache(plan: CachePlan, restored: CacheRestore, cwd: string, warn: (message: string) => void): Promise<CacheSave> {
  if (restored.status === 'hit') return { status: 'skipped', reason: `key ${plan.key} was restored exactly, and cache entries never change` };
  if (!cache.isFeatureAvailable()) {
    warn(`Cache not saved: ${UNAVAILABLE}.`);
    return { status: 'failed', reason: UNAVAILABLE };
  }
  try {
    const id = await inDirectory(cwd, () => cache.saveCache(plan.paths, plan.key));
    // -1: the library already warned (service error, a concurrent job reserving the same key).
    return id === -1 ? { status: 'failed', reason: 'the cache service did not accept it (see the warning above)' } : { status: 'saved', key: plan.key };
  } catch (error) {
    const reason = errorMessage(error);
    warn(`Cache not saved: ${reason}`);
    return { status: 'failed', reason };
  }
}

async function inDirectory<T>(cwd: string, fn: () => Promise<T>): Promise<T> {
  const previous = process.cwd();
  process.chdir(cwd);
  try {
    return await fn();
  } finally {
    process.chdir(previous);
  }
}
