import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../test/support/action-runner';

/**
 * The examples `npm run demo` can take through the pipeline (`--example iris`, the default, or
 * `--example pytorch`): how each trains, what its gate asks, which base image serves it, and what
 * the demo sends it.
 */
export interface DemoVersion {
  label: string;
  pr: number;
  epochs: number;
}

export interface DemoExample {
  name: 'iris' | 'pytorch';
  /** examples/<name>, copied as each pull request's workspace. */
  dir: string;
  /** What is missing to train it here, or undefined. */
  missing(): string | undefined;
  trainCommand(epochs: number): string;
  /** v1 and v2 pass the gate, v3 is undertrained and refused. */
  versions: [DemoVersion, DemoVersion, DemoVersion];
  rules: string[];
  /** Whether the base image needs ONNX Runtime. */
  onnx: boolean;
  /** Instances the demo predicts through the proxy, with what each should be. */
  samples: { values: number[]; expected: string }[];
  describeModel: string;
}

const venvPython = join(repoRoot, '.venv/bin/python');

export const DEMO_EXAMPLES: Record<DemoExample['name'], DemoExample> = {
  iris: {
    name: 'iris',
    dir: join(repoRoot, 'examples/iris'),
    missing: () => undefined,
    trainCommand: (epochs) => `python3 train.py --model-dir model --metrics metrics.json --epochs ${epochs}`,
    versions: [
      { label: 'v1', pr: 1, epochs: 100 },
      { label: 'v2', pr: 2, epochs: 600 },
      { label: 'v3', pr: 3, epochs: 3 },
    ],
    rules: ['accuracy >= 0.9', 'accuracy >= baseline - 0.01', 'loss <= baseline * 1.25'],
    onnx: false,
    samples: [
      { values: [5.1, 3.5, 1.4, 0.2], expected: 'setosa' },
      { values: [6.0, 2.7, 5.1, 1.6], expected: 'versicolor' },
      { values: [6.7, 3.0, 5.2, 2.3], expected: 'virginica' },
    ],
    describeModel: 'linear classifier (model.json), Python standard library',
  },
  pytorch: {
    name: 'pytorch',
    dir: join(repoRoot, 'examples/pytorch'),
    missing: () => (existsSync(venvPython) ? undefined : `${venvPython} is missing: run bash scripts/python-env.sh (Debian's python3-torch and python3-sklearn, and a venv)`),
    // The venv sees Debian's torch and scikit-learn and adds onnxruntime, which train.py uses to check its export.
    trainCommand: (epochs) => `${venvPython} train.py --model-dir model --metrics metrics.json --epochs ${epochs}`,
    versions: [
      { label: 'v1', pr: 1, epochs: 4 },
      { label: 'v2', pr: 2, epochs: 15 },
      { label: 'v3', pr: 3, epochs: 1 },
    ],
    rules: ['accuracy >= 0.9', 'accuracy >= baseline - 0.01', 'loss <= baseline * 1.25', 'onnx_max_abs_diff <= 0.0001'],
    onnx: true,
    // The first digits of scikit-learn's data set (load_digits().data[0..2], raw 0-16 pixel values).
    samples: [
      {
        values: [0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0, 0, 3, 15, 2, 0, 11, 8, 0, 0, 4, 12, 0, 0, 8, 8, 0, 0, 5, 8, 0, 0, 9, 8, 0, 0, 4, 11, 0, 1, 12, 7, 0, 0, 2, 14, 5, 10, 12, 0, 0, 0, 0, 6, 13, 10, 0, 0, 0],
        expected: '0',
      },
      {
        values: [0, 0, 0, 12, 13, 5, 0, 0, 0, 0, 0, 11, 16, 9, 0, 0, 0, 0, 3, 15, 16, 6, 0, 0, 0, 7, 15, 16, 16, 2, 0, 0, 0, 0, 1, 16, 16, 3, 0, 0, 0, 0, 1, 16, 16, 6, 0, 0, 0, 0, 1, 16, 16, 6, 0, 0, 0, 0, 0, 11, 16, 10, 0, 0],
        expected: '1',
      },
      {
        values: [0, 0, 0, 4, 15, 12, 0, 0, 0, 0, 3, 16, 15, 14, 0, 0, 0, 0, 8, 13, 8, 16, 0, 0, 0, 0, 1, 6, 15, 11, 0, 0, 0, 1, 8, 13, 15, 1, 0, 0, 0, 9, 16, 16, 5, 0, 0, 0, 0, 3, 13, 16, 16, 11, 5, 0, 0, 0, 0, 3, 11, 16, 9, 0],
        expected: '2',
      },
    ],
    describeModel: 'PyTorch CNN exported to model.onnx, served by ONNX Runtime',
  },
};

export function chooseExample(args: string[]): DemoExample {
  const index = args.indexOf('--example');
  const value = index >= 0 ? args[index + 1] : args.find((a) => a.startsWith('--example='))?.slice('--example='.length);
  const name = value ?? 'iris';
  if (!(name in DEMO_EXAMPLES)) {
    console.error(`demo: --example must be one of ${Object.keys(DEMO_EXAMPLES).join(', ')}, got ${JSON.stringify(name)}`);
    process.exit(2);
  }
  return DEMO_EXAMPLES[name as DemoExample['name']];
}
