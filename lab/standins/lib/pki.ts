/**
 * Certificates the way kubeadm's pkiutil makes them: RSA-2048 (or ECDSA-P256) keys, CAs valid ten
 * years and leaves one year unless the v1beta4 config says otherwise, notBefore backdated five
 * minutes for CAs. Existing files are reused after the checks kubeadm makes (key matches,
 * signed by the CA, required SANs present).
 */
import 'reflect-metadata';
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  X509Certificate as NodeCert,
  webcrypto,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;

export interface KeyPair {
  pem: string;
  key: CryptoKey;
  publicKey: CryptoKey;
}

export interface CertAndKey {
  cert: x509.X509Certificate;
  certPem: string;
  key: KeyPair;
}

export type Algo = 'RSA-2048' | 'RSA-3072' | 'RSA-4096' | 'ECDSA-P256';

const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

async function importPem(pem: string): Promise<KeyPair> {
  const priv = createPrivateKey(pem);
  const alg = priv.asymmetricKeyType === 'ec' ? EC : RSA;
  const der = priv.export({ format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  const key = await webcrypto.subtle.importKey('pkcs8', der, alg, true, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', spki, alg, true, ['verify']);
  return { pem, key: key as CryptoKey, publicKey: publicKey as CryptoKey };
}

export async function newKey(algo: Algo = 'RSA-2048'): Promise<KeyPair> {
  const pem =
    algo === 'ECDSA-P256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'sec1' })
      : generateKeyPairSync('rsa', { modulusLength: Number(algo.slice(4)) }).privateKey.export({
          format: 'pem',
          type: 'pkcs1',
        });
  return importPem(pem.toString());
}

export async function readKey(path: string): Promise<KeyPair> {
  return importPem(readFileSync(path, 'utf8'));
}

export async function readPair(base: string): Promise<CertAndKey> {
  const certPem = readFileSync(`${base}.crt`, 'utf8');
  return { cert: new x509.X509Certificate(certPem), certPem, key: await readKey(`${base}.key`) };
}

function algOf(k: KeyPair) {
  return k.key.algorithm.name === 'ECDSA' ? EC : RSA;
}

export interface LeafSpec {
  cn: string;
  org?: string[];
  dns?: string[];
  ips?: string[];
  server?: boolean;
  client?: boolean;
  validityMs: number;
}

export async function selfSignedCA(cn: string, validityMs: number, algo: Algo): Promise<CertAndKey> {
  const key = await newKey(algo);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${escapeDn(cn)}`,
    notBefore: new Date(now - 5 * 60_000),
    notAfter: new Date(now + validityMs),
    keys: { privateKey: key.key, publicKey: key.publicKey },
    signingAlgorithm: algOf(key),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature |
          x509.KeyUsageFlags.keyEncipherment |
          x509.KeyUsageFlags.keyCertSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(key.publicKey),
    ],
  });
  return { cert, certPem: cert.toString('pem'), key };
}

function serial(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(8));
  b[0] = b[0]! & 0x7f;
  return Buffer.from(b).toString('hex');
}

function escapeDn(v: string): string {
  return v.replace(/([,+"\\<>;=])/g, '\\$1');
}

export async function signLeaf(
  ca: CertAndKey,
  spec: LeafSpec,
  publicKey?: CryptoKey,
  algo: Algo = 'RSA-2048',
): Promise<CertAndKey & { key: KeyPair }> {
  const key = publicKey ? undefined : await newKey(algo);
  const pub = publicKey ?? key!.publicKey;
  const names: x509.JsonGeneralName[] = [
    ...(spec.dns ?? []).map((d) => ({ type: 'dns' as const, value: d })),
    ...(spec.ips ?? []).map((i) => ({ type: 'ip' as const, value: i })),
  ];
  const usages: string[] = [];
  if (spec.server) usages.push(x509.ExtendedKeyUsage.serverAuth);
  if (spec.client) usages.push(x509.ExtendedKeyUsage.clientAuth);
  const now = Date.now();
  const subject = [...(spec.org ?? []).map((o) => `O=${escapeDn(o)}`), `CN=${escapeDn(spec.cn)}`].join(', ');
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: ca.cert.subject,
    notBefore: new Date(now - 5 * 60_000),
    notAfter: new Date(now + spec.validityMs),
    publicKey: pub,
    signingKey: ca.key.key,
    signingAlgorithm: algOf(ca.key),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension(usages),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
      ...(names.length ? [new x509.SubjectAlternativeNameExtension(names)] : []),
    ],
  });
  return {
    cert,
    certPem: cert.toString('pem'),
    key: key ?? ({ pem: '', key: ca.key.key, publicKey: pub } as KeyPair),
  };
}

export function writeSecret(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, content, { mode: 0o600 });
}

export function writePublic(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  writeFileSync(path, content, { mode: 0o644 });
}

export function writePair(base: string, pair: CertAndKey): void {
  writePublic(`${base}.crt`, pair.certPem);
  writeSecret(`${base}.key`, pair.key.pem);
}

/** Checks kubeadm makes before reusing a leaf: matching key, signed by the CA, SANs cover what is needed. */
export function validateLeaf(
  name: string,
  certPem: string,
  keyPem: string,
  caPem: string,
  need: { dns?: string[]; ips?: string[] },
): void {
  const cert = new NodeCert(certPem);
  if (!cert.checkPrivateKey(createPrivateKey(keyPem))) {
    throw new Error(`failure loading ${name} certificate: the certificate and key do not match`);
  }
  if (!cert.verify(new NodeCert(caPem).publicKey)) {
    throw new Error(`certificate ${name} is not signed by corresponding CA`);
  }
  if (new Date(cert.validTo).getTime() < Date.now()) throw new Error(`certificate ${name} has expired`);
  const sans = (cert.subjectAltName ?? '').split(', ');
  const have = new Set(sans.map((s) => s.replace(/^DNS:/, '').replace(/^IP Address:/, '')));
  for (const want of [...(need.dns ?? []), ...(need.ips ?? [])]) {
    if (!have.has(want)) {
      throw new Error(
        `certificate ${name} is invalid: x509: certificate is valid for ${[...have].join(', ')}, not ${want}`,
      );
    }
  }
}

export function existsPair(base: string): boolean {
  return existsSync(`${base}.crt`) && existsSync(`${base}.key`);
}

/** kubeadm's discovery hash: sha256 over the CA's SubjectPublicKeyInfo. */
export function caCertHash(caPem: string): string {
  const spki = new NodeCert(caPem).publicKey.export({ format: 'der', type: 'spki' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

export function certInfo(pem: string): { subject: string; notAfter: Date; issuer: string; sans: string } {
  const c = new NodeCert(pem);
  return {
    subject: c.subject,
    issuer: c.issuer,
    notAfter: new Date(c.validTo),
    sans: c.subjectAltName ?? '',
  };
}
