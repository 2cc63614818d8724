import type Docker from 'dockerode';
import { formatBytes } from '../markdown/markdown';
import { errorMessage } from '../inputs/errors';

/** The most of a log tail that goes into a message: its end, where a failing server's last words are. */
export const MAX_LOG_TAIL_BYTES = 64 * 1024;

/** How long reading one log tail may take before what arrived is used. */
const LOG_READ_TIMEOUT_MS = 15_000;

/**
 * The end of a container's or task's log, read as it streams: the engine's multiplexed frames
 * (8-byte headers: stream, 0, 0, 0, payload size) or a TTY's raw bytes, decided by the first
 * bytes. Only the last `max` bytes of text are held, so memory stays bounded whatever the server
 * printed (50 "lines" can be gigabytes), and a frame's payload is never buffered whole.
 */
export class LogTail {
  private framed: boolean | undefined;
  private header = Buffer.alloc(0);
  private remaining = 0;
  private kept: Buffer[] = [];
  private keptBytes = 0;
  private total = 0;

  constructor(private readonly max = MAX_LOG_TAIL_BYTES) {}

  push(chunk: Buffer): this {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.framed === false) {
        this.keep(chunk.subarray(offset));
        return this;
      }
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - offset);
        this.keep(chunk.subarray(offset, offset + take));
        this.remaining -= take;
        offset += take;
        continue;
      }
      const need = 8 - this.header.length;
      this.header = Buffer.concat([this.header, chunk.subarray(offset, offset + need)]);
      offset += Math.min(need, chunk.length - offset);
      if (this.header.length < 8) return this;
      const header = this.header;
      this.header = Buffer.alloc(0);
      if (this.framed === undefined) this.framed = isFrameHeader(header);
      if (!this.framed) {
        this.keep(header);
        continue;
      }
      this.remaining = header.readUInt32BE(4);
    }
    return this;
  }

  /** The text kept, with a note of how much came before it when something was cut. */
  text(): string {
    // Fewer than 8 bytes in all never made a header: they were raw output.
    if (this.framed === undefined && this.header.length > 0) {
      this.framed = false;
      this.keep(this.header);
      this.header = Buffer.alloc(0);
    }
    const all = Buffer.concat(this.kept);
    if (this.total <= this.max) return all.toString('utf8');
    const kept = all
      .subarray(all.length - this.max)
      .toString('utf8')
      .replace(/^\uFFFD+/, '');
    return `(${formatBytes(this.total - Buffer.byteLength(kept))} of earlier output cut)\n${kept}`;
  }

  private keep(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.kept.push(bytes);
    this.keptBytes += bytes.length;
    this.total += bytes.length;
    while (this.kept.length > 1 && this.keptBytes - this.kept[0]!.length >= this.max) this.keptBytes -= this.kept.shift()!.length;
    // One piece larger than the window: keep its end only.
    if (this.kept.length === 1 && this.keptBytes > this.max) {
      this.kept[0] = Buffer.from(this.kept[0]!.subarray(this.keptBytes - this.max));
      this.keptBytes = this.max;
    }
  }
}

const isFrameHeader = (header: Buffer) => (header[0] === 0 || header[0] === 1 || header[0] === 2) && header[1] === 0 && header[2] === 0 && header[3] === 0;

/** Split a whole multiplexed log buffer into text, keeping its last MAX_LOG_TAIL_BYTES. */
export function demuxLogs(buffer: Buffer): string {
  return new LogTail().push(buffer).text();
}

/**
 * The last `lines` lines of a container's (`/containers/<id>/logs`) or Swarm task's
 * (`/tasks/<id>/logs`) output, streamed from the Engine API through a LogTail: dockerode's own
 * `logs()` returns the whole answer as one buffer.
 */
export async function readLogTail(docker: Docker, kind: 'containers' | 'tasks', id: string, lines?: number): Promise<string> {
  const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) => {
    docker.modem.dial(
      {
        path: `/${kind}/${encodeURIComponent(id)}/logs?`,
        method: 'GET',
        isStream: true,
        statusCodes: { 200: true, 404: `no such ${kind === 'tasks' ? 'task' : 'container'}`, 500: 'server error', 503: 'node is not part of a swarm' },
        options: { stdout: true, stderr: true, follow: false, ...(lines !== undefined ? { tail: lines } : {}) },
      },
      (error: unknown, answer: unknown) => (error ? reject(error instanceof Error ? error : new Error(errorMessage(error))) : resolve(answer as NodeJS.ReadableStream)),
    );
  });
  const tail = new LogTail();
  const timer = setTimeout(() => (stream as unknown as { destroy(): void }).destroy(), LOG_READ_TIMEOUT_MS);
  try {
    for await (const chunk of stream) tail.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  } catch {
    // Cut short (the timeout, or the engine closed it): what arrived is the tail.
  } finally {
    clearTimeout(timer);
  }
  return tail.text();
}
