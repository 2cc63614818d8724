import { describe, expect, it } from 'vitest';
import { DEFAULT_RULE } from './docker-config';
import { buildSwarmConfiguration, type SwarmProviderOptions, type SwarmServiceFacts, type SwarmTaskFacts } from './swarm-config';

// Table-driven checks of each rule of TRAEFIK.md's Swarm provider section, on plain data.

const options: SwarmProviderOptions = { exposedByDefault: false, network: 'edge', allowEmptyServices: false, defaultRule: DEFAULT_RULE };

const routing = {
  'traefik.enable': 'true',
  'traefik.swarm.network': 'edge',
  'traefik.http.routers.iris.rule': 'Host(`iris.example.com`)',
  'traefik.http.routers.iris.entrypoints': 'web',
  'traefik.http.routers.iris.service': 'iris',
  'traefik.http.services.iris.loadbalancer.server.port': '8080',
};

let counter = 0;
function task(over: Partial<SwarmTaskFacts> = {}): SwarmTaskFacts {
  counter++;
  return { id: `task${counter}`, slot: counter, state: 'running', desiredState: 'running', networks: { edge: `10.0.1.${counter}`, other: `10.0.2.${counter}` }, ...over };
}

function service(over: Partial<SwarmServiceFacts> = {}, tasks: SwarmTaskFacts[] = [task()]): SwarmServiceFacts {
  counter++;
  return { id: `svc${counter}`, name: `iris-${counter}`, labels: { ...routing }, endpointMode: 'vip', virtualIPs: { edge: `10.0.1.${200 + counter}` }, global: false, tasks, ...over };
}

function urls(result: ReturnType<typeof buildSwarmConfiguration>, name = 'iris'): string[] | undefined {
  return result.config.services[name]?.loadBalancer?.servers.map((server) => server.url).sort();
}

const without = (labels: Record<string, string>, key: string) => Object.fromEntries(Object.entries(labels).filter(([k]) => k !== key));

describe('which tasks become servers', () => {
  it.each<[string, Partial<SwarmTaskFacts>, boolean]>([
    ['running, desired running', {}, true],
    ['starting (Swarm holds a task there until its HEALTHCHECK passes)', { state: 'starting' }, false],
    ['preparing', { state: 'preparing' }, false],
    ['still running but being shut down (desired shutdown)', { desiredState: 'shutdown' }, false],
    ['failed', { state: 'failed', desiredState: 'shutdown' }, false],
    ['running, but on no swarm network', { networks: {} }, false],
  ])('%s → %s', (_case, over, served) => {
    const t = task(over);
    expect(urls(buildSwarmConfiguration([service({}, [t])], options))).toEqual(served ? [`http://${t.networks.edge}:8080`] : undefined);
  });

  it('one server per running task, several tasks of one service', () => {
    const tasks = [task(), task(), task({ state: 'starting' })];
    expect(urls(buildSwarmConfiguration([service({}, tasks)], options))).toEqual([`http://${tasks[0]!.networks.edge}:8080`, `http://${tasks[1]!.networks.edge}:8080`].sort());
  });

  it('reads labels from the service only: a service without traefik.enable is not routed under exposedByDefault=false, and is with the default true', () => {
    const hidden = service({ labels: without(routing, 'traefik.enable') });
    expect(urls(buildSwarmConfiguration([hidden], options))).toBeUndefined();
    expect(urls(buildSwarmConfiguration([hidden], { ...options, exposedByDefault: true }))).toHaveLength(1);
    expect(urls(buildSwarmConfiguration([service({ labels: { ...routing, 'traefik.enable': 'false' } })], { ...options, exposedByDefault: true }))).toBeUndefined();
  });

  it('keeps only services whose labels match the constraints', () => {
    const mine = service({ labels: { ...routing, 'test.run': 'a' } });
    const theirs = service({ labels: { ...routing, 'test.run': 'b' } });
    expect(urls(buildSwarmConfiguration([mine, theirs], { ...options, constraints: 'Label(`test.run`, `a`)' }))).toEqual([`http://${mine.tasks[0]!.networks.edge}:8080`]);
  });

  it('with allowEmptyServices keeps the router and an empty service while no task runs; without, neither', () => {
    const starting = service({}, [task({ state: 'starting' })]);
    const lenient = buildSwarmConfiguration([starting], { ...options, allowEmptyServices: true });
    expect(lenient.config.routers.iris).toBeDefined();
    expect(urls(lenient)).toEqual([]);
    const strict = buildSwarmConfiguration([starting], options);
    expect(strict.config.routers).toEqual({});
    expect(strict.config.services).toEqual({});
  });
});

describe('server URLs', () => {
  it('uses traefik.swarm.network, else the provider network, else the first network with a warning', () => {
    const t = task();
    expect(urls(buildSwarmConfiguration([service({ labels: { ...routing, 'traefik.swarm.network': 'other' } }, [t])], options))).toEqual([`http://${t.networks.other}:8080`]);
    expect(urls(buildSwarmConfiguration([service({ labels: without(routing, 'traefik.swarm.network') }, [t])], { ...options, network: 'other' }))).toEqual([`http://${t.networks.other}:8080`]);
    const missing = buildSwarmConfiguration([service({ labels: { ...routing, 'traefik.swarm.network': 'gone' } }, [task({ networks: { only: '10.9.0.2' } })])], options);
    expect(urls(missing)).toEqual(['http://10.9.0.2:8080']);
    expect(missing.logs.some((log) => log.level === 'warn' && /Could not find network named "gone"/.test(log.msg))).toBe(true);
  });

  it('still reads the v2 label traefik.docker.network, with a deprecation warning; both kinds at once skip the service', () => {
    const t = task();
    const legacy = buildSwarmConfiguration([service({ labels: { ...without(routing, 'traefik.swarm.network'), 'traefik.docker.network': 'other' } }, [t])], options);
    expect(urls(legacy)).toEqual([`http://${t.networks.other}:8080`]);
    expect(legacy.logs.some((log) => /traefik.docker.\* for Swarm provider are deprecated/.test(log.msg))).toBe(true);
    const both = buildSwarmConfiguration([service({ labels: { ...routing, 'traefik.docker.network': 'other' } })], options);
    expect(urls(both)).toBeUndefined();
    expect(both.logs.some((log) => log.level === 'error' && /both Docker and Swarm labels are defined/.test(log.msg))).toBe(true);
  });

  it('needs the port label: Swarm tasks expose no ports', () => {
    const result = buildSwarmConfiguration([service({ labels: { ...without(routing, 'traefik.http.services.iris.loadbalancer.server.port'), 'traefik.http.services.iris.loadbalancer.passhostheader': 'true' } })], options);
    expect(urls(result)).toBeUndefined();
    expect(result.logs.some((log) => log.level === 'error' && /service "iris" error: port is missing/.test(log.msg))).toBe(true);
  });

  it('with traefik.swarm.lbswarm=true, the service VIP is the only server; under dnsrr it falls back to the tasks, with a warning', () => {
    const vip = service({ labels: { ...routing, 'traefik.swarm.lbswarm': 'true' } }, [task(), task()]);
    expect(urls(buildSwarmConfiguration([vip], options))).toEqual([`http://${vip.virtualIPs.edge}:8080`]);
    const dnsrr = service({ labels: { ...routing, 'traefik.swarm.lbswarm': 'true' }, endpointMode: 'dnsrr', virtualIPs: {} }, [task()]);
    const result = buildSwarmConfiguration([dnsrr], options);
    expect(urls(result)).toEqual([`http://${dnsrr.tasks[0]!.networks.edge}:8080`]);
    expect(result.logs.some((log) => /Ignored dnsrr endpoint-mode not supported/.test(log.msg))).toBe(true);
  });

  it('refuses an unknown traefik.swarm option, skipping the service', () => {
    const result = buildSwarmConfiguration([service({ labels: { ...routing, 'traefik.swarm.netwrok': 'edge' } })], options);
    expect(result.config.routers).toEqual({});
    expect(result.logs.at(-1)?.msg).toMatch(/traefik.swarm.netwrok: field not found/);
  });
});

describe('merging services (model versions) with identical labels', () => {
  it('pools every running task of every version into one load balancer', () => {
    const v1 = service({}, [task(), task()]);
    const v2 = service({}, [task()]);
    const result = buildSwarmConfiguration([v1, v2], options);
    expect(urls(result)).toHaveLength(3);
    expect(result.config.routers.iris).toMatchObject({ rule: 'Host(`iris.example.com`)', service: 'iris', entryPoints: ['web'] });
  });

  it('deletes the router for everyone when one version differs in router labels', () => {
    const result = buildSwarmConfiguration([service(), service({ labels: { ...routing, 'traefik.http.routers.iris.rule': 'Host(`other.example.com`)' } })], options);
    expect(result.config.routers.iris).toBeUndefined();
    expect(result.conflicts.routers).toEqual(['iris']);
  });

  it('drops a version whose routing was withdrawn (traefik.enable=false) and keeps the other', () => {
    const v1 = service({ labels: { ...routing, 'traefik.enable': 'false' } });
    const v2 = service();
    expect(urls(buildSwarmConfiguration([v1, v2], options))).toEqual([`http://${v2.tasks[0]!.networks.edge}:8080`]);
  });
});

describe('defaults', () => {
  it('names the default service and router after the Swarm service, for replicated and global services alike', () => {
    const labels = { 'traefik.enable': 'true', 'traefik.http.services.my-app.loadbalancer.server.port': '80' };
    for (const global of [false, true]) {
      const result = buildSwarmConfiguration([service({ name: 'my_app', labels, global }, [task({ slot: global ? undefined : 1 })])], options);
      expect(result.config.routers['my-app']).toMatchObject({ rule: 'Host(`my-app`)', service: 'my-app' });
      expect(result.config.services['my-app']?.loadBalancer?.servers).toHaveLength(1);
    }
  });
});
