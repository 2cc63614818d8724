import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probe } from './health';
import type { HealthCheckSpec } from './services';

/**
 * The stand-in's health check request against Go's http.Transport, which Traefik's checker uses
 * (pkg/healthcheck/healthcheck.go: `http.Client{Transport: transport}`): a request sent on a
 * reused idle connection that the server closed before answering is sent again on a new
 * connection when it is replayable (net/http transport.go, shouldRetryRequest and
 * Request.isReplayable); a failure on a new connection is the check's failure.
 *
 * The server is plain TCP so each test says exactly what happens to each request on each
 * connection: `answer(connection, request)` returns true to answer 200 and keep the connection
 * open, false to close the connection without a byte of answer.
 */
let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

async function tcpServer(answer: (connection: number, request: number) => boolean): Promise<{ url: string; requests: [number, number][] }> {
  const requests: [number, number][] = [];
  let connections = 0;
  server = createServer((socket: Socket) => {
    const connection = ++connections;
    let seen = 0;
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      while (buffered.includes('\r\n\r\n')) {
        buffered = buffered.slice(buffered.indexOf('\r\n\r\n') + 4);
        const request = ++seen;
        requests.push([connection, request]);
        if (answer(connection, request)) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok');
        else socket.destroy();
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const spec = (method = 'GET'): HealthCheckSpec => ({ path: '/ping', intervalMs: 2000, timeoutMs: 5000, status: 0, method, headers: {} });

describe('the stand-in health check request (Go http.Transport semantics)', () => {
  it('sends a check again on a new connection when the server closed the reused idle one before answering', async () => {
    // Every connection answers its first request and drops its second: a server closing idle connections.
    const { url, requests } = await tcpServer((_connection, request) => request === 1);
    expect(await probe(url, spec())).toBeUndefined();
    expect(await probe(url, spec())).toBeUndefined();
    // The second check went out on connection 1 (reused), was dropped, and was answered on connection 2.
    expect(requests).toEqual([
      [1, 1],
      [1, 2],
      [2, 1],
    ]);
  });

  it('fails a check that a new connection drops, and does not send it again', async () => {
    const { url, requests } = await tcpServer(() => false);
    expect(await probe(url, spec())).toMatch(/socket hang up|ECONNRESET/);
    expect(requests).toEqual([[1, 1]]);
  });

  it('does not send a check with a method Go does not replay again', async () => {
    const { url, requests } = await tcpServer((_connection, request) => request === 1);
    expect(await probe(url, spec('POST'))).toBeUndefined();
    expect(await probe(url, spec('POST'))).toMatch(/socket hang up|ECONNRESET/);
    expect(requests).toEqual([
      [1, 1],
      [1, 2],
    ]);
  });
});
