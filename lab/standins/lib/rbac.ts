/**
 * RBAC evaluated from the stored Roles, ClusterRoles, RoleBindings and ClusterRoleBindings, with the
 * matching rules of plugin/pkg/auth/authorizer/rbac/rbac.go and pkg/apis/rbac/v1/evaluation_helpers.go:
 * ClusterRoleBindings first, then the RoleBindings of the request's namespace; a binding whose role
 * is missing is skipped and named in the reason ("RBAC: clusterrole... not found").
 */
import type { User } from './api-types.js';
import type { Etcd } from './etcd.js';

export interface Attributes {
  user: User;
  verb: string;
  /** false for /healthz, /version, /api and the like. */
  resourceRequest: boolean;
  path: string;
  apiGroup: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

interface Binding {
  metadata: { name: string; namespace?: string };
  roleRef: { kind: string; name: string };
  subjects?: Subject[];
}

interface Role {
  metadata: { name: string; namespace?: string };
  rules?: PolicyRule[];
}

export interface Decision {
  allowed: boolean;
  reason: string;
}

const has = (list: string[] | undefined, v: string) => !!list && (list.includes('*') || list.includes(v));

function resourceMatches(rule: PolicyRule, combined: string, sub: string): boolean {
  return (rule.resources ?? []).some((r) => r === '*' || r === combined || (sub !== '' && r === `*/${sub}`));
}

function urlMatches(rule: PolicyRule, path: string): boolean {
  return (rule.nonResourceURLs ?? []).some(
    (u) => u === '*' || u === path || (u.endsWith('*') && path.startsWith(u.slice(0, -1))),
  );
}

export function ruleAllows(a: Attributes, rule: PolicyRule): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  if (!a.resourceRequest) return urlMatches(rule, a.path);
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  return (
    has(rule.apiGroups, a.apiGroup) &&
    resourceMatches(rule, combined, a.subresource) &&
    (!rule.resourceNames?.length || rule.resourceNames.includes(a.name))
  );
}

export const rulesAllow = (a: Attributes, rules: PolicyRule[]) => rules.some((r) => ruleAllows(a, r));

function appliesTo(u: User, s: Subject, bindingNamespace: string): boolean {
  if (s.kind === 'User') return u.name === s.name;
  if (s.kind === 'Group') return u.groups.includes(s.name);
  if (s.kind === 'ServiceAccount')
    return u.name === `system:serviceaccount:${s.namespace || bindingNamespace}:${s.name}`;
  return false;
}

async function load<T>(etcd: Etcd, prefix: string): Promise<T[]> {
  return (await etcd.list(prefix)).map((kv) => JSON.parse(kv.value) as T);
}

/** One decision, read from etcd each time so a binding takes effect on the next request. */
export async function rbacAuthorize(etcd: Etcd, a: Attributes): Promise<Decision> {
  const [clusterRoles, crbs, roles, rbs] = await Promise.all([
    load<Role>(etcd, '/registry/clusterroles/'),
    load<Binding>(etcd, '/registry/clusterrolebindings/'),
    a.namespace ? load<Role>(etcd, `/registry/roles/${a.namespace}/`) : Promise.resolve([]),
    a.namespace ? load<Binding>(etcd, `/registry/rolebindings/${a.namespace}/`) : Promise.resolve([]),
  ]);
  const errors: string[] = [];
  const visit = (b: Binding, ns: string): boolean => {
    if (!(b.subjects ?? []).some((s) => appliesTo(a.user, s, ns))) return false;
    const cluster = b.roleRef.kind === 'ClusterRole';
    const role = (cluster ? clusterRoles : roles).find((r) => r.metadata.name === b.roleRef.name);
    if (!role) {
      errors.push(
        cluster
          ? `clusterrole.rbac.authorization.k8s.io "${b.roleRef.name}" not found`
          : `role.rbac.authorization.k8s.io "${b.roleRef.name}" not found`,
      );
      return false;
    }
    return rulesAllow(a, role.rules ?? []);
  };
  if (crbs.some((b) => visit(b, '')) || rbs.some((b) => visit(b, a.namespace)))
    return { allowed: true, reason: '' };
  const reason = errors.length === 0 ? '' : errors.length === 1 ? errors[0]! : `[${errors.join(', ')}]`;
  return { allowed: false, reason: reason && `RBAC: ${reason}` };
}

/** responsewriters.forbiddenMessage: what follows "is forbidden: " in a 403. */
export function forbiddenMessage(a: Attributes): string {
  if (!a.resourceRequest) return `User "${a.user.name}" cannot ${a.verb} path "${a.path}"`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  return `User "${a.user.name}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" ${scope}`;
}
