import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Runtime } from './runtime';

/**
 * Traefik's API (`api.insecure`, on the `traefik` entry point), the parts a deploy tool reads:
 * `/api/http/{routers,services,middlewares}[/<name>]` (lists paged with `per_page`, `page` and
 * the `X-Next-Page` header, filtered by `search` and `status`), `/api/overview`, `/api/rawdata`,
 * `/api/entrypoints`, `/api/version`. Errors are `{"message": "..."}` like Traefik's.
 */
export interface ApiContext {
  runtime: () => Runtime;
  entryPoints: () => Record<string, string>;
  providers: string[];
  startDate: string;
}

export const STAND_IN_VERSION = '3.6.1-stand-in';
const DEFAULT_PER_PAGE = 100;

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function paginate<T>(items: T[], query: URLSearchParams): { page: T[]; nextPage: number } | { error: string } {
  const number = (key: string, fallback: number): number | undefined => {
    const raw = query.get(key);
    if (raw === null || raw === '') return fallback;
    const value = Number(raw);
    return Number.isInteger(value) && value > 0 ? value : undefined;
  };
  const perPage = number('per_page', DEFAULT_PER_PAGE);
  const page = number('page', 1);
  if (perPage === undefined) return { error: `invalid request: per_page: ${query.get('per_page')}` };
  if (page === undefined) return { error: `invalid request: page: ${query.get('page')}` };
  const start = (page - 1) * perPage;
  if (start !== 0 && start >= items.length) return { error: `invalid request: page: ${page}, per_page: ${perPage}` };
  return { page: items.slice(start, start + perPage), nextPage: page * perPage < items.length ? page + 1 : 1 };
}

type Kind = 'routers' | 'services' | 'middlewares';

function withoutIdentity<T extends { name: string; provider: string }>(value: T): Omit<T, 'name' | 'provider'> {
  const { name: _name, provider: _provider, ...rest } = value;
  return rest;
}

function summary(items: { status: string }[]) {
  return {
    total: items.length,
    warnings: items.filter((item) => item.status === 'warning').length,
    errors: items.filter((item) => item.status === 'disabled').length,
  };
}

export function handleApi(context: ApiContext, req: IncomingMessage, res: ServerResponse): boolean {
  const url = new URL(req.url ?? '/', 'http://stand-in');
  const path = url.pathname;
  if (!path.startsWith('/api/')) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    json(res, 405, { message: 'method not allowed' });
    return true;
  }
  const runtime = context.runtime();

  if (path === '/api/version') {
    json(res, 200, { Version: STAND_IN_VERSION, Codename: 'stand-in', startDate: context.startDate });
    return true;
  }
  if (path === '/api/rawdata') {
    const map = <T extends { name: string; provider: string }>(items: Record<string, T>) => Object.fromEntries(Object.entries(items).map(([name, value]) => [name, withoutIdentity(value)]));
    json(res, 200, { routers: map(runtime.routers), middlewares: map(runtime.middlewares), services: map(runtime.services) });
    return true;
  }
  if (path === '/api/overview') {
    const empty = { total: 0, warnings: 0, errors: 0 };
    json(res, 200, {
      http: { routers: summary(Object.values(runtime.routers)), services: summary(Object.values(runtime.services)), middlewares: summary(Object.values(runtime.middlewares)) },
      tcp: { routers: empty, services: empty, middlewares: empty },
      udp: { routers: empty, services: empty },
      features: { tracing: '', metrics: 'Prometheus', accessLog: false },
      providers: context.providers,
    });
    return true;
  }
  if (path === '/api/entrypoints') {
    const entries = Object.entries(context.entryPoints()).map(([name, address]) => ({ address, name }));
    json(res, 200, entries);
    return true;
  }
  const entry = /^\/api\/entrypoints\/([^/]+)$/.exec(path);
  if (entry) {
    const address = context.entryPoints()[decodeURIComponent(entry[1]!)];
    if (address === undefined) json(res, 404, { message: `entry point not found: ${decodeURIComponent(entry[1]!)}` });
    else json(res, 200, { address, name: decodeURIComponent(entry[1]!) });
    return true;
  }

  const match = /^\/api\/http\/(routers|services|middlewares)(?:\/(.+))?$/.exec(path);
  if (!match) {
    json(res, 404, { message: `no API route ${path} in the Traefik stand-in` });
    return true;
  }
  const kind = match[1] as Kind;
  const items = runtime[kind] as Record<string, { name: string; status: string; provider: string; service?: string }>;
  const singular = kind.slice(0, -1);
  if (match[2] !== undefined) {
    const name = decodeURIComponent(match[2]);
    const item = items[name];
    if (item) json(res, 200, item);
    else json(res, 404, { message: `${singular} not found: ${name}` });
    return true;
  }
  const search = url.searchParams.get('search')?.toLowerCase();
  const status = url.searchParams.get('status');
  const serviceName = url.searchParams.get('serviceName');
  const list = Object.values(items)
    .filter((item) => !search || item.name.toLowerCase().includes(search))
    .filter((item) => !status || item.status === status)
    .filter((item) => !serviceName || kind !== 'routers' || item.service === serviceName)
    .sort((a, b) => a.name.localeCompare(b.name));
  const paged = paginate(list, url.searchParams);
  if ('error' in paged) json(res, 400, { message: paged.error });
  else json(res, 200, paged.page, { 'x-next-page': String(paged.nextPage) });
  return true;
}
