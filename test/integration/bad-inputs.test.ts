import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureMessage, repoRoot, runAction, type ActionRunResult } from '../support/action-runner';
import { registryApi } from '../support/base-images';
import { docker } from '../support/docker-cli';
import { startGitHubApi, type GitHubApi } from '../support/github-api';
import { startRegistry, type TestRegistry } from '../support/registry';

/**
 * The bad-input catalogue (issue 10): one table, every action and the reference server, each
 * started the way the runner starts it (the committed bundles). Every row must fail with exit
 * code 1, ONE line naming the input (or setting), and leave everything as it was: no tag in the
 * registry, no container, no comment or status written, the training command never run.
 */
const run = randomBytes(3).toString('hex');
const service = `ttsbad${run}`;
const network = `tts-bad-${run}`;
const TOKEN = `ghs_badinputs${run}`;
const PR = 1;
let registry: TestRegistry;
let api: GitHubApi;
let ws: string;
let writesBefore = 0;

type Action = 'train' | 'gate' | 'publish' | 'promote' | 'deploy' | 'retire' | 'server';
type Row = [Action, string, () => Record<string, string>, RegExp];

const digest = `sha256:${'c'.repeat(64)}`;
const img = () => `${registry.host}/acme/bad-${run}`;
const long = (n: number) => 'x'.repeat(n);

/** The inputs each action is given when a row changes nothing: each must be valid on its own. */
const good: Record<Exclude<Action, 'server'>, () => Record<string, string>> = {
  train: () => ({ run: 'touch ran' }),
  gate: () => ({ metrics: 'metrics.json', rules: 'accuracy >= 0.5', comment: 'true', status: 'true' }),
  publish: () => ({ 'model-path': 'model', 'base-image': `${registry.host}/base/none:1`, image: img(), tags: 'candidate' }),
  promote: () => ({ image: img(), source: 'candidate', targets: 'production', 'require-gate': 'false' }),
  deploy: () => ({ image: `${img()}@${digest}`, service, rule: 'Host(`iris.test`)', network, 'health-timeout': '30s' }),
  retire: () => ({ service }),
};

/** deploy's inputs for a canary on routing: file (valid, and never reached: each row breaks one). */
const canary = () => ({ strategy: 'canary', routing: 'file', 'routing-dir': '/srv/traefik/dynamic', 'traefik-api': 'http://127.0.0.1:9' });

const rows: Row[] = [
  // train
  ['train', 'no run command', () => ({ run: '' }), /^Input "run": is required/],
  ['train', 'a zero timeout', () => ({ 'timeout-minutes': '0' }), /^Input "timeout-minutes": /],
  ['train', 'a negative timeout', () => ({ 'timeout-minutes': '-5' }), /^Input "timeout-minutes": /],
  ['train', 'a timeout that is a word', () => ({ 'timeout-minutes': 'soon' }), /^Input "timeout-minutes": /],
  ['train', 'a telemetry interval below 0.1 s', () => ({ 'telemetry-interval': '0.01' }), /^Input "telemetry-interval": /],
  ['train', 'a telemetry interval that is a word', () => ({ 'telemetry-interval': 'often' }), /^Input "telemetry-interval": /],
  ['train', 'a missing working directory', () => ({ 'working-directory': 'nowhere' }), /^Input "working-directory": "[^"]*\/nowhere" does not exist$/],
  ['train', 'a working directory that is a file', () => ({ 'working-directory': 'metrics.json' }), /^Input "working-directory": "[^"]*\/metrics\.json" is not a folder$/],
  ['train', 'a cache key without a path', () => ({ 'cache-key': 'k1' }), /^Input "cache-path": is required when cache-key is given$/],
  ['train', 'a cache path without a key', () => ({ 'cache-path': 'data' }), /^Input "cache-key": is required when cache-path is given$/],
  ['train', 'a cache key with a comma', () => ({ 'cache-path': 'data', 'cache-key': 'a,b' }), /^Input "cache-key": cannot contain commas/],
  ['train', 'a cache key with whitespace', () => ({ 'cache-path': 'data', 'cache-key': 'a b' }), /^Input "cache-key": cannot contain whitespace/],
  ['train', 'a cache key of 513 characters', () => ({ 'cache-path': 'data', 'cache-key': long(513) }), /^Input "cache-key": is 513 characters, the cache service allows 512$/],
  ['train', 'an env line without =', () => ({ env: 'NOEQUALS' }), /^Input "env": line 1: expected KEY=VALUE/],
  ['train', 'an env key given twice', () => ({ env: 'A=1\nA=2' }), /^Input "env": line 2: key "A" is given twice$/],
  ['train', 'a malformed container image', () => ({ 'container-image': 'Not An Image' }), /^Input "container-image": /],
  ['train', 'a model path outside the workspace with container-image', () => ({ 'container-image': 'localhost/none:1', 'model-path': '/etc' }), /^Input "model-path": must be inside the workspace/],
  // gate
  ['gate', 'no metrics input', () => ({ metrics: '' }), /^Input "metrics": is required/],
  ['gate', 'no rules', () => ({ rules: '' }), /^Input "rules": is required/],
  ['gate', 'only comments in rules', () => ({ rules: '# nothing here' }), /^Input "rules": holds no rules/],
  ['gate', 'a rule without an operator', () => ({ rules: 'accuracy 0.9' }), /^Input "rules": line 1 "accuracy 0\.9": /],
  ['gate', 'a rule with an unknown operator', () => ({ rules: 'accuracy => 0.9' }), /^Input "rules": line 1 /],
  ['gate', 'a rule with a non-finite threshold', () => ({ rules: 'accuracy >= Infinity' }), /^Input "rules": line 1 /],
  ['gate', 'a rule with a word for a threshold', () => ({ rules: 'accuracy >= high' }), /^Input "rules": line 1 /],
  ['gate', 'a bad second rule', () => ({ rules: 'accuracy >= 0.5\nloss <<= 2' }), /^Input "rules": line 2 /],
  ['gate', 'a missing metrics file', () => ({ metrics: 'nope.json' }), /^Input "metrics": Metrics file "nope\.json": does not exist$/],
  ['gate', 'an empty metrics file', () => ({ metrics: 'empty.json' }), /^Input "metrics": Metrics file "empty\.json": /],
  ['gate', 'a metrics file that is a folder', () => ({ metrics: 'folder.json' }), /^Input "metrics": Metrics file "folder\.json": /],
  ['gate', 'a metrics file that is not JSON or YAML', () => ({ metrics: 'broken.json' }), /^Input "metrics": Metrics file "broken\.json": /],
  ['gate', 'a metrics file that is a list', () => ({ metrics: 'list.json' }), /^Input "metrics": Metrics file "list\.json": /],
  ['gate', 'a metric that is NaN', () => ({ metrics: 'nan.yaml' }), /^Input "metrics": Metrics file "nan\.yaml": /],
  ['gate', 'a huge metrics file', () => ({ metrics: 'huge.json' }), /^Input "metrics": Metrics file "huge\.json": /],
  ['gate', 'a bad on-missing-baseline', () => ({ 'on-missing-baseline': 'ignore' }), /^Input "on-missing-baseline": expected one of pass, fail, got "ignore"$/],
  ['gate', 'comment that is not a boolean', () => ({ comment: 'yes please' }), /^Input "comment": expected true or false/],
  ['gate', 'status that is not a boolean', () => ({ status: 'maybe' }), /^Input "status": expected true or false/],
  ['gate', 'fail-on-violation that is not a boolean', () => ({ 'fail-on-violation': '2' }), /^Input "fail-on-violation": expected true or false/],
  ['gate', 'a baseline that is neither file nor image', () => ({ rules: 'accuracy >= baseline', baseline: 'prod-metrics.json' }), /^Input "baseline": file "prod-metrics\.json" does not exist, and it is not an image reference/],
  ['gate', 'a baseline image without credentials', () => ({ rules: 'accuracy >= baseline', baseline: '127.0.0.1:9/acme/iris:prod' }), /^(Input "baseline"|Registry 127\.0\.0\.1:9)/],
  ['gate', 'a registry password without a user', () => ({ 'registry-password': 'pw' }), /^Input "registry-username": registry-username and registry-password go together/],
  ['gate', 'a registry user without a password', () => ({ 'registry-username': 'ci' }), /^Input "registry-password": registry-username and registry-password go together/],
  // publish
  ['publish', 'no model-path', () => ({ 'model-path': '' }), /^Input "model-path": is required$/],
  ['publish', 'no image', () => ({ image: '' }), /^Input "image": is required$/],
  ['publish', 'no base-image', () => ({ 'base-image': '' }), /^Input "base-image": is required$/],
  ['publish', 'a model-path that does not exist', () => ({ 'model-path': 'nowhere' }), /^Input "model-path": "nowhere" does not exist$/],
  ['publish', 'a model-path that is an empty file', () => ({ 'model-path': 'empty.json' }), /^Input "model-path": "empty\.json" is an empty file$/],
  ['publish', 'a symlink out of the model', () => ({ 'model-path': 'escaping' }), /^Input "model-path": "passwd" is a symlink to "\.\.\/\.\.\/etc\/passwd", outside the model directory$/],
  ['publish', 'an upper-case image', () => ({ image: `${registry.host}/Acme/Iris` }), /^Input "image": .* repository names must be lower-case/],
  ['publish', 'an image with a tag', () => ({ image: `${img()}:v1` }), /^Input "image": .*without a tag/],
  ['publish', 'an image that is a URL', () => ({ image: `https://${img()}` }), /^Input "image": .*URL scheme/],
  ['publish', 'an image with spaces', () => ({ image: 'acme iris' }), /^Input "image": /],
  ['publish', 'an image of 300 characters', () => ({ image: `${registry.host}/${long(300)}` }), /^Input "image": /],
  ['publish', 'a base-image with a short digest', () => ({ 'base-image': `${registry.host}/base/none@sha256:abc` }), /^Input "base-image": .*not sha256: followed by 64/],
  ['publish', 'a tag starting with a dash', () => ({ tags: '-bad' }), /^Input "tags": "-bad" is not a valid tag/],
  ['publish', 'a tag of 129 characters', () => ({ tags: long(129) }), /^Input "tags": /],
  ['publish', 'a relative model-dir', () => ({ 'model-dir': 'model' }), /^Input "model-dir": must be an absolute path/],
  ['publish', 'a model-dir with ..', () => ({ 'model-dir': '/model/../etc' }), /^Input "model-dir": /],
  ['publish', 'a platform without an architecture', () => ({ platform: 'linux' }), /^Input "platform": expected os\/architecture/],
  ['publish', 'a label line without =', () => ({ labels: 'no-equals' }), /^Input "labels": line 1: expected KEY=VALUE/],
  ['publish', 'an annotation given twice', () => ({ annotations: 'a=1\na=2' }), /^Input "annotations": line 2: key "a" is given twice$/],
  ['publish', 'a metrics file that is not JSON', () => ({ metrics: 'broken.json' }), /^Input "metrics": Metrics file "broken\.json": /],
  ['publish', 'a registry password without a user', () => ({ 'registry-password': 'pw' }), /^Input "registry-username": registry-username and registry-password go together/],
  // promote
  ['promote', 'no image', () => ({ image: '' }), /^Input "image": is required$/],
  ['promote', 'an image with a digest', () => ({ image: `${img()}@${digest}` }), /^Input "image": /],
  ['promote', 'a source that is not a tag', () => ({ source: 'not a tag' }), /^Input "source": expected a tag \(like pr-12\) or a digest/],
  ['promote', 'a source digest that is too short', () => ({ source: 'sha256:abc' }), /^Input "source": expected a tag/],
  ['promote', 'a source tag that does not exist', () => ({ source: 'pr-99999' }), /^Input "source": .* has no tag "pr-99999"$/],
  ['promote', 'a bad target tag', () => ({ targets: 'production,:bad' }), /^Input "targets": ":bad" is not a valid tag/],
  ['promote', 'require-gate that is not a boolean', () => ({ 'require-gate': 'sometimes' }), /^Input "require-gate": expected true or false/],
  ['promote', 'no source on a pull request that is not merged', () => ({ source: '' }), /^Input "source": not given, and pull request #1 is not merged/],
  ['promote', 'a registry user without a password', () => ({ 'registry-username': 'ci' }), /^Input "registry-password": registry-username and registry-password go together/],
  // deploy
  ['deploy', 'an unknown network', () => ({ network: `tts-no-such-network-${run}` }), /^Input "network": no Docker network "tts-no-such-network-\w+" on the engine/],
  ['deploy', 'an invalid service name', () => ({ service: 'Iris_Model' }), /^Input "service": must be a DNS label .*, got "Iris_Model"$/],
  ['deploy', 'an invalid rule', () => ({ rule: 'Host(`iris.test`' }), /^Input "rule": invalid Traefik rule "Host\(`iris.test`": expected \) at the end$/],
  ['deploy', 'an unknown matcher', () => ({ rule: 'Hostname(`iris.test`)' }), /^Input "rule": invalid Traefik rule .*unknown matcher Hostname/],
  ['deploy', 'a ttl without a unit', () => ({ ttl: '7' }), /^Input "ttl": expected a duration like 90s, 15m, 36h or 7d, got "7"$/],
  ['deploy', 'a health probe interval under a second', () => ({ 'health-interval': '200ms' }), /^Input "health-interval": must be between 1s and 10m, got "200ms"$/],
  ['deploy', 'a bad health-timeout', () => ({ 'health-timeout': 'soon' }), /^Input "health-timeout": expected a duration/],
  ['deploy', 'a negative drain-timeout', () => ({ 'drain-timeout': '-5s' }), /^Input "drain-timeout": expected a duration/],
  ['deploy', 'a port out of range', () => ({ port: '65536' }), /^Input "port": must be at most 65535, got 65536$/],
  ['deploy', 'a port that is a word', () => ({ port: 'http' }), /^Input "port": expected a whole number/],
  ['deploy', 'zero replicas', () => ({ replicas: '0' }), /^Input "replicas": must be at least 1/],
  ['deploy', 'an unknown strategy', () => ({ strategy: 'yolo' }), /^Input "strategy": expected one of/],
  ['deploy', 'an uncatchable drain signal', () => ({ 'drain-signal': 'SIGKILL' }), /^Input "drain-signal": SIGKILL cannot be caught/],
  ['deploy', 'an env line without =', () => ({ env: 'JUSTAKEY' }), /^Input "env": line 1: expected KEY=VALUE/],
  ['deploy', 'an env key that is not a name', () => ({ env: '1BAD=x' }), /^Input "env": line 1/],
  ['deploy', 'an unknown engine', () => ({ engine: 'kubernetes' }), /^Input "engine": expected one of docker, swarm, got "kubernetes"$/],
  ['deploy', 'GPUs with engine swarm', () => ({ engine: 'swarm', gpus: 'all' }), /^Input "gpus": engine swarm cannot give GPUs to a service/],
  ['deploy', 'a malformed image reference', () => ({ image: 'ghcr.io/Acme/Iris:latest' }), /^Input "image": "ghcr\.io\/Acme\/Iris:latest" is not a valid image reference: repository names must be lower-case/],
  ['deploy', 'a registry password without a user', () => ({ 'registry-password': 'pw' }), /^Input "registry-username": registry-username and registry-password go together/],
  ['deploy', 'an engine that is not reachable', () => ({ 'docker-host': 'tcp://127.0.0.1:9' }), /^Docker Engine at http:\/\/127\.0\.0\.1:9: not reachable/],
  ['deploy', 'a Traefik API that is not reachable', () => ({ 'traefik-api': 'http://127.0.0.1:9' }), /^Traefik API at http:\/\/127\.0\.0\.1:9: not reachable/],
  ['deploy', 'a command that is not an array of strings', () => ({ command: '["tritonserver", 1]' }), /^Input "command": expected a non-empty JSON array of strings/],
  ['deploy', 'args that need a shell', () => ({ args: 'serve --port $PORT' }), /^Input "args": "\$" outside quotes: no shell runs this line/],
  ['deploy', 'a shm-size without a number', () => ({ 'shm-size': 'big' }), /^Input "shm-size": expected a size like 512m or 2g/],
  ['deploy', 'a memory limit below 6m', () => ({ memory: '1m' }), /^Input "memory": must be at least 6m, got "1m"$/],
  ['deploy', 'cpus that is a word', () => ({ cpus: 'half' }), /^Input "cpus": expected a number of CPUs like 1\.5/],
  ['deploy', 'more cpus than the engine has', () => ({ cpus: '1000' }), /^Input "cpus": the Docker Engine at .* has \d+ CPUs, fewer than the 1000 asked for$/],
  ['deploy', 'an unknown ulimit', () => ({ ulimits: 'files=1024' }), /^Input "ulimits": unknown limit "files"/],
  ['deploy', 'a metrics port out of range', () => ({ 'metrics-port': '70000' }), /^Input "metrics-port": must be at most 65535, got 70000$/],
  ['deploy', 'a metrics path without /', () => ({ 'metrics-path': 'metrics' }), /^Input "metrics-path": expected a URL path starting with \//],
  [
    'deploy',
    'an analysis-interval longer than the step',
    () => ({ ...canary(), 'step-duration': '10s', 'analysis-interval': '20s' }),
    /^Input "analysis-interval": "20s" is longer than step-duration \(10s\): a window cannot outlast the hold it judges$/,
  ],
  [
    'deploy',
    'an analysis-interval that does not divide the step',
    () => ({ ...canary(), 'step-duration': '1m', 'analysis-interval': '25s' }),
    /^Input "analysis-interval": "25s" does not cut step-duration \(1m\) into whole windows; 20s does$/,
  ],
  ['deploy', 'a negative failure-limit', () => ({ ...canary(), 'failure-limit': '-1' }), /^Input "failure-limit": must be at least 0, got -1$/],
  ['deploy', 'a request metric that is not a metric name', () => ({ 'request-metric': 'requests-total' }), /^Input "request-metric": expected a Prometheus metric name/],
  // retire
  ['retire', 'a negative keep', () => ({ keep: '-1' }), /^Input "keep": must be at least 0, got -1$/],
  ['retire', 'a bad max-age', () => ({ 'max-age': 'old' }), /^Input "max-age": expected a duration/],
  ['retire', 'a zero in-use-window', () => ({ 'in-use-window': '0s' }), /^Input "in-use-window": duration must be greater than zero/],
  ['retire', 'a dry-run that is not a boolean', () => ({ 'dry-run': 'maybe' }), /^Input "dry-run": expected true or false/],
  ['retire', 'an invalid service', () => ({ service: 'Not A Name' }), /^Input "service": must be a DNS label/],
  ['retire', 'an unknown engine', () => ({ engine: 'nomad' }), /^Input "engine": expected one of/],
  ['retire', 'an engine that is not reachable', () => ({ 'docker-host': 'tcp://127.0.0.1:9' }), /^Docker Engine at http:\/\/127\.0\.0\.1:9: not reachable/],
  // the reference server (its settings are environment variables)
  ['server', 'a port that is a word', () => ({ PORT: 'http' }), /configuration: PORT: expected a whole number, got "http"/],
  ['server', 'a port out of range', () => ({ PORT: '70000' }), /configuration: PORT: expected 0 to 65535, got 70000/],
  ['server', 'a body limit below 64 bytes', () => ({ MAX_BODY_BYTES: '10' }), /configuration: MAX_BODY_BYTES: expected 64 to/],
  ['server', 'a batch size of zero', () => ({ MAX_BATCH_SIZE: '0' }), /configuration: MAX_BATCH_SIZE: expected 1 to/],
  ['server', 'a negative shutdown timeout', () => ({ SHUTDOWN_TIMEOUT_SECONDS: '-1' }), /configuration: SHUTDOWN_TIMEOUT_SECONDS: expected a whole number/],
  ['server', 'an unknown prediction log', () => ({ PREDICTION_LOG: 'file' }), /configuration: PREDICTION_LOG: expected "stdout" or "off"/],
];

function runServer(env: Record<string, string>): Promise<{ exitCode: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'dist/server/index.mjs')], { env: { PATH: process.env.PATH, MODEL_DIR: join(ws, 'no-model'), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      resolve({ exitCode, output });
    });
  });
}

const WRITES = new Set(['issues/create-comment', 'issues/update-comment', 'issues/delete-comment', 'repos/create-commit-status']);

beforeAll(async () => {
  registry = await startRegistry();
  api = await startGitHubApi({ token: TOKEN });
  api.addPullRequest({ number: PR, headSha: 'a'.repeat(40) });
  api.addComment({ issueNumber: PR, body: '<!-- train-to-serve:sticky-comment key=release%2Fmodel -->\nthe gate’s own earlier comment', login: 'github-actions[bot]' });
  writesBefore = api.requests.filter((r) => WRITES.has(r.operationId ?? '')).length;
  await docker(['network', 'create', network]);
  ws = mkdtempSync(join(tmpdir(), 'tts-bad-ws-'));
  const files: Record<string, string> = {
    'metrics.json': '{"accuracy": 0.9}',
    'empty.json': '',
    'broken.json': '{"accuracy": ',
    'list.json': '[1, 2, 3]',
    'nan.yaml': 'accuracy: .nan\n',
    'huge.json': `{"accuracy": 0.9, "padding": "${long(80 * 1024 * 1024)}"}`,
    'model/model.json': '{"w": 1}',
    'escaping/model.json': '{"w": 1}',
  };
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(ws, name, '..'), { recursive: true });
    writeFileSync(join(ws, name), text);
  }
  mkdirSync(join(ws, 'folder.json'));
  mkdirSync(join(ws, 'data'));
  symlinkSync('../../etc/passwd', join(ws, 'escaping', 'passwd'));
}, 120_000);

afterAll(async () => {
  await docker(['network', 'rm', network]).catch(() => {});
  await api?.stop();
  await registry?.stop();
  if (ws) rmSync(ws, { recursive: true, force: true });
});

async function nothingChanged(action: Action): Promise<void> {
  expect(existsSync(join(ws, 'ran')), 'the training command ran').toBe(false);
  expect(api.requests.filter((r) => WRITES.has(r.operationId ?? '')).length, 'a comment or status was written').toBe(writesBefore);
  expect(api.comments(PR).map((c) => c.body)).toEqual(['<!-- train-to-serve:sticky-comment key=release%2Fmodel -->\nthe gate’s own earlier comment']);
  expect(await registryApi(registry).tags(`acme/bad-${run}`), 'a tag was pushed').toEqual([]);
  if (action === 'deploy' || action === 'retire') {
    const byLabel = await docker(['ps', '-aq', '--filter', `label=train-to-serve.service=${service}`]);
    const byName = await docker(['ps', '-aq', '--filter', `name=${service}`]);
    expect(byLabel.trim() + byName.trim(), 'a container was created').toBe('');
  }
}

describe(`the bad-input catalogue: ${rows.length} cases across train, gate, publish, promote, deploy, retire and the server`, () => {
  it('holds at least 80 cases, and some for every action and the server', () => {
    expect(rows.length).toBeGreaterThanOrEqual(80);
    for (const action of ['train', 'gate', 'publish', 'promote', 'deploy', 'retire', 'server'])
      expect(
        rows.some((r) => r[0] === action),
        action,
      ).toBe(true);
  });

  it.concurrent.each(rows)('%s: %s', async (action, _name, changes, message) => {
    let exitCode: number | null;
    let line: string | undefined;
    if (action === 'server') {
      const result = await runServer(changes());
      exitCode = result.exitCode;
      const lines = result.output.trim().split('\n');
      expect(lines, result.output).toHaveLength(1);
      // The server logs JSON lines: the one line is an error event whose message names the setting.
      const event = JSON.parse(lines[0]!) as { event?: string; message?: string };
      expect(event.event).toBe('error');
      line = event.message;
    } else {
      const result: ActionRunResult = await runAction(action, {
        inputs: { ...good[action](), ...changes() },
        workspace: ws,
        token: TOKEN,
        event: { name: 'pull_request', payload: { pull_request: { number: PR, head: { sha: 'a'.repeat(40) }, base: {} } } },
        env: { GITHUB_API_URL: api.url, DOCKER_CONFIG: join(ws, 'no-docker-config') },
      });
      exitCode = result.exitCode;
      line = failureMessage(result);
      expect(
        result.annotations.filter((a) => a.level === 'error'),
        result.log,
      ).toHaveLength(1);
    }
    expect(exitCode).toBe(1);
    expect(line).toMatch(message);
    expect(line).not.toMatch(/[\r\n]/);
    await nothingChanged(action);
  });
});
