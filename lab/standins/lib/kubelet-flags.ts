/** The kubelet's command-line flags (kubernetes.io/docs/reference/command-line-tools-reference/kubelet/), per minor. */
import { type FlagTable, flag } from './flags.js';

const S = flag.str;
const B = flag.bool;

export function kubeletFlags(minor: number): FlagTable {
  const t: FlagTable = {
    address: S(),
    'allowed-unsafe-sysctls': flag.list(),
    'anonymous-auth': B(),
    'authentication-token-webhook': B(),
    'authentication-token-webhook-cache-ttl': flag.dur(),
    'authorization-mode': S(),
    'authorization-webhook-cache-authorized-ttl': flag.dur(),
    'authorization-webhook-cache-unauthorized-ttl': flag.dur(),
    'boot-id-file': S(),
    'bootstrap-kubeconfig': S(),
    'cert-dir': S(),
    'cgroup-driver': S(),
    'cgroup-root': S(),
    'cgroups-per-qos': B(),
    'client-ca-file': S(),
    'cloud-config': S(),
    'cloud-provider': S(),
    'cluster-dns': flag.list(),
    'cluster-domain': S(),
    config: S(),
    'config-dir': S(),
    'container-log-max-files': flag.int(),
    'container-log-max-size': S(),
    'container-runtime-endpoint': S(),
    'contention-profiling': B(),
    'cpu-cfs-quota': B(),
    'cpu-cfs-quota-period': flag.dur(),
    'cpu-manager-policy': S(),
    'cpu-manager-policy-options': flag.map(),
    'cpu-manager-reconcile-period': flag.dur(),
    'enable-controller-attach-detach': B(),
    'enable-debugging-handlers': B(),
    'enable-server': B(),
    'enforce-node-allocatable': flag.list(),
    'event-burst': flag.int(),
    'event-qps': flag.int(),
    'eviction-hard': flag.map(),
    'eviction-max-pod-grace-period': flag.int(),
    'eviction-minimum-reclaim': flag.map(),
    'eviction-pressure-transition-period': flag.dur(),
    'eviction-soft': flag.map(),
    'eviction-soft-grace-period': flag.map(),
    'exit-on-lock-contention': B(),
    'experimental-allocatable-ignore-eviction': B(),
    'experimental-mounter-path': S(),
    'fail-swap-on': B(),
    'feature-gates': flag.map(),
    'file-check-frequency': flag.dur(),
    'hairpin-mode': S(),
    'healthz-bind-address': S(),
    'healthz-port': flag.int(),
    help: B('h'),
    'hostname-override': S(),
    'http-check-frequency': flag.dur(),
    'image-credential-provider-bin-dir': S(),
    'image-credential-provider-config': S(),
    'image-gc-high-threshold': flag.int(),
    'image-gc-low-threshold': flag.int(),
    'image-service-endpoint': S(),
    'kernel-memcg-notification': B(),
    'kube-api-burst': flag.int(),
    'kube-api-content-type': S(),
    'kube-api-qps': flag.int(),
    'kube-reserved': flag.map(),
    'kube-reserved-cgroup': S(),
    kubeconfig: S(),
    'kubelet-cgroups': S(),
    'local-storage-capacity-isolation': B(),
    'lock-file': S(),
    'log-flush-frequency': flag.dur(),
    'log-json-info-buffer-size': S(),
    'log-json-split-stream': B(),
    'log-text-info-buffer-size': S(),
    'log-text-split-stream': B(),
    'logging-format': S(),
    'make-iptables-util-chains': B(),
    'manifest-url': S(),
    'manifest-url-header': flag.list(),
    'max-open-files': flag.int(),
    'max-pods': flag.int(),
    'maximum-dead-containers': flag.int(),
    'maximum-dead-containers-per-container': flag.int(),
    'memory-manager-policy': S(),
    'minimum-container-ttl-duration': flag.dur(),
    'minimum-image-ttl-duration': flag.dur(),
    'node-ip': S(),
    'node-labels': flag.map(),
    'node-status-max-images': flag.int(),
    'node-status-update-frequency': flag.dur(),
    'oom-score-adj': flag.int(),
    'pod-cidr': S(),
    'pod-manifest-path': S(),
    'pod-max-pids': flag.int(),
    'pods-per-core': flag.int(),
    port: flag.int(),
    'protect-kernel-defaults': B(),
    'provider-id': S(),
    'qos-reserved': flag.map(),
    'read-only-port': flag.int(),
    'register-node': B(),
    'register-schedulable': B(),
    'register-with-taints': flag.list(),
    'registry-burst': flag.int(),
    'registry-qps': flag.int(),
    'reserved-cpus': S(),
    'reserved-memory': flag.list(),
    'resolv-conf': S(),
    'root-dir': S(),
    'rotate-certificates': B(),
    'rotate-server-certificates': B(),
    runonce: B(),
    'runtime-cgroups': S(),
    'runtime-request-timeout': flag.dur(),
    'seccomp-default': B(),
    'serialize-image-pulls': B(),
    'streaming-connection-idle-timeout': flag.dur(),
    'sync-frequency': flag.dur(),
    'system-cgroups': S(),
    'system-reserved': flag.map(),
    'system-reserved-cgroup': S(),
    'tls-cert-file': S(),
    'tls-cipher-suites': flag.list(),
    'tls-min-version': S(),
    'tls-private-key-file': S(),
    'topology-manager-policy': S(),
    'topology-manager-policy-options': flag.map(),
    'topology-manager-scope': S(),
    v: S('v'),
    version: S(),
    vmodule: S(),
    'volume-plugin-dir': S(),
    'volume-stats-agg-period': flag.dur(),
  };
  // --pod-infra-container-image was deprecated in 1.27 and removed in 1.35; --keep-terminated-pod-volumes went in 1.31.
  if (minor <= 34) t['pod-infra-container-image'] = S();
  if (minor < 31) t['keep-terminated-pod-volumes'] = B();
  return t;
}

/** kubeletapis.KubeletLabelNamespaces and KubeletLabels (k8s.io/kubelet/pkg/apis/well_known_labels.go). */
const KUBELET_LABEL_NAMESPACES = ['kubelet.kubernetes.io', 'node.kubernetes.io'];
const KUBELET_LABELS = [
  'beta.kubernetes.io/arch',
  'beta.kubernetes.io/instance-type',
  'beta.kubernetes.io/os',
  'failure-domain.beta.kubernetes.io/region',
  'failure-domain.beta.kubernetes.io/zone',
  'kubernetes.io/arch',
  'kubernetes.io/hostname',
  'kubernetes.io/os',
  'node.kubernetes.io/instance-type',
  'topology.kubernetes.io/region',
  'topology.kubernetes.io/zone',
];

const inNamespace = (ns: string, root: string) => ns === root || ns.endsWith(`.${root}`);

/**
 * ValidateKubeletFlags (cmd/kubelet/app/options/options.go): --node-labels may not set labels in
 * the kubernetes.io / k8s.io namespaces other than the kubelet's own, so that a node cannot give
 * itself a role (node-role.kubernetes.io/*) that the NodeRestriction admission would refuse.
 */
export function nodeLabelsError(labels: string[]): string | undefined {
  const unknown = [
    ...new Set(
      labels
        .map((l) => l.split('=')[0]!)
        .filter((key) => {
          const ns = key.includes('/') ? key.split('/')[0]! : '';
          const reserved = inNamespace(ns, 'kubernetes.io') || inNamespace(ns, 'k8s.io');
          const allowed =
            KUBELET_LABELS.includes(key) || KUBELET_LABEL_NAMESPACES.some((n) => inNamespace(ns, n));
          return reserved && !allowed;
        }),
    ),
  ].sort();
  if (!unknown.length) return undefined;
  return `unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: [${unknown.join(' ')}]\n--node-labels in the 'kubernetes.io' namespace must begin with an allowed prefix (${KUBELET_LABEL_NAMESPACES.join(', ')}) or be in the specifically allowed set (${KUBELET_LABELS.join(', ')})`;
}
