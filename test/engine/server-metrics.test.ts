import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { metricsUrl, readRequestCount, sumOfMetric } from '../../src/engine/server-metrics';

const exposition = `# HELP model_server_predict_requests_total POST /predict requests answered, by HTTP status code.
# TYPE model_server_predict_requests_total counter
model_server_predict_requests_total{code="200"} 41
model_server_predict_requests_total{code="400"} 1
model_server_predict_requests_total_extra 99
# TYPE model_server_predict_in_flight gauge
model_server_predict_in_flight 2
http_requests_total{path="/x"} 5
`;

describe('sumOfMetric', () => {
  it('sums every sample of the first name it finds', () => {
    expect(sumOfMetric(exposition, ['model_server_predict_requests_total', 'http_requests_total'])).toBe(42);
    expect(sumOfMetric(exposition, ['http_requests_total'])).toBe(5);
    expect(sumOfMetric(exposition, ['model_server_predict_in_flight'])).toBe(2);
    expect(sumOfMetric(exposition, ['nothing_total'])).toBeUndefined();
    // prom-client declares a labelled counter but prints no sample before its first increment.
    expect(sumOfMetric('# HELP model_server_predict_requests_total x\n# TYPE model_server_predict_requests_total counter\n', ['model_server_predict_requests_total'])).toBe(0);
  });
});

describe('readRequestCount', () => {
  it('reads a server’s /metrics over HTTP, and says why when it cannot', async () => {
    let body = exposition;
    const server = createServer((request, response) => {
      if (request.url !== '/metrics') return void response.writeHead(404).end();
      response.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      expect(await readRequestCount(url)).toEqual({ readable: true, requests: 42, inFlight: 2 });
      body = 'process_cpu_seconds_total 1\n';
      expect(await readRequestCount(url)).toEqual({ readable: false, problem: `${url}/metrics has no request counter (model_server_predict_requests_total or http_requests_total)` });
    } finally {
      await new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      });
    }
    expect(await readRequestCount(url)).toMatchObject({ readable: false, problem: expect.stringMatching(/^GET .*\/metrics failed \(.*ECONNREFUSED/) });
    expect(await readRequestCount(undefined)).toEqual({ readable: false, problem: 'the server has no address on its network' });
  });

  it('reads metrics-port, metrics-path and request-metric when the server has them (vLLM names, a port of their own)', async () => {
    const metrics = createServer((request, response) => {
      if (request.url !== '/stats') return void response.writeHead(404).end();
      response.end('# TYPE vllm:request_success_total counter\nvllm:request_success_total{finished_reason="stop"} 7\nvllm:request_success_total{finished_reason="length"} 2\nhttp_requests_total 100\n');
    });
    await new Promise<void>((resolve) => metrics.listen(0, '127.0.0.1', resolve));
    const port = (metrics.address() as { port: number }).port;
    // The serving port is another one, where nothing listens: only the metrics port is read.
    const serverUrl = 'http://127.0.0.1:1';
    try {
      expect(await readRequestCount(serverUrl, 2000, { port, path: '/stats', requestMetric: 'vllm:request_success_total' })).toEqual({ readable: true, requests: 9, inFlight: undefined });
      expect(await readRequestCount(serverUrl, 2000, { port, path: '/stats' })).toEqual({ readable: true, requests: 100, inFlight: undefined });
      expect(await readRequestCount(serverUrl, 2000, { port, path: '/stats', requestMetric: 'ray_serve_num_http_requests_total' })).toEqual({
        readable: false,
        problem: `http://127.0.0.1:${port}/stats has no request counter (ray_serve_num_http_requests_total)`,
      });
      expect(await readRequestCount(serverUrl, 2000, { port })).toEqual({ readable: false, problem: `GET http://127.0.0.1:${port}/metrics answered 404` });
    } finally {
      await new Promise((resolve) => {
        metrics.close(resolve);
        metrics.closeAllConnections();
      });
    }
  });

  it('builds the metrics URL from the server URL', () => {
    expect(metricsUrl('http://10.0.1.5:8080')).toBe('http://10.0.1.5:8080/metrics');
    expect(metricsUrl('http://10.0.1.5:8080', { port: 8002 })).toBe('http://10.0.1.5:8002/metrics');
    expect(metricsUrl('http://10.0.1.5:8080', { path: '/v2/metrics?x=1' })).toBe('http://10.0.1.5:8080/v2/metrics?x=1');
  });

  // Issue 10, unbounded reads: the server is the user's image; its /metrics may never end.
  it('stops reading an answer larger than any metrics page, and says so', async () => {
    const server = createServer((_request, response) => {
      const line = Buffer.from(`http_requests_total{path="/${'x'.repeat(1000)}"} 1\n`);
      const write = () => {
        while (response.write(line)) if (response.destroyed) return;
        response.once('drain', write);
      };
      write();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      expect(await readRequestCount(url, 30_000)).toMatchObject({ readable: false, problem: `GET ${url}/metrics failed (the answer is larger than 4 MiB, more than any metrics page; not read further)` });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 60_000);
});
