import http from 'node:http';
import https from 'node:https';

/** A GET whose answer was larger than the reader's limit; nothing past the limit was read. */
export class AnswerTooLarge extends Error {
  constructor(readonly limitBytes: number) {
    super(`the answer is larger than ${formatBytes(limitBytes)}`);
  }
}

function formatBytes(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / 1024 / 1024} MiB` : `${bytes} bytes`;
}

export interface GetOptions {
  /** For the whole exchange: connecting, waiting, reading. */
  timeoutMs: number;
  /** The most body bytes read; a longer answer rejects with AnswerTooLarge. */
  maxBytes: number;
}

/**
 * One GET of a small text answer (an API's JSON, a metrics page) on a fresh connection: a server
 * that is draining or stopping may close a pooled one under the request. Resolves with any status
 * and the body as UTF-8; rejects with the reason there is no whole answer (no connection, no answer
 * within `timeoutMs`, a body over `maxBytes`). node:http, not fetch: under Node 24 the first fetch
 * loads its implementation, about 0.1 s here, for requests this small. No redirect is followed.
 */
export function getText(url: string, options: GetOptions): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const client = target.protocol === 'https:' ? https : target.protocol === 'http:' ? http : undefined;
    if (!client) {
      reject(new Error(`${target.protocol} is not http: or https:`));
      return;
    }
    const request = client.get(target, { agent: false }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxBytes) request.destroy(new AnswerTooLarge(options.maxBytes));
        else chunks.push(chunk);
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    const timer = setTimeout(() => request.destroy(new Error(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
    request.on('error', reject);
    request.on('close', () => clearTimeout(timer));
  });
}
