import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureMessage, runAction } from '../support/action-runner';
import { docker } from '../support/docker-cli';

/**
 * Every bad input of deploy and retire, through the bundles as the runner starts them: the step
 * fails with one line naming the input (or the resource) and nothing is created on the engine.
 */
const run = randomBytes(3).toString('hex');
const service = `ttsbad${run}`;
const network = `tts-bad-${run}`;
const image = `127.0.0.1:9/acme/iris@sha256:${'c'.repeat(64)}`;

beforeAll(async () => {
  await docker(['network', 'create', network]);
});

afterAll(async () => {
  await docker(['network', 'rm', network]).catch(() => {});
});

async function nothingCreated(): Promise<void> {
  const byLabel = await docker(['ps', '-aq', '--filter', `label=train-to-serve.service=${service}`]);
  const byName = await docker(['ps', '-aq', '--filter', `name=${service}`]);
  expect(byLabel.trim() + byName.trim()).toBe('');
}

describe('deploy refuses bad input before touching anything', () => {
  const good = { image, service, rule: 'Host(`iris.test`)', network, 'health-timeout': '30s' };
  it.each<[string, Record<string, string>, RegExp]>([
    ['an unknown network', { network: `tts-no-such-network-${run}` }, new RegExp(`^Input "network": no Docker network "tts-no-such-network-${run}" on the engine at unix://`)],
    ['an invalid service name', { service: 'Iris_Model' }, /^Input "service": must be a DNS label .*, got "Iris_Model"$/],
    ['an invalid rule', { rule: 'Host(`iris.test`' }, /^Input "rule": invalid Traefik rule "Host\(`iris.test`": expected \) at the end$/],
    ['an unknown matcher', { rule: 'Hostname(`iris.test`)' }, /^Input "rule": invalid Traefik rule .*unknown matcher Hostname/],
    ['a ttl without a unit', { ttl: '7' }, /^Input "ttl": expected a duration like 90s, 15m, 36h or 7d, got "7"$/],
    ['a bad health-timeout', { 'health-timeout': 'soon' }, /^Input "health-timeout": expected a duration/],
    ['a bad drain-timeout', { 'drain-timeout': '-5s' }, /^Input "drain-timeout": expected a duration/],
    ['a port out of range', { port: '65536' }, /^Input "port": must be at most 65535, got 65536$/],
    ['an uncatchable drain signal', { 'drain-signal': 'SIGKILL' }, /^Input "drain-signal": SIGKILL cannot be caught/],
    ['an engine that is not reachable', { 'docker-host': 'tcp://127.0.0.1:9' }, /^Docker Engine at http:\/\/127\.0\.0\.1:9: not reachable/],
    ['a Traefik API that is not reachable', { 'traefik-api': 'http://127.0.0.1:9' }, /^Traefik API at http:\/\/127\.0\.0\.1:9: not reachable/],
    ['GPUs with engine swarm', { engine: 'swarm', gpus: 'all' }, /^Input "gpus": engine swarm cannot give GPUs to a service: Swarm has no device requests/],
    ['a malformed image reference', { image: 'ghcr.io/Acme/Iris:latest' }, /^Input "image": "ghcr.io\/Acme\/Iris:latest" is not a valid image reference: repository names must be lower-case/],
  ])('%s', async (_, changes, message) => {
    const result = await runAction('deploy', { inputs: { ...good, ...changes } });
    expect(result.exitCode).toBe(1);
    expect(failureMessage(result)).toMatch(message);
    expect(failureMessage(result)).not.toContain('\n');
    await nothingCreated();
  });
});

describe('retire refuses bad input', () => {
  it.each<[Record<string, string>, RegExp]>([
    [{ keep: '-1' }, /^Input "keep": must be at least 0, got -1$/],
    [{ 'max-age': 'old' }, /^Input "max-age": expected a duration/],
    [{ 'in-use-window': '0s' }, /^Input "in-use-window": duration must be greater than zero/],
    [{ 'dry-run': 'maybe' }, /^Input "dry-run": expected true or false/],
    [{ service: 'Not A Name' }, /^Input "service": must be a DNS label/],
    [{ 'docker-host': 'tcp://127.0.0.1:9' }, /^Docker Engine at http:\/\/127\.0\.0\.1:9: not reachable/],
  ])('%j', async (changes, message) => {
    const result = await runAction('retire', { inputs: { service, ...changes } });
    expect(result.exitCode).toBe(1);
    expect(failureMessage(result)).toMatch(message);
  });
});
