import { buildImage, ensureNodeBaseImage } from './docker-cli';

/**
 * A prediction server as most ML teams run one, not the project's reference server: node as
 * PID 1 with no SIGUSR2 handler (the kernel ignores the signal for PID 1, so the label-mode drain
 * signal does nothing), no HEALTHCHECK, no curl. It answers `/ready` 503 until its "model" loaded
 * (`READY_AFTER_MS`), `/predict` after a short think time so requests are in flight, and closes
 * gracefully on SIGTERM (stops accepting, finishes in-flight requests, exits).
 *
 * Faults for canary tests, set at build time (`PlainServerBehaviour`): `THINK_MS` (default 20) is
 * each prediction's think time, so a "slow" version is the same server thinking longer;
 * `FAIL_EVERY=n` answers every n-th prediction 500 (5: exactly 20 % of its requests, spread
 * evenly, so a short window sees the rate and not luck); `FAIL_IN_WINDOW=n` confines those faults
 * to the time between the n-th and the (n+1)-th request for `/metrics`. A rollout reads each
 * server's /metrics once at every analysis-window edge (tumbling windows: one scrape ends a window
 * and starts the next), so the version fails exactly its n-th analysis window and recovers, at
 * any machine speed.
 */
const SERVER = `
const http = require('node:http');
const started = Date.now();
const readyAfter = Number(process.env.READY_AFTER_MS || 1500);
const version = process.env.PLAIN_VERSION || 'unknown';
const digest = process.env.TRAIN_TO_SERVE_IMAGE_DIGEST || 'unknown';
const think = Number(process.env.THINK_MS || 20);
const failEvery = Number(process.env.FAIL_EVERY || 0);
const failInWindow = Number(process.env.FAIL_IN_WINDOW || 0);
if (process.env.EXIT_AFTER_MS) setTimeout(() => process.exit(3), Number(process.env.EXIT_AFTER_MS));
let scrapes = 0;
let served = 0;
let inFlight = 0;
const server = http.createServer((req, res) => {
  if (req.url === '/ready') {
    res.writeHead(Date.now() - started >= readyAfter ? 200 : 503).end();
    return;
  }
  if (req.url === '/metrics') {
    scrapes++;
    res.writeHead(200, { 'content-type': 'text/plain' }).end('# TYPE http_requests_total counter\\nhttp_requests_total ' + served + '\\nhttp_requests_in_flight ' + inFlight + '\\n');
    return;
  }
  inFlight++;
  req.resume();
  req.on('end', () => setTimeout(() => {
    served++;
    inFlight--;
    if (failEvery > 0 && served % failEvery === 0 && (failInWindow === 0 || scrapes === failInWindow)) {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'injected fault', model: { digest, version } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ predictions: [0], model: { digest, version } }));
  }, think));
});
server.keepAliveTimeout = 5000;
server.listen(8080);
process.on('SIGTERM', () => { server.close(() => process.exit(0)); server.closeIdleConnections(); setTimeout(() => process.exit(0), 20000).unref(); });
`;

/** Test-only faults of the plain server (see above); none by default. */
export interface PlainServerBehaviour {
  /** Think time of each prediction in ms (default 20). */
  thinkMs?: number;
  /** Answer every n-th prediction with a 500. */
  failEvery?: number;
  /** Only between the n-th and the (n+1)-th request for /metrics: the rollout's n-th analysis window. */
  failInWindow?: number;
  /** Exit with code 3 this long after the start (before it is ready when shorter than READY_AFTER_MS, 1.5 s). */
  exitAfterMs?: number;
  /** Declare a HEALTHCHECK (an exec of node asking /ready every 2 s), as most serving images do. */
  healthcheck?: boolean;
}

/** Build the plain server as `reference`; `version` makes each build a different image. */
export async function buildPlainServer(reference: string, version: string, behaviour: PlainServerBehaviour = {}): Promise<string> {
  const base = await ensureNodeBaseImage();
  const env = [`PLAIN_VERSION=${version}`];
  if (behaviour.thinkMs !== undefined) env.push(`THINK_MS=${Math.round(behaviour.thinkMs)}`);
  if (behaviour.failEvery !== undefined) env.push(`FAIL_EVERY=${Math.round(behaviour.failEvery)}`);
  if (behaviour.failInWindow !== undefined) env.push(`FAIL_IN_WINDOW=${Math.round(behaviour.failInWindow)}`);
  if (behaviour.exitAfterMs !== undefined) env.push(`EXIT_AFTER_MS=${Math.round(behaviour.exitAfterMs)}`);
  const probe = `require('http').get('http://127.0.0.1:8080/ready', (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))`;
  const healthcheck = behaviour.healthcheck ? `HEALTHCHECK --interval=2s --timeout=10s CMD ${JSON.stringify(['node', '-e', probe])}\n` : '';
  return buildImage(reference, {
    Dockerfile: `FROM ${base}\nCOPY server.cjs /srv/server.cjs\nENV ${env.join(' ')}\nEXPOSE 8080\n${healthcheck}CMD ["node", "/srv/server.cjs"]\n`,
    'server.cjs': SERVER,
  });
}
