import { stat } from 'node:fs/promises';
import { InputError, quote } from '../inputs/errors';
import { isRegistryImage } from '../registry/reference';
import { loadMetricsFile, parseMetrics, type Metrics } from './file';

/**
 * The gate's `baseline`: the metrics a candidate model is compared with. Either a metrics file,
 * or an image reference whose metrics `publish` recorded in the image config label
 * `train-to-serve.metrics` (e.g. the image tagged `production`). Reading an image needs the
 * registry client; the caller passes it in as `readImageMetrics`, so this module stays free of
 * registry code.
 */

export const METRICS_LABEL = 'train-to-serve.metrics';

export interface BaselineReaders {
  /**
   * The text of the `train-to-serve.metrics` label of `reference`'s image config, or undefined
   * when there is no such image or it carries no such label (both: no baseline yet). Throws on
   * anything else (authentication, network), naming the image.
   */
  readImageMetrics?: (reference: string) => Promise<string | undefined>;
}

export type Baseline =
  | { kind: 'file'; source: string; metrics: Metrics }
  | { kind: 'image'; source: string; metrics: Metrics }
  /** An image reference with no recorded metrics: baseline rules follow `on-missing-baseline`. */
  | { kind: 'missing'; source: string; reason: string };

/**
 * Resolve the `baseline` input. Undefined when no baseline was given. A spec that reads as an
 * image reference with a tag or digest (`ghcr.io/acme/iris:production`,
 * `127.0.0.1:5000/acme/iris@sha256:…`) goes to `readers.readImageMetrics`, whatever files the
 * checkout holds: the pull request controls the checkout, and a file it adds under the
 * reference's name must not stand in for the production image's metrics (`./name` reads such a
 * file). Anything else is a metrics file, or an input error when there is none.
 */
export async function resolveBaseline(spec: string | undefined, readers: BaselineReaders = {}, inputName = 'baseline'): Promise<Baseline | undefined> {
  if (spec === undefined || spec.trim() === '') return undefined;
  const text = spec.trim();
  const reference = isRegistryImage(text);
  const exists =
    !reference &&
    (await stat(text).then(
      () => true,
      () => false,
    ));
  if (exists) {
    const metrics = await loadMetricsFile(text);
    return { kind: 'file', source: text, metrics };
  }
  if (!reference) {
    throw new InputError(inputName, `file ${quote(text)} does not exist, and it is not an image reference (host/repository:tag or host/repository@sha256:…)`);
  }
  if (!readers.readImageMetrics) {
    throw new InputError(inputName, `${quote(text)} is an image reference, but this build of gate cannot read metrics from images yet; pass a metrics file`);
  }
  const label = await readers.readImageMetrics(text);
  if (label === undefined) return { kind: 'missing', source: text, reason: `image ${text} does not exist or has no ${METRICS_LABEL} label` };
  return { kind: 'image', source: text, metrics: parseMetrics(label, `label ${METRICS_LABEL} of image ${quote(text, 200)}`) };
}
