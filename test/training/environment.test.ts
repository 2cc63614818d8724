import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseGpuCsv } from '../../src/gpu/probe';
import { containerEnvironment, hostEnvironment } from '../../src/training/environment';
import { parseImageReference } from '../../src/registry/reference';
import { deviceRequests, explainStartError, registryAuthFor } from '../../src/training/container';
import type { Engine } from '../../src/engine/connection';

const gpus = parseGpuCsv('index, uuid, name, memory.total [MiB], memory.used [MiB], utilization.gpu [%]\n0, GPU-aaaa, NVIDIA L4, 23034, 0, 0\n1, GPU-bbbb, NVIDIA L4, 23034, 0, 0\n2, GPU-cccc, NVIDIA L4, 23034, 0, 0');
const chosen = [gpus[0]!, gpus[2]!];

const actionEnv = {
  PATH: '/usr/bin',
  HOME: '/home/runner',
  VIRTUAL_ENV: '/opt/venv',
  WANDB_MODE: 'offline',
  CI: 'true',
  GITHUB_SHA: 'abc',
  GITHUB_REPOSITORY: 'acme/iris',
  GITHUB_OUTPUT: '/runner/_temp/out',
  GITHUB_STEP_SUMMARY: '/runner/_temp/summary',
  GITHUB_TOKEN: 'ghs_secret',
  GITHUB_WORKSPACE: '/runner/work/iris/iris',
  RUNNER_OS: 'Linux',
  RUNNER_TEMP: '/runner/_temp',
  INPUT_RUN: 'python train.py',
  STATE_x: '1',
  ACTIONS_RUNTIME_TOKEN: 'runtime-secret',
  ACTIONS_RUNTIME_URL: 'https://pipelines.actions.githubusercontent.com/',
  ACTIONS_CACHE_URL: 'https://artifactcache.actions.githubusercontent.com/',
  ACTIONS_RESULTS_URL: 'https://results-receiver.actions.githubusercontent.com/',
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'oidc-secret',
  ACTIONS_ID_TOKEN_REQUEST_URL: 'https://token',
  CUDA_VISIBLE_DEVICES: '5',
};

describe('hostEnvironment', () => {
  it('is the step environment a run step would see, with the chosen GPUs', () => {
    const env = hostEnvironment(actionEnv, chosen);
    expect(env).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/runner',
      VIRTUAL_ENV: '/opt/venv',
      WANDB_MODE: 'offline',
      CI: 'true',
      GITHUB_SHA: 'abc',
      GITHUB_REPOSITORY: 'acme/iris',
      GITHUB_OUTPUT: '/runner/_temp/out',
      GITHUB_STEP_SUMMARY: '/runner/_temp/summary',
      GITHUB_TOKEN: 'ghs_secret',
      GITHUB_WORKSPACE: '/runner/work/iris/iris',
      RUNNER_OS: 'Linux',
      RUNNER_TEMP: '/runner/_temp',
      PYTHONUNBUFFERED: '1',
      CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
      CUDA_VISIBLE_DEVICES: '0,2',
    });
  });

  it('adds the env input, and keeps the GPU selection over it', () => {
    const env = hostEnvironment(actionEnv, chosen, { WANDB_PROJECT: 'iris', CUDA_VISIBLE_DEVICES: '7' });
    expect(env.WANDB_PROJECT).toBe('iris');
    expect(env.CUDA_VISIBLE_DEVICES).toBe('0,2');
  });

  it('keeps a PYTHONUNBUFFERED the user set', () => {
    expect(hostEnvironment({ PYTHONUNBUFFERED: '0' }, []).PYTHONUNBUFFERED).toBe('0');
  });
});

describe('containerEnvironment', () => {
  it('passes the run description, never host paths, virtualenvs or tokens', () => {
    expect(containerEnvironment(actionEnv, chosen, '/runner/work/iris/iris')).toEqual({
      CI: 'true',
      GITHUB_SHA: 'abc',
      GITHUB_REPOSITORY: 'acme/iris',
      GITHUB_WORKSPACE: '/runner/work/iris/iris',
      RUNNER_OS: 'Linux',
      PYTHONUNBUFFERED: '1',
      NVIDIA_VISIBLE_DEVICES: 'GPU-aaaa,GPU-cccc',
    });
  });
});

describe('containerEnvironment with the env input', () => {
  it('lets the given variables in, and keeps the GPU selection over them', () => {
    const env = containerEnvironment(actionEnv, chosen, '/w', { WANDB_API_KEY: 'k', NVIDIA_VISIBLE_DEVICES: 'all' });
    expect(env.WANDB_API_KEY).toBe('k');
    expect(env.NVIDIA_VISIBLE_DEVICES).toBe('GPU-aaaa,GPU-cccc');
    expect(env.VIRTUAL_ENV).toBeUndefined();
  });
});

describe('container helpers', () => {
  it('asks for the chosen GPUs by UUID the way docker run --gpus does', () => {
    expect(deviceRequests(chosen)).toEqual([{ Driver: '', Count: 0, DeviceIDs: ['GPU-aaaa', 'GPU-cccc'], Capabilities: [['gpu']], Options: {} }]);
    expect(deviceRequests([])).toEqual([]);
  });

  it('reads the credentials docker login stored', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tts-docker-config-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { 'ghcr.io': { auth: Buffer.from('octocat:p:a:ss').toString('base64') }, 'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw').toString('base64') } } }));
    expect(registryAuthFor(parseImageReference('ghcr.io/acme/trainer:1', 'container-image'), dir)).toEqual({ username: 'octocat', password: 'p:a:ss', serveraddress: 'ghcr.io' });
    expect(registryAuthFor(parseImageReference('pytorch/pytorch:2', 'container-image'), dir)).toEqual({ username: 'hub', password: 'pw', serveraddress: 'https://index.docker.io/v1/' });
    expect(registryAuthFor(parseImageReference('quay.io/x/y:1', 'container-image'), dir)).toBeUndefined();
    expect(registryAuthFor(parseImageReference('ghcr.io/acme/trainer:1', 'container-image'), join(dir, 'missing'))).toBeUndefined();
  });

  const engine = { endpoint: 'unix:///var/run/docker.sock' } as Engine;
  const apiError = (message: string) => Object.assign(new Error(`(HTTP code 500) server error - ${message}`), { statusCode: 500, json: { message } });
  it.each([
    [
      'could not select device driver "" with capabilities: [[gpu]]',
      'Docker Engine at unix:///var/run/docker.sock: cannot attach GPUs 0 (GPU-aaaa), 2 (GPU-cccc) to the training container: no GPU device driver is registered with the engine (it said: could not select device driver "" with capabilities: [[gpu]]). Install the NVIDIA Container Toolkit',
    ],
    [
      'failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "bash": executable file not found in $PATH: unknown',
      'Image localhost/t:1: has no bash, which runs the training command (the engine said: failed to create shim task',
    ],
    ['something else', 'Docker Engine at unix:///var/run/docker.sock: could not start the training container from localhost/t:1: something else'],
  ])('explains %s', (said, message) => {
    expect(explainStartError(apiError(said), { engine, image: 'localhost/t:1', gpus: chosen }).message).toContain(message);
  });
});
