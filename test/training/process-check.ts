import { existsSync, readFileSync } from 'node:fs';

/**
 * Whether a pid is a live process: `kill -0` succeeds and it is not a zombie (a killed process
 * whose parent has not reaped it yet is dead, only its entry remains).
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/** The pids a training script wrote, one a line, into `file`. */
export function pidsIn(file: string): number[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split(/\s+/)
    .filter((s) => /^\d+$/.test(s))
    .map(Number);
}

/**
 * A bash snippet that starts processes the usual ways training leaks them, each recording its pid
 * in `pidFile`: a background child, a grandchild, one that left the process group (setsid), and a
 * detached daemon whose parent exited (re-parented to init, found only by the environment tag).
 * With `ignoreTerm`, all of them (and the script itself) ignore SIGTERM: only SIGKILL stops them.
 */
export function leakyProcesses(pidFile: string, { ignoreTerm = false }: { ignoreTerm?: boolean } = {}): string {
  const sleeper = `${pidFile}.sleeper.sh`;
  return [
    ignoreTerm ? "trap '' TERM" : ':',
    `cat > '${sleeper}' <<'SLEEPER'`,
    ignoreTerm ? "trap '' TERM" : ':',
    'sleep 1000 &',
    `echo $! >> '${pidFile}'`,
    `echo $$ >> '${pidFile}'`,
    'wait',
    'SLEEPER',
    `sleep 1000 & echo $! >> '${pidFile}'`,
    `bash '${sleeper}' &`,
    `setsid bash '${sleeper}' &`,
    `${JSON.stringify(process.execPath)} -e "require('child_process').spawn('bash', ['${sleeper}'], { detached: true, stdio: 'ignore' }).unref()"`,
    // Every one of them has written its pid before the script goes on.
    `while [ "$(wc -l < '${pidFile}')" -lt 7 ]; do sleep 0.05; done`,
  ].join('\n');
}
