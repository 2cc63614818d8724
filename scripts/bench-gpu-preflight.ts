#!/usr/bin/env -S npx tsx
/**
 * How long train's GPU check takes to fail on each recorded driver failure, next to how long the
 * stand-in nvidia-smi itself takes to answer (the same recording printed by `sh -c cat`), so the
 * ratio shows what train adds on top of nvidia-smi. Runs the real probe (src/gpu/probe.ts)
 * against the stand-in replaying test/fixtures/nvidia-smi-public, 20 rounds per recording.
 *
 *   npm run bench:gpu-preflight
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { probeGpus } from '../src/gpu/probe';
import { fakeNvidiaSmi, RECORDED } from '../test/gpu/fake-nvidia-smi';

const ROUNDS = 20;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const failures = readdirSync(RECORDED)
  .filter((file) => file.endsWith('.txt'))
  .map((file) => ({ file, expected: JSON.parse(readFileSync(join(RECORDED, `${file}.expected.json`), 'utf8')) as { kind: string; exitCode: number } }))
  .filter(({ expected }) => expected.kind === 'failure');

console.log('recording                                                         train ms  stand-in ms  ratio');
for (const { file, expected } of failures) {
  const fake = fakeNvidiaSmi({ fixture: file, exitCode: expected.exitCode, delaySeconds: 0 });
  const env = { ...process.env, PATH: fake.path };
  const train: number[] = [];
  const bare: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let started = performance.now();
    await probeGpus({ env }).then(
      () => {
        throw new Error(`${file}: the check passed`);
      },
      () => undefined,
    );
    train.push(performance.now() - started);
    started = performance.now();
    spawnSync(join(fake.binDir, 'nvidia-smi'), ['--query-gpu=index', '--format=csv'], { env });
    bare.push(performance.now() - started);
  }
  const [t, b] = [median(train), median(bare)];
  console.log(`${file.padEnd(66)}${t.toFixed(1).padStart(8)}${b.toFixed(1).padStart(13)}${(t / b).toFixed(2).padStart(7)}`);
}
