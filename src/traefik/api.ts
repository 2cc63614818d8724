import { ResourceError } from '../inputs/errors';

/**
 * A client of Traefik's API (docs/traefik.md), used to confirm what Traefik routes to: a URL listed
 * under a service is one Traefik sends new requests to.
 */
export interface TraefikService {
  servers: string[];
  /** URL → `UP` | `DOWN`. */
  serverStatus: Record<string, string>;
}

/** Far more than any answer this client asks for (a service with a thousand servers is about 100 KiB); past it, nothing is read on. */
export const MAX_API_ANSWER_BYTES = 1024 * 1024;

/**
 * How often a deploy asks whether Traefik applied what it waits for (a new server UP, new
 * weights). Each ask is one small GET on the runner's side of Traefik; a new version's first
 * answers wait on it, so it is fine-grained (a drain's wait for a server to go is not: 200 ms).
 */
export const CONFIRM_POLL_MS = 50;

export class TraefikApi {
  constructor(
    readonly baseUrl: string,
    private readonly provider = 'docker',
  ) {}

  private async get(path: string, timeoutMs = 5000): Promise<Response> {
    try {
      return await fetch(`${this.baseUrl}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      const reason = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
      throw new ResourceError(`Traefik API at ${this.baseUrl}`, `not reachable (${reason})`);
    }
  }

  /** The answer's JSON, read up to MAX_API_ANSWER_BYTES; undefined when it is not JSON. */
  private async json(response: Response, path: string): Promise<unknown> {
    const chunks: Uint8Array[] = [];
    let size = 0;
    if (response.body) {
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        size += chunk.length;
        if (size > MAX_API_ANSWER_BYTES) {
          await response.body.cancel().catch(() => undefined);
          throw new ResourceError(`Traefik API at ${this.baseUrl}`, `GET ${path} answered more than ${MAX_API_ANSWER_BYTES / 1024 / 1024} MiB, far more than it should; not read further`);
        }
        chunks.push(chunk);
      }
    }
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    } catch {
      return undefined;
    }
  }

  /** Throws a ResourceError unless the API answers `GET /api/version`. */
  async check(): Promise<string> {
    const response = await this.get('/api/version');
    if (!response.ok) throw new ResourceError(`Traefik API at ${this.baseUrl}`, `GET /api/version answered ${response.status}`);
    const body = ((await this.json(response, '/api/version')) ?? {}) as { Version?: string };
    return body.Version ?? 'unknown';
  }

  /** The service's load balancer, or undefined when Traefik has no such service (404). */
  async service(name: string): Promise<TraefikService | undefined> {
    const response = await this.get(`/api/http/services/${encodeURIComponent(`${name}@${this.provider}`)}`);
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    if (!response.ok) throw new ResourceError(`Traefik API at ${this.baseUrl}`, `GET /api/http/services/${name}@${this.provider} answered ${response.status}`);
    const path = `/api/http/services/${name}@${this.provider}`;
    const body = await this.json(response, path);
    if (body === undefined || body === null || typeof body !== 'object') throw new ResourceError(`Traefik API at ${this.baseUrl}`, `GET ${path} answered something that is not a JSON object`);
    const service = body as { loadBalancer?: { servers?: { url?: string }[] }; serverStatus?: Record<string, string> };
    return {
      servers: (service.loadBalancer?.servers ?? []).map((server) => server.url ?? '').filter(Boolean),
      serverStatus: service.serverStatus ?? {},
    };
  }

  /** The providers Traefik runs (`GET /api/overview`: `providers: ["Docker", "File"]`). */
  async providers(): Promise<string[]> {
    const response = await this.get('/api/overview');
    if (!response.ok) throw new ResourceError(`Traefik API at ${this.baseUrl}`, `GET /api/overview answered ${response.status}`);
    const body = (await response.json().catch(() => ({}))) as { providers?: unknown };
    return Array.isArray(body.providers) ? body.providers.map(String) : [];
  }

  /** A weighted service's children as Traefik applied them (`name@file`), or undefined when it has none. */
  async weighted(fullName: string): Promise<{ name: string; weight: number }[] | undefined> {
    const response = await this.get(`/api/http/services/${encodeURIComponent(fullName)}`);
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    if (!response.ok) throw new ResourceError(`Traefik API at ${this.baseUrl}`, `GET /api/http/services/${fullName} answered ${response.status}`);
    const body = (await response.json()) as { weighted?: { services?: { name?: string; weight?: number }[] } };
    return body.weighted?.services?.map((entry) => ({ name: String(entry.name ?? ''), weight: entry.weight ?? 1 }));
  }

  /** Wait until the weighted service lists exactly `wanted` (name → weight). Returns false at the deadline. */
  async waitForWeights(fullName: string, wanted: readonly { name: string; weight: number }[], timeoutMs: number, intervalMs = CONFIRM_POLL_MS): Promise<boolean> {
    const key = (list: readonly { name: string; weight: number }[]) =>
      list
        .map((entry) => `${entry.name}=${entry.weight}`)
        .sort()
        .join(',');
    return poll(timeoutMs, intervalMs, async () => {
      const found = await this.weighted(fullName);
      return Boolean(found && key(found) === key(wanted));
    });
  }

  /** Wait until every URL is listed and UP. Returns false at the deadline. */
  async waitForUp(service: string, urls: readonly string[], timeoutMs: number, intervalMs = CONFIRM_POLL_MS): Promise<boolean> {
    return poll(timeoutMs, intervalMs, async () => {
      const found = await this.service(service);
      return Boolean(found && urls.every((url) => found.servers.includes(url) && (found.serverStatus[url] ?? 'UP') === 'UP'));
    });
  }

  /** Wait until the URL is no longer listed (or the service is gone). Returns false at the deadline. */
  async waitForGone(service: string, url: string, timeoutMs: number, intervalMs = 200): Promise<boolean> {
    return poll(timeoutMs, intervalMs, async () => {
      const found = await this.service(service);
      return !found || !found.servers.includes(url);
    });
  }
}

async function poll(timeoutMs: number, intervalMs: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A hiccup of the API during a wait is retried until the deadline, not fatal.
    if (await check().catch(() => false)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
}
