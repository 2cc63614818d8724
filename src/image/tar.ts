import { open } from 'node:fs/promises';
import { ResourceError } from '../inputs/errors';

/**
 * A deterministic uncompressed tar writer: the same files always give the same bytes, so the
 * same layer digest. Every entry has mtime 0, uid/gid 0 and no user or group names; the mode is
 * kept. POSIX ustar headers, with a PAX extended header where ustar cannot hold a value (paths
 * over its limits, files of 8 GiB and more).
 */
export interface TarEntry {
  /** Path inside the image, relative to `/`, no trailing slash: `model/weights.bin`. */
  path: string;
  type: 'file' | 'directory' | 'symlink';
  /** Permission bits (and setuid/setgid/sticky). */
  mode: number;
  /** Bytes of a file's content; 0 for others. */
  size: number;
  /** Where a file's bytes are read from. */
  source?: string;
  /**
   * The file's ctime when it was scanned: any write, truncation or chmod since moves it (and
   * nobody can set it back), so a file that changed, even to the same size, is caught.
   */
  changedMs?: number;
  linkTarget?: string;
}

export const BLOCK = 512;
/** The largest size ustar's 11 octal digits hold: 8 GiB - 1. */
export const USTAR_MAX_SIZE = 0o77777777777;
const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

export function paddedSize(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function splitUstarName(name: string): { name: string; prefix: string } | undefined {
  if (Buffer.byteLength(name) <= 100) return { name, prefix: '' };
  for (let slash = name.indexOf('/'); slash >= 0; slash = name.indexOf('/', slash + 1)) {
    const prefix = name.slice(0, slash);
    const rest = name.slice(slash + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest !== '') return { name: rest, prefix };
  }
  return undefined;
}

/** PAX records: `<length> <key>=<value>\n`, the length counting itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length += 1;
  return `${length}${body}`;
}

function ustarHeader(fields: { name: string; prefix: string; mode: number; size: number; typeflag: string; linkname: string }): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(fields.name, 0, 100, 'utf8');
  block.write(octal(fields.mode & 0o7777, 8), 100, 'ascii');
  block.write(octal(0, 8), 108, 'ascii');
  block.write(octal(0, 8), 116, 'ascii');
  block.write(octal(fields.size, 12), 124, 'ascii');
  block.write(octal(0, 12), 136, 'ascii');
  block.write('        ', 148, 'ascii');
  block.write(fields.typeflag, 156, 'ascii');
  block.write(fields.linkname, 157, 100, 'utf8');
  block.write('ustar\0', 257, 'ascii');
  block.write('00', 263, 'ascii');
  block.write(octal(0, 8), 329, 'ascii');
  block.write(octal(0, 8), 337, 'ascii');
  block.write(fields.prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

/** The header block(s) that precede an entry's content. */
export function entryHeader(entry: TarEntry): Buffer {
  const name = entry.type === 'directory' ? `${entry.path}/` : entry.path;
  const size = entry.type === 'file' ? entry.size : 0;
  const linkname = entry.linkTarget ?? '';
  const pax: string[] = [];
  let split = splitUstarName(name);
  if (!split) {
    pax.push(paxRecord('path', name));
    split = {
      name: Buffer.from(name)
        .subarray(0, 100)
        .toString('utf8')
        .replace(/\uFFFD$/, ''),
      prefix: '',
    };
  }
  if (Buffer.byteLength(linkname) > 100) pax.push(paxRecord('linkpath', linkname));
  if (size > USTAR_MAX_SIZE) pax.push(paxRecord('size', String(size)));
  const typeflag = entry.type === 'file' ? '0' : entry.type === 'directory' ? '5' : '2';
  const header = ustarHeader({ ...split, mode: entry.mode, size: size > USTAR_MAX_SIZE ? 0 : size, typeflag, linkname: Buffer.byteLength(linkname) > 100 ? '' : linkname });
  if (pax.length === 0) return header;
  const records = Buffer.from(pax.join(''), 'utf8');
  const base = entry.path.split('/').pop() ?? 'entry';
  const paxName = `PaxHeaders/${Buffer.from(base)
    .subarray(0, 80)
    .toString('utf8')
    .replace(/\uFFFD$/, '')}`;
  const paxHeader = ustarHeader({ name: paxName, prefix: '', mode: 0o644, size: records.length, typeflag: 'x', linkname: '' });
  return Buffer.concat([paxHeader, records, Buffer.alloc(paddedSize(records.length) - records.length), header]);
}

/** Bytes an entry takes in the archive: header(s) plus content padded to a block. */
export function entryTarSize(entry: TarEntry): number {
  return entryHeader(entry).length + (entry.type === 'file' ? paddedSize(entry.size) : 0);
}

/** Bytes of a whole archive of these entries. */
export function tarSize(entries: readonly TarEntry[]): number {
  return entries.reduce((total, entry) => total + entryTarSize(entry), END_OF_ARCHIVE.length);
}

export interface TarStreamOptions {
  /** Bytes read from a file at a time. */
  chunkSize?: number;
  /**
   * Hand out one buffer again and again (for a consumer that is done with each chunk before the
   * next, like a hash); otherwise every chunk is fresh memory (for a socket that queues them).
   */
  reuseBuffer?: boolean;
}

/**
 * The archive's bytes, a chunk at a time, reading each file as it goes: never a whole file in
 * memory. A file that changed since it was scanned (its size, or its ctime) is an error naming
 * it, not a silently different layer, and is found before the file's last chunk goes out, so a
 * registry never receives a complete blob of the changed bytes.
 */
export async function* tarStream(entries: readonly TarEntry[], options: TarStreamOptions = {}): AsyncGenerator<Buffer> {
  const chunkSize = options.chunkSize ?? 4 * 1024 * 1024;
  const shared = options.reuseBuffer ? Buffer.allocUnsafe(chunkSize) : undefined;
  for (const entry of entries) {
    yield entryHeader(entry);
    if (entry.type !== 'file' || entry.size === 0) continue;
    const handle = await open(entry.source!, 'r');
    const unchanged = async () => {
      const now = await handle.stat();
      if (now.size !== entry.size) throw new ResourceError(`Model file "${entry.source}"`, `changed size (${entry.size} → ${now.size} bytes) while it was being published`);
      if (entry.changedMs !== undefined && now.ctimeMs !== entry.changedMs) {
        throw new ResourceError(`Model file "${entry.source}"`, `changed (written at ${new Date(now.ctimeMs).toISOString()}) while it was being published; publish a model nothing is writing to`);
      }
    };
    try {
      let position = 0;
      while (position < entry.size) {
        const want = Math.min(chunkSize, entry.size - position);
        const buffer = shared ?? Buffer.allocUnsafe(want);
        const { bytesRead } = await handle.read(buffer, 0, want, position);
        if (bytesRead === 0) throw new ResourceError(`Model file "${entry.source}"`, `changed size (shrank from ${entry.size} bytes) while it was being published`);
        position += bytesRead;
        if (position >= entry.size) await unchanged();
        yield buffer.subarray(0, bytesRead);
      }
    } finally {
      await handle.close();
    }
    const padding = paddedSize(entry.size) - entry.size;
    if (padding > 0) yield Buffer.alloc(padding);
  }
  yield END_OF_ARCHIVE;
}
