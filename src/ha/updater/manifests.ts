import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { ipFamily } from '../../cluster/net.js';
import { badInput } from '../../core/errors.js';
import { UPDATER } from './names.js';
import { updaterServiceIp } from './service-ip.js';

/**
 * Everything the apiserver-updater mode applies to the cluster, as a pure function: the Service with
 * its fixed ClusterIP and its one EndpointSlice, the Lease, least-privilege RBAC, the ConfigMap
 * holding the bundled controller and the Deployment that runs it on the official Node image.
 *
 * The slice and the Lease are shipped rather than created by the controller, so its role needs no
 * `create` (which RBAC cannot restrict by name). Apply with server-side apply: a re-apply then only
 * resets the slice to the masters kubeon knows, which the controller corrects within seconds.
 */

export interface UpdaterManifestInput {
  serviceCIDR: string;
  /** A configured Service IP; default: the CIDR's base + 2 (see service-ip.ts). */
  serviceIp?: string;
  /** Master addresses the slice starts with, before the controller first runs. */
  masters: readonly string[];
  /** The Node runtime image reference, already mapped through the cluster's mirrors (image.ts). */
  image: string;
  /** The bundled controller (bundle.ts). */
  controller: string;
}

export type Manifest = Record<string, unknown> & {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
};

/** ConfigMaps (like every object) are capped at 1 MiB by etcd's request limit. */
const CONFIGMAP_LIMIT = 1024 * 1024;
const APP = 'kubeon-apiserver-updater';
const SELECTOR = { 'app.kubernetes.io/name': APP };
const LABELS = {
  ...SELECTOR,
  'app.kubernetes.io/part-of': 'kubeon',
  'app.kubernetes.io/managed-by': 'kubeon',
};
/** The node image's unprivileged `node` user. */
const NODE_UID = 1000;
const SCRIPT_DIR = '/opt/kubeon/updater';

const meta = (name: string, namespace: string = UPDATER.namespace) => ({ name, namespace, labels: LABELS });

function addressType(masters: readonly string[]): 'IPv4' | 'IPv6' {
  const families = new Set(masters.map(ipFamily));
  if (masters.length === 0 || families.size !== 1 || families.has(0)) {
    throw badInput(
      `master addresses ${masters.join(', ') || '(none)'} are not all IPv4 or all IPv6`,
      'give every master an address of the one family the apiservers advertise',
    );
  }
  return families.has(4) ? 'IPv4' : 'IPv6';
}

function rbac(): Manifest[] {
  const subject = { kind: 'ServiceAccount', name: UPDATER.serviceAccount, namespace: UPDATER.namespace };
  const reader = `${APP}:read-kubernetes-endpoints`;
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta(reader, UPDATER.source.namespace),
      // list and watch by name are authorized only for requests with fieldSelector
      // metadata.name=kubernetes (apiserver requestinfo.go), which is what the controller sends:
      // this grants reading that one slice and nothing else in `default`.
      rules: [
        {
          apiGroups: ['discovery.k8s.io'],
          resources: ['endpointslices'],
          resourceNames: [UPDATER.source.name],
          verbs: ['get', 'list', 'watch'],
        },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(reader, UPDATER.source.namespace),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: reader },
      subjects: [subject],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta(APP),
      rules: [
        {
          apiGroups: ['discovery.k8s.io'],
          resources: ['endpointslices'],
          resourceNames: [UPDATER.slice],
          verbs: ['get', 'update'],
        },
        {
          apiGroups: ['coordination.k8s.io'],
          resources: ['leases'],
          resourceNames: [UPDATER.lease],
          verbs: ['get', 'update'],
        },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(APP),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: APP },
      subjects: [subject],
    },
  ];
}

function deployment(image: string, controllerHash: string): Manifest {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(UPDATER.deployment),
    spec: {
      replicas: 2,
      revisionHistoryLimit: 2,
      selector: { matchLabels: SELECTOR },
      // No surge: with required anti-affinity on two masters, a third pod would never schedule.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
      template: {
        metadata: { labels: LABELS, annotations: { 'kubeon.io/controller-sha256': controllerHash } },
        spec: {
          serviceAccountName: UPDATER.serviceAccount,
          priorityClassName: 'system-cluster-critical',
          // Host networking: the controller serves nothing, and so it runs (and the Service gets its
          // endpoints) before any CNI is up, like the boot script on the workers.
          hostNetwork: true,
          dnsPolicy: 'Default',
          enableServiceLinks: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: NODE_UID,
            runAsGroup: NODE_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          affinity: {
            podAntiAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [
                { labelSelector: { matchLabels: SELECTOR }, topologyKey: 'kubernetes.io/hostname' },
              ],
            },
            nodeAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                {
                  weight: 100,
                  preference: {
                    matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' }],
                  },
                },
              ],
            },
          },
          tolerations: [
            { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
            // A node stays NotReady until a CNI is up; the updater must not wait for that.
            { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoSchedule' },
          ],
          containers: [
            {
              name: 'controller',
              image,
              imagePullPolicy: 'IfNotPresent',
              command: ['node', '--max-old-space-size=48', `${SCRIPT_DIR}/${UPDATER.scriptKey}`],
              env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
              resources: {
                requests: { cpu: '10m', memory: '48Mi' },
                limits: { cpu: '200m', memory: '96Mi' },
              },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [{ name: 'controller', mountPath: SCRIPT_DIR, readOnly: true }],
            },
          ],
          volumes: [{ name: 'controller', configMap: { name: UPDATER.configMap, defaultMode: 0o444 } }],
        },
      },
    },
  };
}

export function updaterObjects(i: UpdaterManifestInput): Manifest[] {
  const serviceIp = updaterServiceIp(i.serviceCIDR, i.serviceIp);
  const type = addressType(i.masters);
  if (Buffer.byteLength(i.controller) > CONFIGMAP_LIMIT / 2) {
    // Half the limit: the object also carries metadata, and a bundle this large means a bad build.
    throw new Error(
      `the bundled controller is ${Buffer.byteLength(i.controller)} bytes, too large for a ConfigMap`,
    );
  }
  const hash = createHash('sha256').update(i.controller).digest('hex');
  return [
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: meta(UPDATER.serviceAccount),
    },
    ...rbac(),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(UPDATER.service),
      // No selector: the endpoints are the controller's to keep.
      spec: {
        type: 'ClusterIP',
        clusterIP: serviceIp,
        ports: [{ name: UPDATER.portName, port: 6443, targetPort: 6443, protocol: 'TCP' }],
      },
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: UPDATER.slice,
        namespace: UPDATER.namespace,
        labels: {
          ...LABELS,
          'kubernetes.io/service-name': UPDATER.service,
          'endpointslice.kubernetes.io/managed-by': UPDATER.managedBy,
        },
      },
      addressType: type,
      endpoints: [...i.masters].sort().map((a) => ({ addresses: [a], conditions: { ready: true } })),
      ports: [{ name: UPDATER.portName, port: 6443, protocol: 'TCP' }],
    },
    {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: meta(UPDATER.lease),
      spec: {},
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta(UPDATER.configMap),
      data: { [UPDATER.scriptKey]: i.controller },
    },
    deployment(i.image, hash),
  ];
}

/** The objects as one multi-document YAML file, in the order they must be applied. */
export function renderUpdaterManifests(i: UpdaterManifestInput): string {
  return updaterObjects(i)
    .map((o) => stringify(o, { version: '1.1', lineWidth: 0, aliasDuplicateObjects: false }))
    .join('---\n');
}
