import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { handleApi, STAND_IN_VERSION } from './api';
import type { BuildResult } from './docker-config';
import { startDockerProvider, type RunningProvider } from './docker-provider';
import { startSwarmProvider } from './swarm-provider';
import { startFileProvider } from './file-provider';
import { canonical, type DynamicConfig } from './dynamic';
import { createEntryPointHandler, createState, type EntryPointState, type RequestRecord, type ServiceRecord } from './proxy';
import { buildRuntime, type Runtime } from './runtime';
import type { StaticConfig } from './static-config';
import { createThrottle, type Throttle } from './throttle';
import { startHealthChecks } from './health';

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
  const file = config.file;
  if (file) starters.file = (push, log) => startFileProvider(file, { configuration: push, log });
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
    serviceRequests: new Counter({
      name: 'traefik_service_requests_total',
      help: 'How many HTTP requests processed on a service, partitioned by status code, protocol, and method.',
      labelNames: [...labels, 'service'],
      registers: [registry],
    }),
    serviceDuration: new Histogram({
      name: 'traefik_service_request_duration_seconds',
      help: 'How long it took to process the request on a service, partitioned by status code, protocol, and method.',
      labelNames: [...labels, 'service'],
      buckets: [0.1, 0.3, 1.2, 5],
      registers: [registry],
    }),
    entryPointRequests: new Counter({
      name: 'traefik_entrypoint_requests_total',
      help: 'How many HTTP requests processed on an entrypoint, partitioned by status code, protocol, and method.',
      labelNames: [...labels, 'entrypoint'],
      registers: [registry],
    }),
    entryPointDuration: new Histogram({
      name: 'traefik_entrypoint_request_duration_seconds',
      help: 'How long it took to process the request on an entrypoint, partitioned by status code, protocol, and method.',
      labelNames: [...labels, 'entrypoint'],
      buckets: [0.1, 0.3, 1.2, 5],
      registers: [registry],
    }),
    // The service metrics of pkg/observability/metrics/prometheus.go (addServicesLabels, on by default).
    serviceRetries: new Counter({ name: 'traefik_service_retries_total', help: 'How many request retries happened on a service.', labelNames: ['service'], registers: [registry] }),
    serviceServerUp: new Gauge({ name: 'traefik_service_server_up', help: 'service server is up, described by gauge value of 0 or 1.', labelNames: ['service', 'url'], registers: [registry] }),
    // v3 has no per-service open connections (migrate/v2-to-v3-details.md "Open Connections Metric"): one gauge per entry point.
    openConnections: new Gauge({ name: 'traefik_open_connections', help: 'How many open connections exist, by entryPoint and protocol', labelNames: ['entrypoint', 'protocol'], registers: [registry] }),
    reloads: new Counter({ name: 'traefik_config_reloads_total', help: 'Config reloads.', registers: [registry] }),
    lastReload: new Gauge({ name: 'traefik_config_last_reload_success', help: 'Last config reload success.', registers: [registry] }),
  };

  const entryPointNames = Object.keys(config.entryPoints);
  const defaultEntryPoints = entryPointNames.length > 1 ? entryPointNames.filter((name) => name !== 'traefik') : entryPointNames;
  const providerConfigs: Record<string, DynamicConfig> = {};
  let state: EntryPointState = createState(buildRuntime({}, entryPointNames, defaultEntryPoints));
  let healthChecks = { stop() {} };
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
    healthChecks.stop();
    state = createState(runtime);
    healthChecks = startHealthChecks(state, { serverUp: (service, url, up) => metrics.serviceServerUp.set({ service, url }, up ? 1 : 0), log });
    metrics.reloads.inc();
    metrics.lastReload.set(Date.now() / 1000);
    log('info', 'Configuration applied', {
      providerName: provider,
      trigger,
      routers: Object.fromEntries(Object.entries(runtime.routers).map(([name, router]) => [name, router.status])),
      services: Object.fromEntries(Object.entries(runtime.services).map(([name, service]) => [name, service.loadBalancer ? (service.loadBalancer.servers ?? []).map((s) => s.url) : (service.weighted ?? service.mirroring)])),
    });
  };

  const record = (r: RequestRecord) => {
    const code = String(r.code);
    metrics.entryPointRequests.inc({ code, method: r.method, protocol: 'http', entrypoint: r.entryPoint });
    metrics.entryPointDuration.observe({ code, method: r.method, protocol: 'http', entrypoint: r.entryPoint }, r.seconds);
  };
  const recordService = (r: ServiceRecord) => {
    const code = String(r.code);
    metrics.serviceRequests.inc({ code, method: r.method, protocol: 'http', service: r.service });
    metrics.serviceDuration.observe({ code, method: r.method, protocol: 'http', service: r.service }, r.seconds);
  };

  // /api/overview lists the providers of the static configuration (handler_overview.go getProviders:
  // the non-nil fields of static.Providers, in field order), whether or not they started.
  const configuredProviders = (['docker', 'swarm', 'file'] as const).filter((name) => config[name]).map((name) => name[0]!.toUpperCase() + name.slice(1));
  const servers: HttpServer[] = [];
  const agents: { destroy(): void }[] = [];
  const startDate = new Date().toISOString();
  for (const name of entryPointNames) {
    let port = 0;
    const proxy = createEntryPointHandler(
      name,
      () => port,
      () => state,
      record,
      recordService,
    );
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
      if (config.api && name === 'traefik' && handleApi({ runtime: () => state.runtime, entryPoints: () => bound, providers: configuredProviders, startDate }, req, res)) return;
      proxy.handler(req, res);
    });
    server.on('connection', (socket) => {
      metrics.openConnections.inc({ entrypoint: name, protocol: 'TCP' });
      socket.once('close', () => metrics.openConnections.dec({ entrypoint: name, protocol: 'TCP' }));
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
    const push = (result: ProviderResult, trigger: string) => {
      log('debug', 'Provider event received', { providerName: name, trigger });
      throttle.push({ result, trigger });
    };
    if (name !== 'file') {
      providers.push(await start(push, log));
      continue;
    }
    // Traefik's aggregator logs a provider that fails to start and runs on without it
    // (e.g. providers.file.directory missing): routing from that provider is simply absent.
    try {
      providers.push(await start(push, log));
    } catch (error) {
      log('error', 'Cannot start the provider', { providerName: name, error: (error as Error).message });
    }
  }
  log('info', `Traefik stand-in ${STAND_IN_VERSION} started`, { entryPoints: bound });

  return {
    entryPoints: bound,
    runtime: () => state.runtime,
    configurations: () => ({ ...providerConfigs }),
    async close() {
      terminating = true;
      healthChecks.stop();
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
