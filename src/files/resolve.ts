import { lstat, readlink } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';

/**
 * Where a path inside a folder really leads, resolved the way the kernel resolves it: one
 * component at a time, each symlink's target read relative to the link's own folder and followed
 * through further links, `..` taken after the link it follows. A textual check (normalise the
 * link's text, look for a leading `..`) is fooled by `s -> .` plus `l -> s/../etc`; this is not.
 */

/** Linux gives up after 40 links in one lookup (MAXSYMLINKS); so do we. */
export const MAX_SYMLINK_HOPS = 40;

export type Resolution =
  /** `path` is relative to the root, with `/` between parts ('' for the root itself). */
  | { kind: 'inside'; path: string }
  /** `through`: where it leads as far as it was followed, for messages. */
  | { kind: 'outside'; through: string }
  | { kind: 'loop' };

export interface ResolveOptions {
  /**
   * What an absolute link target means: `host` follows it on this machine (inside the root when
   * it names a path under the root: a bind mount at the same path), `outside` treats it as
   * leaving the root (a model directory moved into an image, where `/` is another tree).
   */
  absolute: 'host' | 'outside';
}

/** Whether `path` is `folder` or below it, as text. */
export function isInside(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * Resolve `path` (relative to `root`, `/`-separated) inside `root`, an absolute path without
 * symlinks in it (a `realpath`). A component that does not exist ends the link-following: the
 * rest is taken as text, so a dangling link is judged by where it would point.
 */
export async function resolveInside(root: string, path: string, options: ResolveOptions): Promise<Resolution> {
  const pending = path.split('/');
  const done: string[] = [];
  let hops = 0;
  let missing = false;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (done.length === 0) return { kind: 'outside', through: join(root, '..', ...pending) };
      done.pop();
      continue;
    }
    done.push(part);
    if (missing) continue;
    const here = join(root, ...done);
    const info = await lstat(here).catch(() => undefined);
    if (!info) {
      missing = true;
      continue;
    }
    if (!info.isSymbolicLink()) continue;
    if (++hops > MAX_SYMLINK_HOPS) return { kind: 'loop' };
    const target = await readlink(here);
    done.pop();
    if (isAbsolute(target)) {
      if (options.absolute === 'outside' || !isInside(root, target)) return { kind: 'outside', through: join(target, ...pending) };
      done.length = 0;
      pending.unshift(...relative(root, target).split(sep));
    } else {
      pending.unshift(...target.split('/'));
    }
  }
  return { kind: 'inside', path: done.join('/') };
}
