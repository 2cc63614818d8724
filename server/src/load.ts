import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MODEL_FILE, ModelError, TRAINING_FILE, parseModel, parseProvenance, predict, type LinearClassifier, type Provenance } from './model';
import { ONNX_FILE, SIDECAR_FILE, loadOnnxModel, type OnnxLoadOptions } from './onnx';
import type { ServedModel } from './served';
import type { Tensor } from './tensors';

/**
 * The model directory: `model.json` (the linear-classifier format) or `model.onnx` (with an
 * optional `model.onnx.json` sidecar), never both, and the train action's optional
 * `training.json`.
 */
async function readOptional(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new ModelError(`${path}: cannot read (${(error as Error).message})`);
  }
}

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** The linear classifier behind the same interface as an ONNX model. */
export function servedLinear(model: LinearClassifier, digest: string, path: string, provenance: Provenance): ServedModel {
  const features = model.features.length;
  const classes = model.classes.length;
  return {
    name: model.name,
    format: model.format,
    formatVersion: String(model.formatVersion),
    platform: 'train-to-serve_linear',
    digest,
    version: digest.slice('sha256:'.length, 'sha256:'.length + 12),
    path,
    provenance,
    features: model.features,
    classes: model.classes,
    width: features,
    inputs: [{ name: 'input', datatype: 'FP64', shape: [-1, features] }],
    outputs: [
      { name: 'probabilities', datatype: 'FP64', shape: [-1, classes] },
      { name: 'label', datatype: 'BYTES', shape: [-1] },
    ],
    device: 'js',
    predict: (rows) => Promise.resolve(rows.map((row) => predict(model, row))),
    infer(inputs, wanted) {
      const input = inputs.get('input')!;
      const rows = Array.from({ length: input.shape[0]! }, (_, i) => (input.data as number[]).slice(i * features, (i + 1) * features));
      const predictions = rows.map((row) => predict(model, row));
      const all: Record<string, Tensor> = {
        probabilities: { name: 'probabilities', datatype: 'FP64', shape: [rows.length, classes], data: predictions.flatMap((p) => model.classes.map((c) => p.probabilities[c]!)) },
        label: { name: 'label', datatype: 'BYTES', shape: [rows.length], data: predictions.map((p) => p.class) },
      };
      return Promise.resolve(wanted.map((name) => all[name]!));
    },
  };
}

export async function loadModelDir(dir: string, onnx: OnnxLoadOptions): Promise<ServedModel> {
  const jsonPath = join(dir, MODEL_FILE);
  const onnxPath = join(dir, ONNX_FILE);
  const [json, onnxBytes] = await Promise.all([readOptional(jsonPath), readOptional(onnxPath)]);
  if (json && onnxBytes) throw new ModelError(`${dir}: holds both ${MODEL_FILE} and ${ONNX_FILE}; a model directory serves one model, remove one`);
  if (!json && !onnxBytes) throw new ModelError(`${jsonPath}: no model found (set MODEL_DIR, or put the model's ${MODEL_FILE} or ${ONNX_FILE} in ${dir})`);
  const trainingPath = join(dir, TRAINING_FILE);
  const training = await readOptional(trainingPath);
  const provenance = training === undefined ? {} : parseProvenance(training.toString('utf8'), trainingPath);
  if (json) return servedLinear(parseModel(json.toString('utf8'), jsonPath), sha256(json), jsonPath, provenance);
  const sidecarPath = join(dir, SIDECAR_FILE);
  const sidecar = await readOptional(sidecarPath);
  return loadOnnxModel(onnxPath, onnxBytes!, sidecar?.toString('utf8'), sidecarPath, sha256(onnxBytes!), provenance, onnx);
}
