/**
 * kube-controller-manager and kube-scheduler stand-ins: they check their flags and files, talk to
 * the apiserver with their kubeconfig, serve /healthz over TLS on their secure port, hold their
 * leader Lease, and the controller-manager does the few controllers kubeadm clusters depend on:
 * bootstrapsigner (JWS signatures in cluster-info), csrsigning/csrapproving for kubelet client
 * certificates, tokencleaner, node lifecycle (Ready=Unknown when a kubelet stops reporting), and
 * daemonset and nodeipam for the CNI (lib/daemonsets.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { hostname } from 'node:os';
import * as x509 from '@peculiar/x509';
import type { CallLog } from './calllog.js';
import { ApiClient } from './client.js';
import { ControllerClients } from './controller-clients.js';
import { allocateNodeCidrs, syncDaemonSets } from './daemonsets.js';
import { bool, durationMs, type FlagTable, flag, type ParsedFlags, parseFlags, str } from './flags.js';
import { expiredTokens, orphanedSecrets, type SecretLike } from './gc.js';
import { jwsSign } from './kubeadm-cluster.js';
import { readKubeconfig } from './kubeconfig.js';
import { type CertAndKey, readKey, selfSignedCA, signLeaf } from './pki.js';

const S = flag.str;
const B = flag.bool;
const common: FlagTable = {
  'authentication-kubeconfig': S(),
  'authorization-kubeconfig': S(),
  'bind-address': S(),
  'client-ca-file': S(),
  'feature-gates': flag.map(),
  kubeconfig: S(),
  'kube-api-burst': flag.int(),
  'kube-api-qps': S(),
  'leader-elect': B(),
  'leader-elect-lease-duration': flag.dur(),
  'leader-elect-renew-deadline': flag.dur(),
  'leader-elect-retry-period': flag.dur(),
  profiling: B(),
  'requestheader-client-ca-file': S(),
  'secure-port': flag.int(),
  'tls-cert-file': S(),
  'tls-private-key-file': S(),
  v: S('v'),
};

export const CONTROLLER_MANAGER_FLAGS: FlagTable = {
  ...common,
  'allocate-node-cidrs': B(),
  'cluster-cidr': S(),
  'cluster-name': S(),
  'cluster-signing-cert-file': S(),
  'cluster-signing-key-file': S(),
  'cluster-signing-duration': flag.dur(),
  'concurrent-deployment-syncs': flag.int(),
  'concurrent-service-syncs': flag.int(),
  'configure-cloud-routes': B(),
  controllers: flag.list(),
  'horizontal-pod-autoscaler-sync-period': flag.dur(),
  'node-cidr-mask-size': flag.int(),
  'node-cidr-mask-size-ipv4': flag.int(),
  'node-monitor-grace-period': flag.dur(),
  'node-monitor-period': flag.dur(),
  'root-ca-file': S(),
  'service-account-private-key-file': S(),
  'service-cluster-ip-range': S(),
  'terminated-pod-gc-threshold': flag.int(),
  'use-service-account-credentials': B(),
};

export const SCHEDULER_FLAGS: FlagTable = { ...common, config: S() };

function die(msg: string): never {
  process.stderr.write(`E ${new Date().toISOString()} ${msg}\n`);
  process.exit(1);
}

function mustExist(parsed: ParsedFlags, names: string[]): void {
  for (const n of names) {
    const p = str(parsed, n);
    if (p && !existsSync(p)) die(`open ${p}: no such file or directory`);
  }
}

async function serveHealthz(bind: string, port: number, healthy: () => boolean): Promise<void> {
  const ca = await selfSignedCA(`${bind}@${Math.floor(Date.now() / 1000)}`, 365 * 24 * 3600e3, 'ECDSA-P256');
  const server = createServer({ cert: ca.certPem, key: ca.key.pem }, (req, res) => {
    const ok = healthy();
    if (req.url?.startsWith('/healthz') || req.url?.startsWith('/livez') || req.url?.startsWith('/readyz')) {
      res.writeHead(ok ? 200 : 500, { 'Content-Type': 'text/plain' });
      res.end(ok ? 'ok' : 'not connected to the apiserver');
      return;
    }
    res.writeHead(403);
    res.end();
  });
  server.on('error', (e) =>
    die(`failed to create listener: failed to listen on ${bind}:${port}: ${e.message}`),
  );
  server.listen(port, bind);
}

async function holdLease(api: ApiClient, name: string): Promise<void> {
  const now = new Date().toISOString().replace('Z', '000Z');
  await api.upsert('/apis/coordination.k8s.io/v1/namespaces/kube-system/leases', {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace: 'kube-system' },
    spec: {
      holderIdentity: `${hostname()}_${process.pid}`,
      leaseDurationSeconds: 15,
      renewTime: now,
      acquireTime: now,
    },
  } as never);
}

type Obj = { metadata: { name: string; namespace?: string; [k: string]: unknown }; [k: string]: unknown };

async function signBootstrapTokens(api: ApiClient): Promise<void> {
  const cm = await api.find<{ data?: Record<string, string> }>(
    '/api/v1/namespaces/kube-public/configmaps/cluster-info',
  );
  if (!cm?.data?.kubeconfig) return;
  const secrets = await api.get<{ items: { type?: string; data?: Record<string, string> }[] }>(
    '/api/v1/namespaces/kube-system/secrets',
  );
  const want: Record<string, string> = {};
  for (const s of secrets.items) {
    if (s.type !== 'bootstrap.kubernetes.io/token') continue;
    const d = Object.fromEntries(
      Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
    );
    if (d['usage-bootstrap-signing'] !== 'true' || !d['token-id'] || !d['token-secret']) continue;
    if (d.expiration && Date.parse(d.expiration) < Date.now()) continue;
    want[`jws-kubeconfig-${d['token-id']}`] = jwsSign(cm.data.kubeconfig, d['token-id'], d['token-secret']);
  }
  const have = Object.fromEntries(Object.entries(cm.data).filter(([k]) => k.startsWith('jws-kubeconfig-')));
  if (JSON.stringify(have) === JSON.stringify(want)) return;
  await api.call('PUT', '/api/v1/namespaces/kube-public/configmaps/cluster-info', {
    ...cm,
    data: { kubeconfig: cm.data.kubeconfig, ...want },
  });
}

async function kubeSystemSecrets(api: ApiClient): Promise<SecretLike[]> {
  return (await api.get<{ items: SecretLike[] }>('/api/v1/namespaces/kube-system/secrets')).items;
}

async function cleanTokens(api: ApiClient): Promise<void> {
  for (const name of expiredTokens(await kubeSystemSecrets(api), Date.now()))
    await api.call('DELETE', `/api/v1/namespaces/kube-system/secrets/${name}`);
}

/** The garbage collector, for what kubeadm relies on: Secrets owned by Secrets (kubeadm-certs). */
async function collectGarbage(api: ApiClient): Promise<void> {
  for (const name of orphanedSecrets(await kubeSystemSecrets(api)))
    await api.call('DELETE', `/api/v1/namespaces/kube-system/secrets/${name}`);
}

async function signCsrs(api: ApiClient, ca: CertAndKey, validityMs: number): Promise<void> {
  const list = await api.get<{
    items: (Obj & {
      spec: { request?: string; signerName?: string; username?: string };
      status?: { certificate?: string };
    })[];
  }>('/apis/certificates.k8s.io/v1/certificatesigningrequests');
  for (const csrObj of list.items) {
    if (
      csrObj.status?.certificate ||
      csrObj.spec.signerName !== 'kubernetes.io/kube-apiserver-client-kubelet'
    )
      continue;
    const csr = new x509.Pkcs10CertificateRequest(
      Buffer.from(csrObj.spec.request ?? '', 'base64').toString('utf8'),
    );
    const cn = /CN=([^,]+)/.exec(csr.subject)?.[1] ?? '';
    if (!cn.startsWith('system:node:') || !/O=system:nodes/.test(csr.subject)) continue;
    const leaf = await signLeaf(
      ca,
      { cn, org: ['system:nodes'], client: true, validityMs },
      await csr.publicKey.export(),
    );
    await api.call(
      'PUT',
      `/apis/certificates.k8s.io/v1/certificatesigningrequests/${csrObj.metadata.name}/status`,
      {
        ...csrObj,
        status: {
          conditions: [
            {
              type: 'Approved',
              status: 'True',
              reason: 'AutoApproved',
              message: 'Auto approving kubelet client certificate after SubjectAccessReview.',
            },
          ],
          certificate: Buffer.from(leaf.certPem).toString('base64'),
        },
      },
    );
  }
}

async function nodeLifecycle(api: ApiClient, graceMs: number): Promise<void> {
  const nodes = await api.get<{
    items: (Obj & {
      status?: {
        conditions?: {
          type: string;
          status: string;
          lastHeartbeatTime?: string;
          reason?: string;
          message?: string;
        }[];
      };
    })[];
  }>('/api/v1/nodes');
  for (const n of nodes.items) {
    const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
    if (!ready?.lastHeartbeatTime || ready.status === 'Unknown') continue;
    if (Date.now() - Date.parse(ready.lastHeartbeatTime) > graceMs) {
      const conditions = (n.status?.conditions ?? []).map((c) => ({
        ...c,
        status: 'Unknown',
        reason: 'NodeStatusUnknown',
        message: 'Kubelet stopped posting node status.',
      }));
      await api.call(
        'PATCH',
        `/api/v1/nodes/${n.metadata.name}/status`,
        { status: { conditions } },
        'application/merge-patch+json',
      );
    }
  }
}

export async function runComponent(
  kind: 'kube-controller-manager' | 'kube-scheduler',
  argv: string[],
  log: CallLog,
): Promise<void> {
  process.title = kind;
  let parsed: ParsedFlags;
  try {
    parsed = parseFlags(
      argv,
      kind === 'kube-controller-manager' ? CONTROLLER_MANAGER_FLAGS : SCHEDULER_FLAGS,
    );
  } catch (e) {
    die(`Error: ${(e as Error).message}`);
  }
  log.write('start', { argv, component: kind });
  const files = [
    'kubeconfig',
    'authentication-kubeconfig',
    'authorization-kubeconfig',
    'client-ca-file',
    'requestheader-client-ca-file',
    'config',
    'tls-cert-file',
    'tls-private-key-file',
  ];
  if (kind === 'kube-controller-manager')
    files.push(
      'cluster-signing-cert-file',
      'cluster-signing-key-file',
      'root-ca-file',
      'service-account-private-key-file',
    );
  mustExist(parsed, files);
  const kubeconfig = str(parsed, 'kubeconfig');
  if (!kubeconfig)
    die(
      'invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable',
    );
  const api = new ApiClient(readKubeconfig(kubeconfig));
  let connected = false;
  const port = Number(str(parsed, 'secure-port') ?? (kind === 'kube-controller-manager' ? 10257 : 10259));
  await serveHealthz(str(parsed, 'bind-address') ?? '0.0.0.0', port, () => connected);
  let ca: CertAndKey | undefined;
  const signCert = str(parsed, 'cluster-signing-cert-file');
  const signKey = str(parsed, 'cluster-signing-key-file');
  if (kind === 'kube-controller-manager' && signCert && signKey) {
    const pem = readFileSync(signCert, 'utf8');
    ca = { cert: new x509.X509Certificate(pem), certPem: pem, key: await readKey(signKey) };
  }
  const validityMs = durationMs(str(parsed, 'cluster-signing-duration') ?? '8760h');
  const graceMs = durationMs(str(parsed, 'node-monitor-grace-period') ?? '40s');
  const controllers = (parsed.values.get('controllers') as string[] | undefined) ?? ['*'];
  // bootstrapsigner and tokencleaner are off unless named, which is why kubeadm lists them
  const offByDefault = ['bootstrapsigner', 'tokencleaner'];
  const on = (c: string) =>
    controllers.includes(c) ||
    (controllers.includes('*') && !offByDefault.includes(c) && !controllers.includes(`-${c}`));
  const clients = new ControllerClients(api, bool(parsed, 'use-service-account-credentials'));
  let last = 0;
  let lastWorkloads = 0;
  const tick = async () => {
    try {
      const r = await api.raw('GET', '/healthz');
      connected = r.status === 200;
      if (!connected) return;
      if (Date.now() - last > 5000) {
        await holdLease(api, kind);
        last = Date.now();
      }
      if (kind === 'kube-controller-manager') {
        if (on('bootstrapsigner')) await signBootstrapTokens(await clients.for('bootstrap-signer'));
        if (ca && on('csrsigning'))
          await signCsrs(await clients.for('certificate-controller'), ca, validityMs);
        if (on('tokencleaner')) await cleanTokens(await clients.for('token-cleaner'));
        if (on('garbagecollector')) await collectGarbage(await clients.for('generic-garbage-collector'));
        if (on('nodelifecycle')) await nodeLifecycle(await clients.for('node-controller'), graceMs);
        if (Date.now() - lastWorkloads > 3000) {
          if (on('nodeipam') && bool(parsed, 'allocate-node-cidrs')) {
            const cidr = str(parsed, 'cluster-cidr');
            if (!cidr) die('--cluster-cidr must be set when --allocate-node-cidrs is true');
            // core.go startNodeIpamController: the nodeipam controller runs as node-controller.
            await allocateNodeCidrs(
              await clients.for('node-controller'),
              cidr,
              Number(str(parsed, 'node-cidr-mask-size-ipv4') ?? str(parsed, 'node-cidr-mask-size') ?? 24),
            );
          }
          if (on('daemonset')) await syncDaemonSets(await clients.for('daemon-set-controller'));
          lastWorkloads = Date.now();
        }
      }
    } catch (e) {
      connected = false;
      process.stderr.write(`E ${new Date().toISOString()} ${kind}: ${(e as Error).message}\n`);
    }
  };
  for (;;) {
    await tick();
    await new Promise((r) => setTimeout(r, 1000));
  }
}
