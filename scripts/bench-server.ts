#!/usr/bin/env -S npx tsx
/**
 * Load benchmark of the reference prediction server: autocannon against POST /predict of a real
 * server process (dist/server/index.mjs) serving the example Iris model, so regressions show.
 *
 *   npm run bench:server                       # 10 s per scenario, 10 connections
 *   npm run bench:server -- --duration 5 --connections 20
 *
 * Scenarios run one after the other against fresh server processes, and the ratios compare them
 * side by side from this one run: the default setup (prediction log on), the cost of the log
 * (log off), and batching (32 instances a request). The server and autocannon share this
 * machine's cores, so absolute figures are a floor; compare ratios and runs on the same machine.
 */
import autocannon, { type Result } from 'autocannon';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, copyFileSync, readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../test/support/action-runner';
import { freePort, waitFor } from '../test/support/ports';

const args = process.argv.slice(2);
function option(name: string, fallback: number): number {
  const index = args.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(args[index + 1]);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`bench-server: --${name} needs a positive number`);
    process.exit(2);
  }
  return value;
}
const duration = option('duration', 10);
const connections = option('connections', 10);

const bundle = join(repoRoot, 'dist/server/index.mjs');
if (!existsSync(bundle)) {
  console.error('bench-server: dist/server/index.mjs is missing: run npm run build first');
  process.exit(1);
}
const modelDir = mkdtempSync(join(tmpdir(), 'tts-bench-model-'));
copyFileSync(join(repoRoot, 'test/support/fixtures/iris-model.json'), join(modelDir, 'model.json'));
const model = JSON.parse(readFileSync(join(modelDir, 'model.json'), 'utf8')) as { features: string[] };

interface Scenario {
  name: string;
  env: Record<string, string>;
  batch: number;
}

async function runScenario(scenario: Scenario): Promise<{ result: Result; logBytes: number }> {
  const port = await freePort();
  const logPath = join(mkdtempSync(join(tmpdir(), 'tts-bench-log-')), 'predictions.log');
  const log = openSync(logPath, 'w');
  // The prediction log goes to a file, as Docker's json-file driver would take it: written, not discarded.
  const server = spawn(process.execPath, [bundle], {
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: String(port), MODEL_DIR: modelDir, MAX_BATCH_SIZE: '1000', ...scenario.env },
    stdio: ['ignore', log, 'inherit'],
  });
  try {
    await waitFor('the server', async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200, 15_000, 50);
    const instance = model.features.map((_, j) => [5.9, 3.0, 5.1, 1.8][j] ?? 1);
    const body = JSON.stringify({ instances: Array.from({ length: scenario.batch }, () => instance) });
    const options = { url: `http://127.0.0.1:${port}/predict`, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections };
    await autocannon({ ...options, duration: 1 }); // warm-up: JIT and connections
    const result = await autocannon({ ...options, duration });
    return { result, logBytes: readFileSync(logPath).length };
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
  }
}

const scenarios: Scenario[] = [
  { name: '1 instance/request, prediction log on (default)', env: {}, batch: 1 },
  { name: '1 instance/request, prediction log off', env: { PREDICTION_LOG: 'off' }, batch: 1 },
  { name: '32 instances/request, prediction log on', env: {}, batch: 32 },
];

console.log(`bench-server: POST /predict, Iris model, ${connections} connections, ${duration} s per scenario, node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'})`);
const rows: { scenario: Scenario; result: Result; logBytes: number }[] = [];
for (const scenario of scenarios) {
  const { result, logBytes } = await runScenario(scenario);
  rows.push({ scenario, result, logBytes });
  const failed = result.errors + result.timeouts + result.non2xx;
  console.log(
    `  ${scenario.name.padEnd(48)} ${result.requests.average.toFixed(0).padStart(7)} req/s  ${(result.requests.average * scenario.batch).toFixed(0).padStart(8)} predictions/s  p50 ${String(result.latency.p50).padStart(3)} ms  p99 ${String(result.latency.p99).padStart(3)} ms  failed ${failed}  log ${(logBytes / 1e6).toFixed(1)} MB`,
  );
  if (failed > 0) process.exitCode = 1;
}
const [base, noLog, batched] = rows;
console.log('ratios (same run):');
console.log(`  requests/s, log off vs log on:           ${(noLog!.result.requests.average / base!.result.requests.average).toFixed(2)}x`);
console.log(`  predictions/s, batch of 32 vs 1:         ${((batched!.result.requests.average * 32) / base!.result.requests.average).toFixed(2)}x`);
console.log(`  p99 latency, batch of 32 vs 1:           ${(batched!.result.latency.p99 / Math.max(base!.result.latency.p99, 1)).toFixed(2)}x`);
