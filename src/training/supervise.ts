import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResourceError } from '../inputs/errors';
import { findRunProcesses, hasProcFs, killRun, stopRun, type ProcessInfo, type RunIdentity } from './processes';

/**
 * Runs the training command the way a workflow `run:` step with `shell: bash` does
 * (`bash --noprofile --norc -eo pipefail <script file>`), in its own process group, its output
 * going straight to the step's log. Stops it (SIGTERM to everything it started, SIGKILL after a
 * grace period) at the timeout or when asked, and never returns while one of its processes lives.
 */

export const PROCESS_TAG = 'TRAIN_TO_SERVE_RUN_TAG';

export type StopReason = 'timeout' | 'cancelled';

export interface StopRequest {
  reason: StopReason;
  /** The signal the action received, for messages. */
  signal?: NodeJS.Signals;
}

export interface CommandOutcome {
  exitCode: number | null;
  /** The signal that ended the root shell, if one did. */
  signal: NodeJS.Signals | null;
  stoppedBy?: StopRequest;
  /** Processes that were signalled to stop it (timeout or cancellation). */
  stopped: ProcessInfo[];
  /** Processes still running after the command exited on its own, which were then stopped. */
  leftovers: ProcessInfo[];
  startedAt: Date;
  finishedAt: Date;
}

export interface SupervisedCommand {
  readonly outcome: Promise<CommandOutcome>;
  /** Stop gracefully: SIGTERM, then SIGKILL after the grace period. Later calls do nothing. */
  stop(request: StopRequest): void;
  /** SIGKILL everything now (a second cancellation). */
  kill(): void;
}

export interface CommandOptions {
  script: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** SIGTERM-to-SIGKILL grace at the timeout. */
  timeoutGraceMs: number;
  /** SIGTERM-to-SIGKILL grace on cancellation; short, since the runner itself kills us ~10 s after its SIGINT. */
  cancelGraceMs: number;
  /** Where the script file goes (RUNNER_TEMP on a runner). */
  tempDir?: string;
}

export function superviseCommand(options: CommandOptions): SupervisedCommand {
  const folder = mkdtempSync(join(options.tempDir ?? tmpdir(), 'train-'));
  const scriptPath = join(folder, 'train.sh');
  writeFileSync(scriptPath, options.script.endsWith('\n') ? options.script : `${options.script}\n`, { mode: 0o600 });
  const tag = randomUUID();
  const startedAt = new Date();
  const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', scriptPath], {
    cwd: options.cwd,
    env: { ...options.env, [PROCESS_TAG]: tag },
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const identity: RunIdentity = { rootPid: child.pid ?? -1, pgid: child.pid ?? -1, tag: `${PROCESS_TAG}=${tag}` };

  let stoppedBy: StopRequest | undefined;
  let stopping: Promise<ProcessInfo[]> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const stop = (request: StopRequest) => {
    if (stopping || identity.pgid < 0) return;
    stoppedBy = request;
    stopping = stopRun(identity, request.reason === 'timeout' ? options.timeoutGraceMs : options.cancelGraceMs);
  };

  const exited = new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT' ? new ResourceError('bash', 'is not on PATH: the training command runs through bash') : error));
    child.on('exit', (exitCode, signal) => resolve({ exitCode, signal }));
  });
  if (options.timeoutMs !== undefined) timer = setTimeout(() => stop({ reason: 'timeout' }), options.timeoutMs);

  const outcome = (async (): Promise<CommandOutcome> => {
    try {
      const { exitCode, signal } = await exited;
      // The pid may be reused once the shell is reaped: from here the group and the tag find the rest.
      identity.rootPid = -1;
      if (timer) clearTimeout(timer);
      const stopped = stopping ? await stopping : [];
      let leftovers: ProcessInfo[] = [];
      const remaining = hasProcFs() ? findRunProcesses(identity) : [];
      if (remaining.length > 0 || !hasProcFs()) {
        const signalled = await stopRun(identity, options.cancelGraceMs);
        leftovers = stoppedBy ? [] : signalled;
      }
      return { exitCode, signal, stoppedBy, stopped, leftovers, startedAt, finishedAt: new Date() };
    } finally {
      if (timer) clearTimeout(timer);
      rmSync(folder, { recursive: true, force: true });
    }
  })();

  return {
    outcome,
    stop,
    kill: () => {
      if (identity.pgid < 0) return;
      stoppedBy ??= { reason: 'cancelled' };
      killRun(identity);
    },
  };
}
