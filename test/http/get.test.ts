import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AnswerTooLarge, getText } from '../../src/http/get';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('getText: one bounded GET', () => {
  it('gives any status with its body, each on a new connection', async () => {
    const ports: number[] = [];
    const url = await serve((request, response) => {
      ports.push(request.socket.remotePort!);
      response.writeHead(request.url === '/missing' ? 404 : 200, { 'content-type': 'application/json' });
      response.end(request.url === '/missing' ? 'no such page' : '{"Version":"3.1.2"}');
    });
    expect(await getText(`${url}/api/version`, { timeoutMs: 5000, maxBytes: 1024 })).toEqual({ status: 200, body: '{"Version":"3.1.2"}' });
    expect(await getText(`${url}/missing`, { timeoutMs: 5000, maxBytes: 1024 })).toEqual({ status: 404, body: 'no such page' });
    expect(new Set(ports).size).toBe(2);
  });

  it('stops reading past maxBytes, and says so', async () => {
    const url = await serve((_request, response) => {
      response.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const write = () => {
        while (!response.destroyed && response.write(chunk));
        if (!response.destroyed) response.once('drain', write);
      };
      write();
    });
    const error = await getText(url, { timeoutMs: 10_000, maxBytes: 1024 * 1024 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AnswerTooLarge);
    expect((error as Error).message).toBe('the answer is larger than 1 MiB');
  });

  it('gives up after timeoutMs in all, even while bytes keep arriving', async () => {
    const url = await serve((_request, response) => {
      response.writeHead(200);
      const timer = setInterval(() => (response.destroyed ? clearInterval(timer) : response.write('x')), 50);
    });
    const started = Date.now();
    await expect(getText(url, { timeoutMs: 500, maxBytes: 1024 * 1024 })).rejects.toThrow('no answer within 500 ms');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('refuses a scheme that is not http or https, and a server that is not there', async () => {
    await expect(getText('ftp://127.0.0.1/x', { timeoutMs: 1000, maxBytes: 10 })).rejects.toThrow('ftp: is not http: or https:');
    await expect(getText('http://127.0.0.1:9/', { timeoutMs: 5000, maxBytes: 10 })).rejects.toThrow(/ECONNREFUSED/);
  });
});
