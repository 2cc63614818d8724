import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRunContext } from '../../src/runtime/context';

describe('readRunContext', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tts-context-'));
  const eventFile = (payload: unknown) => {
    const path = join(dir, `${Math.random()}.json`);
    writeFileSync(path, JSON.stringify(payload));
    return path;
  };

  it('reads the runner’s variables and builds the run URL', () => {
    const context = readRunContext({
      GITHUB_SERVER_URL: 'https://ghe.example.com/',
      GITHUB_API_URL: 'https://ghe.example.com/api/v3',
      GITHUB_REPOSITORY: 'acme/iris',
      GITHUB_RUN_ID: '77',
      GITHUB_SHA: 'abc',
    });
    expect(context.apiUrl).toBe('https://ghe.example.com/api/v3');
    expect(context.repository).toEqual({ owner: 'acme', repo: 'iris' });
    expect(context.runUrl).toBe('https://ghe.example.com/acme/iris/actions/runs/77');
    expect(context.pullRequest).toBeUndefined();
  });

  it('reads a pull request from the event payload and tells forks apart', () => {
    const payload = {
      pull_request: { number: 12, merged: true, merge_commit_sha: 'm1', head: { sha: 'h1', repo: { full_name: 'someone/iris' } }, base: { repo: { full_name: 'acme/iris' } } },
    };
    const context = readRunContext({ GITHUB_EVENT_PATH: eventFile(payload) });
    expect(context.pullRequest).toEqual({ number: 12, headSha: 'h1', merged: true, mergeSha: 'm1', fromFork: true });
  });

  it('survives a missing or broken event file', () => {
    expect(readRunContext({ GITHUB_EVENT_PATH: join(dir, 'missing.json') }).payload).toEqual({});
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{');
    expect(readRunContext({ GITHUB_EVENT_PATH: broken }).payload).toEqual({});
  });
});
