import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entryHeader, tarSize, tarStream, type TarEntry } from '../../src/image/tar';

// The layer writer checked by GNU tar, an independent reader: it must list and extract exactly
// what was written, with mtime 0, owner 0:0 and the modes kept.

async function collect(entries: TarEntry[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of tarStream(entries, { chunkSize: 4096 })) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

describe('tarStream', () => {
  let dir: string;
  const longDir = `deep/${'d'.repeat(90)}`;
  const longName = `${'n'.repeat(95)}.bin`;
  const veryLong = `${'x'.repeat(120)}/${'y'.repeat(120)}/${'z'.repeat(40)}.txt`;
  let entries: TarEntry[];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tts-tar-'));
    writeFileSync(join(dir, 'a.bin'), randomBytes(10_000));
    writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\n');
    chmodSync(join(dir, 'run.sh'), 0o755);
    writeFileSync(join(dir, 'empty'), '');
    writeFileSync(join(dir, 'long'), 'long name');
    writeFileSync(join(dir, 'verylong'), 'very long name');
    writeFileSync(join(dir, 'unicode'), 'ü');
    entries = [
      { path: 'model', type: 'directory', mode: 0o755, size: 0 },
      { path: 'model/a.bin', type: 'file', mode: 0o644, size: 10_000, source: join(dir, 'a.bin') },
      { path: 'model/empty', type: 'file', mode: 0o600, size: 0, source: join(dir, 'empty') },
      { path: 'model/latest', type: 'symlink', mode: 0o777, size: 0, linkTarget: 'a.bin' },
      { path: 'model/run.sh', type: 'file', mode: 0o755, size: 10, source: join(dir, 'run.sh') },
      { path: `model/${longDir}/${longName}`, type: 'file', mode: 0o644, size: 9, source: join(dir, 'long') },
      { path: `model/${veryLong}`, type: 'file', mode: 0o644, size: 14, source: join(dir, 'verylong') },
      { path: 'model/grüße.txt', type: 'file', mode: 0o644, size: 2, source: join(dir, 'unicode') },
      { path: 'model/far', type: 'symlink', mode: 0o777, size: 0, linkTarget: `${'l'.repeat(150)}` },
    ];
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes what GNU tar lists: mtime 0, owner 0/0, modes kept, long names via ustar prefix and PAX', async () => {
    const bytes = await collect(entries);
    expect(bytes.length).toBe(tarSize(entries));
    expect(bytes.length % 512).toBe(0);
    const listing = execFileSync('tar', ['-tv', '--numeric-owner', '--full-time', '-f', '-'], { input: bytes, encoding: 'utf8', env: { ...process.env, TZ: 'UTC', LC_ALL: 'C.UTF-8' } });
    const lines = listing.trim().split('\n');
    expect(lines).toHaveLength(entries.length);
    for (const line of lines) expect(line).toMatch(/^\S+ 0\/0 +\d+ 1970-01-01 00:00:00 /);
    expect(lines[0]).toMatch(/^drwxr-xr-x .* model\/$/);
    expect(lines[1]).toMatch(/^-rw-r--r-- 0\/0 +10000 .* model\/a\.bin$/);
    expect(lines[2]).toMatch(/^-rw------- .* model\/empty$/);
    expect(lines[3]).toMatch(/^lrwxrwxrwx .* model\/latest -> a\.bin$/);
    expect(lines[4]).toMatch(/^-rwxr-xr-x .* model\/run\.sh$/);
    expect(lines[5]).toContain(`model/${longDir}/${longName}`);
    expect(lines[6]).toContain(`model/${veryLong}`);
    expect(lines[7]).toContain('model/grüße.txt');
    expect(lines[8]).toContain(`model/far -> ${'l'.repeat(150)}`);
  });

  it('extracts byte for byte', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tts-untar-'));
    try {
      execFileSync('tar', ['-x', '-f', '-', '-C', out], { input: await collect(entries) });
      expect(readFileSync(join(out, 'model/a.bin')).equals(readFileSync(join(dir, 'a.bin')))).toBe(true);
      expect(statSync(join(out, 'model/run.sh')).mode & 0o777).toBe(0o755);
      expect(readlinkSync(join(out, 'model/latest'))).toBe('a.bin');
      expect(readFileSync(join(out, 'model', veryLong), 'utf8')).toBe('very long name');
      expect(readFileSync(join(out, 'model', longDir, longName), 'utf8')).toBe('long name');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('is deterministic: the same files give the same bytes', async () => {
    expect((await collect(entries)).equals(await collect(entries))).toBe(true);
  });

  it('refuses a file that changed size since it was scanned', async () => {
    const changed: TarEntry[] = [{ path: 'model/a.bin', type: 'file', mode: 0o644, size: 20_000, source: join(dir, 'a.bin') }];
    await expect(collect(changed)).rejects.toThrow(/shrank from 20000 bytes/);
    const grown: TarEntry[] = [{ path: 'model/a.bin', type: 'file', mode: 0o644, size: 5_000, source: join(dir, 'a.bin') }];
    await expect(collect(grown)).rejects.toThrow(/changed size \(5000 → 10000 bytes\)/);
  });

  it('records files of 8 GiB and more in a PAX size record GNU tar reads', () => {
    const size = 9 * 1024 ** 3 + 7;
    const header = entryHeader({ path: 'model/huge.bin', type: 'file', mode: 0o644, size });
    expect(header.toString('latin1')).toContain(`size=${size}\n`);
    // Only the headers and a little data: tar lists the entry, then complains the archive ends early.
    const listing = spawnSync('tar', ['-tv', '--numeric-owner', '-f', '-'], { input: Buffer.concat([header, Buffer.alloc(4096)]), encoding: 'utf8' });
    expect(listing.stdout).toMatch(new RegExp(`0/0 +${size} .* model/huge\\.bin`));
    expect(entryHeader({ path: 'model/small.bin', type: 'file', mode: 0o644, size: 8 * 1024 ** 3 - 1 })).toHaveLength(512);
  });

  it('keeps setuid and sticky bits but nothing past them', () => {
    const mode = entryHeader({ path: 'x', type: 'directory', mode: 0o41777, size: 0 }).toString('latin1', 100, 107);
    expect(mode).toBe('0001777');
  });
});

describe('tar of a large sparse file', () => {
  it('streams without holding the file: memory stays flat over 256 MiB', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tts-sparse-'));
    try {
      const file = join(dir, 'sparse.bin');
      execFileSync('truncate', ['-s', '256M', file]);
      mkdirSync(join(dir, 'x'));
      const before = process.memoryUsage().rss;
      let peak = before;
      let total = 0;
      for await (const chunk of tarStream([{ path: 'm/sparse.bin', type: 'file', mode: 0o644, size: 256 * 1024 * 1024, source: file }], { reuseBuffer: true })) {
        total += chunk.length;
        peak = Math.max(peak, process.memoryUsage().rss);
      }
      expect(total).toBe(256 * 1024 * 1024 + 512 + 1024);
      expect(peak - before).toBeLessThan(64 * 1024 * 1024);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
