import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServerConfig } from './config';
import { logLine, type Writer } from './log';
import { createMetrics, type ServerMetrics } from './metrics';
import { loadModelDir } from './load';
import { BadRequest, parsePredictRequest } from './request';
import type { ServedModel } from './served';
import { handleV2 } from './v2';

/**
 * loading → ready → draining (SIGUSR2) → stopping (SIGTERM). Readiness (`/healthz`) is 200 only
 * in `ready`; `/predict` answers in `ready` and `draining`, and in `stopping` for requests that
 * arrive on connections already open, so a proxy that has not yet noticed gets answers, not errors.
 */
export type Phase = 'loading' | 'ready' | 'draining' | 'stopping';

export interface PredictionServer {
  readonly http: Server;
  readonly metrics: ServerMetrics;
  phase(): Phase;
  model(): ServedModel | undefined;
  listen(): Promise<AddressInfo>;
  load(): Promise<ServedModel>;
  drain(): void;
  /** Stop accepting, let in-flight requests finish (up to the shutdown timeout), close. */
  stop(): Promise<{ timedOut: boolean; unfinished: number }>;
}

const REQUEST_ID = /^[\w.:@/+=-]{1,200}$/;

export function createPredictionServer(config: ServerConfig, write: Writer): PredictionServer {
  const metrics = createMetrics();
  let phase: Phase = 'loading';
  let loaded: ServedModel | undefined;
  let active = 0;
  let idle: (() => void) | undefined;

  const log = (event: string, fields: Record<string, unknown> = {}) => write(logLine(event, fields));

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
      'content-length': Buffer.byteLength(text),
      ...(phase === 'stopping' ? { connection: 'close' } : {}),
      ...headers,
    });
    res.end(text);
  }

  function readBody(req: IncomingMessage): Promise<string> {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > config.maxBodyBytes) {
      return Promise.reject(new BadRequest(`body of ${declared} bytes is over the limit of ${config.maxBodyBytes} bytes`, 413));
    }
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > config.maxBodyBytes) {
          req.removeAllListeners('data');
          req.resume();
          reject(new BadRequest(`body is over the limit of ${config.maxBodyBytes} bytes`, 413));
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  }

  /**
   * A prediction request (`/predict` or the protocol's `/infer`): counted in
   * model_server_predict_requests_total (the in-use signal), timed, and answered with the JSON
   * `answer` returns, or with `{error}` and the BadRequest's status.
   */
  async function counted(req: IncomingMessage, res: ServerResponse, requestId: string, started: bigint, answer: (model: ServedModel, body: string) => Promise<unknown>): Promise<void> {
    metrics.inFlight.inc();
    let status = 500;
    try {
      if (!loaded) {
        status = 503;
        send(res, status, { error: 'the model is still loading', requestId });
        return;
      }
      const type = req.headers['content-type'];
      if (type !== undefined && !/^application\/([\w.+-]+\+)?json\b/i.test(type)) {
        throw new BadRequest(`Content-Type must be application/json, got ${JSON.stringify(type)}`, 415);
      }
      const body = await answer(loaded, await readBody(req));
      status = 200;
      send(res, status, body);
    } catch (error) {
      if (error instanceof BadRequest) {
        status = error.status;
        send(res, status, { error: error.message, requestId }, status === 413 ? { connection: 'close' } : {});
      } else {
        status = 500;
        log('error', { requestId, message: (error as Error).message, stack: (error as Error).stack });
        if (!res.headersSent) send(res, status, { error: 'internal error', requestId });
      }
    } finally {
      metrics.inFlight.dec();
      metrics.predictRequests.inc({ code: String(status) });
      metrics.predictDuration.observe({ code: String(status) }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  const latencyMs = (started: bigint) => Math.round((Number(process.hrtime.bigint() - started) / 1e6) * 1000) / 1000;

  function handlePredict(req: IncomingMessage, res: ServerResponse, requestId: string, started: bigint): Promise<void> {
    return counted(req, res, requestId, started, async (model, body) => {
      if (!model.classes) throw new BadRequest(`this model has no classes (an ONNX model names them in model.onnx.json), so /predict cannot label its outputs: use POST /v2/models/${model.name}/infer`);
      const request = parsePredictRequest(model, body, config.maxBatchSize);
      const predictions = await model.predict(request.rows);
      // Logged before answering: a prediction someone received is always in the log.
      if (config.predictionLog) {
        const latency = latencyMs(started);
        let lines = '';
        predictions.forEach((output, index) => {
          lines += logLine('prediction', {
            requestId,
            model: model.name,
            modelDigest: model.digest,
            ...(config.imageDigest ? { imageDigest: config.imageDigest } : {}),
            index,
            batchSize: predictions.length,
            latencyMs: latency,
            input: request.instances[index],
            output,
          });
        });
        write(lines);
      }
      for (const prediction of predictions) metrics.predictions.inc({ class: prediction.class });
      return { predictions, model: { name: model.name, digest: model.digest }, requestId };
    });
  }

  function modelView(): Record<string, unknown> {
    if (!loaded) return { status: phase };
    const { name, digest, provenance, format, formatVersion, features, classes, inputs, outputs, device } = loaded;
    return {
      name,
      digest,
      format,
      formatVersion: format === 'onnx' ? formatVersion : Number(formatVersion),
      features: features ?? null,
      classes: classes ?? null,
      inputs,
      outputs,
      device,
      imageDigest: config.imageDigest ?? null,
      gitSha: config.gitSha ?? provenance.gitSha ?? null,
      runUrl: provenance.runUrl ?? null,
      status: phase,
    };
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const header = req.headers['x-request-id'];
    const requestId = typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
    res.setHeader('x-request-id', requestId);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const isGet = req.method === 'GET' || req.method === 'HEAD';
    switch (path) {
      case '/predict':
        if (req.method !== 'POST') return send(res, 405, { error: 'use POST /predict with a JSON body' }, { allow: 'POST' });
        return handlePredict(req, res, requestId, started);
      case '/healthz':
        if (!isGet) return send(res, 405, { error: 'use GET /healthz' }, { allow: 'GET, HEAD' });
        return send(res, phase === 'ready' ? 200 : 503, { status: phase });
      case '/metrics': {
        if (!isGet) return send(res, 405, { error: 'use GET /metrics' }, { allow: 'GET, HEAD' });
        const text = await metrics.registry.metrics();
        res.writeHead(200, { 'content-type': metrics.registry.contentType, 'content-length': Buffer.byteLength(text) });
        return void res.end(text);
      }
      case '/model':
        if (!isGet) return send(res, 405, { error: 'use GET /model' }, { allow: 'GET, HEAD' });
        return send(res, 200, modelView());
      default:
        if (path === '/v2' || path.startsWith('/v2/')) {
          return handleV2({ req, res, path, requestId, started, phase, model: loaded, send, counted, maxBatch: config.maxBatchSize, log: config.predictionLog ? write : undefined, imageDigest: config.imageDigest });
        }
        return send(res, 404, { error: `no route ${req.method} ${path}: the server answers POST /predict, GET /healthz, GET /metrics, GET /model and the Open Inference Protocol under /v2` });
    }
  }

  const http = createServer((req, res) => {
    active++;
    res.on('close', () => {
      active--;
      if (active === 0) idle?.();
    });
    route(req, res).catch((error: Error) => {
      log('error', { message: error.message, stack: error.stack });
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  http.keepAliveTimeout = config.keepAliveTimeoutMs;
  // Must exceed keepAliveTimeout, or Node cuts idle keep-alive connections at its own header timeout.
  http.headersTimeout = config.keepAliveTimeoutMs + 5000;

  metrics.ready.set(0);
  metrics.draining.set(0);

  return {
    http,
    metrics,
    phase: () => phase,
    model: () => loaded,
    listen: () =>
      new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen(config.port, config.host, () => {
          http.off('error', reject);
          const address = http.address() as AddressInfo;
          log('listening', { host: address.address, port: address.port, modelDir: config.modelDir });
          resolve(address);
        });
      }),
    async load() {
      const startedAt = Date.now();
      const result = await loadModelDir(config.modelDir, {
        runtime: config.onnxRuntime,
        provider: config.onnxProvider,
        log: (fields) => log('onnx-provider', fields),
      });
      loaded = result;
      const gitSha = config.gitSha ?? result.provenance.gitSha ?? '';
      metrics.modelInfo.set({ name: result.name, model_digest: result.digest, image_digest: config.imageDigest ?? '', git_sha: gitSha, format_version: result.formatVersion }, 1);
      if (phase === 'loading') {
        phase = 'ready';
        metrics.ready.set(1);
      }
      log('ready', {
        model: result.name,
        format: result.format,
        device: result.device,
        modelDigest: result.digest,
        imageDigest: config.imageDigest ?? null,
        gitSha: gitSha || null,
        features: result.features ?? null,
        classes: result.classes ?? null,
        inputs: result.inputs,
        outputs: result.outputs,
        loadMs: Date.now() - startedAt,
      });
      return result;
    },
    drain() {
      if (phase === 'draining' || phase === 'stopping') return;
      phase = 'draining';
      metrics.ready.set(0);
      metrics.draining.set(1);
      log('draining', { message: '/healthz now answers 503; /predict keeps answering until SIGTERM' });
    },
    async stop() {
      if (phase !== 'stopping') {
        phase = 'stopping';
        metrics.ready.set(0);
        log('stopping', { inFlight: active });
      }
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeIdleConnections();
      let timedOut = false;
      if (active > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            timedOut = true;
            resolve();
          }, config.shutdownTimeoutMs);
          idle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      const unfinished = active;
      http.closeAllConnections();
      await closed;
      log('stopped', { timedOut, unfinished });
      return { timedOut, unfinished };
    },
  };
}
