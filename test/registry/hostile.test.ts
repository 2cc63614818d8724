import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { RegistryClient } from '../../src/registry/client';
import { agents } from '../../src/registry/http';

/**
 * A hostile registry: HTTPS on a non-loopback address (so the client treats it as a real remote
 * registry), the bearer challenge flow of the distribution spec, and then the tricks the issue
 * suspects: a redirect to plain http:// on the same host and port (one port speaks both, told
 * apart by the TLS handshake's first byte), and a token realm on http://localhost. It is a stand-in
 * on purpose: the real registry never answers like this. Its certificate is trusted through the
 * client's own HTTPS agent.
 */

interface Seen {
  scheme: 'http' | 'https';
  url: string;
  authorization?: string;
}

const address = Object.values(networkInterfaces())
  .flat()
  .find((i) => i?.family === 'IPv4' && !i.internal)?.address;
const dir = mkdtempSync(join(tmpdir(), 'tts-hostile-'));
const seen: Seen[] = [];
let realm = '';
let port = 0;
let front: Server;
let localRealm: ReturnType<typeof createHttpServer>;
const localRealmSeen: string[] = [];

function answer(scheme: 'http' | 'https') {
  return (request: IncomingMessage, response: ServerResponse) => {
    seen.push({ scheme, url: request.url ?? '', authorization: request.headers.authorization });
    if (request.url?.startsWith('/token')) {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ token: 'registry-bearer-token-1234' }));
    } else if (scheme === 'http') {
      response.end('blob bytes');
    } else if (request.headers.authorization !== 'Bearer registry-bearer-token-1234') {
      response.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="hostile"` }).end();
    } else {
      response.writeHead(307, { location: `http://${address}:${port}/storage/blob` }).end();
    }
  };
}

beforeAll(async () => {
  if (!address) throw new Error('this test needs a non-loopback IPv4 address on the machine');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=hostile', '-addext', `subjectAltName=IP:${address}`],
    { stdio: 'ignore' },
  );
  const cert = readFileSync(join(dir, 'cert.pem'));
  const tls = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert }, answer('https'));
  const plain = createHttpServer(answer('http'));
  front = createNetServer((socket) => {
    socket.once('data', (first) => {
      socket.pause();
      if (first[0] !== 22) {
        // Plain HTTP: the bytes go back in front of the stream for the HTTP server to parse.
        socket.unshift(first);
        plain.emit('connection', socket);
        socket.resume();
        return;
      }
      // TLS reads a net socket's handle directly, past anything unshifted: hand it a stream instead.
      const stream = new Duplex({
        read: () => socket.resume(),
        write: (chunk: Buffer, _encoding, done) => socket.write(chunk, done),
        final: (done) => socket.end(done),
      });
      socket.on('data', (chunk: Buffer) => {
        if (!stream.push(chunk)) socket.pause();
      });
      socket.on('end', () => stream.push(null));
      socket.on('error', (error) => stream.destroy(error));
      stream.push(first);
      tls.emit('connection', stream);
    });
  });
  await new Promise<void>((resolve) => front.listen(0, address, resolve));
  port = (front.address() as AddressInfo).port;
  localRealm = createHttpServer((request, response) => {
    localRealmSeen.push(request.headers.authorization ?? '');
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ token: 'x' }));
  });
  await new Promise<void>((resolve) => localRealm.listen(0, '127.0.0.1', resolve));
  (agents.https.options as { ca?: Buffer }).ca = cert;
});

afterAll(async () => {
  delete (agents.https.options as { ca?: Buffer }).ca;
  front?.close();
  localRealm?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('credentials never leave the registry they are for (issue 10, suspected)', () => {
  it('a redirect to http:// on the same host and port gets no bearer token', async () => {
    seen.length = 0;
    realm = `https://${address}:${port}/token`;
    const client = new RegistryClient({ registry: `${address}:${port}`, credentials: { username: 'u', password: 'registry-password-5678' }, retry: { attempts: 1 } });
    const response = await client.getBlob('acme/x', `sha256:${'0'.repeat(64)}`);
    response.resume();
    const plain = seen.filter((s) => s.scheme === 'http');
    expect(plain.map((s) => s.url)).toEqual(['/storage/blob']);
    expect(plain[0]!.authorization).toBeUndefined();
    // The token did go where it belongs: the HTTPS registry.
    expect(seen.some((s) => s.scheme === 'https' && s.authorization === 'Bearer registry-bearer-token-1234')).toBe(true);
  });

  it('an http://localhost token realm named by an HTTPS registry is refused; the password goes nowhere', async () => {
    localRealmSeen.length = 0;
    realm = `http://localhost:${(localRealm.address() as AddressInfo).port}/token`;
    const client = new RegistryClient({ registry: `${address}:${port}`, credentials: { username: 'u', password: 'registry-password-5678' }, retry: { attempts: 1 } });
    await expect(client.getBlob('acme/x', `sha256:${'0'.repeat(64)}`)).rejects.toThrow(/token service http:\/\/localhost:\d+ is not HTTPS; refusing to send credentials to it/);
    expect(localRealmSeen).toEqual([]);
  });
});
