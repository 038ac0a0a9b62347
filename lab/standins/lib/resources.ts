/**
 * The resources the apiserver stand-in stores, and where: the same etcd key layout the real
 * kube-apiserver uses (nodes under /registry/minions, services under /registry/services/specs …),
 * with JSON values instead of protobuf.
 */
export interface ResourceInfo {
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespaced: boolean;
  prefix: string;
}

const table: [string, string, string, boolean, string?][] = [
  // group/version, resource, kind, namespaced, etcd prefix
  ['v1', 'nodes', 'Node', false, 'minions'],
  ['v1', 'pods', 'Pod', true],
  ['v1', 'services', 'Service', true, 'services/specs'],
  ['v1', 'endpoints', 'Endpoints', true, 'services/endpoints'],
  ['v1', 'configmaps', 'ConfigMap', true],
  ['v1', 'secrets', 'Secret', true],
  ['v1', 'namespaces', 'Namespace', false],
  ['v1', 'serviceaccounts', 'ServiceAccount', true],
  ['v1', 'events', 'Event', true],
  ['v1', 'persistentvolumes', 'PersistentVolume', false],
  ['v1', 'persistentvolumeclaims', 'PersistentVolumeClaim', true],
  ['apps/v1', 'deployments', 'Deployment', true],
  ['apps/v1', 'daemonsets', 'DaemonSet', true],
  ['apps/v1', 'statefulsets', 'StatefulSet', true],
  ['apps/v1', 'replicasets', 'ReplicaSet', true],
  ['coordination.k8s.io/v1', 'leases', 'Lease', true],
  ['discovery.k8s.io/v1', 'endpointslices', 'EndpointSlice', true],
  ['certificates.k8s.io/v1', 'certificatesigningrequests', 'CertificateSigningRequest', false],
  ['rbac.authorization.k8s.io/v1', 'roles', 'Role', true],
  ['rbac.authorization.k8s.io/v1', 'rolebindings', 'RoleBinding', true],
  ['rbac.authorization.k8s.io/v1', 'clusterroles', 'ClusterRole', false],
  ['rbac.authorization.k8s.io/v1', 'clusterrolebindings', 'ClusterRoleBinding', false],
  ['policy/v1', 'poddisruptionbudgets', 'PodDisruptionBudget', true],
  ['apiextensions.k8s.io/v1', 'customresourcedefinitions', 'CustomResourceDefinition', false],
  ['storage.k8s.io/v1', 'storageclasses', 'StorageClass', false],
  ['scheduling.k8s.io/v1', 'priorityclasses', 'PriorityClass', false],
  [
    'admissionregistration.k8s.io/v1',
    'validatingwebhookconfigurations',
    'ValidatingWebhookConfiguration',
    false,
  ],
  ['admissionregistration.k8s.io/v1', 'mutatingwebhookconfigurations', 'MutatingWebhookConfiguration', false],
  ['networking.k8s.io/v1', 'networkpolicies', 'NetworkPolicy', true],
  ['batch/v1', 'jobs', 'Job', true],
  ['batch/v1', 'cronjobs', 'CronJob', true],
];

export const RESOURCES: ResourceInfo[] = table.map(([gv, resource, kind, namespaced, prefix]) => {
  const [group, version] = gv.includes('/') ? gv.split('/') : ['', gv];
  return { group: group!, version: version!, resource, kind, namespaced, prefix: prefix ?? resource };
});

export function byResource(group: string, resource: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.group === group && r.resource === resource);
}

/** Resources of kinds the stand-in does not know (custom resources) are stored generically. */
export function resolve(group: string, version: string, resource: string, namespaced: boolean): ResourceInfo {
  return (
    byResource(group, resource) ?? {
      group,
      version,
      resource,
      kind: '',
      namespaced,
      prefix: `${group}/${resource}`,
    }
  );
}

export function byKind(apiVersion: string, kind: string): ResourceInfo {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const known = RESOURCES.find((r) => r.group === group && r.kind === kind);
  if (known) return known;
  const lower = kind.toLowerCase();
  const resource = lower.endsWith('y')
    ? `${lower.slice(0, -1)}ies`
    : lower.endsWith('s')
      ? `${lower}es`
      : `${lower}s`;
  return {
    group: group!,
    version: version!,
    resource,
    kind,
    namespaced: true,
    prefix: `${group}/${resource}`,
  };
}

export function apiPath(r: ResourceInfo, namespace: string | undefined, name?: string): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const ns = r.namespaced ? `/namespaces/${namespace ?? 'default'}` : '';
  return `${base}${ns}/${r.resource}${name ? `/${name}` : ''}`;
}
