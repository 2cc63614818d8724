import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureMessage, repoRoot } from '../support/action-runner';
import { docker } from '../support/docker-cli';
import { waitFor } from '../support/ports';
import { ENGINE_WAIT_MS } from '../support/server-image';
import { ensureDockerCliImage, killNode, onNode, lockExists, nodeHasImage, placedTasks, printPlacement, restartNode, setAvailability, type ClusterNode } from './support/cluster';
import { expectDeployed, startClusterRun, type ClusterRun } from './support/setup';

/**
 * What only a swarm of several nodes shows: two runners on different managers, a node drained
 * while retire works, image pruning on the nodes the runner does not talk to, a node that dies
 * while a deploy waits for health. docs/cluster.md says how the cluster is made.
 */
let run: ClusterRun;
let node1: ClusterNode;
let node2: ClusterNode;
let node3: ClusterNode;
const short = (image: string) => image.slice(image.indexOf('@sha256:') + 8, image.indexOf('@sha256:') + 20);
const versionName = (service: string, image: string) => `${service}-${short(image)}`;

async function versionsOf(service: string): Promise<string[]> {
  return (await docker(['service', 'ls', '--filter', `label=train-to-serve.service=${service}`, '--format', '{{.Name}}'])).split('\n').filter(Boolean).sort();
}

/**
 * The models answering `/predict` through the proxy, over a few requests. The server names its
 * model (`model.name`; `model.digest` is the sha256 of model.json, not the image's digest), and
 * each published version has a model of its own, `iris-cluster-<version>` (support/setup.ts).
 */
async function answeringModels(service: string, requests = 12): Promise<Set<string>> {
  const models = new Set<string>();
  for (let i = 0; i < requests; i++) {
    const answer = await run.traefik.send(`${service}.test`, '/predict', { body: { instances: [[5.1, 3.5, 1.4, 0.2]] } });
    models.add(answer.status === 200 ? (JSON.parse(answer.text) as { model: { name: string } }).model.name : `status ${answer.status}`);
  }
  return models;
}
const model = (version: string) => `iris-cluster-${version}`;

beforeAll(async () => {
  run = await startClusterRun('nd');
  [node1, node2, node3] = run.cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
  await run.publish('v1');
  await run.publish('v2');
  await run.publish('slow', undefined, { behaviour: 'slow-start', startDelayMs: 8000 });
});

afterAll(async () => {
  for (const node of run?.cluster.nodes ?? []) await setAvailability(node, 'active').catch(() => {});
  await run?.cleanup();
});

describe('engine swarm on three nodes: managers, drains, pruning, a lost node', () => {
  it('holds the deploy lock across two runners talking to different managers', async () => {
    const service = `${run.prefix}-lock`;
    // The first runner talks to node1; the second, started once the lock is taken, to node2.
    const first = run.startDeploy(service, run.images.v1!, { replicas: '2' });
    await waitFor('the first deploy to take the lock (seen from node2)', () => lockExists(node2, service), ENGINE_WAIT_MS, 100);
    const second = await run.deploy(service, run.images.v2!, { replicas: '2' }, { DOCKER_HOST: node2.endpoint });
    const firstResult = await first.result;
    expectDeployed(firstResult);
    expectDeployed(second);
    expect(second.log).toMatch(new RegExp(`Waiting for .* to release the deploy lock of ${service} \\(Swarm config tts-lock-${service}\\)`));
    // One after the other: the second replaced what the first deployed.
    expect(JSON.parse(second.outputs.removed!)).toEqual([expect.objectContaining({ name: versionName(service, run.images.v1!), outcome: 'drained' })]);
    expect(await versionsOf(service)).toEqual([versionName(service, run.images.v2!)]);
    expect(await lockExists(node1, service)).toBe(false);
  });

  it('retires a version while a node is drained, prunes its image on every node that could run the job, and keeps every image a service still names', async () => {
    const service = `${run.prefix}-ret`;
    const pruneImage = await ensureDockerCliImage(run.cluster);
    expectDeployed(await run.deploy(service, run.images.v1!, { replicas: '3', ttl: '1s' }));
    await printPlacement('v1', versionName(service, run.images.v1!));
    // v2 runs on node2 and node3 only; node1 (the manager the runner talks to) pulled it to learn its digest.
    await setAvailability(node1, 'drain');
    const second = await run.deploy(service, run.images.v2!, { replicas: '2', strategy: 'add' });
    expectDeployed(second);
    await setAvailability(node1, 'active');
    const v2Tasks = await printPlacement('v2', versionName(service, run.images.v2!));
    expect(v2Tasks.map((task) => task.node).sort()).toEqual(['node2', 'node3']);
    expect(await nodeHasImage(node1, run.images.v2!)).toBe(true);
    for (const node of run.cluster.nodes) expect(await nodeHasImage(node, run.images.v1!), node.name).toBe(true);

    // node3 is drained as retire starts: its v2 task moves, and the prune job cannot run there.
    const retiring = run.startRetire(service, { 'node-prune-image': pruneImage });
    await setAvailability(node3, 'drain');
    const retired = await retiring.result;
    expect(failureMessage(retired), retired.log).toBeUndefined();
    expect(JSON.parse(retired.outputs.retired!)).toEqual([expect.objectContaining({ name: versionName(service, run.images.v1!), outcome: 'drained' })]);
    expect(await versionsOf(service)).toEqual([versionName(service, run.images.v2!)]);
    await waitFor('v2 to run on the active nodes only', async () => (await placedTasks(versionName(service, run.images.v2!))).every((task) => task.node !== 'node3' && task.state === 'running'), ENGINE_WAIT_MS, 500);
    await printPlacement('v2 after node3 drained', versionName(service, run.images.v2!));
    expect(await answeringModels(service)).toEqual(new Set([model('v2')]));

    // What each node still runs or keeps, for the record (and to tell which container kept an image).
    for (const node of run.cluster.nodes) console.log(`${node.name} containers after retire:\n${await onNode(node, ['ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.Image}} {{.Status}} {{.Names}}'])}`);
    // v1's image went from node1 (pruned by the runner) and node2 (by the job); node3 was drained, so it keeps it, and the log says so.
    expect(await nodeHasImage(node1, run.images.v1!), retired.log).toBe(false);
    expect(await nodeHasImage(node2, run.images.v1!), retired.log).toBe(false);
    expect(await nodeHasImage(node3, run.images.v1!), retired.log).toBe(true);
    expect(retired.log).toMatch(/Node node2: removed .*acme\/iris-/);
    // v2 stays everywhere it was, node1 included, where no container uses it: a service names it.
    for (const node of run.cluster.nodes) expect(await nodeHasImage(node, run.images.v2!), `${node.name}\n${retired.log}`).toBe(true);
    await setAvailability(node3, 'active');
  });

  it('a task rescheduled after the job ended pulls with node-registry-*; with the job token alone the pull is refused', async () => {
    const htpasswd = join(repoRoot, '.tmp/cluster/registry/htpasswd');
    const before = readFileSync(htpasswd, 'utf8');
    const job = { username: `job-${run.prefix}`, password: `ghs_${randomBytes(12).toString('hex')}` };
    appendFileSync(htpasswd, execFileSync('htpasswd', ['-Bbn', job.username, job.password], { encoding: 'utf8' }));
    const plain = `${run.prefix}-tok`;
    const lasting = `${run.prefix}-pull`;
    const jobInputs = { replicas: '1', 'registry-username': job.username, 'registry-password': job.password };
    try {
      // Images no node but node1 holds; both versions start on node1.
      await run.publish('cred-a');
      await run.publish('cred-b');
      await setAvailability(node2, 'drain');
      await setAvailability(node3, 'drain');
      const withToken = await run.deploy(plain, run.images['cred-a']!, jobInputs);
      expectDeployed(withToken);
      expect(withToken.log).toContain('a GitHub job token stops working when this job ends');
      const { registry } = run.cluster;
      const withLasting = await run.deploy(lasting, run.images['cred-b']!, { ...jobInputs, 'node-registry-username': registry.username, 'node-registry-password': registry.password });
      expectDeployed(withLasting);
      expect(withLasting.log).not.toContain('a GitHub job token stops working');
      expect(withLasting.masked).toContain(registry.password);

      // The job ends: its token stops working. Then node1 is drained, so both tasks move to nodes without the images.
      writeFileSync(htpasswd, before);
      await waitFor(
        'the registry to refuse the job token',
        async () => (await fetch(`http://${registry.host}/v2/`, { headers: { authorization: `Basic ${Buffer.from(`${job.username}:${job.password}`).toString('base64')}` } })).status === 401,
        ENGINE_WAIT_MS,
        200,
      );
      await setAvailability(node2, 'active');
      await setAvailability(node3, 'active');
      await setAvailability(node1, 'drain');
      const lastingName = versionName(lasting, run.images['cred-b']!);
      await waitFor('the version with the lasting credential to run on node2 or node3', async () => (await placedTasks(lastingName)).some((task) => task.node !== 'node1' && task.state === 'running'), ENGINE_WAIT_MS, 500);
      const tokenName = versionName(plain, run.images['cred-a']!);
      let errors = '';
      await waitFor(
        'the version with the job token to fail its pull on another node',
        async () => {
          errors = await docker(['service', 'ps', '--no-trunc', '--format', '{{.Node}} {{.CurrentState}} {{.Error}}', tokenName]);
          return /node[23] Rejected .*(unauthorized|authentication required|no basic auth|denied|No such image)/i.test(errors);
        },
        ENGINE_WAIT_MS,
        500,
      );
      console.log(`after the job token expired: ${lastingName} on ${(await placedTasks(lastingName)).map((task) => `${task.node} (${task.state})`).join(', ')}; ${tokenName}:\n${errors}`);
      expect((await placedTasks(tokenName)).some((task) => task.state === 'running')).toBe(false);
    } finally {
      writeFileSync(htpasswd, before);
      for (const node of run.cluster.nodes) await setAvailability(node, 'active').catch(() => {});
    }
  });

  it('a node killed while a deploy waits for health: the deploy converges on the nodes left or fails with the old version serving, never both routed', async () => {
    const service = `${run.prefix}-kill`;
    expectDeployed(await run.deploy(service, run.images.v1!, { replicas: '3' }));
    const slowName = versionName(service, run.images.slow!);
    const deploying = run.startDeploy(service, run.images.slow!, { replicas: '3' });
    await waitFor('a task of the new version on node3', async () => (await placedTasks(slowName).catch(() => [])).some((task) => task.node === 'node3'), ENGINE_WAIT_MS, 200);
    await killNode(node3);
    try {
      const result = await deploying.result;
      const message = failureMessage(result);
      const versions = await versionsOf(service);
      const served = await answeringModels(service);
      console.log(`deploy with node3 killed: ${message === undefined ? 'converged' : `failed: ${message.split('\n')[0]}`}; versions ${versions.join(', ')}; answering ${[...served].join(', ')}`);
      await printPlacement('after the node was lost', versions[0]!);
      if (message === undefined) {
        expect(versions).toEqual([slowName]);
        expect(served).toEqual(new Set([model('slow')]));
        expect((await placedTasks(slowName)).every((task) => task.node !== 'node3')).toBe(true);
      } else {
        expect(message).toMatch(/the older versions were not touched and keep serving/);
        expect(versions).toEqual([versionName(service, run.images.v1!)]);
        expect(served).toEqual(new Set([model('v1')]));
      }
      expect(await lockExists(node1, service)).toBe(false);
    } finally {
      await restartNode(node3);
    }
  });
});
