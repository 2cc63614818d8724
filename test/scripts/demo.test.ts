import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { repoRoot } from '../support/action-runner';
import { docker } from '../support/docker-cli';

// The README's first command: the whole pipeline through the real bundles. It must finish, keep
// every request answered while servers come and go, refuse the undertrained model, and leave
// nothing behind.
function demo(args: string[]): Promise<{ code: number | null; text: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', ...args], { cwd: repoRoot, env: { ...process.env, FORCE_COLOR: '0' } });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.on('close', (code) => resolve({ code, text }));
  });
}

async function expectCleanedUp(text: string, example: string): Promise<void> {
  const run = /network (tts-demo-[0-9a-f]+)/.exec(text)?.[1];
  expect(run).toBeDefined();
  expect(await docker(['ps', '-aq', '--filter', `label=train-to-serve.service=${example}-${run!.slice('tts-demo-'.length)}`])).toBe('');
  expect(await docker(['network', 'ls', '-q', '--filter', `name=${run}`])).toBe('');
}

describe('npm run demo', () => {
  it('runs train → gate → publish → promote → deploy → retire end to end and cleans up', async () => {
    const output = await demo([]);
    expect(output.code, output.text).toBe(0);
    expect(output.text).toMatch(/requests during deploy v2 \+ retire v1: [1-9]\d*, failed: 0/);
    expect(output.text).toContain('refused: Gate failed');
    expect(output.text).toMatch(/retired 1, kept 1/);
    await expectCleanedUp(output.text, 'iris');
  }, 600_000);

  // The PyTorch example through the same pipeline: a CNN trained on scikit-learn's digits,
  // exported to ONNX, gated, published on the ONNX server image, deployed behind the Traefik
  // stand-in, asked through /predict and the Open Inference Protocol, replaced under load.
  it('runs the PyTorch example (--example pytorch) end to end and cleans up', async () => {
    const output = await demo(['--example', 'pytorch']);
    expect(output.code, output.text).toBe(0);
    expect(output.text).toContain('example pytorch (PyTorch CNN exported to model.onnx, served by ONNX Runtime)');
    for (const digit of ['0', '1', '2']) expect(output.text).toMatch(new RegExp(`→ ${digit} \\(p=[01]\\.\\d+; expected ${digit}\\)`));
    expect(output.text).toMatch(/POST \/v2\/models\/digits\/infer \(Open Inference Protocol, image FP32 \[1,1,8,8\]\) → logits \[1,10\]/);
    expect(output.text).toMatch(/requests during deploy v2 \+ retire v1: [1-9]\d*, failed: 0/);
    expect(output.text).toContain('refused: Gate failed');
    expect(output.text).toMatch(/retired 1, kept 1/);
    await expectCleanedUp(output.text, 'pytorch');
  }, 900_000);
});
