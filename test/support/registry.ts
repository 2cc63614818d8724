import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createPrivateKey, sign, randomUUID, X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports';

/**
 * A real CNCF distribution registry (Debian's `docker-registry`) on loopback, in one of the three
 * auth modes GHCR users meet: none, htpasswd basic auth, or bearer tokens from a token server
 * (the same challenge flow as ghcr.io/token). Docker treats loopback registries as plain HTTP.
 */
export type RegistryAuth = 'none' | 'basic' | 'token';

export interface TokenRequest {
  /** The user that asked, or undefined for an anonymous request. */
  user?: string;
  scopes: string[];
}

export interface TestRegistry {
  auth: RegistryAuth;
  /** `127.0.0.1:PORT`: use as the registry part of image references. */
  host: string;
  /** `http://127.0.0.1:PORT` */
  url: string;
  username: string;
  password: string;
  /** Every request the token server answered (token mode). */
  tokenRequests: TokenRequest[];
  dataDir: string;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  auth?: RegistryAuth;
  username?: string;
  password?: string;
  /**
   * Token mode: what a valid user may do per repository (default: pull and push everywhere).
   * Anonymous users may pull only the repositories listed in `anonymousPull`.
   */
  grant?: (user: string, repository: string, requested: string[]) => string[];
  anonymousPull?: string[];
  /** Where the registry's directory (config and blobs) is made; the system's temporary directory by default. */
  parentDir?: string;
}

const SERVICE = 'tts-test-registry';
const ISSUER = 'tts-test-token-issuer';

export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  const auth = options.auth ?? 'none';
  const username = options.username ?? 'octocat';
  const password = options.password ?? `pw-${randomUUID()}`;
  const dir = mkdtempSync(join(options.parentDir ?? tmpdir(), 'tts-registry-'));
  const port = await freePort();
  const tokenRequests: TokenRequest[] = [];
  let tokenServer: Server | undefined;

  let authConfig = '';
  if (auth === 'basic') {
    const line = execFileSync('htpasswd', ['-Bbn', username, password], { encoding: 'utf8' }).trim();
    writeFileSync(join(dir, 'htpasswd'), `${line}\n`);
    authConfig = `auth:\n  htpasswd:\n    realm: tts-test\n    path: ${join(dir, 'htpasswd')}\n`;
  } else if (auth === 'token') {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=tts-test-token-issuer'], {
      stdio: 'ignore',
    });
    const tokenPort = await freePort();
    tokenServer = await startTokenServer(tokenPort, dir, { username, password, tokenRequests, grant: options.grant, anonymousPull: options.anonymousPull ?? [] });
    authConfig = `auth:\n  token:\n    realm: http://127.0.0.1:${tokenPort}/token\n    service: ${SERVICE}\n    issuer: ${ISSUER}\n    rootcertbundle: ${join(dir, 'cert.pem')}\n`;
  }

  const config = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomUUID()}`,
    authConfig,
  ].join('\n');
  writeFileSync(join(dir, 'config.yml'), config);

  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`registry on ${url}`, async () => {
      if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
      const response = await fetch(`${url}/v2/`);
      return response.status === 200 || response.status === 401;
    });
  } catch (error) {
    child.kill('SIGKILL');
    tokenServer?.close();
    throw error;
  }

  return {
    auth,
    host: `127.0.0.1:${port}`,
    url,
    username,
    password,
    tokenRequests,
    dataDir: join(dir, 'data'),
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
      await new Promise((r) => (tokenServer ? tokenServer.close(r) : r(undefined)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface TokenServerOptions {
  username: string;
  password: string;
  tokenRequests: TokenRequest[];
  grant?: RegistryOptions['grant'];
  anonymousPull: string[];
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** Issues the ES256 JWTs the registry trusts, like GHCR's /token endpoint. */
function startTokenServer(port: number, dir: string, options: TokenServerOptions): Promise<Server> {
  const key = createPrivateKey(readFileSync(join(dir, 'key.pem')));
  const certDer = new X509Certificate(readFileSync(join(dir, 'cert.pem'))).raw;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (url.pathname !== '/token') {
      res.writeHead(404).end();
      return;
    }
    let user: string | undefined;
    const header = req.headers.authorization;
    if (header?.startsWith('Basic ')) {
      const [name, ...rest] = Buffer.from(header.slice(6), 'base64').toString().split(':');
      if (name !== options.username || rest.join(':') !== options.password) {
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
        return;
      }
      user = name;
    }
    const scopes = url.searchParams.getAll('scope');
    options.tokenRequests.push({ user, scopes });
    const access = scopes.flatMap((scope) => {
      const [type, name, actions] = scope.split(':');
      if (type !== 'repository' || !name || !actions) return [];
      const requested = actions.split(',');
      const granted = user ? (options.grant ?? ((_u, _r, wanted) => wanted))(user, name, requested) : options.anonymousPull.includes(name) ? requested.filter((a) => a === 'pull') : [];
      return granted.length ? [{ type, name, actions: granted }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const headerPart = base64url(JSON.stringify({ alg: 'ES256', typ: 'JWT', x5c: [certDer.toString('base64')] }));
    const claims = base64url(JSON.stringify({ iss: ISSUER, aud: url.searchParams.get('service') ?? SERVICE, sub: user ?? '', iat: now, nbf: now - 5, exp: now + 300, jti: randomUUID(), access }));
    const signature = sign('sha256', Buffer.from(`${headerPart}.${claims}`), { key, dsaEncoding: 'ieee-p1363' });
    const token = `${headerPart}.${claims}.${base64url(signature)}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
