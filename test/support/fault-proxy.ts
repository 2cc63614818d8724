import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy between a client and a registry that misbehaves on purpose: it cuts connections
 * once a chosen number of request-body bytes went through, and answers chosen requests itself
 * with a status (500, 429 + Retry-After, 401 + a challenge) without the registry seeing them. It
 * reads just enough HTTP/1.1 (request line, headers, Content-Length bodies) to count requests;
 * everything else passes through byte for byte. It also counts the body bytes that reached the
 * registry, so a test can tell how much was really uploaded.
 */
export interface FaultRule {
  method?: string;
  /** Matched against the request target (path and query). */
  path?: RegExp;
  /** Apply to the nth matching request only (1-based); every matching one when left out. */
  nth?: number;
  /** Answer with this status instead of forwarding. */
  respond?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Forward this many body bytes of the request, then cut both connections. */
  cutAfterBodyBytes?: number;
}

export interface ProxiedRequest {
  method: string;
  path: string;
  /** What the proxy did: forwarded, or the fault it applied. */
  fault?: 'respond' | 'cut';
  status?: number;
}

export interface FaultProxy {
  /** `127.0.0.1:PORT`, to put in image references instead of the registry's. */
  host: string;
  requests: ProxiedRequest[];
  /** Request-body bytes that reached the registry, by request path pattern. */
  bodyBytesForwarded(match?: RegExp): number;
  setRules(rules: FaultRule[]): void;
  stop(): Promise<void>;
}

interface Counted {
  path: string;
  bytes: number;
}

export async function startFaultProxy(upstream: string, initialRules: FaultRule[] = []): Promise<FaultProxy> {
  const [upstreamHost, upstreamPort] = [upstream.slice(0, upstream.lastIndexOf(':')), Number(upstream.slice(upstream.lastIndexOf(':') + 1))];
  let rules = initialRules;
  let matches = new Map<FaultRule, number>();
  const requests: ProxiedRequest[] = [];
  const forwarded: Counted[] = [];
  const sockets = new Set<Socket>();

  const pick = (method: string, path: string): FaultRule | undefined => {
    for (const rule of rules) {
      if (rule.method && rule.method !== method) continue;
      if (rule.path && !rule.path.test(path)) continue;
      const count = (matches.get(rule) ?? 0) + 1;
      matches.set(rule, count);
      if (rule.nth === undefined || rule.nth === count) return rule;
    }
    return undefined;
  };

  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    let upstreamSocket: Socket | undefined;
    const connectUpstream = () => {
      if (upstreamSocket && !upstreamSocket.destroyed) return upstreamSocket;
      const socket = createConnection({ host: upstreamHost, port: upstreamPort });
      sockets.add(socket);
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
      });
      socket.on('error', () => client.destroy());
      socket.on('drain', () => client.resume());
      socket.pipe(client, { end: true });
      upstreamSocket = socket;
      return socket;
    };
    const forward = (chunk: Buffer) => {
      if (chunk.length === 0) return;
      const socket = connectUpstream();
      if (!socket.write(chunk)) client.pause();
    };

    let buffer: Buffer = Buffer.alloc(0);
    let state: 'head' | 'body' | 'raw' = 'head';
    let bodyLeft = 0;
    let current: { rule?: FaultRule; counted?: Counted; bodySeen: number } = { bodySeen: 0 };

    const process = () => {
      for (;;) {
        if (state === 'raw') {
          forward(buffer);
          buffer = Buffer.alloc(0);
          return;
        }
        if (state === 'head') {
          const end = buffer.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = buffer.subarray(0, end + 4);
          buffer = buffer.subarray(end + 4);
          const lines = head.toString('latin1').split('\r\n');
          const [method = '', path = ''] = lines[0]!.split(' ');
          const headers = new Map(
            lines
              .slice(1)
              .filter(Boolean)
              .map((l) => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
          );
          const rule = pick(method, path);
          const request: ProxiedRequest = { method, path, fault: rule?.respond ? 'respond' : rule?.cutAfterBodyBytes !== undefined ? 'cut' : undefined, status: rule?.respond };
          requests.push(request);
          if (headers.get('transfer-encoding')?.includes('chunked')) {
            forward(head);
            state = 'raw';
            continue;
          }
          bodyLeft = Number(headers.get('content-length') ?? 0);
          current = { rule, bodySeen: 0 };
          if (!rule?.respond) {
            current.counted = { path, bytes: 0 };
            forwarded.push(current.counted);
            forward(head);
          }
          state = 'body';
        }
        // state === 'body'
        const take = Math.min(bodyLeft, buffer.length);
        const piece = buffer.subarray(0, take);
        buffer = buffer.subarray(take);
        bodyLeft -= take;
        const { rule } = current;
        if (rule?.cutAfterBodyBytes !== undefined && current.bodySeen + piece.length >= rule.cutAfterBodyBytes) {
          const allowed = piece.subarray(0, rule.cutAfterBodyBytes - current.bodySeen);
          forward(allowed);
          current.counted!.bytes += allowed.length;
          const cut = () => {
            upstreamSocket?.destroy();
            client.destroy();
          };
          if (upstreamSocket && upstreamSocket.writableLength > 0) upstreamSocket.once('drain', cut);
          else setImmediate(cut);
          return;
        }
        current.bodySeen += piece.length;
        if (!rule?.respond) {
          forward(piece);
          current.counted!.bytes += piece.length;
        }
        if (bodyLeft > 0) return;
        if (rule?.respond) {
          const body = rule.body ?? JSON.stringify({ errors: [{ code: 'UNKNOWN', message: `fault proxy answered ${rule.respond}` }] });
          const extra = Object.entries(rule.headers ?? {})
            .map(([k, v]) => `${k}: ${v}\r\n`)
            .join('');
          client.write(`HTTP/1.1 ${rule.respond} Fault\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`);
        }
        state = 'head';
        if (buffer.length === 0) return;
      }
    };

    client.on('data', (chunk: Buffer) => {
      buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      process();
    });
    client.on('end', () => upstreamSocket?.end());
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    bodyBytesForwarded: (match) => forwarded.filter((c) => !match || match.test(c.path)).reduce((sum, c) => sum + c.bytes, 0),
    setRules(next) {
      rules = next;
      matches = new Map();
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
