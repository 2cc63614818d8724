import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, symlinkSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { repoRoot } from './action-runner';
import { buildImage, imageExists, importRootfs } from './docker-cli';

/**
 * Python serving images built from local files, without pulling anything (the recipe in
 * docs/models-and-servers.md, "A Python serving image from local files"):
 *
 * 1. a virtual environment of the host's Debian interpreter (/usr/bin/python3), not seeing the
 *    system's packages, with the server's packages from the index pip is set up with;
 * 2. a root filesystem holding the interpreter, its standard library (without tests, tkinter,
 *    idle, ensurepip), the venv at /opt/venv, and every shared library that the interpreter and the
 *    extension modules link (found with ldd, copied from the host);
 * 3. `docker import` of that tree: `localhost/train-to-serve/python-base:<hash>`.
 *
 * Server images then add their app and command with a plain Dockerfile on that base.
 */
const PYTHON = '/usr/bin/python3';
export const SERVING_PACKAGES = ['onnxruntime', 'fastapi', 'uvicorn', 'gunicorn', 'prometheus-client'];

function run(command: string, args: string[], timeoutMs = 900_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')}: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

/** The serving venv, made once per interpreter and package list (under the system temp dir). */
async function servingVenv(): Promise<{ dir: string; version: string }> {
  const version = (await run(PYTHON, ['-c', 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")'])).trim();
  const key = createHash('sha256')
    .update(`${realpathSync(PYTHON)}:${version}:${SERVING_PACKAGES.join(',')}`)
    .digest('hex')
    .slice(0, 12);
  const dir = join(tmpdir(), `tts-python-serving-${key}`);
  if (existsSync(join(dir, '.complete'))) return { dir, version };
  rmSync(dir, { recursive: true, force: true });
  await run(PYTHON, ['-m', 'venv', dir]);
  // Few retries: where pip's default index is unreachable it falls back to the configured mirror.
  await run(join(dir, 'bin/python'), ['-m', 'pip', 'install', '-q', '--retries', '0', '--timeout', '10', ...SERVING_PACKAGES]);
  writeFileSync(join(dir, '.complete'), `${SERVING_PACKAGES.join('\n')}\n`);
  return { dir, version };
}

function walk(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, out);
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** Shared libraries (host paths) that these ELF files link, as ldd resolves them on the host. */
async function linkedLibraries(files: string[]): Promise<Set<string>> {
  const libraries = new Set<string>();
  for (const file of files) {
    const out = await run('ldd', [file]).catch(() => '');
    for (const match of out.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)) libraries.add(match[1]!);
  }
  return libraries;
}

const SKIP_STDLIB = /\/(test|tests|idlelib|tkinter|turtledemo|ensurepip|lib2to3|__pycache__)(\/|$)/;

/** `localhost/train-to-serve/python-base:<hash>`: interpreter + stdlib + serving venv at /opt/venv. */
export async function ensurePythonBaseImage(): Promise<string> {
  const { dir: venv, version } = await servingVenv();
  const interpreter = realpathSync(PYTHON);
  const stamp = statSync(join(venv, '.complete'));
  const reference = `localhost/train-to-serve/python-base:${createHash('sha256')
    .update(`${interpreter}:${statSync(interpreter).mtimeMs}:${venv}:${stamp.mtimeMs}`)
    .digest('hex')
    .slice(0, 12)}`;
  if (await imageExists(reference)) return reference;

  const root = mkdtempSync(join(tmpdir(), 'tts-pyroot-'));
  try {
    const place = (source: string, target = source) => {
      mkdirSync(join(root, dirname(target)), { recursive: true });
      cpSync(realpathSync(source), join(root, target));
    };
    place(interpreter, `/usr/bin/python${version}`);
    symlinkSync(`python${version}`, join(root, 'usr/bin/python3'));
    const stdlib = `/usr/lib/python${version}`;
    cpSync(stdlib, join(root, stdlib), { recursive: true, dereference: true, filter: (source) => !SKIP_STDLIB.test(source) && !source.includes('/dist-packages') });
    cpSync(venv, join(root, 'opt/venv'), { recursive: true, verbatimSymlinks: true, filter: (source) => !source.includes('__pycache__') });
    // The venv's python links to the interpreter by its host path: the same path exists in the image.
    const elf = [interpreter, ...walk(join(root, stdlib)).filter((f) => f.endsWith('.so')), ...walk(join(root, 'opt/venv')).filter((f) => /\.so(\.\d+)*$/.test(f))];
    for (const library of await linkedLibraries(elf)) {
      if (library.startsWith(root) || library.startsWith(venv)) continue;
      place(library);
    }
    mkdirSync(join(root, 'tmp'), { recursive: true });
    chmodSync(join(root, 'tmp'), 0o1777);
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/usr/sbin/nologin\napp:x:1000:1000:app:/home/app:/usr/sbin/nologin\n');
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\napp:x:1000:\n');
    return await importRootfs(root, reference, ['ENV PATH=/opt/venv/bin:/usr/bin:/bin', 'ENV PYTHONDONTWRITEBYTECODE=1']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** How the FastAPI app runs: under uvicorn, or under gunicorn with one uvicorn worker. */
export type PythonServer = 'uvicorn' | 'gunicorn';

export const PYTHON_SERVER_COMMANDS: Record<PythonServer, string[]> = {
  uvicorn: ['/opt/venv/bin/python', '-m', 'uvicorn', 'fastapi_app:app', '--app-dir', '/app', '--host', '0.0.0.0', '--port', '8000'],
  gunicorn: ['/opt/venv/bin/python', '-m', 'gunicorn', '-k', 'uvicorn.workers.UvicornWorker', '-w', '1', '-b', '0.0.0.0:8000', '--chdir', '/app', '--graceful-timeout', '20', 'fastapi_app:app'],
};

/**
 * `localhost/train-to-serve/fastapi-<server>:<hash>`: test/support/python/fastapi_app.py on the
 * Python base, serving `model` (ONNX bytes) from /model. No HEALTHCHECK, as such images usually
 * have none: health is GET /ping on 8000, metrics on 9100.
 */
export async function ensureFastApiImage(server: PythonServer, model: Buffer): Promise<string> {
  const base = await ensurePythonBaseImage();
  const app = readFileSync(join(repoRoot, 'test/support/python/fastapi_app.py'));
  const dockerfile = [
    `FROM ${base}`,
    'COPY fastapi_app.py /app/fastapi_app.py',
    'COPY model/ /model/',
    'ENV MODEL_DIR=/model METRICS_PORT=9100',
    'USER 1000',
    'EXPOSE 8000 9100',
    `CMD ${JSON.stringify(PYTHON_SERVER_COMMANDS[server])}`,
    '',
  ].join('\n');
  const reference = `localhost/train-to-serve/fastapi-${server}:${createHash('sha256').update(dockerfile).update(app).update(model).digest('hex').slice(0, 12)}`;
  if (await imageExists(reference)) return reference;
  return buildImage(reference, { Dockerfile: dockerfile, 'fastapi_app.py': app, 'model/model.onnx': model });
}
