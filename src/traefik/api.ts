import { ResourceError } from '../inputs/errors';
import { AnswerTooLarge, getText } from '../http/get';

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

  /** `GET <path>`: its status, and its JSON (undefined when the body is not JSON). */
  private async get(path: string, timeoutMs = 5000): Promise<{ status: number; ok: boolean; json: unknown }> {
    let answer: { status: number; body: string };
    try {
      answer = await getText(`${this.baseUrl}${path}`, { timeoutMs, maxBytes: MAX_API_ANSWER_BYTES });
    } catch (error) {
      if (error instanceof AnswerTooLarge) throw new ResourceError(`Traefik API at ${this.baseUrl}`, `GET ${decodeURIComponent(path)} answered more than ${MAX_API_ANSWER_BYTES / 1024 / 1024} MiB, far more than it should; not read further`);
      throw new ResourceError(`Traefik API at ${this.baseUrl}`, `not reachable (${error instanceof Error ? error.message : String(error)})`);
    }
    let json: unknown;
    try {
      json = JSON.parse(answer.body) as unknown;
    } catch {
      json = undefined;
    }
    return { status: answer.status, ok: answer.status >= 200 && answer.status < 300, json };
  }

  /** Throws a ResourceError unless the API answers `GET /api/version`. */
  async check(): Promise<string> {
    const response = await this.get('/api/version');
    if (!response.ok) throw new ResourceError(`Traefik API at ${this.baseUrl}`, `GET /api/version answered ${response.status}`);
    const body = (response.json ?? {}) as { Version?: string };
    return body.Version ?? 'unknown';
  }

  /** The service's load balancer, or undefined when Traefik has no such service (404). */
  async service(name: string): Promise<TraefikService | undefined> {
    const response = await this.get(`/api/http/services/${encodeURIComponent(`${name}@${this.provider}`)}`);
    if (response.status === 404) return undefined;
    const path = `/api/http/services/${name}@${this.provider}`;
    if (!response.ok) throw new ResourceError(`Traefik API at ${this.baseUrl}`, `GET ${path} answered ${response.status}`);
    const body = response.json;
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
    const body = (response.json ?? {}) as { providers?: unknown };
    return Array.isArray(body.providers) ? body.providers.map(String) : [];
  }

  /** A weighted service's children as Traefik applied them (`name@file`), or undefined when it has none. */
  async weighted(fullName: string): Promise<{ name: string; weight: number }[] | undefined> {
    const response = await this.get(`/api/http/services/${encodeURIComponent(fullName)}`);
    if (response.status === 404) return undefined;
    if (!response.ok) throw new ResourceError(`Traefik API at ${this.baseUrl}`, `GET /api/http/services/${fullName} answered ${response.status}`);
    const body = (response.json ?? {}) as { weighted?: { services?: { name?: string; weight?: number }[] } };
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
