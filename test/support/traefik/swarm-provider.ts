import type Docker from 'dockerode';
import { connectEngine } from '../../../src/engine/connection';
import type { ProviderEvents, RunningProvider } from './docker-provider';
import { buildSwarmConfiguration, type SwarmProviderOptions, type SwarmServiceFacts } from './swarm-config';

/**
 * Traefik's Swarm provider, live: Swarm has no task events, so Traefik polls. It lists the
 * services, the swarm-scope networks and the tasks Swarm wants running, builds the whole
 * configuration, and pushes it to the provider throttle at start and then every `refreshSeconds`
 * (whether or not anything changed: the throttle skips unchanged ones). Without `watch` it lists
 * once.
 */
interface ServiceInfo {
  ID: string;
  Spec: { Name: string; Labels?: Record<string, string>; Mode?: { Global?: unknown }; EndpointSpec?: { Mode?: string } };
  Endpoint?: { VirtualIPs?: { NetworkID: string; Addr?: string }[] };
}

interface TaskInfo {
  ID: string;
  ServiceID: string;
  Slot?: number;
  DesiredState: string;
  Status: { State: string };
  NetworksAttachments?: { Network: { ID: string }; Addresses?: string[] }[];
}

const withoutPrefix = (address: string | undefined) => (address ? address.split('/')[0]! : '');

export async function listSwarmServices(docker: Docker): Promise<SwarmServiceFacts[]> {
  const [services, networks, tasks] = await Promise.all([
    docker.listServices() as unknown as Promise<ServiceInfo[]>,
    docker.listNetworks({ filters: { scope: ['swarm'] } }),
    docker.listTasks({ filters: { 'desired-state': ['running'] } }) as unknown as Promise<TaskInfo[]>,
  ]);
  const networkNames = new Map(networks.map((network) => [network.Id, network.Name]));
  const addressesOn = (entries: { id: string; address?: string }[]) => {
    const found: Record<string, string> = {};
    for (const entry of entries) {
      const name = networkNames.get(entry.id);
      const ip = withoutPrefix(entry.address);
      if (name && ip) found[name] = ip;
    }
    return found;
  };
  return services.map((service) => {
    const mode = service.Spec.EndpointSpec?.Mode;
    return {
      id: service.ID,
      name: service.Spec.Name,
      labels: service.Spec.Labels ?? {},
      endpointMode: mode === 'vip' || mode === 'dnsrr' ? mode : undefined,
      virtualIPs: addressesOn((service.Endpoint?.VirtualIPs ?? []).map((vip) => ({ id: vip.NetworkID, address: vip.Addr }))),
      global: Boolean(service.Spec.Mode?.Global),
      tasks: tasks
        .filter((task) => task.ServiceID === service.ID)
        .map((task) => ({
          id: task.ID,
          slot: task.Slot || undefined,
          state: task.Status.State,
          desiredState: task.DesiredState,
          networks: addressesOn((task.NetworksAttachments ?? []).map((attachment) => ({ id: attachment.Network.ID, address: attachment.Addresses?.[0] }))),
        })),
    };
  });
}

export async function startSwarmProvider(endpoint: string | undefined, options: SwarmProviderOptions & { watch: boolean; refreshMs: number }, events: ProviderEvents): Promise<RunningProvider> {
  const engine = await connectEngine(endpoint, 'providers.swarm.endpoint');
  events.log('info', `Provider connection established with docker ${engine.engineVersion} (API ${engine.apiVersion})`, { providerName: 'swarm' });
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const poll = async (trigger: string): Promise<void> => {
    try {
      const services = await listSwarmServices(engine.docker);
      if (!stopped) events.configuration(buildSwarmConfiguration(services, options), trigger);
    } catch (error) {
      events.log('error', `Failed to list services for docker swarm mode: ${(error as Error).message}`, { providerName: 'swarm' });
    }
  };
  const schedule = () => {
    if (stopped || !options.watch) return;
    timer = setTimeout(() => void poll('poll').then(schedule), options.refreshMs);
  };

  await poll('start');
  schedule();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
