import { InputError } from '../inputs/errors';
import type { DeploySpec } from './deploy-spec';
import type { DeployImage } from './engine';

/**
 * Signals a gunicorn master acts on itself, never passing them to the app: HUP reloads and
 * replaces the workers, USR1 reopens logs, USR2 starts a second master beside the first (the
 * binary upgrade), TTIN/TTOU add and remove workers, WINCH stops the workers of a daemonized
 * master (gunicorn's "Signal Handling" page). None of them is a drain.
 */
export const GUNICORN_MASTER_SIGNALS = ['SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGTTIN', 'SIGTTOU', 'SIGWINCH'];

/** What the server's first process runs: `command` or the image's ENTRYPOINT, then `args`, or the image's CMD when neither was given. */
export function serverArgv(spec: Pick<DeploySpec, 'process'>, image: Pick<DeployImage, 'entrypoint' | 'cmd'>): string[] {
  const { command, args } = spec.process;
  return [...(command ?? image.entrypoint ?? []), ...(args ?? (command ? [] : (image.cmd ?? [])))];
}

const GUNICORN_WORD = /(^|[\s/])gunicorn(\s|$)/;

/**
 * Label routing drains by signalling the server (docker: the drain signal to a server with a
 * health check; swarm: the tasks' stop signal). A gunicorn master in the first process takes the
 * usual drain signals as commands of its own: SIGUSR2 would double the server instead of draining
 * it. Deploy refuses that before anything starts. Routing file drains without a signal.
 */
export function checkDrainSignal(spec: DeploySpec, image: DeployImage): void {
  if (spec.routingChoice.mode !== 'labels') return;
  // docker mode signals only servers with a health check (the drain is the health check turning).
  if (spec.engine === 'docker' && !spec.healthCmd && !image.healthcheck) return;
  if (!GUNICORN_MASTER_SIGNALS.includes(spec.drainSignal)) return;
  const argv = serverArgv(spec, image);
  if (!argv.some((word) => GUNICORN_WORD.test(word))) return;
  throw new InputError(
    'drain-signal',
    `the server runs gunicorn (${argv.slice(0, 4).join(' ')}…), whose master takes ${spec.drainSignal} as a command of its own${spec.drainSignal === 'SIGUSR2' ? ' (start a second master beside the first)' : ''}, not as a drain: use routing: file, which drains without a signal, or run gunicorn under a process that turns a signal into your app's drain`,
  );
}
