import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { handleApi, STAND_IN_VERSION } from './api';
import type { BuildResult } from './docker-config';
import { startDockerProvider, type RunningProvider } from './docker-provider';
import { startSwarmProvider } from './swarm-provider';
import { canonical, type DynamicConfig } from './dynamic';
import { Balancer, createEntryPointHandler, type EntryPointState, type RequestRecord } from './proxy';
import { buildRuntime, type Runtime } from './runtime';
import type { StaticConfig } from './static-config';
import { createThrottle, type Throttle } from './throttle';

/**
 * The Traefik stand-in: entry points that route by the providers' configuration, the API, ping
 * and Prometheus metrics, all on loopback. Providers push configurations through Traefik's
 * per-provider throttle; each applied one rebuilds the runtime (routers, services, balancers).
 *
 * A provider is a ProviderStarter that pushes a ProviderResult whenever the configuration may
 * have changed, registered under its name in `providerStarters` below: `docker` (container events,
 * docker-provider.ts) and `swarm` (labels on services, polled every `refreshSeconds`,
 * swarm-provider.ts). Their names end in `@docker` and `@swarm`; throttling, runtime, API and
 * routing are the same for both.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Logger = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

/** A provider's whole configuration, the merge conflicts found building it, and what to log. */
export type ProviderResult = BuildResult;

/** Starts a provider; it calls `push` with its whole configuration whenever that may have changed. */
export type ProviderStarter = (push: (result: ProviderResult, trigger: string) => void, log: Logger) => Promise<RunningProvider>;

function providerStarters(config: StaticConfig): Record<string, ProviderStarter> {
  const starters: Record<string, ProviderStarter> = {};
  const docker = config.docker;
  if (docker) starters.docker = (push, log) => startDockerProvider(docker.endpoint, docker, { configuration: push, log });
  const swarm = config.swarm;
  if (swarm) starters.swarm = (push, log) => startSwarmProvider(swarm.endpoint, swarm, { configuration: push, log });
  return starters;
}

export interface StandIn {
  /** Entry point name → the `host:port` it listens on. */
  entryPoints: Record<string, string>;
  runtime(): Runtime;
  /** Applied provider configurations, by provider name. */
  configurations(): Record<string, DynamicConfig>;
  close(): Promise<void>;
}

function bindAddress(address: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]*)?:(\d+)$/.exec(address)!;
  // The stand-in is for tests: an address without a host listens on loopback, never on every interface.
  const host = (match[1] ?? '').replace(/^\[|\]$/g, '') || '127.0.0.1';
  return { host, port: Number(match[2]) };
}

export async function startStandIn(config: StaticConfig, log: Logger): Promise<StandIn> {
  const registry = new Registry();
  const labels = ['code', 'method', 'protocol'] as const;
  const metrics = {
    serviceRequests: new Counter({ name: 'traefik_service_requests_total', help: 'How many HTTP requests processed on a service, partitioned by status code, protocol, and method.', labelNames: [...labels, 'service'], registers: [registry] }),
    serviceDuration: new Histogram({ name: 'traefik_service_request_duration_seconds', help: 'How long it took to process the request on a service, partitioned by status code, protocol, and method.', labelNames: [...labels, 'service'], buckets: [0.1, 0.3, 1.2, 5], registers: [registry] }),
    entryPointRequests: new Counter({ name: 'traefik_entrypoint_requests_total', help: 'How many HTTP requests processed on an entrypoint, partitioned by status code, protocol, and method.', labelNames: [...labels, 'entrypoint'], registers: [registry] }),
    entryPointDuration: new Histogram({ name: 'traefik_entrypoint_request_duration_seconds', help: 'How long it took to process the request on an entrypoint, partitioned by status code, protocol, and method.', labelNames: [...labels, 'entrypoint'], buckets: [0.1, 0.3, 1.2, 5], registers: [registry] }),
    reloads: new Counter({ name: 'traefik_config_reloads_total', help: 'Config reloads.', registers: [registry] }),
    lastReload: new Gauge({ name: 'traefik_config_last_reload_success', help: 'Last config reload success.', registers: [registry] }),
  };

  const entryPointNames = Object.keys(config.entryPoints);
  const defaultEntryPoints = entryPointNames.length > 1 ? entryPointNames.filter((name) => name !== 'traefik') : entryPointNames;
  const providerConfigs: Record<string, DynamicConfig> = {};
  let state: EntryPointState = { runtime: buildRuntime({}, entryPointNames, defaultEntryPoints), balancers: new Map() };
  let terminating = false;
  const bound: Record<string, string> = {};

  const applyProvider = (provider: string, result: ProviderResult, trigger: string) => {
    for (const entry of result.logs) log(entry.level, entry.msg, { providerName: provider, ...(entry.container ? { container: entry.container } : {}) });
    const previous = providerConfigs[provider];
    if (previous && canonical(previous) === canonical(result.config)) {
      log('debug', 'Skipping unchanged configuration', { providerName: provider, trigger });
      return;
    }
    providerConfigs[provider] = result.config;
    const runtime = buildRuntime(providerConfigs, entryPointNames, defaultEntryPoints);
    const balancers = new Map(Object.entries(runtime.services).map(([name, service]) => [name, new Balancer(service.loadBalancer.servers ?? [])]));
    state = { runtime, balancers };
    metrics.reloads.inc();
    metrics.lastReload.set(Date.now() / 1000);
    log('info', 'Configuration applied', {
      providerName: provider,
      trigger,
      routers: Object.fromEntries(Object.entries(runtime.routers).map(([name, router]) => [name, router.status])),
      services: Object.fromEntries(Object.entries(runtime.services).map(([name, service]) => [name, (service.loadBalancer.servers ?? []).map((s) => s.url)])),
    });
  };

  const record = (r: RequestRecord) => {
    const code = String(r.code);
    metrics.entryPointRequests.inc({ code, method: r.method, protocol: 'http', entrypoint: r.entryPoint });
    metrics.entryPointDuration.observe({ code, method: r.method, protocol: 'http', entrypoint: r.entryPoint }, r.seconds);
    if (r.service) {
      metrics.serviceRequests.inc({ code, method: r.method, protocol: 'http', service: r.service });
      metrics.serviceDuration.observe({ code, method: r.method, protocol: 'http', service: r.service }, r.seconds);
    }
  };

  const servers: HttpServer[] = [];
  const agents: { destroy(): void }[] = [];
  const startDate = new Date().toISOString();
  for (const name of entryPointNames) {
    let port = 0;
    const proxy = createEntryPointHandler(name, () => port, () => state, record);
    agents.push(proxy.agent);
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (config.ping?.entryPoint === name && path === '/ping') {
        res.writeHead(terminating ? 503 : 200, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(terminating ? 'Service Unavailable' : 'OK');
        return;
      }
      if (config.metrics?.entryPoint === name && path === '/metrics') {
        void registry.metrics().then((text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        });
        return;
      }
      if (config.api && name === 'traefik' && handleApi({ runtime: () => state.runtime, entryPoints: () => bound, providers: Object.keys(providerConfigs).map((p) => p[0]!.toUpperCase() + p.slice(1)), startDate }, req, res)) return;
      proxy.handler(req, res);
    });
    const { host, port: wanted } = bindAddress(config.entryPoints[name]!.address);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(new Error(`entry point ${name} cannot listen on ${host}:${wanted}: ${error.message}`)));
      server.listen(wanted, host, () => resolve());
    });
    const address = server.address() as AddressInfo;
    port = address.port;
    bound[name] = `${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
    servers.push(server);
  }

  const throttles: Throttle<{ result: ProviderResult; trigger: string }>[] = [];
  const providers: RunningProvider[] = [];
  for (const [name, start] of Object.entries(providerStarters(config))) {
    const throttle = createThrottle<{ result: ProviderResult; trigger: string }>(config.providersThrottleMs, ({ result, trigger }) => applyProvider(name, result, trigger));
    throttles.push(throttle);
    providers.push(
      await start((result, trigger) => {
        log('debug', 'Provider event received', { providerName: name, trigger });
        throttle.push({ result, trigger });
      }, log),
    );
  }
  log('info', `Traefik stand-in ${STAND_IN_VERSION} started`, { entryPoints: bound });

  return {
    entryPoints: bound,
    runtime: () => state.runtime,
    configurations: () => ({ ...providerConfigs }),
    async close() {
      terminating = true;
      for (const provider of providers) provider.stop();
      for (const throttle of throttles) throttle.close();
      for (const agent of agents) agent.destroy();
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeAllConnections();
            }),
        ),
      );
    },
  };
}
