import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { repoRoot } from '../support/action-runner';
import { docker } from '../support/docker-cli';

// The README's first command: the whole pipeline through the real bundles. It must finish, keep
// every request answered while servers come and go, refuse the undertrained model, and leave
// nothing behind.
describe('npm run demo', () => {
  it('runs train → gate → publish → promote → deploy → retire end to end and cleans up', async () => {
    const output = await new Promise<{ code: number | null; text: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], { cwd: repoRoot, env: { ...process.env, FORCE_COLOR: '0' } });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.on('close', (code) => resolve({ code, text }));
    });
    expect(output.code, output.text).toBe(0);
    expect(output.text).toMatch(/requests during deploy v2 \+ retire v1: [1-9]\d*, failed: 0/);
    expect(output.text).toContain('refused: Gate failed');
    expect(output.text).toMatch(/retired 1, kept 1/);
    const run = /network (tts-demo-[0-9a-f]+)/.exec(output.text)?.[1];
    expect(run).toBeDefined();
    expect(await docker(['ps', '-aq', '--filter', `label=train-to-serve.service=iris-${run!.slice('tts-demo-'.length)}`])).toBe('');
    expect(await docker(['network', 'ls', '-q', '--filter', `name=${run}`])).toBe('');
  }, 600_000);
});
