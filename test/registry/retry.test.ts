import { describe, expect, it } from 'vitest';
import { parseRetryAfter, retryDelay, type Outcome } from '../../src/registry/retry';

const policy = { attempts: 4, baseDelayMs: 100, maxDelayMs: 350, maxRetryAfterMs: 10_000 };
const now = Date.parse('2025-01-01T00:00:00Z');

describe('retryDelay', () => {
  it.each<[string, Outcome, number, number | undefined]>([
    ['reset, first try', { errorCode: 'ECONNRESET' }, 1, 100],
    ['reset, second try', { errorCode: 'ECONNRESET' }, 2, 200],
    ['backoff is capped', { errorCode: 'EPIPE' }, 3, 350],
    ['gives up after the last try', { errorCode: 'ECONNRESET' }, 4, undefined],
    ['a refused connection is transient', { errorCode: 'ECONNREFUSED' }, 1, 100],
    ['a certificate error is not', { errorCode: 'CERT_HAS_EXPIRED' }, 1, undefined],
    ['500', { status: 500 }, 1, 100],
    ['502', { status: 502 }, 2, 200],
    ['503 with Retry-After seconds', { status: 503, retryAfter: '3' }, 1, 3000],
    ['429 with Retry-After seconds', { status: 429, retryAfter: '2' }, 1, 2000],
    ['429 with an HTTP date', { status: 429, retryAfter: 'Wed, 01 Jan 2025 00:00:05 GMT' }, 1, 5000],
    ['429 without Retry-After backs off', { status: 429 }, 2, 200],
    ['a Retry-After past the ceiling gives up', { status: 429, retryAfter: '3600' }, 1, undefined],
    ['501 is not retried', { status: 501 }, 1, undefined],
    ['404 is not retried', { status: 404 }, 1, undefined],
    ['401 is not retried here (auth handles it)', { status: 401 }, 1, undefined],
    ['400 is not retried', { status: 400 }, 1, undefined],
  ])('%s', (_name, outcome, attempt, expected) => {
    expect(retryDelay(outcome, attempt, policy, now)).toBe(expected);
  });

  it('reads Retry-After', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:59:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
