import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { repoRoot } from '../support/action-runner';

/**
 * A stand-in for nvidia-smi (there is no GPU here): a shell script that replays recorded answers
 * byte for byte, one for `--query-gpu` and one for `-L`, on stdout or stderr with the recorded
 * exit code, and keeps a log of every call's arguments and of any call that started while another
 * was still running. A `.series` file (hand-written) holds several answers separated by blank
 * lines: each query call gets the next one, and the last repeats.
 */

/** Real nvidia-smi output from public sources (see its README). */
export const RECORDED = join(repoRoot, 'test/fixtures/nvidia-smi-public');
/** Hand-written answers, only for what no recording covers (see its README). */
export const HAND_WRITTEN = join(repoRoot, 'test/fixtures/nvidia-smi');

/** A fixture by file name: a recording, else a hand-written answer; or an absolute path. */
export function fixturePath(name: string): string {
  for (const dir of [RECORDED, HAND_WRITTEN]) if (existsSync(resolve(dir, name))) return resolve(dir, name);
  throw new Error(`no nvidia-smi fixture ${name}`);
}

export const readFixture = (name: string) => readFileSync(fixturePath(name), 'utf8');

export interface FakeNvidiaSmi {
  /** Folder holding `nvidia-smi`; put it first on PATH. */
  binDir: string;
  /** PATH with the fake first. */
  path: string;
  /** The arguments of every call so far, one string per call. */
  calls(): string[];
  /** The file those are appended to, one line per call: a training command can wait on it. */
  callsFile: string;
  /** How many calls began while another call was still running. */
  overlaps(): number;
  /** Pids of fake nvidia-smi processes alive now (a call killed mid-way leaves none). */
  running(): number[];
}

export interface Answer {
  /** A fixture name (see fixturePath). */
  fixture: string;
  exitCode?: number;
  /** Where the bytes go; nvidia-smi prints some failures on stdout with stderr empty. */
  stream?: 'stdout' | 'stderr';
}

export interface FakeOptions extends Answer {
  /** The answer to `-L`; by default a failing query's failure, else no output (no MIG). */
  list?: Answer;
  /** From query call `fromCall` on (1 is the first), this answer instead: a driver that breaks mid-run. */
  later?: Answer & { fromCall: number };
  /** Seconds each call takes, like a real nvidia-smi initialising NVML. */
  delaySeconds?: number;
}

function replay(answer: Answer): string {
  const file = fixturePath(answer.fixture);
  const redirect = answer.stream === 'stderr' ? ' >&2' : '';
  const print = file.endsWith('.series')
    ? `n=$(grep -vc '^-L$' "$state/calls")\n  awk -v want="$n" 'BEGIN { RS = "" } { last = $0 } NR == want { print; found = 1; exit } END { if (!found) print last }' '${file}'${redirect}`
    : `cat '${file}'${redirect}`;
  return `${print}\n  code=${answer.exitCode ?? 0}`;
}

export function fakeNvidiaSmi({ list, later, delaySeconds = 0.05, ...query }: FakeOptions): FakeNvidiaSmi {
  const binDir = mkdtempSync(join(tmpdir(), 'tts-fake-nvidia-smi-'));
  const state = join(binDir, 'state');
  mkdirSync(state);
  const listAnswer = list ? replay(list) : query.exitCode ? replay(query) : 'code=0';
  const script = `#!/bin/sh
# Stand-in for nvidia-smi: replays ${[query, list, later].flatMap((answer) => (answer ? [answer.fixture] : [])).join(', ')}.
state='${state}'
if ! mkdir "$state/lock" 2>/dev/null; then echo overlap >> "$state/overlaps"; fi
printf '%s\\n' "$*" >> "$state/calls"
sleep ${delaySeconds}
if [ "$1" = "-L" ]; then
  ${listAnswer}
${later ? `elif [ "$(grep -vc '^-L$' "$state/calls")" -ge ${later.fromCall} ]; then\n  ${replay(later)}\n` : ''}else
  ${replay(query)}
fi
rmdir "$state/lock" 2>/dev/null
exit $code
`;
  writeFileSync(join(binDir, 'nvidia-smi'), script);
  chmodSync(join(binDir, 'nvidia-smi'), 0o755);
  const read = (name: string) => (existsSync(join(state, name)) ? readFileSync(join(state, name), 'utf8') : '');
  return {
    binDir,
    path: `${binDir}${delimiter}${pathWithoutNvidiaSmi()}`,
    calls: () =>
      read('calls')
        .split('\n')
        .filter((line) => line !== ''),
    callsFile: join(state, 'calls'),
    overlaps: () =>
      read('overlaps')
        .split('\n')
        .filter((line) => line !== '').length,
    running: () => processesRunning(binDir),
  };
}

/** PATH with any folder holding a real nvidia-smi left out, so "missing" is missing on any machine. */
export function pathWithoutNvidiaSmi(): string {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '' && !existsSync(join(dir, 'nvidia-smi')))
    .join(delimiter);
}

/** The answers in a fixture, split the way the fake splits them. */
export function fixtureFrames(fixture: string): string[] {
  return readFixture(fixture)
    .split(/\n\s*\n/)
    .map((frame) => frame.trim())
    .filter((frame) => frame !== '')
    .map((frame) => `${frame}\n`);
}

/** Live processes whose command line mentions `needle`, read from /proc. */
export function processesRunning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) pids.push(Number(entry));
    } catch {
      // Exited while we looked.
    }
  }
  return pids;
}
