import { Agent, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Server } from './dynamic';
import type { RoutingTarget, Runtime } from './runtime';

/**
 * An entry point: picks the highest-priority enabled router whose rule matches, then a server of
 * its service by (smooth) weighted round robin, and forwards the request. As Traefik answers:
 * 404 `404 page not found` when no router matches, 503 `no available server` when the service
 * has no servers, 502 `Bad Gateway` when the server cannot be reached or drops the connection.
 * No retries (Traefik retries only with the retry middleware).
 */
export class Balancer {
  private readonly entries: { server: Server; current: number }[];

  constructor(servers: Server[]) {
    this.entries = servers.filter((server) => (server.weight ?? 1) > 0).map((server) => ({ server, current: 0 }));
  }

  next(): Server | undefined {
    if (this.entries.length === 0) return undefined;
    let total = 0;
    let best = this.entries[0]!;
    for (const entry of this.entries) {
      const weight = entry.server.weight ?? 1;
      entry.current += weight;
      total += weight;
      if (entry.current > best.current) best = entry;
    }
    best.current -= total;
    return best.server;
  }
}

export interface RequestRecord {
  entryPoint: string;
  service: string | undefined;
  method: string;
  code: number;
  seconds: number;
}

const DIAL_TIMEOUT_MS = 30_000;

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-connection']);

function forwardHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const listed = String(headers.connection ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HOP_BY_HOP.has(name) && !listed.includes(name)) out[name] = value;
  }
  return out;
}

function hostOf(req: IncomingMessage): string {
  const host = req.headers.host ?? '';
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
}

export interface EntryPointState {
  runtime: Runtime;
  balancers: Map<string, Balancer>;
}

export function createEntryPointHandler(entryPoint: string, port: () => number, state: () => EntryPointState, record: (r: RequestRecord) => void) {
  // Like Go's http.Transport: reuse idle connections (most recent first), no response timeout.
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 200, scheduling: 'lifo' });

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const { runtime, balancers } = state();
    const facts = { host: hostOf(req), path: url.pathname, method: req.method ?? 'GET', headers: req.headers, query: url.searchParams };
    const target: RoutingTarget | undefined = runtime.routing[entryPoint]?.find((candidate) => candidate.rule.matches(facts));
    const finish = (code: number) => record({ entryPoint, service: target?.service, method: req.method ?? 'GET', code, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
    const plain = (code: number, text: string) => {
      res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      finish(code);
    };
    if (!target) return plain(404, '404 page not found\n');
    const server = balancers.get(target.service)?.next();
    if (!server) return plain(503, 'no available server\n');

    const upstreamUrl = new URL(server.url);
    const headers = forwardHeaders(req.headers);
    const clientIp = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const prior = req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = prior ? `${String(prior)}, ${clientIp}` : clientIp;
    headers['x-forwarded-host'] = req.headers.host ?? '';
    headers['x-forwarded-port'] = String(port());
    headers['x-forwarded-proto'] = 'http';
    headers['x-forwarded-server'] = 'traefik-stand-in';
    headers['x-real-ip'] = clientIp;
    const passHost = runtime.services[target.service]?.loadBalancer.passHostHeader ?? true;
    if (!passHost) headers.host = upstreamUrl.host;

    const upstream = request({ host: upstreamUrl.hostname.replace(/^\[|\]$/g, ''), port: upstreamUrl.port || 80, method: req.method, path: req.url, headers, agent }, (response) => {
      res.writeHead(response.statusCode ?? 502, forwardHeaders(response.headers));
      response.pipe(res);
      response.on('end', () => finish(response.statusCode ?? 502));
      response.on('error', () => res.destroy());
    });
    // Traefik's default dial timeout (serversTransport forwardingTimeouts.dialTimeout); a timeout answers 504.
    let dialTimedOut = false;
    upstream.on('socket', (socket) => {
      if (!socket.connecting) return;
      const timer = setTimeout(() => {
        dialTimedOut = true;
        upstream.destroy(new Error('dial timeout'));
      }, DIAL_TIMEOUT_MS);
      socket.once('connect', () => clearTimeout(timer));
      socket.once('close', () => clearTimeout(timer));
    });
    upstream.on('error', () => {
      if (!res.headersSent) plain(dialTimedOut ? 504 : 502, dialTimedOut ? 'Gateway Timeout' : 'Bad Gateway');
      else res.destroy();
    });
    req.pipe(upstream);
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
  };
  return { handler, agent };
}
