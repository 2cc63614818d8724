import { lstat, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';
import { resolveInside } from '../files/resolve';
import { InputError, quote } from '../inputs/errors';
import type { TarEntry } from './tar';

/**
 * Walk the model (`model-path`: a file or a directory) into tar entries under `model-dir`,
 * sorted, refusing what must not travel into an image: symlinks that leave the model directory
 * (they would point at whatever the server image has there), device files, sockets and FIFOs,
 * names that are not UTF-8. Modes are made safe for an image whose files belong to root (see
 * imageMode) unless `keepModes`.
 */
export interface ModelScan {
  entries: TarEntry[];
  files: number;
  bytes: number;
}

/** `model-dir`: an absolute, normalised path that is not `/`. Returns it without the leading slash. */
export function parseModelDir(input: string, raw: string): string {
  const text = raw.trim();
  if (!text.startsWith('/')) throw new InputError(input, `must be an absolute path inside the image, got ${quote(raw)}`);
  const normal = posix.normalize(text).replace(/\/+$/, '');
  if (normal === '' || normal === '/') throw new InputError(input, 'must not be the image root "/"');
  if (normal !== text.replace(/\/+$/, '') || normal.split('/').some((part) => part === '..' || part === '.')) {
    throw new InputError(input, `must be a normalised path without . or .. parts, got ${quote(raw)}`);
  }
  return normal.slice(1);
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const SPECIAL_BITS = 0o7000;
const WORLD_WRITE = 0o002;

/**
 * The mode a model entry gets in the image. Every file there belongs to uid 0, so setuid and
 * setgid would run as root and sticky or world-writable folders let the server's user replace
 * the model: those bits are cleared. Servers run as a non-root user (the reference server,
 * Triton, TorchServe, MLServer images all do), so files become readable by all (a+r) and
 * folders readable and searchable (a+rx): a 0600 checkpoint would otherwise make a server that
 * cannot open its own model.
 */
export function imageMode(type: 'file' | 'directory', mode: number): number {
  const safe = mode & 0o777 & ~SPECIAL_BITS & ~WORLD_WRITE;
  return type === 'directory' ? safe | 0o555 : safe | 0o444;
}

/** A file name's bytes for a message, with what is not printable ASCII as \xNN. */
function showBytes(name: Buffer): string {
  return [...name].map((byte) => (byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`)).join('');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface ScanOptions {
  /** The input named in errors. */
  input?: string;
  /** Keep setuid/setgid/sticky bits and modes exactly as on disk (publish's `keep-file-modes`). */
  keepModes?: boolean;
}

export async function scanModel(modelPath: string, modelDir: string, options: ScanOptions = {}): Promise<ModelScan> {
  const input = options.input ?? 'model-path';
  const mode = (type: 'file' | 'directory', onDisk: number) => (options.keepModes ? onDisk & 0o7777 : imageMode(type, onDisk));
  let top;
  try {
    top = await stat(modelPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(input, code === 'ENOENT' ? `${quote(modelPath)} does not exist` : `${quote(modelPath)} cannot be read (${code})`);
  }
  const entries: TarEntry[] = [];
  const parts = modelDir.split('/');
  for (let i = 1; i < parts.length; i++) entries.push({ path: parts.slice(0, i).join('/'), type: 'directory', mode: 0o755, size: 0 });

  let files = 0;
  let bytes = 0;
  if (top.isFile()) {
    if (top.size === 0) throw new InputError(input, `${quote(modelPath)} is an empty file`);
    entries.push({ path: modelDir, type: 'directory', mode: 0o755, size: 0 });
    entries.push({ path: `${modelDir}/${basename(modelPath)}`, type: 'file', mode: mode('file', top.mode), size: top.size, source: modelPath, changedMs: top.ctimeMs });
    return { entries, files: 1, bytes: top.size };
  }
  if (!top.isDirectory()) throw new InputError(input, `${quote(modelPath)} is neither a file nor a directory`);
  entries.push({ path: modelDir, type: 'directory', mode: mode('directory', top.mode), size: 0 });
  const root = await realpath(modelPath);

  const walk = async (directory: string, relative: string): Promise<void> => {
    const names = (await readdir(directory, { encoding: 'buffer' })).map((raw) => {
      try {
        return utf8.decode(raw);
      } catch {
        const rel = relative ? `${relative}/${showBytes(raw)}` : showBytes(raw);
        throw new InputError(input, `${quote(rel)} has a name that is not valid UTF-8, which image layers and registries cannot carry; rename it`);
      }
    });
    names.sort(compare);
    for (const name of names) {
      const absolute = join(directory, name);
      const rel = relative ? `${relative}/${name}` : name;
      const path = `${modelDir}/${rel}`;
      const info = await lstat(absolute);
      if (info.isSymbolicLink()) {
        const target = await readlink(absolute);
        if (posix.isAbsolute(target)) {
          throw new InputError(input, `${quote(rel)} is a symlink to the absolute path ${quote(target)}; inside the image it would point elsewhere (use a relative link within the model directory)`);
        }
        // Followed as the kernel will follow it inside the image, through the model's other links.
        const resolution = await resolveInside(root, rel, { absolute: 'outside' });
        if (resolution.kind === 'loop') throw new InputError(input, `${quote(rel)} is a symlink to ${quote(target)}, which loops back on itself`);
        if (resolution.kind === 'outside') throw new InputError(input, `${quote(rel)} is a symlink to ${quote(target)}, outside the model directory`);
        entries.push({ path, type: 'symlink', mode: info.mode & 0o7777, size: 0, linkTarget: target });
      } else if (info.isDirectory()) {
        entries.push({ path, type: 'directory', mode: mode('directory', info.mode), size: 0 });
        await walk(absolute, rel);
      } else if (info.isFile()) {
        entries.push({ path, type: 'file', mode: mode('file', info.mode), size: info.size, source: absolute, changedMs: info.ctimeMs });
        files += 1;
        bytes += info.size;
      } else {
        const kind = info.isSocket() ? 'a socket' : info.isFIFO() ? 'a named pipe' : info.isCharacterDevice() || info.isBlockDevice() ? 'a device file' : 'not a regular file';
        throw new InputError(input, `${quote(rel)} is ${kind}; a model may hold only files, directories and relative symlinks`);
      }
    }
  };
  await walk(modelPath, '');
  if (files === 0) throw new InputError(input, `${quote(modelPath)} holds no files`);
  return { entries, files, bytes };
}
