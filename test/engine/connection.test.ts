import { describe, expect, it } from 'vitest';
import { chooseApiVersion, connectEngine, parseDockerHost } from '../../src/engine/connection';

describe('parseDockerHost', () => {
  it.each([
    [undefined, { socketPath: '/var/run/docker.sock' }],
    ['', { socketPath: '/var/run/docker.sock' }],
    ['unix:///run/user/1000/docker.sock', { socketPath: '/run/user/1000/docker.sock' }],
    ['tcp://127.0.0.1:2375', { host: '127.0.0.1', port: 2375, protocol: 'http' }],
    ['https://docker.internal:2376', { host: 'docker.internal', port: 2376, protocol: 'https' }],
    ['tcp://[::1]:2375', { host: '::1', port: 2375, protocol: 'http' }],
  ])('%j', (raw, address) => expect(parseDockerHost(raw)).toEqual(address));

  it.each(['ssh://me@host', 'tcp://host', 'unix://relative.sock', 'tcp://h:0', 'docker.sock'])('refuses %j naming the input', (raw) => {
    expect(() => parseDockerHost(raw)).toThrow(/^Input "docker-host": /);
  });
});

describe('chooseApiVersion', () => {
  it('speaks the engine’s version when it is older than ours', () => expect(chooseApiVersion('1.41', '1.12')).toBe('1.41'));
  it('caps at the newest version we know', () => expect(chooseApiVersion('1.51', '1.24')).toBe('1.47'));
  it('refuses engines older than 20.10', () => expect(() => chooseApiVersion('1.40', '1.12')).toThrow('older than 1.41'));
  it('refuses engines whose minimum is above ours', () => expect(() => chooseApiVersion('1.60', '1.50')).toThrow('requires API 1.50'));
});

describe('connectEngine', () => {
  it('negotiates with the real engine', async () => {
    const engine = await connectEngine(undefined);
    expect(engine.apiVersion).toMatch(/^1\.\d+$/);
    const info = (await engine.docker.info()) as { ServerVersion: string };
    expect(info.ServerVersion).toBe(engine.engineVersion);
  });
  it('names an unreachable engine', async () => {
    await expect(connectEngine('tcp://127.0.0.1:9')).rejects.toThrow(/^Docker Engine at http:\/\/127\.0\.0\.1:9: not reachable/);
  });
});
