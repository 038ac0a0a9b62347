import { createPrivateKey, X509Certificate as NodeCert } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ClusterSpec } from '../cluster/spec.js';
import { writeFileAtomic } from '../core/atomic.js';
import { KubeonError } from '../core/errors.js';
import { certFacts, normalizeIp, parseCertificate } from './describe.js';
import {
  type CertAndKey,
  type IssueOptions,
  issueCa,
  issueLeaf,
  type LeafRequest,
  subjectName,
} from './issue.js';
import { generateKeyPair, importKeyPair, publicKeyPem, spkiOfPrivateKeyPem } from './keys.js';
import { parseKubeconfig, renderKubeconfig } from './kubeconfig.js';
import {
  CAS,
  type CaId,
  type ControlKubeconfigProfile,
  controlKubeconfigProfile,
  type KubeconfigProfile,
  kubeconfigProfiles,
  leafProfiles,
  type PkiNode,
} from './profiles.js';

/**
 * The cluster's PKI on the control machine, `clusters/<name>/pki/` (dirs 0700, files 0600):
 *
 *   ca.{crt,key}  front-proxy-ca.{crt,key}  etcd/ca.{crt,key}  sa.{key,pub}     shared by all masters
 *   nodes/<node>/pki/…            that master's leaves, laid out as under /etc/kubernetes/pki
 *   nodes/<node>/*.conf           that master's kubeconfigs, as under /etc/kubernetes
 *
 * and `clusters/<name>/kubeconfig` for this machine. Every `ensure*` converges: what exists and is
 * still right is kept (a CA is never replaced), what is missing, wrong or half-written is (re)made,
 * and each file is written atomically, key before certificate, so a crash leaves nothing that a
 * re-run would trust wrongly.
 */

export type CaMaterial = Record<CaId, CertAndKey>;

export interface EnsureOptions {
  now: Date;
  /** Re-issue leaves and kubeconfigs even when they are still valid (`kubeon certs renew`). */
  renew?: boolean;
}

export function nodeDir(pkiDir: string, nodeName: string): string {
  return join(pkiDir, 'nodes', nodeName);
}

function issueOptions(spec: ClusterSpec, now: Date, ca: boolean): IssueOptions {
  return {
    now,
    validity: ca ? spec.pki.caValidity : spec.pki.certValidity,
    algorithm: spec.pki.keyAlgorithm,
  };
}

async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

async function writeSecret(path: string, content: string): Promise<void> {
  await ensureDir(dirname(path));
  await writeFileAtomic(path, content, 0o600);
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Loads a CA, or makes it when there is none. A key without its certificate is the trace of a crash
 * before the certificate was written: nothing can have been signed with it, so it is replaced. A
 * certificate without its key cannot sign anything and is never silently replaced.
 */
async function ensureCa(
  pkiDir: string,
  id: CaId,
  spec: ClusterSpec,
  now: Date,
): Promise<[CertAndKey, boolean]> {
  const profile = CAS.find((c) => c.id === id)!;
  const certPath = join(pkiDir, `${profile.file}.crt`);
  const keyPath = join(pkiDir, `${profile.file}.key`);
  const certPem = await readIfExists(certPath);
  const keyPem = await readIfExists(keyPath);
  if (certPem !== undefined) {
    if (keyPem === undefined) {
      throw new KubeonError(`${certPath} exists but its key ${keyPath} does not`, {
        hint: `restore ${keyPath} from a backup; kubeon never replaces an existing CA`,
      });
    }
    const key = await importKeyPair(keyPem, keyPath);
    const node = new NodeCert(certPem);
    if (!node.ca || !node.checkPrivateKey(createPrivateKey(keyPem))) {
      throw new KubeonError(`${certPath} is not a CA certificate matching ${keyPath}`, {
        hint: 'restore the CA pair from a backup; kubeon never replaces an existing CA',
      });
    }
    return [{ cert: parseCertificate(certPem), certPem, key }, false];
  }
  const made = await issueCa(profile.cn, issueOptions(spec, now, true));
  await writeSecret(keyPath, made.key.pem);
  await writeSecret(certPath, made.certPem);
  return [made, true];
}

/** The service-account signing pair; like a CA, an existing sa.key is never replaced. */
async function ensureServiceAccountKey(pkiDir: string, spec: ClusterSpec): Promise<boolean> {
  const keyPath = join(pkiDir, 'sa.key');
  const pubPath = join(pkiDir, 'sa.pub');
  let keyPem = await readIfExists(keyPath);
  let made = false;
  if (keyPem === undefined) {
    keyPem = (await generateKeyPair(spec.pki.keyAlgorithm)).pem;
    await writeSecret(keyPath, keyPem);
    made = true;
  }
  const pub = publicKeyPem(await importKeyPair(keyPem, keyPath));
  if ((await readIfExists(pubPath)) !== pub) {
    await writeSecret(pubPath, pub);
    made = true;
  }
  return made;
}

export interface EnsureResult {
  /** Paths (relative to the pki dir, or "kubeconfig") written by this call. */
  written: string[];
}

export async function ensureCas(
  pkiDir: string,
  spec: ClusterSpec,
  now: Date,
): Promise<{ cas: CaMaterial; written: string[] }> {
  await ensureDir(pkiDir);
  const written: string[] = [];
  const cas = {} as CaMaterial;
  for (const profile of CAS) {
    const [material, made] = await ensureCa(pkiDir, profile.id, spec, now);
    cas[profile.id] = material;
    if (made) written.push(`${profile.file}.crt`, `${profile.file}.key`);
  }
  if (await ensureServiceAccountKey(pkiDir, spec)) written.push('sa.key', 'sa.pub');
  return { cas, written };
}

/**
 * True when `certPem`/`keyPem` are exactly what `want` asks for: the key matches, the CA signed it,
 * subject, usages and SANs are the expected ones and it is still valid. Anything else is re-issued,
 * e.g. after `--cert-san` was added to the spec.
 */
export function leafMatches(
  certPem: string,
  keyPem: string,
  want: LeafRequest,
  ca: CertAndKey,
  now: Date,
): boolean {
  try {
    const node = new NodeCert(certPem);
    if (!node.publicKey.export({ format: 'der', type: 'spki' }).equals(spkiOfPrivateKeyPem(keyPem)))
      return false;
    if (!node.verify(new NodeCert(ca.certPem).publicKey)) return false;
    const f = certFacts(certPem);
    const sameSet = (a: string[], b: string[]) =>
      a.length === b.length && [...a].sort().join() === [...b].sort().join();
    return (
      f.subject === subjectName(want).toString() &&
      f.issuer === ca.cert.subject &&
      sameSet(f.extUsages, want.usages) &&
      sameSet(f.dns, want.dns) &&
      sameSet(f.ips, want.ips.map(normalizeIp)) &&
      f.notAfter.getTime() > now.getTime()
    );
  } catch {
    return false;
  }
}

async function ensureLeaf(
  dir: string,
  file: string,
  want: LeafRequest,
  ca: CertAndKey,
  opts: IssueOptions & { renew?: boolean },
): Promise<boolean> {
  const certPath = join(dir, `${file}.crt`);
  const keyPath = join(dir, `${file}.key`);
  if (!opts.renew) {
    const certPem = await readIfExists(certPath);
    const keyPem = await readIfExists(keyPath);
    if (certPem && keyPem && leafMatches(certPem, keyPem, want, ca, opts.now)) return false;
  }
  const made = await issueLeaf(ca, want, opts);
  await writeSecret(keyPath, made.key.pem);
  await writeSecret(certPath, made.certPem);
  return true;
}

function kubeconfigMatches(
  text: string,
  profile: KubeconfigProfile & { tlsServerName?: string },
  ca: CertAndKey,
  now: Date,
): boolean {
  const k = parseKubeconfig(text);
  if (!k?.certPem || !k.keyPem || k.caPem?.trim() !== ca.certPem.trim()) return false;
  if (k.server !== profile.server || k.tlsServerName !== profile.tlsServerName) return false;
  const want: LeafRequest = { cn: profile.user, o: profile.o, usages: ['clientAuth'], dns: [], ips: [] };
  return leafMatches(k.certPem, k.keyPem, want, ca, now);
}

async function ensureKubeconfig(
  path: string,
  profile: KubeconfigProfile & { tlsServerName?: string },
  ca: CertAndKey,
  opts: IssueOptions & { renew?: boolean; clusterName?: string },
): Promise<boolean> {
  if (!opts.renew) {
    const text = await readIfExists(path);
    if (text !== undefined && kubeconfigMatches(text, profile, ca, opts.now)) return false;
  }
  const client = await issueLeaf(
    ca,
    { cn: profile.user, o: profile.o, usages: ['clientAuth'], dns: [], ips: [] },
    opts,
  );
  const text = renderKubeconfig({
    server: profile.server,
    caPem: ca.certPem,
    user: profile.user,
    certPem: client.certPem,
    keyPem: client.key.pem,
    ...(profile.tlsServerName ? { tlsServerName: profile.tlsServerName } : {}),
    ...(opts.clusterName ? { clusterName: opts.clusterName } : {}),
  });
  await writeSecret(path, text);
  return true;
}

/** One master's leaves and kubeconfigs under nodes/<name>/. */
export async function ensureNodePki(
  pkiDir: string,
  cas: CaMaterial,
  spec: ClusterSpec,
  version: string,
  node: PkiNode,
  opts: EnsureOptions & { first: boolean },
): Promise<EnsureResult> {
  const dir = nodeDir(pkiDir, node.name);
  const issue = { ...issueOptions(spec, opts.now, false), renew: opts.renew ?? false };
  const written: string[] = [];
  const rel = (p: string) => join('nodes', node.name, p);
  const leaves = leafProfiles(spec, node, version);
  const confs = kubeconfigProfiles(spec, node, version, { first: opts.first });
  // Each file is independent, so keys are generated side by side (RSA key generation dominates).
  const [leafMade, confMade] = await Promise.all([
    Promise.all(leaves.map((l) => ensureLeaf(join(dir, 'pki'), l.file, l, cas[l.ca], issue))),
    Promise.all(confs.map((kc) => ensureKubeconfig(join(dir, kc.file), kc, cas.ca, issue))),
  ]);
  for (const [i, leaf] of leaves.entries()) {
    if (leafMade[i]) written.push(rel(`pki/${leaf.file}.crt`), rel(`pki/${leaf.file}.key`));
  }
  for (const [i, kc] of confs.entries()) if (confMade[i]) written.push(rel(kc.file));
  return { written };
}

/** This machine's kubeconfig (clusters/<name>/kubeconfig) with its own client certificate. */
export async function ensureControlKubeconfig(
  path: string,
  cas: CaMaterial,
  spec: ClusterSpec,
  version: string,
  who: { user: string; host: string },
  opts: EnsureOptions & { reachable?: string },
): Promise<ControlKubeconfigProfile & { written: boolean }> {
  const profile = controlKubeconfigProfile(spec, version, who, opts.reachable);
  // Named after the cluster, so the file reads well when used directly with KUBECONFIG.
  const issue = {
    ...issueOptions(spec, opts.now, false),
    renew: opts.renew ?? false,
    clusterName: spec.name,
  };
  const written = await ensureKubeconfig(path, profile, cas.ca, issue);
  return { ...profile, written };
}

export interface ClusterPkiOptions extends EnsureOptions {
  who: { user: string; host: string };
  /** Address this machine reaches the API at, when not the first master's. */
  reachable?: string;
}

/**
 * The whole PKI of a cluster: CAs and sa keys, every master's set and this machine's kubeconfig.
 * Masters must have names by now (resolved at first contact).
 */
export async function ensureClusterPki(
  paths: { pki: string; kubeconfig: string },
  spec: ClusterSpec,
  version: string,
  masters: PkiNode[],
  opts: ClusterPkiOptions,
): Promise<EnsureResult> {
  const { cas, written } = await ensureCas(paths.pki, spec, opts.now);
  for (const [i, node] of masters.entries()) {
    const r = await ensureNodePki(paths.pki, cas, spec, version, node, { ...opts, first: i === 0 });
    written.push(...r.written);
  }
  const control = await ensureControlKubeconfig(paths.kubeconfig, cas, spec, version, opts.who, opts);
  if (control.written) written.push('kubeconfig');
  return { written };
}

export function pkiExists(pkiDir: string): boolean {
  return existsSync(join(pkiDir, 'ca.crt'));
}

/** CN of the etcd client certificate the control machine holds for `kubeon etcd`, `del` and `upgrade`. */
export const CONTROL_ETCD_CLIENT_CN = 'kubeon-etcd-client';

/**
 * The control machine's own etcd client pair (pki/control/etcd-client.*), signed by the cluster's
 * etcd CA, so kubeon reads and changes membership and takes snapshots through the etcd API without
 * borrowing a master's apiserver-etcd-client key. Refuses to act on a cluster without a PKI rather
 * than minting a new etcd CA that no member trusts.
 */
export async function ensureControlEtcdClient(
  pkiDir: string,
  spec: ClusterSpec,
  now: Date,
): Promise<{ ca: string; cert: string; key: string }> {
  if (!existsSync(join(pkiDir, 'etcd', 'ca.crt'))) {
    throw new KubeonError(`cluster "${spec.name}" has no etcd CA in ${pkiDir}`, {
      hint: 'restore the cluster directory from a backup, or run kubeon create first',
    });
  }
  const [ca] = await ensureCa(pkiDir, 'etcd-ca', spec, now);
  const dir = join(pkiDir, 'control');
  const want: LeafRequest = { cn: CONTROL_ETCD_CLIENT_CN, o: [], usages: ['clientAuth'], dns: [], ips: [] };
  await ensureLeaf(dir, 'etcd-client', want, ca, issueOptions(spec, now, false));
  const [cert, key] = await Promise.all([
    readFile(join(dir, 'etcd-client.crt'), 'utf8'),
    readFile(join(dir, 'etcd-client.key'), 'utf8'),
  ]);
  return { ca: ca.certPem, cert, key };
}
