import { get } from 'node:http';
import { formatDuration } from '../inputs/parse';

/**
 * How often the toolkit probes a starting server, and how long one probe may take. A probe is one
 * GET from the runner (a refused connection while the server boots costs it nothing), so asking
 * often admits a ready server within a twentieth of a second.
 */
export const PROBE_INTERVAL_MS = 50;
/**
 * Generous on purpose: on a host whose cores are saturated a ready server may take seconds to
 * answer, and a slow answer is still an answer. Docker's HEALTHCHECK spawns a process per probe;
 * this is one HTTP request from the runner, so a probe costs the server only the request itself.
 */
export const PROBE_TIMEOUT_MS = 10_000;

/** One GET on a fresh connection: its status, or the reason there was none. */
export function probeOnce(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<{ status: number } | { error: string }> {
  return new Promise((resolve) => {
    const request = get(url, { agent: false, timeout: timeoutMs }, (response) => {
      response.resume();
      resolve({ status: response.statusCode ?? 0 });
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${formatDuration(timeoutMs)}`)));
    request.on('error', (error) => resolve({ error: error.message }));
  });
}

/**
 * Probe `<server><path>` until it answers 2xx: the server is ready for traffic. Undefined when
 * ready, else the last answer, once `timeoutMs` is over, or what `gone` said as soon as it says
 * the server can no longer become ready (it exited). The image needs no curl and no HEALTHCHECK.
 */
export async function waitReady(serverUrl: string, path: string, timeoutMs: number, gone: () => string | undefined = () => undefined): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    const answer = await probeOnce(`${serverUrl}${path}`, Math.max(1000, Math.min(PROBE_TIMEOUT_MS, deadline - Date.now())));
    if ('status' in answer && answer.status >= 200 && answer.status < 300) return undefined;
    last = 'status' in answer ? `answered ${answer.status}` : answer.error;
    const ended = gone();
    if (ended) return ended;
    if (Date.now() >= deadline) return `GET ${serverUrl}${path} did not answer 2xx within ${formatDuration(timeoutMs)} (last: ${last})`;
    await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
  }
}
