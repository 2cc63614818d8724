import { BadRequest, describe } from './request';

/**
 * Typed tensors of the Open Inference Protocol (KServe v2) REST API: the datatypes of its
 * "Tensor Data Types" table, a tensor's `{name, shape, datatype, data}` and the checks that turn a
 * request's JSON into values a model can run on, or a BadRequest naming the place.
 */
export const DATATYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'] as const;
export type Datatype = (typeof DATATYPES)[number];

/** What a model declares: -1 marks a dynamic dimension (the batch, usually). */
export interface TensorSpec {
  name: string;
  datatype: Datatype;
  shape: number[];
}

export type TensorValue = number | bigint | boolean | string;

export interface Tensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  /** Row-major, flattened. INT64/UINT64 values are bigints. */
  data: TensorValue[];
}

const INTEGER_RANGE: Partial<Record<Datatype, [number, number]>> = {
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
};

/** One JSON element as a value of `datatype`, or a BadRequest naming `where`. */
function element(datatype: Datatype, value: unknown, where: string): TensorValue {
  switch (datatype) {
    case 'BOOL':
      if (typeof value !== 'boolean') throw new BadRequest(`${where}: expected true or false (BOOL), got ${describe(value)}`);
      return value;
    case 'BYTES':
      if (typeof value !== 'string') throw new BadRequest(`${where}: expected a string (BYTES), got ${describe(value)}`);
      return value;
    case 'FP32':
    case 'FP64':
      if (typeof value !== 'number') throw new BadRequest(`${where}: expected a number (${datatype}), got ${describe(value)}`);
      return value;
    case 'INT64':
    case 'UINT64': {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || (datatype === 'UINT64' && value < 0)) {
        throw new BadRequest(`${where}: expected ${datatype === 'UINT64' ? 'a non-negative' : 'an'} integer (${datatype}) within ±2^53, got ${describe(value)}`);
      }
      return BigInt(value);
    }
    case 'FP16':
      throw new BadRequest(`${where}: FP16 cannot be sent as JSON numbers here; send FP32`);
    default: {
      const [min, max] = INTEGER_RANGE[datatype]!;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        throw new BadRequest(`${where}: expected an integer from ${min} to ${max} (${datatype}), got ${describe(value)}`);
      }
      return value;
    }
  }
}

/** Flatten `data` (flat or nested in the tensor's own shape, both allowed by the protocol). */
function flatten(data: unknown[], out: unknown[]): void {
  for (const item of data) {
    if (Array.isArray(item)) flatten(item, out);
    else out.push(item);
  }
}

const shapeText = (shape: readonly number[]) => `[${shape.map((d) => (d < 0 ? 'batch' : String(d))).join(', ')}]`;

/**
 * Parse and check one `inputs[i]` of an inference request against the model's input `spec`:
 * datatype equal, rank equal, fixed dimensions equal, element count equal to the shape's product.
 */
export function parseInput(raw: unknown, spec: TensorSpec, where: string, maxBatch: number): Tensor {
  const input = raw as Record<string, unknown>;
  const { shape, datatype, data } = input;
  if (datatype !== spec.datatype) {
    throw new BadRequest(`${where} (${spec.name}): datatype must be ${spec.datatype}, got ${JSON.stringify(datatype)}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw new BadRequest(`${where} (${spec.name}): shape must be an array of non-negative integers`);
  }
  const dims = shape as number[];
  const mismatch = dims.length !== spec.shape.length || spec.shape.some((d, i) => d >= 0 && d !== dims[i]);
  if (mismatch) throw new BadRequest(`${where} (${spec.name}): shape [${dims.join(', ')}] does not fit the model's ${shapeText(spec.shape)}`);
  if (spec.shape[0] === -1 && dims[0]! > maxBatch) throw new BadRequest(`${where} (${spec.name}): batch of ${dims[0]} is over the limit of ${maxBatch}`);
  if (!Array.isArray(data)) throw new BadRequest(`${where} (${spec.name}): data must be an array`);
  const flat: unknown[] = [];
  flatten(data, flat);
  const count = dims.reduce((a, b) => a * b, 1);
  if (flat.length !== count) throw new BadRequest(`${where} (${spec.name}): shape [${dims.join(', ')}] holds ${count} values, data has ${flat.length}`);
  return { name: spec.name, datatype: spec.datatype, shape: dims, data: flat.map((value, i) => element(spec.datatype, value, `${where}.data[${i}]`)) };
}

export interface InferRequest {
  id: string | undefined;
  inputs: Map<string, Tensor>;
  /** Names of the outputs to return; every output when the request names none. */
  outputs: string[];
}

/** The body of `POST /v2/models/{name}/infer`, checked against the model's signature. */
export function parseInferRequest(body: string, inputs: readonly TensorSpec[], outputs: readonly TensorSpec[], maxBatch: number): InferRequest {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (error) {
    throw new BadRequest(`body is not valid JSON (${(error as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new BadRequest(`body must be a JSON object with "inputs", got ${describe(doc)}`);
  const request = doc as Record<string, unknown>;
  if (request.id !== undefined && typeof request.id !== 'string') throw new BadRequest('id must be a string');
  if (!Array.isArray(request.inputs)) throw new BadRequest('inputs must be an array of tensors ({"name", "shape", "datatype", "data"})');
  const parsed = new Map<string, Tensor>();
  request.inputs.forEach((raw, i) => {
    const where = `inputs[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new BadRequest(`${where}: must be an object`);
    const name = (raw as Record<string, unknown>).name;
    const spec = inputs.find((s) => s.name === name);
    if (!spec) throw new BadRequest(`${where}: unknown input ${JSON.stringify(name)} (the model's inputs: ${inputs.map((s) => s.name).join(', ')})`);
    if (parsed.has(spec.name)) throw new BadRequest(`${where}: input ${JSON.stringify(name)} is given twice`);
    parsed.set(spec.name, parseInput(raw, spec, where, maxBatch));
  });
  const missing = inputs.filter((s) => !parsed.has(s.name));
  if (missing.length > 0) throw new BadRequest(`missing input ${JSON.stringify(missing[0]!.name)} (${missing[0]!.datatype} ${shapeText(missing[0]!.shape)})`);
  let wanted = outputs.map((s) => s.name);
  if (request.outputs !== undefined) {
    if (!Array.isArray(request.outputs)) throw new BadRequest('outputs must be an array of {"name"}');
    wanted = request.outputs.map((raw, i) => {
      const name = (raw as Record<string, unknown> | null)?.name;
      if (!outputs.some((s) => s.name === name)) throw new BadRequest(`outputs[${i}]: unknown output ${JSON.stringify(name)} (the model's outputs: ${outputs.map((s) => s.name).join(', ')})`);
      return name as string;
    });
  }
  return { id: request.id, inputs: parsed, outputs: wanted };
}

/** A tensor as JSON: bigints become numbers (exact up to 2^53). */
export function tensorJson(tensor: Tensor): Record<string, unknown> {
  return { name: tensor.name, datatype: tensor.datatype, shape: tensor.shape, data: tensor.data.map((v) => (typeof v === 'bigint' ? Number(v) : v)) };
}
