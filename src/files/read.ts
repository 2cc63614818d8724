import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { formatBytes } from '../markdown/markdown';

/**
 * Read a small file whole, within a limit: a metrics file comes from the training's own code, so
 * it may be huge, a named pipe that never ends, or a device. Fails with a problem (for the
 * caller's ResourceError) rather than reading without end. Opened non-blocking, so a FIFO with
 * no writer does not hang the open.
 */
export class FileReadError extends Error {
  constructor(
    readonly problem: string,
    readonly code?: string,
  ) {
    super(problem);
  }
}

export async function readSmallFile(path: string, limit: number): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new FileReadError(code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory, not a file' : `cannot be read (${code ?? String(error)})`, code);
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw new FileReadError('is a directory, not a file', 'EISDIR');
    if (!info.isFile()) throw new FileReadError('is not a regular file (a pipe, socket or device)', 'ENOTREG');
    if (info.size > limit) throw new FileReadError(`is ${info.size} bytes, more than the ${formatBytes(limit)} this file may hold`, 'ETOOLARGE');
    // The size can change under us: never read past the limit whatever stat said.
    const buffer = Buffer.alloc(limit + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > limit) throw new FileReadError(`grew past the ${formatBytes(limit)} this file may hold while it was read`, 'ETOOLARGE');
    }
    return buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
}
