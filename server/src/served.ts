import type { Prediction } from './classify';
import type { Provenance } from './model';
import type { Tensor, TensorSpec } from './tensors';

/**
 * A model the server has loaded, whatever its format: what `/predict`, `/model`, the Open
 * Inference Protocol routes and the metrics need to know and do.
 */
export interface ServedModel {
  name: string;
  /** `train-to-serve.linear-classifier` or `onnx`. */
  format: string;
  formatVersion: string;
  /** The protocol's `platform`: `train-to-serve_linear` or `onnxruntime_onnx` (KServe's name). */
  platform: string;
  /** sha256 of the model file's bytes: names exactly the weights being served. */
  digest: string;
  /** The protocol's model version: the first 12 hex digits of the digest. */
  version: string;
  path: string;
  provenance: Provenance;
  /** Feature names, when known: `/predict` then also takes instances as objects keyed by them. */
  features: string[] | undefined;
  /** Class labels; undefined for a model that is no classifier (then `/predict` refuses). */
  classes: string[] | undefined;
  /** Numbers per `/predict` instance. */
  width: number;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** Where the model runs (`js`, `cpu`, `cuda`, `wasm`). */
  device: string;
  /** Class probabilities for instances of `width` numbers each. */
  predict(rows: number[][]): Promise<Prediction[]>;
  /** Run on checked inputs; returns the named outputs in that order. */
  infer(inputs: Map<string, Tensor>, outputs: string[]): Promise<Tensor[]>;
}
