import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectEngine, type Engine } from '../../src/engine/connection';
import { demuxLogs, LogTail, MAX_LOG_TAIL_BYTES, readLogTail } from '../../src/engine/log-tail';
import { docker, ensureNodeBaseImage } from '../support/docker-cli';
import { waitFor } from '../support/ports';

/** One frame of the Engine API's multiplexed log stream: stream (1 stdout, 2 stderr), 0, 0, 0, size. */
function frame(stream: number, payload: string | Buffer): Buffer {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

describe('LogTail', () => {
  it('joins stdout and stderr frames, and takes a TTY’s raw output as it is', () => {
    expect(demuxLogs(Buffer.concat([frame(1, 'loading model\n'), frame(2, 'Error: no model.json\n')]))).toBe('loading model\nError: no model.json\n');
    expect(demuxLogs(Buffer.from('plain tty output\n'))).toBe('plain tty output\n');
    expect(demuxLogs(Buffer.from('short'))).toBe('short');
  });

  it('reads frames split anywhere across chunks, headers included', () => {
    const whole = Buffer.concat([frame(1, 'first line\n'), frame(2, 'second, from stderr\n'), frame(1, 'third\n')]);
    for (const size of [1, 3, 7, 8, 9, 13]) {
      const tail = new LogTail();
      for (let offset = 0; offset < whole.length; offset += size) tail.push(whole.subarray(offset, offset + size));
      expect(tail.text(), `chunks of ${size}`).toBe('first line\nsecond, from stderr\nthird\n');
    }
  });

  // Issue 10, unbounded reads: 50 lines of a server's log can be any size; error messages carry only their end.
  it('keeps only the last 64 KiB of a tail, and says how much was cut', () => {
    const body = Buffer.concat([Buffer.alloc(1024 * 1024, 'a'), Buffer.from('\nError: the last words\n')]);
    const text = demuxLogs(frame(1, body));
    expect(text.length).toBeLessThan(MAX_LOG_TAIL_BYTES + 100);
    expect(text).toMatch(/^\(960 KiB of earlier output cut\)\n/);
    expect(text.endsWith('\nError: the last words\n')).toBe(true);
  });

  it('holds a bounded window however much streams through it, one frame payload never buffered whole', () => {
    const tail = new LogTail(1024);
    const header = Buffer.alloc(8);
    header[0] = 1;
    header.writeUInt32BE(64 * 1024 * 1024, 4);
    tail.push(header);
    const chunk = Buffer.alloc(64 * 1024, 'x');
    for (let i = 0; i < 1023; i++) tail.push(chunk);
    tail.push(Buffer.concat([Buffer.alloc(64 * 1024 - 5, 'y'), Buffer.from('end!\n')]));
    const held = (tail as unknown as { keptBytes: number }).keptBytes;
    expect(held).toBeLessThanOrEqual(1024 + chunk.length);
    const text = tail.text();
    expect(text).toMatch(/^\(64(\.0)? MiB of earlier output cut\)\n/);
    expect(text.endsWith('yyyend!\n')).toBe(true);
  });
});

describe('readLogTail against the real engine', () => {
  let engine: Engine;
  const name = `tts-logtail-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    engine = await connectEngine(undefined);
    // 8 MiB on one line, then the last words: dockerode's logs() returns a tail as one buffer.
    const script = "process.stdout.write('z'.repeat(8 * 1024 * 1024) + '\\n'); process.stdout.write('Error: model.json is not JSON\\n');";
    await docker(['run', '-d', '--name', name, await ensureNodeBaseImage(), 'node', '-e', script]);
    await waitFor('the container to exit', async () => (await docker(['inspect', '--format', '{{.State.Status}}', name])).trim() === 'exited', 90_000, 200);
  }, 180_000);

  afterAll(async () => {
    await docker(['rm', '-f', name]).catch(() => undefined);
  });

  it('streams the tail and keeps its end: the last words, and how much was cut', async () => {
    const text = await readLogTail(engine.docker, 'containers', name, 50);
    expect(text.endsWith('Error: model.json is not JSON\n')).toBe(true);
    // The engine's json-file log splits long lines into 16 KiB entries; `tail: 50` is 50 of them.
    expect(text).toMatch(/^\(\d+ KiB of earlier output cut\)\n/);
    expect(Buffer.byteLength(text)).toBeLessThan(MAX_LOG_TAIL_BYTES + 100);
  });

  it('says what the engine answered for a container that does not exist', async () => {
    await expect(readLogTail(engine.docker, 'containers', `${name}-missing`, 50)).rejects.toThrow(/no such container/i);
  });
});
