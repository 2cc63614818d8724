import http, { type IncomingMessage, type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { isTransientError } from './retry';

/**
 * One HTTP exchange with a registry over node:http, so that upload bodies stream with an exact
 * `Content-Length` (never chunked: GHCR refuses chunked uploads) and response bodies stream out
 * for registry-to-registry copies. No retries or auth here: the client above does those.
 */
export interface StreamBody {
  length: number;
  /** Opens the bytes afresh; called again for every try. */
  open(): AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

export type RequestBody = Buffer | StreamBody;

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  url: URL;
  headers?: Record<string, string>;
  body?: RequestBody;
  /** Called with each chunk's size as it is handed to the socket. */
  onBodyProgress?: (bytes: number) => void;
  /** Inactivity limit on the socket. */
  timeoutMs?: number;
}

/** The connection pools every registry request goes through. */
export const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 16 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 16 }),
};

export class HttpError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : 'ECONNRESET';
}

/**
 * Send the request; resolves with the response as soon as its head arrives (the body is left to
 * the caller to read or drain). A response that arrives before the body is fully sent (a refusal)
 * stops the upload.
 */
export function send(request: HttpRequest): Promise<IncomingMessage> {
  const { url, method, body } = request;
  const isHttps = url.protocol === 'https:';
  const headers: Record<string, string> = { ...request.headers };
  if (body !== undefined) headers['content-length'] = String(Buffer.isBuffer(body) ? body.length : body.length);
  return new Promise((resolve, reject) => {
    let settled = false;
    let responded = false;
    let earlyResponse: IncomingMessage | undefined;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      const code = errorCode(error);
      reject(new HttpError(`${method} ${url.host}${url.pathname}: ${(error as Error)?.message ?? code}`, code));
    };
    const req = (isHttps ? https : http).request(url, { method, headers, agent: isHttps ? agents.https : agents.http });
    req.setTimeout(request.timeoutMs ?? 300_000, () => {
      req.destroy(Object.assign(new Error(`no data for ${Math.round((request.timeoutMs ?? 300_000) / 1000)}s`), { code: 'ETIMEDOUT' }));
    });
    req.on('error', fail);
    req.on('response', (response) => {
      responded = true;
      earlyResponse = response;
      response.on('error', () => {});
      if (settled) {
        response.resume();
        return;
      }
      settled = true;
      resolve(response);
    });
    if (body === undefined) {
      req.end();
    } else if (Buffer.isBuffer(body)) {
      req.end(body);
      request.onBodyProgress?.(body.length);
    } else {
      void (async () => {
        let sent = 0;
        for await (const chunk of body.open()) {
          if (responded || req.destroyed) {
            // Refused mid-body: the socket holds half a request and cannot be reused.
            if (earlyResponse) earlyResponse.once('close', () => req.destroy());
            return;
          }
          sent += chunk.length;
          if (sent > body.length) throw Object.assign(new Error(`body grew past its declared ${body.length} bytes`), { code: 'EBODYSIZE' });
          const flushed = req.write(chunk);
          request.onBodyProgress?.(chunk.length);
          if (!flushed) await drained(req);
        }
        if (sent !== body.length) throw Object.assign(new Error(`body ended at ${sent} of its declared ${body.length} bytes`), { code: 'EBODYSIZE' });
        req.end();
      })().catch((error: unknown) => {
        const code = (error as { code?: unknown } | undefined)?.code;
        if (typeof code === 'string' && (isTransientError(code) || code === 'EBODYSIZE')) {
          fail(error);
        } else if (!settled) {
          // The body's own source failed (a model file that changed or vanished): that is no
          // network error, and trying again cannot help, so it goes up as it is.
          settled = true;
          reject(error instanceof Error ? error : new Error(String(error)));
        }
        req.destroy();
      });
    }
  });
}

function drained(req: http.ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      req.off('drain', done);
      req.off('close', done);
      resolve();
    };
    req.on('drain', done);
    req.on('close', done);
  });
}

export async function readBody(response: IncomingMessage, limit = 64 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      response.destroy();
      throw new HttpError(`response larger than ${limit} bytes`, 'ETOOLARGE');
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Read and forget a response body so its connection can serve the next request. */
export async function drain(response: IncomingMessage): Promise<string> {
  try {
    return (await readBody(response, 1024 * 1024)).toString('utf8');
  } catch {
    return '';
  }
}

export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
