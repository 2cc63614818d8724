import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';
import { InputError, quote } from '../inputs/errors';
import type { TarEntry } from './tar';

/**
 * Walk the model (`model-path`: a file or a directory) into tar entries under `model-dir`,
 * sorted, refusing what must not travel into an image: symlinks that leave the model directory
 * (they would point at whatever the server image has there), device files, sockets and FIFOs.
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

export async function scanModel(modelPath: string, modelDir: string, input = 'model-path'): Promise<ModelScan> {
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
    entries.push({ path: `${modelDir}/${basename(modelPath)}`, type: 'file', mode: top.mode & 0o7777, size: top.size, source: modelPath });
    return { entries, files: 1, bytes: top.size };
  }
  if (!top.isDirectory()) throw new InputError(input, `${quote(modelPath)} is neither a file nor a directory`);
  entries.push({ path: modelDir, type: 'directory', mode: top.mode & 0o7777, size: 0 });

  const walk = async (directory: string, relative: string): Promise<void> => {
    const names = (await readdir(directory)).sort(compare);
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
        const resolved = posix.normalize(posix.join(posix.dirname(rel), target));
        if (resolved === '..' || resolved.startsWith('../')) {
          throw new InputError(input, `${quote(rel)} is a symlink to ${quote(target)}, outside the model directory`);
        }
        entries.push({ path, type: 'symlink', mode: info.mode & 0o7777, size: 0, linkTarget: target });
      } else if (info.isDirectory()) {
        entries.push({ path, type: 'directory', mode: info.mode & 0o7777, size: 0 });
        await walk(absolute, rel);
      } else if (info.isFile()) {
        entries.push({ path, type: 'file', mode: info.mode & 0o7777, size: info.size, source: absolute });
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
