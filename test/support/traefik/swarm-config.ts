import { buildFromLabels, mergeWithLogs, type BuildResult, type ProviderLog } from './docker-config';
import type { DynamicConfig } from './dynamic';
import { compileConstraints } from './expression';
import { LabelError, normalize, parseTraefikBool } from './labels';

/** One Swarm task as the Swarm provider reads it (`GET /tasks?filters={"service":…,"desired-state":["running"]}`). */
export interface SwarmTaskFacts {
  id: string;
  /** Replicated services number their tasks; global ones do not. */
  slot?: number;
  /** `Status.State`: running, starting, pending, … */
  state: string;
  desiredState: string;
  /** Swarm-scope network name → the task's address on it. */
  networks: Record<string, string>;
}

/** One Swarm service (`GET /services`), with its tasks. */
export interface SwarmServiceFacts {
  id: string;
  name: string;
  /** The service's labels (`deploy.labels`), never its containers'. */
  labels: Record<string, string>;
  /** `Spec.EndpointSpec.Mode`; undefined when the service has no endpoint spec. */
  endpointMode?: 'vip' | 'dnsrr';
  /** Swarm-scope network name → the service's virtual IP on it. */
  virtualIPs: Record<string, string>;
  global: boolean;
  tasks: SwarmTaskFacts[];
}

/** `providers.swarm` options of Traefik's static configuration that change routing. */
export interface SwarmProviderOptions {
  exposedByDefault: boolean;
  constraints?: string;
  network?: string;
  allowEmptyServices: boolean;
  defaultRule: string;
}

/** What `traefik.enable`, `traefik.swarm.*` (and the deprecated `traefik.docker.*`) say about a service. */
interface SwarmLabelConf {
  enable: boolean;
  network?: string;
  lbSwarm: boolean;
}

/** Traefik's extractSwarmLabels. */
export function extractSwarmLabels(labels: Record<string, string>, options: SwarmProviderOptions, log: (level: ProviderLog['level'], msg: string) => void): SwarmLabelConf {
  const conf: SwarmLabelConf = { enable: parseTraefikBool(labels['traefik.enable'], 'traefik.enable', options.exposedByDefault), network: options.network, lbSwarm: false };
  const provider: Record<'docker' | 'swarm', { network?: string; lbswarm?: string } | undefined> = { docker: undefined, swarm: undefined };
  for (const [key, value] of Object.entries(labels)) {
    const match = /^traefik\.(docker|swarm)\.(.+)$/i.exec(key);
    if (!match) continue;
    const which = match[1]!.toLowerCase() as 'docker' | 'swarm';
    const option = match[2]!.toLowerCase();
    if (option !== 'network' && option !== 'lbswarm') throw new LabelError(`decoding Swarm labels: ${key}: field not found, node: ${option}`);
    (provider[which] ??= {})[option] = value;
  }
  if (provider.docker && provider.swarm) throw new LabelError('both Docker and Swarm labels are defined');
  if (provider.docker) log('warn', 'Labels traefik.docker.* for Swarm provider are deprecated. Please use traefik.swarm.* labels instead');
  const chosen = provider.swarm ?? provider.docker;
  if (chosen?.network !== undefined) conf.network = chosen.network;
  if (chosen?.lbswarm !== undefined) conf.lbSwarm = parseTraefikBool(chosen.lbswarm, 'lbswarm', false);
  return conf;
}

/**
 * Traefik's Swarm provider in one pure function (pkg/provider/docker/pswarm.go: listServices,
 * parseService, listTasks, parseTasks; then the builder both providers share). Labels come from
 * the service. Each task Swarm wants running and reports running is one server, at its address
 * on the chosen network (Swarm keeps a task `starting` until its HEALTHCHECK passes, so health
 * needs no check of its own); with `traefik.swarm.lbswarm=true` the service's virtual IP is its
 * only server. Swarm tasks expose no ports: the port label is mandatory.
 */
export function buildSwarmConfiguration(services: SwarmServiceFacts[], options: SwarmProviderOptions): BuildResult {
  const logs: ProviderLog[] = [];
  const matchesConstraints = options.constraints ? compileConstraints(options.constraints) : () => true;
  const parts: Record<string, DynamicConfig> = {};

  for (const service of services) {
    const serviceName = normalize(service.name);
    const log = (level: ProviderLog['level'], msg: string) => logs.push({ level, container: serviceName, msg });
    let conf: SwarmLabelConf;
    try {
      conf = extractSwarmLabels(service.labels, options, log);
    } catch (error) {
      log('error', `Skip container ${serviceName}: ${(error as Error).message}`);
      continue;
    }

    // The servers this service contributes: [key, name, networks] each.
    const servers: { id: string; name: string; networks: Record<string, string> }[] = [];
    let lbSwarm = conf.lbSwarm;
    if (lbSwarm && service.endpointMode === 'dnsrr') {
      log('warn', `Ignored dnsrr endpoint-mode not supported, service name: ${service.name}. Fallback to Traefik load balancing`);
      lbSwarm = false;
    }
    if (lbSwarm) {
      const networks = service.endpointMode === 'vip' ? service.virtualIPs : {};
      if (Object.keys(networks).length > 0 || options.allowEmptyServices) servers.push({ id: service.id, name: service.name, networks });
    } else {
      for (const task of service.tasks) {
        if (task.desiredState !== 'running' || task.state !== 'running') continue;
        if (Object.keys(task.networks).length === 0) continue;
        servers.push({ id: task.id, name: service.global || task.slot === undefined ? `${service.name}.${task.id}` : `${service.name}.${task.slot}`, networks: task.networks });
      }
      if (servers.length === 0 && options.allowEmptyServices) servers.push({ id: service.id, name: service.name, networks: {} });
    }

    for (const server of servers) {
      const key = `${serviceName}-${server.id}`;
      try {
        if (!conf.enable) {
          log('debug', 'Filtering disabled container');
          continue;
        }
        if (!matchesConstraints(service.labels)) {
          log('debug', `Container pruned by constraint expression: ${JSON.stringify(options.constraints)}`);
          continue;
        }
        parts[key] = buildFromLabels(
          {
            serviceName,
            containerName: server.name,
            labels: service.labels,
            network: conf.network,
            networks: server.networks,
            ports: [],
            addServers: Object.keys(server.networks).length > 0,
          },
          options.defaultRule,
          log,
        );
      } catch (error) {
        log('error', (error as Error).message);
      }
    }
  }
  return mergeWithLogs(parts, logs);
}
