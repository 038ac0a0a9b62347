/**
 * A real OCI registry for the lab (Debian's `docker-registry`, i.e. distribution 2.8) on loopback,
 * with an optional tiny token server so the bearer-token flow (401 challenge -> realm -> JWT) that
 * registry.k8s.io and Docker Hub use is exercised too.
 *
 * Token server: `GET /token?service=..&scope=repository:NAME:pull,push`. Basic credentials that
 * match `users` get what they ask for; anyone else gets `pull` only when `anonymousPull` is set,
 * else 401. Tokens are ES256 JWTs whose header carries the signing certificate (`x5c`), which the
 * registry checks against its `rootcertbundle`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createPrivateKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { selfSignedEc } from './tls.js';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';

export interface RegistryOptions {
  /** Working directory (config, storage, keys); a fresh temp dir by default, removed on close. */
  dir?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Listen address: loopback (default) or a lab gateway address. */
  host?: string;
  auth?: { users: Record<string, string>; anonymousPull?: boolean };
  binary?: string;
}

export interface TokenRequest {
  time: string;
  user?: string;
  scope: string[];
  granted: string[];
  status: number;
}

export interface Registry {
  /** `http://HOST:PORT` */
  url: string;
  /** `HOST:PORT`, the form image references use. */
  host: string;
  dir: string;
  pid: number;
  tokenUrl?: string;
  service?: string;
  /** What the token server was asked and what it granted (empty without auth). */
  tokenRequests(): TokenRequest[];
  close(): Promise<void>;
}

const hostPort = (host: string, port: number) =>
  host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;

async function freePort(host: string): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startRegistry(opts: RegistryOptions = {}): Promise<Registry> {
  const ownDir = !opts.dir;
  const dir = opts.dir ?? (await mkdtemp(path.join(tmpdir(), 'kubeon-lab-registry-')));
  await mkdir(path.join(dir, 'data'), { recursive: true });
  const service = 'kubeon-lab-registry';
  const issuer = 'kubeon-lab-token-server';
  const host = opts.host ?? '127.0.0.1';
  const token = opts.auth ? await startTokenServer(dir, host, service, issuer, opts.auth) : undefined;

  let lastError = '';
  // The port is picked before the registry binds it; on a clash, try another.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = opts.port || (await freePort(host));
    const config = {
      version: 0.1,
      log: { level: 'warn', accesslog: { disabled: true } },
      storage: { filesystem: { rootdirectory: path.join(dir, 'data') }, delete: { enabled: true } },
      http: { addr: `${hostPort(host, port)}`, headers: { 'X-Content-Type-Options': ['nosniff'] } },
      ...(token
        ? { auth: { token: { realm: token.url, service, issuer, rootcertbundle: token.certFile } } }
        : {}),
    };
    const configFile = path.join(dir, 'config.yml');
    await writeFile(configFile, stringify(config));
    const proc = spawn(opts.binary ?? REGISTRY_BINARY, ['serve', configFile], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const url = `http://${hostPort(host, port)}`;
    if (await waitReady(proc, url)) {
      return {
        url,
        host: hostPort(host, port),
        dir,
        pid: proc.pid!,
        ...(token ? { tokenUrl: token.url, service } : {}),
        tokenRequests: () => token?.requests.slice() ?? [],
        close: async () => {
          await stopChild(proc);
          await token?.close();
          if (ownDir) await rm(dir, { recursive: true, force: true });
        },
      };
    }
    await stopChild(proc);
    lastError = stderr.trim().split('\n').slice(-3).join('\n');
    if (opts.port) break;
  }
  await token?.close();
  if (ownDir) await rm(dir, { recursive: true, force: true });
  throw new Error(`docker-registry did not start: ${lastError || 'no output'}`);
}

/** Ready when `/v2/` answers (200 open, 401 with token auth); false if the process died. */
async function waitReady(proc: ChildProcess, url: string): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null || proc.signalCode !== null) return false;
    const status = await fetch(`${url}/v2/`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200 || status === 401) return true;
    await sleep(100);
  }
  return false;
}

async function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

interface TokenServer {
  url: string;
  certFile: string;
  requests: TokenRequest[];
  close(): Promise<void>;
}

async function startTokenServer(
  dir: string,
  host: string,
  service: string,
  issuer: string,
  auth: NonNullable<RegistryOptions['auth']>,
): Promise<TokenServer> {
  const keyFile = path.join(dir, 'token.key');
  const certFile = path.join(dir, 'token.crt');
  await selfSignedEc({ cn: 'kubeon lab token signer', days: 365, keyFile, certFile });
  const key = createPrivateKey(await readFile(keyFile));
  const certDer = new X509Certificate(await readFile(certFile)).raw.toString('base64');
  const requests: TokenRequest[] = [];
  const b64url = (v: Buffer | string) => Buffer.from(v).toString('base64url');

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://token');
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ').filter(Boolean));
    const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const [user, pass] = basic ? Buffer.from(basic, 'base64').toString().split(/:(.*)/s) : [];
    const known = user !== undefined && auth.users[user] !== undefined && auth.users[user] === pass;
    const entry = { time: new Date().toISOString(), ...(user ? { user } : {}), scope: scopes };
    if (
      url.pathname !== '/token' ||
      url.searchParams.get('service') !== service ||
      (user && !known) ||
      (!known && !auth.anonymousPull)
    ) {
      requests.push({ ...entry, granted: [], status: 401 });
      reply(401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] });
      return;
    }
    const access = scopes.flatMap((s) => {
      const m = /^repository:([^:]+):(.+)$/.exec(s);
      if (!m) return [];
      const actions = m[2]!.split(',').filter((a) => known || a === 'pull');
      return [{ type: 'repository', name: m[1]!, actions }];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'ES256', x5c: [certDer] };
    const claims = {
      iss: issuer,
      sub: user ?? '',
      aud: service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(12).toString('hex'),
      access,
    };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' });
    const jwt = `${signingInput}.${b64url(signature)}`;
    requests.push({ ...entry, granted: access.map((a) => `${a.name}:${a.actions.join(',')}`), status: 200 });
    reply(200, {
      token: jwt,
      access_token: jwt,
      expires_in: 300,
      issued_at: new Date(now * 1000).toISOString(),
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${hostPort(host, port)}/token`,
    certFile,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
