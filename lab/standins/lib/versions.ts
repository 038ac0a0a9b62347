/**
 * What differs between the Kubernetes minors the stand-ins impersonate. Image pins are the values of
 * PauseVersion / SupportedEtcdVersion / CoreDNSVersion in cmd/kubeadm/app/constants of each release
 * branch at its late patches (etcd was bumped within branches: 3.5.17 -> 3.5.21 -> 3.5.24), as
 * `kubeadm config images list` prints them. 1.35-1.37 are not verified against their branches.
 */
export interface MinorFacts {
  pause: string;
  etcd: string;
  coredns: string;
}

export const MINORS: Record<number, MinorFacts> = {
  30: { pause: '3.9', etcd: '3.5.21-0', coredns: 'v1.11.3' },
  31: { pause: '3.10', etcd: '3.5.24-0', coredns: 'v1.11.3' },
  32: { pause: '3.10', etcd: '3.5.24-0', coredns: 'v1.11.3' },
  33: { pause: '3.10', etcd: '3.5.24-0', coredns: 'v1.12.0' },
  34: { pause: '3.10.1', etcd: '3.6.5-0', coredns: 'v1.12.1' },
  35: { pause: '3.10.1', etcd: '3.6.6-0', coredns: 'v1.13.1' },
  36: { pause: '3.10.1', etcd: '3.6.6-0', coredns: 'v1.13.1' },
  37: { pause: '3.10.1', etcd: '3.6.6-0', coredns: 'v1.13.1' },
};

export interface Version {
  text: string;
  major: number;
  minor: number;
  patch: number;
}

export function parseVersion(text: string): Version | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(text.trim());
  if (!m) return undefined;
  return { text: `v${m[1]}.${m[2]}.${m[3]}`, major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

/** The kubeadm config API versions a kubeadm of this minor decodes, and which of them only with a warning. */
export function kubeadmApis(minor: number): { accepted: string[]; deprecated: string[] } {
  if (minor < 31) return { accepted: ['v1beta3'], deprecated: [] };
  if (minor < 37) return { accepted: ['v1beta3', 'v1beta4'], deprecated: ['v1beta3'] };
  return { accepted: ['v1beta4'], deprecated: [] };
}

/**
 * kubeadm's own feature gates per minor, with their defaults (cmd/kubeadm/app/features/features.go).
 * 1.30: PublicKeysECDSA, RootlessControlPlane, EtcdLearnerMode (beta), WaitForAllControlPlaneComponents
 * (alpha); ControlPlaneKubeletLocalMode arrives in 1.31 and NodeLocalCRISocket in 1.32;
 * WaitForAllControlPlaneComponents and ControlPlaneKubeletLocalMode are beta (on) from 1.33, the former
 * GA in 1.34 and removed in 1.35 (the 1.35 reference lists ControlPlaneKubeletLocalMode,
 * NodeLocalCRISocket, PublicKeysECDSA, RootlessControlPlane). EtcdLearnerMode went GA in 1.32 and is
 * gone from 1.33. 1.36-1.37 are assumed equal to 1.35.
 */
export function kubeadmFeatureGates(minor: number): Record<string, boolean> {
  const gates: Record<string, boolean> = { PublicKeysECDSA: false, RootlessControlPlane: false };
  if (minor <= 32) gates.EtcdLearnerMode = true;
  if (minor <= 34) gates.WaitForAllControlPlaneComponents = minor >= 33;
  if (minor >= 31) gates.ControlPlaneKubeletLocalMode = minor >= 33;
  if (minor >= 32) gates.NodeLocalCRISocket = minor >= 34;
  return gates;
}

/** Whether a kubeadm gate is on for this minor, given the gates the config sets. */
export function featureEnabled(minor: number, set: Record<string, boolean>, name: string): boolean {
  if (name in set) return set[name]!;
  const gates = kubeadmFeatureGates(minor);
  // a gate that went GA and was removed stays on
  if (name === 'WaitForAllControlPlaneComponents' && minor >= 35) return true;
  return gates[name] ?? false;
}

export function factsFor(minor: number): MinorFacts {
  const facts = MINORS[minor];
  if (!facts) throw new Error(`the stand-ins do not know Kubernetes 1.${minor}`);
  return facts;
}

/**
 * The version a stand-in was built as. esbuild bakes it in through `define`; the environment
 * variable only serves running the TypeScript directly under tsx during development.
 */
declare const __STANDIN_VERSION__: string | undefined;
export function builtVersionText(): string {
  return typeof __STANDIN_VERSION__ === 'string'
    ? __STANDIN_VERSION__
    : (process.env.KUBEON_STANDIN_VERSION ?? '');
}

export function builtVersion(): Version {
  const text = builtVersionText();
  const v = parseVersion(text);
  if (!v) throw new Error(`stand-in built without a valid version (got "${text}")`);
  return v;
}
