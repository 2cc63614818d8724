import { describe, expect, it } from 'vitest';
import { parseImageReference, pullableReference, repositoryName } from '../../src/engine/reference';

const digest = 'sha256:' + 'b'.repeat(64);

describe('parseImageReference', () => {
  it.each([
    ['ghcr.io/acme/iris:v1', { registry: 'ghcr.io', repository: 'acme/iris', tag: 'v1' }, 'ghcr.io/acme/iris:v1', 'ghcr.io/acme/iris'],
    [`ghcr.io/acme/iris@${digest}`, { registry: 'ghcr.io', repository: 'acme/iris', digest }, `ghcr.io/acme/iris@${digest}`, 'ghcr.io/acme/iris'],
    [`127.0.0.1:5000/a/b:t@${digest}`, { registry: '127.0.0.1:5000', repository: 'a/b', tag: 't', digest }, `127.0.0.1:5000/a/b@${digest}`, '127.0.0.1:5000/a/b'],
    ['localhost/train-to-serve/server', { registry: 'localhost', repository: 'train-to-serve/server' }, 'localhost/train-to-serve/server:latest', 'localhost/train-to-serve/server'],
    ['acme/iris:2', { registry: 'docker.io', repository: 'acme/iris', tag: '2' }, 'acme/iris:2', 'acme/iris'],
    ['nginx', { registry: 'docker.io', repository: 'library/nginx' }, 'library/nginx:latest', 'nginx'],
  ])('%s', (text, parts, pullable, repository) => {
    const ref = parseImageReference(text);
    expect(ref).toMatchObject(parts);
    expect(pullableReference(ref)).toBe(pullable);
    expect(repositoryName(ref)).toBe(repository);
  });

  it.each(['', 'UPPER/case', 'a/b:', 'a/b@sha256:abc', 'a//b', 'ghcr.io/acme/iris:v1 extra'])('refuses %j', (text) => {
    expect(() => parseImageReference(text)).toThrow(/^Input "image": not an image reference/);
  });
});
