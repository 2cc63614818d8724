/**
 * The body of `POST /predict`:
 *
 *   {"instances": [{"sepal_length": 5.1, "sepal_width": 3.5, ...}, [6.2, 2.9, 4.3, 1.3]]}
 *
 * Each instance is an object keyed by the model's feature names (every feature, no others) or
 * an array of numbers in the model's feature order. Parsing turns them into value arrays, or
 * throws a BadRequest whose message points at the offending place.
 */
export class BadRequest extends Error {
  override readonly name = 'BadRequest';
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export interface PredictRequest {
  /** Feature values in model order, one array per instance. */
  rows: number[][];
  /** The instances as the client sent them, for the prediction log. */
  instances: unknown[];
}

/** A JSON value in a few words, for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}…` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' || value === undefined) return `${typeof value} ${String(value)}`;
  return 'an object';
}

/** What an instance must look like: `width` numbers, or an object keyed by `features` when known. */
export interface InstanceShape {
  features?: readonly string[] | undefined;
  /** Numbers per instance; defaults to the number of features. */
  width?: number;
}

function instanceRow(shape: InstanceShape, instance: unknown, where: string): number[] {
  const features = shape.features;
  const width = shape.width ?? features?.length ?? 0;
  const named = (j: number) => (features ? ` (${features[j]})` : '');
  if (Array.isArray(instance)) {
    if (instance.length !== width) {
      throw new BadRequest(`${where}: expected ${width} values${features ? ` (${features.join(', ')})` : ''}, got ${instance.length}`);
    }
    return instance.map((value, j) => {
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new BadRequest(`${where}[${j}]${named(j)}: expected a number, got ${describe(value)}`);
      return value;
    });
  }
  if (!features) throw new BadRequest(`${where}: expected an array of ${width} numbers, got ${describe(instance)}`);
  if (typeof instance !== 'object' || instance === null) {
    throw new BadRequest(`${where}: expected an object of feature values or an array of ${width} numbers, got ${describe(instance)}`);
  }
  const record = instance as Record<string, unknown>;
  const unknown = Object.keys(record).filter((key) => !features.includes(key));
  if (unknown.length > 0) throw new BadRequest(`${where}: unknown feature ${JSON.stringify(unknown[0])} (the model's features: ${features.join(', ')})`);
  return features.map((feature) => {
    if (!(feature in record)) throw new BadRequest(`${where}: missing feature ${JSON.stringify(feature)}`);
    const value = record[feature];
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new BadRequest(`${where}.${feature}: expected a number, got ${describe(value)}`);
    return value;
  });
}

export function parsePredictRequest(model: InstanceShape, body: string, maxBatch: number): PredictRequest {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (error) {
    throw new BadRequest(`body is not valid JSON (${(error as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new BadRequest(`body must be a JSON object like {"instances": [...]}, got ${describe(doc)}`);
  }
  const { instances, ...rest } = doc as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) throw new BadRequest(`unknown field ${JSON.stringify(extra[0])}: the body has one field, "instances"`);
  if (instances === undefined) throw new BadRequest('missing field "instances": send {"instances": [ ... ]}');
  if (!Array.isArray(instances)) throw new BadRequest(`"instances" must be an array, got ${describe(instances)}`);
  if (instances.length === 0) throw new BadRequest('"instances" is empty: send at least one instance');
  if (instances.length > maxBatch) throw new BadRequest(`"instances" has ${instances.length} entries; at most ${maxBatch} per request`);
  return { rows: instances.map((instance, i) => instanceRow(model, instance, `instances[${i}]`)), instances };
}
