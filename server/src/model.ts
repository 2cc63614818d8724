import { classify, type Prediction } from './classify';

export type { Prediction } from './classify';

/**
 * The model format the reference server loads: `model.json`, written by examples/iris/train.py
 * (or anything else that writes the same shape). A linear classifier with softmax output:
 *
 *   z_j      = (x_j - standardize.mean[j]) / standardize.scale[j]
 *   logit_c  = bias[c] + sum_j weights[c][j] * z_j
 *   p        = softmax(logit)
 */
export const MODEL_FORMAT = 'train-to-serve.linear-classifier';
export const MODEL_FORMAT_VERSION = 1;
export const MODEL_FILE = 'model.json';
export const TRAINING_FILE = 'training.json';

export interface LinearClassifier {
  format: typeof MODEL_FORMAT;
  formatVersion: number;
  name: string;
  features: string[];
  classes: string[];
  standardize: { mean: number[]; scale: number[] };
  weights: number[][];
  bias: number[];
}

export class ModelError extends Error {
  override readonly name = 'ModelError';
}

export function fail(source: string, problem: string): never {
  throw new ModelError(`${source}: ${problem}`);
}

/** Parse a model description file that must hold one JSON object, or a ModelError naming `source`. */
export function parseJsonObject(text: string, source: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    fail(source, `not valid JSON (${(error as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(source, 'must be a JSON object');
  return raw as Record<string, unknown>;
}

function finiteArray(value: unknown, length: number, source: string, what: string): number[] {
  if (!Array.isArray(value)) fail(source, `${what} must be an array of ${length} numbers`);
  if (value.length !== length) fail(source, `${what} has ${value.length} entries, expected ${length}`);
  value.forEach((entry, index) => {
    if (typeof entry !== 'number' || !Number.isFinite(entry)) fail(source, `${what}[${index}] is not a finite number`);
  });
  return value as number[];
}

/** A non-empty list of distinct non-empty names, or a ModelError naming `what` in `source`. */
export function nameList(value: unknown, source: string, what: string): string[] {
  if (!Array.isArray(value) || value.length === 0) fail(source, `${what} must be a non-empty array of names`);
  value.forEach((entry, index) => {
    if (typeof entry !== 'string' || entry === '') fail(source, `${what}[${index}] must be a non-empty string`);
  });
  if (new Set(value).size !== value.length) fail(source, `${what} has duplicate names`);
  return value as string[];
}

/** Validate the text of a model.json; every problem names the field. */
export function parseModel(text: string, source = MODEL_FILE): LinearClassifier {
  const doc = parseJsonObject(text, source);
  if (doc.format !== MODEL_FORMAT) fail(source, `format must be "${MODEL_FORMAT}", got ${JSON.stringify(doc.format)}`);
  if (doc.formatVersion !== MODEL_FORMAT_VERSION) {
    fail(source, `formatVersion ${JSON.stringify(doc.formatVersion)} is not supported (this server reads version ${MODEL_FORMAT_VERSION})`);
  }
  const name = typeof doc.name === 'string' && doc.name !== '' ? doc.name : fail(source, 'name must be a non-empty string');
  const features = nameList(doc.features, source, 'features');
  const classes = nameList(doc.classes, source, 'classes');
  if (classes.length < 2) fail(source, 'classes must name at least two classes');
  const standardize = doc.standardize as Record<string, unknown> | undefined;
  if (typeof standardize !== 'object' || standardize === null) fail(source, 'standardize must be an object with mean and scale');
  const mean = finiteArray(standardize.mean, features.length, source, 'standardize.mean');
  const scale = finiteArray(standardize.scale, features.length, source, 'standardize.scale');
  scale.forEach((value, index) => {
    if (value === 0) fail(source, `standardize.scale[${index}] is zero`);
  });
  if (!Array.isArray(doc.weights) || doc.weights.length !== classes.length) {
    fail(source, `weights must be an array of ${classes.length} rows (one per class)`);
  }
  const weights = doc.weights.map((row, index) => finiteArray(row, features.length, source, `weights[${index}]`));
  const bias = finiteArray(doc.bias, classes.length, source, 'bias');
  return { format: MODEL_FORMAT, formatVersion: MODEL_FORMAT_VERSION, name, features, classes, standardize: { mean, scale }, weights, bias };
}

/** Class probabilities for one instance whose values are in `model.features` order. */
export function predict(model: LinearClassifier, values: readonly number[]): Prediction {
  const { mean, scale } = model.standardize;
  const logits = model.weights.map((row, c) => {
    let sum = model.bias[c]!;
    for (let j = 0; j < row.length; j++) sum += row[j]! * ((values[j]! - mean[j]!) / scale[j]!);
    return sum;
  });
  return classify(model.classes, logits, false);
}

/** Provenance the train action writes beside the model (`training.json`); every field optional. */
export interface Provenance {
  gitSha?: string;
  runUrl?: string;
  trainedAt?: string;
}

function pickString(doc: Record<string, unknown>, ...keys: string[]): string | undefined {
  for (const key of keys) {
    const value = key.split('.').reduce<unknown>((node, part) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined), doc);
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

export function parseProvenance(text: string, source = TRAINING_FILE): Provenance {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new ModelError(`${source}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null) throw new ModelError(`${source}: must be a JSON object`);
  const record = doc as Record<string, unknown>;
  return {
    gitSha: pickString(record, 'commit', 'gitSha', 'git_sha', 'sha', 'git.sha', 'source.commit'),
    runUrl: pickString(record, 'runUrl', 'run_url', 'run.url'),
    trainedAt: pickString(record, 'finishedAt', 'endedAt', 'end', 'completedAt'),
  };
}
