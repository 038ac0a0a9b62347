/**
 * The apiserver stand-in's authenticators, in the real union's order: client certificates against
 * --client-ca-file, bootstrap tokens against their Secret (plugin/pkg/auth/authenticator/token/
 * bootstrap), then service-account JWTs (pkg/serviceaccount: signature, issuer, audience, expiry,
 * and the ServiceAccount and bound Pod still existing with the UIDs in the token). Anything else
 * with credentials is 401; no credentials at all is system:anonymous unless
 * --anonymous-auth=false.
 */
import type { KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Obj, User } from './api-types.js';
import type { Etcd } from './etcd.js';
import { looksLikeJwt, verifyServiceAccountToken } from './satoken.js';

export interface ServiceAccountAuth {
  /** --anonymous-auth (default true): requests without credentials are system:anonymous. */
  anonymous: boolean;
  publicKeys: KeyObject[];
  issuers: string[];
  audiences: string[];
}

const TOKEN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;

async function read(etcd: Etcd, key: string): Promise<Obj | undefined> {
  const kv = await etcd.get(key);
  return kv ? (JSON.parse(kv.value) as Obj) : undefined;
}

async function bootstrapToken(etcd: Etcd, id: string, secret: string): Promise<User | 'unauthorized'> {
  const s = (await read(etcd, `/registry/secrets/kube-system/bootstrap-token-${id}`)) as
    | { data?: Record<string, string> }
    | undefined;
  if (!s) return 'unauthorized';
  const d = Object.fromEntries(
    Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
  );
  if (d['token-secret'] !== secret || d['usage-bootstrap-authentication'] !== 'true') return 'unauthorized';
  if (d.expiration && Date.parse(d.expiration) < Date.now()) return 'unauthorized';
  const extra = (d['auth-extra-groups'] ?? '').split(',').filter(Boolean);
  return {
    name: `system:bootstrap:${id}`,
    groups: ['system:bootstrappers', ...extra, 'system:authenticated'],
  };
}

async function serviceAccountToken(
  etcd: Etcd,
  sa: ServiceAccountAuth,
  token: string,
): Promise<User | 'unauthorized'> {
  const claims = verifyServiceAccountToken(token, sa.publicKeys, sa.issuers, sa.audiences);
  if (typeof claims === 'string') return 'unauthorized';
  const k = claims['kubernetes.io']!;
  const account = await read(etcd, `/registry/serviceaccounts/${k.namespace}/${k.serviceaccount.name}`);
  if (!account || account.metadata.uid !== k.serviceaccount.uid) return 'unauthorized';
  const extra: Record<string, string[]> = {};
  if (k.pod) {
    const pod = await read(etcd, `/registry/pods/${k.namespace}/${k.pod.name}`);
    if (!pod || pod.metadata.uid !== k.pod.uid || pod.metadata.deletionTimestamp) return 'unauthorized';
    extra['authentication.kubernetes.io/pod-name'] = [k.pod.name];
    extra['authentication.kubernetes.io/pod-uid'] = [k.pod.uid];
  }
  if (k.node) {
    extra['authentication.kubernetes.io/node-name'] = [k.node.name];
    extra['authentication.kubernetes.io/node-uid'] = [k.node.uid];
  }
  if (claims.jti) extra['authentication.kubernetes.io/credential-id'] = [`JTI=${claims.jti}`];
  return {
    name: claims.sub,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${k.namespace}`, 'system:authenticated'],
    extra,
  };
}

export async function authenticate(
  req: IncomingMessage,
  etcd: Etcd,
  sa: ServiceAccountAuth,
): Promise<User | 'unauthorized'> {
  const sock = req.socket as TLSSocket;
  const peer = sock.getPeerCertificate();
  if (peer && Object.keys(peer).length > 0) {
    if (!sock.authorized) return 'unauthorized';
    const subject = peer.subject as unknown as Record<string, string | string[]>;
    const o = subject.O;
    return {
      name: String(subject.CN),
      groups: [...(Array.isArray(o) ? o : o ? [o] : []), 'system:authenticated'],
    };
  }
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) {
    const token = auth.slice(7).trim();
    const m = TOKEN.exec(token);
    if (m) return bootstrapToken(etcd, m[1]!, m[2]!);
    if (looksLikeJwt(token) && sa.publicKeys.length) return serviceAccountToken(etcd, sa, token);
    return 'unauthorized';
  }
  if (!sa.anonymous) return 'unauthorized';
  return { name: 'system:anonymous', groups: ['system:unauthenticated'] };
}
