import { resolve } from 'node:path';
import { connectEngine } from '../engine/connection';
import { InputError } from '../inputs/errors';
import { parseInteger, parseKeyValueLines, parseNumber } from '../inputs/parse';
import { metricsToJson } from '../metrics/file';
import { parseGpuRequest, type GpuRequest } from '../gpu/select';
import { readRunContext } from '../runtime/context';
import { input, inputOrDefault, log, maskEnvValues, runAction, setOutputs, writeSummary } from '../runtime/action';
import { planCache, type CachePlan } from '../training/cache';
import { Cancellation } from '../training/cancellation';
import { renderSummary } from '../training/summary';
import { CANCEL_GRACE_MS, TrainingError, train, type TrainPlan } from '../training/train';

interface Inputs {
  run: string;
  'container-image': string | undefined;
  'working-directory': string | undefined;
  gpus: GpuRequest;
  'min-free-memory': number | undefined;
  'model-path': string;
  'metrics-file': string;
  cache: CachePlan | undefined;
  'timeout-minutes': number | undefined;
  'telemetry-interval': number;
  env: Record<string, string>;
}

function getInputs(): Inputs {
  const run = input('run');
  if (run === undefined) throw new InputError('run', 'is required: the shell command that trains the model');
  const minFree = input('min-free-memory');
  const timeout = input('timeout-minutes');
  const timeoutMinutes = timeout === undefined ? undefined : parseNumber('timeout-minutes', timeout);
  if (timeoutMinutes !== undefined && timeoutMinutes <= 0) throw new InputError('timeout-minutes', `must be greater than zero, got ${timeoutMinutes}`);
  const interval = parseNumber('telemetry-interval', inputOrDefault('telemetry-interval', '5'), { min: 0 });
  if (interval > 0 && interval < 0.1) throw new InputError('telemetry-interval', `must be 0 (off) or at least 0.1 seconds, got ${interval}`);
  // Values are often secrets (an experiment tracker's key): masked before anything can print them.
  const env = Object.fromEntries(parseKeyValueLines('env', input('env') ?? '', { keyPattern: /^[A-Za-z_][A-Za-z0-9_]*$/ }));
  maskEnvValues(Object.values(env));
  return {
    run,
    'container-image': input('container-image')?.trim(),
    'working-directory': input('working-directory')?.trim(),
    gpus: parseGpuRequest('gpus', inputOrDefault('gpus', 'all')),
    'min-free-memory': minFree === undefined ? undefined : parseInteger('min-free-memory', minFree, { min: 0 }),
    'model-path': inputOrDefault('model-path', 'model').trim(),
    'metrics-file': inputOrDefault('metrics-file', 'metrics.json').trim(),
    cache: planCache(input('cache-path'), input('cache-key')),
    'timeout-minutes': timeoutMinutes,
    'telemetry-interval': interval,
    env,
  };
}

async function main(): Promise<void> {
  const cancellation = new Cancellation();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      log.info(cancellation.requested ? `Received ${signal} again: killing the training at once` : `Received ${signal}: stopping the training (SIGTERM to all its processes, SIGKILL after ${CANCEL_GRACE_MS / 1000}s)`);
      cancellation.request(signal);
    });
  }

  const inputs = getInputs();
  const workspace = resolve(process.env.GITHUB_WORKSPACE ?? process.cwd());
  const plan: TrainPlan = {
    command: inputs.run,
    containerImage: inputs['container-image'],
    workspace,
    workingDirectory: resolve(workspace, inputs['working-directory'] ?? '.'),
    gpus: inputs.gpus,
    minFreeMemoryMiB: inputs['min-free-memory'],
    modelPath: inputs['model-path'],
    metricsFile: inputs['metrics-file'],
    cache: inputs.cache,
    timeoutMs: inputs['timeout-minutes'] === undefined ? undefined : Math.round(inputs['timeout-minutes'] * 60_000),
    telemetryIntervalMs: Math.round(inputs['telemetry-interval'] * 1000),
    env: inputs.env,
  };

  try {
    const report = await train(plan, {
      log,
      context: readRunContext(),
      env: process.env,
      cancellation,
      tempDir: process.env.RUNNER_TEMP,
      connectEngine: () => connectEngine(undefined),
    });
    setOutputs({
      'model-path': report.modelPath,
      'metrics-file': report.metricsFile,
      metrics: report.metrics ? metricsToJson(report.metrics) : {},
      'duration-seconds': String(report.durationSeconds ?? 0),
      'gpu-summary': report.gpus,
    });
    await writeSummary(renderSummary(report));
  } catch (error) {
    if (error instanceof TrainingError) await writeSummary(renderSummary(error.report, error.message));
    throw error;
  }
}

void runAction(main);
