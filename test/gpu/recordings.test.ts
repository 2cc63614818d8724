import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isMissing, numberCell, readQueryCsv } from '../../src/gpu/csv';
import { parseGpuList } from '../../src/gpu/mig';
import { interpretNvidiaSmi, LIST_ARGS, parseGpuCsv, probeGpus, QUERY_ARGS, type GpuRecord } from '../../src/gpu/probe';
import { fakeNvidiaSmi, RECORDED } from './fake-nvidia-smi';

/**
 * Every recording of real nvidia-smi output (test/fixtures/nvidia-smi-public, see its README)
 * against what is written beside it in `<file>.expected.json`: the GPUs or MIG instances it
 * holds, the cells it shows, and what train's preflight makes of it when it is the answer to
 * train's query. The GPUs, cells and MIG listings were written from the recordings by a separate
 * reader, not from this code's output; the failure messages were read and checked by hand.
 */

interface Expected {
  command: string;
  exitCode: number;
  exitCodeFrom: string;
  kind: 'query-gpu' | 'list' | 'compute-apps' | 'failure';
  stream?: 'stdout' | 'stderr';
  /** The command's fields, for output without a header. */
  asked?: string[];
  rows?: number;
  missingCells?: number;
  cells?: { row: number; field: string; missing?: string; text?: string; number?: number; unit?: string }[];
  gpus?: GpuRecord[];
  list?: ReturnType<typeof parseGpuList>;
  /** `N GPU(s)`, or the exact message the step fails with. */
  asTrainAnswer: string;
}

const files = readdirSync(RECORDED)
  .filter((file) => file.endsWith('.txt'))
  .sort();
const recording = (file: string) => readFileSync(join(RECORDED, file), 'utf8');
const expectation = (file: string) => JSON.parse(readFileSync(join(RECORDED, `${file}.expected.json`), 'utf8')) as Expected;

function outcome(run: () => GpuRecord[]): string {
  try {
    return `${run().length} GPU(s)`;
  } catch (error) {
    return (error as Error).message;
  }
}

it('holds the 35 recordings, each with its expectation', () => {
  expect(files).toHaveLength(35);
  expect(readdirSync(RECORDED).filter((file) => file.endsWith('.expected.json'))).toHaveLength(35);
  const kinds = files.map((file) => expectation(file).kind);
  expect(kinds.filter((kind) => kind === 'failure')).toHaveLength(14);
});

describe.each(files)('%s', (file) => {
  const expected = expectation(file);
  const text = recording(file);

  if (expected.kind === 'query-gpu') {
    it('reads every row; a missing value is unknown (never 0), units are read, spot cells are right', () => {
      const table = readQueryCsv(text, expected.asked);
      expect(table.rows).toHaveLength(expected.rows!);
      const missing = table.rows.flatMap(({ cells }) => Object.entries(cells).filter(([, cell]) => isMissing(cell)));
      expect(missing).toHaveLength(expected.missingCells!);
      for (const [field, cell] of missing) expect(numberCell(cell, field, 'MiB')).toBeNull();
      for (const spot of expected.cells!) {
        const cell = table.rows[spot.row]!.cells[spot.field];
        if (spot.missing !== undefined) expect(cell).toEqual({ missing: spot.missing });
        else if (spot.text !== undefined) expect(cell).toBe(spot.text);
        else expect(numberCell(cell, spot.field, spot.unit ?? 'none')).toBe(spot.number);
      }
    });
  }

  if (expected.gpus) {
    it(`parses into ${expected.gpus.length} GPU(s) with train's fields`, () => {
      expect(parseGpuCsv(text, expected.asked)).toEqual(expected.gpus);
    });
  }

  if (expected.kind === 'list') {
    it('lists every GPU and its MIG instances', () => {
      expect(parseGpuList(text)).toEqual(expected.list);
    });
  }

  it(`as the answer to train's query: ${expected.asTrainAnswer.slice(0, 90)}`, () => {
    expect(outcome(() => interpretNvidiaSmi({ exitCode: expected.exitCode, stdout: text, stderr: '' }))).toBe(expected.asTrainAnswer);
    if (expected.kind === 'failure') {
      // The same words on stderr with stdout empty: read the same way.
      expect(outcome(() => interpretNvidiaSmi({ exitCode: expected.exitCode, stdout: '', stderr: text }))).toBe(expected.asTrainAnswer);
      expect(expected.asTrainAnswer).toContain(`exited with code ${expected.exitCode}`);
    }
  });

  it('replayed by the stand-in nvidia-smi, the preflight gives the same, running nvidia-smi once when it fails', async () => {
    const fake = fakeNvidiaSmi({ fixture: file, exitCode: expected.exitCode, stream: expected.stream ?? 'stdout', delaySeconds: 0 });
    let result: string;
    try {
      result = `${(await probeGpus({ env: { ...process.env, PATH: fake.path } })).length} GPU(s)`;
    } catch (error) {
      result = (error as Error).message;
    }
    expect(result).toBe(expected.asTrainAnswer);
    const succeeded = /^\d+ GPU\(s\)$/.test(expected.asTrainAnswer);
    expect(fake.calls()).toEqual(succeeded ? [QUERY_ARGS.join(' '), LIST_ARGS.join(' ')] : [QUERY_ARGS.join(' ')]);
  });
});

describe('the failure recordings on stderr, as the stand-in prints them', () => {
  it.each(files.filter((file) => expectation(file).kind === 'failure'))('%s', async (file) => {
    const expected = expectation(file);
    const fake = fakeNvidiaSmi({ fixture: file, exitCode: expected.exitCode, stream: 'stderr', delaySeconds: 0 });
    await expect(probeGpus({ env: { ...process.env, PATH: fake.path } })).rejects.toThrow(expected.asTrainAnswer);
  });
});
