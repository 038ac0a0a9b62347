import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ApiClient } from '../lib/client.js';
import { expiredTokens, orphanedSecrets, type SecretLike } from '../lib/gc.js';
import { CERT_TOKEN_TTL_MS, downloadCerts, newCertificateKey, uploadCerts } from '../lib/kubeadm-cluster.js';

/** An in-memory kube-system Secret store with the calls kubeadm-cluster.ts makes. */
function fakeApi() {
  const secrets = new Map<string, SecretLike>();
  const api = {
    async upsert(_collection: string, obj: SecretLike) {
      const old = secrets.get(obj.metadata.name);
      secrets.set(obj.metadata.name, {
        ...obj,
        metadata: { ...obj.metadata, uid: old?.metadata.uid ?? randomUUID() },
      });
    },
    async get(path: string) {
      const s = secrets.get(path.split('/').pop()!);
      if (!s) throw new Error(`not found: ${path}`);
      return s;
    },
    async find(path: string) {
      return secrets.get(path.split('/').pop()!);
    },
  };
  return { api: api as unknown as ApiClient, secrets };
}

function pki(): string {
  const dir = mkdtempSync(join(tmpdir(), 'standins-copycerts-'));
  mkdirSync(join(dir, 'etcd'));
  for (const f of [
    'ca.crt',
    'ca.key',
    'sa.key',
    'sa.pub',
    'front-proxy-ca.crt',
    'front-proxy-ca.key',
    'etcd/ca.crt',
    'etcd/ca.key',
  ])
    writeFileSync(join(dir, f), `material of ${f}\n`);
  return dir;
}

describe('uploaded certificates expire with their 2 h token (copycerts.go)', () => {
  it('owns kubeadm-certs by a token that the tokencleaner removes after 2 h, then the GC removes the certs', async () => {
    const { api, secrets } = fakeApi();
    const start = Date.now();
    await uploadCerts(api, pki(), newCertificateKey());
    const certs = secrets.get('kubeadm-certs')!;
    const owner = certs.metadata.ownerReferences?.[0];
    expect(owner).toMatchObject({ kind: 'Secret', controller: true });
    const token = secrets.get(owner!.name!)!;
    expect(token.metadata.uid).toBe(owner!.uid);
    expect(Buffer.from(token.data!.description!, 'base64').toString()).toBe(
      'Proxy for managing TTL for the kubeadm-certs secret',
    );
    expect(Object.keys(token.data!).filter((k) => k.startsWith('usage-'))).toEqual([]);

    const all = () => [...secrets.values()];
    expect(expiredTokens(all(), start + CERT_TOKEN_TTL_MS - 60_000)).toEqual([]);
    expect(orphanedSecrets(all())).toEqual([]);
    const expired = expiredTokens(all(), start + CERT_TOKEN_TTL_MS + 60_000);
    expect(expired).toEqual([token.metadata.name]);
    for (const name of expired) secrets.delete(name);
    expect(orphanedSecrets(all())).toEqual(['kubeadm-certs']);
  });

  it('fails a control-plane join with kubeadm’s messages for a gone Secret or a wrong key', async () => {
    const { api, secrets } = fakeApi();
    const dir = pki();
    const key = newCertificateKey();
    await uploadCerts(api, dir, key);
    const target = mkdtempSync(join(tmpdir(), 'standins-copycerts-join-'));
    await expect(downloadCerts(api, target, newCertificateKey())).rejects.toThrow(
      'error downloading certs: error decoding secret data with provided key: cipher: message authentication failed',
    );
    await downloadCerts(api, target, key);
    expect(readFileSync(join(target, 'etcd/ca.key'), 'utf8')).toBe('material of etcd/ca.key\n');
    secrets.delete('kubeadm-certs');
    await expect(downloadCerts(api, target, key)).rejects.toThrow(
      'error downloading certs: error downloading the secret: Secret "kubeadm-certs" was not found in the "kube-system" Namespace. This Secret might have expired. Please, run `kubeadm init phase upload-certs --upload-certs` on a control plane to generate a new one',
    );
  });
});
