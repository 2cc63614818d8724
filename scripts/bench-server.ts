#!/usr/bin/env -S npx tsx
/**
 * Load benchmark of the reference prediction server: autocannon against a real server process
 * (dist/server/index.mjs), so regressions show.
 *
 *   npm run bench:server                       # 10 s per scenario, 10 connections
 *   npm run bench:server -- --duration 5 --connections 20
 *   npm run bench:server -- --only onnx        # or --only linear
 *
 * Linear (POST /predict, the example Iris model): the default setup (prediction log on), the cost
 * of the log (log off), and batching (32 instances a request).
 *
 * ONNX (POST /v2/models/{name}/infer, the Open Inference Protocol): a tabular classifier (30
 * features → Gemm → 5 classes + Softmax) and a small image classifier (1×28×28 → Conv 3×3 ×8 →
 * Relu → MaxPool → Gemm → 10), batch 1 and 32, each on onnxruntime-node (native, the server's
 * default) and onnxruntime-web (WASM, ONNX_RUNTIME=wasm), prediction log off so the runtime is
 * what is measured. The models come from test/support/onnx-models.ts (seeded weights).
 *
 * Scenarios run one after the other against fresh server processes, and the ratios compare them
 * side by side from this one run. The server and autocannon share this machine's cores, so
 * absolute figures are a floor; compare ratios and runs on the same machine.
 */
import autocannon, { type Result } from 'autocannon';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../test/support/action-runner';
import { imageClassifier, seededValues, tabularClassifier } from '../test/support/onnx-models';
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
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
if (only !== undefined && only !== 'linear' && only !== 'onnx') {
  console.error('bench-server: --only takes linear or onnx');
  process.exit(2);
}

const bundle = join(repoRoot, 'dist/server/index.mjs');
if (!existsSync(bundle)) {
  console.error('bench-server: dist/server/index.mjs is missing: run npm run build first');
  process.exit(1);
}

function modelDir(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tts-bench-model-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

interface Scenario {
  name: string;
  env: Record<string, string>;
  dir: string;
  path: string;
  body: string;
  batch: number;
}

interface Row {
  scenario: Scenario;
  result: Result;
  logBytes: number;
}

async function runScenario(scenario: Scenario): Promise<Row> {
  const port = await freePort();
  const logPath = join(mkdtempSync(join(tmpdir(), 'tts-bench-log-')), 'predictions.log');
  const log = openSync(logPath, 'w');
  // The prediction log goes to a file, as Docker's json-file driver would take it: written, not discarded.
  const server = spawn(process.execPath, [bundle], {
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: String(port), MODEL_DIR: scenario.dir, MAX_BATCH_SIZE: '1000', ...scenario.env },
    stdio: ['ignore', log, 'inherit'],
  });
  try {
    await waitFor('the server', async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200, 120_000, 50);
    const options = { url: `http://127.0.0.1:${port}${scenario.path}`, method: 'POST' as const, headers: { 'content-type': 'application/json' }, body: scenario.body, connections };
    await autocannon({ ...options, duration: 1 }); // warm-up: JIT and connections
    const result = await autocannon({ ...options, duration });
    return { scenario, result, logBytes: readFileSync(logPath).length };
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
  }
}

function print(row: Row): void {
  const { scenario, result, logBytes } = row;
  const failed = result.errors + result.timeouts + result.non2xx;
  console.log(
    `  ${scenario.name.padEnd(48)} ${result.requests.average.toFixed(0).padStart(7)} req/s  ${(result.requests.average * scenario.batch).toFixed(0).padStart(8)} predictions/s  p50 ${String(result.latency.p50).padStart(3)} ms  p99 ${String(result.latency.p99).padStart(4)} ms  failed ${failed}${logBytes ? `  log ${(logBytes / 1e6).toFixed(1)} MB` : ''}`,
  );
  if (failed > 0) process.exitCode = 1;
}

const ratio = (a: number, b: number) => `${(a / Math.max(b, 1e-9)).toFixed(2)}x`;

console.log(`bench-server: ${connections} connections, ${duration} s per scenario, node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'})`);

if (only !== 'onnx') {
  const dir = modelDir({ 'model.json': readFileSync(join(repoRoot, 'test/support/fixtures/iris-model.json')) });
  const instance = [5.9, 3.0, 5.1, 1.8];
  const body = (batch: number) => JSON.stringify({ instances: Array.from({ length: batch }, () => instance) });
  console.log('linear classifier (Iris), POST /predict:');
  const rows: Row[] = [];
  const linear: { name: string; env: Record<string, string>; batch: number }[] = [
    { name: '1 instance/request, prediction log on (default)', env: {}, batch: 1 },
    { name: '1 instance/request, prediction log off', env: { PREDICTION_LOG: 'off' }, batch: 1 },
    { name: '32 instances/request, prediction log on', env: {}, batch: 32 },
  ];
  for (const scenario of linear) {
    const row = await runScenario({ ...scenario, dir, path: '/predict', body: body(scenario.batch) });
    rows.push(row);
    print(row);
  }
  const [base, noLog, batched] = rows;
  console.log('  ratios (same run):');
  console.log(`    requests/s, log off vs log on:           ${ratio(noLog!.result.requests.average, base!.result.requests.average)}`);
  console.log(`    predictions/s, batch of 32 vs 1:         ${ratio(batched!.result.requests.average * 32, base!.result.requests.average)}`);
  console.log(`    p99 latency, batch of 32 vs 1:           ${ratio(batched!.result.latency.p99, Math.max(base!.result.latency.p99, 1))}`);
}

if (only !== 'linear') {
  const models = [
    { label: 'tabular', dir: modelDir({ 'model.onnx': tabularClassifier(30, 5), 'model.onnx.json': JSON.stringify({ name: 'tabular' }) }), input: 'features', shape: [30], seed: 11 },
    { label: 'image', dir: modelDir({ 'model.onnx': imageClassifier(28), 'model.onnx.json': JSON.stringify({ name: 'image' }) }), input: 'image', shape: [1, 28, 28], seed: 12 },
  ];
  console.log('ONNX, POST /v2/models/{name}/infer, prediction log off:');
  const results = new Map<string, Row>();
  for (const model of models) {
    for (const batch of [1, 32]) {
      const width = model.shape.reduce((a, b) => a * b, 1);
      const body = JSON.stringify({ inputs: [{ name: model.input, shape: [batch, ...model.shape], datatype: 'FP32', data: seededValues(batch * width, model.seed).map((v) => Math.round(v * 1000) / 1000) }] });
      for (const runtime of ['native', 'wasm'] as const) {
        const row = await runScenario({
          name: `${model.label}, batch ${batch}, ${runtime === 'native' ? 'onnxruntime-node' : 'onnxruntime-web (WASM)'}`,
          env: { PREDICTION_LOG: 'off', ONNX_RUNTIME: runtime },
          dir: model.dir,
          path: `/v2/models/${model.label}/infer`,
          body,
          batch,
        });
        results.set(`${model.label}/${batch}/${runtime}`, row);
        print(row);
      }
    }
  }
  console.log('  native vs WASM (same run): predictions/s ratio, p99 ratio (WASM / native)');
  for (const model of models) {
    for (const batch of [1, 32]) {
      const native = results.get(`${model.label}/${batch}/native`)!.result;
      const wasm = results.get(`${model.label}/${batch}/wasm`)!.result;
      console.log(`    ${`${model.label}, batch ${batch}:`.padEnd(22)} throughput native/WASM ${ratio(native.requests.average, wasm.requests.average)}, p99 WASM/native ${ratio(wasm.latency.p99, Math.max(native.latency.p99, 1))}`);
    }
  }
}
