/**
 * When to try a registry request again, and after how long. Pure, so the policy is tested as a
 * table: transient network failures, 5xx (but 501) and 429 are retried with exponential backoff;
 * a `Retry-After` the server sent wins over the backoff, up to a ceiling.
 */
export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** Backoff before the second try; doubles after that. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for: the request fails instead. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 500, maxDelayMs: 15_000, maxRetryAfterMs: 120_000 };

const TRANSIENT_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ETIMEDOUT', 'ECONNABORTED', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET', 'ERR_HTTP_SOCKET_TIMEOUT']);

export type Outcome = { status: number; retryAfter?: string | null } | { errorCode: string };

export function isTransientStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status !== 501 && status !== 505);
}

export function isTransientError(code: string | undefined): boolean {
  return code !== undefined && TRANSIENT_CODES.has(code);
}

/** Retry-After as seconds or an HTTP date, in ms from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * `attempt` is the number of the try that just failed (1 for the first). Returns the delay before
 * the next try, or undefined to give up.
 */
export function retryDelay(outcome: Outcome, attempt: number, policy: RetryPolicy = DEFAULT_RETRY, now = Date.now()): number | undefined {
  if (attempt >= policy.attempts) return undefined;
  if ('errorCode' in outcome) {
    if (!isTransientError(outcome.errorCode)) return undefined;
  } else if (!isTransientStatus(outcome.status)) {
    return undefined;
  }
  const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  if ('status' in outcome) {
    const asked = parseRetryAfter(outcome.retryAfter, now);
    if (asked !== undefined) return asked > policy.maxRetryAfterMs ? undefined : asked;
  }
  return backoff;
}
