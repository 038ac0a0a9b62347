// @peculiar/x509 needs the Reflect metadata polyfill before it loads, whoever imports this module first.
import 'reflect-metadata';
import { createPrivateKey, createPublicKey, KeyObject, webcrypto } from 'node:crypto';
import { KubeonError } from '../core/errors.js';
import * as x509 from './x509.js';

/**
 * Key pairs in the two forms kubeon needs: WebCrypto keys (what @peculiar/x509 signs with) and PEM
 * (what kubeadm reads). PEM types follow kubeadm's keyutil: PKCS#1 `RSA PRIVATE KEY` for RSA and
 * SEC1 `EC PRIVATE KEY` for ECDSA, so kubeadm and `kubeadm certs` treat our files as their own.
 */

// @peculiar/x509 resolves its crypto provider through a registry; Node's WebCrypto is the only one we use.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export type KeyAlgorithm = 'RSA-2048' | 'ECDSA-P256';

type CryptoKey = webcrypto.CryptoKey;

export interface KeyPair {
  algorithm: KeyAlgorithm;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** Private key PEM in kubeadm's encoding; a secret: only ever written to 0600 files. */
  pem: string;
}

const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;
const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** The WebCrypto algorithm (with SHA-256, as Go's x509 picks for these key types) used to sign. */
export function signingAlgorithm(algorithm: KeyAlgorithm): typeof RSA | typeof ECDSA {
  return algorithm === 'ECDSA-P256' ? ECDSA : RSA;
}

function exportPem(privateKey: KeyObject): string {
  const type = privateKey.asymmetricKeyType === 'ec' ? 'sec1' : 'pkcs1';
  return privateKey.export({ format: 'pem', type }).toString();
}

export async function generateKeyPair(algorithm: KeyAlgorithm): Promise<KeyPair> {
  const params =
    algorithm === 'ECDSA-P256'
      ? ECDSA
      : { ...RSA, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) };
  const keys = (await webcrypto.subtle.generateKey(params, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  return {
    algorithm,
    privateKey: keys.privateKey,
    publicKey: keys.publicKey,
    pem: exportPem(KeyObject.from(keys.privateKey)),
  };
}

/** Reads a private key PEM (PKCS#1, SEC1 or PKCS#8) of a kind kubeadm supports. */
export async function importKeyPair(pem: string, what: string): Promise<KeyPair> {
  let priv: KeyObject;
  try {
    priv = createPrivateKey(pem);
  } catch (err) {
    throw new KubeonError(`${what} is not a readable private key`, {
      hint: `move ${what} aside and run the command again to create a new one`,
      cause: err,
    });
  }
  const details = priv.asymmetricKeyDetails ?? {};
  let algorithm: KeyAlgorithm;
  if (priv.asymmetricKeyType === 'ec' && details.namedCurve === 'prime256v1') algorithm = 'ECDSA-P256';
  else if (priv.asymmetricKeyType === 'rsa') algorithm = 'RSA-2048';
  else {
    throw new KubeonError(`${what} is a ${priv.asymmetricKeyType} key; kubeadm needs RSA or ECDSA P-256`, {
      hint: `replace ${what} with an RSA or ECDSA P-256 key`,
    });
  }
  const alg = signingAlgorithm(algorithm);
  const pkcs8 = priv.export({ format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, alg, true, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', spki, alg, true, ['verify']);
  return { algorithm, privateKey, publicKey, pem: exportPem(priv) };
}

/** The `PUBLIC KEY` (PKIX) PEM kubeadm writes as sa.pub. */
export function publicKeyPem(pair: KeyPair): string {
  return createPublicKey(createPrivateKey(pair.pem)).export({ format: 'pem', type: 'spki' }).toString();
}

/** DER SubjectPublicKeyInfo, to compare a key with the one a certificate carries. */
export function spkiOfPrivateKeyPem(pem: string): Buffer {
  return createPublicKey(createPrivateKey(pem)).export({ format: 'der', type: 'spki' });
}
