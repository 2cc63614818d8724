import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readImageLabels } from '../../src/image/metadata';
import { failureMessage, runAction, type ActionRunResult } from '../support/action-runner';
import { pushLocalImage } from '../support/base-images';
import { docker } from '../support/docker-cli';
import { startGitHubApi, type GitHubApi } from '../support/github-api';
import { startRegistry, type TestRegistry } from '../support/registry';
import { ensureServerImage, irisModel } from '../support/server-image';

/**
 * Issue 10, "Done when": no token or password appears in any log, output, annotation, summary,
 * comment, status, label or file the actions write. Every action runs (through its bundle) with
 * recognisable secrets: the registry password, the job token, and env values; then all of it is
 * grepped for them.
 */
const run = randomBytes(3).toString('hex');
const SECRETS = {
  registryPassword: `TTS-SECRET-REGISTRY-${run}`,
  jobToken: `ghs_TTSSECRETJOBTOKEN${run}`,
  trainEnv: `TTS-SECRET-TRAIN-ENV-${run}`,
  deployEnv: `TTS-SECRET-DEPLOY-ENV-${run}`,
};
const encodings = (secret: string) => [secret, Buffer.from(secret).toString('base64'), encodeURIComponent(secret)];

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const info = statSync(path, { throwIfNoEntry: false });
    return !info ? [] : info.isDirectory() ? filesUnder(path) : [path];
  });
}

describe('no secret leaks from any action', () => {
  let registry: TestRegistry;
  let api: GitHubApi;
  let ws: string;
  let base: string;
  const network = `tts-secrets-${run}`;
  const service = `ttssecret${run}`;
  const results: [string, ActionRunResult][] = [];

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'basic', password: SECRETS.registryPassword });
    api = await startGitHubApi({ token: SECRETS.jobToken });
    api.addPullRequest({ number: 3, headSha: 'd'.repeat(40) });
    base = await pushLocalImage(registry, await ensureServerImage(), `${registry.host}/base/server-${run}:1`);
    await docker(['network', 'create', network]);
    ws = mkdtempSync(join(tmpdir(), 'tts-secrets-ws-'));
  }, 300_000);
  afterAll(async () => {
    const ids = (await docker(['ps', '-aq', '--filter', `label=train-to-serve.service=${service}`])).split('\n').filter(Boolean);
    if (ids.length) await docker(['rm', '-f', ...ids]).catch(() => {});
    await docker(['network', 'rm', network]).catch(() => {});
    await api?.stop();
    await registry?.stop();
    if (ws) rmSync(ws, { recursive: true, force: true });
  });

  it('runs train, publish, gate, promote, deploy and retire, and finds no secret anywhere they wrote', async () => {
    const creds = { 'registry-username': registry.username, 'registry-password': SECRETS.registryPassword };
    const event = { name: 'pull_request', payload: { pull_request: { number: 3, head: { sha: 'd'.repeat(40) }, base: {} } } };
    const options = { workspace: ws, token: SECRETS.jobToken, event, env: { GITHUB_API_URL: api.url, DOCKER_CONFIG: join(ws, '.no-docker-config') } };
    const image = `${registry.host}/acme/iris-secrets-${run}`;
    const step = async (name: string, action: string, inputs: Record<string, string>, mustPass = true) => {
      const result = await runAction(action, { ...options, inputs, timeoutMs: 240_000 });
      results.push([name, result]);
      if (mustPass) expect(failureMessage(result), `${name}: ${result.log}`).toBeUndefined();
      return result;
    };

    writeFileSync(join(ws, 'model.json'), JSON.stringify(irisModel()));
    await step('train', 'train', {
      run: 'mkdir -p out && cp model.json out/model.json && printf \'{"accuracy": 0.95}\' > out/metrics.json && test -n "$API_KEY"',
      'model-path': 'out',
      'metrics-file': 'out/metrics.json',
      gpus: 'none',
      env: `API_KEY=${SECRETS.trainEnv}\nDEBUG=1`,
    });
    const published = await step('publish', 'publish', { 'model-path': 'out/model.json', 'base-image': base, image, tags: 'pr-3', metrics: 'out/metrics.json', ...creds });
    await step('gate', 'gate', { metrics: 'out/metrics.json', rules: 'accuracy >= baseline - 0.01', baseline: `${image}:pr-3`, ...creds });
    await step('promote', 'promote', { image, source: 'pr-3', targets: 'production', 'require-gate': 'false', ...creds });
    // deploy's health on a loaded shared engine is deploy's own test's business: its logs are grepped either way.
    await step('deploy', 'deploy', { image: published.outputs.image!, service, rule: `Host(\`${service}.test\`)`, network, 'health-timeout': '90s', env: `API_KEY=${SECRETS.deployEnv}`, ...creds }, false);
    await step('retire', 'retire', { service, 'dry-run': 'true' });

    const places: [string, string][] = [];
    for (const [name, result] of results) {
      places.push([`${name} log`, result.log], [`${name} summary`, result.summary], [`${name} outputs`, JSON.stringify(result.outputs)], [`${name} annotations`, JSON.stringify(result.annotations)]);
    }
    for (const file of filesUnder(ws)) if (!file.endsWith('model.json') || file.includes('out')) places.push([`file ${file}`, readFileSync(file, 'latin1')]);
    for (const comment of api.comments(3)) places.push([`comment ${comment.id}`, comment.body]);
    for (const status of api.statuses('d'.repeat(40))) places.push([`status ${status.id}`, JSON.stringify(status)]);
    const labels = await readImageLabels(`${image}:production`, { credentials: { username: registry.username, password: SECRETS.registryPassword } });
    places.push(['image labels', JSON.stringify(labels)]);
    const containers = (await docker(['ps', '-aq', '--filter', `label=train-to-serve.service=${service}`])).split('\n').filter(Boolean);
    for (const id of containers) places.push([`container ${id} labels`, await docker(['inspect', '--format', '{{json .Config.Labels}}', id])]);

    expect(api.comments(3).length, 'gate wrote its comment').toBe(1);
    expect(places.length).toBeGreaterThan(25);
    const leaks = places.flatMap(([where, text]) => Object.entries(SECRETS).flatMap(([what, secret]) => (encodings(secret).some((form) => text.includes(form)) ? [`${what} in ${where}`] : [])));
    expect(leaks).toEqual([]);
  }, 900_000);
});
