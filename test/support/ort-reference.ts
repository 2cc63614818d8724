import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './action-runner';

/**
 * ONNX Runtime's own Python answer for a model and inputs (test/support/python/ort_reference.py
 * in the .venv that scripts/python-env.sh makes), to compare the server's answers with.
 */
const PYTHON = join(repoRoot, '.venv/bin/python');

export function pythonReference(model: string, inputs: unknown[]): Promise<{ version: string; outputs: { name: string; shape: number[]; data: number[] }[] }> {
  return new Promise((resolve, reject) => {
    const child = execFile(PYTHON, [join(repoRoot, 'test/support/python/ort_reference.py')], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`ort_reference.py: ${stderr || error.message} (run scripts/python-env.sh)`));
      else resolve(JSON.parse(stdout) as never);
    });
    child.stdin!.end(JSON.stringify({ model, inputs }));
  });
}
