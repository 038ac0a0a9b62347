/**
 * What a kubelet's credentials (user system:node:NAME in group system:nodes) may do: the Node
 * authorizer (plugin/pkg/auth/authorizer/node/node_authorizer.go: secrets, configmaps, PVCs and
 * service-account tokens only through a pod bound to the node, node leases in kube-node-lease,
 * everything else through bootstrappolicy.NodeRules) and the NodeRestriction admission plugin
 * (plugin/pkg/admission/noderestriction/admission.go: only its own Node, mirror pods bound to
 * itself, no NodeRestriction-reserved or unknown kubernetes.io labels, no taint changes).
 */
import { forbiddenError, type Obj, type User } from './api-types.js';
import { type Attributes, type Decision, rulesAllow } from './rbac.js';
import { NODE_RULES } from './rbac-defaults.js';
import type { ResourceInfo } from './resources.js';

export function nodeName(u: User): string | undefined {
  if (!u.groups.includes('system:nodes') || !u.name.startsWith('system:node:')) return undefined;
  return u.name.slice('system:node:'.length);
}

type Spec = Record<string, unknown>;
type PodSpec = {
  nodeName?: string;
  serviceAccountName?: string;
  volumes?: Spec[];
  containers?: Spec[];
  initContainers?: Spec[];
  imagePullSecrets?: { name?: string }[];
};

/** The names a pod refers to, per kind: the edges of the Node authorizer's graph. */
export function podReferences(
  spec: PodSpec,
): Record<'secrets' | 'configmaps' | 'persistentvolumeclaims' | 'serviceaccounts', Set<string>> {
  const refs = {
    secrets: new Set<string>(),
    configmaps: new Set<string>(),
    persistentvolumeclaims: new Set<string>(),
    serviceaccounts: new Set<string>([spec.serviceAccountName || 'default']),
  };
  const add = (set: Set<string>, v: unknown) => typeof v === 'string' && v && set.add(v);
  for (const s of spec.imagePullSecrets ?? []) add(refs.secrets, s.name);
  for (const v of spec.volumes ?? []) {
    add(refs.secrets, (v.secret as Spec | undefined)?.secretName);
    add(refs.configmaps, (v.configMap as Spec | undefined)?.name);
    add(refs.persistentvolumeclaims, (v.persistentVolumeClaim as Spec | undefined)?.claimName);
    for (const src of ((v.projected as Spec | undefined)?.sources as Spec[] | undefined) ?? []) {
      add(refs.secrets, (src.secret as Spec | undefined)?.name);
      add(refs.configmaps, (src.configMap as Spec | undefined)?.name);
    }
  }
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
    for (const e of (c.env as Spec[] | undefined) ?? []) {
      const from = e.valueFrom as Spec | undefined;
      add(refs.secrets, (from?.secretKeyRef as Spec | undefined)?.name);
      add(refs.configmaps, (from?.configMapKeyRef as Spec | undefined)?.name);
    }
    for (const e of (c.envFrom as Spec[] | undefined) ?? []) {
      add(refs.secrets, (e.secretRef as Spec | undefined)?.name);
      add(refs.configmaps, (e.configMapRef as Spec | undefined)?.name);
    }
  }
  return refs;
}

/** The Node authorizer. `podsOn` lists the pods bound to the node. */
export async function nodeAuthorize(
  a: Attributes,
  node: string,
  podsOn: () => Promise<Obj[]>,
): Promise<Decision | undefined> {
  const noOpinion = (reason: string): Decision => ({ allowed: false, reason });
  if (a.resourceRequest && a.apiGroup === '') {
    const graphed = ['secrets', 'configmaps', 'persistentvolumeclaims'].includes(a.resource);
    const token = a.resource === 'serviceaccounts';
    if (graphed || token) {
      if (token && (a.verb !== 'create' || !a.name))
        return noOpinion('can only create tokens for individual service accounts');
      if (token && a.subresource !== 'token')
        return noOpinion('can only create token subresource of serviceaccount');
      if (graphed && (a.verb !== 'get' || !a.name))
        return noOpinion(`can only get individual resources of this type`);
      const related = (await podsOn()).some(
        (p) =>
          p.metadata.namespace === a.namespace &&
          podReferences((p.spec ?? {}) as PodSpec)[a.resource as 'secrets'].has(a.name),
      );
      return related
        ? { allowed: true, reason: '' }
        : noOpinion(`no relationship found between node '${node}' and this object`);
    }
  }
  if (a.resourceRequest && a.apiGroup === 'coordination.k8s.io' && a.resource === 'leases') {
    if (!['get', 'create', 'update', 'patch', 'delete'].includes(a.verb))
      return noOpinion('can only get, create, update, patch, or delete a node lease');
    if (a.namespace !== 'kube-node-lease')
      return noOpinion('can only access leases in the kube-node-lease system namespace');
    return { allowed: true, reason: '' };
  }
  return rulesAllow(a, NODE_RULES) ? { allowed: true, reason: '' } : undefined;
}

// k8s.io/kubelet/pkg/apis/well_known_labels.go: the kubernetes.io labels a kubelet may set itself.
const KUBELET_LABELS = new Set([
  'kubernetes.io/hostname',
  'topology.kubernetes.io/zone',
  'topology.kubernetes.io/region',
  'failure-domain.beta.kubernetes.io/zone',
  'failure-domain.beta.kubernetes.io/region',
  'beta.kubernetes.io/instance-type',
  'node.kubernetes.io/instance-type',
  'beta.kubernetes.io/os',
  'beta.kubernetes.io/arch',
  'kubernetes.io/os',
  'kubernetes.io/arch',
]);
const KUBELET_NAMESPACES = ['kubelet.kubernetes.io', 'node.kubernetes.io'];

const inNamespace = (ns: string, base: string) => ns === base || ns.endsWith(`.${base}`);

/** Labels a node may not add, change or remove on its own Node (getForbiddenLabels). */
export function forbiddenNodeLabels(keys: string[]): string[] {
  return keys
    .filter((k) => {
      const ns = k.includes('/') ? k.split('/')[0]! : '';
      if (inNamespace(ns, 'node-restriction.kubernetes.io')) return true;
      const kubernetes = inNamespace(ns, 'kubernetes.io') || inNamespace(ns, 'k8s.io');
      const kubelet = KUBELET_LABELS.has(k) || KUBELET_NAMESPACES.some((n) => inNamespace(ns, n));
      return kubernetes && !kubelet;
    })
    .sort();
}

function modifiedLabels(a: Record<string, string> = {}, b: Record<string, string> = {}): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => a[k] !== b[k]);
}

export interface AdmissionRequest {
  operation: 'create' | 'update' | 'delete';
  info: ResourceInfo;
  namespace?: string;
  name: string;
  sub?: string;
  object?: Obj;
  oldObject?: Obj;
  /** Looks up a pod or the Node for the checks that need the stored object. */
  getPod: (namespace: string, name: string) => Promise<Obj | undefined>;
  getNode: (name: string) => Promise<Obj | undefined>;
}

const labelsOf = (o: Obj | undefined) => (o?.metadata.labels ?? {}) as Record<string, string>;
const specOf = (o: Obj | undefined) => (o?.spec ?? {}) as Record<string, unknown>;

/** NodeRestriction; throws the 403 the real plugin answers. */
export async function admitNodeRestriction(u: User, r: AdmissionRequest): Promise<void> {
  const node = nodeName(u);
  if (node === undefined) return;
  const deny: (why: string) => never = (why) => {
    throw forbiddenError(r.info, r.name, why);
  };
  const op = r.operation.toUpperCase();
  const { resource, group } = r.info;
  if (group === '' && resource === 'pods') {
    if (r.sub === 'status') {
      if (r.operation !== 'update') deny(`unexpected operation "${op}"`);
      if (specOf(r.oldObject).nodeName !== node)
        deny(`node "${node}" can only update pod status for pods with spec.nodeName set to itself`);
      if (modifiedLabels(labelsOf(r.oldObject), labelsOf(r.object)).length)
        deny(`node "${node}" cannot update labels through pod status`);
      return;
    }
    if (r.sub === 'eviction') {
      const pod = await r.getPod(r.namespace ?? '', r.name);
      if (pod && specOf(pod).nodeName !== node)
        deny(`node ${node} can only evict pods with spec.nodeName set to itself`);
      return;
    }
    if (r.sub) deny(`unexpected pod subresource "${r.sub}", only 'status' and 'eviction' are allowed`);
    if (r.operation === 'delete') {
      if (specOf(r.oldObject).nodeName !== node)
        deny(`node "${node}" can only delete pods with spec.nodeName set to itself`);
      return;
    }
    if (r.operation !== 'create')
      deny(`unexpected operation "${op}", node "${node}" can only create and delete mirror pods`);
    const pod = r.object!;
    const annotations = (pod.metadata.annotations ?? {}) as Record<string, string>;
    if (!('kubernetes.io/config.mirror' in annotations))
      deny(
        `pod does not have "kubernetes.io/config.mirror" annotation, node "${node}" can only create mirror pods`,
      );
    const spec = specOf(pod) as PodSpec;
    if (spec.nodeName !== node) deny(`node "${node}" can only create pods with spec.nodeName set to itself`);
    const owners = (pod.metadata.ownerReferences ?? []) as {
      apiVersion?: string;
      kind?: string;
      name?: string;
      uid?: string;
      controller?: boolean;
      blockOwnerDeletion?: boolean;
    }[];
    if (owners.length > 1)
      deny(`node "${node}" can only create pods with a single owner reference set to itself`);
    const owner = owners[0];
    if (owner?.apiVersion !== 'v1' || owner.kind !== 'Node' || owner.name !== node)
      deny(`node "${node}" can only create pods with an owner reference set to itself`);
    if (!owner.controller)
      deny(`node "${node}" can only create pods with a controller owner reference set to itself`);
    if (owner.blockOwnerDeletion)
      deny(`node "${node}" must not set blockOwnerDeletion on an owner reference`);
    const nodeObj = await r.getNode(node);
    const uid = String(nodeObj?.metadata.uid ?? '');
    if (owner.uid !== uid) deny(`node ${node} UID mismatch: expected ${owner.uid ?? ''} got ${uid}`);
    if (spec.serviceAccountName) deny(`node "${node}" can not create pods that reference a service account`);
    const refs = podReferences({ ...spec, serviceAccountName: 'x' });
    if (refs.secrets.size) deny(`node "${node}" can not create pods that reference secrets`);
    if (refs.configmaps.size) deny(`node "${node}" can not create pods that reference configmaps`);
    if (refs.persistentvolumeclaims.size)
      deny(`node "${node}" can not create pods that reference persistentvolumeclaims`);
    return;
  }
  if (group === '' && resource === 'nodes') {
    if (r.name !== node) deny(`node "${node}" is not allowed to modify node "${r.name}"`);
    if (r.operation === 'create') {
      const bad = forbiddenNodeLabels(Object.keys(labelsOf(r.object)));
      if (bad.length) deny(`node "${node}" is not allowed to set the following labels: ${bad.join(', ')}`);
    }
    if (r.operation === 'update') {
      if (JSON.stringify(specOf(r.object).taints ?? []) !== JSON.stringify(specOf(r.oldObject).taints ?? []))
        deny(`node "${node}" is not allowed to modify taints`);
      const bad = forbiddenNodeLabels(modifiedLabels(labelsOf(r.object), labelsOf(r.oldObject)));
      if (bad.length) deny(`is not allowed to modify labels: ${bad.join(', ')}`);
    }
    return;
  }
  if (group === '' && resource === 'serviceaccounts' && r.sub === 'token' && r.operation === 'create') {
    const ref = (specOf(r.object).boundObjectRef ?? undefined) as
      | { apiVersion?: string; kind?: string; name?: string; uid?: string }
      | undefined;
    if (ref?.apiVersion !== 'v1' || ref.kind !== 'Pod' || !ref.name)
      deny('node requested token not bound to a pod');
    if (!ref.uid) deny('node requested token with a pod binding without a uid');
    const pod = await r.getPod(r.namespace ?? '', ref.name!);
    if (!pod) throw forbiddenError(r.info, r.name, `pods "${ref.name}" not found`);
    if (pod.metadata.uid !== ref.uid)
      deny(
        `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
      );
    if (specOf(pod).nodeName !== node)
      deny('node requested token bound to a pod scheduled on a different node');
    return;
  }
  if (group === 'coordination.k8s.io' && resource === 'leases') {
    if (r.namespace !== 'kube-node-lease')
      deny('can only access leases in the "kube-node-lease" system namespace');
    if (r.name !== node) deny('can only access node lease with the same name as the requesting node');
  }
}
