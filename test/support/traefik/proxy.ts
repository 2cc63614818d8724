import { Agent, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Server } from './dynamic';
import type { RoutingTarget, Runtime, ServiceNode } from './runtime';
import { WeightedRoundRobin } from './wrr';

/**
 * An entry point: picks the highest-priority enabled router whose rule matches, then walks its
 * service's handler tree (services.ts): a `weighted` service picks a child by weighted round
 * robin, a `mirroring` service answers from its main service and sends copies to its mirrors, a
 * load balancer picks a server and forwards the request. As Traefik answers: 404
 * `404 page not found` when no router matches, 503 `no available server` when a balancer has no
 * server (or child) up, 502 `Bad Gateway` when the server cannot be reached or drops the
 * connection. No retries (Traefik retries only with the retry middleware).
 *
 * Service metrics are recorded where Traefik records them: around each server of a load
 * balancer (service.go getLoadBalancerServiceHandler wraps every server's proxy in
 * ServiceMetricsHandler with the load balancer's own name). So a request through a weighted
 * service counts once, on the load balancer that answered it, never on the weighted parent;
 * a mirrored copy counts on the mirror's load balancer; a 503 from an empty balancer counts on
 * no service.
 */
export class Balancer extends WeightedRoundRobin<Server> {
  constructor(servers: Server[]) {
    super(servers.map((server) => ({ name: server.url, item: server, weight: server.weight ?? 1 })));
  }
}

export interface RequestRecord {
  entryPoint: string;
  method: string;
  code: number;
  seconds: number;
}

export interface ServiceRecord {
  service: string;
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

/**
 * The state requests share for one applied configuration: one balancer per built service and
 * the mirroring counters. Replaced on every reload, as Traefik rebuilds its handlers.
 */
export interface EntryPointState {
  runtime: Runtime;
  balancers: Map<string, WeightedRoundRobin<unknown>>;
  mirrorCounts: Map<string, { total: number; counts: number[] }>;
}

/** Balancers for every service some router built, children by name, servers by URL. */
export function createState(runtime: Runtime): EntryPointState {
  const balancers = new Map<string, WeightedRoundRobin<unknown>>();
  for (const [name, node] of runtime.nodes) {
    if (node.kind === 'loadBalancer') balancers.set(name, new Balancer(node.servers));
    if (node.kind === 'weighted') balancers.set(name, new WeightedRoundRobin(node.children.map((child) => ({ name: child.name, item: child.node, weight: child.weight }))));
  }
  return { runtime, balancers, mirrorCounts: new Map() };
}

/** Where an answer goes: the client, or nowhere (a mirror's answer). */
interface Reply {
  upstream(response: IncomingMessage): void;
  plain(code: number, text: string): void;
  /** The server dropped the connection after the headers were sent. */
  abort(): void;
  /** Called once the answer is complete (or abandoned). */
  done: Promise<void>;
}

interface Exchange {
  req: IncomingMessage;
  /** The request body when it had to be read in full (mirroring); otherwise it is streamed from req. */
  body?: Buffer;
  port: number;
  /** The client went away: stop forwarding. */
  onClose(fn: () => void): void;
}

/** mirror.go getActiveMirrors: mirror i gets request n when count_i * 100 < n * percent_i. */
function activeMirrors(state: EntryPointState, node: Extract<ServiceNode, { kind: 'mirroring' }>): number[] {
  let counter = state.mirrorCounts.get(node.name);
  if (!counter) state.mirrorCounts.set(node.name, (counter = { total: 0, counts: node.mirrors.map(() => 0) }));
  counter.total++;
  const active: number[] = [];
  node.mirrors.forEach((mirror, index) => {
    if (counter.counts[index]! * 100 < counter.total * mirror.percent) {
      counter.counts[index]!++;
      active.push(index);
    }
  });
  return active;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** A reply that discards the answer, as mirror.go's blackHoleResponseWriter. */
function discardReply(): Reply {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    upstream(response) {
      response.resume();
      response.on('end', finish);
      response.on('error', finish);
    },
    plain: () => finish(),
    abort: () => finish(),
    done,
  };
}

export function createEntryPointHandler(entryPoint: string, port: () => number, state: () => EntryPointState, record: (r: RequestRecord) => void, recordService: (r: ServiceRecord) => void) {
  // Like Go's http.Transport: reuse idle connections (most recent first), no response timeout.
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 200, scheduling: 'lifo' });

  const forward = (node: Extract<ServiceNode, { kind: 'loadBalancer' }>, server: Server, exchange: Exchange, reply: Reply) => {
    const started = process.hrtime.bigint();
    const { req } = exchange;
    const method = req.method ?? 'GET';
    const count = (code: number) => recordService({ service: node.name, method, code, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
    const upstreamUrl = new URL(server.url);
    const headers = forwardHeaders(req.headers);
    const clientIp = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const prior = req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = prior ? `${String(prior)}, ${clientIp}` : clientIp;
    headers['x-forwarded-host'] = req.headers.host ?? '';
    headers['x-forwarded-port'] = String(exchange.port);
    headers['x-forwarded-proto'] = 'http';
    headers['x-forwarded-server'] = 'traefik-stand-in';
    headers['x-real-ip'] = clientIp;
    if (!node.passHostHeader) headers.host = upstreamUrl.host;
    if (exchange.body !== undefined) {
      delete headers['transfer-encoding'];
      headers['content-length'] = String(exchange.body.length);
    }

    const upstream = request({ host: upstreamUrl.hostname.replace(/^\[|\]$/g, ''), port: upstreamUrl.port || 80, method, path: req.url, headers, agent }, (response) => {
      reply.upstream(response);
      response.on('end', () => count(response.statusCode ?? 502));
      response.on('error', () => reply.abort());
    });
    // Traefik's default dial timeout (serversTransport forwardingTimeouts.dialTimeout); a timeout answers 504.
    let dialTimedOut = false;
    let answered = false;
    upstream.on('response', () => (answered = true));
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
      if (answered) return reply.abort();
      const code = dialTimedOut ? 504 : 502;
      reply.plain(code, dialTimedOut ? 'Gateway Timeout' : 'Bad Gateway');
      count(code);
    });
    if (exchange.body !== undefined) upstream.end(exchange.body);
    else req.pipe(upstream);
    exchange.onClose(() => upstream.destroy());
  };

  const serve = (node: ServiceNode, exchange: Exchange, reply: Reply): void => {
    const current = state();
    if (node.kind === 'loadBalancer') {
      const server = (current.balancers.get(node.name) as Balancer | undefined)?.next();
      if (!server) return reply.plain(503, 'no available server\n');
      return forward(node, server, exchange, reply);
    }
    if (node.kind === 'weighted') {
      const child = (current.balancers.get(node.name) as WeightedRoundRobin<ServiceNode> | undefined)?.next();
      if (!child) return reply.plain(503, 'no available server\n');
      return serve(child, exchange, reply);
    }
    const mirrors = activeMirrors(current, node);
    if (mirrors.length === 0) return serve(node.main, exchange, reply);
    void (async () => {
      let body: Buffer | undefined;
      if (node.mirrorBody) {
        try {
          body = exchange.body ?? (await readBody(exchange.req));
        } catch {
          return reply.plain(500, 'Internal Server Error\n');
        }
        // Over maxBodySize: this request is not mirrored (NewReusableRequest's ErrBodyTooLarge).
        if (node.maxBodySize >= 0 && body.length > node.maxBodySize) return serve(node.main, { ...exchange, body }, reply);
      }
      serve(node.main, body !== undefined ? { ...exchange, body } : exchange, reply);
      await reply.done;
      // The copies go out after the main answer, one after the other, and their answers are dropped.
      for (const index of mirrors) {
        const copy = discardReply();
        serve(node.mirrors[index]!.node, { ...exchange, body: node.mirrorBody ? body : Buffer.alloc(0), onClose: () => {} }, copy);
        await copy.done;
      }
    })();
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const { runtime } = state();
    const facts = { host: hostOf(req), path: url.pathname, method: req.method ?? 'GET', headers: req.headers, query: url.searchParams };
    const target: RoutingTarget | undefined = runtime.routing[entryPoint]?.find((candidate) => candidate.rule.matches(facts));
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    let finished = false;
    const complete = (code: number) => {
      if (finished) return;
      finished = true;
      record({ entryPoint, method: req.method ?? 'GET', code, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
      finish();
    };
    const reply: Reply = {
      upstream(response) {
        res.writeHead(response.statusCode ?? 502, forwardHeaders(response.headers));
        response.pipe(res);
        response.on('end', () => complete(response.statusCode ?? 502));
      },
      plain(code, text) {
        if (res.headersSent) return reply.abort();
        res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', 'content-length': Buffer.byteLength(text) });
        res.end(text);
        complete(code);
      },
      abort() {
        res.destroy();
        finish();
      },
      done,
    };
    res.on('close', () => finish());
    if (!target) return reply.plain(404, '404 page not found\n');
    serve(target.node, { req, port: port(), onClose: (fn) => res.on('close', () => !res.writableFinished && fn()) }, reply);
  };
  return { handler, agent };
}
