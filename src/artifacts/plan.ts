import type { SupportedVersion } from './catalog.js';

/**
 * The files a Kubernetes version needs, named by their upstream URL and the checksum file upstream
 * publishes next to each. Pure: a function of the catalog entry and the architectures.
 */

export type Arch = 'amd64' | 'arm64';
export const ARCHES: readonly Arch[] = ['amd64', 'arm64'];

export type FileComponent = 'kubeadm' | 'kubelet' | 'kubectl' | 'containerd' | 'runc' | 'crictl' | 'cni';
export type NodeRole = 'master' | 'worker';

export interface FileArtifact {
  component: FileComponent;
  /** Version of the component itself (`v1.31.14`, `2.2.7`, `v1.4.3`, ...). */
  version: string;
  arch: Arch;
  /** File name as upstream publishes it. */
  name: string;
  url: string;
  checksumUrl: string;
  /** Which node roles need the file. */
  roles: NodeRole[];
}

const GH = 'https://github.com';
const BOTH: NodeRole[] = ['master', 'worker'];

export function planFiles(v: SupportedVersion, arches: readonly Arch[]): FileArtifact[] {
  const out: FileArtifact[] = [];
  for (const arch of arches) {
    for (const bin of ['kubeadm', 'kubelet', 'kubectl'] as const) {
      const url = `https://dl.k8s.io/release/${v.version}/bin/linux/${arch}/${bin}`;
      out.push({
        component: bin,
        version: v.version,
        arch,
        name: bin,
        url,
        checksumUrl: `${url}.sha256`,
        roles: bin === 'kubectl' ? ['master'] : BOTH,
      });
    }
    const containerd = `containerd-${v.containerd}-linux-${arch}.tar.gz`;
    const cdUrl = `${GH}/containerd/containerd/releases/download/v${v.containerd}/${containerd}`;
    out.push({
      component: 'containerd',
      version: v.containerd,
      arch,
      name: containerd,
      url: cdUrl,
      checksumUrl: `${cdUrl}.sha256sum`,
      roles: BOTH,
    });
    const runcDir = `${GH}/opencontainers/runc/releases/download/${v.runc}`;
    out.push({
      component: 'runc',
      version: v.runc,
      arch,
      name: `runc.${arch}`,
      url: `${runcDir}/runc.${arch}`,
      checksumUrl: `${runcDir}/runc.sha256sum`,
      roles: BOTH,
    });
    const crictl = `crictl-${v.crictl}-linux-${arch}.tar.gz`;
    const crictlUrl = `${GH}/kubernetes-sigs/cri-tools/releases/download/${v.crictl}/${crictl}`;
    out.push({
      component: 'crictl',
      version: v.crictl,
      arch,
      name: crictl,
      url: crictlUrl,
      checksumUrl: `${crictlUrl}.sha256`,
      roles: BOTH,
    });
    const cni = `cni-plugins-linux-${arch}-${v.cni}.tgz`;
    const cniUrl = `${GH}/containernetworking/plugins/releases/download/${v.cni}/${cni}`;
    out.push({
      component: 'cni',
      version: v.cni,
      arch,
      name: cni,
      url: cniUrl,
      checksumUrl: `${cniUrl}.sha256`,
      roles: BOTH,
    });
  }
  return out;
}

/**
 * The official Node runtime image that runs the apiserver-updater controller (src/ha/updater): no
 * custom image to publish. 24 is the active LTS line; the controller is built for node20 and up.
 */
export const NODE_RUNTIME_IMAGE = 'docker.io/library/node:24.11.1-alpine';

/**
 * The container images the catalog itself names; kubeadm adds the control plane, pause, etcd, coredns.
 * haproxy is always there, since adding masters to a one-master cluster installs it later; the Node
 * runtime only where the updater may run (`updater: false` when the spec chose another mode).
 */
export function catalogImages(
  v: SupportedVersion,
  cni: 'calico' | 'cilium' | 'none',
  opts: { updater: boolean } = { updater: true },
): string[] {
  const images = [`docker.io/library/haproxy:${v.haproxy}`];
  if (opts.updater) images.push(NODE_RUNTIME_IMAGE);
  if (cni === 'calico') {
    for (const n of ['cni', 'node', 'kube-controllers']) images.push(`quay.io/calico/${n}:${v.calico}`);
  } else if (cni === 'cilium') {
    images.push(`quay.io/cilium/cilium:${v.cilium}`, `quay.io/cilium/operator-generic:${v.cilium}`);
    // Envoy runs as its own DaemonSet since Cilium 1.16: an offline install without it has no L7 proxy.
    if (v.ciliumEnvoy) images.push(`quay.io/cilium/cilium-envoy:${v.ciliumEnvoy}`);
  }
  return images;
}

/** `uname -m` or Node's `process.arch` to the Kubernetes architecture name. */
export function archOf(machine: string): Arch | undefined {
  if (machine === 'x86_64' || machine === 'x64' || machine === 'amd64') return 'amd64';
  if (machine === 'aarch64' || machine === 'arm64') return 'arm64';
  return undefined;
}
