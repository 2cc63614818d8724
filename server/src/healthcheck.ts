import { request } from 'node:http';

/**
 * The image's HEALTHCHECK: `node /app/index.mjs --healthcheck` asks the server in the same
 * container for `/healthz` and exits 0 only on 200, so the image needs no shell or curl.
 */
export function probe(port: number, timeoutMs = 2000): Promise<{ healthy: boolean; detail: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ healthy: res.statusCode === 200, detail: `${res.statusCode} ${body.trim()}` }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => resolve({ healthy: false, detail: error.message }));
    req.end();
  });
}
