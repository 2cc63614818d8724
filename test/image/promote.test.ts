import { describe, expect, it } from 'vitest';
import { chooseSource, parseSource } from '../../src/image/promote';

describe('chooseSource', () => {
  it.each([
    ['an explicit source wins', { source: 'v3', eventName: 'pull_request', sha: 'abc', pullRequest: { number: 4, merged: true } }, { source: 'v3' }],
    ['a merged pull request: its pr tag', { eventName: 'pull_request', sha: 'abc', pullRequest: { number: 4, merged: true } }, { source: 'pr-4', pullRequest: 4 }],
    ['a push: look up the pull request of the commit', { eventName: 'push', sha: 'abc' }, { lookUpPullRequestOf: 'abc' }],
    ['a manual run on a commit: the same', { eventName: 'workflow_dispatch', sha: 'def' }, { lookUpPullRequestOf: 'def' }],
  ])('%s', (_name, options, expected) => {
    expect(chooseSource(options)).toEqual(expected);
  });

  it.each([
    ['an unmerged pull request', { eventName: 'pull_request', sha: 'abc', pullRequest: { number: 4, merged: false } }, 'Input "source": not given, and pull request #4 is not merged'],
    ['no commit at all', { eventName: 'schedule', sha: '' }, 'Input "source": not given, and the schedule event names neither a pull request nor a commit'],
  ])('refuses %s', (_name, options, message) => {
    expect(() => chooseSource(options)).toThrow(message);
  });
});

describe('parseSource', () => {
  it.each(['pr-12', 'production', `sha256:${'a'.repeat(64)}`])('takes %s', (text) => {
    expect(parseSource('source', ` ${text} `)).toBe(text);
  });
  it.each(['ghcr.io/acme/iris:pr-1', 'sha256:abc', '-x', 'a b'])('refuses %j', (text) => {
    expect(() => parseSource('source', text)).toThrow('Input "source": expected a tag (like pr-12) or a digest (sha256:…)');
  });
});
