import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { runnerContainerCommand, type RunnerContainer } from './runner-container';

/**
 * Starts an action's committed bundle the way the GitHub runner does: `node <runs.main>` with each
 * input as `INPUT_<NAME>` (defaults from action.yml filled in, `${{ … }}` expressions evaluated
 * from a small context), and the runner's files (`GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`,
 * `GITHUB_EVENT_PATH`, …). Returns what the runner would read back.
 */

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface ActionRunOptions {
  inputs?: Record<string, string | number | boolean>;
  /** Extra environment (wins over the defaults below). */
  env?: Record<string, string | undefined>;
  /** The triggering event; its payload becomes GITHUB_EVENT_PATH. */
  event?: { name: string; payload: Record<string, unknown> };
  /** The job token `${{ github.token }}` evaluates to. */
  token?: string;
  /** GITHUB_WORKSPACE and the working directory; a fresh temp folder by default. */
  workspace?: string;
  timeoutMs?: number;
  /**
   * Run the bundle in a container instead of on the host, as a self-hosted runner in a container
   * runs it (runner-container.ts): attached to `network`, with the engine's socket, this checkout
   * (read-only), the runner's files and workspace, and `volumes` (host paths, mounted read-write
   * at the same path).
   */
  container?: RunnerContainer;
  /** The Node binary that runs the bundle on the host; the one running this process by default. */
  node?: string;
}

export interface Annotation {
  level: 'error' | 'warning' | 'notice';
  message: string;
}

export interface ActionRunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr together, with `::add-mask::` commands removed (the runner consumes them). */
  log: string;
  /** Values the action asked the runner to mask. */
  masked: string[];
  outputs: Record<string, string>;
  summary: string;
  annotations: Annotation[];
  workspace: string;
}

export interface StartedAction {
  child: ChildProcess;
  result: Promise<ActionRunResult>;
}

interface ActionMetadata {
  inputs?: Record<string, { default?: string; required?: boolean }>;
  runs: { using: string; main: string };
}

export function readActionMetadata(name: string): ActionMetadata {
  return parseYaml(readFileSync(join(repoRoot, 'actions', name, 'action.yml'), 'utf8')) as ActionMetadata;
}

function evaluateDefault(text: string, context: Record<string, string>): string {
  return text.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expression: string) => {
    if (!(expression in context)) throw new Error(`test runner cannot evaluate \${{ ${expression} }} in an action.yml default`);
    return context[expression]!;
  });
}

export function startAction(name: string, options: ActionRunOptions = {}): StartedAction {
  const meta = readActionMetadata(name);
  const main = resolve(join(repoRoot, 'actions', name), meta.runs.main);
  if (!existsSync(main)) throw new Error(`bundle ${main} does not exist: run npm run build`);

  const files = mkdtempSync(join(tmpdir(), `tts-runner-${name}-`));
  const workspace = options.workspace ?? mkdtempSync(join(tmpdir(), `tts-ws-${name}-`));
  const outputFile = join(files, 'output');
  const summaryFile = join(files, 'summary');
  const eventFile = join(files, 'event.json');
  for (const file of [outputFile, summaryFile, join(files, 'env'), join(files, 'state'), join(files, 'path')]) writeFileSync(file, '');
  const event = options.event ?? { name: 'push', payload: {} };
  writeFileSync(eventFile, JSON.stringify(event.payload));

  const token = options.token ?? 'ghs_testtoken0123456789';
  const baseEnv: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DOCKER_HOST: process.env.DOCKER_HOST,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_REPOSITORY: 'acme/iris',
    GITHUB_REPOSITORY_OWNER: 'acme',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_EVENT_NAME: event.name,
    GITHUB_EVENT_PATH: eventFile,
    GITHUB_WORKFLOW: 'release',
    GITHUB_JOB: 'model',
    GITHUB_ACTOR: 'octocat',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: 'http://127.0.0.1:9/unreachable-github-api',
    GITHUB_WORKSPACE: workspace,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_ENV: join(files, 'env'),
    GITHUB_STATE: join(files, 'state'),
    GITHUB_PATH: join(files, 'path'),
    RUNNER_TEMP: files,
    RUNNER_OS: 'Linux',
  };
  const env = { ...baseEnv, ...options.env };
  const context: Record<string, string> = {
    'github.token': token,
    'github.actor': env.GITHUB_ACTOR ?? '',
    'github.repository': env.GITHUB_REPOSITORY ?? '',
    'github.sha': env.GITHUB_SHA ?? '',
    'github.workspace': workspace,
    'github.job': env.GITHUB_JOB ?? '',
    'github.workflow': env.GITHUB_WORKFLOW ?? '',
    'github.api_url': env.GITHUB_API_URL ?? '',
    'github.server_url': env.GITHUB_SERVER_URL ?? '',
  };
  const given = Object.fromEntries(Object.entries(options.inputs ?? {}).map(([k, v]) => [k, String(v)]));
  for (const key of Object.keys(given)) {
    if (!(key in (meta.inputs ?? {}))) throw new Error(`action ${name} has no input "${key}"`);
  }
  for (const [key, spec] of Object.entries(meta.inputs ?? {})) {
    const value = key in given ? given[key]! : spec.default !== undefined ? evaluateDefault(String(spec.default), context) : '';
    env[`INPUT_${key.replace(/ /g, '_').toUpperCase()}`] = value;
  }

  const definedEnv = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const container = options.container ? runnerContainerCommand(options.container, { main, workspace, files, env: definedEnv }) : undefined;
  const child = container
    ? spawn(container.command, container.args, { env: { ...process.env, ...definedEnv }, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(options.node ?? process.execPath, [main], { cwd: workspace, env: definedEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let raw = '';
  child.stdout.on('data', (chunk: Buffer) => (raw += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (raw += chunk.toString()));

  const result = new Promise<ActionRunResult>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      container?.remove();
      reject(new Error(`action ${name} did not finish within ${options.timeoutMs ?? 120_000} ms; log so far:\n${raw}`));
    }, options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      const masked: string[] = [];
      const lines = raw.split('\n').filter((line) => {
        const mask = /^::add-mask::(.*)$/.exec(line);
        if (mask) masked.push(mask[1]!);
        return !mask;
      });
      const log = lines.join('\n');
      resolvePromise({
        exitCode,
        signal,
        log,
        masked,
        outputs: parseOutputFile(readFileSync(outputFile, 'utf8')),
        summary: readFileSync(summaryFile, 'utf8'),
        annotations: parseAnnotations(log),
        workspace,
      });
    });
  });
  return { child, result };
}

export function runAction(name: string, options: ActionRunOptions = {}): Promise<ActionRunResult> {
  return startAction(name, options).result;
}

/** The runner's `name<<DELIMITER … DELIMITER` file format (and the older `name=value`). */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, key, delimiter] = heredoc;
      const value: string[] = [];
      for (i += 1; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i]!);
      outputs[key!] = value.join('\n');
    } else if (line.includes('=')) {
      outputs[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return outputs;
}

function unescapeData(text: string): string {
  return text.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
}

export function parseAnnotations(log: string): Annotation[] {
  const annotations: Annotation[] = [];
  for (const line of log.split('\n')) {
    const match = /^::(error|warning|notice)(?: [^:]*)?::(.*)$/.exec(line);
    if (match) annotations.push({ level: match[1] as Annotation['level'], message: unescapeData(match[2]!) });
  }
  return annotations;
}

/** The one-line failure message the step printed, if it failed. */
export function failureMessage(result: ActionRunResult): string | undefined {
  return result.annotations.find((a) => a.level === 'error')?.message;
}
