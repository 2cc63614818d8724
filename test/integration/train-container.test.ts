import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failureMessage, repoRoot, runAction, startAction } from '../support/action-runner';
import { buildImage, docker, ensureNodeBaseImage } from '../support/docker-cli';
import { startRegistry, type TestRegistry } from '../support/registry';
import { waitFor } from '../support/ports';
import { fakeNvidiaSmi } from '../gpu/fake-nvidia-smi';

/**
 * Container mode against the real Docker Engine. The image is built here from local files: the
 * node base image plus bash (the training command runs through bash, as on the host). This
 * engine has no GPU runtime, so training runs with `gpus: none`, and the GPU request's shape is
 * checked by the engine's own refusal to attach GPUs it cannot.
 */

const suffix = randomBytes(4).toString('hex');
const image = `localhost/train-to-serve/train-test:${suffix}`;

function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tts-train-ct-'));
  copyFileSync(join(repoRoot, 'test/training/scripts/train.mjs'), join(dir, 'train.mjs'));
  return dir;
}

/** Containers this test run created (each test gets its own commit sha label). */
async function trainingContainers(sha: string): Promise<string[]> {
  return (await docker(['ps', '-a', '-q', '--filter', 'label=train-to-serve.role=training', '--filter', `label=train-to-serve.git-sha=${sha}`])).split('\n').filter((line) => line !== '');
}

const uniqueSha = () => randomBytes(20).toString('hex');

beforeAll(async () => {
  const base = await ensureNodeBaseImage();
  const files: Record<string, Buffer | string> = { 'rootfs/bin/bash': readFileSync(realpathSync('/bin/bash')) };
  const libraries = (binary: string) =>
    execFileSync('ldd', [binary], { encoding: 'utf8' })
      .split('\n')
      .map((line) => /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line)?.[1])
      .filter((lib): lib is string => lib !== undefined);
  // The base image already holds node's libraries (libc among them): add only what bash needs besides.
  const present = new Set(libraries(process.execPath));
  for (const lib of libraries('/bin/bash')) if (!present.has(lib)) files[`rootfs${lib}`] = readFileSync(realpathSync(lib));
  // The legacy builder copies files as 0644 and the image has no shell: node makes bash executable.
  files.Dockerfile = `FROM ${base}\nCOPY rootfs/ /\nRUN ["node", "-e", "require('fs').chmodSync('/bin/bash', 0o755)"]\n`;
  await buildImage(image, files);
}, 180_000);

afterAll(async () => {
  await docker(['rmi', '-f', image]).catch(() => undefined);
});

describe('train in a container (real engine)', () => {
  it('runs the command in the image with the workspace mounted, streams its output and keeps the exit code', async () => {
    const ws = workspace();
    const sha = uniqueSha();
    const result = await runAction('train', {
      workspace: ws,
      inputs: { run: 'node train.mjs --seconds 1 --env-out env.json', 'container-image': image, gpus: 'none', env: 'WANDB_PROJECT=iris' },
      env: { GITHUB_SHA: sha, WANDB_API_KEY: 'from-the-runner-only' },
    });
    expect(failureMessage(result), result.log).toBeUndefined();
    expect(result.log).toMatch(/trained \d+ epochs/);
    const seen = JSON.parse(readFileSync(join(ws, 'env.json'), 'utf8'));
    // Inside: the workspace at its own path, no GPUs (void beats an image's NVIDIA_VISIBLE_DEVICES=all), the runner's user.
    expect(seen).toMatchObject({ cwd: ws, NVIDIA_VISIBLE_DEVICES: 'void', CUDA_VISIBLE_DEVICES: null, PYTHONUNBUFFERED: '1', inputs: [], uid: process.getuid!() });
    // The env input crosses in; the runner's own environment does not.
    expect(seen).toMatchObject({ WANDB_PROJECT: 'iris', WANDB_API_KEY: null });
    const record = JSON.parse(readFileSync(join(ws, 'model/training.json'), 'utf8')) as { containerImage: unknown; commit: string };
    const imageId = (await docker(['image', 'inspect', '--format', '{{.Id}}', image])).trim();
    expect(record.containerImage).toEqual({ reference: image, id: imageId });
    expect(record.commit).toBe(sha);
    expect(result.summary).toContain(`in \`${image}\``);
    expect(await trainingContainers(sha)).toEqual([]);
  });

  it('carries a failing exit code back and removes the container', async () => {
    const ws = workspace();
    const sha = uniqueSha();
    const result = await runAction('train', { workspace: ws, inputs: { run: 'echo about to fail\nexit 7', 'container-image': image, gpus: 'none' }, env: { GITHUB_SHA: sha } });
    expect(result.exitCode).toBe(1);
    expect(result.log).toContain('about to fail');
    expect(failureMessage(result)).toMatch(/^Training command failed with exit code 7 after /);
    expect(await trainingContainers(sha)).toEqual([]);
  });

  it('asks the engine for the chosen GPUs by UUID, and explains the refusal of an engine without a GPU runtime', async () => {
    const fake = fakeNvidiaSmi({ fixture: 'busy-four-a100-40gb-training.series' });
    const ws = workspace();
    const sha = uniqueSha();
    const result = await runAction('train', {
      workspace: ws,
      inputs: { run: 'node train.mjs --seconds 1 --env-out env.json', 'container-image': image, gpus: '0,3' },
      env: { PATH: fake.path, GITHUB_SHA: sha },
    });
    expect(result.exitCode).toBe(1);
    expect(failureMessage(result)).toMatch(
      /^Docker Engine at unix:\/\/\/var\/run\/docker\.sock: cannot attach GPUs 0 \(GPU-d330a549-4d14-4f1a-8cc3-46363c234038\), 3 \(GPU-699f071a-5fd8-4665-a9df-dec6baecde5b\) to the training container: no GPU device driver is registered with the engine \(it said: could not select device driver "" with capabilities: \[\[gpu\]\]\)\. Install the NVIDIA Container Toolkit/,
    );
    expect(existsSync(join(ws, 'env.json'))).toBe(false);
    expect(await trainingContainers(sha)).toEqual([]);
  });

  it('at the timeout, SIGTERM reaches every process in the container, then the container is removed', async () => {
    const ws = workspace();
    const sha = uniqueSha();
    // A parent and a child process, each recording the SIGTERM it gets, then idling forever.
    writeFileSync(
      join(ws, 'idle.mjs'),
      `import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
const role = process.argv[2] ?? 'parent';
process.on('SIGTERM', () => { writeFileSync(\`term-\${role}\`, String(process.pid)); process.exit(0); });
if (role === 'parent') spawn(process.execPath, ['idle.mjs', 'child'], { stdio: 'inherit' });
writeFileSync(\`started-\${role}\`, '');
setInterval(() => {}, 1000);
`,
    );
    const result = await runAction('train', {
      workspace: ws,
      // 15 s: on a saturated host node takes seconds to start and set its SIGTERM handler.
      inputs: { run: 'node idle.mjs', 'container-image': image, gpus: 'none', 'timeout-minutes': '0.25' },
      env: { GITHUB_SHA: sha },
    });
    expect(result.exitCode).toBe(1);
    expect(failureMessage(result)).toMatch(/^Training exceeded timeout-minutes \(15s\): stopped the training command after \d+s/);
    expect(existsSync(join(ws, 'term-parent'))).toBe(true);
    expect(existsSync(join(ws, 'term-child'))).toBe(true);
    expect(await trainingContainers(sha)).toEqual([]);
  });

  it('forwards cancellation to the container and removes it', async () => {
    const ws = workspace();
    const sha = uniqueSha();
    const { child, result } = startAction('train', {
      workspace: ws,
      inputs: { run: 'node train.mjs --seconds 1000', 'container-image': image, gpus: 'none' },
      env: { GITHUB_SHA: sha },
    });
    await waitFor('the training container to run', async () => (await trainingContainers(sha)).length === 1, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    child.kill('SIGINT');
    const run = await result;
    expect(run.exitCode).toBe(1);
    expect(failureMessage(run)).toMatch(/^Training was cancelled \(SIGINT received\): stopped the training command after /);
    expect(await trainingContainers(sha)).toEqual([]);
  });

  describe('a training job that leaves symlinks pointing out of the workspace (issue 10, defect 1)', () => {
    // The container sees only the workspace, but the links it leaves there are followed on the host.
    const outside = mkdtempSync(join(tmpdir(), 'tts-outside-'));
    const secret = `runner-private-key-${randomBytes(8).toString('hex')}`;
    const secretFile = join(outside, 'credentials');
    writeFileSync(secretFile, JSON.stringify({ accuracy: 0.99, key: secret }));
    const link = (from: string, to: string) => `node -e "const fs = require('fs'); fs.rmSync(process.argv[2], { force: true }); fs.symlinkSync(process.argv[1], process.argv[2])" ${JSON.stringify(to)} ${JSON.stringify(from)}`;
    const leaks = (result: Awaited<ReturnType<typeof runAction>>, ws: string) => {
      expect(result.log).not.toContain(secret);
      expect(result.summary).not.toContain(secret);
      expect(JSON.stringify(result.outputs)).not.toContain(secret);
      if (existsSync(join(ws, 'model/training.json'))) expect(readFileSync(join(ws, 'model/training.json'), 'utf8')).not.toContain(secret);
    };

    it('refuses a metrics file that is a link to a host file, and reads nothing through it', async () => {
      const ws = workspace();
      const result = await runAction('train', {
        workspace: ws,
        inputs: { run: `node train.mjs --seconds 0.3\n${link('metrics.json', secretFile)}`, 'container-image': image, gpus: 'none' },
      });
      expect(result.exitCode, result.log).toBe(1);
      expect(failureMessage(result)).toMatch(/^Metrics file "metrics\.json" \(metrics-file\): resolves to .* outside the workspace/);
      leaks(result, ws);
    });

    it('refuses a model folder that is a link out of the workspace', async () => {
      const ws = workspace();
      const result = await runAction('train', {
        workspace: ws,
        inputs: { run: `node train.mjs --seconds 0.3 --model trained\n${link('model', outside)}`, 'container-image': image, gpus: 'none' },
      });
      expect(result.exitCode, result.log).toBe(1);
      expect(failureMessage(result)).toMatch(/^Model path "model" \(model-path\): resolves to .* outside the workspace/);
      expect(existsSync(join(outside, 'training.json'))).toBe(false);
      leaks(result, ws);
    });

    it('refuses a model file that is a link to a host file, naming it', async () => {
      const ws = workspace();
      const result = await runAction('train', {
        workspace: ws,
        inputs: { run: `node train.mjs --seconds 0.3\n${link('model/extra.bin', secretFile)}`, 'container-image': image, gpus: 'none' },
      });
      expect(result.exitCode, result.log).toBe(1);
      expect(failureMessage(result)).toMatch(/^Model path "model" \(model-path\): holds "extra\.bin", a symlink that resolves to .* outside the workspace/);
      leaks(result, ws);
    });

    it('writes training.json as a new file, never through a link the job left in its place', async () => {
      const ws = workspace();
      const hostFile = join(outside, 'gitconfig');
      writeFileSync(hostFile, '[user]\n\tname = runner\n');
      const result = await runAction('train', {
        workspace: ws,
        inputs: { run: `node train.mjs --seconds 0.3\n${link('model/training.json', hostFile)}`, 'container-image': image, gpus: 'none' },
      });
      expect(failureMessage(result), result.log).toBeUndefined();
      expect(readFileSync(hostFile, 'utf8')).toBe('[user]\n\tname = runner\n');
      expect(lstatSync(join(ws, 'model/training.json')).isFile()).toBe(true);
      expect((JSON.parse(readFileSync(join(ws, 'model/training.json'), 'utf8')) as { schema: string }).schema).toBe('train-to-serve/training/v1');
    });
  });

  describe('an image in a private registry', () => {
    let registry: TestRegistry;
    let remote: string;
    const loggedIn = mkdtempSync(join(tmpdir(), 'tts-docker-config-'));
    beforeAll(async () => {
      registry = await startRegistry({ auth: 'basic' });
      remote = `${registry.host}/acme/trainer:${suffix}`;
      await docker(['--config', loggedIn, 'login', '--username', registry.username, '--password-stdin', registry.host], { input: registry.password });
      await docker(['tag', image, remote]);
      await docker(['--config', loggedIn, 'push', remote]);
      await docker(['rmi', remote]);
    }, 120_000);
    afterAll(async () => {
      await docker(['rmi', '-f', remote]).catch(() => undefined);
      await registry?.stop();
    });

    it('is pulled with the credentials docker login stored', async () => {
      const ws = workspace();
      const result = await runAction('train', {
        workspace: ws,
        inputs: { run: 'node train.mjs --seconds 0.3', 'container-image': remote, gpus: 'none' },
        env: { DOCKER_CONFIG: loggedIn },
      });
      expect(failureMessage(result), result.log).toBeUndefined();
      expect(result.log).toContain(`Pulling ${remote} as ${registry.username}`);
      expect(result.masked.length + result.log.length).toBeGreaterThan(0);
      expect(result.log).not.toContain(registry.password);
    });

    it('fails clearly without them', async () => {
      await docker(['rmi', '-f', remote]).catch(() => undefined);
      const result = await runAction('train', {
        workspace: workspace(),
        inputs: { run: 'node train.mjs --seconds 0.3', 'container-image': remote, gpus: 'none' },
        env: { DOCKER_CONFIG: mkdtempSync(join(tmpdir(), 'tts-docker-config-')) },
      });
      expect(result.exitCode).toBe(1);
      expect(failureMessage(result)).toMatch(new RegExp(`^Image ${remote.replace(/[.]/g, '\\.')}: cannot be pulled: .*(no basic auth credentials|unauthorized)`));
    });
  });
});
