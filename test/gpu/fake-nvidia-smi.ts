import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { repoRoot } from '../support/action-runner';

/**
 * A stand-in for nvidia-smi (there is no GPU here): a shell script that replays a recorded answer
 * from test/fixtures/nvidia-smi, one answer per call for `.series` files, and keeps a log of
 * every call's arguments and of any call that started while another was still running.
 */

export const FIXTURES = join(repoRoot, 'test/fixtures/nvidia-smi');

export interface FakeNvidiaSmi {
  /** Folder holding `nvidia-smi`; put it first on PATH. */
  binDir: string;
  /** PATH with the fake first. */
  path: string;
  /** The arguments of every call so far, one string per call. */
  calls(): string[];
  /** How many calls began while another call was still running. */
  overlaps(): number;
  /** Pids of fake nvidia-smi processes alive now (a call killed mid-way leaves none). */
  running(): number[];
}

export interface FakeOptions {
  /** A file name in test/fixtures/nvidia-smi, or an absolute path. */
  fixture: string;
  exitCode?: number;
  /** Seconds each call takes, like a real nvidia-smi initialising NVML. */
  delaySeconds?: number;
}

export function fakeNvidiaSmi({ fixture, exitCode = 0, delaySeconds = 0.05 }: FakeOptions): FakeNvidiaSmi {
  const binDir = mkdtempSync(join(tmpdir(), 'tts-fake-nvidia-smi-'));
  const state = join(binDir, 'state');
  mkdirSync(state);
  const output = resolve(FIXTURES, fixture);
  if (!existsSync(output)) throw new Error(`no fixture ${output}`);
  const script = `#!/bin/sh
# Stand-in for nvidia-smi: replays ${fixture}.
state='${state}'
if ! mkdir "$state/lock" 2>/dev/null; then echo overlap >> "$state/overlaps"; fi
printf '%s\\n' "$*" >> "$state/calls"
n=$(wc -l < "$state/calls")
sleep ${delaySeconds}
awk -v want="$n" 'BEGIN { RS = "" } { last = $0 } NR == want { print; found = 1; exit } END { if (!found) print last }' '${output}'
rmdir "$state/lock" 2>/dev/null
exit ${exitCode}
`;
  writeFileSync(join(binDir, 'nvidia-smi'), script);
  chmodSync(join(binDir, 'nvidia-smi'), 0o755);
  const read = (name: string) => (existsSync(join(state, name)) ? readFileSync(join(state, name), 'utf8') : '');
  return {
    binDir,
    path: `${binDir}${delimiter}${pathWithoutNvidiaSmi()}`,
    calls: () => read('calls').split('\n').filter((line) => line !== ''),
    overlaps: () => read('overlaps').split('\n').filter((line) => line !== '').length,
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
  return readFileSync(resolve(FIXTURES, fixture), 'utf8')
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
