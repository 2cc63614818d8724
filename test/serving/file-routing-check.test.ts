import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFileRouting } from '../../src/serving/file-routing';

/**
 * Issue 11's bad inputs for routing: file, checked before anything changes: a routing directory
 * that is missing, not a directory, not writable, or not watched by Traefik (its /api/overview
 * lists the providers it runs, `File` among them when providers.file is configured: Traefik's
 * pkg/api/handler_overview.go).
 */
let api: Server;
let apiUrl: string;
let providers: string[] = [];

beforeAll(async () => {
  api = createServer((req, res) => {
    if (req.url !== '/api/overview') return void res.writeHead(404).end('404 page not found\n');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ http: {}, tcp: {}, udp: {}, features: {}, providers }));
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => api.close(() => resolve())));

describe('checkFileRouting', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tts-routing-check-'));

  it('accepts a writable directory that Traefik watches', async () => {
    providers = ['Docker', 'File'];
    await expect(checkFileRouting(dir, apiUrl)).resolves.toBeUndefined();
    await expect(checkFileRouting(dir, undefined)).resolves.toBeUndefined();
  });

  it('refuses a directory that does not exist, or a file', async () => {
    await expect(checkFileRouting(join(dir, 'missing'), undefined)).rejects.toThrow(/^Input "routing-dir": ".*missing" does not exist \(create it and point Traefik's providers\.file\.directory at it\)$/);
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    await expect(checkFileRouting(file, undefined)).rejects.toThrow(/^Input "routing-dir": ".*a-file" is not a directory$/);
  });

  it('refuses a directory this runner cannot write', async () => {
    // root writes anywhere its permissions are bits; /proc/sys/kernel refuses even root.
    let readOnly = '/proc/sys/kernel';
    if (process.getuid?.() !== 0) {
      readOnly = mkdtempSync(join(tmpdir(), 'tts-routing-ro-'));
      chmodSync(readOnly, 0o555);
    }
    await expect(checkFileRouting(readOnly, undefined)).rejects.toThrow(/^Input "routing-dir": ".*" is not writable by this runner \(uid \d+\)$/);
  });

  it('refuses a directory when Traefik runs no file provider, naming what it runs and the fix', async () => {
    providers = ['Docker'];
    await expect(checkFileRouting(dir, apiUrl)).rejects.toThrow(
      new RegExp(`^Input "routing-dir": Traefik at ${apiUrl.replace(/[.]/g, '\\.')} runs no file provider \\(its providers: Docker\\): add providers\\.file\\.directory=.* with watch: true to its static configuration$`),
    );
  });
});
