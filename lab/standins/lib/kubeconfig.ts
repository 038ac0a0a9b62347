/** kubeconfig files as kubeadm writes them (clientcmd v1, one cluster, one user, one context). */
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { ConfigError, parseYamlDocs } from './config.js';

export interface KubeconfigSpec {
  server: string;
  caPem: string;
  user: string;
  clusterName?: string;
  certPem?: string;
  keyPem?: string;
  certFile?: string;
  keyFile?: string;
  token?: string;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

export function renderKubeconfig(k: KubeconfigSpec): string {
  const cluster = k.clusterName ?? 'kubernetes';
  const user: Record<string, string> = {};
  if (k.certPem) user['client-certificate-data'] = b64(k.certPem);
  if (k.keyPem) user['client-key-data'] = b64(k.keyPem);
  if (k.certFile) user['client-certificate'] = k.certFile;
  if (k.keyFile) user['client-key'] = k.keyFile;
  if (k.token) user.token = k.token;
  const context = `${k.user}@${cluster}`;
  return stringify(
    {
      apiVersion: 'v1',
      clusters: [
        { cluster: { 'certificate-authority-data': b64(k.caPem), server: k.server }, name: cluster },
      ],
      contexts: [{ context: { cluster, user: k.user }, name: context }],
      'current-context': context,
      kind: 'Config',
      preferences: {},
      users: [{ name: k.user, user }],
    },
    { version: '1.1' },
  );
}

export interface Credentials {
  server: string;
  caPem?: string;
  certPem?: string;
  keyPem?: string;
  token?: string;
  tlsServerName?: string;
  insecure?: boolean;
}

type Named = { name?: string; [k: string]: unknown };

function fileOrData(data: unknown, file: unknown): string | undefined {
  if (typeof data === 'string') return Buffer.from(data, 'base64').toString('utf8');
  if (typeof file === 'string') return readFileSync(file, 'utf8');
  return undefined;
}

function pemBlocks(text: string | undefined, label: RegExp): string | undefined {
  if (!text) return undefined;
  const blocks = [...text.matchAll(/-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/g)].filter((m) =>
    label.test(m[1]!),
  );
  return blocks.length ? `${blocks.map((m) => m[0]).join('\n')}\n` : text;
}

export function readKubeconfig(path: string, contextName?: string): Credentials {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new ConfigError(`stat ${path}: no such file or directory`);
  }
  const [doc] = parseYamlDocs(text, path);
  if (!doc) throw new ConfigError(`invalid configuration: no configuration has been provided`);
  const want = contextName ?? (doc['current-context'] as string | undefined);
  const ctx = ((doc.contexts as Named[] | undefined) ?? []).find((c) => c.name === want);
  if (!ctx) throw new ConfigError(`context was not found for specified context: ${want ?? ''}`);
  const c = ctx.context as { cluster: string; user: string };
  const cluster = ((doc.clusters as Named[] | undefined) ?? []).find((x) => x.name === c.cluster)?.cluster as
    | Record<string, unknown>
    | undefined;
  const user = (((doc.users as Named[] | undefined) ?? []).find((x) => x.name === c.user)?.user ??
    {}) as Record<string, unknown>;
  if (!cluster) throw new ConfigError(`cluster "${c.cluster}" not found in ${path}`);
  const creds: Credentials = { server: String(cluster.server) };
  const ca = fileOrData(cluster['certificate-authority-data'], cluster['certificate-authority']);
  if (ca) creds.caPem = ca;
  // a kubelet's rotated credential is one file holding both the certificate and the key
  const cert = pemBlocks(
    fileOrData(user['client-certificate-data'], user['client-certificate']),
    /CERTIFICATE/,
  );
  if (cert) creds.certPem = cert;
  const key = pemBlocks(fileOrData(user['client-key-data'], user['client-key']), /PRIVATE KEY/);
  if (key) creds.keyPem = key;
  if (typeof user.token === 'string') creds.token = user.token;
  if (typeof cluster['tls-server-name'] === 'string') creds.tlsServerName = cluster['tls-server-name'];
  if (cluster['insecure-skip-tls-verify'] === true) creds.insecure = true;
  return creds;
}
