/**
 * Where each artifact lives under a prefix mirror, and how upstream names and checksums it.
 * A prefix mirror keeps the upstream host as the first path segment, so
 * `https://dl.k8s.io/release/v1.31.14/bin/linux/amd64/kubeadm` is `<mirror>/dl.k8s.io/release/...`.
 *
 * Facts checked against the upstream release tooling (not copied from it):
 * - dl.k8s.io: `<bin>.sha256` / `.sha512` hold the bare hex digest, no file name, no newline;
 *   `stable-1.Y.txt` and `stable.txt` hold `vX.Y.Z`, no newline.
 * - containerd (Makefile `release`): `containerd-A-linux-ARCH.tar.gz` with `bin/<binaries>` inside
 *   (1.7 also ships containerd-shim, -runc-v1); `.sha256sum` is `sha256sum` output: `<hex>  <name>\n`.
 * - runc (script/release_build.sh): bare `runc.ARCH` binaries; one `runc.sha256sum` lists every
 *   arch plus the source tarball (`runc.tar.xz` up to 1.4, `runc-X.Y.Z.tar.xz` from 1.5).
 * - crictl (hack/release.sh): `crictl-vC-linux-ARCH.tar.gz` holding `crictl`; `.sha256` / `.sha512`
 *   are the bare hex digest plus a newline.
 * - CNI plugins (release workflow): `cni-plugins-linux-ARCH-vP.tgz` made with `tar -C bin .`, so
 *   entries are `./bridge`, ... plus `./LICENSE`, `./README.md`; `.sha256` is `<hex>  <name>\n`.
 */
import semver from 'semver';

export type Arch = 'amd64' | 'arm64';
export const ARCHES: readonly Arch[] = ['amd64', 'arm64'];

export type KubeBinary = 'kubeadm' | 'kubelet' | 'kubectl';
export const KUBE_BINARIES: readonly KubeBinary[] = ['kubeadm', 'kubelet', 'kubectl'];

/** Everything a mirror tree holds. Versions carry a leading `v` exactly where upstream tags do. */
export interface MirrorSpec {
  arches: Arch[];
  /** `vX.Y.Z` */
  kubernetes: string[];
  /** `A.B.C` (containerd file names drop the `v`, the tag keeps it) */
  containerd: string[];
  /** `vR` */
  runc: string[];
  /** `vC` */
  crictl: string[];
  /** `vP` */
  cni: string[];
}

/**
 * Real, released versions (checked against upstream tags): three Kubernetes minors, one below the
 * v1beta4 switch (1.31), one at it, and the newest, with runtime pieces of each era.
 */
export const DEFAULT_SPEC: MirrorSpec = {
  arches: ['amd64', 'arm64'],
  kubernetes: ['v1.30.14', 'v1.31.14', 'v1.37.1'],
  // The last entries are what kubeon's catalog (src/artifacts/catalog.json) pins for these minors.
  containerd: ['1.7.22', '1.7.27', '2.2.1', '2.0.11', '2.3.4'],
  runc: ['v1.1.14', 'v1.2.5', 'v1.3.3', 'v1.3.6', 'v1.4.3'],
  crictl: ['v1.30.1', 'v1.31.1', 'v1.36.0'],
  cni: ['v1.5.1', 'v1.6.2', 'v1.9.1', 'v1.4.1'],
};

const GH = '/github.com';

export const kubePath = (version: string, arch: Arch, bin: KubeBinary): string =>
  `/dl.k8s.io/release/${version}/bin/linux/${arch}/${bin}`;
export const stableMinorPath = (minor: string): string => `/dl.k8s.io/release/stable-${minor}.txt`;
export const stablePath = '/dl.k8s.io/release/stable.txt';

export const containerdName = (version: string, arch: Arch): string =>
  `containerd-${version}-linux-${arch}.tar.gz`;
export const containerdPath = (version: string, arch: Arch): string =>
  `${GH}/containerd/containerd/releases/download/v${version}/${containerdName(version, arch)}`;

export const runcDir = (version: string): string => `${GH}/opencontainers/runc/releases/download/${version}`;
export const runcPath = (version: string, arch: Arch): string => `${runcDir(version)}/runc.${arch}`;
export const runcSumsPath = (version: string): string => `${runcDir(version)}/runc.sha256sum`;
export const runcSourceName = (version: string): string =>
  semver.gte(version, '1.5.0') ? `runc-${version.replace(/^v/, '')}.tar.xz` : 'runc.tar.xz';

export const crictlName = (version: string, arch: Arch): string => `crictl-${version}-linux-${arch}.tar.gz`;
export const crictlPath = (version: string, arch: Arch): string =>
  `${GH}/kubernetes-sigs/cri-tools/releases/download/${version}/${crictlName(version, arch)}`;

export const cniName = (version: string, arch: Arch): string => `cni-plugins-linux-${arch}-${version}.tgz`;
export const cniPath = (version: string, arch: Arch): string =>
  `${GH}/containernetworking/plugins/releases/download/${version}/${cniName(version, arch)}`;

/** Binaries inside the containerd tarball's `bin/`, in the order upstream's Makefile lists them. */
export function containerdBinaries(version: string): string[] {
  const shims = semver.lt(version, '2.0.0')
    ? ['containerd-shim', 'containerd-shim-runc-v1', 'containerd-shim-runc-v2']
    : ['containerd-shim-runc-v2'];
  return ['ctr', 'containerd', 'containerd-stress', ...shims];
}

/** The plugins a current CNI release ships (the lab only needs bridge, loopback, host-local, portmap). */
export const CNI_PLUGINS: readonly string[] = [
  'bandwidth',
  'bridge',
  'dhcp',
  'dummy',
  'firewall',
  'host-device',
  'host-local',
  'ipvlan',
  'loopback',
  'macvlan',
  'portmap',
  'ptp',
  'sbr',
  'static',
  'tap',
  'tuning',
  'vlan',
  'vrf',
];

/** `v1.31.14` -> `1.31` */
export function minorOf(version: string): string {
  const v = semver.parse(version);
  if (!v) throw new Error(`not a version: ${version}`);
  return `${v.major}.${v.minor}`;
}

/** Upstream's checksum file formats, so the lab serves exactly what a downloader must parse. */
export const checksumText = {
  /** dl.k8s.io: bare digest, no newline */
  kube: (hex: string): string => hex,
  /** crictl: bare digest and a newline */
  bareLine: (hex: string): string => `${hex}\n`,
  /** sha256sum output: containerd, CNI, runc */
  sumLine: (hex: string, name: string): string => `${hex}  ${name}\n`,
};

/** File name suffixes that mark a checksum file, for the wrong-checksum fault. */
export const CHECKSUM_SUFFIXES: readonly string[] = ['.sha256', '.sha512', '.sha256sum'];
