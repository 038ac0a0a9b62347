import YAML from 'yaml';

/**
 * kubeconfig files in the shape kubeadm's kubeconfigutil.CreateWithCerts writes: one cluster named
 * after the kubeadm cluster name, one user, one context `<user>@<cluster>`, everything embedded.
 * kubeadm reuses an existing file when its CA and server match, so these must agree with what
 * kubeadm would have written.
 */

export interface KubeconfigInput {
  server: string;
  caPem: string;
  user: string;
  certPem: string;
  keyPem: string;
  /** kubeadm's ClusterConfiguration.clusterName; kubeadm's default is "kubernetes". */
  clusterName?: string;
  tlsServerName?: string;
}

const b64 = (text: string) => Buffer.from(text).toString('base64');

export function renderKubeconfig(k: KubeconfigInput): string {
  const cluster = k.clusterName ?? 'kubernetes';
  const context = `${k.user}@${cluster}`;
  return YAML.stringify(
    {
      apiVersion: 'v1',
      clusters: [
        {
          cluster: {
            'certificate-authority-data': b64(k.caPem),
            server: k.server,
            ...(k.tlsServerName ? { 'tls-server-name': k.tlsServerName } : {}),
          },
          name: cluster,
        },
      ],
      contexts: [{ context: { cluster, user: k.user }, name: context }],
      'current-context': context,
      kind: 'Config',
      preferences: {},
      users: [
        {
          name: k.user,
          user: { 'client-certificate-data': b64(k.certPem), 'client-key-data': b64(k.keyPem) },
        },
      ],
    },
    { version: '1.1' },
  );
}

export interface ParsedKubeconfig {
  server: string;
  caPem: string | undefined;
  certPem: string | undefined;
  keyPem: string | undefined;
  tlsServerName: string | undefined;
}

type Named = { name?: unknown; [k: string]: unknown };

function fromB64(v: unknown): string | undefined {
  return typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : undefined;
}

/** Reads the current context's cluster and user; undefined when the text is not a kubeconfig. */
export function parseKubeconfig(text: string): ParsedKubeconfig | undefined {
  let doc: Record<string, unknown>;
  try {
    doc = YAML.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (!doc || typeof doc !== 'object') return undefined;
  const list = (key: string) => (Array.isArray(doc[key]) ? (doc[key] as Named[]) : []);
  const ctxName = doc['current-context'];
  const ctx = (list('contexts').find((c) => c.name === ctxName) ?? list('contexts')[0])?.context as
    | { cluster?: unknown; user?: unknown }
    | undefined;
  const cluster = (list('clusters').find((c) => c.name === ctx?.cluster) ?? list('clusters')[0])?.cluster as
    | Record<string, unknown>
    | undefined;
  const user = (list('users').find((u) => u.name === ctx?.user) ?? list('users')[0])?.user as
    | Record<string, unknown>
    | undefined;
  if (!cluster || typeof cluster.server !== 'string') return undefined;
  return {
    server: cluster.server,
    caPem: fromB64(cluster['certificate-authority-data']),
    certPem: fromB64(user?.['client-certificate-data']),
    keyPem: fromB64(user?.['client-key-data']),
    tlsServerName: typeof cluster['tls-server-name'] === 'string' ? cluster['tls-server-name'] : undefined,
  };
}
