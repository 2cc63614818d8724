import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker } from '../support/docker-cli';
import { waitFor } from '../support/ports';
import { ENGINE_WAIT_MS } from '../support/server-image';
import { startLoad } from '../support/traefik/load';
import { placedTasks, predictRequests, printPlacement } from './support/cluster';
import { expectDeployed, startClusterRun, type ClusterRun } from './support/setup';

/**
 * deploy with engine swarm on the real three-node swarm (docs/cluster.md): replicas spread over
 * the nodes, a replace under load through the Traefik stand-in (Swarm provider polling the
 * manager, in a container on the overlay network), and the new version answering on every node.
 */
let run: ClusterRun;
const versionName = (service: string, image: string) => `${service}-${image.slice(image.indexOf('@sha256:') + 8, image.indexOf('@sha256:') + 20)}`;

beforeAll(async () => {
  run = await startClusterRun('sp');
  console.log(`cluster: ${run.cluster.nodes.length} nodes (${run.cluster.nodes.map((node) => `${node.name} ${node.ip}`).join(', ')}); registry ${run.cluster.registry.host}`);
  await run.publish('v1');
  await run.publish('v2');
});

afterAll(async () => {
  await run?.cleanup();
});

describe('engine swarm on three nodes', () => {
  it('spreads three replicas over the three nodes, and replaces them under load with no failed request, the new version answering through the proxy on every node', async () => {
    const service = `${run.prefix}-a`;
    const first = await run.deploy(service, run.images.v1!, { replicas: '3' });
    expectDeployed(first);
    const v1 = versionName(service, run.images.v1!);
    const v1Tasks = await printPlacement('v1', v1);
    expect(v1Tasks).toHaveLength(3);
    expect(new Set(v1Tasks.map((task) => task.node))).toEqual(new Set(run.cluster.nodes.map((node) => node.name)));
    await run.traefik.waitForServers(
      service,
      (JSON.parse(first.outputs.containers!) as { url: string }[]).map((task) => task.url),
    );

    const load = startLoad({ url: run.traefik.webUrl, host: `${service}.test`, concurrency: 2 });
    await waitFor('requests to flow', async () => load.current().ok > 20, ENGINE_WAIT_MS);
    const second = await run.deploy(service, run.images.v2!, { replicas: '3' });
    expectDeployed(second);
    const v2 = versionName(service, run.images.v2!);
    const v2Urls = (JSON.parse(second.outputs.containers!) as { url: string }[]).map((task) => task.url);
    expect(v2Urls).toHaveLength(3);
    // After the replace, only v2 is routed; keep the load on until every v2 task has answered some.
    expect(await run.traefik.serverUrls(service)).toEqual([...v2Urls].sort());
    const v2Tasks = await printPlacement('v2', v2);
    expect(new Set(v2Tasks.map((task) => task.node))).toEqual(new Set(run.cluster.nodes.map((node) => node.name)));
    // Each node's v2 task counts the /predict requests it answered; the proxy is their only source.
    const answeredByNode = async () => {
      const counts: Record<string, number> = {};
      for (const task of await placedTasks(v2)) {
        const node = run.cluster.nodes.find((candidate) => candidate.name === task.node)!;
        counts[task.node] = (counts[task.node] ?? 0) + (task.containerId ? await predictRequests(node, task.containerId).catch(() => 0) : 0);
      }
      return counts;
    };
    // The most each node's task reported (a task Swarm restarted starts counting again).
    const answered: Record<string, number> = {};
    await waitFor(
      'the v2 task on every node to answer through the proxy',
      async () => {
        for (const [node, count] of Object.entries(await answeredByNode())) answered[node] = Math.max(answered[node] ?? 0, count);
        return run.cluster.nodes.every((node) => (answered[node.name] ?? 0) > 0);
      },
      ENGINE_WAIT_MS,
      500,
    );
    const traffic = await load.stop();
    console.log(`replace under load: ${traffic.ok} answered, ${traffic.failed} failed; by digest ${JSON.stringify(traffic.digests)}; /predict answered by v2 per node: ${JSON.stringify(answered)}`);
    expect(traffic.failed, JSON.stringify(traffic)).toBe(0);
    expect(Object.keys(traffic.digests)).toHaveLength(2);
    expect(JSON.parse(second.outputs.removed!)).toEqual([expect.objectContaining({ name: v1, outcome: 'drained' })]);
    expect((await docker(['service', 'ls', '--filter', `name=${v1}`, '--format', '{{.Name}}'])).trim()).toBe('');
  });
});
