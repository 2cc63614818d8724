import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../action-runner';
import { waitFor } from '../ports';

// The stand-in is its own process: it outlives the test that starts it only when asked to.

const index = join(repoRoot, 'test/support/traefik/index.ts');
const main = join(repoRoot, 'test/support/traefik/main.ts');

/** A parent process that starts the stand-in, prints where it is, and exits. */
function parentStarting(detached: boolean): Promise<{ pid: number; apiUrl: string }> {
  const script = `const { startTraefikStandIn } = await import(${JSON.stringify(index)});
const t = await startTraefikStandIn({ constraints: 'Label(\`nothing\`, \`matches\`)', detached: ${detached} });
console.log(JSON.stringify({ pid: t.pid, apiUrl: t.apiUrl }));
process.exit(0);`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as { pid: number; apiUrl: string });
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('Traefik stand-in process', { timeout: 120_000 }, () => {
  it('stops when the process that started it exits', async () => {
    const { pid } = await parentStarting(false);
    await waitFor('the stand-in to exit with its parent', async () => !alive(pid), 15_000, 100);
  });

  it('keeps running after its parent exits when detached, until stopped', async () => {
    const { pid, apiUrl } = await parentStarting(true);
    try {
      const ping = await fetch(`${apiUrl}/ping`);
      expect([ping.status, await ping.text()]).toEqual([200, 'OK']);
    } finally {
      process.kill(pid, 'SIGTERM');
    }
    await waitFor('the stand-in to stop on SIGTERM', async () => !alive(pid), 15_000, 100);
  });

  it.each([
    [['--providers.consulCatalog=true'], 'providers.consulcatalog: not implemented by the Traefik stand-in (it implements providers.docker, providers.swarm and providers.file)'],
    [['--entryPoints.web.address=nowhere'], 'entryPoints.web.address: expected [host]:port, got "nowhere"'],
  ])('refuses %j with one clear line and exit code 2', async (args, message) => {
    const result = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(process.execPath, ['--import', 'tsx', main, ...args], { cwd: repoRoot }, (error, _stdout, stderr) => resolve({ code: (error as { code?: number } | null)?.code ?? 0, stderr })),
    );
    expect(result).toEqual({ code: 2, stderr: `traefik stand-in: ${message}\n` });
  });
});
