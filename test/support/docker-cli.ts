import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, writeFileSync, mkdirSync, copyFileSync, realpathSync, statSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';

/**
 * The Docker CLI, for test setup and for checking results the way a user would (`docker pull`,
 * `docker run`). Debian's client at /usr/bin/docker matches the engine it ships with and builds
 * from local images without pulling; another client on PATH may insist on BuildKit plugins.
 */
export const DOCKER = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';

export function docker(args: string[], options: { input?: Buffer | string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(DOCKER, args, { env: { ...process.env, ...options.env }, maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 300_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`docker ${args.join(' ')} failed: ${stderr || error.message}`));
      else resolve(stdout);
    });
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}

export async function imageExists(reference: string): Promise<boolean> {
  try {
    await docker(['image', 'inspect', reference]);
    return true;
  } catch {
    return false;
  }
}

/**
 * A base image holding only the `node` binary that runs these tests and the libraries it links,
 * made with `docker import` (nothing can be pulled here). Named under `localhost/` so the engine
 * can never look it up on Docker Hub. Tagged by the binary's identity, so it is built once.
 */
export async function ensureNodeBaseImage(): Promise<string> {
  const nodeBinary = realpathSync(process.execPath);
  const stat = statSync(nodeBinary);
  const tag = createHash('sha256').update(`${nodeBinary}:${stat.size}:${stat.mtimeMs}:${process.version}`).digest('hex').slice(0, 12);
  const reference = `localhost/train-to-serve/node-base:${tag}`;
  if (await imageExists(reference)) return reference;

  const root = mkdtempSync(join(tmpdir(), 'tts-rootfs-'));
  try {
    const place = (source: string, target: string) => {
      mkdirSync(join(root, dirname(target)), { recursive: true });
      copyFileSync(source, join(root, target));
    };
    place(nodeBinary, '/usr/local/bin/node');
    const { stdout: ldd } = await promisify(execFile)('ldd', [nodeBinary]);
    for (const line of ldd.split('\n')) {
      const match = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
      if (match) {
        place(realpathSync(match[1]!), match[1]!);
      }
    }
    mkdirSync(join(root, 'tmp'), { recursive: true, mode: 0o1777 });
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/usr/sbin/nologin\nnode:x:1000:1000:node:/home/node:/usr/sbin/nologin\n');
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnode:x:1000:\n');
    return await importRootfs(root, reference, ['ENV PATH=/usr/local/bin:/usr/bin:/bin']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** `docker import` of a root filesystem folder as `reference`, with Dockerfile `changes`. */
export async function importRootfs(root: string, reference: string, changes: string[]): Promise<string> {
  const tar = spawn('tar', ['-C', root, '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const chunks: Buffer[] = [];
  for await (const chunk of tar.stdout) chunks.push(chunk as Buffer);
  await docker(['import', ...changes.flatMap((change) => ['--change', change]), '-', reference], { input: Buffer.concat(chunks) });
  return reference;
}

/**
 * Build an image from a Dockerfile and a few files, with the legacy builder (it uses local base
 * images without trying to pull them).
 */
export async function buildImage(reference: string, files: Record<string, string | Buffer>): Promise<string> {
  const context = mkdtempSync(join(tmpdir(), 'tts-build-'));
  try {
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(dirname(join(context, name)), { recursive: true });
      writeFileSync(join(context, name), content);
    }
    await docker(['build', '--quiet', '-t', reference, context], { env: { DOCKER_BUILDKIT: '0' } });
    return reference;
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

/**
 * Remove a network the tests created, after its containers are gone. The engine can report
 * "active endpoints" for a moment after `docker rm -f` returns, so it retries a few times; it
 * never throws (cleanup must not hide the test's own result).
 */
export async function removeNetwork(name: string, attempts = 5): Promise<void> {
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      await docker(['network', 'rm', name]);
      return;
    } catch (error) {
      if (/No such network|not found/i.test((error as Error).message)) return;
      if (attempt === attempts) {
        process.stderr.write(`could not remove network ${name}: ${(error as Error).message}\n`);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
    }
  }
}

/**
 * Push a local image as `repository:tag` and return `repository@sha256:…`, the form deploy pins.
 * The local tag is removed again, so a deploy of that reference must pull.
 */
export async function pushByDigest(local: string, repository: string, tag: string): Promise<string> {
  const reference = `${repository}:${tag}`;
  await docker(['tag', local, reference]);
  const out = await docker(['push', reference]);
  await docker(['rmi', reference]);
  const digest = /digest: (sha256:[a-f0-9]{64})/.exec(out)?.[1];
  if (!digest) throw new Error(`docker push ${reference} printed no digest: ${out}`);
  return `${repository}@${digest}`;
}
