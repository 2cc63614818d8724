import { parse as parseYaml } from 'yaml';
import { FileReadError, readSmallFile } from '../files/read';
import { errorMessage, InputError, ResourceError } from '../inputs/errors';

/**
 * Metrics files as written by training code: JSON or YAML, nested objects flattened to dotted
 * names (`eval.accuracy`), arrays by index (`per_class.0`). Numeric leaves can be gated; other
 * leaves (strings, booleans, null) are kept for the report but never compared.
 */
export type MetricValue = number | string | boolean | null;

export interface Metrics {
  /** Every leaf in file order. */
  readonly entries: ReadonlyArray<{ readonly name: string; readonly value: MetricValue }>;
  /** The numeric leaves, by dotted name. */
  readonly numbers: ReadonlyMap<string, number>;
}

const NON_FINITE_TEXT = /^[+-]?(nan|inf|infinity)$/i;

/** Parse metrics text. `source` names where it came from (a path, or an image label) for errors. */
export function parseMetrics(text: string, source: string): Metrics {
  const where = `Metrics ${source}`;
  if (text.trim() === '') throw new ResourceError(where, 'is empty');
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    try {
      document = parseYaml(text, { uniqueKeys: true });
    } catch (error) {
      const reason = errorMessage(error).split('\n')[0];
      throw new ResourceError(where, `is neither valid JSON nor YAML (${reason})`);
    }
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new ResourceError(where, 'must hold a mapping of metric names to values at the top level');
  }
  const entries: { name: string; value: MetricValue }[] = [];
  flattenInto(document, '', entries);
  if (entries.length === 0) throw new ResourceError(where, 'holds no metrics');

  const numbers = new Map<string, number>();
  for (const { name, value } of entries) {
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new ResourceError(where, `metric "${name}" is not a finite number (${value})`);
      numbers.set(name, value);
    } else if (typeof value === 'string' && NON_FINITE_TEXT.test(value.trim())) {
      // Python's json.dump writes NaN and Infinity bare; YAML readers then see text.
      throw new ResourceError(where, `metric "${name}" is not a finite number (${value})`);
    }
  }
  return { entries, numbers };
}

/** Training code writes metrics, so a file may be anything: more than this is refused, not read. */
export const MAX_METRICS_FILE_BYTES = 8 * 1024 * 1024;

/**
 * Read and parse a metrics file; every failure names the file (as `shown`, the path by default).
 * Only a regular file of at most MAX_METRICS_FILE_BYTES is read.
 */
export async function loadMetricsFile(path: string, shown = `Metrics file "${path}"`): Promise<Metrics> {
  let text: string;
  try {
    text = (await readSmallFile(path, MAX_METRICS_FILE_BYTES)).toString('utf8');
  } catch (error) {
    if (error instanceof FileReadError) throw new ResourceError(shown, error.problem);
    throw error;
  }
  return parseMetrics(text, `file "${path}"`);
}

/** The metrics as one flat JSON object, for outputs, labels and provenance records. */
export function metricsToJson(metrics: Metrics): Record<string, MetricValue> {
  return Object.fromEntries(metrics.entries.map(({ name, value }) => [name, value]));
}

function flattenInto(node: unknown, prefix: string, out: { name: string; value: MetricValue }[]): void {
  const children: [string, unknown][] = Array.isArray(node) ? node.map((value, index) => [String(index), value]) : Object.entries(node as Record<string, unknown>);
  for (const [key, value] of children) {
    const name = prefix === '' ? key : `${prefix}.${key}`;
    if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
      flattenInto(value, name, out);
    } else if (value instanceof Date) {
      out.push({ name, value: value.toISOString() });
    } else if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean' || value === null) {
      out.push({ name, value });
    } else {
      // What is left (undefined, a bigint, a function) is no object: its own text stands for it.
      const scalar = value as undefined | bigint | symbol;
      out.push({ name, value: String(scalar) });
    }
  }
}

/** A metrics file an input names: its problems are that input's (`Input "metrics": Metrics file …`). */
export async function loadMetricsInput(input: string, path: string): Promise<Metrics> {
  try {
    return await loadMetricsFile(path);
  } catch (error) {
    if (error instanceof ResourceError) throw new InputError(input, error.message);
    throw error;
  }
}
