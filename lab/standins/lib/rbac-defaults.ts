/**
 * The roles and bindings every kube-apiserver creates at start (its rbac/bootstrap-roles post-start
 * hook), from plugin/pkg/auth/authorizer/rbac/bootstrappolicy: policy.go (cluster roles),
 * controller_policy.go (the system:controller:* roles of the controllers this stand-in's
 * controller-manager runs) and namespace_policy.go (the kube-system and kube-public roles).
 * Only the parts that matter to a kubeadm cluster are here; admin/edit/view (aggregated) are not.
 */
import type { PolicyRule } from './rbac.js';

type Subject = { kind: 'User' | 'Group' | 'ServiceAccount'; name: string; namespace?: string };
export type RbacObject = {
  apiVersion: string;
  kind: 'ClusterRole' | 'ClusterRoleBinding' | 'Role' | 'RoleBinding';
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  rules?: PolicyRule[];
  roleRef?: { apiGroup: string; kind: string; name: string };
  subjects?: Subject[];
};

const API = 'rbac.authorization.k8s.io/v1';
const GROUP = 'rbac.authorization.k8s.io';
const READ = ['get', 'list', 'watch'];

export const rule = (
  verbs: string[],
  groups: string[],
  resources: string[],
  names?: string[],
): PolicyRule => ({
  verbs,
  apiGroups: groups,
  resources,
  ...(names ? { resourceNames: names } : {}),
});
const urls = (verbs: string[], nonResourceURLs: string[]): PolicyRule => ({ verbs, nonResourceURLs });
const events = rule(['create', 'update', 'patch'], ['', 'events.k8s.io'], ['events']);

export const user = (name: string): Subject => ({ kind: 'User', name });
export const group = (name: string): Subject => ({ kind: 'Group', name });
export const sa = (namespace: string, name: string): Subject => ({ kind: 'ServiceAccount', name, namespace });

export function clusterRole(
  name: string,
  rules: PolicyRule[],
  meta: Partial<RbacObject['metadata']> = {},
): RbacObject {
  return { apiVersion: API, kind: 'ClusterRole', metadata: { name, ...meta }, rules };
}

export function role(namespace: string, name: string, rules: PolicyRule[]): RbacObject {
  return { apiVersion: API, kind: 'Role', metadata: { name, namespace }, rules };
}

export function clusterBinding(
  name: string,
  roleName: string,
  subjects: Subject[],
  meta: Partial<RbacObject['metadata']> = {},
): RbacObject {
  return {
    apiVersion: API,
    kind: 'ClusterRoleBinding',
    metadata: { name, ...meta },
    roleRef: { apiGroup: GROUP, kind: 'ClusterRole', name: roleName },
    subjects,
  };
}

export function binding(
  namespace: string,
  name: string,
  roleRef: { kind: 'Role' | 'ClusterRole'; name: string },
  subjects: Subject[],
): RbacObject {
  return {
    apiVersion: API,
    kind: 'RoleBinding',
    metadata: { name, namespace },
    roleRef: { apiGroup: GROUP, ...roleRef },
    subjects,
  };
}

/** bootstrappolicy.NodeRules(): what a kubelet may do, before the Node authorizer narrows it. */
export const NODE_RULES: PolicyRule[] = [
  rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
  rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews', 'localsubjectaccessreviews']),
  rule(READ, [''], ['services']),
  rule(['create', 'get', 'list', 'watch'], [''], ['nodes']),
  rule(['update', 'patch'], [''], ['nodes/status']),
  rule(['update', 'patch'], [''], ['nodes']),
  rule(['create', 'update', 'patch'], [''], ['events']),
  rule(READ, [''], ['pods']),
  rule(['create', 'delete'], [''], ['pods']),
  rule(['update', 'patch'], [''], ['pods/status']),
  rule(['create'], [''], ['pods/eviction']),
  rule(['get', 'list', 'watch'], [''], ['secrets', 'configmaps']),
  rule(['get'], [''], ['persistentvolumeclaims', 'persistentvolumes']),
  rule(['get'], [''], ['endpoints']),
  rule(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests']),
  rule(['get', 'create', 'update', 'patch', 'delete'], ['coordination.k8s.io'], ['leases']),
  rule(['get'], ['storage.k8s.io'], ['volumeattachments']),
  rule(['get', 'update', 'patch'], [''], ['persistentvolumeclaims/status']),
  rule(['create'], [''], ['serviceaccounts/token']),
  rule(['get', 'watch', 'list'], ['storage.k8s.io'], ['csidrivers']),
  rule(['get', 'create', 'update', 'patch', 'delete'], ['storage.k8s.io'], ['csinodes']),
  rule(['get', 'list', 'watch'], ['node.k8s.io'], ['runtimeclasses']),
];

const DEFAULTS = {
  labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' },
  annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' },
};

const CONTROLLERS: [string, PolicyRule[]][] = [
  [
    'certificate-controller',
    [
      rule(['get', 'list', 'watch', 'delete'], ['certificates.k8s.io'], ['certificatesigningrequests']),
      rule(
        ['update'],
        ['certificates.k8s.io'],
        ['certificatesigningrequests/status', 'certificatesigningrequests/approval'],
      ),
      rule(
        ['approve'],
        ['certificates.k8s.io'],
        ['signers'],
        ['kubernetes.io/kube-apiserver-client-kubelet'],
      ),
      rule(
        ['sign'],
        ['certificates.k8s.io'],
        ['signers'],
        [
          'kubernetes.io/legacy-unknown',
          'kubernetes.io/kubelet-serving',
          'kubernetes.io/kube-apiserver-client-kubelet',
          'kubernetes.io/kube-apiserver-client',
        ],
      ),
      rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
      events,
    ],
  ],
  [
    'daemon-set-controller',
    [
      rule(READ, ['extensions', 'apps'], ['daemonsets']),
      rule(['update'], ['extensions', 'apps'], ['daemonsets/status']),
      rule(['update'], ['extensions', 'apps'], ['daemonsets/finalizers']),
      rule(['list', 'watch'], [''], ['nodes']),
      rule(['list', 'watch', 'create', 'delete', 'patch'], [''], ['pods']),
      rule(['create'], [''], ['pods/binding']),
      rule(
        ['get', 'list', 'watch', 'create', 'delete', 'update', 'patch'],
        ['apps'],
        ['controllerrevisions'],
      ),
      events,
    ],
  ],
  [
    'generic-garbage-collector',
    [rule(['get', 'list', 'watch', 'patch', 'update', 'delete'], ['*'], ['*']), events],
  ],
  [
    'node-controller',
    [
      rule(['get', 'list', 'update', 'delete', 'patch'], [''], ['nodes']),
      rule(['patch', 'update'], [''], ['nodes/status']),
      rule(['patch', 'update'], [''], ['pods/status']),
      rule(['list', 'delete'], [''], ['pods']),
      events,
    ],
  ],
];

export function bootstrapPolicy(): RbacObject[] {
  const cr = (name: string, rules: PolicyRule[]) => clusterRole(name, rules, DEFAULTS);
  const crb = (name: string, subjects: Subject[]) => clusterBinding(name, name, subjects, DEFAULTS);
  const ks = 'kube-system';
  return [
    cr('cluster-admin', [rule(['*'], ['*'], ['*']), urls(['*'], ['*'])]),
    cr('system:discovery', [
      urls(
        ['get'],
        [
          '/livez',
          '/readyz',
          '/healthz',
          '/version',
          '/version/',
          '/openapi',
          '/openapi/*',
          '/api',
          '/api/*',
          '/apis',
          '/apis/*',
        ],
      ),
    ]),
    cr('system:basic-user', [
      rule(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']),
      rule(['create'], ['authentication.k8s.io'], ['selfsubjectreviews']),
    ]),
    cr('system:public-info-viewer', [
      urls(['get'], ['/livez', '/readyz', '/healthz', '/version', '/version/']),
    ]),
    cr('system:node', NODE_RULES),
    cr('system:node-bootstrapper', [
      rule(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests']),
    ]),
    cr('system:node-proxier', [
      rule(['list', 'watch'], [''], ['services', 'endpoints']),
      rule(['get', 'list', 'watch'], [''], ['nodes']),
      events,
      rule(['list', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
    ]),
    cr('system:auth-delegator', [
      rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
      rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
    ]),
    cr('system:monitoring', [
      urls(
        ['get'],
        ['/metrics', '/metrics/slis', '/livez', '/readyz', '/healthz', '/livez/*', '/readyz/*', '/healthz/*'],
      ),
    ]),
    cr('system:service-account-issuer-discovery', [
      urls(
        ['get'],
        [
          '/.well-known/openid-configuration',
          '/.well-known/openid-configuration/',
          '/openid/v1/jwks',
          '/openid/v1/jwks/',
        ],
      ),
    ]),
    cr('system:kube-dns', [rule(['list', 'watch'], [''], ['endpoints', 'services'])]),
    cr('system:kube-controller-manager', [
      events,
      rule(['create'], ['coordination.k8s.io'], ['leases']),
      rule(['get', 'update'], ['coordination.k8s.io'], ['leases'], ['kube-controller-manager']),
      rule(['create'], [''], ['secrets', 'serviceaccounts']),
      rule(['delete'], [''], ['secrets']),
      rule(['get'], [''], ['namespaces', 'secrets', 'serviceaccounts', 'configmaps']),
      rule(['update'], [''], ['secrets', 'serviceaccounts']),
      rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
      rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
      rule(['list', 'watch'], ['*'], ['*']),
      rule(['create'], [''], ['serviceaccounts/token']),
    ]),
    cr('system:kube-scheduler', [
      events,
      rule(['create'], ['coordination.k8s.io'], ['leases']),
      rule(['get', 'update'], ['coordination.k8s.io'], ['leases'], ['kube-scheduler']),
      rule(READ, [''], ['nodes']),
      rule(['get', 'list', 'watch', 'delete'], [''], ['pods']),
      rule(['create'], [''], ['pods/binding', 'bindings']),
      rule(['patch', 'update'], [''], ['pods/status']),
      rule(READ, [''], ['services', 'replicationcontrollers']),
      rule(READ, ['apps', 'extensions'], ['replicasets']),
      rule(READ, ['apps'], ['statefulsets']),
      rule(READ, ['policy'], ['poddisruptionbudgets']),
      rule(READ, [''], ['persistentvolumeclaims', 'persistentvolumes']),
      rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
      rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
      rule(READ, ['storage.k8s.io'], ['csinodes', 'csidrivers', 'csistoragecapacities']),
      rule(READ, [''], ['namespaces']),
    ]),
    cr('system:certificates.k8s.io:certificatesigningrequests:nodeclient', [
      rule(['create'], ['certificates.k8s.io'], ['certificatesigningrequests/nodeclient']),
    ]),
    cr('system:certificates.k8s.io:certificatesigningrequests:selfnodeclient', [
      rule(['create'], ['certificates.k8s.io'], ['certificatesigningrequests/selfnodeclient']),
    ]),
    ...CONTROLLERS.map(([name, rules]) => cr(`system:controller:${name}`, rules)),
    crb('cluster-admin', [group('system:masters')]),
    crb('system:discovery', [group('system:authenticated')]),
    crb('system:basic-user', [group('system:authenticated')]),
    crb('system:public-info-viewer', [group('system:authenticated'), group('system:unauthenticated')]),
    crb('system:node-proxier', [user('system:kube-proxy')]),
    crb('system:kube-controller-manager', [user('system:kube-controller-manager')]),
    crb('system:kube-dns', [sa(ks, 'kube-dns')]),
    crb('system:kube-scheduler', [user('system:kube-scheduler')]),
    crb('system:monitoring', [group('system:monitoring')]),
    crb('system:service-account-issuer-discovery', [group('system:serviceaccounts')]),
    // deliberately without subjects since 1.7: nodes are authorized by the Node authorizer
    crb('system:node', []),
    ...CONTROLLERS.map(([name]) => crb(`system:controller:${name}`, [sa(ks, name)])),
    role(ks, 'extension-apiserver-authentication-reader', [
      rule(['get', 'list', 'watch'], [''], ['configmaps'], ['extension-apiserver-authentication']),
    ]),
    role(ks, 'system::leader-locking-kube-controller-manager', [
      rule(['watch'], [''], ['configmaps']),
      rule(['get', 'update'], [''], ['configmaps'], ['kube-controller-manager']),
    ]),
    role(ks, 'system::leader-locking-kube-scheduler', [
      rule(['watch'], [''], ['configmaps']),
      rule(['get', 'update'], [''], ['configmaps'], ['kube-scheduler']),
    ]),
    role(ks, 'system:controller:bootstrap-signer', [rule(READ, [''], ['secrets'])]),
    role(ks, 'system:controller:token-cleaner', [
      rule(['delete', 'get', 'list', 'watch'], [''], ['secrets']),
      events,
    ]),
    role('kube-public', 'system:controller:bootstrap-signer', [
      rule(READ, [''], ['configmaps']),
      rule(['update'], [''], ['configmaps'], ['cluster-info']),
      events,
    ]),
    binding(
      ks,
      'system::extension-apiserver-authentication-reader',
      { kind: 'Role', name: 'extension-apiserver-authentication-reader' },
      [user('system:kube-controller-manager'), user('system:kube-scheduler')],
    ),
    binding(
      ks,
      'system::leader-locking-kube-controller-manager',
      { kind: 'Role', name: 'system::leader-locking-kube-controller-manager' },
      [user('system:kube-controller-manager'), sa(ks, 'kube-controller-manager')],
    ),
    binding(
      ks,
      'system::leader-locking-kube-scheduler',
      { kind: 'Role', name: 'system::leader-locking-kube-scheduler' },
      [user('system:kube-scheduler'), sa(ks, 'kube-scheduler')],
    ),
    binding(
      ks,
      'system:controller:bootstrap-signer',
      { kind: 'Role', name: 'system:controller:bootstrap-signer' },
      [sa(ks, 'bootstrap-signer')],
    ),
    binding(
      ks,
      'system:controller:token-cleaner',
      { kind: 'Role', name: 'system:controller:token-cleaner' },
      [sa(ks, 'token-cleaner')],
    ),
    binding(
      'kube-public',
      'system:controller:bootstrap-signer',
      { kind: 'Role', name: 'system:controller:bootstrap-signer' },
      [sa(ks, 'bootstrap-signer')],
    ),
  ];
}

/** The resource (and etcd key segment) of each RBAC kind. */
export const RBAC_RESOURCES = {
  ClusterRole: 'clusterroles',
  ClusterRoleBinding: 'clusterrolebindings',
  Role: 'roles',
  RoleBinding: 'rolebindings',
} as const;

/** The etcd key of an RBAC object, the real apiserver's layout. */
export function rbacKey(o: RbacObject): string {
  return `/registry/${RBAC_RESOURCES[o.kind]}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}
