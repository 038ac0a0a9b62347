/**
 * Service-account tokens as the real apiserver issues and checks them: RS256 JWTs signed with
 * --service-account-signing-key-file (the cluster's sa.key), kid = base64url(sha256(SPKI DER)) as
 * pkg/serviceaccount/jwt.go computes it, bound claims as pkg/serviceaccount/claims.go writes them,
 * and verification against every --service-account-key-file, the --service-account-issuer list and
 * the API audiences.
 */
import {
  createHash,
  createPublicKey,
  createSign,
  createVerify,
  type KeyObject,
  randomUUID,
} from 'node:crypto';

export interface BoundRef {
  name: string;
  uid: string;
}

export interface TokenSpec {
  issuer: string;
  audiences: string[];
  namespace: string;
  serviceAccount: BoundRef;
  pod?: BoundRef;
  node?: BoundRef;
  expirationSeconds: number;
  nowSeconds?: number;
}

export interface Claims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti?: string;
  'kubernetes.io'?: {
    namespace: string;
    serviceaccount: BoundRef;
    pod?: BoundRef;
    node?: BoundRef;
  };
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export function keyId(publicKey: KeyObject): string {
  return b64url(
    createHash('sha256')
      .update(publicKey.export({ format: 'der', type: 'spki' }))
      .digest(),
  );
}

export function signServiceAccountToken(keyPem: string, t: TokenSpec): { token: string; expires: Date } {
  const now = t.nowSeconds ?? Math.floor(Date.now() / 1000);
  const claims: Claims = {
    aud: t.audiences,
    exp: now + t.expirationSeconds,
    iat: now,
    iss: t.issuer,
    jti: randomUUID(),
    'kubernetes.io': {
      namespace: t.namespace,
      ...(t.node ? { node: t.node } : {}),
      ...(t.pod ? { pod: t.pod } : {}),
      serviceaccount: t.serviceAccount,
    },
    nbf: now,
    sub: `system:serviceaccount:${t.namespace}:${t.serviceAccount.name}`,
  };
  const header = { alg: 'RS256', kid: keyId(createPublicKey(keyPem)) };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const sig = createSign('RSA-SHA256').update(input).sign(keyPem);
  return { token: `${input}.${b64url(sig)}`, expires: new Date((now + t.expirationSeconds) * 1000) };
}

export const looksLikeJwt = (token: string) => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token);

/** The real authenticator allows this much clock skew on exp and nbf (jwt.DefaultLeeway). */
const LEEWAY_S = 60;

/**
 * Checks signature, issuer, audience and time, and returns the claims, or the reason the token is
 * refused (the apiserver logs it; the client only sees 401).
 */
export function verifyServiceAccountToken(
  token: string,
  keys: KeyObject[],
  issuers: string[],
  audiences: string[],
  nowSeconds = Math.floor(Date.now() / 1000),
): Claims | string {
  const [h, p, s] = token.split('.');
  if (!h || !p || !s) return 'not a JWT';
  let header: { alg?: string };
  let claims: Claims;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg?: string };
    claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Claims;
  } catch {
    return 'malformed JWT';
  }
  if (!issuers.includes(claims.iss)) return `issuer ${claims.iss} is not one of --service-account-issuer`;
  if (header.alg !== 'RS256') return `unexpected signing algorithm ${header.alg}`;
  const sig = Buffer.from(s, 'base64url');
  const signed = keys.some((k) => createVerify('RSA-SHA256').update(`${h}.${p}`).verify(k, sig));
  if (!signed) return 'square/go-jose: error in cryptographic primitive';
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud as unknown as string];
  if (!aud.some((a) => audiences.includes(a))) return 'token audiences is invalid';
  if (nowSeconds > claims.exp + LEEWAY_S) return 'service account token has expired';
  if (claims.nbf && nowSeconds < claims.nbf - LEEWAY_S) return 'service account token is not valid yet';
  if (!claims['kubernetes.io']) return 'service account token claims are missing kubernetes.io';
  return claims;
}
