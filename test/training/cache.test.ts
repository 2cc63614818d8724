import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planCache, restoreKeysFor, restoreTrainingCache, saveTrainingCache } from '../../src/training/cache';
import { freePort } from '../support/ports';
import { startCacheService, type CacheServiceStandIn } from './cache-service';

describe('restoreKeysFor', () => {
  it.each([
    ['train-linux-data3-9f8e', ['train-linux-data3-', 'train-linux-', 'train-']],
    ['hf_cache_v2', ['hf_cache_', 'hf_']],
    ['models/llama/abc', ['models/llama/', 'models/']],
    ['plain', []],
    ['trailing-', []],
  ])('%s', (key, expected) => {
    expect(restoreKeysFor(key)).toEqual(expected);
  });

  it('stays within the service limit of ten keys', () => {
    expect(restoreKeysFor('a-b-c-d-e-f-g-h-i-j-k-l-m')).toHaveLength(9);
  });
});

describe('planCache', () => {
  it('needs both inputs or neither', () => {
    expect(planCache(undefined, undefined)).toBeUndefined();
    expect(() => planCache('data', undefined)).toThrow('Input "cache-key": is required when cache-path is given');
    expect(() => planCache(undefined, 'k')).toThrow('Input "cache-path": is required when cache-key is given');
  });
  it.each([
    ['a,b', 'Input "cache-key": cannot contain commas, got "a,b"'],
    ['a b', 'Input "cache-key": cannot contain whitespace'],
    ['x'.repeat(513), 'Input "cache-key": is 513 characters, the cache service allows 512'],
  ])('refuses the key %j', (key, message) => {
    expect(() => planCache('data', key)).toThrow(message);
  });
  it('takes one path a line', () => {
    expect(planCache('data\n# comment\n~/.cache/hf\n', 'k-1')).toEqual({ paths: ['data', '~/.cache/hf'], key: 'k-1', restoreKeys: ['k-'] });
  });
});

const CACHE_ENV = ['ACTIONS_CACHE_URL', 'ACTIONS_RESULTS_URL', 'ACTIONS_CACHE_SERVICE_V2', 'ACTIONS_RUNTIME_TOKEN', 'GITHUB_SERVER_URL', 'RUNNER_TEMP'];

describe('restore and save', () => {
  const saved = Object.fromEntries(CACHE_ENV.map((name) => [name, process.env[name]]));
  let warnings: string[];
  const warn = (message: string) => warnings.push(message);
  beforeEach(() => {
    warnings = [];
    for (const name of CACHE_ENV) delete process.env[name];
    // Where @actions/cache writes its archives.
    process.env.RUNNER_TEMP = mkdtempSync(join(tmpdir(), 'tts-runner-temp-'));
  });
  afterAll(() => {
    for (const [name, value] of Object.entries(saved))
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
  });

  it('without a cache service: warns and carries on', async () => {
    const plan = planCache('data', 'train-v1-abc')!;
    const dir = mkdtempSync(join(tmpdir(), 'tts-cache-'));
    const restored = await restoreTrainingCache(plan, dir, warn);
    expect(restored.status).toBe('unavailable');
    const save = await saveTrainingCache(plan, restored, dir, warn);
    expect(save.status).toBe('failed');
    expect(warnings).toEqual([
      'Cache not restored: the GitHub Actions cache service is not available to this step (neither ACTIONS_CACHE_URL nor ACTIONS_RESULTS_URL is set). Training starts without data.',
      'Cache not saved: the GitHub Actions cache service is not available to this step (neither ACTIONS_CACHE_URL nor ACTIONS_RESULTS_URL is set).',
    ]);
  });

  it('with a service nobody answers at: a miss, never a failure', async () => {
    process.env.ACTIONS_CACHE_URL = `http://127.0.0.1:${await freePort()}/`;
    process.env.ACTIONS_RUNTIME_TOKEN = 'runtime-token';
    const plan = planCache('data', 'train-v1-abc')!;
    const dir = mkdtempSync(join(tmpdir(), 'tts-cache-'));
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data/x'), 'x');
    const restored = await restoreTrainingCache(plan, dir, warn);
    expect(restored.status).toBe('miss');
    expect((await saveTrainingCache(plan, restored, dir, warn)).status).toBe('failed');
  }, 60_000);

  describe('against a stand-in of the cache service', () => {
    let service: CacheServiceStandIn;
    beforeAll(async () => {
      service = await startCacheService();
    });
    afterAll(async () => service.stop());
    beforeEach(() => {
      process.env.ACTIONS_CACHE_URL = service.url;
      process.env.ACTIONS_RUNTIME_TOKEN = 'runtime-token';
    });

    const workspace = (content: string) => {
      const dir = mkdtempSync(join(tmpdir(), 'tts-cache-'));
      mkdirSync(join(dir, 'data'));
      writeFileSync(join(dir, 'data/tokens.bin'), content);
      return dir;
    };

    it('saves after a miss, restores on an exact hit and then does not save again', async () => {
      const plan = planCache('data', 'tok-linux-aaaa')!;
      const first = workspace('first run');
      const miss = await restoreTrainingCache(plan, first, warn);
      expect(miss).toEqual({ status: 'miss' });
      expect(await saveTrainingCache(plan, miss, first, warn)).toEqual({ status: 'saved', key: 'tok-linux-aaaa' });
      expect(service.entries().map((e) => e.key)).toEqual(['tok-linux-aaaa']);

      const second = mkdtempSync(join(tmpdir(), 'tts-cache-'));
      const hit = await restoreTrainingCache(plan, second, warn);
      expect(hit).toEqual({ status: 'hit', key: 'tok-linux-aaaa' });
      expect(readFileSync(join(second, 'data/tokens.bin'), 'utf8')).toBe('first run');
      const skip = await saveTrainingCache(plan, hit, second, warn);
      expect(skip.status).toBe('skipped');
      expect(warnings).toEqual([]);
    });

    it('restores the newest cache under a prefix of the key when the key changed', async () => {
      const old = planCache('data', 'emb-linux-1111')!;
      const dir = workspace('older data');
      await saveTrainingCache(old, { status: 'miss' }, dir, warn);
      const changed = planCache('data', 'emb-linux-2222')!;
      const fresh = mkdtempSync(join(tmpdir(), 'tts-cache-'));
      const partial = await restoreTrainingCache(changed, fresh, warn);
      expect(partial).toEqual({ status: 'partial', key: 'emb-linux-1111' });
      expect(readFileSync(join(fresh, 'data/tokens.bin'), 'utf8')).toBe('older data');
      expect(await saveTrainingCache(changed, partial, fresh, warn)).toEqual({ status: 'saved', key: 'emb-linux-2222' });
      const lookups = service.requests.filter((r) => r.startsWith('GET /_apis/artifactcache/cache?'));
      expect(decodeURIComponent(lookups[lookups.length - 1]!)).toContain('keys=emb-linux-2222,emb-linux-,emb-');
    });

    it('paths are versioned as written, relative to the working directory', async () => {
      const plan = planCache('data', 'rel-linux-1')!;
      const dir = workspace('relative');
      await saveTrainingCache(plan, { status: 'miss' }, dir, warn);
      // The same key with the path written differently is a different cache version: no hit.
      const other = planCache(join(dir, 'data'), 'rel-linux-1')!;
      expect((await restoreTrainingCache(other, mkdtempSync(join(tmpdir(), 'tts-cache-')), warn)).status).toBe('miss');
      expect(process.cwd()).not.toBe(dir);
    });
  });
});
