/**
 * The RBAC objects kubeadm creates, phase by phase, so that bootstrap tokens, kubelets, kube-proxy
 * and CoreDNS can do their part once RBAC is evaluated: phases/uploadconfig (kubeadm-config,
 * kubelet-config), phases/bootstraptoken/node and clusterinfo, phases/copycerts, phases/addons/proxy
 * and phases/addons/dns in cmd/kubeadm/app. Created through apiclient.CreateOrUpdate*, as kubeadm does.
 */
import type { ApiClient } from './client.js';
import {
  binding,
  clusterBinding,
  clusterRole,
  group,
  RBAC_RESOURCES,
  type RbacObject,
  role,
  rule,
  sa,
  user,
} from './rbac-defaults.js';

const TOKEN_GROUP = 'system:bootstrappers:kubeadm:default-node-token';
const KS = 'kube-system';

function readOne(
  ns: string,
  name: string,
  resource: string,
  objectName: string,
  subjects = [group(TOKEN_GROUP), group('system:nodes')],
): RbacObject[] {
  return [
    role(ns, name, [rule(['get'], [''], [resource], [objectName])]),
    binding(ns, name, { kind: 'Role', name }, subjects),
  ];
}

export type KubeadmRbacPhase =
  | 'upload-config'
  | 'bootstrap-token'
  | 'upload-certs'
  | 'kube-proxy'
  | 'coredns';

export function kubeadmRbac(phase: KubeadmRbacPhase): { objects: RbacObject[]; serviceAccounts: string[] } {
  switch (phase) {
    case 'upload-config':
      return {
        objects: [
          ...readOne(KS, 'kubeadm:nodes-kubeadm-config', 'configmaps', 'kubeadm-config'),
          ...readOne(KS, 'kubeadm:kubelet-config', 'configmaps', 'kubelet-config'),
        ],
        serviceAccounts: [],
      };
    case 'bootstrap-token':
      return {
        objects: [
          clusterBinding('kubeadm:kubelet-bootstrap', 'system:node-bootstrapper', [group(TOKEN_GROUP)]),
          clusterRole('kubeadm:get-nodes', [rule(['get'], [''], ['nodes'])]),
          clusterBinding('kubeadm:get-nodes', 'kubeadm:get-nodes', [group(TOKEN_GROUP)]),
          clusterBinding(
            'kubeadm:node-autoapprove-bootstrap',
            'system:certificates.k8s.io:certificatesigningrequests:nodeclient',
            [group(TOKEN_GROUP)],
          ),
          clusterBinding(
            'kubeadm:node-autoapprove-certificate-rotation',
            'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient',
            [group('system:nodes')],
          ),
          ...readOne('kube-public', 'kubeadm:bootstrap-signer-clusterinfo', 'configmaps', 'cluster-info', [
            user('system:anonymous'),
          ]),
        ],
        serviceAccounts: [],
      };
    case 'upload-certs':
      return {
        objects: readOne(KS, 'kubeadm:kubeadm-certs', 'secrets', 'kubeadm-certs', [group(TOKEN_GROUP)]),
        serviceAccounts: [],
      };
    case 'kube-proxy':
      return {
        objects: [
          clusterBinding('kubeadm:node-proxier', 'system:node-proxier', [sa(KS, 'kube-proxy')]),
          ...readOne(KS, 'kube-proxy', 'configmaps', 'kube-proxy', [group(TOKEN_GROUP)]),
        ],
        serviceAccounts: ['kube-proxy'],
      };
    case 'coredns':
      return {
        objects: [
          clusterRole('system:coredns', [
            rule(['list', 'watch'], [''], ['endpoints', 'services', 'pods', 'namespaces']),
            rule(['list', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
          ]),
          clusterBinding('system:coredns', 'system:coredns', [sa(KS, 'coredns')]),
        ],
        serviceAccounts: ['coredns'],
      };
  }
}

export async function applyKubeadmRbac(api: ApiClient, phase: KubeadmRbacPhase): Promise<void> {
  const { objects, serviceAccounts } = kubeadmRbac(phase);
  for (const name of serviceAccounts) {
    await api.upsert(`/api/v1/namespaces/${KS}/serviceaccounts`, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name, namespace: KS },
    } as never);
  }
  for (const o of objects) {
    const ns = o.metadata.namespace ? `/namespaces/${o.metadata.namespace}` : '';
    await api.upsert(`/apis/rbac.authorization.k8s.io/v1${ns}/${RBAC_RESOURCES[o.kind]}`, o as never);
  }
}
