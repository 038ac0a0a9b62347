/**
 * The cluster-side facts kubeadm keeps, stored through the apiserver (and so in the real etcd)
 * exactly where kubeadm keeps them: bootstrap-token Secrets, the cluster-info ConfigMap in
 * kube-public, kubeadm-config and kubelet-config in kube-system, and the kubeadm-certs Secret with
 * the shared CA material encrypted under the certificate key (AES-256-GCM, nonce prepended).
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { ApiClient } from './client.js';
import { ConfigError } from './config.js';
import { applyKubeadmRbac } from './kubeadm-rbac.js';
import { renderKubeconfig } from './kubeconfig.js';
import { writePublic, writeSecret } from './pki.js';

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

export function generateToken(): string {
  const pick = (n: number) => Array.from(randomBytes(n), (b) => ALNUM[b % 36]).join('');
  return `${pick(6)}.${pick(16)}`;
}

export const TOKEN_RE = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;

export interface TokenSpec {
  token: string;
  ttlMs: number;
  usages: string[];
  groups: string[];
  description?: string;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

export async function createToken(api: ApiClient, t: TokenSpec): Promise<void> {
  const m = TOKEN_RE.exec(t.token);
  if (!m)
    throw new ConfigError(
      `the bootstrap token "${t.token}" was not of the form "^([a-z0-9]{6})\\.([a-z0-9]{16})$"`,
    );
  const data: Record<string, string> = { 'token-id': b64(m[1]!), 'token-secret': b64(m[2]!) };
  if (t.ttlMs > 0)
    data.expiration = b64(new Date(Date.now() + t.ttlMs).toISOString().replace(/\.\d+Z$/, 'Z'));
  for (const u of t.usages) data[`usage-bootstrap-${u}`] = b64('true');
  if (t.groups.length) data['auth-extra-groups'] = b64(t.groups.join(','));
  if (t.description) data.description = b64(t.description);
  await api.upsert('/api/v1/namespaces/kube-system/secrets', {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `bootstrap-token-${m[1]}`, namespace: 'kube-system' },
    type: 'bootstrap.kubernetes.io/token',
    data,
  } as never);
}

export interface TokenRow {
  token: string;
  expires?: string;
  usages: string[];
  groups: string[];
  description: string;
}

export async function listTokens(api: ApiClient): Promise<TokenRow[]> {
  const list = await api.get<{ items: { type?: string; data?: Record<string, string> }[] }>(
    '/api/v1/namespaces/kube-system/secrets',
  );
  const rows: TokenRow[] = [];
  for (const s of list.items) {
    if (s.type !== 'bootstrap.kubernetes.io/token') continue;
    const d = Object.fromEntries(
      Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
    );
    const row: TokenRow = {
      token: `${d['token-id']}.${d['token-secret']}`,
      usages: Object.keys(d)
        .filter((k) => k.startsWith('usage-bootstrap-') && d[k] === 'true')
        .map((k) => k.slice(16)),
      groups: (d['auth-extra-groups'] ?? '').split(',').filter(Boolean),
      description: d.description ?? '',
    };
    if (d.expiration) row.expires = d.expiration;
    rows.push(row);
  }
  return rows;
}

/** The detached JWS the bootstrapsigner controller puts next to cluster-info's kubeconfig. */
export function jwsSign(payload: string, tokenId: string, secret: string): string {
  const enc = (s: string | Buffer) => Buffer.from(s).toString('base64url');
  const header = enc(JSON.stringify({ alg: 'HS256', kid: tokenId }));
  const sig = createHmac('sha256', secret)
    .update(`${header}.${enc(payload)}`)
    .digest('base64url');
  return `${header}..${sig}`;
}

export function jwsVerify(detached: string, payload: string, tokenId: string, secret: string): boolean {
  const [header] = detached.split('..');
  if (!header) return false;
  const h = JSON.parse(Buffer.from(header, 'base64url').toString()) as { alg?: string; kid?: string };
  if (h.alg !== 'HS256' || h.kid !== tokenId) return false;
  return jwsSign(payload, tokenId, secret) === detached;
}

export async function publishClusterInfo(api: ApiClient, server: string, caPem: string): Promise<void> {
  const kubeconfig = renderKubeconfig({ server, caPem, user: '' }).replace(
    /contexts:[\s\S]*$/,
    'contexts: null\ncurrent-context: ""\nkind: Config\npreferences: {}\nusers: null\n',
  );
  await api.upsert('/api/v1/namespaces/kube-public/configmaps', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cluster-info', namespace: 'kube-public' },
    data: { kubeconfig },
  } as never);
  await applyKubeadmRbac(api, 'bootstrap-token');
}

export async function putConfigMap(
  api: ApiClient,
  ns: string,
  name: string,
  data: Record<string, string>,
): Promise<void> {
  await api.upsert(`/api/v1/namespaces/${ns}/configmaps`, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: ns },
    data,
  } as never);
}

const SHARED = [
  ['ca.crt', 'ca.crt'],
  ['ca.key', 'ca.key'],
  ['sa.key', 'sa.key'],
  ['sa.pub', 'sa.pub'],
  ['front-proxy-ca.crt', 'front-proxy-ca.crt'],
  ['front-proxy-ca.key', 'front-proxy-ca.key'],
  ['etcd-ca.crt', 'etcd/ca.crt'],
  ['etcd-ca.key', 'etcd/ca.key'],
] as const;

export function newCertificateKey(): string {
  return randomBytes(32).toString('hex');
}

function keyBytes(hex: string): Buffer {
  const k = Buffer.from(hex, 'hex');
  if (k.length !== 32 || k.toString('hex') !== hex.toLowerCase()) {
    throw new ConfigError(
      `error decoding certificate key: encoding/hex: invalid byte or wrong size (want a hex encoded 32-byte key)`,
    );
  }
  return k;
}

/** constants.DefaultCertTokenDuration: uploaded certificates live as long as this token. */
export const CERT_TOKEN_TTL_MS = 2 * 3600e3;

/**
 * copycerts.createShortLivedBootstrapToken and getSecretOwnerRef: a 2 h token with no usages whose
 * Secret owns kubeadm-certs, so the tokencleaner and the garbage collector remove both on expiry.
 */
async function certsOwner(api: ApiClient): Promise<Record<string, unknown>[]> {
  const token = generateToken();
  await createToken(api, {
    token,
    ttlMs: CERT_TOKEN_TTL_MS,
    usages: [],
    groups: [],
    description: 'Proxy for managing TTL for the kubeadm-certs secret',
  });
  const name = `bootstrap-token-${token.split('.')[0]}`;
  const secret = await api.get<{ metadata: { uid: string } }>(
    `/api/v1/namespaces/kube-system/secrets/${name}`,
  );
  return [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      name,
      uid: secret.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    },
  ];
}

export async function uploadCerts(api: ApiClient, certDir: string, certKey: string): Promise<void> {
  const key = keyBytes(certKey);
  const ownerReferences = await certsOwner(api);
  const data: Record<string, string> = {};
  for (const [name, file] of SHARED) {
    const path = `${certDir}/${file}`;
    if (!existsSync(path)) continue;
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key, nonce);
    const sealed = Buffer.concat([nonce, c.update(readFileSync(path)), c.final(), c.getAuthTag()]);
    data[name] = sealed.toString('base64');
  }
  await api.upsert('/api/v1/namespaces/kube-system/secrets', {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'kubeadm-certs', namespace: 'kube-system', ownerReferences },
    type: 'Opaque',
    data,
  } as never);
  await applyKubeadmRbac(api, 'upload-certs');
}

export async function downloadCerts(api: ApiClient, certDir: string, certKey: string): Promise<void> {
  const key = keyBytes(certKey);
  const secret = await api.find<{ data?: Record<string, string> }>(
    '/api/v1/namespaces/kube-system/secrets/kubeadm-certs',
  );
  if (!secret)
    throw new ConfigError(
      'error downloading certs: error downloading the secret: Secret "kubeadm-certs" was not found in the "kube-system" Namespace. This Secret might have expired. Please, run `kubeadm init phase upload-certs --upload-certs` on a control plane to generate a new one',
    );
  for (const [name, file] of SHARED) {
    const v = secret.data?.[name];
    if (!v) continue;
    const raw = Buffer.from(v, 'base64');
    const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    d.setAuthTag(raw.subarray(raw.length - 16));
    let plain: Buffer;
    try {
      plain = Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]);
    } catch {
      throw new ConfigError(
        'error downloading certs: error decoding secret data with provided key: cipher: message authentication failed',
      );
    }
    const path = `${certDir}/${file}`;
    if (file.endsWith('.key')) writeSecret(path, plain.toString());
    else writePublic(path, plain.toString());
  }
}

/** Where kubeadm finds the etcd members: the advertise-client-urls annotation of each etcd mirror Pod. */
export async function etcdEndpointsFromPods(api: ApiClient): Promise<string[]> {
  const pods = await api.get<{ items: { metadata: { annotations?: Record<string, string> } }[] }>(
    '/api/v1/namespaces/kube-system/pods?labelSelector=component%3Detcd,tier%3Dcontrol-plane',
  );
  const urls = pods.items
    .map((p) => p.metadata.annotations?.['kubeadm.kubernetes.io/etcd.advertise-client-urls'])
    .filter((u): u is string => !!u);
  if (!urls.length)
    throw new ConfigError(
      'could not retrieve the list of etcd endpoints: etcd Pods are not available in the cluster (no Pod with label component=etcd in kube-system)',
    );
  return urls.sort();
}
