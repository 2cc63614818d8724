import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { fail, ModelError, nameList, parseJsonObject, type Prediction, type Provenance } from './model';
import { BadRequest } from './request';
import { classify } from './classify';
import type { ServedModel } from './served';
import type { Datatype, Tensor, TensorSpec, TensorValue } from './tensors';

/**
 * ONNX models: `model.onnx` served with ONNX Runtime, and its sidecar `model.onnx.json` for what
 * the ONNX file cannot say in a way the runtime's JavaScript API reads back (class labels, feature
 * names, whether the scores are logits). Inputs and outputs come from the model's own signature.
 */
export const ONNX_FILE = 'model.onnx';
export const SIDECAR_FILE = 'model.onnx.json';

/** `native`: onnxruntime-node (the image's runtime); `wasm`: onnxruntime-web, for comparison. */
export type OnnxRuntime = 'native' | 'wasm';
/** `auto`: CUDA when its provider library is installed, else CPU (logged); `cpu`; `cuda` (required). */
export type OnnxProvider = 'auto' | 'cpu' | 'cuda';

export interface Sidecar {
  name?: string;
  features?: string[];
  classes?: string[];
  /** The output holding the class scores (default: the model's first output). */
  output?: string;
  scores?: 'logits' | 'probabilities';
}

export function parseSidecar(text: string, source = SIDECAR_FILE): Sidecar {
  const doc = parseJsonObject(text, source);
  const known = ['name', 'features', 'classes', 'output', 'scores'];
  const unknown = Object.keys(doc).find((key) => !known.includes(key));
  if (unknown) fail(source, `unknown field ${JSON.stringify(unknown)} (known: ${known.join(', ')})`);
  const sidecar: Sidecar = {};
  if (doc.name !== undefined) sidecar.name = typeof doc.name === 'string' && /^[\w.-]{1,100}$/.test(doc.name) ? doc.name : fail(source, 'name must be 1 to 100 letters, digits, ".", "_" or "-"');
  if (doc.features !== undefined) sidecar.features = nameList(doc.features, source, 'features');
  if (doc.classes !== undefined) sidecar.classes = nameList(doc.classes, source, 'classes');
  if (doc.output !== undefined) sidecar.output = typeof doc.output === 'string' && doc.output !== '' ? doc.output : fail(source, 'output must be the name of one of the model outputs');
  if (doc.scores !== undefined && doc.scores !== 'logits' && doc.scores !== 'probabilities') fail(source, `scores must be "logits" or "probabilities", got ${JSON.stringify(doc.scores)}`);
  if (doc.scores !== undefined) sidecar.scores = doc.scores;
  if (sidecar.classes && !sidecar.scores) fail(source, 'scores is required with classes: "logits" (the server applies softmax) or "probabilities"');
  return sidecar;
}

const TYPES: Record<string, Datatype> = {
  bool: 'BOOL',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
};
const ORT_TYPES = Object.fromEntries(Object.entries(TYPES).map(([ort, dt]) => [dt, ort])) as Record<Datatype, OrtTensor.Type>;

function specs(metadata: readonly InferenceSession.ValueMetadata[], source: string, kind: string): TensorSpec[] {
  return metadata.map((value) => {
    if (!value.isTensor) fail(source, `${kind} ${JSON.stringify(value.name)} is not a tensor (sequences and maps are not served)`);
    const datatype = TYPES[value.type] ?? fail(source, `${kind} ${JSON.stringify(value.name)} has element type ${value.type}, which the inference protocol cannot carry`);
    return { name: value.name, datatype, shape: value.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
  });
}

type Ort = typeof import('onnxruntime-node');

async function runtimeModule(runtime: OnnxRuntime): Promise<Ort> {
  const name = runtime === 'native' ? 'onnxruntime-node' : 'onnxruntime-web';
  // ONNX Runtime 1.30's native library starts a telemetry client that tries HTTPS uploads; a
  // prediction server sends nothing anywhere unless told to. Set before the library loads.
  process.env.ORT_DISABLE_TELEMETRY ??= '1';
  try {
    const mod = (await import(name)) as Ort & { default?: Ort };
    return mod.default ?? mod;
  } catch (error) {
    throw new ModelError(`${ONNX_FILE}: cannot load the ONNX runtime ${name} (${(error as Error).message}); the image must ship node_modules/${name}`);
  }
}

/** Whether onnxruntime-node has the CUDA provider library beside its binding (see docs/models-and-servers.md). */
function cudaInstalled(): boolean {
  try {
    const main = createRequire(import.meta.url).resolve('onnxruntime-node');
    return existsSync(join(dirname(main), '..', 'bin/napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so'));
  } catch {
    return false;
  }
}

async function createSession(ort: Ort, bytes: Buffer, runtime: OnnxRuntime, provider: OnnxProvider, source: string, log: (fields: Record<string, unknown>) => void) {
  const create = async (providers: string[]) => {
    try {
      // No spinning: a server runs many requests at once, and intra-op threads that spin while
      // waiting for work take the cores the other requests (and the HTTP loop) need.
      return await ort.InferenceSession.create(bytes, { executionProviders: providers, graphOptimizationLevel: 'all', extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } });
    } catch (error) {
      throw new ModelError(`${source}: ONNX Runtime cannot load it (${String((error as Error).message ?? error).split('\n')[0]})`);
    }
  };
  if (runtime === 'wasm') return { session: await create(['wasm']), device: 'wasm' };
  if (provider === 'cpu') return { session: await create(['cpu']), device: 'cpu' };
  if (provider === 'cuda' || cudaInstalled()) {
    try {
      return { session: await create(['cuda']), device: 'cuda' };
    } catch (error) {
      if (provider === 'cuda') throw error;
      log({ provider: 'cpu', reason: `the CUDA provider did not start: ${(error as Error).message}` });
      return { session: await create(['cpu']), device: 'cpu' };
    }
  }
  log({ provider: 'cpu', reason: 'the CUDA provider library is not installed (libonnxruntime_providers_cuda.so)' });
  return { session: await create(['cpu']), device: 'cpu' };
}

function ortTensor(ort: Ort, tensor: Tensor): OrtTensor {
  const { datatype, data, shape } = tensor;
  switch (datatype) {
    case 'BYTES':
      return new ort.Tensor('string', data as string[], shape);
    case 'BOOL':
      return new ort.Tensor(
        'bool',
        Uint8Array.from(data as boolean[], (v) => (v ? 1 : 0)),
        shape,
      );
    default:
      return new ort.Tensor(ORT_TYPES[datatype], data as never, shape);
  }
}

const fromOrt = (name: string, value: OrtTensor): Tensor => ({
  name,
  datatype: TYPES[value.type] ?? 'BYTES',
  shape: [...value.dims],
  data: Array.from(value.data as ArrayLike<TensorValue>, (v) => (typeof v === 'number' && value.type === 'bool' ? v !== 0 : v)),
});

/** ONNX Runtime's messages for inputs that do not fit the model: the client's mistake, a 400. */
const INPUT_MISMATCH = /invalid dimensions|invalid rank|unexpected input data type|shape mismatch|input.*(size|dimension)/i;

export interface OnnxLoadOptions {
  runtime: OnnxRuntime;
  provider: OnnxProvider;
  log: (fields: Record<string, unknown>) => void;
}

export async function loadOnnxModel(path: string, bytes: Buffer, sidecarText: string | undefined, sidecarPath: string, digest: string, provenance: Provenance, options: OnnxLoadOptions): Promise<ServedModel> {
  const sidecar = sidecarText === undefined ? {} : parseSidecar(sidecarText, sidecarPath);
  const ort = await runtimeModule(options.runtime);
  const { session, device } = await createSession(ort, bytes, options.runtime, options.provider, path, options.log);
  const inputs = specs(session.inputMetadata, path, 'input');
  const outputs = specs(session.outputMetadata, path, 'output');

  // /predict: one numeric input whose first dimension is the batch; the rest give the width.
  const single = inputs.length === 1 && (inputs[0]!.datatype === 'FP32' || inputs[0]!.datatype === 'FP64') ? inputs[0] : undefined;
  const rest = single?.shape.slice(1) ?? [];
  const width = single && rest.every((d) => d > 0) ? rest.reduce((a, b) => a * b, 1) : 0;
  if (sidecar.features && sidecar.features.length !== width) {
    fail(sidecarPath, `features names ${sidecar.features.length} values, the model's input takes ${width || 'no fixed number of'} values per instance`);
  }
  const scoresName = sidecar.output ?? outputs[0]?.name;
  const scores = outputs.find((o) => o.name === scoresName) ?? fail(sidecarPath, `output ${JSON.stringify(sidecar.output)} is not an output of the model (${outputs.map((o) => o.name).join(', ')})`);
  if (sidecar.classes) {
    const classCount = scores.shape[scores.shape.length - 1];
    if (scores.shape.length !== 2 || (classCount !== -1 && classCount !== sidecar.classes.length)) {
      fail(sidecarPath, `classes names ${sidecar.classes.length} classes, but output ${scores.name} has shape [${scores.shape.join(', ')}] (expected [batch, ${sidecar.classes.length}])`);
    }
    if (!single || width === 0) fail(sidecarPath, 'classes are given, but the model does not take one float input of fixed width per instance, so /predict cannot feed it');
  }

  async function run(feeds: Map<string, Tensor>, wanted: string[]): Promise<Tensor[]> {
    const feed: Record<string, OrtTensor> = {};
    for (const [name, tensor] of feeds) feed[name] = ortTensor(ort, tensor);
    let result: InferenceSession.ReturnType;
    try {
      result = await session.run(feed, wanted);
    } catch (error) {
      const message = String((error as Error).message ?? error)
        .replace(/\s+/g, ' ')
        .trim();
      if (INPUT_MISMATCH.test(message)) throw new BadRequest(`the model rejected the input: ${message}`);
      throw error;
    }
    return wanted.map((name) => fromOrt(name, result[name]!));
  }

  // One run on zeros at load: a model that loads but cannot run never becomes a healthy server.
  if (inputs.every((s) => s.datatype !== 'BYTES' && s.datatype !== 'FP16')) {
    const zeros = new Map<string, Tensor>();
    for (const spec of inputs) {
      const shape = spec.shape.map((d) => (d < 0 ? 1 : d));
      const count = shape.reduce((a, b) => a * b, 1);
      const zero: TensorValue = spec.datatype === 'BOOL' ? false : spec.datatype.endsWith('INT64') ? 0n : 0;
      zeros.set(spec.name, { name: spec.name, datatype: spec.datatype, shape, data: new Array<TensorValue>(count).fill(zero) });
    }
    try {
      await run(
        zeros,
        outputs.map((o) => o.name),
      );
    } catch (error) {
      fail(path, `a test run on zeros failed: ${(error as Error).message}`);
    }
  }

  return {
    name: sidecar.name ?? 'model',
    format: 'onnx',
    formatVersion: '1',
    platform: 'onnxruntime_onnx',
    digest,
    version: digest.slice('sha256:'.length, 'sha256:'.length + 12),
    path,
    provenance,
    features: sidecar.features,
    classes: sidecar.classes,
    width,
    inputs,
    outputs,
    device,
    infer: run,
    async predict(rows: number[][]): Promise<Prediction[]> {
      if (!sidecar.classes || !single) throw new BadRequest(`this model has no classes in ${SIDECAR_FILE}, so /predict cannot label its outputs: use POST /v2/models/${sidecar.name ?? 'model'}/infer`);
      const tensor: Tensor = { name: single.name, datatype: single.datatype, shape: [rows.length, ...rest], data: rows.flat() };
      const [out] = await run(new Map([[single.name, tensor]]), [scores.name]);
      const classes = sidecar.classes;
      if (out!.shape[1] !== classes.length) throw new Error(`output ${scores.name} has ${out!.shape[1]} scores per instance, ${SIDECAR_FILE} names ${classes.length} classes`);
      return rows.map((_, i) => classify(classes, (out!.data as number[]).slice(i * classes.length, (i + 1) * classes.length), sidecar.scores === 'probabilities'));
    },
  };
}
