/**
 * A real etcd and the apiserver stand-in on loopback, with a throwaway PKI: enough to test the
 * apiserver's rules without a lab host. Callers get HTTPS clients for any user they name.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { standinExecutable } from '../index.js';
import { ApiClient } from '../lib/client.js';
import { type CertAndKey, selfSignedCA, signLeaf } from '../lib/pki.js';
import type { PolicyRule } from '../lib/rbac.js';
import { binding, role, sa as saSubject } from '../lib/rbac-defaults.js';

const DAY = 24 * 3600e3;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(what: string, ms: number, ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await ok().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not come up within ${ms / 1000}s`);
}

export interface LocalApiserver {
  dir: string;
  server: string;
  ca: CertAndKey;
  saKeyPem: string;
  /** A system:masters client. */
  admin: ApiClient;
  /** A client authenticated by a client certificate with this CN and O. */
  as(cn: string, org?: string[]): Promise<ApiClient>;
  withToken(token: string): ApiClient;
  /**
   * A controller's identity: ServiceAccount NS/NAME, a Role NAME with these rules bound to it, and
   * a client with a token from the TokenRequest API.
   */
  asServiceAccount(ns: string, name: string, rules: PolicyRule[]): Promise<ApiClient>;
  /**
   * Another apiserver on the same etcd, advertising `address` (data only: it listens on loopback),
   * as a joining master would; default/kubernetes lists it while it runs. Resolves to its stop.
   */
  startPeer(address: string): Promise<() => Promise<void>>;
  stop(): Promise<void>;
}

export async function startApiserver(extraFlags: string[] = []): Promise<LocalApiserver> {
  const dir = mkdtempSync(join(tmpdir(), 'standins-apiserver-'));
  const f = (name: string, content: string) => {
    writeFileSync(join(dir, name), content, { mode: 0o600 });
    return join(dir, name);
  };
  const ca = await selfSignedCA('kubernetes', DAY, 'ECDSA-P256');
  const etcdCa = await selfSignedCA('etcd-ca', DAY, 'ECDSA-P256');
  const leaf = (c: CertAndKey, cn: string, extra: Partial<Parameters<typeof signLeaf>[1]>) =>
    signLeaf(c, { cn, validityMs: DAY, ...extra }, undefined, 'ECDSA-P256');
  const etcdServer = await leaf(etcdCa, 'etcd', { ips: ['127.0.0.1'], server: true, client: true });
  const etcdClient = await leaf(etcdCa, 'kube-apiserver-etcd-client', { client: true });
  const apiServing = await leaf(ca, 'kube-apiserver', { ips: ['127.0.0.1'], server: true });
  const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const saKeyPem = sa.privateKey.export({ format: 'pem', type: 'pkcs1' }).toString();
  const [clientPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const etcd = spawn(
    '/usr/bin/etcd',
    [
      '--name=t',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=https://127.0.0.1:${clientPort}`,
      `--advertise-client-urls=https://127.0.0.1:${clientPort}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=t=http://127.0.0.1:${peerPort}`,
      `--cert-file=${f('etcd.crt', etcdServer.certPem)}`,
      `--key-file=${f('etcd.key', etcdServer.key.pem)}`,
      `--trusted-ca-file=${f('etcd-ca.crt', etcdCa.certPem)}`,
      '--client-cert-auth=true',
    ],
    { stdio: 'ignore' },
  );
  const exe = await standinExecutable('kubelet', 'v1.31.14', 'amd64');
  const flags = [
    '--advertise-address=127.0.0.1',
    '--bind-address=127.0.0.1',
    `--secure-port=${apiPort}`,
    '--authorization-mode=Node,RBAC',
    '--enable-admission-plugins=NodeRestriction',
    '--enable-bootstrap-token-auth=true',
    `--client-ca-file=${f('ca.crt', ca.certPem)}`,
    `--tls-cert-file=${f('apiserver.crt', apiServing.certPem)}`,
    `--tls-private-key-file=${f('apiserver.key', apiServing.key.pem)}`,
    `--etcd-servers=https://127.0.0.1:${clientPort}`,
    `--etcd-cafile=${join(dir, 'etcd-ca.crt')}`,
    `--etcd-certfile=${f('etcd-client.crt', etcdClient.certPem)}`,
    `--etcd-keyfile=${f('etcd-client.key', etcdClient.key.pem)}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${f('sa.pub', sa.publicKey.export({ format: 'pem', type: 'spki' }).toString())}`,
    `--service-account-signing-key-file=${f('sa.key', saKeyPem)}`,
    '--service-cluster-ip-range=10.96.0.0/12',
  ];
  const server = `https://127.0.0.1:${apiPort}`;
  const admin = new ApiClient({
    server,
    caPem: ca.certPem,
    ...(await leaf(ca, 'root', { org: ['system:masters'], client: true }).then((c) => ({
      certPem: c.certPem,
      keyPem: c.key.pem,
    }))),
  });
  const run = (argv: string[]): ChildProcess =>
    spawn(exe, argv, {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        KUBEON_STANDIN_IMAGE: 'kube-apiserver',
        KUBEON_STANDIN_IMAGE_VERSION: 'v1.31.14',
      },
    });
  const kill = async (p: ChildProcess) => {
    if (p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
  };
  const proc = run([...flags, ...extraFlags]);
  await waitFor(
    'the apiserver stand-in',
    30_000,
    async () => (await admin.raw('GET', '/readyz')).status === 200,
  );
  return {
    dir,
    server,
    ca,
    saKeyPem,
    admin,
    async as(cn, org) {
      const c = await leaf(ca, cn, { ...(org ? { org } : {}), client: true });
      return new ApiClient({ server, caPem: ca.certPem, certPem: c.certPem, keyPem: c.key.pem });
    },
    withToken(token) {
      return new ApiClient({ server, caPem: ca.certPem, token });
    },
    async asServiceAccount(ns, name, rules) {
      await admin.call('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name } });
      const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}`;
      await admin.call('POST', `${rbac}/roles`, role(ns, name, rules));
      await admin.call(
        'POST',
        `${rbac}/rolebindings`,
        binding(ns, name, { kind: 'Role', name }, [saSubject(ns, name)]),
      );
      const tr = await admin.call<{ status: { token: string } }>(
        'POST',
        `/api/v1/namespaces/${ns}/serviceaccounts/${name}/token`,
        { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} },
      );
      return new ApiClient({ server, caPem: ca.certPem, token: tr.status.token });
    },
    async startPeer(address) {
      const port = await freePort();
      const peer = run([
        ...flags.map((f) =>
          f.startsWith('--advertise-address=')
            ? `--advertise-address=${address}`
            : f.startsWith('--secure-port=')
              ? `--secure-port=${port}`
              : f,
        ),
        ...extraFlags,
      ]);
      const client = new ApiClient({ ...admin.creds, server: `https://127.0.0.1:${port}` });
      await waitFor(
        'the peer apiserver',
        30_000,
        async () => (await client.raw('GET', '/readyz')).status === 200,
      );
      return () => kill(peer);
    },
    async stop() {
      await kill(proc);
      etcd.kill('SIGTERM');
      await new Promise((r) => etcd.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
