import { describe, expect, it } from 'vitest';
import { buildImage, docker, ensureNodeBaseImage } from './docker-cli';

describe('node base image from local files', () => {
  it('runs node, and images built FROM it keep their HEALTHCHECK', async () => {
    const base = await ensureNodeBaseImage();
    expect(base).toMatch(/^localhost\/train-to-serve\/node-base:[0-9a-f]{12}$/);
    expect((await docker(['run', '--rm', base, 'node', '-e', 'console.log(6*7)'])).trim()).toBe('42');
    const tag = `localhost/train-to-serve/support-check:${Date.now()}`;
    await buildImage(tag, {
      Dockerfile: `FROM ${base}\nHEALTHCHECK --interval=1s CMD ["node","-e","process.exit(0)"]\nCMD ["node","-e","1"]\n`,
    });
    const [inspected] = JSON.parse(await docker(['image', 'inspect', tag])) as { Config: { Healthcheck: { Test: string[] } } }[];
    expect(inspected!.Config.Healthcheck.Test).toEqual(['CMD', 'node', '-e', 'process.exit(0)']);
    await docker(['rmi', tag]);
  });
});
