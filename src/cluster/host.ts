import type { FleetTarget } from '../fleet/types.js';
import type { ClusterNode } from './nodes.js';

export type OsFamily = 'debian' | 'rhel';

/** What kubeon learned about a node at first contact; enough for per-OS scripts and probes. */
export interface HostFacts {
  /** `uname -n` */
  hostname: string;
  arch: 'amd64' | 'arm64';
  os: { id: string; versionId: string; family: OsFamily | 'unknown'; pretty: string };
  /** `uname -r` */
  kernel: string;
  init: 'systemd' | 'other';
  packageManager: 'apt' | 'dnf' | 'yum' | 'none';
  cpus: number;
  memoryMiB: number;
  swapOn: boolean;
  /** The node's clock when the facts were read. */
  clockMs: number;
  machineId: string;
  /** What Kubernetes is already there. */
  kube: {
    kubeletVersion?: string;
    kubeadmVersion?: string;
    containerdVersion?: string;
    /** /etc/kubernetes/admin.conf or kubelet.conf exists. */
    etcKubernetes: boolean;
    /** The kubeon cluster name recorded on the node (/etc/kubeon/cluster), if any. */
    clusterOwner?: string;
  };
}

/** One node as every phase sees it: spec entry (named), how to reach it, what it is. */
export interface Host {
  node: ClusterNode & { name: string };
  target: FleetTarget;
  facts: HostFacts;
}
