import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * What `GET /metrics` exposes. `model_server_predict_requests_total` counts only `/predict`
 * requests (not health probes or scrapes), so a growing value means someone uses this server:
 * the retire action reads it to keep servers in use.
 */
export interface ServerMetrics {
  registry: Registry;
  predictRequests: Counter<'code'>;
  predictions: Counter<'class'>;
  predictDuration: Histogram<'code'>;
  inFlight: Gauge;
  modelInfo: Gauge<'name' | 'model_digest' | 'image_digest' | 'git_sha' | 'format_version'>;
  ready: Gauge;
  draining: Gauge;
}

export function createMetrics(): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    predictRequests: new Counter({
      name: 'model_server_predict_requests_total',
      help: 'POST /predict requests answered, by HTTP status code.',
      labelNames: ['code'],
      registers: [registry],
    }),
    predictions: new Counter({
      name: 'model_server_predictions_total',
      help: 'Instances predicted, by predicted class.',
      labelNames: ['class'],
      registers: [registry],
    }),
    predictDuration: new Histogram({
      name: 'model_server_predict_duration_seconds',
      help: 'Time from receiving a /predict request to the end of the response, by HTTP status code.',
      labelNames: ['code'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'model_server_predict_in_flight',
      help: '/predict requests being handled right now.',
      registers: [registry],
    }),
    modelInfo: new Gauge({
      name: 'model_server_model_info',
      help: 'The model being served (value 1): name, sha256 of model.json, image digest and git commit when known.',
      labelNames: ['name', 'model_digest', 'image_digest', 'git_sha', 'format_version'],
      registers: [registry],
    }),
    ready: new Gauge({
      name: 'model_server_ready',
      help: '1 once the model is loaded and the server is not draining or stopping.',
      registers: [registry],
    }),
    draining: new Gauge({
      name: 'model_server_draining',
      help: '1 after SIGUSR2: /healthz reports unhealthy while /predict keeps answering.',
      registers: [registry],
    }),
  };
}
