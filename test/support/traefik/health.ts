import { request } from 'node:http';
import type { EntryPointState } from './proxy';
import type { HealthCheckSpec, ServiceNode } from './services';
import type { WeightedRoundRobin } from './wrr';

/**
 * Traefik's active health checks (pkg/healthcheck/healthcheck.go) and their propagation
 * (service.go getWRRServiceHandler, wrr.go SetStatus, mirror.go RegisterStatusUpdater):
 * - a load balancer with `healthCheck` probes each server every `interval` (default 30 s; the first
 *   probe one interval after the configuration is applied: a ticker), with `timeout` (default 5 s);
 *   a server is up when it answers 2xx or 3xx (or exactly `status` when set). Servers start UP
 *   on every reload. The result goes to the balancer (a down server gets no requests), to the
 *   API's `serverStatus`, and to `traefik_service_server_up{service,url}` (1 or 0);
 * - a `weighted` service with `healthCheck: {}` hears from each child when the child as a whole
 *   goes down (no server up) or back up, skips the down child, and tells its own parents in turn;
 *   a `mirroring` service with `healthCheck: {}` passes on its main service's status.
 */
export interface HealthEvents {
  serverUp(service: string, url: string, up: boolean): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
}

/** Methods Go sends again on a new connection (Request.isReplayable); a check has no body. */
const REPLAYABLE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * One health check request, as Traefik's client sends it (checkHealthHTTP): through a keep-alive
 * transport, and, like Go's http.Transport (transport.go, shouldRetryRequest), sent once more on a
 * new connection when it went out on a reused idle connection that the server closed before
 * answering (Node marks such a request `reusedSocket`). A server that closes idle connections
 * after as long as the check's interval (gunicorn's keepalive is 2 s, deploy's health-interval is
 * 2 s) closes one under about every tenth check; Go retries those, so Traefik never marks such a
 * server down for it, and neither may the stand-in. A failure on a new connection is the check's
 * (the second try has no agent, so it never reuses a connection).
 */
export function probe(url: string, spec: HealthCheckSpec): Promise<string | undefined> {
  const deadline = Date.now() + spec.timeoutMs;
  const target = new URL(url);
  if (spec.scheme) target.protocol = `${spec.scheme}:`;
  if (spec.port) target.port = String(spec.port);
  const path = spec.path.startsWith('/') ? spec.path : `/${spec.path}`;
  const send = (fresh: boolean): Promise<string | undefined> =>
    new Promise((resolve) => {
      let answered = false;
      let timedOut = false;
      const req = request(
        {
          host: target.hostname.replace(/^\[|\]$/g, ''),
          port: target.port || 80,
          path,
          method: spec.method,
          headers: { ...spec.headers, ...(spec.hostname ? { host: spec.hostname } : {}) },
          timeout: Math.max(1, deadline - Date.now()),
          ...(fresh ? { agent: false } : {}),
        },
        (res) => {
          answered = true;
          res.resume();
          const code = res.statusCode ?? 0;
          if (spec.status === 0 && (code < 200 || code >= 400)) resolve(`received error status code: ${code}`);
          else if (spec.status !== 0 && code !== spec.status) resolve(`received error status code: ${code} expected status code: ${spec.status}`);
          else resolve(undefined);
        },
      );
      req.on('timeout', () => ((timedOut = true), req.destroy(new Error('context deadline exceeded'))));
      req.on('error', (error) => {
        if (!answered && !timedOut && req.reusedSocket && REPLAYABLE.has(spec.method.toUpperCase()) && Date.now() < deadline) resolve(send(true));
        else resolve(error.message);
      });
      req.end();
    });
  return send(false);
}

/** Starts the checks of one applied configuration; stop() before the next one starts. */
export function startHealthChecks(state: EntryPointState, events: HealthEvents): { stop(): void } {
  const timers: ReturnType<typeof setInterval>[] = [];
  const updaters = new Map<string, ((up: boolean) => void)[]>();
  let stopped = false;

  const register = (node: ServiceNode, fn: (up: boolean) => void) => {
    if (node.kind === 'mirroring') return register(node.main, fn);
    const list = updaters.get(node.name) ?? [];
    list.push(fn);
    updaters.set(node.name, list);
  };
  const propagate = (name: string, up: boolean) => {
    for (const fn of updaters.get(name) ?? []) fn(up);
  };

  for (const [name, node] of state.runtime.nodes) {
    if (node.kind !== 'weighted' || !node.healthCheck) continue;
    const balancer = state.balancers.get(name) as WeightedRoundRobin<ServiceNode> | undefined;
    for (const child of node.children) {
      register(child.node, (up) => {
        events.log('debug', `Setting status of ${child.name} to ${up ? 'UP' : 'DOWN'}`, { serviceName: name });
        if (balancer?.setStatus(child.name, up)) propagate(name, balancer.anyUp);
      });
    }
  }

  for (const [name, node] of state.runtime.nodes) {
    if (node.kind !== 'loadBalancer' || !node.healthCheck) continue;
    const spec = node.healthCheck;
    const balancer = state.balancers.get(name);
    let checking = false;
    timers.push(
      setInterval(() => {
        if (checking) return;
        checking = true;
        void (async () => {
          for (const server of node.servers) {
            const failure = await probe(server.url, spec);
            if (stopped) return;
            if (failure) events.log('warn', 'Health check failed.', { serviceName: name, targetURL: server.url, error: failure });
            const info = state.runtime.services[name];
            if (info?.serverStatus) info.serverStatus[server.url] = failure ? 'DOWN' : 'UP';
            events.serverUp(name, server.url, !failure);
            if (balancer?.setStatus(server.url, !failure)) propagate(name, balancer.anyUp);
          }
        })().finally(() => (checking = false));
      }, spec.intervalMs),
    );
  }

  return {
    stop() {
      stopped = true;
      for (const timer of timers) clearInterval(timer);
    },
  };
}
