/**
 * Small ONNX models for tests and the server benchmark, written byte by byte from the ONNX
 * protobuf schema (onnx/onnx.proto: ModelProto, GraphProto, NodeProto, TensorProto,
 * ValueInfoProto), so the server's tests need neither Python nor the onnx package. The weights
 * come from a seeded generator: the same call gives the same bytes.
 */

/** Protobuf wire format: varints (wire type 0) and length-delimited fields (wire type 2). */
function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}
const key = (field: number, wire: number) => varint(field * 8 + wire);
const intField = (field: number, value: number) => Buffer.concat([key(field, 0), varint(value)]);
const bytesField = (field: number, value: Buffer | string) => {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([key(field, 2), varint(bytes.length), bytes]);
};

/** TensorProto.DataType values. */
export const ONNX_FLOAT = 1;
export const ONNX_INT64 = 7;

/** A dimension: a number is fixed, a string is symbolic (a dynamic batch, for example). */
export type Dim = number | string;

function valueInfo(name: string, elemType: number, shape: Dim[]): Buffer {
  const dims = shape.map((dim) => bytesField(1, typeof dim === 'number' ? intField(1, dim) : bytesField(2, dim)));
  const tensorType = Buffer.concat([intField(1, elemType), bytesField(2, Buffer.concat(dims))]);
  return Buffer.concat([bytesField(1, name), bytesField(2, bytesField(1, tensorType))]);
}

function floatTensor(name: string, dims: number[], values: number[]): Buffer {
  const raw = Buffer.alloc(values.length * 4);
  values.forEach((value, i) => raw.writeFloatLE(value, i * 4));
  return Buffer.concat([...dims.map((dim) => intField(1, dim)), intField(2, ONNX_FLOAT), bytesField(8, name), bytesField(9, raw)]);
}

function int64Tensor(name: string, values: number[]): Buffer {
  const raw = Buffer.alloc(values.length * 8);
  values.forEach((value, i) => raw.writeBigInt64LE(BigInt(value), i * 8));
  return Buffer.concat([intField(1, values.length), intField(2, ONNX_INT64), bytesField(8, name), bytesField(9, raw)]);
}

interface Attribute {
  name: string;
  ints?: number[];
  int?: number;
}

function attribute({ name, ints, int }: Attribute): Buffer {
  // AttributeProto: name 1, i 3, ints 8, type 20 (INT = 2, INTS = 7).
  if (ints) return Buffer.concat([bytesField(1, name), ...ints.map((value) => intField(8, value)), intField(20, 7)]);
  return Buffer.concat([bytesField(1, name), intField(3, int ?? 0), intField(20, 2)]);
}

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Attribute[];
  domain?: string;
}

export interface OnnxGraph {
  nodes: OnnxNode[];
  inputs: { name: string; elemType?: number; shape: Dim[] }[];
  outputs: { name: string; elemType?: number; shape: Dim[] }[];
  initializers: { name: string; dims: number[]; values: number[]; int64?: boolean }[];
  opset?: number;
}

/** A serialized ModelProto (IR version 8, the default ONNX domain at `opset`, default 17). */
export function onnxModel(graph: OnnxGraph): Buffer {
  const nodes = graph.nodes.map((node, i) =>
    bytesField(
      1,
      Buffer.concat([
        ...node.inputs.map((name) => bytesField(1, name)),
        ...node.outputs.map((name) => bytesField(2, name)),
        bytesField(3, `${node.op.toLowerCase()}_${i}`),
        bytesField(4, node.op),
        ...(node.attributes ?? []).map((a) => bytesField(5, attribute(a))),
        ...(node.domain ? [bytesField(7, node.domain)] : []),
      ]),
    ),
  );
  const body = Buffer.concat([
    ...nodes,
    bytesField(2, 'graph'),
    ...graph.initializers.map((t) => bytesField(5, t.int64 ? int64Tensor(t.name, t.values) : floatTensor(t.name, t.dims, t.values))),
    ...graph.inputs.map((v) => bytesField(11, valueInfo(v.name, v.elemType ?? ONNX_FLOAT, v.shape))),
    ...graph.outputs.map((v) => bytesField(12, valueInfo(v.name, v.elemType ?? ONNX_FLOAT, v.shape))),
  ]);
  const opset = Buffer.concat([bytesField(1, ''), intField(2, graph.opset ?? 17)]);
  return Buffer.concat([intField(1, 8), bytesField(2, 'train-to-serve tests'), bytesField(7, body), bytesField(8, opset)]);
}

/** Deterministic weights in [-1, 1) (a linear congruential generator). */
export function seededValues(count: number, seed: number, scale = 1): number[] {
  let state = seed >>> 0 || 1;
  return Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return ((state / 2 ** 32) * 2 - 1) * scale;
  });
}

/**
 * A tabular classifier: input `features` float[batch, F] → Gemm → `logits` [batch, C] and
 * Softmax → `probabilities` [batch, C].
 */
export function tabularClassifier(features = 4, classes = 3, seed = 1): Buffer {
  return onnxModel({
    nodes: [
      { op: 'Gemm', inputs: ['features', 'W', 'b'], outputs: ['logits'], attributes: [{ name: 'transB', int: 1 }] },
      { op: 'Softmax', inputs: ['logits'], outputs: ['probabilities'], attributes: [{ name: 'axis', int: 1 }] },
    ],
    inputs: [{ name: 'features', shape: ['batch', features] }],
    outputs: [
      { name: 'logits', shape: ['batch', classes] },
      { name: 'probabilities', shape: ['batch', classes] },
    ],
    initializers: [
      { name: 'W', dims: [classes, features], values: seededValues(classes * features, seed) },
      { name: 'b', dims: [classes], values: seededValues(classes, seed + 1, 0.1) },
    ],
  });
}

/**
 * A small image classifier: `image` float[batch, 1, size, size] → Conv 3×3 (8 channels) → Relu →
 * MaxPool 2×2 → Flatten → Gemm → `logits` [batch, 10].
 */
export function imageClassifier(size = 28, seed = 3): Buffer {
  const channels = 8;
  const pooled = Math.floor((size - 2) / 2);
  const flat = channels * pooled * pooled;
  return onnxModel({
    nodes: [
      { op: 'Conv', inputs: ['image', 'K', 'kb'], outputs: ['conv'], attributes: [{ name: 'kernel_shape', ints: [3, 3] }] },
      { op: 'Relu', inputs: ['conv'], outputs: ['relu'] },
      {
        op: 'MaxPool',
        inputs: ['relu'],
        outputs: ['pool'],
        attributes: [
          { name: 'kernel_shape', ints: [2, 2] },
          { name: 'strides', ints: [2, 2] },
        ],
      },
      { op: 'Flatten', inputs: ['pool'], outputs: ['flat'], attributes: [{ name: 'axis', int: 1 }] },
      { op: 'Gemm', inputs: ['flat', 'W', 'b'], outputs: ['logits'], attributes: [{ name: 'transB', int: 1 }] },
    ],
    inputs: [{ name: 'image', shape: ['batch', 1, size, size] }],
    outputs: [{ name: 'logits', shape: ['batch', 10] }],
    initializers: [
      { name: 'K', dims: [channels, 1, 3, 3], values: seededValues(channels * 9, seed, 0.5) },
      { name: 'kb', dims: [channels], values: seededValues(channels, seed + 1, 0.1) },
      { name: 'W', dims: [10, flat], values: seededValues(10 * flat, seed + 2, 0.05) },
      { name: 'b', dims: [10], values: seededValues(10, seed + 3, 0.1) },
    ],
  });
}

/** A model whose only node is an operator no ONNX Runtime implements. */
export function unsupportedOpModel(): Buffer {
  return onnxModel({
    nodes: [{ op: 'FrobnicateTensor', inputs: ['x'], outputs: ['y'] }],
    inputs: [{ name: 'x', shape: ['batch', 4] }],
    outputs: [{ name: 'y', shape: ['batch', 4] }],
    initializers: [],
  });
}

/** Int64 in, int64 out (`x + 1`): exercises the INT64 datatype of the inference protocol. */
export function int64Model(): Buffer {
  return onnxModel({
    nodes: [{ op: 'Add', inputs: ['x', 'one'], outputs: ['y'] }],
    inputs: [{ name: 'x', elemType: ONNX_INT64, shape: ['batch', 2] }],
    outputs: [{ name: 'y', elemType: ONNX_INT64, shape: ['batch', 2] }],
    initializers: [{ name: 'one', dims: [1], values: [1], int64: true }],
  });
}
