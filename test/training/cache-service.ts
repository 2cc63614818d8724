import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { errorMessage } from '../../src/inputs/errors';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for GitHub's Actions cache service (the v1 REST protocol `@actions/cache` speaks on
 * GitHub Enterprise Server and when ACTIONS_CACHE_SERVICE_V2 is unset): look up by keys and
 * version, reserve, upload in ranges, commit, download. Matching follows GitHub's documented
 * rules: the primary key must match exactly; each restore key matches exactly, or else the newest
 * entry whose key starts with it. Entries are immutable: reserving an existing key is refused.
 */

interface Entry {
  id: number;
  key: string;
  version: string;
  created: number;
  chunks: Map<number, Buffer>;
  committed: boolean;
}

export interface CacheServiceStandIn {
  /** ACTIONS_CACHE_URL (with the trailing slash the library expects). */
  url: string;
  entries(): { key: string; version: string; size: number }[];
  requests: string[];
  stop(): Promise<void>;
}

const body = async (req: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

export async function startCacheService(): Promise<CacheServiceStandIn> {
  const entries: Entry[] = [];
  let nextId = 1;
  let clock = 0;
  const standIn: Partial<CacheServiceStandIn> & { requests: string[] } = { requests: [] };
  const archive = (entry: Entry) => Buffer.concat([...entry.chunks.entries()].sort(([a], [b]) => a - b).map(([, chunk]) => chunk));

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    standIn.requests.push(`${req.method} ${url.pathname}${url.search}`);
    const json = (status: number, value?: unknown) => {
      res.writeHead(status, value === undefined ? {} : { 'content-type': 'application/json' });
      res.end(value === undefined ? undefined : JSON.stringify(value));
    };
    // The API wants the runtime token; archive locations are pre-signed URLs and take none.
    if (url.pathname.startsWith('/_apis/') && !req.headers.authorization?.startsWith('Bearer ')) return json(401, { message: 'no runtime token' });

    if (req.method === 'GET' && url.pathname === '/_apis/artifactcache/cache') {
      const keys = (url.searchParams.get('keys') ?? '').split(',');
      const version = url.searchParams.get('version');
      const usable = entries.filter((e) => e.committed && e.version === version).sort((a, b) => b.created - a.created);
      const [primary, ...restoreKeys] = keys;
      const found = usable.find((e) => e.key === primary) ?? restoreKeys.map((k) => usable.find((e) => e.key === k) ?? usable.find((e) => e.key.startsWith(k))).find((e) => e !== undefined);
      if (!found) return json(204);
      const address = server.address() as AddressInfo;
      return json(200, { cacheKey: found.key, scope: 'refs/heads/main', archiveLocation: `http://127.0.0.1:${address.port}/archive/${found.id}` });
    }
    if (req.method === 'POST' && url.pathname === '/_apis/artifactcache/caches') {
      const request = JSON.parse((await body(req)).toString()) as { key: string; version: string };
      if (entries.some((e) => e.key === request.key && e.version === request.version)) return json(409, { message: `Cache already exists for ${request.key}` });
      const entry: Entry = { id: nextId++, key: request.key, version: request.version, created: ++clock, chunks: new Map(), committed: false };
      entries.push(entry);
      return json(201, { cacheId: entry.id });
    }
    const upload = /^\/_apis\/artifactcache\/caches\/(\d+)$/.exec(url.pathname);
    if (upload) {
      const entry = entries.find((e) => e.id === Number(upload[1]));
      if (!entry) return json(404, { message: 'no such cache' });
      if (req.method === 'PATCH') {
        const range = /^bytes (\d+)-(\d+)\//.exec(String(req.headers['content-range']));
        if (!range) return json(400, { message: 'Content-Range required' });
        entry.chunks.set(Number(range[1]), await body(req));
        return json(204);
      }
      if (req.method === 'POST') {
        const { size } = JSON.parse((await body(req)).toString()) as { size: number };
        if (archive(entry).length !== size) return json(400, { message: `size ${size} does not match the uploaded ${archive(entry).length} bytes` });
        entry.committed = true;
        return json(204);
      }
    }
    const download = /^\/archive\/(\d+)$/.exec(url.pathname);
    if (req.method === 'GET' && download) {
      const entry = entries.find((e) => e.id === Number(download[1]));
      if (!entry) return json(404);
      const bytes = archive(entry);
      res.writeHead(200, { 'content-length': bytes.length, 'content-type': 'application/octet-stream' });
      return res.end(bytes);
    }
    return json(404, { message: `stand-in does not serve ${req.method} ${url.pathname}` });
  };
  // A handler that throws answers 500 with the error, instead of an unhandled rejection.
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`stand-in failed: ${errorMessage(error)}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const ready: CacheServiceStandIn = Object.assign(standIn, {
    url: `http://127.0.0.1:${port}/`,
    entries: () => entries.filter((e) => e.committed).map((e) => ({ key: e.key, version: e.version, size: archive(e).length })),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
  return ready;
}
