// A small but real training run for the tests: logistic regression fitted by full-batch gradient
// descent on a seeded synthetic data set, for a given number of seconds of CPU work. Writes the
// weights into --model (a folder) and accuracy/loss into --metrics, and records the GPU
// environment it was given into --env-out, so tests can see what the action set.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith('--') ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []));
const seconds = Number(args.seconds ?? 2);
const modelDir = args.model ?? 'model';
const metricsFile = args.metrics ?? 'metrics.json';

let seed = 42;
const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const gaussian = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());

const features = 8;
const samples = 4000;
const trueWeights = Array.from({ length: features }, (_, i) => (i % 2 ? 1 : -1) * (0.5 + i / 8));
const x = [];
const y = [];
for (let n = 0; n < samples; n++) {
  const row = Array.from({ length: features }, gaussian);
  const logit = row.reduce((sum, v, i) => sum + v * trueWeights[i], 0) + 0.3 * gaussian();
  x.push(row);
  y.push(logit > 0 ? 1 : 0);
}
const split = Math.floor(samples * 0.8);

const w = new Array(features).fill(0);
let b = 0;
const sigmoid = (z) => 1 / (1 + Math.exp(-z));
const predict = (row) => sigmoid(row.reduce((sum, v, i) => sum + v * w[i], b));

const started = Date.now();
let epoch = 0;
let lastReport = started;
while (Date.now() - started < seconds * 1000) {
  const gw = new Array(features).fill(0);
  let gb = 0;
  for (let n = 0; n < split; n++) {
    const error = predict(x[n]) - y[n];
    for (let i = 0; i < features; i++) gw[i] += error * x[n][i];
    gb += error;
  }
  for (let i = 0; i < features; i++) w[i] -= (0.5 * gw[i]) / split;
  b -= (0.5 * gb) / split;
  epoch += 1;
  if (Date.now() - lastReport > 500) {
    lastReport = Date.now();
    console.log(`epoch ${epoch}`);
  }
}

let correct = 0;
let loss = 0;
for (let n = split; n < samples; n++) {
  const p = predict(x[n]);
  correct += (p > 0.5 ? 1 : 0) === y[n] ? 1 : 0;
  loss -= y[n] * Math.log(p + 1e-12) + (1 - y[n]) * Math.log(1 - p + 1e-12);
}
const metrics = { accuracy: correct / (samples - split), loss: loss / (samples - split), epochs: epoch, eval: { samples: samples - split } };

mkdirSync(modelDir, { recursive: true });
writeFileSync(`${modelDir}/weights.json`, JSON.stringify({ weights: w, bias: b }));
mkdirSync(dirname(metricsFile), { recursive: true });
writeFileSync(metricsFile, JSON.stringify(metrics, null, 2));
if (args['env-out']) {
  const seen = {
    CUDA_VISIBLE_DEVICES: process.env.CUDA_VISIBLE_DEVICES ?? null,
    CUDA_DEVICE_ORDER: process.env.CUDA_DEVICE_ORDER ?? null,
    NVIDIA_VISIBLE_DEVICES: process.env.NVIDIA_VISIBLE_DEVICES ?? null,
    PYTHONUNBUFFERED: process.env.PYTHONUNBUFFERED ?? null,
    inputs: Object.keys(process.env).filter((key) => key.startsWith('INPUT_')),
    WANDB_API_KEY: process.env.WANDB_API_KEY ?? null,
    WANDB_PROJECT: process.env.WANDB_PROJECT ?? null,
    cwd: process.cwd(),
    uid: process.getuid?.(),
  };
  writeFileSync(args['env-out'], JSON.stringify(seen));
}
console.log(`trained ${epoch} epochs: accuracy ${metrics.accuracy.toFixed(3)}, loss ${metrics.loss.toFixed(4)}`);
