import { X509Certificate as NodeCert } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { certFacts } from './describe.js';
import { parseKubeconfig } from './kubeconfig.js';
import { CAS } from './profiles.js';

/**
 * Every certificate kubeon knows of, as rows for `kubeon certs`: on the control machine (the pki
 * directory and this machine's kubeconfig) and, from text a master sends back, on the nodes. Only
 * certificates are read; private keys are never parsed or shown.
 */

export interface CertRow {
  /** Where the file lives: "control" for this machine, else the node's name. */
  where: string;
  /** kubeadm-style name: ca, apiserver, etcd/server, admin.conf, … */
  name: string;
  path: string;
  kind: 'ca' | 'cert' | 'kubeconfig';
  subject: string;
  sans: string[];
  notAfter: string;
  /** Seconds left at `now`; negative once expired. */
  residualSeconds: number;
  /** The CA that signed it (ca, etcd-ca, front-proxy-ca), "self" for a root, "unknown" otherwise. */
  signer: string;
}

export interface CaCert {
  id: string;
  pem: string;
}

function signerOf(pem: string, cas: CaCert[]): string {
  const cert = new NodeCert(pem);
  for (const ca of cas) {
    const caCert = new NodeCert(ca.pem);
    if (cert.checkIssued(caCert) && cert.verify(caCert.publicKey)) {
      return cert.fingerprint256 === caCert.fingerprint256 ? 'self' : ca.id;
    }
  }
  return cert.checkIssued(cert) && cert.verify(cert.publicKey) ? 'self' : 'unknown';
}

export function certRow(
  where: string,
  name: string,
  path: string,
  kind: CertRow['kind'],
  pem: string,
  cas: CaCert[],
  now: Date,
): CertRow {
  const f = certFacts(pem);
  return {
    where,
    name,
    path,
    kind,
    subject: f.subject,
    sans: [...f.dns.map((d) => `DNS:${d}`), ...f.ips.map((i) => `IP:${i}`)],
    notAfter: f.notAfter.toISOString(),
    residualSeconds: Math.floor((f.notAfter.getTime() - now.getTime()) / 1000),
    signer: signerOf(pem, cas),
  };
}

/** kubeadm's short form of a remaining time: 99y, 364d, 23h, or "expired". */
export function formatResidual(seconds: number): string {
  if (seconds <= 0) return 'expired';
  const days = seconds / 86_400;
  if (days >= 365) return `${Math.floor(days / 365)}y`;
  if (days >= 1) return `${Math.floor(days)}d`;
  return `${Math.max(1, Math.floor(seconds / 3600))}h`;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

export async function readCaCerts(pkiDir: string): Promise<CaCert[]> {
  const out: CaCert[] = [];
  for (const ca of CAS) {
    try {
      out.push({ id: ca.id, pem: await readFile(join(pkiDir, `${ca.file}.crt`), 'utf8') });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return out;
}

/** Names a file the way kubeadm does: pki-relative path without .crt, or the kubeconfig's file name. */
function nameOf(rel: string): string {
  return rel.endsWith('.crt') ? rel.slice(0, -'.crt'.length) : rel;
}

/** The control machine's certificates: CAs, each master's set, and this machine's kubeconfig. */
export async function localInventory(pkiDir: string, kubeconfigPath: string, now: Date): Promise<CertRow[]> {
  const cas = await readCaCerts(pkiDir);
  const rows: CertRow[] = [];
  for (const path of await walk(pkiDir)) {
    const rel = relative(pkiDir, path);
    const parts = rel.split('/');
    const inNode = parts[0] === 'nodes' && parts.length > 2;
    const local = inNode ? parts.slice(2).join('/') : rel;
    // A master's files are named after it, e.g. m1/apiserver, m1/admin.conf.
    const owner = inNode ? `${parts[1]}/` : '';
    if (local.endsWith('.crt')) {
      const pem = await readFile(path, 'utf8');
      const name = nameOf(local.replace(/^pki\//, ''));
      const isCa = !inNode && CAS.some((c) => c.file === name);
      rows.push(certRow('control', owner + name, path, isCa ? 'ca' : 'cert', pem, cas, now));
    } else if (local.endsWith('.conf')) {
      const k = parseKubeconfig(await readFile(path, 'utf8'));
      if (k?.certPem) rows.push(certRow('control', owner + local, path, 'kubeconfig', k.certPem, cas, now));
    }
  }
  try {
    const k = parseKubeconfig(await readFile(kubeconfigPath, 'utf8'));
    if (k?.certPem)
      rows.push(certRow('control', 'kubeconfig', kubeconfigPath, 'kubeconfig', k.certPem, cas, now));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return rows;
}

/**
 * The script a master runs for `kubeon certs --nodes`: it prints each certificate under
 * /etc/kubernetes/pki and the client certificate of each kubeconfig, and nothing else; keys never
 * leave the node (kubelet-client-current.pem holds a key too, so only CERTIFICATE blocks pass).
 */
export const NODE_CERTS_SCRIPT = `cd /etc/kubernetes 2>/dev/null || exit 0
certs() { sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p'; }
find pki -name '*.crt' -type f 2>/dev/null | LC_ALL=C sort | while read -r f; do
  echo "==> $f"; certs < "$f"
done
for f in *.conf; do
  [ -f "$f" ] || continue
  data=$(sed -n 's/^[[:space:]]*client-certificate-data:[[:space:]]*//p' "$f" | head -n 1)
  file=$(sed -n 's/^[[:space:]]*client-certificate:[[:space:]]*//p' "$f" | head -n 1)
  if [ -n "$data" ]; then echo "==> $f"; printf '%s' "$data" | base64 -d | certs
  elif [ -n "$file" ] && [ -f "$file" ]; then echo "==> $f"; certs < "$file"
  fi
done
`;

/** Parses what NODE_CERTS_SCRIPT printed on one master into rows. */
export function nodeInventory(node: string, output: string, cas: CaCert[], now: Date): CertRow[] {
  const rows: CertRow[] = [];
  for (const chunk of output.split(/^==> /m).slice(1)) {
    const nl = chunk.indexOf('\n');
    const file = chunk.slice(0, nl).trim();
    const pem = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(chunk)?.[0];
    if (!pem) continue;
    const isConf = file.endsWith('.conf');
    const name = isConf ? file : nameOf(file.replace(/^pki\//, ''));
    const kind = isConf ? 'kubeconfig' : CAS.some((c) => c.file === name) ? 'ca' : 'cert';
    const path = `/etc/kubernetes/${file}`;
    rows.push(certRow(node, name, path, kind, `${pem}\n`, cas, now));
  }
  return rows;
}
