import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { TraefikApi } from '../../src/traefik/api';

// Issue 10, unbounded reads: an answer from the address given as traefik-api is read within a
// limit. The server here is a stand-in that never stops answering (Traefik's own answers to
// these paths are small JSON objects: docs.traefik.io, API endpoints).

describe('TraefikApi reads its answers within a limit', () => {
  it('gives up on an answer that never ends, with an error naming the API and the path', async () => {
    const server = createServer((request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"loadBalancer":{"servers":[');
      const chunk = Buffer.from(`${JSON.stringify({ url: `http://10.0.0.1:8080/${'x'.repeat(4000)}` })},`);
      const write = () => {
        while (!response.destroyed && response.write(chunk));
        if (!response.destroyed) response.once('drain', write);
      };
      write();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      await expect(new TraefikApi(url).service('iris')).rejects.toThrow(`Traefik API at ${url}: GET /api/http/services/iris@docker answered more than 1 MiB, far more than it should; not read further`);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 20_000);
});
