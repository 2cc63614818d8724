import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureMessage, runAction } from '../support/action-runner';
import { pushLocalImage } from '../support/base-images';
import { docker } from '../support/docker-cli';
import { startRegistry, type TestRegistry } from '../support/registry';
import { ensureServerImage, irisModel } from '../support/server-image';

/**
 * Issue 10, defect 2: credentials go only to the registry they are for. The job token goes to
 * the GitHub container registry only; every other registry gets what the user gave for it:
 * registry-username/password, or what `docker login` left (config.json `auths`, or a credential
 * helper on PATH), so a workflow that ran docker/login-action first needs no credential inputs.
 */
const run = randomBytes(3).toString('hex');
const JOB_TOKEN = `ghs_jobtoken${run}0123456789abcdef`;

describe('the job token never goes to a registry that is not GitHub’s', () => {
  let server: Server;
  let host = '';
  const authorizations: string[] = [];
  beforeAll(async () => {
    // A registry that asks for basic credentials on every request and records what it is sent.
    server = createServer((req, res) => {
      if (req.headers.authorization) authorizations.push(req.headers.authorization);
      res.writeHead(401, { 'www-authenticate': 'Basic realm="not-github"', 'docker-distribution-api-version': 'registry/2.0', 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const env = () => ({ DOCKER_CONFIG: mkdtempSync(join(tmpdir(), 'tts-empty-docker-config-')) });
  const sentTheToken = () =>
    authorizations.some(
      (header) =>
        header.includes(JOB_TOKEN) ||
        Buffer.from(header.replace(/^Basic /, ''), 'base64')
          .toString()
          .includes(JOB_TOKEN),
    );

  // These failed before the fix: registry-password defaulted to the job token and went to any registry.
  it.each([
    ['gate', () => ({ metrics: 'metrics.json', rules: 'accuracy >= baseline', baseline: `${host}/acme/iris:prod`, comment: 'false', status: 'false' })],
    ['publish', () => ({ 'model-path': 'model.json', 'base-image': `${host}/base/server:1`, image: `${host}/acme/iris` })],
    ['promote', () => ({ image: `${host}/acme/iris`, source: 'pr-1', 'require-gate': 'false' })],
  ] as const)('%s with no credential inputs', async (action, inputs) => {
    const workspace = mkdtempSync(join(tmpdir(), 'tts-ws-creds-'));
    writeFileSync(join(workspace, 'metrics.json'), '{"accuracy": 0.9}');
    writeFileSync(join(workspace, 'model.json'), JSON.stringify(irisModel()));
    authorizations.length = 0;
    const result = await runAction(action, { inputs: inputs(), token: JOB_TOKEN, workspace, env: env() });
    expect(result.exitCode).toBe(1);
    expect(failureMessage(result)).toMatch(/^Input "registry-password": .*no credentials for 127\.0\.0\.1:\d+: run docker login for it first, or give registry-username and registry-password\)$/);
    expect(sentTheToken()).toBe(false);
    expect(authorizations).toEqual([]);
    rmSync(workspace, { recursive: true, force: true });
  });
});

describe('docker login credentials work with no credential inputs', () => {
  let registry: TestRegistry;
  let base: string;
  let workspace: string;
  const network = `tts-creds-${run}`;
  const services: string[] = [];

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'basic' });
    base = await pushLocalImage(registry, await ensureServerImage(), `${registry.host}/base/server-${run}:1`);
    await docker(['network', 'create', network]);
    workspace = mkdtempSync(join(tmpdir(), 'tts-ws-login-'));
    writeFileSync(join(workspace, 'model.json'), JSON.stringify(irisModel()));
    writeFileSync(join(workspace, 'metrics.json'), '{"accuracy": 0.93}');
  });
  afterAll(async () => {
    for (const service of services) {
      const ids = (await docker(['ps', '-aq', '--filter', `label=train-to-serve.service=${service}`])).split('\n').filter(Boolean);
      if (ids.length) await docker(['rm', '-f', ...ids]).catch(() => {});
    }
    await docker(['network', 'rm', network]).catch(() => {});
    await registry?.stop();
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  /** A Docker config folder as docker/login-action leaves it: `auths`, or a helper on PATH. */
  function loginAs(mode: 'auths' | 'credsStore' | 'credHelpers'): { env: Record<string, string>; asked: () => string[] } {
    const dir = mkdtempSync(join(tmpdir(), `tts-login-${mode}-`));
    const calls = join(dir, 'calls');
    writeFileSync(calls, '');
    if (mode === 'auths') {
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${registry.username}:${registry.password}`).toString('base64') } } }));
    } else {
      const helper = `tts${run}`;
      writeFileSync(
        join(dir, `docker-credential-${helper}`),
        [
          '#!/bin/sh',
          'read -r server',
          `printf '%s %s\\n' "$1" "$server" >> '${calls}'`,
          `if [ "$1" = get ] && [ "$server" = '${registry.host}' ]; then`,
          `  printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}' "$server" '${registry.username}' '${registry.password}'`,
          '  exit 0',
          'fi',
          'echo "credentials not found in native keychain"',
          'exit 1',
          '',
        ].join('\n'),
      );
      chmodSync(join(dir, `docker-credential-${helper}`), 0o755);
      writeFileSync(join(dir, 'config.json'), JSON.stringify(mode === 'credsStore' ? { auths: {}, credsStore: helper } : { auths: {}, credHelpers: { [registry.host]: helper } }));
    }
    return { env: { DOCKER_CONFIG: dir, PATH: `${dir}:${process.env.PATH ?? ''}` }, asked: () => readFileSync(calls, 'utf8').split('\n').filter(Boolean) };
  }

  it.each(['auths', 'credsStore', 'credHelpers'] as const)(
    'publish, gate baseline, promote and deploy with %s',
    async (mode) => {
      const login = loginAs(mode);
      const image = `${registry.host}/acme/iris-${mode.toLowerCase()}-${run}`;
      const options = { workspace, env: login.env, token: JOB_TOKEN };

      const published = await runAction('publish', { ...options, inputs: { 'model-path': 'model.json', 'base-image': base, image, tags: 'candidate', metrics: 'metrics.json' } });
      expect(failureMessage(published), published.log).toBeUndefined();

      const gated = await runAction('gate', { ...options, inputs: { metrics: 'metrics.json', rules: 'accuracy >= baseline - 0.01', baseline: `${image}:candidate`, comment: 'false', status: 'false', 'on-missing-baseline': 'fail' } });
      expect(failureMessage(gated), gated.log).toBeUndefined();
      expect(gated.outputs.passed).toBe('true');
      expect(gated.summary).toContain('(image)');

      const promoted = await runAction('promote', { ...options, inputs: { image, source: 'candidate', targets: 'production', 'require-gate': 'false' } });
      expect(failureMessage(promoted), promoted.log).toBeUndefined();
      expect(promoted.outputs.digest).toBe(published.outputs.digest);

      const service = `ttscred${mode.toLowerCase().slice(0, 6)}${run}`;
      services.push(service);
      const deployed = await runAction('deploy', { ...options, inputs: { image: published.outputs.image!, service, rule: `Host(\`${service}.test\`)`, network, 'health-timeout': '90s' }, timeoutMs: 240_000 });
      // What credentials decide is the engine's pull of a private image: without them it fails with
      // "pull failed: … no basic auth credentials". What follows the pull (health on a loaded shared
      // engine) is deploy's own test's business, so only a failure that is about the pull fails here.
      expect(deployed.log, deployed.log).toContain(`Pulled ${published.outputs.image!}`);
      expect(failureMessage(deployed) ?? '').not.toMatch(/pull failed|unauthori[sz]ed|credentials|registry-password/i);

      if (mode !== 'auths') expect(login.asked()).toContain(`get ${registry.host}`);
      for (const result of [published, gated, promoted, deployed]) expect(result.log).not.toContain(registry.password);
    },
    400_000,
  );
});
