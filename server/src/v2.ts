import type { IncomingMessage, ServerResponse } from 'node:http';
import { logLine, type Writer } from './log';
import { BadRequest } from './request';
import type { ServedModel } from './served';
import { parseInferRequest, tensorJson } from './tensors';

/**
 * The Open Inference Protocol (KServe v2) REST API, beside `/predict`
 * (kserve/open-inference-protocol, specification/protocol/inference_rest.md and
 * open_inference_rest.yaml):
 *
 *   GET  /v2                                   server metadata
 *   GET  /v2/health/live                       200 while the process answers
 *   GET  /v2/health/ready                      200 only while ready: 503 when loading, draining, stopping
 *   GET  /v2/models/{name}[/versions/{v}]        model metadata (inputs and outputs from its signature)
 *   GET  /v2/models/{name}[/versions/{v}]/ready  200 once the model is loaded
 *   POST /v2/models/{name}[/versions/{v}]/infer  typed tensors in, typed tensors out
 *
 * Errors are `{"error": "..."}`: 400 for a bad request, 404 for an unknown model or version.
 */
export const SERVER_NAME = 'train-to-serve';
export const SERVER_VERSION = '1';

type Phase = 'loading' | 'ready' | 'draining' | 'stopping';

export interface V2Context {
  req: IncomingMessage;
  res: ServerResponse;
  path: string;
  requestId: string;
  started: bigint;
  phase: Phase;
  model: ServedModel | undefined;
  send: (res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>) => void;
  counted(req: IncomingMessage, res: ServerResponse, requestId: string, started: bigint, answer: (model: ServedModel, body: string) => Promise<unknown>): Promise<void>;
  maxBatch: number;
  /** The prediction log, when on. */
  log: Writer | undefined;
  imageDigest: string | undefined;
}

const MODEL_PATH = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/infer)?$/;

function metadata(model: ServedModel): Record<string, unknown> {
  return { name: model.name, versions: [model.version], platform: model.platform, inputs: model.inputs, outputs: model.outputs };
}

export async function handleV2(ctx: V2Context): Promise<void> {
  const { req, res, path, send, phase, model } = ctx;
  const method = req.method ?? 'GET';
  const get = (allowed: () => void) => (method === 'GET' || method === 'HEAD' ? allowed() : send(res, 405, { error: `use GET ${path}` }, { allow: 'GET, HEAD' }));
  if (path === '/v2' || path === '/v2/') return get(() => send(res, 200, { name: SERVER_NAME, version: SERVER_VERSION, extensions: [] }));
  if (path === '/v2/health/live') return get(() => send(res, 200, { live: true }));
  if (path === '/v2/health/ready') return get(() => send(res, phase === 'ready' ? 200 : 503, { ready: phase === 'ready' }));

  const match = MODEL_PATH.exec(path);
  if (!match) return send(res, 404, { error: `no route ${method} ${path}` });
  const [, rawName, version, action] = match;
  const name = decodeURIComponent(rawName!);
  if (!model) {
    if (action === '/ready') return get(() => send(res, 503, { name, ready: false }));
    return send(res, 503, { error: 'the model is still loading' });
  }
  if (name !== model.name) return send(res, 404, { error: `unknown model ${JSON.stringify(name)}: this server serves ${JSON.stringify(model.name)}` });
  if (version !== undefined && decodeURIComponent(version) !== model.version) {
    return send(res, 404, { error: `unknown version ${JSON.stringify(version)} of model ${JSON.stringify(model.name)}: it has version ${model.version}` });
  }
  if (action === '/ready') return get(() => send(res, 200, { name: model.name, ready: true }));
  if (action === undefined) return get(() => send(res, 200, metadata(model)));
  if (method !== 'POST') return send(res, 405, { error: `use POST ${path} with a JSON body` }, { allow: 'POST' });
  return ctx.counted(req, res, ctx.requestId, ctx.started, async (served, body) => {
    const request = parseInferRequest(body, served.inputs, served.outputs, ctx.maxBatch);
    const outputs = (await served.infer(request.inputs, request.outputs)).map(tensorJson);
    if (outputs.length === 0) throw new BadRequest('no outputs requested');
    const answer = { model_name: served.name, model_version: served.version, id: request.id ?? ctx.requestId, outputs };
    // Logged before answering, as /predict's predictions are.
    ctx.log?.(
      logLine('inference', {
        requestId: ctx.requestId,
        model: served.name,
        modelDigest: served.digest,
        ...(ctx.imageDigest ? { imageDigest: ctx.imageDigest } : {}),
        latencyMs: Math.round((Number(process.hrtime.bigint() - ctx.started) / 1e6) * 1000) / 1000,
        input: [...request.inputs.values()].map(tensorJson),
        output: outputs,
      }),
    );
    return answer;
  });
}
