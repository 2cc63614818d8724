import { renameSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** Real HTTP servers and routing files for the file provider's tests. */
export interface Backend {
  name: string;
  url: string;
  /** Requests seen (not health probes), with the body each carried. */
  seen: { method: string; path: string; body: string; headers: Record<string, unknown> }[];
  /** What `GET /health` answers: 200 while true, 503 while false. */
  healthy: boolean;
  server: Server;
}

const backends: Backend[] = [];

/** A server that answers its own name with `status`, serves /health, and records what it saw. */
export async function backend(name: string, status = 200): Promise<Backend> {
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      if (req.url === '/health') {
        res.writeHead(b.healthy ? 200 : 503);
        res.end();
        return;
      }
      b.seen.push({ method: req.method ?? '', path: req.url ?? '', body, headers: req.headers });
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(name);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const b: Backend = { name, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen: [], healthy: true, server };
  backends.push(b);
  return b;
}

export function closeBackends(): void {
  for (const b of backends.splice(0)) b.server.close();
}

/** Writes `name` the way the toolkit must: a temporary file in the same directory, renamed over the target. */
export function writeAtomically(directory: string, name: string, content: string): void {
  const temporary = join(directory, `.${name}.${process.pid}.tmp`);
  writeFileSync(temporary, content);
  renameSync(temporary, join(directory, name));
}

/** A load-balancer service of one server, as YAML under `http.services`. */
export const lb = (name: string, url: string, extra = '') => `    ${name}:\n      loadBalancer:\n        servers:\n          - url: ${url}\n${extra}`;

/** `traefik_service_requests_total` samples from a /metrics text: labels → value. */
export function serviceRequests(metrics: string): { labels: string; value: number }[] {
  return metrics
    .split('\n')
    .map((line) => /^traefik_service_requests_total\{(.*)\} (\S+)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ labels: match[1]!, value: Number(match[2]) }));
}
