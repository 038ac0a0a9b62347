// @peculiar/x509 needs the Reflect metadata polyfill before it loads, whoever imports this module first.
import 'reflect-metadata';
import ipaddr from 'ipaddr.js';
import * as x509 from './x509.js';
import './keys.js';

/** What a certificate says, in plain values: used by reuse checks, golden tests and `kubeon certs`. */
export interface CertFacts {
  subject: string;
  cn: string;
  o: string[];
  issuer: string;
  serial: string;
  isCA: boolean;
  keyUsages: string[];
  extUsages: string[];
  dns: string[];
  ips: string[];
  notBefore: Date;
  notAfter: Date;
  keyAlgorithm: string;
}

const KEY_USAGE_NAMES: [x509.KeyUsageFlags, string][] = [
  [x509.KeyUsageFlags.digitalSignature, 'digitalSignature'],
  [x509.KeyUsageFlags.nonRepudiation, 'nonRepudiation'],
  [x509.KeyUsageFlags.keyEncipherment, 'keyEncipherment'],
  [x509.KeyUsageFlags.dataEncipherment, 'dataEncipherment'],
  [x509.KeyUsageFlags.keyAgreement, 'keyAgreement'],
  [x509.KeyUsageFlags.keyCertSign, 'keyCertSign'],
  [x509.KeyUsageFlags.cRLSign, 'cRLSign'],
];

const EKU_NAMES: Record<string, string> = {
  [x509.ExtendedKeyUsage.serverAuth]: 'serverAuth',
  [x509.ExtendedKeyUsage.clientAuth]: 'clientAuth',
};

/** One spelling per address, so "::1" and "0:0:0:0:0:0:0:1" compare equal. */
export function normalizeIp(ip: string): string {
  return ipaddr.parse(ip).toString();
}

function attribute(name: x509.Name, type: string): string[] {
  return name.getField(type);
}

export function parseCertificate(pem: string): x509.X509Certificate {
  return new x509.X509Certificate(pem);
}

export function certFacts(pem: string | x509.X509Certificate): CertFacts {
  const cert = typeof pem === 'string' ? parseCertificate(pem) : pem;
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const names = san?.names.items ?? [];
  const alg = cert.publicKey.algorithm as { name: string; namedCurve?: string; modulusLength?: number };
  return {
    subject: cert.subject,
    cn: attribute(cert.subjectName, 'CN')[0] ?? '',
    o: attribute(cert.subjectName, 'O'),
    issuer: cert.issuer,
    serial: cert.serialNumber,
    isCA: bc?.ca ?? false,
    keyUsages: ku ? KEY_USAGE_NAMES.filter(([flag]) => (ku.usages & flag) !== 0).map(([, n]) => n) : [],
    extUsages: Array.from(eku?.usages ?? [], (u) => EKU_NAMES[String(u)] ?? String(u)),
    dns: names.filter((n) => n.type === 'dns').map((n) => n.value),
    ips: names.filter((n) => n.type === 'ip').map((n) => normalizeIp(n.value)),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    keyAlgorithm: alg.name === 'ECDSA' ? `ECDSA-${alg.namedCurve ?? ''}` : `RSA-${alg.modulusLength ?? ''}`,
  };
}
