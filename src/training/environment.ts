import type { GpuRecord } from '../gpu/probe';
import { gpuEnvironment } from '../gpu/select';

/** Variables of the action process that a `run:` step never sees: inputs and runtime credentials. */
const ACTION_ONLY = /^(INPUT_|STATE_|ACTIONS_RUNTIME_|ACTIONS_ID_TOKEN_REQUEST_|ACTIONS_CACHE_URL$|ACTIONS_RESULTS_URL$)/;

/** Host mode: the step's environment, as a `run:` step would have it, plus the GPU selection. */
export function hostEnvironment(env: NodeJS.ProcessEnv, chosen: GpuRecord[], given: Record<string, string> = {}): NodeJS.ProcessEnv {
  const result: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(env)) if (!ACTION_ONLY.test(key) && value !== undefined) result[key] = value;
  return { ...result, PYTHONUNBUFFERED: env.PYTHONUNBUFFERED ?? '1', ...given, ...gpuEnvironment(chosen, 'host') };
}

/** Runner variables that describe the run and mean the same inside a container; host paths do not. */
const HOST_PATHS = new Set(['GITHUB_ENV', 'GITHUB_OUTPUT', 'GITHUB_PATH', 'GITHUB_STATE', 'GITHUB_STEP_SUMMARY', 'GITHUB_EVENT_PATH', 'GITHUB_TOKEN']);

/**
 * Container mode: only the run's description crosses into the image (CI, GITHUB_* context,
 * RUNNER_OS/ARCH/NAME) and what the user gave in `env`, never the runner host's PATH,
 * virtualenvs, library paths or runtime tokens. The GPU selection wins over `env`.
 */
export function containerEnvironment(env: NodeJS.ProcessEnv, chosen: GpuRecord[], workspace: string, given: Record<string, string> = {}): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (key === 'CI' || (key.startsWith('GITHUB_') && !HOST_PATHS.has(key)) || ['RUNNER_OS', 'RUNNER_ARCH', 'RUNNER_NAME'].includes(key)) result[key] = value;
  }
  return { ...result, GITHUB_WORKSPACE: workspace, PYTHONUNBUFFERED: '1', ...given, ...gpuEnvironment(chosen, 'container') };
}
