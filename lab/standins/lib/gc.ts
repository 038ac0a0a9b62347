/**
 * The two kube-controller-manager loops that make uploaded certificates expire: the tokencleaner
 * deletes bootstrap-token Secrets past their expiration, and the garbage collector deletes objects
 * whose controller owner is gone (kubeadm-certs is owned by a 2 h token, copycerts.go). Pure, with
 * the time passed in, so a test can move the clock.
 */
export interface SecretLike {
  metadata: {
    name: string;
    uid?: string;
    ownerReferences?: { kind?: string; name?: string; uid?: string; controller?: boolean }[];
  };
  type?: string;
  data?: Record<string, string>;
}

export function expiredTokens(secrets: SecretLike[], now: number): string[] {
  return secrets
    .filter((s) => s.type === 'bootstrap.kubernetes.io/token' && s.data?.expiration)
    .filter((s) => Date.parse(Buffer.from(s.data!.expiration!, 'base64').toString()) < now)
    .map((s) => s.metadata.name);
}

/** Secrets whose owning Secret (same namespace, matched by uid) no longer exists. */
export function orphanedSecrets(secrets: SecretLike[]): string[] {
  const uids = new Set(secrets.map((s) => s.metadata.uid).filter(Boolean));
  return secrets
    .filter((s) => {
      const owners = (s.metadata.ownerReferences ?? []).filter((o) => o.kind === 'Secret');
      return owners.length > 0 && owners.every((o) => !uids.has(o.uid));
    })
    .map((s) => s.metadata.name);
}
