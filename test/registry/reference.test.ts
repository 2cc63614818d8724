import { describe, expect, it } from 'vitest';
import { dockerConfigKey, engineRepositoryName, formatReference, isLoopbackRegistry, isRegistryImage, parseImageReference, pullReference, registryBaseUrl } from '../../src/registry/reference';

describe('parseImageReference', () => {
  it.each([
    ['ghcr.io/acme/iris', { registry: 'ghcr.io', repository: 'acme/iris' }],
    ['ghcr.io/acme/iris:pr-12', { registry: 'ghcr.io', repository: 'acme/iris', tag: 'pr-12' }],
    [`ghcr.io/acme/iris@sha256:${'a'.repeat(64)}`, { registry: 'ghcr.io', repository: 'acme/iris', digest: `sha256:${'a'.repeat(64)}` }],
    [`127.0.0.1:5000/a/b/c:v1@sha256:${'0'.repeat(64)}`, { registry: '127.0.0.1:5000', repository: 'a/b/c', tag: 'v1', digest: `sha256:${'0'.repeat(64)}` }],
    ['localhost/x:1', { registry: 'localhost', repository: 'x', tag: '1' }],
    ['localhost:5000/x', { registry: 'localhost:5000', repository: 'x' }],
    ['[::1]:5000/x', { registry: '[::1]:5000', repository: 'x' }],
    ['python:3.12', { registry: 'docker.io', repository: 'library/python', tag: '3.12' }],
    ['acme/iris', { registry: 'docker.io', repository: 'acme/iris' }],
    ['ghcr.io/acme/my_model__v2.x-y', { registry: 'ghcr.io', repository: 'acme/my_model__v2.x-y' }],
  ])('%s', (text, expected) => {
    expect(parseImageReference(text, 'image')).toEqual(expected);
  });

  it.each([
    ['', 'it is empty'],
    ['ghcr.io/Acme/Iris', 'repository names must be lower-case (try "acme/iris")'],
    ['https://ghcr.io/acme/iris', 'leave out the URL scheme'],
    ['ghcr.io/acme/iris:', 'the tag "" may hold only'],
    ['ghcr.io/acme/iris:-x', 'the tag "-x" may hold only'],
    ['ghcr.io/acme/iris@sha256:abc', 'is not sha256: followed by 64'],
    ['ghcr.io/acme//iris', 'empty component'],
    ['ghcr.io/acme/ir is', 'whitespace'],
    ['ghcr.io/acme/-iris', 'component "-iris"'],
    ['ghcr.io/acme/iris..x', 'component "iris..x"'],
  ])('refuses %j: %s', (text, problem) => {
    expect(() => parseImageReference(text, 'base-image')).toThrow(`Input "base-image": `);
    expect(() => parseImageReference(text, 'base-image')).toThrow(problem);
  });

  it('refuses a tag or digest where only a repository is wanted', () => {
    expect(() => parseImageReference('ghcr.io/a/b:1', 'image', { tag: false, digest: false })).toThrow('give the repository without a tag here');
    expect(() => parseImageReference(`ghcr.io/a/b@sha256:${'1'.repeat(64)}`, 'image', { tag: false, digest: false })).toThrow('without a digest');
  });

  it('formats back', () => {
    const text = `ghcr.io/a/b:v1@sha256:${'1'.repeat(64)}`;
    expect(formatReference(parseImageReference(text, 'image'))).toBe(text);
  });
});

describe('registry transport', () => {
  it.each([
    ['127.0.0.1:5000', true, 'http://127.0.0.1:5000'],
    ['127.3.2.1', true, 'http://127.3.2.1'],
    ['localhost:8080', true, 'http://localhost:8080'],
    ['[::1]:5000', true, 'http://[::1]:5000'],
    ['ghcr.io', false, 'https://ghcr.io'],
    ['docker.io', false, 'https://registry-1.docker.io'],
    ['127.0.0.1.nip.io', false, 'https://127.0.0.1.nip.io'],
    ['10.0.0.5:5000', false, 'https://10.0.0.5:5000'],
  ])('%s: plain HTTP only on loopback', (registry, loopback, url) => {
    expect(isLoopbackRegistry(registry)).toBe(loopback);
    expect(registryBaseUrl(registry)).toBe(url);
  });
});

describe('as the Docker Engine reads them', () => {
  const digest = `sha256:${'b'.repeat(64)}`;
  it.each([
    ['ghcr.io/acme/trainer', 'ghcr.io/acme/trainer:latest', 'ghcr.io/acme/trainer', 'ghcr.io'],
    ['ghcr.io/acme/iris:v1', 'ghcr.io/acme/iris:v1', 'ghcr.io/acme/iris', 'ghcr.io'],
    [`127.0.0.1:5000/a/b:t@${digest}`, `127.0.0.1:5000/a/b@${digest}`, '127.0.0.1:5000/a/b', '127.0.0.1:5000'],
    ['localhost/train-to-serve/server', 'localhost/train-to-serve/server:latest', 'localhost/train-to-serve/server', 'localhost'],
    ['pytorch/pytorch:2', 'pytorch/pytorch:2', 'pytorch/pytorch', 'https://index.docker.io/v1/'],
    ['nginx', 'nginx:latest', 'nginx', 'https://index.docker.io/v1/'],
  ])('%s pulls as %s, is %s in RepoDigests, logs in as %s', (text, pull, repository, configKey) => {
    const ref = parseImageReference(text, 'image');
    expect(pullReference(ref)).toBe(pull);
    expect(engineRepositoryName(ref)).toBe(repository);
    expect(dockerConfigKey(ref)).toBe(configKey);
  });
});

describe('isRegistryImage', () => {
  it.each([
    ['ghcr.io/acme/iris:production', true],
    [`ghcr.io/acme/iris@sha256:${'a'.repeat(64)}`, true],
    [`ghcr.io/acme/iris:pr-12@sha256:${'a'.repeat(64)}`, true],
    ['127.0.0.1:5000/acme/iris:latest', true],
    ['localhost/acme/iris:v1', true],
    ['localhost:5000/iris:v1', true],
    ['registry.example.com/team/models/iris:2024.06.01', true],
    // A registry but no tag or digest: too easy to mean "latest" by accident.
    ['ghcr.io/acme/iris', false],
    // No registry host: Docker would go to Docker Hub.
    ['acme/iris:production', false],
    ['iris:production', false],
    ['docker.io/acme/iris:production', true],
    // Paths.
    ['baseline.json', false],
    ['metrics/baseline.json', false],
    ['./ghcr.io/acme/iris:production', false],
    ['/tmp/baseline.yaml', false],
    ['ghcr.io/Acme/iris:production', false],
    ['', false],
  ])('%j -> %s', (text, expected) => {
    expect(isRegistryImage(text)).toBe(expected);
  });
});
