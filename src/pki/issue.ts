// @peculiar/x509 needs the Reflect metadata polyfill before it loads, whoever imports this module first.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { badInput } from '../core/errors.js';
import { generateKeyPair, type KeyAlgorithm, type KeyPair, signingAlgorithm } from './keys.js';
import type { ExtUsage } from './profiles.js';
import * as x509 from './x509.js';

/**
 * Signing, shaped like kubeadm's pkiutil (Go crypto/x509 underneath): CAs carry critical
 * BasicConstraints CA:TRUE, critical KeyUsage digitalSignature+keyEncipherment+keyCertSign and a
 * SubjectKeyIdentifier; leaves carry critical BasicConstraints CA:FALSE, critical KeyUsage
 * digitalSignature+keyEncipherment, their ExtendedKeyUsage, the CA's key id as AuthorityKeyIdentifier
 * and SANs when they have any. The clock is a parameter so tests are deterministic but for keys and
 * serials.
 */

export interface CertAndKey {
  cert: x509.X509Certificate;
  certPem: string;
  key: KeyPair;
}

export interface IssueOptions {
  now: Date;
  /** Go-style whole hours, e.g. "876000h" (100 years). */
  validity: string;
  algorithm: KeyAlgorithm;
}

export interface Subject {
  cn: string;
  o: string[];
}

export interface LeafRequest extends Subject {
  usages: ExtUsage[];
  dns: string[];
  ips: string[];
}

/** kubeadm backdates notBefore by five minutes (CertificateBackdate) to absorb small clock skew. */
const BACKDATE_MS = 5 * 60_000;

export function validityMs(text: string): number {
  const m = /^([1-9]\d*)h$/.exec(text);
  if (!m)
    throw badInput(`validity "${text}" is not a whole number of hours`, 'write it like 876000h (100 years)');
  return Number(m[1]) * 3_600_000;
}

/** A positive 128-bit serial: unpredictable, as RFC 5280 asks, and never needs a sign byte. */
export function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x3f) | 0x40;
  return b.toString('hex');
}

export function subjectName(s: Subject): x509.Name {
  return new x509.Name([...(s.o.length ? [{ O: s.o }] : []), { CN: [s.cn] }]);
}

const EKU: Record<ExtUsage, string> = {
  serverAuth: x509.ExtendedKeyUsage.serverAuth,
  clientAuth: x509.ExtendedKeyUsage.clientAuth,
};

function withPem(cert: x509.X509Certificate, key: KeyPair): CertAndKey {
  return { cert, certPem: `${cert.toString('pem')}\n`, key };
}

export async function issueCa(cn: string, opts: IssueOptions, key?: KeyPair): Promise<CertAndKey> {
  const pair = key ?? (await generateKeyPair(opts.algorithm));
  const start = opts.now.getTime();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: subjectName({ cn, o: [] }),
    notBefore: new Date(start - BACKDATE_MS),
    notAfter: new Date(start + validityMs(opts.validity)),
    keys: { privateKey: pair.privateKey, publicKey: pair.publicKey },
    signingAlgorithm: signingAlgorithm(pair.algorithm),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature |
          x509.KeyUsageFlags.keyEncipherment |
          x509.KeyUsageFlags.keyCertSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(pair.publicKey),
    ],
  });
  return withPem(cert, pair);
}

/** The CA's own key id when it states one (a CA made by another tool may compute it differently). */
async function authorityKeyId(ca: x509.X509Certificate): Promise<x509.AuthorityKeyIdentifierExtension> {
  const ski = ca.getExtension(x509.SubjectKeyIdentifierExtension);
  return ski
    ? new x509.AuthorityKeyIdentifierExtension(ski.keyId)
    : x509.AuthorityKeyIdentifierExtension.create(ca.publicKey);
}

/**
 * Signs a leaf with a fresh key (or `key`, to re-sign an existing one). Its notAfter never passes the
 * CA's, so a 100-year leaf from a CA made earlier ends with the CA instead of outliving it.
 */
export async function issueLeaf(
  ca: CertAndKey,
  req: LeafRequest,
  opts: IssueOptions,
  key?: KeyPair,
): Promise<CertAndKey> {
  const pair = key ?? (await generateKeyPair(opts.algorithm));
  const start = opts.now.getTime();
  const names: x509.JsonGeneralName[] = [
    ...req.dns.map((value) => ({ type: 'dns' as const, value })),
    ...req.ips.map((value) => ({ type: 'ip' as const, value })),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: subjectName(req),
    issuer: ca.cert.subjectName,
    notBefore: new Date(start - BACKDATE_MS),
    notAfter: new Date(Math.min(start + validityMs(opts.validity), ca.cert.notAfter.getTime())),
    publicKey: pair.publicKey,
    signingKey: ca.key.privateKey,
    signingAlgorithm: signingAlgorithm(ca.key.algorithm),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension(req.usages.map((u) => EKU[u])),
      await authorityKeyId(ca.cert),
      ...(names.length ? [new x509.SubjectAlternativeNameExtension(names)] : []),
    ],
  });
  return withPem(cert, pair);
}
