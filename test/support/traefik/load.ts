import { Agent, request } from 'node:http';

/**
 * Steady prediction traffic through a proxy, for zero-downtime checks: `concurrency` loops, each
 * sending the next request as soon as the previous one is answered, over keep-alive connections
 * (as real clients do). A request fails when it gets no answer or a status other than 200.
 */
export interface LoadOptions {
  /** e.g. the stand-in's webUrl. */
  url: string;
  path?: string;
  /** Host header the router rule matches. */
  host: string;
  body?: string;
  concurrency?: number;
}

export interface LoadResult {
  ok: number;
  failed: number;
  /** Status code (or error code such as ECONNRESET) → count. */
  outcomes: Record<string, number>;
  /** Which model digest answered, from the reference server's /predict response. */
  digests: Record<string, number>;
  /** The first few failures, for messages. */
  failures: string[];
  /** When the first and the latest failed request ended (ms since the epoch). */
  firstFailureAt?: number;
  lastFailureAt?: number;
}

export interface RunningLoad {
  current(): LoadResult;
  /**
   * Stop sending and wait for the answers still due, at most `graceMs` (default 3000); requests
   * still unanswered then are cut and count as failed (`UNANSWERED`): a client would give up too.
   */
  stop(graceMs?: number): Promise<LoadResult>;
}

export function startLoad(options: LoadOptions): RunningLoad {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency ?? 4 });
  const target = new URL(options.path ?? '/predict', options.url);
  const body = options.body ?? JSON.stringify({ instances: [[5.9, 3.0, 5.1, 1.8]] });
  const result: LoadResult = { ok: 0, failed: 0, outcomes: {}, digests: {}, failures: [] };
  let running = true;
  const pending = new Set<{ abort: () => void }>();

  const once = () =>
    new Promise<void>((resolve) => {
      let settled = false;
      const count = (outcome: string, ok: boolean, detail?: string) => {
        if (settled) return;
        settled = true;
        pending.delete(handle);
        result.outcomes[outcome] = (result.outcomes[outcome] ?? 0) + 1;
        if (ok) result.ok++;
        else {
          result.failed++;
          result.firstFailureAt ??= Date.now();
          result.lastFailureAt = Date.now();
          if (result.failures.length < 10) result.failures.push(`${new Date().toISOString()} ${outcome}${detail ? ` ${detail}` : ''}`);
        }
        resolve();
      };
      const req = request(target, { method: 'POST', agent, headers: { host: options.host, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: 30_000 }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          if (res.statusCode === 200) {
            try {
              const digest = (JSON.parse(text) as { model?: { digest?: string } }).model?.digest ?? 'unknown';
              result.digests[digest] = (result.digests[digest] ?? 0) + 1;
            } catch {
              // a 200 that is not the server's JSON still counts as answered
            }
          }
          count(String(res.statusCode), res.statusCode === 200, res.statusCode === 200 ? undefined : text.slice(0, 100));
        });
        res.on('error', (error: NodeJS.ErrnoException) => count(error.code ?? 'response-error', false, error.message));
      });
      const handle = { abort: () => count('UNANSWERED', false, 'no answer when the load stopped') };
      pending.add(handle);
      req.on('timeout', () => req.destroy(Object.assign(new Error('no answer in 30 s'), { code: 'TIMEOUT' })));
      req.on('error', (error: NodeJS.ErrnoException) => count(error.code ?? 'request-error', false, error.message));
      req.end(body);
    });

  const loops = Array.from({ length: options.concurrency ?? 4 }, async () => {
    while (running) await once();
  });

  return {
    current: () => structuredClone(result),
    async stop(graceMs = 3000) {
      running = false;
      const timer = setTimeout(() => {
        for (const handle of [...pending]) handle.abort();
      }, graceMs);
      await Promise.all(loops);
      clearTimeout(timer);
      agent.destroy();
      return structuredClone(result);
    },
  };
}
