import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../test/support/action-runner';
import { freePort, waitFor } from '../../test/support/ports';
import { SERVER_BUNDLE, irisModel } from '../../test/support/server-image';

/** The bundled server as a real process on loopback, its stdout split into JSON events. */
export interface ServerProcess {
  child: ChildProcess;
  url: string;
  port: number;
  events: Record<string, unknown>[];
  stderr: () => string;
  exited: Promise<number | null>;
  waitForEvent(event: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): void;
}

export function modelDir(files: Record<string, string | Buffer> = { 'model.json': JSON.stringify(irisModel()) }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tts-model-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

export async function startServer(env: Record<string, string> = {}, options: { waitReady?: boolean } = {}): Promise<ServerProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const child = spawn(process.execPath, [SERVER_BUNDLE], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: String(port), MODEL_DIR: env.MODEL_DIR ?? modelDir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: Record<string, unknown>[] = [];
  let buffered = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) if (line) events.push(JSON.parse(line) as Record<string, unknown>);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const server: ServerProcess = {
    child,
    url: `http://127.0.0.1:${port}`,
    port,
    events,
    stderr: () => stderr,
    exited,
    async waitForEvent(event, timeoutMs = 10_000) {
      await waitFor(`server event ${event} (stderr: ${stderr})`, async () => events.some((e) => e.event === event), timeoutMs, 20);
      return events.find((e) => e.event === event)!;
    },
    kill(signal = 'SIGTERM') {
      child.kill(signal);
    },
  };
  // An upper bound only: loading ONNX Runtime on a busy machine has taken over 10 s.
  if (options.waitReady ?? true) await server.waitForEvent('ready', 120_000);
  return server;
}

export async function predict(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(`${url}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown>, headers: response.headers };
}
