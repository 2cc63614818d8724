/**
 * `npm run demo`: the whole pipeline end to end on this machine, each step through its real
 * bundle started the way the GitHub runner starts it (test/support/action-runner.ts).
 *
 *   train v1 → gate → publish pr-1 → promote → deploy v1 → predictions
 *   train v2 → gate against production's recorded metrics → publish pr-2 → promote → deploy v2
 *     beside v1 (strategy add) → retire v1 under load, without one failed request
 *   train v3 (undertrained) → the gate refuses it: nothing is published
 *
 * Real here: the Docker Engine, a CNCF distribution registry with token auth (GHCR's flow), the
 * prediction servers, every action bundle. Stand-ins (named as such): GitHub's REST API, and
 * Traefik unless a `traefik` binary is on PATH or the engine holds a Traefik image.
 *
 * Flags: --example iris|pytorch (scripts/demo-examples.ts; iris by default), --keep (leave
 * registry, Traefik and servers running), --traefik=auto|standin|binary|image.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { failureMessage, runAction, type ActionRunOptions, type ActionRunResult } from '../test/support/action-runner';
import { DOCKER, docker } from '../test/support/docker-cli';
import { startGitHubApi, type GitHubApi } from '../test/support/github-api';
import { freePort, waitFor } from '../test/support/ports';
import { startRegistry, type TestRegistry } from '../test/support/registry';
import { ensureServerImage } from '../test/support/server-image';
import { startTraefikStandIn, traefikArgs } from '../test/support/traefik';
import { chooseExample, type DemoVersion } from './demo-examples';

const args = process.argv.slice(2);
const keep = args.includes('--keep');
const traefikChoice = (args.find((a) => a.startsWith('--traefik='))?.split('=')[1] ?? 'auto') as 'auto' | 'standin' | 'binary' | 'image';

const example = chooseExample(args);
const run = randomBytes(3).toString('hex');
const network = `tts-demo-${run}`;
const service = `${example.name}-${run}`;
const host = `${example.name}.demo.localhost`;
const owner = 'acme';
// The GitHub repository (the stand-in's default); images are named after the example.
const repo = 'iris';

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
const started = Date.now();

async function step<T>(title: string, fn: () => Promise<T>, describe: (value: T) => string = () => ''): Promise<T> {
  const t0 = Date.now();
  process.stdout.write(`${bold('▸')} ${title} … `);
  try {
    const value = await fn();
    process.stdout.write(`${seconds(Date.now() - t0)}\n`);
    const text = describe(value);
    if (text) console.log(text.replace(/^/gm, '    '));
    return value;
  } catch (error) {
    process.stdout.write(`failed after ${seconds(Date.now() - t0)}\n`);
    throw error;
  }
}

class StepFailed extends Error {}

/** Start an action's bundle like the runner; a failed step prints its message and log tail. */
async function action(name: string, options: ActionRunOptions, expectFailure = false): Promise<ActionRunResult> {
  const result = await runAction(name, { timeoutMs: 600_000, ...options });
  if ((result.exitCode === 0) === expectFailure) {
    const tail = result.log.split('\n').slice(-25).join('\n');
    throw new StepFailed(`${name} ${expectFailure ? 'passed but should have failed' : `failed: ${failureMessage(result) ?? `exit ${result.exitCode}`}`}\n${dim(tail)}`);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Traefik: the real one when this machine has it, the stand-in otherwise.

interface Proxy {
  kind: string;
  apiUrl: string;
  webUrl: string;
  stop(): Promise<void>;
}

async function startProxy(): Promise<Proxy> {
  const options = { network, constraints: `Label(\`train-to-serve.service\`, \`${service}\`)` };
  const binary = await commandExists('traefik');
  const image = binary ? undefined : await traefikImage();
  const choice = traefikChoice === 'auto' ? (binary ? 'binary' : image ? 'image' : 'standin') : traefikChoice;

  if (choice === 'binary') {
    const [web, api] = [await freePort(), await freePort()];
    const child = spawn('traefik', traefikArgs(options, { web: `127.0.0.1:${web}`, traefik: `127.0.0.1:${api}` }), { stdio: 'ignore', detached: keep });
    await waitForPing(`http://127.0.0.1:${api}`);
    return { kind: 'Traefik (binary on PATH)', apiUrl: `http://127.0.0.1:${api}`, webUrl: `http://127.0.0.1:${web}`, stop: () => Promise.resolve(stopChild(child)) };
  }
  if (choice === 'image') {
    if (!image) throw new Error('--traefik=image: the engine holds no Traefik image');
    const [web, api] = [await freePort(), await freePort()];
    const name = `tts-demo-traefik-${run}`;
    await docker([
      'run',
      '-d',
      '--name',
      name,
      '--network',
      network,
      '-v',
      '/var/run/docker.sock:/var/run/docker.sock:ro',
      '-p',
      `127.0.0.1:${web}:80`,
      '-p',
      `127.0.0.1:${api}:8080`,
      image,
      ...traefikArgs(options, { web: ':80', traefik: ':8080' }),
    ]);
    await waitForPing(`http://127.0.0.1:${api}`);
    return { kind: `Traefik (image ${image})`, apiUrl: `http://127.0.0.1:${api}`, webUrl: `http://127.0.0.1:${web}`, stop: async () => void (await docker(['rm', '-f', name]).catch(() => '')) };
  }
  const standIn = await startTraefikStandIn({ ...options, detached: keep });
  return { kind: 'Traefik stand-in (no traefik binary or image here; test/support/traefik follows docs/traefik.md)', apiUrl: standIn.apiUrl, webUrl: standIn.webUrl, stop: () => standIn.stop() };
}

function commandExists(command: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    child.on('exit', (code) => resolve(code === 0));
    child.on('error', () => resolve(false));
  });
}

async function traefikImage(): Promise<string | undefined> {
  const out = await docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}']).catch(() => '');
  return out.split('\n').find((ref) => /(^|\/)traefik:/.test(ref) && !ref.endsWith(':<none>'));
}

async function waitForPing(apiUrl: string): Promise<void> {
  await waitFor(`Traefik at ${apiUrl}/ping`, async () => (await fetch(`${apiUrl}/ping`)).ok, 30_000);
}

function stopChild(child: ChildProcess): void {
  if (child.exitCode === null) child.kill('SIGTERM');
}

/** One request through Traefik's web entry point with the router's Host. */
function send(webUrl: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(path, webUrl), { method: payload ? 'POST' : 'GET', headers: { host, ...(payload ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timed out')));
    req.end(payload);
  });
}

/** Requests sent back to back until stopped: how many, how many failed, which models answered. */
function loadLoop(webUrl: string) {
  let stopped = false;
  const counts = { sent: 0, failed: 0, byModel: new Map<string, number>() };
  const sample = { instances: [example.samples[0]!.values] };
  const loop = (async () => {
    while (!stopped) {
      counts.sent += 1;
      try {
        const response = await send(webUrl, '/predict', sample);
        if (response.status !== 200) counts.failed += 1;
        else {
          const model = String((JSON.parse(response.text) as { model?: { digest?: string } }).model?.digest ?? '?').slice(0, 19);
          counts.byModel.set(model, (counts.byModel.get(model) ?? 0) + 1);
        }
      } catch {
        counts.failed += 1;
      }
    }
  })();
  return {
    counts,
    async stop() {
      stopped = true;
      await loop;
      return counts;
    },
  };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  console.log(bold(`train-to-serve demo: the whole pipeline on this machine, example ${example.name} (${example.describeModel})`));
  const python = await commandExists('python3');
  if (!python) throw new StepFailed('python3 is missing: the example training script (examples/iris/train.py) needs it. Install it: apt-get install -y python3');
  const missing = example.missing();
  if (missing) throw new StepFailed(missing);

  const cleanups: (() => Promise<unknown>)[] = [];
  let registry: TestRegistry | undefined;
  let github: GitHubApi | undefined;
  const work = mkdtempSync(join(tmpdir(), 'tts-demo-'));
  cleanups.push(() => Promise.resolve(rmSync(work, { recursive: true, force: true })));
  try {
    const engine = await step(
      'Docker Engine',
      async () => JSON.parse(await docker(['version', '--format', '{{json .Server}}'])) as { Version: string; ApiVersion: string },
      (v) => `engine ${v.Version}, API ${v.ApiVersion} (client ${DOCKER})`,
    );
    void engine;

    registry = await step(
      'Registry (CNCF distribution, token auth like ghcr.io)',
      () => startRegistry({ auth: 'token', username: 'demo-bot' }),
      (r) => `http://${r.host}`,
    );
    cleanups.push(() => registry!.stop());

    const githubToken = `ghs_demo${randomBytes(12).toString('hex')}`;
    github = await step(
      'GitHub REST API (stand-in, checked against GitHub’s OpenAPI description)',
      () => startGitHubApi({ token: githubToken }),
      (g) => g.url,
    );
    cleanups.push(() => github!.stop());

    const baseImage = `${registry.host}/acme/prediction-server:1`;
    await step(
      'Reference prediction server image, pushed as the base image',
      async () => {
        const local = await ensureServerImage({ onnx: example.onnx });
        const config = join(work, 'docker-config');
        mkdirSync(config);
        await docker(['--config', config, 'login', '-u', registry!.username, '--password-stdin', registry!.host], { input: registry!.password });
        await docker(['tag', local, baseImage]);
        await docker(['--config', config, 'push', baseImage]);
        await docker(['rmi', baseImage]);
        return local;
      },
      (local) => `${baseImage} (built from ${local}: node + dist/server/index.mjs${example.onnx ? ' + ONNX Runtime (linux/x64 only)' : ''}, nothing pulled)`,
    );

    await docker(['network', 'create', '--label', `train-to-serve.demo=${run}`, network]);
    cleanups.push(() => docker(['network', 'rm', network]).catch(() => ''));
    const proxy = await step('Traefik', startProxy, (p) => `${p.kind}\nAPI ${p.apiUrl}, web ${p.webUrl}, network ${network}`);
    if (!keep) cleanups.push(() => proxy.stop());

    const registryAuth = { 'registry-username': registry.username, 'registry-password': registry.password };
    const image = `${registry.host}/${owner}/${example.name}`;
    const deployInputs = {
      service,
      rule: `Host(\`${host}\`)`,
      network,
      'traefik-api': proxy.apiUrl,
      'health-timeout': '3m',
      'drain-timeout': '60s',
      ...registryAuth,
    };
    if (!keep) {
      cleanups.push(async () => {
        const ids = (await docker(['ps', '-aq', '--filter', `label=train-to-serve.service=${service}`])).split('\n').filter(Boolean);
        if (ids.length) await docker(['rm', '-f', ...ids]);
        // The images deploy pulled from this run's registry, which is gone after the demo.
        const images = (await docker(['image', 'ls', '--format', '{{.Repository}} {{.ID}}']))
          .split('\n')
          .filter((line) => line.startsWith(`${registry!.host}/`))
          .map((line) => line.split(' ')[1]!);
        if (images.length) await docker(['rmi', '-f', ...new Set(images)]).catch(() => '');
      });
    }

    /** PR opened → train → gate → publish; merged → promote. Returns the promoted image, or undefined when the gate refused it. */
    const release = async (version: DemoVersion, expectGate: 'pass' | 'fail'): Promise<string | undefined> => {
      console.log(bold(`\n${version.label}: pull request #${version.pr} (${version.epochs} epochs)`));
      const headSha = randomBytes(20).toString('hex');
      github!.addPullRequest({ number: version.pr, headSha, headRef: `train-${version.label}` });
      const workspace = join(work, version.label);
      cpSync(example.dir, workspace, { recursive: true });
      const prEvent = {
        name: 'pull_request',
        payload: {
          action: 'synchronize',
          number: version.pr,
          pull_request: { number: version.pr, merged: false, head: { sha: headSha, ref: `train-${version.label}`, repo: { full_name: `${owner}/${repo}` } }, base: { ref: 'main', repo: { full_name: `${owner}/${repo}` } } },
          repository: { full_name: `${owner}/${repo}`, html_url: `https://github.com/${owner}/${repo}` },
        },
      };
      const env = { GITHUB_API_URL: github!.url, GITHUB_REPOSITORY: `${owner}/${repo}`, GITHUB_SHA: headSha, GITHUB_REF: `refs/pull/${version.pr}/merge`, SOURCE_DATE_EPOCH: '1764000000' };

      const trained = await step(
        `train   (gpus: none; a GPU runner sets gpus: all)`,
        () => action('train', { workspace, env, event: prEvent, inputs: { run: example.trainCommand(version.epochs), gpus: 'none' } }),
        (r) => {
          const m = JSON.parse(r.outputs.metrics ?? '{}') as Record<string, number>;
          return `accuracy ${m.accuracy}, loss ${m.loss}, in ${r.outputs['duration-seconds']} s; provenance in model/training.json`;
        },
      );
      void trained;

      const gate = await step(
        `gate    (rules against production’s recorded metrics)`,
        () =>
          action(
            'gate',
            {
              workspace,
              env,
              event: prEvent,
              inputs: {
                metrics: 'metrics.json',
                rules: example.rules.join('\n'),
                baseline: `${image}:production`,
                'github-token': githubToken,
                ...registryAuth,
              },
            },
            expectGate === 'fail',
          ),
        (r) => {
          const comment = github!.comments(version.pr).at(-1);
          const verdict = r.outputs.passed === 'true' ? 'passed' : `refused: ${failureMessage(r) ?? ''}`;
          const table = firstTable(r.outputs.report ?? '');
          return `${verdict}\n${table}\nsticky comment on PR #${version.pr}: ${comment ? `${comment.body.length} chars` : 'none'}; status train-to-serve/gate = ${github!.statuses(headSha).at(-1)?.state}`;
        },
      );
      if (gate.outputs.passed !== 'true') return undefined;

      await step(
        `publish (model appended to the base image at the registry, no daemon)`,
        () => action('publish', { workspace, env, event: prEvent, inputs: { 'model-path': 'model', 'base-image': baseImage, image, metrics: 'metrics.json', ...registryAuth } }),
        (r) => `${r.outputs.image}\ntags ${(r.outputs.tags ?? '').split('\n').filter(Boolean).join(', ')}`,
      );

      const mergeSha = randomBytes(20).toString('hex');
      github!.addPullRequest({ number: version.pr, headSha, headRef: `train-${version.label}`, merged: true, mergeCommitSha: mergeSha, state: 'closed' });
      const mergedEvent = { name: 'pull_request', payload: { ...prEvent.payload, action: 'closed', pull_request: { ...prEvent.payload.pull_request, merged: true, merge_commit_sha: mergeSha, state: 'closed' } } };
      const promoted = await step(
        `promote (PR merged: production → the digest the gate evaluated)`,
        () => action('promote', { workspace, env: { ...env, GITHUB_SHA: mergeSha, GITHUB_REF: 'refs/heads/main' }, event: mergedEvent, inputs: { image, 'github-token': githubToken, ...registryAuth } }),
        (r) => `${image}:production → ${r.outputs.digest}`,
      );
      return promoted.outputs.image;
    };

    const [first, second, undertrained] = example.versions;
    const v1 = await release(first, 'pass');
    await step(
      `deploy  v1 (new server joins Traefik once healthy)`,
      () => action('deploy', { inputs: { ...deployInputs, image: v1! } }),
      (r) => describeContainers(r),
    );
    await step(
      'predictions through Traefik',
      async () => {
        const lines: string[] = [];
        for (const { values: instance, expected } of example.samples) {
          const response = await send(proxy.webUrl, '/predict', { instances: [instance] });
          if (response.status !== 200) throw new StepFailed(`POST /predict answered ${response.status}: ${response.text}`);
          const body = JSON.parse(response.text) as { predictions: { class: string; probabilities: Record<string, number> }[]; model: { name: string; digest: string } };
          const [prediction] = body.predictions;
          const shown = instance.length > 8 ? `[${instance.slice(0, 6).join(',')},… ${instance.length} values]` : JSON.stringify(instance);
          lines.push(`POST /predict ${shown} → ${prediction!.class} (p=${prediction!.probabilities[prediction!.class]!.toFixed(3)}; expected ${expected}), model ${body.model.digest.slice(0, 19)}…`);
        }
        if (example.onnx) {
          const model = JSON.parse((await send(proxy.webUrl, '/model')).text) as { name: string };
          const infer = await send(proxy.webUrl, `/v2/models/${model.name}/infer`, { inputs: [{ name: 'image', shape: [1, 1, 8, 8], datatype: 'FP32', data: example.samples[1]!.values }] });
          if (infer.status !== 200) throw new StepFailed(`POST /v2/models/${model.name}/infer answered ${infer.status}: ${infer.text}`);
          const output = (JSON.parse(infer.text) as { outputs: { name: string; shape: number[] }[] }).outputs[0]!;
          lines.push(`POST /v2/models/${model.name}/infer (Open Inference Protocol, image FP32 [1,1,8,8]) → ${output.name} [${output.shape.join(',')}]`);
        }
        const container = (await docker(['ps', '-q', '--filter', `label=train-to-serve.service=${service}`])).split('\n')[0]!;
        const logLine = (await docker(['logs', '--tail', '1', container])).trim();
        lines.push(`prediction log (one JSON line per prediction on the server's stdout):\n  ${logLine.slice(0, 300)}`);
        return lines.join('\n');
      },
      (text) => text,
    );

    const v2 = await release(second, 'pass');
    const load = loadLoop(proxy.webUrl);
    await step(
      `deploy  v2 beside v1 (strategy: add, the seed’s horizontal mode)`,
      () => action('deploy', { inputs: { ...deployInputs, image: v2!, strategy: 'add' } }),
      (r) => describeContainers(r),
    );
    await step(
      'retire  (v1 expired: drained, then removed; v2 is the newest healthy and stays)',
      () => action('retire', { inputs: { service, 'max-age': '1s', 'traefik-api': proxy.apiUrl, 'drain-timeout': '60s', 'prune-images': 'true' } }),
      (r) => {
        const retired = JSON.parse(r.outputs.retired ?? '[]') as unknown[];
        const kept = JSON.parse(r.outputs.kept ?? '[]') as unknown[];
        return `retired ${retired.length}, kept ${kept.length}`;
      },
    );
    const counts = await load.stop();
    console.log(`    requests during deploy v2 + retire v1: ${counts.sent}, failed: ${counts.failed}; answered by ${[...counts.byModel].map(([m, n]) => `${m}… ×${n}`).join(', ')}`);
    if (counts.failed > 0) throw new StepFailed(`${counts.failed} requests failed while servers were added and retired`);

    await release(undertrained, 'fail');
    console.log('    nothing published: production still serves v2');

    console.log(bold(`\nDone in ${seconds(Date.now() - started)}.`));
    if (keep) {
      console.log(`Left running (--keep): registry http://${registry.host}, Traefik API ${proxy.apiUrl}, web ${proxy.webUrl} (Host: ${host}), containers labelled train-to-serve.service=${service}, network ${network}.`);
      console.log(`Try: curl -H 'Host: ${host}' -d '${JSON.stringify({ instances: [example.samples[0]!.values] })}' ${proxy.webUrl}/predict`);
      cleanups.length = 0;
    }
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}

/** The rules table of the gate's report (the first markdown table in it). */
function firstTable(markdown: string): string {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => line.startsWith('|'));
  if (start < 0) return '';
  const end = lines.findIndex((line, i) => i > start && !line.startsWith('|'));
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

function describeContainers(result: ActionRunResult): string {
  const containers = JSON.parse(result.outputs.containers ?? '[]') as { name?: string; url?: string }[];
  const removed = JSON.parse(result.outputs.removed ?? '[]') as unknown[];
  return `${containers.map((c) => `${c.name ?? '?'} ${c.url ?? ''}`.trim()).join('\n')}${removed.length ? `\nremoved ${removed.length}` : ''}`;
}

main().catch((error: unknown) => {
  console.error(`\n${bold('demo failed:')} ${error instanceof Error ? error.message : String(error)}`);
  if (!(error instanceof StepFailed) && error instanceof Error && error.stack) console.error(dim(error.stack));
  process.exitCode = 1;
});
